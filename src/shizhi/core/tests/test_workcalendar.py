import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from shizhi.core import services, workcalendar
from shizhi.core.models import AuditEvent, CalendarDay

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=SH)


def end_of(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SH)


@pytest.mark.django_db
class TestSpringFestival2026:
    # State Council notice for 2026: Spring Festival Feb 15-23 off; Sat Feb 14 and Sat Feb 28 are working days.
    def test_days(self) -> None:
        assert workcalendar.day_info(dt.date(2026, 2, 16)) == (False, "春节")
        assert workcalendar.day_info(dt.date(2026, 2, 23)) == (False, "春节")
        assert workcalendar.day_info(dt.date(2026, 2, 14)) == (True, "春节调休上班")
        assert workcalendar.is_workday(dt.date(2026, 2, 28))
        assert not workcalendar.is_workday(dt.date(2026, 2, 21))  # a Saturday inside the holiday
        assert workcalendar.is_workday(dt.date(2026, 2, 24))

    def test_working_days_skip_the_holiday_and_count_the_makeup_day(self) -> None:
        friday = at(2026, 2, 13, 10)
        assert workcalendar.add_working_days(friday, 1) == end_of(2026, 2, 14)  # Saturday make-up day counts
        assert workcalendar.add_working_days(friday, 2) == end_of(2026, 2, 24)  # then nine days off
        assert workcalendar.add_working_days(friday, 7) == end_of(2026, 3, 2)  # 14,24,25,26,27,28(Sat),Mar 2
        assert workcalendar.add_working_days(at(2026, 2, 17, 9), 1) == end_of(
            2026, 2, 24
        )  # start in the holiday

    def test_working_hours_run_over_into_the_makeup_saturday(self) -> None:
        # Office hours 09:00-12:00 and 13:30-17:30: 30 minutes left on Friday, 90 more on Saturday the 14th.
        assert workcalendar.add_working_hours(at(2026, 2, 13, 17, 0), 2) == at(2026, 2, 14, 10, 30)
        # Starting at lunch time counts from 13:30.
        assert workcalendar.add_working_hours(at(2026, 2, 13, 12, 15), 1) == at(2026, 2, 13, 14, 30)
        # A request on the last make-up day before the holiday's tail is answered after it.
        assert workcalendar.add_working_hours(at(2026, 2, 14, 17, 0), 1) == at(2026, 2, 24, 9, 30)

    def test_counting_elapsed_working_days(self) -> None:
        assert workcalendar.working_days_between(dt.date(2026, 2, 13), dt.date(2026, 2, 24)) == 2
        assert workcalendar.working_days_between(dt.date(2026, 2, 24), dt.date(2026, 2, 13)) == 0


@pytest.mark.django_db
class TestNationalDay:
    # 2026: Oct 1-7 off; Sun Sep 20 and Sat Oct 10 are working days.
    def test_2026(self) -> None:
        assert workcalendar.day_info(dt.date(2026, 10, 1)) == (False, "国庆节")
        assert workcalendar.day_info(dt.date(2026, 9, 20))[0] is True
        assert workcalendar.day_info(dt.date(2026, 10, 10))[0] is True
        assert workcalendar.add_working_days(at(2026, 9, 30, 16), 1) == end_of(2026, 10, 8)
        assert workcalendar.add_working_days(at(2026, 9, 30, 16), 3) == end_of(2026, 10, 10)  # 8, 9, Sat 10
        assert workcalendar.add_working_hours(at(2026, 9, 30, 17, 0), 2) == at(2026, 10, 8, 10, 30)

    def test_2025_with_mid_autumn(self) -> None:
        # 2025: Oct 1-8 off (National Day + Mid-autumn); Sun Sep 28 and Sat Oct 11 are working days.
        assert not workcalendar.is_workday(dt.date(2025, 10, 8))
        assert workcalendar.is_workday(dt.date(2025, 9, 28))
        assert workcalendar.is_workday(dt.date(2025, 10, 11))
        assert workcalendar.add_working_days(at(2025, 9, 30, 9), 2) == end_of(2025, 10, 10)


@pytest.mark.django_db
def test_natural_hours_never_stop() -> None:
    assert workcalendar.add_hours(at(2026, 2, 16, 22), 24) == at(2026, 2, 17, 22)


@pytest.mark.django_db
def test_zero_days_is_end_of_today_and_naive_datetimes_are_refused() -> None:
    assert workcalendar.add_working_days(at(2026, 3, 3, 8), 0) == end_of(2026, 3, 3)
    with pytest.raises(ValueError):
        workcalendar.add_working_days(dt.datetime(2026, 3, 3, 8), 1)
    with pytest.raises(ValueError):
        workcalendar.add_working_days(at(2026, 3, 3), -1)


@pytest.mark.django_db
def test_uncovered_year_falls_back_to_weekdays_until_overrides_are_entered() -> None:
    assert not workcalendar.covers(2031)
    assert workcalendar.is_workday(dt.date(2031, 1, 1))  # a Wednesday, unknown holiday
    services.calendar_day_set(actor=None, date=dt.date(2031, 1, 1), is_workday=False, name="元旦")
    assert workcalendar.covers(2031)
    assert workcalendar.day_info(dt.date(2031, 1, 1)) == (False, "元旦")
    assert workcalendar.add_working_days(at(2030, 12, 31, 10), 1) == end_of(2031, 1, 2)
    event = AuditEvent.objects.get(action="calendar.set")
    assert event.changes == {"is_workday": [None, False], "name": [None, "元旦"]}


@pytest.mark.django_db
def test_override_beats_builtin_and_delete_restores_it() -> None:
    day = dt.date(2026, 2, 16)
    services.calendar_day_set(actor=None, date=day, is_workday=True, name="本地调整")
    assert workcalendar.is_workday(day)
    services.calendar_day_delete(actor=None, date=day)
    assert not workcalendar.is_workday(day)
    assert CalendarDay.objects.count() == 0
