"""Alerts API (/api/v1/alerts): the alert board's list and counts, one alert with its timeline, the operators'
actions, the false-alarm rates and the grid risk view. Thin: parse -> selector/service -> schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from shizhi.core import workcalendar
from shizhi.core.actors import request_actor
from shizhi.core.errors import ValidationFailed
from shizhi.core.schemas import ErrorOut
from shizhi.hotline.models import CaseStatus
from shizhi.sensing.models import AlertCategory
from shizhi.warning import selectors as sel
from shizhi.warning import services
from shizhi.warning.models import Alert, AlertEvent, AlertLevel, AlertStatus, EventKind
from shizhi.warning.schemas import (
    AlertDetailOut,
    AlertPageOut,
    AlertQuery,
    BoardOut,
    DispatchIn,
    FalseAlarmIn,
    GridRiskOut,
    NoteIn,
    RatesOut,
    ResolveIn,
)

router = Router(tags=["warning"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _parse_dt(value: str | None, field: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationFailed(
            "时间格式应为ISO 8601，如 2026-11-01T00:00:00+08:00", details={"field": field}
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=workcalendar.local_tz())


def _ref(obj: Any) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


def alert_out(a: Alert) -> dict[str, Any]:
    case = a.case
    return {
        "id": a.pk,
        "device": _ref(a.device),
        "device_code": a.device.code,
        "quantity": _ref(a.quantity),
        "rule": a.rule,
        "category": a.category,
        "category_label": str(AlertCategory(a.category).label),
        "sub_category": a.sub_category,
        "level": a.level,
        "level_label": str(AlertLevel(a.level).label),
        "severity": a.severity,
        "score": a.score,
        "kind": a.kind,
        "reason": a.reason,
        "value": a.value,
        "status": a.status,
        "status_label": str(AlertStatus(a.status).label),
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
        "raised_at": a.raised_at,
        "resolved_at": a.resolved_at,
        "resolution": a.resolution,
        "case": None
        if case is None
        else {
            "id": case.pk,
            "number": case.number,
            "status": case.status,
            "status_label": str(CaseStatus(case.status).label),
        },
        "grid": _ref(a.grid),
    }


def _event_out(e: AlertEvent) -> dict[str, Any]:
    return {
        "id": e.pk,
        "at": e.at,
        "kind": e.kind,
        "kind_label": str(EventKind(e.kind).label),
        "level": e.level,
        "actor": e.actor_label,
        "note": e.note,
    }


def _user(u: Any) -> str | None:
    return None if u is None else (u.display_name or u.username)


def alert_detail(a: Alert) -> dict[str, Any]:
    device = a.device
    return {
        **alert_out(a),
        "device_type": _ref(device.device_type),
        "owner_unit": _ref(device.owner_unit),
        "lng": device.lon,
        "lat": device.lat,
        "acknowledged_at": a.acknowledged_at,
        "acknowledged_by": _user(a.acknowledged_by),
        "resolved_by": _user(a.resolved_by),
        "resolution_note": a.resolution_note,
        "events": [_event_out(e) for e in sel.alert_timeline(a)],
    }


@router.get("/alerts", response={200: AlertPageOut, **ERRORS}, summary="预警列表（按角色范围，可筛选、分页）")
def list_alerts(request: HttpRequest, q: Query[AlertQuery]) -> dict[str, Any]:
    filters = sel.AlertFilters(
        status=q.status,
        open=q.open,
        level=q.level,
        rule=q.rule,
        category=q.category,
        device=q.device,
        grid=q.grid,
        since=_parse_dt(q.since, "since"),
        until=_parse_dt(q.until, "until"),
    )
    qs = sel.alert_list(actor=request_actor(request), filters=filters)
    rows = list(qs[q.offset : q.offset + q.limit + 1])  # one row more than the page: has_more without COUNT
    return {
        "items": [alert_out(a) for a in rows[: q.limit]],
        "limit": q.limit,
        "offset": q.offset,
        "has_more": len(rows) > q.limit,
    }


@router.get("/alerts/board", response={200: BoardOut, **ERRORS}, summary="预警看板：按级别和状态计数")
def board(request: HttpRequest, since: str | None = None) -> dict[str, Any]:
    return sel.alert_board(request_actor(request), since=_parse_dt(since, "since"))


@router.get("/alerts/rates", response={200: RatesOut, **ERRORS}, summary="各预警规则的误报率")
def rates(request: HttpRequest, since: str | None = None) -> dict[str, Any]:
    result = sel.false_alarm_rates(_parse_dt(since, "since"), actor=request_actor(request))
    return {
        "by_rule": [r.as_dict() for r in result.by_rule],
        "by_device_type": [r.as_dict() for r in result.by_device_type],
    }


@router.get(
    "/alerts/grid-risk",
    response={200: list[GridRiskOut], **ERRORS},
    summary="网格风险：各网格未结预警（按级别）和近7天异常数",
)
def grid_risk(request: HttpRequest, since: str | None = None) -> list[dict[str, Any]]:
    return [r.as_dict() for r in sel.grid_risk(request_actor(request), _parse_dt(since, "since"))]


@router.get("/alerts/{alert_id}", response={200: AlertDetailOut, **ERRORS}, summary="预警详情（含处置记录）")
def get_alert(request: HttpRequest, alert_id: int) -> dict[str, Any]:
    return alert_detail(sel.access_alert(actor=request_actor(request), alert_id=alert_id))


def _after(request: HttpRequest, alert: Alert) -> dict[str, Any]:
    return alert_detail(sel.access_alert(actor=request_actor(request), alert_id=alert.pk))


@router.post("/alerts/{alert_id}/acknowledge", response={200: AlertDetailOut, **ERRORS}, summary="确认预警")
def acknowledge(request: HttpRequest, alert_id: int, payload: NoteIn) -> dict[str, Any]:
    actor = request_actor(request)
    alert = sel.access_alert(actor=actor, alert_id=alert_id)
    return _after(request, services.alert_acknowledge(actor=actor, alert=alert, note=payload.note))


@router.post(
    "/alerts/{alert_id}/dispatch",
    response={200: AlertDetailOut, **ERRORS},
    summary="派单：为设备权属单位生成工单（感知告警渠道）",
)
def dispatch(request: HttpRequest, alert_id: int, payload: DispatchIn) -> dict[str, Any]:
    actor = request_actor(request)
    alert = sel.access_alert(actor=actor, alert_id=alert_id)
    alert = services.alert_dispatch(
        actor=actor, alert=alert, note=payload.note, category_code=payload.category
    )
    return _after(request, alert)


@router.post(
    "/alerts/{alert_id}/resolve", response={200: AlertDetailOut, **ERRORS}, summary="解除预警（须说明处置）"
)
def resolve(request: HttpRequest, alert_id: int, payload: ResolveIn) -> dict[str, Any]:
    actor = request_actor(request)
    alert = sel.access_alert(actor=actor, alert_id=alert_id)
    return _after(request, services.alert_resolve(actor=actor, alert=alert, note=payload.note))


@router.post(
    "/alerts/{alert_id}/false-alarm",
    response={200: AlertDetailOut, **ERRORS},
    summary="标记误报（须说明原因）",
)
def false_alarm(request: HttpRequest, alert_id: int, payload: FalseAlarmIn) -> dict[str, Any]:
    actor = request_actor(request)
    alert = sel.access_alert(actor=actor, alert_id=alert_id)
    return _after(request, services.alert_mark_false(actor=actor, alert=alert, reason=payload.reason))
