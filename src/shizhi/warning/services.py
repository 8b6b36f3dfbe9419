"""Every write of alerts (预警处置): signals from the detectors, the operators' actions, the link to the hotline.

``alert_signal`` and ``alert_clear`` are called by the sensing pipeline inside its ingestion transaction: they
cost one query when nothing changes (a repeated signal of an open alert at the same level) and a handful when an
alert opens, escalates or clears. An alert of a level at or above its device type's ``case_level`` opens a
hotline case (工单, channel "sensor") for the device's owner unit; the case's answer or closing resolves the alert
(``case_finished``, connected to ``hotline.signals.case_status_changed`` in ``WarningConfig.ready``).

Operators' actions (``alert_acknowledge``, ``alert_dispatch``, ``alert_resolve``, ``alert_mark_false``) check the
actor's right and scope and the alert's state, change the alert, and write a timeline entry and an audit event;
illegal moves are refused with ``invalid_state`` and change nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from shizhi.core.audit import audit_record
from shizhi.core.errors import ApplicationError, InvalidState, NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import User
from shizhi.core.permissions import has_perm
from shizhi.hotline import services as hotline
from shizhi.hotline.models import Case, CaseStatus, Category, Channel, DemandType, Urgency
from shizhi.sensing.models import AlertCategory, Device, DeviceStatus, Quantity
from shizhi.warning import selectors
from shizhi.warning.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    SEVERITY_BY_LEVEL,
    Alert,
    AlertEvent,
    AlertLevel,
    AlertStatus,
    EventKind,
    Resolution,
)

S = AlertStatus

# The workflow as data: action -> (states it may start from, state it leads to).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({S.RAISED}), S.ACKNOWLEDGED),
    "dispatch": (frozenset({S.RAISED, S.ACKNOWLEDGED}), S.DISPATCHED),
    "resolve": (frozenset(OPEN_STATUSES), S.RESOLVED),
    # A resolved alert may still turn out to have been a false alarm (most false alarms clear by themselves).
    "mark_false": (frozenset({*OPEN_STATUSES, S.RESOLVED}), S.FALSE_ALARM),
}
ACTION_LABELS = {"acknowledge": "确认", "dispatch": "派单", "resolve": "解除", "mark_false": "标记误报"}

LEVEL_WORDS = {1: "蓝色", 2: "黄色", 3: "橙色", 4: "红色"}

# Smart Data Models Alert subCategory for a threshold rule's quantity (codes compared without "_", "-", ".");
# a quantity not listed keeps its own code. Temperature depends on the rule's direction.
SUB_CATEGORY_BY_QUANTITY = {
    **dict.fromkeys(("pm25", "pm10", "pm1", "no2", "nox", "no", "o3", "so2", "co", "aqi"), "airPollution"),
    **dict.fromkeys(("waterlevel", "level", "riverlevel", "flood"), "floodRisk"),
    **dict.fromkeys(("rain", "rainfall", "precipitation"), "rainfall"),
    **dict.fromkeys(("wind", "windspeed", "wspm"), "wind"),
    **dict.fromkeys(("intensity", "occupancy", "averagevehiclespeed", "speed", "congested"), "trafficJam"),
    **dict.fromkeys(("ph", "turbidity", "cod", "dissolvedoxygen", "ammonia"), "waterPollution"),
}
TEMPERATURE_CODES = frozenset({"temp", "temperature", "airtemperature"})


# ---------------------------------------------------------------------------------------------- helpers


def sub_category_for(rule: str, direction: str = "above") -> str:
    """The alert's sub-category from its rule: ``deviceOffline``, ``anomaly``, or the Smart Data Models
    subCategory of the quantity a threshold rule watches (``airPollution``, ``floodRisk`` ...)."""
    if rule == "offline":
        return "deviceOffline"
    prefix, _, code = rule.partition(":")
    if prefix == "anomaly":
        return "anomaly"
    key = code.lower().replace("_", "").replace("-", "").replace(".", "")
    if key in TEMPERATURE_CODES:
        return "lowTemperature" if direction == "below" else "highTemperature"
    return SUB_CATEGORY_BY_QUANTITY.get(key, code[:40])


def _check_level(level: int) -> None:
    if level not in AlertLevel.values:
        raise ValidationFailed("预警级别须为1到4", details={"field": "level", "value": level})


def _label(actor: User | None) -> str:
    return (actor.display_name or actor.username) if actor is not None and actor.pk else "系统"


def _event(
    alert: Alert,
    kind: str,
    *,
    at: dt.datetime,
    actor: User | None = None,
    note: str = "",
    level: int | None = None,
) -> AlertEvent:
    return AlertEvent.objects.create(
        alert=alert,
        at=at,
        kind=kind,
        level=alert.level if level is None else level,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=_label(actor),
        note=note,
    )


def _audit(actor: User | None, action: str, alert: Alert, changes: dict[str, Any]) -> None:
    audit_record(actor=actor, action=f"alert.{action}", obj=alert, changes=changes, area_path=alert.area_path)


def _save(alert: Alert, fields: list[str]) -> None:
    alert.updated_at = timezone.now()
    alert.save(update_fields=[*fields, "updated_at"])


def _open_alert(device_id: int, rule: str) -> Alert | None:
    """The open alert of (device, rule), locked (PostgreSQL) so that two ingestions cannot both update it."""
    return (
        Alert.objects.select_for_update(of=("self",))
        .filter(device_id=device_id, rule=rule, status__in=OPEN_STATUSES)
        .first()
    )


def _device(device_id: int) -> Device:
    device = Device.objects.select_related("device_type", "owner_unit").filter(pk=device_id).first()
    if device is None:
        raise NotFound("感知设备")
    return device


def _local(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------------------------------------- detector signals


@transaction.atomic(savepoint=False)  # called inside the ingestion's transaction: no savepoint
def alert_signal(
    *,
    device_id: int,
    quantity_id: int | None,
    rule: str,
    level: int,
    score: float,
    kind: str,
    reason: str,
    value: float | None,
    at: dt.datetime,
) -> Alert:
    """A detector says the condition of ``rule`` holds for a device at ``at`` (level 1..4: blue, yellow, orange,
    red). An open alert of (device, rule) takes the signal when the level rises (escalation) or when its
    condition had cleared and comes back; a repeated signal at the same level writes nothing. Otherwise a new
    alert opens. An alert that reaches its device type's ``case_level`` opens a hotline case (see
    :func:`_auto_case`)."""
    _check_level(level)
    rule = rule[:60]  # the column's width: lookups and inserts must agree
    alert = _open_alert(device_id, rule)
    if alert is None:
        device = _device(device_id)
        direction, quantity = "above", None
        if quantity_id is not None:
            quantity = Quantity.objects.filter(pk=quantity_id).first()
            direction = quantity.direction if quantity is not None else direction
        alert = Alert(
            device=device,
            quantity=quantity,
            rule=rule,
            category=device.device_type.alert_category or AlertCategory.SECURITY,
            sub_category=sub_category_for(rule, direction),
            level=level,
            severity=SEVERITY_BY_LEVEL[level],
            score=score,
            kind=kind[:30],
            reason=reason,
            value=value,
            status=S.RAISED,
            valid_from=at,
            raised_at=at,
            area_path=device.area_path,
            grid_id=device.grid_id,
        )
        try:
            with transaction.atomic():
                alert.save()
        except IntegrityError:
            # Another ingestion opened this (device, rule) alert a moment ago: this signal is a repeat of it.
            existing = _open_alert(device_id, rule)
            if existing is None:
                raise
            return _repeat(existing, level=level, score=score, kind=kind, reason=reason, value=value, at=at)
        _event(alert, EventKind.RAISED, at=at, note=reason)
        _audit(
            None,
            "raise",
            alert,
            {"rule": [None, alert.rule], "level": [None, level], "status": [None, S.RAISED]},
        )
        _auto_case(alert, device, at)
        return alert
    return _repeat(alert, level=level, score=score, kind=kind, reason=reason, value=value, at=at)


def _repeat(
    alert: Alert, *, level: int, score: float, kind: str, reason: str, value: float | None, at: dt.datetime
) -> Alert:
    if level > alert.level:
        changes: dict[str, Any] = {"level": [alert.level, level]}
        alert.level, alert.severity = level, SEVERITY_BY_LEVEL[level]
        alert.score, alert.kind, alert.reason, alert.value = score, kind[:30], reason, value
        if alert.valid_to is not None:
            changes["valid_to"] = [alert.valid_to.isoformat(), None]
            alert.valid_to = None
        _save(alert, ["level", "severity", "score", "kind", "reason", "value", "valid_to"])
        _event(alert, EventKind.ESCALATED, at=at, note=reason)  # the event carries the new level
        _audit(None, "escalate", alert, changes)
    elif alert.valid_to is not None:
        # The condition had ended, nobody has closed the alert yet, and now it holds again.
        changes = {"valid_to": [alert.valid_to.isoformat(), None]}
        alert.valid_to = None
        _save(alert, ["valid_to"])
        _event(alert, EventKind.RAISED, at=at, level=level, note=f"条件再次出现：{reason}")
        _audit(None, "reraise", alert, changes)
        return alert
    else:
        return alert  # the same condition at the same level: nothing new for the timeline
    if alert.case_id is None:
        _auto_case(alert, _device(alert.device_id), at)
    return alert


def _case_category(code: str) -> Category | None:
    return Category.objects.filter(code=code, is_active=True).first() if code else None


def _auto_case(alert: Alert, device: Device, at: dt.datetime) -> None:
    """Open a hotline case for an alert at or above its device type's case level, when it has none and the
    device is not in maintenance. A case that cannot be opened (no category configured, a location outside the
    city ...) leaves a note on the alert's timeline instead of failing the ingestion."""
    case_level = device.device_type.case_level
    if case_level == 0 or alert.level < case_level or alert.case_id is not None:
        return
    if device.status == DeviceStatus.MAINTENANCE:
        _event(alert, EventKind.NOTE, at=at, note="设备维护中，未自动生成工单")
        return
    # One incident, one case: another open alert of this device whose case is still being handled (the water
    # level crossed its lines *and* the anomaly detector saw the jump) joins that case.
    sibling = (
        Alert.objects.filter(device_id=device.pk, status__in=OPEN_STATUSES, case__isnull=False)
        .exclude(pk=alert.pk)
        .exclude(case__status__in=(CaseStatus.REPLIED, CaseStatus.CLOSED, CaseStatus.MERGED))
        .select_related("case")
        .order_by("raised_at", "id")
        .first()
    )
    if sibling is not None and sibling.case is not None:
        status_from = alert.status
        alert.case, alert.status = sibling.case, S.DISPATCHED
        _save(alert, ["case", "status"])
        _event(
            alert, EventKind.NOTE, at=at, note=f"同一设备已有处置中的工单{sibling.case.number}，并入该工单"
        )
        _audit(
            None, "case_join", alert, {"status": [status_from, S.DISPATCHED], "case": [None, sibling.case.pk]}
        )
        return
    category = _case_category(device.device_type.case_category_code)
    if category is None:
        _event(alert, EventKind.NOTE, at=at, note="设备类型未配置有效的工单分类，未自动生成工单")
        return
    try:
        with transaction.atomic():
            case, note = _open_case(alert, device, category, actor=None)
    except ApplicationError as exc:
        _event(alert, EventKind.NOTE, at=at, note=f"自动生成工单失败：{exc.message}")
        return
    status_from = alert.status
    alert.case, alert.status = case, S.DISPATCHED
    _save(alert, ["case", "status"])
    _event(alert, EventKind.CASE_OPENED, at=at, note=note)
    _audit(None, "case_open", alert, {"status": [status_from, S.DISPATCHED], "case": [None, case.pk]})


