"""What every write of onething shares: permission checks, the actor's units, text checks, uploads."""

from __future__ import annotations

import os
import re
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from shizhi.core.errors import NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import Role, User
from shizhi.core.permissions import actor_scope, has_perm

# An upload's type comes from its extension and must match its first bytes (a renamed script is refused).
UPLOAD_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024

PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def require_perm(actor: User | None, permission: str, message: str) -> None:
    """``actor=None`` is the system itself (seed, import, tasks), which may do anything."""
    if actor is not None and not has_perm(actor, permission):
        raise PermissionDenied(message)


def actor_units(actor: User | None) -> set[int]:
    """The units whose sub-tasks ``actor`` handles (承办人、单位负责人)."""
    if actor is None or not actor.is_authenticated:
        return set()
    scope = actor_scope(actor)
    return scope.unit_ids.get(Role.UNIT_HANDLER, set()) | scope.unit_ids.get(Role.UNIT_LEADER, set())


def require_unit(actor: User | None, unit_id: int | None, what: str = "子任务") -> None:
    """A department acts only on its own unit's sub-tasks; anyone else's do not exist for it (404)."""
    if actor is None:
        return
    if not has_perm(actor, "onething.handle") or unit_id is None or unit_id not in actor_units(actor):
        raise NotFound(what)


def check_phone(value: Any, *, field: str = "applicant_phone") -> str:
    phone = str(value or "").replace(" ", "").strip()
    if not PHONE_RE.match(phone):
        raise ValidationFailed("联系电话应为11位手机号或带区号的固定电话", details={"field": field})
    return phone


def check_upload(upload: UploadedFile, *, field: str) -> tuple[str, int]:
    """(content type, size) of an acceptable upload: PDF, JPG or PNG by extension and content, 1 byte to 10 MB."""
    name = upload.name or ""
    ext = os.path.splitext(name)[1].lower()
    if ext not in UPLOAD_TYPES:
        raise ValidationFailed(
            f"“{name[-60:]}”不是PDF、JPG或PNG文件", details={"field": field, "allowed": sorted(UPLOAD_TYPES)}
        )
    content_type, magics = UPLOAD_TYPES[ext]
    size = upload.size or 0
    if size == 0:
        raise ValidationFailed(f"“{name[-60:]}”是空文件", details={"field": field})
    if size > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            f"“{name[-60:]}”超过10MB", details={"field": field, "max_bytes": MAX_UPLOAD_BYTES, "size": size}
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(m) for m in magics):
        raise ValidationFailed(f"“{name[-60:]}”的内容与文件类型不符", details={"field": field})
    return content_type, size
