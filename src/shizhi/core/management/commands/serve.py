"""``shizhi serve [--host H] [--port P] [--threads N] [--reload]``: serve the platform in one process.

The default server is waitress, a production-quality pure-Python WSGI server (multi-threaded, HTTP/1.1
keep-alive, no compiled dependencies, runs the same on Linux and Windows). ``--reload`` uses Django's development
server instead, which restarts on code changes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "启动市治网站服务（默认 http://127.0.0.1:8000 ）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
        parser.add_argument(
            "--reload", action="store_true", help="Django's development server, restarting on code changes"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port, threads = options["host"], options["port"], options["threads"]
        if not 0 < port < 65536:
            raise CommandError("端口必须在1-65535之间")
        if not 1 <= threads <= 256:
            raise CommandError("线程数必须在1-256之间")
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
        self.stdout.write(
            f"市治 Shizhi 正在运行: http://{shown}:{port}/  (数据库: "
            f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
            f"{'开发服务器' if options['reload'] else f'waitress {threads} 线程'})"
        )
        self.stdout.flush()
        if options["reload"]:
            call_command("runserver", f"{shown}:{port}", use_reloader=True, use_threading=True)
            return
        self.check(display_num_errors=False)
        from waitress import serve

        from shizhi.config.wsgi import application

        serve(
            application,
            host=host.strip("[]"),
            port=port,
            threads=threads,
            ident="shizhi",
            clear_untrusted_proxy_headers=True,
            channel_timeout=120,
        )
