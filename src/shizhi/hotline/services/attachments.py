"""Attachments (附件) of a case: photos and documents, checked by type and size before anything is stored."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from shizhi.core.errors import PermissionDenied, ValidationFailed
from shizhi.core.models import User
from shizhi.hotline.models import Attachment, Case
from shizhi.hotline.services.common import record

ALLOWED_TYPES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF",),
}
MAX_BYTES = 10 * 1024 * 1024
MAX_PER_CASE = 9


@transaction.atomic
def case_attach(*, actor: User | None, case: Case, upload: UploadedFile, may_attach: bool) -> Attachment:
    """Store an upload for a case. ``may_attach``: the caller has checked the actor may see and act on the case.
    The file's first bytes must match its declared type (a renamed script is refused)."""
    if not may_attach:
        raise PermissionDenied("没有为该工单上传附件的权限")
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    if declared not in ALLOWED_TYPES:
        raise ValidationFailed(
            "只能上传JPG、PNG图片或PDF文件", details={"field": "file", "content_type": declared}
        )
    size = upload.size or 0
    if size == 0:
        raise ValidationFailed("文件是空的", details={"field": "file"})
    if size > MAX_BYTES:
        raise ValidationFailed("文件不能超过10MB", details={"field": "file", "max_bytes": MAX_BYTES})
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(magic) for magic in ALLOWED_TYPES[declared]):
        raise ValidationFailed("文件内容与类型不符", details={"field": "file"})
    if case.attachments.count() >= MAX_PER_CASE:
        raise ValidationFailed(f"每件工单最多{MAX_PER_CASE}个附件", details={"field": "file"})
    name = (upload.name or "附件")[-200:]
    attachment = Attachment(
        case=case,
        name=name,
        content_type=declared,
        size=size,
        uploaded_by=actor if actor is not None and actor.pk else None,
    )
    attachment.file.save(name, upload, save=False)
    attachment.save()
    record(case, actor=actor, action="attach", note=name, data={"attachment": attachment.pk, "size": size})
    return attachment