def _case_text(alert: Alert, device: Device) -> tuple[str, str]:
    quantity = alert.quantity
    what = quantity.name if quantity is not None else ""
    level = f"{LEVEL_WORDS[alert.level]}预警"
    if alert.rule == "offline":
        title = f"{device.name}离线（{level}）"
    elif alert.rule.startswith("anomaly:"):
        title = f"{device.name}{what}读数异常（{level}）"
    else:
        title = f"{device.name}{what}达到{level}"
    reading = ""
    if alert.value is not None:
        unit = quantity.unit if quantity is not None else ""
        reading = f"读数：{alert.value:g}{unit}；"
    content = (
        f"感知预警#{alert.pk}（{AlertCategory(alert.category).label}，{level}）：{alert.reason or title}。"
        f"设备：{device.name}（编号{device.code}）；{reading}开始时间：{_local(alert.valid_from)}。"
    )
    return title[:100], content[:4000]


def _open_case(alert: Alert, device: Device, category: Category, *, actor: User | None) -> tuple[Case, str]:
    """Create the case (channel sensor) and dispatch it to the device's owner unit when it has an active one.

    Each hotline step is done as ``actor`` when they hold the hotline's own permission for it (an operator
    records, a dispatcher dispatches), otherwise as the system: ``warning.handle`` is the authority for turning
    an alert into a case, and the alert's timeline records who asked for it."""
    title, content = _case_text(alert, device)
    has_location = device.lon is not None and device.lat is not None
    data = hotline.CaseIn(
        channel=Channel.SENSOR,
        demand_type=DemandType.HELP,
        category=category,
        title=title,
        content=content,
        address=f"{device.name}（设备{device.code}）"[:200],
        lng=device.lon if has_location else None,
        lat=device.lat if has_location else None,
        urgency=Urgency.URGENT if alert.level >= AlertLevel.RED else Urgency.NORMAL,
        external_id=f"alert:{alert.pk}",
    )
    intake_actor = actor if actor is not None and has_perm(actor, "hotline.intake") else None
    case = hotline.case_create(actor=intake_actor, data=data)
    unit = device.owner_unit
    if unit is None or not unit.is_active:
        return case, f"已生成工单{case.number}，设备无有效的权属单位，待派单员派单"
    dispatch_actor = actor if actor is not None and has_perm(actor, "hotline.dispatch") else None
    try:
        with transaction.atomic():
            case = hotline.case_dispatch(
                actor=dispatch_actor, case=case, unit=unit, note=f"感知预警#{alert.pk}，派至设备权属单位"
            )
    except ApplicationError as exc:  # the case stays at the hotline for a dispatcher
        return case, f"已生成工单{case.number}，自动派单未成功（{exc.message}），待派单员派单"
    return case, f"已生成工单{case.number}并派至{unit.name}"


