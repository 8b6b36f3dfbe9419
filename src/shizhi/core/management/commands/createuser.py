"""``shizhi createuser NAME --role ROLE [--unit CODE] [--area CODE]``: create a user, e.g. the first admin."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shizhi.core import services
from shizhi.core.context import change_context
from shizhi.core.errors import ApplicationError
from shizhi.core.models import Area, Role, Unit


class Command(BaseCommand):
    help = "新建用户并授予角色（例如第一个管理员）。密码从 --password、环境变量 SHIZHI_NEW_PASSWORD 或终端输入读取。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            required=True,
            choices=Role.values,
            action="append",
            help="role; repeat for several roles",
        )
        parser.add_argument(
            "--unit", help="unit code, for unit-scoped roles (unit_handler, unit_leader, data_steward)"
        )
        parser.add_argument("--area", help="12-digit area code, to scope the role to an area")
        parser.add_argument("--display-name", default="", help="姓名")
        parser.add_argument("--mobile", default="")
        parser.add_argument("--password", help="password (prefer SHIZHI_NEW_PASSWORD or the prompt)")

    def _password(self, options: dict[str, Any]) -> str:
        if options.get("password"):
            return str(options["password"])
        env = os.environ.get("SHIZHI_NEW_PASSWORD")
        if env:
            return env
        if not sys.stdin.isatty():
            raise CommandError("没有终端可输入密码：请用 --password 或环境变量 SHIZHI_NEW_PASSWORD")
        first = getpass.getpass("密码: ")
        if first != getpass.getpass("再输入一次: "):
            raise CommandError("两次输入的密码不一致")
        return first

    def handle(self, *args: Any, **options: Any) -> None:
        unit = area = None
        if options["unit"]:
            unit = Unit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"单位编码 {options['unit']} 不存在")
        if options["area"]:
            area = Area.objects.filter(code=options["area"]).first()
            if area is None:
                raise CommandError(f"区划代码 {options['area']} 不存在")
        roles = []
        for role in options["role"]:
            scoped_unit = unit if role in (Role.UNIT_HANDLER, Role.UNIT_LEADER, Role.DATA_STEWARD) else None
            scoped_area = area if role not in (Role.ADMIN, Role.CITIZEN) and scoped_unit is None else None
            roles.append(services.RoleIn(role=role, unit=scoped_unit, area=scoped_area))
        try:
            with change_context(origin="cli"):
                user = services.user_create(
                    actor=None,
                    username=options["username"],
                    password=self._password(options),
                    display_name=options["display_name"],
                    mobile=options["mobile"],
                    roles=roles,
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        labels = "、".join(str(Role(r.role).label) for r in roles)
        self.stdout.write(self.style.SUCCESS(f"已创建用户 {user.username}（{labels}）"))
