"""``shizhi token create USERNAME NAME`` / ``shizhi token list USERNAME`` / ``shizhi token revoke ID``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shizhi.core import services
from shizhi.core.context import change_context
from shizhi.core.errors import ApplicationError
from shizhi.core.models import ApiToken, User


class Command(BaseCommand):
    help = "管理用户的接口令牌（令牌只显示一次，库中只存摘要）"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token for a user")
        create.add_argument("username")
        create.add_argument("name")
        lst = sub.add_parser("list", help="list a user's tokens")
        lst.add_argument("username")
        revoke = sub.add_parser("revoke", help="revoke a token by id")
        revoke.add_argument("token_id", type=int)

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"用户 {username} 不存在")
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with change_context(origin="cli"):
                if options["action"] == "create":
                    user = self._user(options["username"])
                    token, raw = services.token_create(actor=user, user=user, name=options["name"])
                    self.stdout.write(raw)
                    self.stderr.write(
                        f"已为 {user.username} 创建令牌 #{token.pk}“{token.name}”；请立即保存，之后无法再次查看。"
                    )
                elif options["action"] == "list":
                    for t in self._user(options["username"]).api_tokens.order_by("id"):
                        state = "已撤销" if t.revoked_at else "有效"
                        self.stdout.write(f"{t.pk}\t{t.prefix}…\t{t.name}\t{state}\t{t.last_used_at or '-'}")
                else:
                    found = ApiToken.objects.select_related("user").filter(pk=options["token_id"]).first()
                    if found is None:
                        raise CommandError(f"令牌 #{options['token_id']} 不存在")
                    services.token_revoke(actor=found.user, token=found)
                    self.stdout.write(f"已撤销令牌 #{found.pk}")
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
