"""Template tags of the web shell: ``{% load cockpit %}``."""

from __future__ import annotations

import logging
from typing import Any

from django import template
from django.utils.translation import get_language, gettext, pgettext

from shizhi.core.models import UrbanRural, User

register = template.Library()
log = logging.getLogger("shizhi.cockpit")


def _field(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


@register.simple_tag
def demo_logins() -> list[Any]:
    """The demo city's sign-ins for the login page's hint box, only for demo users that exist and are active.

    Rows are dicts or objects with ``username``, ``role_label``, ``scope`` and ``password`` (and optionally
    ``display_name``). The demo app is optional (a city's real installation may leave it out), so it is
    imported lazily and any failure means "no hint", never a broken login page."""
    try:
        from shizhi.demo.services import demo_logins as load
    except ImportError:
        return []
    try:
        logins = list(load())
        if not logins:
            return []
        usernames = {str(_field(row, "username")) for row in logins}
        existing = set(
            User.objects.filter(username__in=usernames, is_active=True).values_list("username", flat=True)
        )
    except Exception:  # a half-loaded demo must not break the login page
        log.warning("demo logins unavailable", exc_info=True)
        return []
    return [row for row in logins if _field(row, "username") in existing]


@register.simple_tag
def map_labels() -> dict[str, str]:
    """The words the area map script (``static/shizhi/map.js``) shows, in the page's language, for a
    ``json_script`` next to the map; ``{name}``-style placeholders are filled in by the script."""
    return {
        "urban": str(UrbanRural.URBAN.label),
        "rural": str(UrbanRural.RURAL.label),
        "grid": gettext("网格"),
        "grid_worker": gettext("网格员：{name}"),
        "unassigned": gettext("未配置"),
        "population": gettext("常住人口：{population} 人 · 户数：{households}"),
        "density": gettext("人口密度：{density} 人/平方公里"),
        "density_unit": gettext("人/平方公里"),
        "no_area": gettext("无面积数据，无法计算人口密度"),
        "click": gettext("点击进入"),
        "no_children": gettext("下级区划没有边界数据。"),
        "no_grids": gettext("该区域没有网格边界数据。"),
        "loading_grids": gettext("正在加载网格…"),
        "grids_failed": gettext("网格加载失败：{error}"),
        "nothing": gettext("没有可显示的边界数据。"),
        "failed": gettext("地图数据加载失败：{error}"),
    }


@register.filter
def thousands(value: Any) -> str:
    """12345678 -> "12,345,678" (without needing django.contrib.humanize)."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


def _chinese() -> bool:
    return (get_language() or "").startswith("zh")


@register.filter
def wan(value: Any) -> str:
    """A big number shortened for the number cards, in the page's language: people in 万 (ten thousands)
    with one decimal in Chinese (1234567 -> "123.5"), in millions with two decimals in English ("1.23");
    numbers below the threshold in full (12,345; English: below a million)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return ""
    if _chinese():
        return f"{number:,}" if number < 100_000 else f"{number / 10_000:,.1f}"
    return f"{number:,}" if number < 1_000_000 else f"{number / 1_000_000:,.2f}"


@register.filter
def wan_unit(value: Any) -> str:
    """The unit that goes with :func:`wan`: "万" (Chinese) or "million" (English) for large numbers, ""
    otherwise."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return ""
    if _chinese():
        return "万" if number >= 100_000 else ""
    return pgettext("number unit", "百万") if number >= 1_000_000 else ""
