"""``shizhi demo [--scale small|city] [--seed N] [--host H] [--port P]``: everything ``make demo`` needs in
one command: migrate the database, seed the demo city (or leave the existing one alone), print the demo
logins, then serve."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "一键演示：迁移数据库、生成示范城市“临江市”、打印演示账号，然后启动服务"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", default="city", help="规模: small 或 city（默认）")
        parser.add_argument("--seed", type=int, default=1, help="随机种子（默认 1）")
        parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        parser.add_argument("--messages", default=None, help="真实市民留言所在目录，代替生成的留言")
        parser.add_argument("--air", default=None, help="北京空气质量数据所在目录，代替合成的空气质量读数")
        parser.add_argument("--no-serve", action="store_true", help="只准备数据，不启动服务")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        seed_args = ["seed", "demo", "--scale", options["scale"], "--seed", str(options["seed"])]
        if options["messages"]:
            seed_args += ["--messages", options["messages"]]
        if options["air"]:
            seed_args += ["--air", options["air"]]
        call_command(*seed_args, stdout=self.stdout)
        if not options["no_serve"]:
            self.stdout.write("")
            call_command("serve", host=options["host"], port=options["port"])
