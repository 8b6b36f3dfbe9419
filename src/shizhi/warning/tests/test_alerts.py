"""Alerts through their services and selectors: deduplication and escalation, the hotline case both ways,
clearing, false alarms and their rates, refused moves, scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from shizhi.core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import AuditEvent
from shizhi.hotline import services as hotline
from shizhi.hotline.models import Case, CaseStatus, Channel, Urgency
from shizhi.warning import selectors, services
from shizhi.warning.models import Alert, AlertEvent, AlertStatus, Resolution, Severity
from shizhi.warning.tests.alert_factories import (
    AlertWorld,
    build_alert_world,
    clear,
    in_maintenance,
    signal,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def w() -> AlertWorld:
    return build_alert_world()


def kinds(alert: Alert) -> list[str]:
    return [e.kind for e in selectors.alert_timeline(alert)]


def state() -> dict[str, Any]:
    """Everything a refused action must leave untouched."""
    return {
        "alerts": list(Alert.objects.order_by("id").values()),
        "events": AlertEvent.objects.count(),
        "cases": list(Case.objects.order_by("id").values("id", "status", "reply")),
        "audit": AuditEvent.objects.count(),
    }


# ---------------------------------------------------------------------------------------------- dedup, escalation


def test_signals_of_one_device_and_rule_make_one_alert_and_escalations_go_on_its_timeline(
    w: AlertWorld,
) -> None:
    first = signal(w, w.water, 1, value=3.1)
    again = signal(w, w.water, 1, minutes=5, value=3.2)  # same level: nothing new
    assert again.pk == first.pk and kinds(first) == ["raised"]
    escalated = signal(w, w.water, 2, minutes=10, value=3.6, reason="水位3.6m，超过黄色预警线")
    assert escalated.pk == first.pk and Alert.objects.count() == 1
    alert = Alert.objects.get()
    assert (alert.level, alert.severity, alert.value, alert.reason) == (
        2,
        Severity.MEDIUM,
        3.6,
        "水位3.6m，超过黄色预警线",
    )
    assert (alert.category, alert.sub_category, alert.rule) == (
        "naturalDisaster",
        "floodRisk",
        "threshold:water_level",
    )
    assert (alert.valid_from, alert.raised_at) == (w.t0, w.t0)
    assert alert.area_path == w.water.area_path and alert.grid_id == w.water.grid_id
    events = selectors.alert_timeline(alert)
    assert [(e.kind, e.level, e.at, e.actor_label) for e in events] == [
        ("raised", 1, w.t0, "系统"),
        ("escalated", 2, w.t0 + dt.timedelta(minutes=10), "系统"),
    ]
    # A lower level while open changes nothing either.
    signal(w, w.water, 1, minutes=15)
    assert kinds(alert) == ["raised", "escalated"] and Alert.objects.get().level == 2
    # Yellow is below the type's case level (orange): no case.
    assert alert.status == AlertStatus.RAISED and alert.case_id is None and Case.objects.count() == 0
    assert list(
        AuditEvent.objects.filter(object_type="warning.alert").order_by("id").values_list("action", flat=True)
    ) == ["alert.raise", "alert.escalate"]
    # Another rule of the same device is another alert.
    other = signal(w, w.water, 1, rule="anomaly:water_level", kind="range")
    assert other.pk != alert.pk and other.sub_category == "anomaly"


def test_the_database_refuses_a_second_open_alert_of_a_device_and_rule(w: AlertWorld) -> None:
    alert = signal(w, w.water, 1)
    duplicate = Alert(
        device=w.water,
        rule=alert.rule,
        category=alert.category,
        level=1,
        severity=Severity.LOW,
        valid_from=w.t0,
        raised_at=w.t0,
        status=AlertStatus.ACKNOWLEDGED,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    # A closed one may sit beside it: the history keeps every incident.
    duplicate.status = AlertStatus.RESOLVED
    duplicate.save()
    assert Alert.objects.filter(device=w.water, rule=alert.rule).count() == 2


def test_a_signal_that_loses_the_race_to_open_an_alert_becomes_a_repeat_of_it(
    w: AlertWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = signal(w, w.water, 1)
    real = services._open_alert
    calls: list[int] = []

    def not_yet_committed(device_id: int, rule: str) -> Alert | None:
        # The first look happens before the other ingestion's alert is visible (PostgreSQL, READ COMMITTED).
        calls.append(device_id)
        return None if len(calls) == 1 else real(device_id, rule)

    monkeypatch.setattr(services, "_open_alert", not_yet_committed)
    same = signal(w, w.water, 2, minutes=5)
    assert same.pk == first.pk and len(calls) == 2
    assert Alert.objects.count() == 1 and kinds(first) == ["raised", "escalated"]


# ---------------------------------------------------------------------------------------------- alert -> case


def test_an_alert_at_the_case_level_opens_a_sensor_case_for_the_owner_unit_linked_both_ways(
    w: AlertWorld,
) -> None:
    alert = signal(w, w.water, 3, value=4.2, reason="水位4.2m，超过橙色预警线4.0m")
    assert alert.status == AlertStatus.DISPATCHED and alert.severity == Severity.HIGH
    case = Case.objects.get()
    assert alert.case_id == case.pk
    assert (case.channel, case.category.code, case.status, case.lead_unit) == (
        Channel.SENSOR,
        "CX01",
        CaseStatus.DISPATCHED,
        w.units["cgj"],
    )
    assert case.external_id == f"alert:{alert.pk}" and case.urgency == Urgency.NORMAL
    assert (case.lng, case.lat, case.grid_id) == (w.water.lon, w.water.lat, w.water.grid_id)
    assert case.title == "水位计wl-1水位达到橙色预警"
    assert f"感知预警#{alert.pk}" in case.content and "读数：4.2m" in case.content
    assert list(case.assignments.values_list("unit__code", "role")) == [("cgj", "lead")]
    assert selectors.alerts_for_case(case) == [alert]
    events = selectors.alert_timeline(alert)
    assert [e.kind for e in events] == ["raised", "case_opened"]
    assert events[1].note == f"已生成工单{case.number}并派至临江市城市管理局"
    # Further signals do not open a second case.
    signal(w, w.water, 4, minutes=10)
    assert Case.objects.count() == 1 and kinds(alert) == ["raised", "case_opened", "escalated"]


def test_an_escalation_into_the_case_level_opens_the_case_and_red_is_urgent(w: AlertWorld) -> None:
    alert = signal(w, w.water, 1)
    assert Case.objects.count() == 0
    signal(w, w.water, 4, minutes=5)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.DISPATCHED and alert.case is not None
    assert alert.case.urgency == Urgency.URGENT and alert.case.title == "水位计wl-1水位达到红色预警"
    assert kinds(alert) == ["raised", "escalated", "case_opened"]


def test_no_case_below_the_level_for_a_type_that_never_opens_one_or_in_maintenance(w: AlertWorld) -> None:
    air = signal(w, w.air, 4)  # case_level 0: never
    assert air.status == AlertStatus.RAISED and air.case_id is None and kinds(air) == ["raised"]
    assert (air.category, air.sub_category) == ("environment", "airPollution")
    in_maintenance(w.water)
    water = signal(w, w.water, 4)
    assert water.status == AlertStatus.RAISED and water.case_id is None
    assert [(e.kind, e.note) for e in selectors.alert_timeline(water)] == [
        ("raised", water.reason),
        ("note", "设备维护中，未自动生成工单"),
    ]
    assert Case.objects.count() == 0


def test_a_type_without_a_case_category_leaves_a_note_instead_of_a_case(w: AlertWorld) -> None:
    w.water_type.case_category_code = "NOPE"
    w.water_type.save()
    alert = signal(w, w.water, 3)
    assert alert.status == AlertStatus.RAISED and Case.objects.count() == 0
    assert selectors.alert_timeline(alert)[-1].note == "设备类型未配置有效的工单分类，未自动生成工单"


def test_replying_the_case_resolves_the_alert_and_closing_it_changes_nothing_more(w: AlertWorld) -> None:
    alert = signal(w, w.water, 3)
    case = Case.objects.get()
    u = w.users
    case = hotline.case_accept(actor=u["h_cgj"], case=case)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.DISPATCHED  # accepting is not answering
    case = hotline.case_reply(actor=u["h_cgj"], case=case, reply="已组织抽排，积水已退，水位恢复正常。")
    alert.refresh_from_db()
    assert (alert.status, alert.resolution, alert.resolved_by) == (
        AlertStatus.RESOLVED,
        Resolution.CASE_CLOSED,
        u["h_cgj"],
    )
    last = selectors.alert_timeline(alert)[-1]
    assert (last.kind, last.note, last.actor_label) == ("resolved", f"关联工单{case.number}已答复", "h_cgj")
    hotline.case_callback(actor=u["operator"], case=case, reached=False, note="无需回访")
    assert kinds(alert) == ["raised", "case_opened", "resolved"]
    # The next incident of the same rule is a new alert with a new case.
    again = signal(w, w.water, 3, minutes=90)
    assert again.pk != alert.pk and Case.objects.count() == 2


def test_a_case_without_an_owner_unit_waits_at_the_hotline_and_its_direct_answer_resolves_the_alert(
    w: AlertWorld,
) -> None:
    alert = signal(w, w.orphan, 3)
    case = Case.objects.get()
    assert (
        alert.status == AlertStatus.DISPATCHED
        and case.status == CaseStatus.RECEIVED
        and case.lead_unit is None
    )
    assert (
        selectors.alert_timeline(alert)[-1].note
        == f"已生成工单{case.number}，设备无有效的权属单位，待派单员派单"
    )
    hotline.case_answer_directly(actor=w.users["operator"], case=case, reply="已通知辖区处置，现场已恢复。")
    alert.refresh_from_db()
    assert (alert.status, alert.resolution) == (AlertStatus.RESOLVED, Resolution.CASE_CLOSED)


def test_other_channels_cases_are_ignored_by_the_alerts(w: AlertWorld) -> None:
    alert = signal(w, w.water, 3)
    case = Case.objects.get()
    # Pretend a phone case carries the same id: only sensor cases resolve alerts.
    Case.objects.filter(pk=case.pk).update(channel=Channel.PHONE)
    case.refresh_from_db()
    case = hotline.case_accept(actor=w.users["h_cgj"], case=case)
    hotline.case_reply(actor=w.users["h_cgj"], case=case, reply="已组织抽排，积水已退，水位恢复正常。")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.DISPATCHED


# ---------------------------------------------------------------------------------------------- clearing


def test_clearing_resolves_a_raised_alert_but_not_an_acknowledged_or_dispatched_one(w: AlertWorld) -> None:
    assert clear(w, w.water) is None  # nothing open: nothing to do
    raised = signal(w, w.water, 1)
    cleared = clear(w, w.water, minutes=30)
    assert cleared is not None and cleared.pk == raised.pk
    raised.refresh_from_db()
    end = w.t0 + dt.timedelta(minutes=30)
    assert (raised.status, raised.resolution, raised.valid_to, raised.resolved_at) == (
        AlertStatus.RESOLVED,
        Resolution.CLEARED,
        end,
        end,
    )
    assert kinds(raised) == ["raised", "cleared", "resolved"]

    dispatched = signal(w, w.water, 3, minutes=60)
    clear(w, w.water, minutes=120)
    dispatched.refresh_from_db()
    assert dispatched.status == AlertStatus.DISPATCHED and dispatched.valid_to == w.t0 + dt.timedelta(
        minutes=120
    )
    assert kinds(dispatched) == ["raised", "case_opened", "cleared"]
    clear(w, w.water, minutes=125)  # a repeated clear writes nothing
    assert kinds(dispatched) == ["raised", "case_opened", "cleared"]
    # The condition comes back while the alert is still open: the same alert, raised again.
    signal(w, w.water, 3, minutes=130)
    dispatched.refresh_from_db()
    assert dispatched.valid_to is None and kinds(dispatched) == ["raised", "case_opened", "cleared", "raised"]

    acknowledged = signal(w, w.air, 2)
    services.alert_acknowledge(actor=w.users["operator"], alert=acknowledged)
    clear(w, w.air)
    acknowledged.refresh_from_db()
    assert acknowledged.status == AlertStatus.ACKNOWLEDGED and acknowledged.valid_to is not None


# ---------------------------------------------------------------------------------------------- operators


def test_acknowledge_dispatch_and_resolve_by_hand(w: AlertWorld) -> None:
    op, disp = w.users["operator"], w.users["dispatcher"]
    alert = signal(w, w.water, 2)
    alert = services.alert_acknowledge(actor=op, alert=alert, note="已通知巡查")
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, op)
    alert = services.alert_dispatch(actor=disp, alert=alert, note="请尽快处置")
    case = Case.objects.get()
    assert alert.status == AlertStatus.DISPATCHED and alert.case_id == case.pk
    # The dispatcher holds the hotline's rights to record and dispatch: the case's own timeline names them.
    assert (case.channel, case.lead_unit, case.created_by) == (Channel.SENSOR, w.units["cgj"], disp)
    assert list(case.events.values_list("action", "actor")) == [("create", disp.pk), ("dispatch", disp.pk)]
    alert = services.alert_resolve(actor=op, alert=alert, note="现场已处置")
    assert (alert.status, alert.resolution, alert.resolved_by, alert.resolution_note) == (
        AlertStatus.RESOLVED,
        Resolution.HANDLED,
        op,
        "现场已处置",
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.DISPATCHED  # the case is left to its unit
    timeline = selectors.alert_timeline(alert)
    assert [(e.kind, e.actor_label) for e in timeline] == [
        ("raised", "系统"),
        ("acknowledged", "operator"),
        ("dispatched", "dispatcher"),
        ("case_opened", "dispatcher"),
        ("resolved", "operator"),
    ]
    assert timeline[-1].note == f"现场已处置（关联工单{case.number}已派至承办单位，由承办单位答复）"
    assert list(
        AuditEvent.objects.filter(object_type="warning.alert", actor__isnull=False)
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["alert.acknowledge", "alert.dispatch", "alert.resolve"]


def test_manual_dispatch_needs_a_category_and_may_name_one(w: AlertWorld) -> None:
    alert = signal(w, w.air, 2)  # air quality has no case category
    before = state()
    with pytest.raises(ValidationFailed) as exc:
        services.alert_dispatch(actor=w.users["operator"], alert=alert)
    assert exc.value.details["field"] == "category_code" and state() == before
    alert = services.alert_dispatch(actor=w.users["operator"], alert=alert, category_code="HJ")
    case = Case.objects.get()
    # An operator records but may not dispatch at the hotline: the system dispatches for the alert.
    assert (case.category.code, case.lead_unit, case.created_by) == (
        "HJ",
        w.units["sthj"],
        w.users["operator"],
    )


@pytest.mark.parametrize(
    ("start", "action"),
    [
        ("acknowledged", "acknowledge"),
        ("dispatched", "acknowledge"),
        ("dispatched", "dispatch"),
        ("resolved", "acknowledge"),
        ("resolved", "dispatch"),
        ("resolved", "resolve"),
        ("false_alarm", "resolve"),
        ("false_alarm", "mark_false"),
    ],
)
def test_refused_transitions_change_nothing(w: AlertWorld, start: str, action: str) -> None:
    op = w.users["operator"]
    alert = signal(w, w.water, 3 if start == "dispatched" else 1)
    if start == "acknowledged":
        services.alert_acknowledge(actor=op, alert=alert)
    elif start == "resolved":
        services.alert_resolve(actor=op, alert=alert, note="已处置")
    elif start == "false_alarm":
        services.alert_mark_false(actor=op, alert=alert, reason="传感器被遮挡")
    alert.refresh_from_db()
    assert alert.status == start
    before = state()
    calls = {
        "acknowledge": lambda: services.alert_acknowledge(actor=op, alert=alert),
        "dispatch": lambda: services.alert_dispatch(actor=op, alert=alert),
        "resolve": lambda: services.alert_resolve(actor=op, alert=alert, note="再次解除"),
        "mark_false": lambda: services.alert_mark_false(actor=op, alert=alert, reason="再次误报"),
    }
    with pytest.raises(InvalidState) as exc:
        calls[action]()
    assert exc.value.details["status"] == start and state() == before


def test_resolving_and_false_alarms_need_a_reason(w: AlertWorld) -> None:
    alert = signal(w, w.water, 1)
    before = state()
    with pytest.raises(ValidationFailed):
        services.alert_resolve(actor=w.users["operator"], alert=alert, note=" ")
    with pytest.raises(ValidationFailed):
        services.alert_mark_false(actor=w.users["operator"], alert=alert, reason="")
    assert state() == before


# ---------------------------------------------------------------------------------------------- false alarms


def test_a_false_alarm_closes_a_case_still_at_the_hotline_but_leaves_a_dispatched_one_to_its_unit(
    w: AlertWorld,
) -> None:
    op = w.users["operator"]
    waiting = signal(w, w.orphan, 3)  # its case was not dispatched (no owner unit)
    waiting_case = Case.objects.get()
    waiting = services.alert_mark_false(actor=op, alert=waiting, reason="水尺被杂物遮挡")
    waiting_case.refresh_from_db()
    assert (waiting.status, waiting.resolution) == (AlertStatus.FALSE_ALARM, Resolution.FALSE_ALARM)
    assert waiting_case.status == CaseStatus.CLOSED
    assert waiting_case.reply == f"经核实，感知预警#{waiting.pk}为误报：水尺被杂物遮挡"
    assert (
        selectors.alert_timeline(waiting)[-1].note
        == f"水尺被杂物遮挡（关联工单{waiting_case.number}已由系统答复办结）"
    )

    held = signal(w, w.water, 3)
    held_case = Case.objects.get(pk=held.case_id)
    held = services.alert_mark_false(actor=op, alert=held, reason="设备校准中")
    held_case.refresh_from_db()
    assert held.status == AlertStatus.FALSE_ALARM and held_case.status == CaseStatus.DISPATCHED
    assert (
        selectors.alert_timeline(held)[-1].note
        == f"设备校准中（关联工单{held_case.number}已派至承办单位，由承办单位答复）"
    )
    # When the unit answers, the alert stays a false alarm.
    held_case = hotline.case_accept(actor=w.users["h_cgj"], case=held_case)
    hotline.case_reply(actor=w.users["h_cgj"], case=held_case, reply="经现场核实为设备校准产生的误报。")
    held.refresh_from_db()
    assert (held.status, held.resolution) == (AlertStatus.FALSE_ALARM, Resolution.FALSE_ALARM)


def test_resolving_by_hand_closes_a_case_still_at_the_hotline(w: AlertWorld) -> None:
    alert = signal(w, w.orphan, 3)
    case = Case.objects.get()
    alert = services.alert_resolve(actor=w.users["operator"], alert=alert, note="辖区已处置")
    case.refresh_from_db()
    assert (case.status, case.reply) == (CaseStatus.CLOSED, f"感知预警#{alert.pk}已解除：辖区已处置")
    alert.refresh_from_db()
    # Closing the case does not overwrite the resolution: the alert was resolved first.
    assert (alert.status, alert.resolution, alert.resolved_by) == (
        AlertStatus.RESOLVED,
        Resolution.HANDLED,
        w.users["operator"],
    )
    assert kinds(alert) == ["raised", "case_opened", "resolved"]
    assert selectors.alert_timeline(alert)[-1].note == f"辖区已处置（关联工单{case.number}已由系统答复办结）"


def test_false_alarm_rates_per_rule_and_device_type(w: AlertWorld) -> None:
    op = w.users["operator"]
    level_rule, anomaly_rule = "threshold:water_level", "anomaly:water_level"

    def incident(device: Any, rule: str | None, minutes: int, *, false: bool, resolve: bool = False) -> Alert:
        alert = signal(w, device, 1, rule=rule, minutes=minutes)
        if resolve:
            alert = services.alert_resolve(actor=op, alert=alert, note="已处置")
        else:
            clear(w, device, rule=rule, minutes=minutes + 1)  # cleared by itself
        if false:
            alert = services.alert_mark_false(actor=op, alert=alert, reason="误报")
        return alert

    # threshold:water_level: the urban gauge 3 closed (1 false), the county gauge 1 closed (1 false).
    incident(w.water, None, 0, false=False)
    incident(w.water, None, 10, false=True)
    incident(w.water, None, 20, false=False, resolve=True)
    incident(w.orphan, None, 0, false=True, resolve=True)
    # anomaly:water_level: 2 closed, both false.
    incident(w.water, anomaly_rule, 0, false=True)
    incident(w.water, anomaly_rule, 10, false=True)
    # threshold:pm25: 1 closed, not false; 1 still open (not counted).
    incident(w.air, None, 0, false=False)
    signal(w, w.air, 1, minutes=30)

    rates = selectors.false_alarm_rates()
    assert [(r.rule, r.closed, r.false_alarms, r.rate) for r in rates.by_rule] == [
        (anomaly_rule, 2, 2, 1.0),
        ("threshold:pm25", 1, 0, 0.0),
        (level_rule, 4, 2, 0.5),
    ]
    assert [(r.device_type, r.rule, r.closed, r.false_alarms) for r in rates.by_device_type] == [
        ("水位计", anomaly_rule, 2, 2),
        ("水位计", level_rule, 4, 2),
        ("空气质量监测站", "threshold:pm25", 1, 0),
    ]
    # Scoped: the environment bureau's handler sees only its own station's rule.
    own = selectors.false_alarm_rates(actor=w.users["h_sthj"])
    assert [(r.rule, r.closed, r.rate) for r in own.by_rule] == [("threshold:pm25", 1, 0.0)]
    # Only alerts raised since a moment.
    later = selectors.false_alarm_rates(w.t0 + dt.timedelta(minutes=5))
    assert [(r.rule, r.closed, r.false_alarms) for r in later.by_rule] == [
        (anomaly_rule, 1, 1),
        (level_rule, 2, 1),
    ]


# ---------------------------------------------------------------------------------------------- scope


def test_scope_decides_who_sees_and_handles_which_alert(w: AlertWorld) -> None:
    u = w.users
    water, air = signal(w, w.water, 2), signal(w, w.air, 2)

    def visible(user: str) -> set[int]:
        return set(selectors.alerts_visible(u[user]).values_list("pk", flat=True))

    assert visible("operator") == visible("admin") == {water.pk, air.pk}
    assert visible("h_cgj") == visible("l_cgj") == {water.pk}  # their unit's device
    assert visible("h_sthj") == {air.pk}
    assert visible("grid") == {water.pk}  # their community holds the urban gauge
    assert visible("citizen") == visible("member") == set()
    before = state()
    with pytest.raises(NotFound):
        services.alert_acknowledge(actor=u["h_sthj"], alert=water)  # another unit's device: it does not exist
    with pytest.raises(NotFound):
        selectors.access_alert(actor=u["h_sthj"], alert_id=water.pk)
    with pytest.raises(PermissionDenied):
        services.alert_acknowledge(actor=u["l_cgj"], alert=water)  # leaders see, handlers handle
    with pytest.raises(PermissionDenied):
        services.alert_acknowledge(actor=u["grid"], alert=water)
    with pytest.raises(PermissionDenied):
        selectors.alert_list(actor=u["citizen"])
    assert state() == before
    services.alert_acknowledge(actor=u["h_cgj"], alert=water)
    assert Alert.objects.get(pk=water.pk).status == AlertStatus.ACKNOWLEDGED


# ---------------------------------------------------------------------------------------------- board, risk


def test_board_counts_and_grid_risk(w: AlertWorld) -> None:
    op = w.users["operator"]
    signal(w, w.water, 3)  # dispatched, orange, urban grid
    signal(w, w.water, 1, rule="anomaly:water_level")  # raised, blue, urban grid, an anomaly
    done = signal(w, w.air, 2)  # yellow, county grid
    services.alert_resolve(actor=op, alert=done, note="已处置")
    signal(w, w.orphan, 2, rule="offline", quantity_id=None, value=None)  # raised, yellow, county grid

    board = selectors.alert_board(op)
    assert board["open_total"] == 3
    assert board["open_by_level"] == {1: 1, 2: 1, 3: 1, 4: 0}
    assert board["by_status"] == {
        "raised": 2,
        "acknowledged": 0,
        "dispatched": 1,
        "resolved": 1,
        "false_alarm": 0,
    }
    assert board["by_status_level"]["resolved"] == {1: 0, 2: 1, 3: 0, 4: 0}
    assert selectors.alert_board(w.users["h_sthj"])["by_status"]["resolved"] == 1
    assert selectors.alert_board(w.users["h_sthj"])["open_total"] == 0

    risk = [r.as_dict() for r in selectors.grid_risk(op)]
    assert [(r["code"], r["open_by_level"], r["max_level"], r["anomalies"]) for r in risk] == [
        (w.water.grid.code, {1: 1, 2: 0, 3: 1, 4: 0}, 3, 1),
        (w.orphan.grid.code, {1: 0, 2: 1, 3: 0, 4: 0}, 2, 0),
    ]
    # Anomalies older than the window do not count; the grid worker sees only their community's grid.
    assert selectors.grid_risk(op, w.t0 + dt.timedelta(minutes=1))[0].anomalies == 0
    assert [r.code for r in selectors.grid_risk(w.users["grid"])] == [w.water.grid.code]


def test_sub_categories_follow_smart_data_models() -> None:
    sub = services.sub_category_for
    assert sub("threshold:pump_rpm") == "pump_rpm"  # unknown codes keep their own name
    assert (sub("threshold:PM25"), sub("threshold:water-level"), sub("threshold:rain")) == (
        "airPollution",
        "floodRisk",
        "rainfall",
    )
    assert (sub("threshold:temp", "above"), sub("threshold:temp", "below")) == (
        "highTemperature",
        "lowTemperature",
    )
    assert (sub("offline"), sub("anomaly:pm25")) == ("deviceOffline", "anomaly")
