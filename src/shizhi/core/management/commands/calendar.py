"""``shizhi calendar show YEAR [MONTH]``, ``shizhi calendar set DATE --workday|--holiday [--name N]``,
``shizhi calendar deadline START --working-days N``: the working-day calendar (工作日历) from the command line."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shizhi.core import services, workcalendar
from shizhi.core.context import change_context
from shizhi.core.errors import ApplicationError


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"日期格式应为 YYYY-MM-DD：{value}") from exc


class Command(BaseCommand):
    help = "查看和调整工作日历（节假日、调休），计算期限"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="list holidays and make-up working days of a year or month")
        show.add_argument("year", type=int)
        show.add_argument("month", type=int, nargs="?")
        st = sub.add_parser(
            "set", help="mark a date as a working day or a holiday (overrides the built-in data)"
        )
        st.add_argument("date")
        kind = st.add_mutually_exclusive_group(required=True)
        kind.add_argument("--workday", action="store_true")
        kind.add_argument("--holiday", action="store_true")
        st.add_argument("--name", default="")
        dl = sub.add_parser("deadline", help="deadline from a start time")
        dl.add_argument("start", help="ISO datetime, e.g. 2026-09-30T10:00 (local time if no offset)")
        g = dl.add_mutually_exclusive_group(required=True)
        g.add_argument("--working-days", type=int)
        g.add_argument("--working-hours", type=float)
        g.add_argument("--hours", type=float)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "show":
            self._show(options["year"], options["month"])
        elif action == "set":
            try:
                with change_context(origin="cli"):
                    day = services.calendar_day_set(
                        actor=None,
                        date=_date(options["date"]),
                        is_workday=options["workday"],
                        name=options["name"],
                    )
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(f"{day.date} 已设为{'工作日' if day.is_workday else '休息日'} {day.name}")
        else:
            try:
                start = dt.datetime.fromisoformat(options["start"])
            except ValueError as exc:
                raise CommandError(f"时间格式不正确：{options['start']}") from exc
            if start.tzinfo is None:
                start = start.replace(tzinfo=workcalendar.local_tz())
            if options["working_days"] is not None:
                end = workcalendar.add_working_days(start, options["working_days"])
            elif options["working_hours"] is not None:
                end = workcalendar.add_working_hours(start, options["working_hours"])
            else:
                end = workcalendar.add_hours(start, options["hours"])
            self.stdout.write(end.isoformat())

    def _show(self, year: int, month: int | None) -> None:
        if not workcalendar.covers(year):
            self.stderr.write(
                f"注意：{year}年的官方节假日安排尚未录入，暂按周一至周五上班计算。"
                "请用 shizhi calendar set 录入国务院办公厅通知中的安排。"
            )
        months = [month] if month else range(1, 13)
        for m in months:
            for d, is_work, name in workcalendar.month_days(year, m):
                weekend = d.weekday() >= 5
                if is_work == (not weekend) and not name:
                    continue
                label = "上班" if is_work else "休息"
                self.stdout.write(f"{d.isoformat()} 周{'一二三四五六日'[d.weekday()]} {label} {name}")
