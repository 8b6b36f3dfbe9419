"""Template tags of the web shell: ``{% load cockpit %}``."""

from __future__ import annotations

import logging
from typing import Any

from django import template

from shizhi.core.models import User

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


@register.filter
def thousands(value: Any) -> str:
    """12345678 -> "12,345,678" (without needing django.contrib.humanize)."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


@register.filter
def wan(value: Any) -> str:
    """People in 万 (ten thousands) with one decimal for the big number cards: 1234567 -> "123.5"."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return ""
    if number < 100_000:
        return f"{number:,}"
    return f"{number / 10_000:,.1f}"


@register.filter
def wan_unit(value: Any) -> str:
    """The unit that goes with :func:`wan`: "万" for large numbers, "" otherwise."""
    try:
        return "万" if int(value) >= 100_000 else ""
    except (TypeError, ValueError):
        return ""
