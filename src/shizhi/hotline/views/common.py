"""What the hotline pages share: the permission gate, form-value parsing, the "more rows?" window that avoids
counting millions of cases, and the idempotency token of the intake forms."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpResponse
from django.utils.translation import gettext

from shizhi.cockpit.web import Window, actor, next_url, staff_page, text, window
from shizhi.core.errors import ValidationFailed

View = TypeVar("View", bound=Callable[..., HttpResponse])

PER_PAGE = 50

__all__ = ["Window", "actor", "next_url", "staff_page", "text", "window"]


def int_field(data: Any, name: str, *, label: str, required: bool = True) -> int | None:
    raw = str(data.get(name, "") or "").strip()
    if not raw:
        if required:
            raise ValidationFailed(gettext("请填写%(label)s") % {"label": label}, details={"field": name})
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ValidationFailed(
            gettext("%(label)s须为整数") % {"label": label}, details={"field": name}
        ) from exc


def coordinates(data: Any) -> tuple[float | None, float | None]:
    """``lng``/``lat`` from a form (the map pin); both empty means no location."""
    raw_lng, raw_lat = str(data.get("lng", "") or "").strip(), str(data.get("lat", "") or "").strip()
    if not raw_lng and not raw_lat:
        return None, None
    try:
        return float(raw_lng), float(raw_lat)
    except ValueError as exc:
        raise ValidationFailed(gettext("经纬度格式不正确"), details={"field": "lng"}) from exc


def bool_field(data: Any, name: str) -> bool | None:
    """ "1"/"0" radio buttons: yes, no, or not answered."""
    raw = str(data.get(name, "") or "")
    return {"1": True, "0": False}.get(raw)


def new_token() -> str:
    """A form's idempotency token: the same submission sent twice creates one case."""
    return secrets.token_urlsafe(24)


def form_token(data: Any) -> str:
    raw = str(data.get("token", "") or "")
    return raw if 16 <= len(raw) <= 48 and raw.replace("-", "").replace("_", "").isalnum() else new_token()


def pin_labels() -> dict[str, str]:
    """The words of the pin map script (static/shizhi/hotline.js), in the page's language."""
    return {
        "pinned": gettext("已标注位置：经度 {lng}，纬度 {lat}"),
        "hint": gettext("点击地图标注位置（可选）"),
        "cleared": gettext("已清除位置"),
        "no_outline": gettext("暂无区划边界数据，仍可点击标注位置"),
        "failed": gettext("区划边界加载失败：{error}"),
        "point": gettext("诉求位置"),
    }