# ---------------------------------------------------------------------------------------------- condition ended


@transaction.atomic(savepoint=False)  # called inside the ingestion's transaction: no savepoint
def alert_clear(
    *, device_id: int, quantity_id: int | None, rule: str, at: dt.datetime, reason: str
) -> Alert | None:
    """The condition of ``rule`` ended (a threshold back to normal with hysteresis, a device back online).
    The open alert records it and its ``valid_to``; an alert still ``raised`` (nobody acknowledged it, no case)
    resolves by itself (resolution ``cleared``), an acknowledged or dispatched one waits for a person."""
    alert = _open_alert(device_id, rule[:60])
    if alert is None or alert.valid_to is not None:
        return alert
    ended = max(at, alert.valid_from)
    changes: dict[str, Any] = {"valid_to": [None, ended.isoformat()]}
    alert.valid_to = ended
    fields = ["valid_to"]
    _event(alert, EventKind.CLEARED, at=ended, note=reason)
    if alert.status == S.RAISED and alert.case_id is None:
        changes["status"] = [alert.status, S.RESOLVED]
        alert.status, alert.resolution, alert.resolved_at = S.RESOLVED, Resolution.CLEARED, ended
        fields += ["status", "resolution", "resolved_at"]
        _event(alert, EventKind.RESOLVED, at=ended, note="条件解除，自动解除预警")
    _save(alert, fields)
    _audit(None, "clear", alert, changes)
    return alert


