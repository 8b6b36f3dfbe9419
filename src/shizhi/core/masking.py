"""PII masking (脱敏) for anyone without the right to see personal data (``core.view_pii``)."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"^(\+?86)?(1\d{2})(\d{4})(\d{4})$")


def mask_mobile(value: str | None) -> str:
    """13812341234 -> 138****1234; landlines and other numbers keep only their last 4 digits."""
    if not value:
        return ""
    digits = re.sub(r"[\s-]", "", value)
    m = _MOBILE.match(digits)
    if m:
        return f"{m.group(2)}****{m.group(4)}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_id_number(value: str | None) -> str:
    """Resident ID (18 characters): keep the first 3 and last 4 -> 110***********123X."""
    if not value:
        return ""
    v = value.strip()
    if len(v) <= 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_name(value: str | None) -> str:
    """Chinese names keep the surname (张三 -> 张*, 欧阳娜娜 -> 欧***); Latin names keep the first letter."""
    if not value:
        return ""
    v = value.strip()
    if len(v) <= 1:
        return v
    return v[0] + "*" * (len(v) - 1)


def mask_email(value: str | None) -> str:
    if not value or "@" not in value:
        return mask_name(value)
    local, domain = value.split("@", 1)
    return (local[0] + "***" if local else "***") + "@" + domain


def mask_address(value: str | None, keep: int = 6) -> str:
    """Keep the first ``keep`` characters (district and street), hide the rest (house number)."""
    if not value:
        return ""
    if len(value) <= keep:
        return value
    return value[:keep] + "****"
