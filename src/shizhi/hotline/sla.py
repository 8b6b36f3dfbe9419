"""Time limits (办理时限) of cases on the working-day calendar. The numbers are settings, SHIZHI["HOTLINE_SLA"]."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from shizhi.core import workcalendar
from shizhi.hotline.models import SlaKind

DEFAULTS: dict[str, Any] = {
    "accept_working_hours": 2,  # a unit accepts (签收) within 2 working hours of dispatch
    "emergency_hours": 2,  # emergencies (life, property): feedback within 2 hours, clock never stops
    "utility_hours": 24,  # water, power, gas, heating
    "general_working_days": 7,
    "complex_working_days": 15,
    "due_soon_hours": 24,  # "due soon" when less than this is left
    "max_extension_working_days": 15,
}


def sla_setting(name: str) -> Any:
    return {**DEFAULTS, **getattr(settings, "SHIZHI", {}).get("HOTLINE_SLA", {})}[name]


def accept_due(dispatched_at: dt.datetime, *, urgent: bool) -> dt.datetime:
    if urgent:
        # An emergency cannot wait for office hours: the unit must react within the feedback time.
        return workcalendar.add_hours(dispatched_at, sla_setting("emergency_hours"))
    return workcalendar.add_working_hours(dispatched_at, sla_setting("accept_working_hours"))


def handling_due(start: dt.datetime, sla_kind: str) -> dt.datetime:
    """When the reply is due, counted from dispatch."""
    if sla_kind == SlaKind.EMERGENCY:
        return workcalendar.add_hours(start, sla_setting("emergency_hours"))
    if sla_kind == SlaKind.UTILITY:
        return workcalendar.add_hours(start, sla_setting("utility_hours"))
    if sla_kind == SlaKind.COMPLEX:
        return workcalendar.add_working_days(start, sla_setting("complex_working_days"))
    return workcalendar.add_working_days(start, sla_setting("general_working_days"))


def month_of(moment: dt.datetime) -> int:
    local = moment.astimezone(workcalendar.local_tz())
    return local.year * 100 + local.month
