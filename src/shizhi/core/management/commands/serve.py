"""``shizhi serve [--host H] [--port P]``: serve the platform (embedded profile: one process)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "启动市治网站服务（默认 http://127.0.0.1:8000 ）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        parser.add_argument("--reload", action="store_true", help="restart on code changes (development)")

    def handle(self, *args: Any, **options: Any) -> None:
        host = options["host"]
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        if not 0 < options["port"] < 65536:
            from django.core.management.base import CommandError

            raise CommandError("端口必须在1-65535之间")
        self.stdout.write(
            f"市治 Shizhi 正在运行: http://{host}:{options['port']}/  (数据库: "
            f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})"
        )
        call_command(
            "runserver",
            f"{host}:{options['port']}",
            use_reloader=options["reload"],
            use_threading=True,
            skip_checks=False,
        )
