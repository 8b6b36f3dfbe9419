"""Working-day calendar (工作日历) and deadlines for every SLA.

Which days are working days comes from, in order: the ``CalendarDay`` overrides in the database (a city adds
next year's State Council holiday notice there as soon as it is published, or a local adjustment), then the
official calendar built into ``chinesecalendar`` (holidays and make-up working days 调休, 2004 onwards), then
the plain Monday-to-Friday rule for years neither covers (``covers(year)`` tells; the admin page warns).

Deadlines follow the Civil Code (民法典 第二百零一条、第二百零三条): a period in days starts counting the day after
the start, and ends at 24:00 of its last day. "N working hours" count only office hours on working days.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings

_lock = threading.Lock()
_overrides: dict[dt.date, tuple[bool, str]] | None = None
_loaded_at = 0.0
_TTL_SECONDS = 60.0  # other processes pick up a changed override within a minute


def clear_cache() -> None:
    global _overrides
    with _lock:
        _overrides = None


def _override_map() -> dict[dt.date, tuple[bool, str]]:
    global _overrides, _loaded_at
    with _lock:
        if _overrides is None or time.monotonic() - _loaded_at > _TTL_SECONDS:
            from shizhi.core.models import CalendarDay

            _overrides = {d.date: (d.is_workday, d.name) for d in CalendarDay.objects.all()}
            _loaded_at = time.monotonic()
        return _overrides


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


_BUILTIN_YEARS = frozenset(d.year for d in chinese_calendar.holidays)


def builtin_covers(year: int) -> bool:
    return year in _BUILTIN_YEARS


def covers(year: int) -> bool:
    """True when the official calendar for ``year`` is known (built in, or entered as overrides)."""
    return builtin_covers(year) or any(d.year == year for d in _override_map())


def day_info(day: dt.date) -> tuple[bool, str]:
    """(is a working day, name of the holiday or make-up day or '')."""
    override = _override_map().get(day)
    if override is not None:
        return override
    if builtin_covers(day.year):
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
        if day in chinese_calendar.workdays:
            label = chinese_calendar.workdays[day]
            return True, f"{_zh_name(label)}调休上班" if label else "调休上班"
        return (not is_holiday), (_zh_name(name) if name else "")
    return day.weekday() < 5, ""


_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def _zh_name(name: str) -> str:
    return _ZH.get(name, name)


def is_workday(day: dt.date) -> bool:
    return day_info(day)[0]


def next_workday(day: dt.date, *, include: bool = False) -> dt.date:
    d = day if include else day + dt.timedelta(days=1)
    for _ in range(400):
        if is_workday(d):
            return d
        d += dt.timedelta(days=1)
    raise RuntimeError("no working day within 400 days; the calendar overrides are wrong")


def _local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("deadlines need a timezone-aware datetime")
    return moment.astimezone(local_tz())


def _end_of_day(day: dt.date) -> dt.datetime:
    # 24:00 of the day, stored as the first instant of the next day minus one microsecond.
    return dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=local_tz())


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """Deadline for "within N working days" from ``start``: 24:00 of the N-th working day after the start day."""
    if days < 0:
        raise ValueError("days must be >= 0")
    day = _local(start).date()
    if days == 0:
        return _end_of_day(day)
    for _ in range(days):
        day = next_workday(day)
    return _end_of_day(day)


def work_periods() -> list[tuple[dt.time, dt.time]]:
    periods = []
    for begin, end in settings.SHIZHI["WORK_HOURS"]:
        periods.append((dt.time.fromisoformat(begin), dt.time.fromisoformat(end)))
    return periods


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """Deadline for "within N working hours": only office hours of working days count."""
    if hours < 0:
        raise ValueError("hours must be >= 0")
    remaining = dt.timedelta(hours=hours)
    moment = _local(start)
    tz = local_tz()
    day = moment.date()
    for _ in range(800):
        if is_workday(day):
            for begin, end in work_periods():
                p_start = dt.datetime.combine(day, begin, tzinfo=tz)
                p_end = dt.datetime.combine(day, end, tzinfo=tz)
                if moment >= p_end:
                    continue
                s = max(moment, p_start)
                available = p_end - s
                if remaining <= available:
                    return s + remaining
                remaining -= available
        day += dt.timedelta(days=1)
        moment = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
    raise RuntimeError("working-hour deadline too far ahead")


def add_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """Deadline in natural hours (emergencies, utilities: the clock never stops)."""
    return _local(start) + dt.timedelta(hours=hours)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Number of working days in (start, end]: how many working days have passed since ``start``."""
    if end <= start:
        return 0
    count = 0
    d = start + dt.timedelta(days=1)
    while d <= end:
        count += is_workday(d)
        d += dt.timedelta(days=1)
    return count


def month_days(year: int, month: int) -> list[tuple[dt.date, bool, str]]:
    first = dt.date(year, month, 1)
    days = []
    d = first
    while d.month == month:
        w, name = day_info(d)
        days.append((d, w, name))
        d += dt.timedelta(days=1)
    return days
