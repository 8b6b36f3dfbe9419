"""Template tags of the warning pages: the alerts behind a hotline case, for the case page's include."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag
def case_alerts(case: Any) -> list[Any]:
    """The alerts that opened ``case`` (the caller's page has checked access to the case); none for a case of
    another channel (no query)."""
    from shizhi.hotline.models import Channel
    from shizhi.warning.selectors import alerts_for_case

    if case is None or getattr(case, "channel", None) != Channel.SENSOR:
        return []
    return alerts_for_case(case)
