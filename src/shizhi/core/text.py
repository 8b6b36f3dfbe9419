"""Checking free text that people type and others will read (标题、说明、答复...): one rule for every module."""

from __future__ import annotations

import re
from typing import Any

from shizhi.core.errors import ValidationFailed

# A tag or a comment/doctype opener: such text would be markup when shown to someone else.
HTML_TAG = re.compile(r"<\s*(/\s*)?([a-zA-Z][a-zA-Z0-9-]*)(\s[^>]*)?/?\s*>|<!")


def check_text(
    value: Any,
    *,
    field: str,
    label: str,
    max_length: int,
    min_length: int = 1,
    required: bool = True,
    multiline: bool = True,
) -> str:
    """Trimmed text, refused (422, ``details.field``) when empty (unless not ``required`` or ``min_length`` 0), shorter than
    ``min_length``, longer than ``max_length``, carrying HTML markup, or spanning lines where it may not. The
    ``_x000D_`` that Excel writes for a carriage return is dropped."""
    text = str(value if value is not None else "").replace("_x000D_", "").strip()
    if not text and (not required or min_length <= 0):
        return text  # optional text may be empty
    if len(text) < max(min_length, 1):
        raise ValidationFailed(
            f"{label}不能为空" if min_length <= 1 or not text else f"{label}至少{min_length}个字",
            details={"field": field},
        )
    if len(text) > max_length:
        raise ValidationFailed(
            f"{label}不能超过{max_length}个字", details={"field": field, "max_length": max_length}
        )
    if HTML_TAG.search(text):
        raise ValidationFailed(f"{label}不能包含HTML标签或脚本", details={"field": field})
    if not multiline and ("\n" in text or "\r" in text):
        raise ValidationFailed(f"{label}不能换行", details={"field": field})
    return text