# ---------------------------------------------------------------------------------------------- operators' actions


def _require_handle(actor: User | None, alert: Alert) -> None:
    """The actor may handle this alert: visible to them (else 404), ``warning.handle`` (else 403), and within
    the scope of that permission (a unit handler: their unit's devices). ``None`` is the system."""
    if actor is None:
        return
    if not selectors.alerts_visible(actor).filter(pk=alert.pk).exists():
        raise NotFound("预警")
    if not has_perm(actor, "warning.handle"):
        raise PermissionDenied("没有处置预警的权限")
    if not selectors.alerts_visible(actor, permission="warning.handle").filter(pk=alert.pk).exists():
        raise PermissionDenied("该预警的设备不属于本单位，不能处置")


def _lock(alert: Alert) -> Alert:
    fresh = (
        Alert.objects.select_for_update(of=("self",))
        .select_related("device", "device__device_type", "device__owner_unit", "quantity", "case")
        .filter(pk=alert.pk)
        .first()
    )
    if fresh is None:
        raise NotFound("预警")
    return fresh


def _require_transition(alert: Alert, action: str) -> str:
    allowed, target = TRANSITIONS[action]
    if alert.status not in allowed:
        raise InvalidState(
            f"预警当前状态为“{AlertStatus(alert.status).label}”，不能{ACTION_LABELS[action]}",
            details={"status": alert.status, "action": action, "allowed_from": sorted(allowed)},
        )
    return target


