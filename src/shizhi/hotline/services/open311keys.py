"""Open311 API keys (Open311接口密钥) and intake through them: create, revoke, authenticate, submit.

A key belongs to a client system (a city app, a FixMyStreet instance), not to a person. Only its SHA-256 digest
is stored; the raw key is returned once by :func:`open311_key_create`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from shizhi.core.audit import audit_record, snapshot
from shizhi.core.errors import Conflict, PermissionDenied, ValidationFailed
from shizhi.core.models import User
from shizhi.core.permissions import has_perm
from shizhi.core.services import token_digest
from shizhi.hotline.models import Case, Open311Key, Open311Request
from shizhi.hotline.services.intake import CaseIn, case_create

KEY_PREFIX = "o311_"
_MAX_RAW_LENGTH = 200


def _require_admin(actor: User | None) -> None:
    """Keys open the intake to another system: only an administrator (or the CLI, ``actor=None``) issues them."""
    if actor is not None and not has_perm(actor, "core.manage_users"):
        raise PermissionDenied("只有系统管理员可以管理Open311接口密钥")


@transaction.atomic
def open311_key_create(*, actor: User | None, name: str) -> tuple[Open311Key, str]:
    """Issue a key for a client system; returns the row and the raw key, which is never stored."""
    _require_admin(actor)
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise ValidationFailed("密钥名称不能为空且不超过64个字", details={"field": "name"})
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = Open311Key(name=name, prefix=raw[: len(KEY_PREFIX) + 6], digest=token_digest(raw))
    key.full_clean()
    key.save()
    audit_record(actor=actor, action="open311_key.create", obj=key, changes=snapshot(key, ["name", "prefix"]))
    return key, raw


@transaction.atomic
def open311_key_revoke(*, actor: User | None, key: Open311Key) -> Open311Key:
    _require_admin(actor)
    key = Open311Key.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        raise Conflict("该密钥已被撤销", details={"key": key.pk})
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor, action="open311_key.revoke", obj=key, changes={"revoked_at": [None, key.revoked_at]}
    )
    return key


def open311_key_authenticate(raw: str | None) -> Open311Key | None:
    """The active key with this value, or None. Touches last_used_at at most once a minute."""
    if not raw or not raw.startswith(KEY_PREFIX) or len(raw) > _MAX_RAW_LENGTH:
        return None
    key = Open311Key.objects.filter(digest=token_digest(raw)).first()
    if key is None or key.revoked_at is not None:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        Open311Key.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


@dataclass
class Open311Extras:
    """Fields of an Open311 submission that a case has no column for."""

    media_url: str = ""
    device_id: str = ""
    account_id: str = ""


@transaction.atomic
def open311_case_create(*, key: Open311Key, data: CaseIn, extras: Open311Extras) -> Case:
    """Record a request submitted with ``key``: the case (the ordinary intake, actor = the system), which key
    sent it, and an audit event naming the key. All or nothing."""
    if key.revoked_at is not None:
        raise PermissionDenied("该Open311接口密钥已被撤销")
    case = case_create(actor=None, data=data)
    submission = Open311Request(
        case=case,
        key=key,
        media_url=extras.media_url,
        device_id=extras.device_id[:64],
        account_id=extras.account_id[:64],
    )
    try:
        submission.full_clean(exclude=["case", "key"])
    except DjangoValidationError as exc:
        field = next(iter(exc.message_dict), "media_url")
        raise ValidationFailed(f"{field}格式不正确", details={"field": field}) from exc
    submission.save()
    audit_record(
        actor=None,
        action="open311.request",
        obj=case,
        changes={"open311_key": [None, f"{key.name} ({key.prefix}…)"]},
        area_path=case.area_path,
    )
    return case
