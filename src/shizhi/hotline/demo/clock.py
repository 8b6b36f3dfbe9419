"""The hotline's time limits (:mod:`shizhi.hotline.sla`) for a whole demo year at once. The rules are the same
(working hours, working days, natural hours for water/power/gas/heat and emergencies); the working-day
calendar is looked up once per day instead of once per deadline, which makes 100,000 deadlines take a second
rather than a minute. ``tests/test_demo_cases.py`` checks it against :mod:`shizhi.hotline.sla`."""

from __future__ import annotations

import datetime as dt

from shizhi.core import workcalendar
from shizhi.hotline.models import SlaKind
from shizhi.hotline.sla import sla_setting


class Clock:
    def __init__(self) -> None:
        self.tz = workcalendar.local_tz()
        self.periods = workcalendar.work_periods()
        self._workday: dict[dt.date, bool] = {}
        self.accept_hours = sla_setting("accept_working_hours")
        self.emergency_hours = sla_setting("emergency_hours")
        self.utility_hours = sla_setting("utility_hours")
        self.general_days = sla_setting("general_working_days")
        self.complex_days = sla_setting("complex_working_days")

    def is_workday(self, day: dt.date) -> bool:
        known = self._workday.get(day)
        if known is None:
            known = self._workday[day] = workcalendar.is_workday(day)
        return known

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.tz)

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        day = self.local(start).date()
        for _ in range(days):
            day += dt.timedelta(days=1)
            while not self.is_workday(day):
                day += dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=self.tz)

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        remaining = dt.timedelta(hours=hours)
        moment = self.local(start)
        day = moment.date()
        for _ in range(800):
            if self.is_workday(day):
                for begin, end in self.periods:
                    p_start = dt.datetime.combine(day, begin, tzinfo=self.tz)
                    p_end = dt.datetime.combine(day, end, tzinfo=self.tz)
                    if moment >= p_end:
                        continue
                    s = max(moment, p_start)
                    if remaining <= p_end - s:
                        return s + remaining
                    remaining -= p_end - s
            day += dt.timedelta(days=1)
            moment = dt.datetime.combine(day, dt.time(0, 0), tzinfo=self.tz)
        raise RuntimeError("working-hour deadline too far ahead")

    def accept_due(self, dispatched_at: dt.datetime, *, urgent: bool) -> dt.datetime:
        if urgent:
            return self.local(dispatched_at) + dt.timedelta(hours=self.emergency_hours)
        return self.add_working_hours(dispatched_at, self.accept_hours)

    def handling_due(self, start: dt.datetime, sla_kind: str) -> dt.datetime:
        if sla_kind == SlaKind.EMERGENCY:
            return self.local(start) + dt.timedelta(hours=self.emergency_hours)
        if sla_kind == SlaKind.UTILITY:
            return self.local(start) + dt.timedelta(hours=self.utility_hours)
        days = self.complex_days if sla_kind == SlaKind.COMPLEX else self.general_days
        return self.add_working_days(start, days)

    def office_time(self, moment: dt.datetime, *, first: int = 8, last: int = 20) -> dt.datetime:
        """``moment`` if it falls between first and last o'clock (local), else the next morning at ``first``."""
        local = self.local(moment)
        if local.hour < first:
            return local.replace(hour=first, minute=0, second=0)
        if local.hour >= last:
            return (local + dt.timedelta(days=1)).replace(hour=first, minute=0, second=0)
        return local