def _begin(actor: User | None, alert: Alert, action: str) -> Alert:
    _require_handle(actor, alert)
    alert = _lock(alert)
    _require_transition(alert, action)
    return alert


@transaction.atomic
def alert_acknowledge(*, actor: User | None, alert: Alert, note: str = "") -> Alert:
    """Acknowledge (确认) a raised alert: someone is following it. It no longer resolves by itself."""
    alert = _begin(actor, alert, "acknowledge")
    text = hotline.check_text(note, field="note", label="说明", max_length=500, min_length=0)
    now = timezone.now()
    status_from = alert.status
    alert.status, alert.acknowledged_at, alert.acknowledged_by = S.ACKNOWLEDGED, now, actor
    _save(alert, ["status", "acknowledged_at", "acknowledged_by"])
    _event(alert, EventKind.ACKNOWLEDGED, at=now, actor=actor, note=text)
    _audit(actor, "acknowledge", alert, {"status": [status_from, alert.status]})
    return alert


@transaction.atomic
def alert_dispatch(*, actor: User | None, alert: Alert, note: str = "", category_code: str = "") -> Alert:
    """Dispatch (派单) an alert: open a hotline case for the device's owner unit (channel sensor), with the
    category ``category_code`` or else the device type's ``case_category_code``. Refused, changing nothing,
    when neither names an active category or the hotline refuses the case (a location outside the city)."""
    alert = _begin(actor, alert, "dispatch")
    text = hotline.check_text(note, field="note", label="派单说明", max_length=500, min_length=0)
    device = alert.device
    category = _case_category(category_code or device.device_type.case_category_code)
    if category is None:
        raise ValidationFailed(
            "请选择有效的工单分类（设备类型未配置工单分类）",
            details={"field": "category_code", "value": category_code},
        )
    case, case_note = _open_case(alert, device, category, actor=actor)
    now = timezone.now()
    status_from = alert.status
    alert.case, alert.status = case, S.DISPATCHED
    _save(alert, ["case", "status"])
    _event(alert, EventKind.DISPATCHED, at=now, actor=actor, note=text)
    _event(alert, EventKind.CASE_OPENED, at=now, actor=actor, note=case_note)
    _audit(actor, "dispatch", alert, {"status": [status_from, alert.status], "case": [None, case.pk]})
    return alert


def _close(
    alert: Alert, *, actor: User | None, status: str, resolution: str, note: str, at: dt.datetime
) -> None:
    alert.status, alert.resolution, alert.resolution_note = status, resolution, note[:500]
    alert.resolved_at, alert.resolved_by = at, actor if actor is not None and actor.pk else None
    _save(alert, ["status", "resolution", "resolution_note", "resolved_at", "resolved_by"])


def _settle_case(alert: Alert, reply: str) -> str:
    """What becomes of the case of an alert closed by hand, in words for the alert's timeline. A case still
    waiting at the hotline (received, not dispatched) is answered and closed by the system, so that no unit is
    sent to a matter already settled; a case a unit holds stays with it, and its answer follows the hotline's
    own workflow (the hotline has no way to withdraw a dispatched case)."""
    case = alert.case
    if case is None or case.status in (CaseStatus.REPLIED, CaseStatus.CLOSED, CaseStatus.MERGED):
        return ""
    if case.status == CaseStatus.RECEIVED:
        case = hotline.case_answer_directly(actor=None, case=case, reply=reply)
        hotline.case_callback(actor=None, case=case, reached=False, note="感知预警已解除，无需回访")
        return f"（关联工单{case.number}已由系统答复办结）"
    return f"（关联工单{case.number}已派至承办单位，由承办单位答复）"


