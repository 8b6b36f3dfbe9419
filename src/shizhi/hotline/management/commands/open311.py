"""``shizhi open311 key create NAME`` / ``shizhi open311 key list`` / ``shizhi open311 key revoke ID``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shizhi.core.context import change_context
from shizhi.core.errors import ApplicationError
from shizhi.hotline.models import Open311Key
from shizhi.hotline.services.open311keys import open311_key_create, open311_key_revoke


class Command(BaseCommand):
    help = "管理Open311接口密钥（密钥只显示一次，库中只存摘要）"

    def add_arguments(self, parser: CommandParser) -> None:
        resources = parser.add_subparsers(dest="resource", required=True)
        key = resources.add_parser("key", help="API keys of Open311 clients")
        actions = key.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="issue a key; it is printed once")
        create.add_argument("name", help="which client system uses it")
        actions.add_parser("list", help="list keys (never the keys themselves)")
        revoke = actions.add_parser("revoke", help="revoke a key by id")
        revoke.add_argument("key_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with change_context(origin="cli"):
                if options["action"] == "create":
                    key, raw = open311_key_create(actor=None, name=options["name"])
                    self.stdout.write(raw)
                    self.stderr.write(
                        f"已创建Open311接口密钥 #{key.pk}“{key.name}”；请立即保存，之后无法再次查看。"
                    )
                elif options["action"] == "list":
                    for k in Open311Key.objects.order_by("id"):
                        state = "已撤销" if k.revoked_at else "有效"
                        self.stdout.write(f"{k.pk}\t{k.prefix}…\t{k.name}\t{state}\t{k.last_used_at or '-'}")
                else:
                    found = Open311Key.objects.filter(pk=options["key_id"]).first()
                    if found is None:
                        raise CommandError(f"密钥 #{options['key_id']} 不存在")
                    open311_key_revoke(actor=None, key=found)
                    self.stdout.write(f"已撤销密钥 #{found.pk}")
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
