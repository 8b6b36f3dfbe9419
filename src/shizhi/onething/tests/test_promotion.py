"""Standing promotion (常态化推进): measured performance, alerts (exact), the dashboard and the monthly report."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from typing import Any

import pytest
from openpyxl import load_workbook

from shizhi.core import services as core_services
from shizhi.core import workcalendar
from shizhi.core.errors import NotFound, PermissionDenied
from shizhi.core.models import Area, Role
from shizhi.onething import promotion
from shizhi.onething.models import (
    Application,
    ApplicationStatus,
    ItemVersion,
    Milestone,
    Rating,
    Rollout,
    RolloutState,
)
from shizhi.onething.tests.factories import OneWorld, _user, build_one_world

TODAY = dt.date(2026, 11, 27)
_numbers = itertools.count(1)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=workcalendar.local_tz())


def make_app(
    version: ItemVersion,
    district: Area,
    *,
    submitted: dt.datetime,
    finished: dt.datetime | None = None,
    status: str = ApplicationStatus.COMPLETED,
    on_time: bool | None = None,
    online: bool = False,
    score: int | None = None,
    rated: dt.datetime | None = None,
) -> Application:
    """An application row with exactly the times given (performance reads only these columns)."""
    app = Application.objects.create(
        number=f"T{next(_numbers):08d}",
        item=version.item,
        version=version,
        applicant_name="张三",
        applicant_phone="13800001111",
        subject=version.item.subject,
        district=district,
        area_path=district.path,
        status=status,
        fully_online=online,
        submitted_at=submitted,
        due_at=workcalendar.add_working_days(submitted, 5),
        finished_at=finished,
        on_time=on_time,
    )
    if score is not None:
        Rating.objects.create(application=app, score=score, created_at=rated or finished or submitted)
    return app


@pytest.fixture
def world(db: Any) -> OneWorld:
    return build_one_world()


def second_district() -> Area:
    core_services.areas_import(
        actor=None,
        rows=[
            core_services.AreaRow(
                code="331221000000",
                name="临江县",
                level=2,
                kind="县",
                urban_rural="rural",
                parent_code="331200000000",
            )
        ],
    )
    return Area.objects.get(code="331221000000")


# ---------------------------------------------------------------------------------------------- performance


def test_workday_counter_matches_the_calendar_across_holidays(db: Any) -> None:
    low, high = dt.date(2026, 9, 15), dt.date(2026, 10, 20)  # 国庆 and its make-up Saturday
    counter = promotion.WorkdayCounter(low, high)
    for start in (dt.date(2026, 9, 15), dt.date(2026, 9, 30), dt.date(2026, 10, 3)):
        for end in (dt.date(2026, 10, 1), dt.date(2026, 10, 9), dt.date(2026, 10, 10), dt.date(2026, 10, 20)):
            assert counter.between(start, end) == workcalendar.working_days_between(start, end)
    # 9-30 (Wed) to 10-9 (Fri): 10-1..10-7 holidays, 10-8 and 10-9 working days
    assert counter.between(dt.date(2026, 9, 30), dt.date(2026, 10, 9)) == 2


def test_p90_is_nearest_rank() -> None:
    assert promotion.p90([]) is None
    assert promotion.p90([3]) == 3
    assert promotion.p90([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == 9
    assert promotion.p90([8, 1, 2, 1]) == 8  # ceil(3.6) = 4th smallest


def test_rollout_performance_exact(world: OneWorld) -> None:
    v1 = world.publish_example("T-1")
    v2 = world.publish_example("T-2")
    d = world.district
    other = second_district()
    mar = lambda day, hour=10: at(dt.date(2026, 3, day), hour)  # noqa: E731 - March 2026 has no holidays
    # finished Mon 3-2 -> Wed 3-4: 2 working days, on time, rated 5 in March
    make_app(v1, d, submitted=mar(2), finished=mar(4, 15), on_time=True, score=5, rated=mar(5))
    # Fri 3-6 16:00 -> Mon 3-9: 1 working day, fully online, rated 4 in March
    make_app(v1, d, submitted=mar(6, 16), finished=mar(9), on_time=True, online=True, score=4, rated=mar(10))
    # Tue 3-10 -> Fri 3-20: 8 working days, late, rated 2 in April (not in March)
    make_app(
        v1, d, submitted=mar(10), finished=mar(20), on_time=False, score=2, rated=at(dt.date(2026, 4, 1))
    )
    # filed in March, finished in April: received, not finished
    make_app(v1, d, submitted=mar(30), finished=at(dt.date(2026, 4, 2)), on_time=True, online=True)
    # rejected Mon 3-23 -> Tue 3-24: 1 working day, on time (不予办理 also ends an application)
    make_app(v1, d, submitted=mar(23), finished=mar(24), status=ApplicationStatus.REJECTED, on_time=True)
    # withdrawn: received, never finished
    make_app(v1, d, submitted=mar(11), finished=mar(12), status=ApplicationStatus.WITHDRAWN)
    # filed in February, finished Tue 3-3: finished in March. 2-27 (Fri) -> 3-3: 3 working days (2-28 is a
    # make-up Saturday of the Spring Festival, then 3-2 and 3-3)
    make_app(v1, d, submitted=at(dt.date(2026, 2, 27)), finished=mar(3), on_time=True)
    # other item, other district: not counted
    make_app(v2, d, submitted=mar(2), finished=mar(3), on_time=True, score=1, rated=mar(3))
    make_app(v1, other, submitted=mar(2), finished=mar(3), on_time=False, score=1, rated=mar(3))

    p = promotion.rollout_performance(v1.item, d, dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    assert p.as_dict() == {
        "received": 6,
        "finished": 5,
        "on_time": 4,
        "on_time_rate": 0.8,
        "mean_days": 3.0,  # (2 + 1 + 8 + 1 + 3) / 5
        "p90_days": 8,  # ceil(4.5) = 5th smallest of 1, 1, 2, 3, 8
        "ratings": 2,
        "mean_rating": 4.5,
        "fully_online": 2,
        "online_share": 0.3333,
    }
    empty = promotion.rollout_performance(v1.item, d, dt.date(2025, 1, 1), dt.date(2025, 2, 1))
    assert empty == promotion.Performance()
    assert empty.on_time_rate is None and empty.online_share is None


# --------------------------------------------------------------------------------------------------- alerts


def _rollout(world: OneWorld, version: ItemVersion, **fields: Any) -> Rollout:
    return Rollout.objects.create(
        item=version.item, district=fields.pop("district", world.district), **fields
    )


def alert_world(world: OneWorld) -> dict[str, Any]:
    """Roll-outs whose alerts as of 2026-11-27 are known by hand (see test_alerts_exact)."""
    v1, v2, v3, v4 = (world.publish_example(f"T-{i}", name=f"示例{i}一件事") for i in range(1, 5))
    d = world.district
    window = lambda days_ago, hour=10: at(TODAY - dt.timedelta(days=days_ago), hour)  # noqa: E731
    # T-1 piloting: its online date (10-31) passed -> behind by 27 days; milestone 11-20 open -> overdue 7 days;
    # milestone due today not overdue; milestone done not overdue.
    r1 = _rollout(
        world,
        v1,
        state=RolloutState.PILOTING,
        target_pilot_date=dt.date(2026, 6, 1),
        target_online_date=dt.date(2026, 10, 31),
        target_fully_online_date=dt.date(2026, 12, 31),
        owner_unit=world.units["a"],
    )
    Milestone.objects.create(rollout=r1, title="方案制定", due_date=dt.date(2026, 5, 1), done_at=window(200))
    Milestone.objects.create(rollout=r1, title="系统对接", due_date=dt.date(2026, 11, 20), owner_name="王芳")
    Milestone.objects.create(rollout=r1, title="窗口培训", due_date=TODAY, owner_name="李强")
    # T-2 online, fully online planned for 2027: on schedule. 12 finished in the window, 10 on time (83.3%);
    # 10 ratings averaging 4.2; plus rows outside the window that would change both if counted.
    r2 = _rollout(
        world,
        v2,
        state=RolloutState.ONLINE,
        target_pilot_date=dt.date(2026, 3, 1),
        target_online_date=dt.date(2026, 6, 1),
        target_fully_online_date=dt.date(2027, 6, 30),
    )
    scores = [5, 5, 5, 4, 4, 4, 4, 4, 3, 4]  # mean 4.2
    for i in range(12):
        make_app(
            v2,
            d,
            submitted=window(60 - i),
            finished=window(50 - i),
            on_time=i >= 2,
            score=scores[i] if i < 10 else None,
        )
    make_app(v2, d, submitted=window(120), finished=window(91), on_time=False, score=1)  # before the window
    make_app(v2, d, submitted=window(3), finished=at(TODAY, 9), on_time=False, score=1)  # today: not yet
    # T-3 fully online: 10 received, 4 fully online (40% < 50%); only 9 finished (late ones): no on-time alert.
    _rollout(
        world,
        v3,
        state=RolloutState.FULLY_ONLINE,
        target_pilot_date=dt.date(2025, 12, 1),
        target_online_date=dt.date(2026, 3, 1),
        target_fully_online_date=dt.date(2026, 9, 1),
        target_online_share=0.5,
    )
    for i in range(10):
        make_app(
            v3,
            d,
            submitted=window(30 - i),
            finished=window(20 - i) if i < 9 else None,
            status=ApplicationStatus.COMPLETED if i < 9 else ApplicationStatus.IN_PROGRESS,
            on_time=False if i < 9 else None,
            online=i < 4,
        )
    # T-4 planned: its pilot date passed yesterday -> behind by 1 day; bad numbers are not measured (planned).
    _rollout(world, v4, state=RolloutState.PLANNED, target_pilot_date=dt.date(2026, 11, 26))
    for i in range(10):
        make_app(v4, d, submitted=window(30 - i), finished=window(20 - i), on_time=False, score=1)
    return {"r1": r1, "r2": r2, "versions": (v1, v2, v3, v4)}


def test_alerts_exact(world: OneWorld) -> None:
    alert_world(world)
    alerts = promotion.promotion_alerts(TODAY)
    assert [(a.item_code, a.kind, a.metric, a.message) for a in alerts] == [
        (
            "T-1",
            "behind_schedule",
            "online",
            "计划于2026年10月31日全面上线，已逾期27天，目前为“试点中”",
        ),
        ("T-1", "milestone_overdue", "", "节点“系统对接”计划于2026年11月20日完成，已逾期7天（责任：王芳）"),
        ("T-2", "below_target", "on_time_rate", "近90天按时办结率83.3%，低于目标95%（办结12件，超期2件）"),
        ("T-2", "below_target", "rating", "近90天平均评价4.20分，低于目标4.5分（评价10件）"),
        (
            "T-3",
            "below_target",
            "online_share",
            "近90天全程网办占比40%，低于目标50%（受理10件，全程网办4件）",
        ),
        ("T-4", "behind_schedule", "piloting", "计划于2026年11月26日开展试点，已逾期1天，目前为“计划中”"),
    ]
    first = alerts[0]
    assert (first.item_name, first.district_name, first.days_late, first.due_date) == (
        "示例1一件事",
        "江城区",
        27,
        dt.date(2026, 10, 31),
    )
    assert first.owner == "甲局"
    assert alerts[2].value == 0.8333 and alerts[2].target == 0.95
    assert alerts[0].as_dict()["kind_label"] == "进度滞后"


def test_alert_thresholds_move_with_the_day(world: OneWorld) -> None:
    refs = alert_world(world)
    # On the target day itself nothing is late yet.
    day_before = promotion.promotion_alerts(dt.date(2026, 10, 31))
    assert not any(a.kind == "behind_schedule" and a.item_code == "T-1" for a in day_before)
    # Completing the milestone and reaching the state clears both T-1 alerts.
    Milestone.objects.filter(title="系统对接").update(done_at=at(dt.date(2026, 11, 25)))
    Rollout.objects.filter(pk=refs["r1"].pk).update(state=RolloutState.ONLINE)
    assert [a.item_code for a in promotion.promotion_alerts(TODAY)] == ["T-2", "T-2", "T-3", "T-4"]
    # Targets met: no below-target alert.
    Rollout.objects.filter(pk=refs["r2"].pk).update(target_on_time_rate=0.8, target_rating=4.2)
    assert [a.item_code for a in promotion.promotion_alerts(TODAY)] == ["T-3", "T-4"]


def test_alerts_need_ten_applications(world: OneWorld) -> None:
    v = world.publish_example("T-1")
    _rollout(world, v, state=RolloutState.ONLINE)
    for _ in range(9):
        make_app(
            v,
            world.district,
            submitted=at(TODAY - dt.timedelta(days=20)),
            finished=at(TODAY - dt.timedelta(days=10)),
            on_time=False,
            score=1,
        )
    assert promotion.promotion_alerts(TODAY) == []
    make_app(
        v,
        world.district,
        submitted=at(TODAY - dt.timedelta(days=20)),
        finished=at(TODAY - dt.timedelta(days=10)),
        on_time=False,
        score=1,
    )
    assert [a.metric for a in promotion.promotion_alerts(TODAY)] == ["on_time_rate", "rating"]


def test_alerts_follow_the_actors_scope(world: OneWorld) -> None:
    alert_world(world)
    county = second_district()
    assert len(promotion.promotion_alerts(TODAY, actor=world.supervisor)) == 6
    county_supervisor = _user("sup_county", Role.SUPERVISOR, area=county)
    assert promotion.promotion_alerts(TODAY, actor=county_supervisor) == []
    with pytest.raises(PermissionDenied):
        promotion.promotion_alerts(TODAY, actor=world.citizen)
    with pytest.raises(PermissionDenied):
        promotion.promotion_alerts(TODAY, actor=world.handlers["a"])  # unit handlers do not see promotion
    with pytest.raises(NotFound):
        promotion.access_district(county_supervisor, world.district.pk)


# ------------------------------------------------------------------------------------- dashboard and report


def test_dashboard_matrix_and_charts(world: OneWorld) -> None:
    refs = alert_world(world)
    county = second_district()
    v1 = refs["versions"][0]
    _rollout(world, v1, district=county, state=RolloutState.FULLY_ONLINE)
    make_app(v1, county, submitted=at(dt.date(2026, 11, 2)), finished=at(dt.date(2026, 11, 4)), on_time=True)
    board = promotion.dashboard(world.supervisor, today=TODAY, months=12)
    assert [d.name for d in board.districts] == ["江城区", "临江县"]
    assert [i["code"] for i in board.items] == ["T-1", "T-2", "T-3", "T-4"]
    rows = board.matrix_rows()
    assert [c.state if c else None for c in rows[0]["cells"]] == ["piloting", "fully_online"]
    assert [c.state if c else None for c in rows[1]["cells"]] == ["online", None]
    assert board.state_counts == {"planned": 1, "piloting": 1, "online": 1, "fully_online": 2}
    charts = board.charts()
    assert charts["months"][0] == "2025-12" and charts["months"][-1] == "2026-11"
    assert sum(charts["volume"][1]) == 1 and charts["volume"][1][-1] == 1
    # 江城区 since 2025-12-01: T-2 14 + T-3 10 + T-4 10
    assert sum(charts["volume"][0]) == 34
    assert len(board.alerts) == 6
    assert [m.title for m in board.milestones] == ["系统对接", "窗口培训"]
    data = board.as_dict()
    assert data["items"][0]["states"] == {str(world.district.pk): "piloting", str(county.pk): "fully_online"}


def test_monthly_report_and_xlsx(world: OneWorld) -> None:
    refs = alert_world(world)
    v1 = refs["versions"][0]
    Milestone.objects.create(
        rollout=refs["r1"],
        title="十一月节点",
        due_date=dt.date(2026, 11, 10),
        done_at=at(dt.date(2026, 11, 9)),
    )
    make_app(
        v1,
        world.district,
        submitted=at(dt.date(2026, 11, 2)),
        finished=at(dt.date(2026, 11, 4)),
        on_time=True,
        score=5,
        rated=at(dt.date(2026, 11, 5)),
    )
    report = promotion.monthly_report(world.district, 2026, 11, actor=world.supervisor, today=TODAY)
    assert report.title == "江城区2026年11月高效办成一件事推进月报"
    assert [(r.code, r.state_label, r.milestones_due, r.milestones_done, r.alerts) for r in report.rows] == [
        ("T-1", "试点中", 3, 1, 2),  # 系统对接 11-20 open, 窗口培训 11-27 open, 十一月节点 done
        ("T-2", "已上线", 0, 0, 2),
        ("T-3", "全程网办", 0, 0, 1),
        ("T-4", "计划中", 0, 0, 1),
    ]
    t1 = report.rows[0].performance
    assert (t1.received, t1.finished, t1.on_time_rate, t1.mean_days, t1.mean_rating) == (1, 1, 1.0, 2.0, 5.0)
    assert report.rows[0].on_time_ok is True
    assert report.totals.received == sum(r.performance.received for r in report.rows)

    content = promotion.monthly_report_xlsx(report)
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["月报", "预警"]
    ws = wb["月报"]
    assert ws["A1"].value == report.title
    assert [c.value for c in ws[3]] == list(promotion.XLSX_HEADER)
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert [r[0] for r in body] == ["T-1", "T-2", "T-3", "T-4", "合计"]
    assert body[0][:9] == ["T-1", "示例1一件事", "出生", "试点中", 1, 1, 1, 1, 0.95]
    assert body[-1][4] == report.totals.received
    assert body[-1][-1] == 6
    assert ws.cell(row=4, column=8).number_format == "0.0%"
    alerts = list(wb["预警"].iter_rows(min_row=2, values_only=True))
    assert len(alerts) == 6 and alerts[0][0] == "进度滞后" and alerts[0][1] == "T-1"


def test_report_refuses_other_districts(world: OneWorld) -> None:
    county = second_district()
    county_supervisor = _user("sup_county", Role.SUPERVISOR, area=county)
    with pytest.raises(NotFound):
        promotion.monthly_report(world.district, 2026, 11, actor=county_supervisor)
    with pytest.raises(PermissionDenied):
        promotion.monthly_report(world.district, 2026, 11, actor=world.citizen)