@transaction.atomic
def alert_resolve(*, actor: User | None, alert: Alert, note: str) -> Alert:
    """Resolve (解除) an open alert by hand, with what was done (resolution ``handled``). Its case: see
    :func:`_settle_case`."""
    alert = _begin(actor, alert, "resolve")
    text = hotline.check_text(note, field="note", label="处置说明", max_length=500, min_length=2)
    now = timezone.now()
    status_from = alert.status
    _close(alert, actor=actor, status=S.RESOLVED, resolution=Resolution.HANDLED, note=text, at=now)
    settled = _settle_case(alert, f"感知预警#{alert.pk}已解除：{text}")
    _event(alert, EventKind.RESOLVED, at=now, actor=actor, note=text + settled)
    _audit(
        actor, "resolve", alert, {"status": [status_from, alert.status], "resolution": ["", alert.resolution]}
    )
    return alert


@transaction.atomic
def alert_mark_false(*, actor: User | None, alert: Alert, reason: str) -> Alert:
    """Mark an alert as a false alarm (误报), open or already resolved, with the reason; it counts in the rule's
    false-alarm rate. Its case: see :func:`_settle_case` (one still at the hotline is answered "误报" and
    closed; one a unit holds is left to the unit)."""
    alert = _begin(actor, alert, "mark_false")
    text = hotline.check_text(reason, field="reason", label="误报原因", max_length=500, min_length=2)
    now = timezone.now()
    status_from, resolution_from = alert.status, alert.resolution
    _close(alert, actor=actor, status=S.FALSE_ALARM, resolution=Resolution.FALSE_ALARM, note=text, at=now)
    settled = _settle_case(alert, f"经核实，感知预警#{alert.pk}为误报：{text}")
    _event(alert, EventKind.FALSE_ALARM, at=now, actor=actor, note=text + settled)
    _audit(
        actor,
        "mark_false",
        alert,
        {"status": [status_from, alert.status], "resolution": [resolution_from, alert.resolution]},
    )
    return alert


# ---------------------------------------------------------------------------------------------- from the hotline


def case_finished(*, case: Case, actor: User | None) -> list[Alert]:
    """The sensor case was answered (replied) or closed: its open alerts resolve (resolution ``case_closed``).
    Runs inside the hotline's transaction (``hotline.signals.case_status_changed``)."""
    alerts = list(
        Alert.objects.select_for_update(of=("self",)).filter(case_id=case.pk, status__in=OPEN_STATUSES)
    )
    now = timezone.now()
    word = "已答复" if case.status == CaseStatus.REPLIED else "已办结"
    for alert in alerts:
        status_from = alert.status
        note = f"关联工单{case.number}{word}"
        _close(alert, actor=actor, status=S.RESOLVED, resolution=Resolution.CASE_CLOSED, note=note, at=now)
        _event(alert, EventKind.RESOLVED, at=now, actor=actor, note=note)
        _audit(
            actor,
            "resolve",
            alert,
            {"status": [status_from, alert.status], "resolution": ["", alert.resolution]},
        )
    return alerts


def on_case_status_changed(
    sender: Any, *, case: Case, status_to: str, actor: User | None, **kwargs: Any
) -> None:
    """Receiver of ``hotline.signals.case_status_changed``: costs nothing for cases of other channels."""
    if case.channel != Channel.SENSOR or status_to not in (CaseStatus.REPLIED, CaseStatus.CLOSED):
        return
    case_finished(case=case, actor=actor)


__all__ = [
    "CLOSED_STATUSES",
    "TRANSITIONS",
    "alert_acknowledge",
    "alert_clear",
    "alert_dispatch",
    "alert_mark_false",
    "alert_resolve",
    "alert_signal",
    "case_finished",
    "on_case_status_changed",
    "sub_category_for",
]
