"""Every read of alerts that filters by scope: city-wide roles see every alert, unit roles the alerts of the
devices their unit owns, area roles the alerts in their area subtree (the device's grid path, copied onto the
alert). Alerts outside the scope do not exist for the reader (404)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from shizhi.core.errors import NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import Grid
from shizhi.core.permissions import has_perm
from shizhi.core.selectors import Actor, scope_filter
from shizhi.hotline.models import Case
from shizhi.sensing.models import AlertCategory
from shizhi.warning.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    AlertLevel,
    AlertStatus,
)

RECENT_ANOMALIES = dt.timedelta(days=7)
LEVELS = tuple(AlertLevel.values)


def alerts_visible(actor: Actor, *, permission: str = "warning.view") -> QuerySet[Alert]:
    """The alerts ``actor`` may see (or, with ``permission="warning.handle"``, may handle)."""
    return scope_filter(
        Alert.objects.all(),
        actor,
        permission=permission,
        unit_field="device__owner_unit",
        path_field="area_path",
    )


def _require_view(actor: Actor) -> None:
    if not has_perm(actor, "warning.view"):
        raise PermissionDenied("没有查看预警的权限")


def access_alert(*, actor: Actor, alert_id: int) -> Alert:
    """One alert with what its page shows, or ``NotFound`` when it is outside the actor's scope."""
    _require_view(actor)
    alert = (
        alerts_visible(actor)
        .select_related(
            "device",
            "device__device_type",
            "device__owner_unit",
            "quantity",
            "grid",
            "case",
            "acknowledged_by",
            "resolved_by",
        )
        .filter(pk=alert_id)
        .first()
    )
    if alert is None:
        raise NotFound("预警")
    return alert


@dataclass
class AlertFilters:
    status: str | None = None
    open: bool | None = None
    level: int | None = None  # this level and above
    rule: str | None = None  # exact, or a prefix ending in ":" ("anomaly:")
    category: str | None = None
    device: int | None = None
    grid: int | None = None
    since: dt.datetime | None = None  # raised at or after
    until: dt.datetime | None = None  # raised before


def alert_list(*, actor: Actor, filters: AlertFilters | None = None) -> QuerySet[Alert]:
    """The alert board's list, newest first (served by alert_board_idx for status/level filters)."""
    _require_view(actor)
    f = filters or AlertFilters()
    qs = alerts_visible(actor)
    if f.status:
        if f.status not in AlertStatus.values:
            raise ValidationFailed("状态不正确", details={"field": "status", "allowed": AlertStatus.values})
        qs = qs.filter(status=f.status)
    if f.open is not None:
        qs = qs.filter(status__in=OPEN_STATUSES) if f.open else qs.filter(status__in=CLOSED_STATUSES)
    if f.level is not None:
        if f.level not in LEVELS:
            raise ValidationFailed("预警级别须为1到4", details={"field": "level"})
        qs = qs.filter(level__gte=f.level)
    if f.rule:
        qs = qs.filter(rule__startswith=f.rule) if f.rule.endswith(":") else qs.filter(rule=f.rule)
    if f.category:
        if f.category not in AlertCategory.values:
            raise ValidationFailed(
                "告警类别不正确", details={"field": "category", "allowed": AlertCategory.values}
            )
        qs = qs.filter(category=f.category)
    if f.device is not None:
        qs = qs.filter(device_id=f.device)
    if f.grid is not None:
        qs = qs.filter(grid_id=f.grid)
    if f.since:
        qs = qs.filter(raised_at__gte=f.since)
    if f.until:
        qs = qs.filter(raised_at__lt=f.until)
    return qs.select_related("device", "quantity", "grid", "case").order_by("-raised_at", "-id")


def alert_timeline(alert: Alert) -> list[AlertEvent]:
    """The alert's timeline (预警记录), oldest first. The caller has checked access to the alert."""
    return list(AlertEvent.objects.filter(alert=alert).select_related("actor").order_by("at", "id"))


def alerts_for_case(case: Case) -> list[Alert]:
    """The alerts that opened this hotline case (normally one), for the case's page. The caller has checked
    access to the case: whoever may see the case may see where it came from."""
    return list(
        Alert.objects.filter(case_id=case.pk).select_related("device", "quantity").order_by("raised_at", "id")
    )


def alert_board(actor: Actor, *, since: dt.datetime | None = None) -> dict[str, Any]:
    """Counts for the alert board, in one query: open alerts by level, and alerts by status and level
    (closed ones raised since ``since`` when given; open ones always)::

        {"open_total": 5, "open_by_level": {1: 2, 2: 1, 3: 1, 4: 1},
         "by_status": {"raised": 3, ...}, "by_status_level": {"raised": {1: 2, 2: 1, 3: 0, 4: 0}, ...}}
    """
    _require_view(actor)
    qs = alerts_visible(actor)
    if since is not None:
        qs = qs.filter(Q(status__in=OPEN_STATUSES) | Q(raised_at__gte=since))
    by_status_level: dict[str, dict[int, int]] = {s: dict.fromkeys(LEVELS, 0) for s in AlertStatus.values}
    for status, level, n in qs.order_by().values_list("status", "level").annotate(n=Count("id")):
        by_status_level[status][level] = n
    open_by_level = {lv: sum(by_status_level[s][lv] for s in OPEN_STATUSES) for lv in LEVELS}
    return {
        "open_total": sum(open_by_level.values()),
        "open_by_level": open_by_level,
        "by_status": {s: sum(levels.values()) for s, levels in by_status_level.items()},
        "by_status_level": by_status_level,
    }


@dataclass
class GridRisk:
    """One grid's risk (网格风险): its open alerts by level and its anomalies of the last days."""

    grid_id: int
    code: str
    name: str
    lng: float | None
    lat: float | None
    open_by_level: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    anomalies: int = 0

    @property
    def open_total(self) -> int:
        return sum(self.open_by_level.values())

    @property
    def max_level(self) -> int:
        return max((lv for lv, n in self.open_by_level.items() if n), default=0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "grid_id": self.grid_id,
            "code": self.code,
            "name": self.name,
            "lng": self.lng,
            "lat": self.lat,
            "open_by_level": self.open_by_level,
            "open_total": self.open_total,
            "max_level": self.max_level,
            "anomalies": self.anomalies,
        }


def grid_risk(actor: Actor, since: dt.datetime | None = None) -> list[GridRisk]:
    """Per grid with any open alert or recent anomaly: open alerts by level, and the anomaly alerts (rule
    ``anomaly:*``, any status) that started since ``since`` (default: the last 7 days). Highest risk first.
    Three queries whatever the number of grids."""
    _require_view(actor)
    since = since or timezone.now() - RECENT_ANOMALIES
    qs = alerts_visible(actor).filter(grid__isnull=False).order_by()
    open_rows = qs.filter(status__in=OPEN_STATUSES).values_list("grid_id", "level").annotate(n=Count("id"))
    anomaly_rows = (
        qs.filter(rule__startswith="anomaly:", valid_from__gte=since)
        .values_list("grid_id")
        .annotate(n=Count("id"))
    )
    opened: dict[int, dict[int, int]] = {}
    for grid_id, level, n in open_rows:
        opened.setdefault(grid_id, dict.fromkeys(LEVELS, 0))[level] = n
    anomalies = dict(anomaly_rows)
    ids = set(opened) | set(anomalies)
    grids = Grid.objects.filter(pk__in=ids).values_list("id", "code", "name", "centroid_lng", "centroid_lat")
    out = [
        GridRisk(
            grid_id=gid,
            code=code,
            name=name,
            lng=lng,
            lat=lat,
            open_by_level=opened.get(gid, dict.fromkeys(LEVELS, 0)),
            anomalies=anomalies.get(gid, 0),
        )
        for gid, code, name, lng, lat in grids
    ]
    out.sort(key=lambda r: (-r.max_level, -r.open_total, -r.anomalies, r.code))
    return out


@dataclass
class RateRow:
    """False alarms among the closed alerts of a rule (误报率); ``rate`` is None when none is closed."""

    rule: str
    device_type_id: int | None
    device_type: str
    closed: int = 0
    false_alarms: int = 0

    @property
    def rate(self) -> float | None:
        return self.false_alarms / self.closed if self.closed else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "device_type_id": self.device_type_id,
            "device_type": self.device_type,
            "closed": self.closed,
            "false_alarms": self.false_alarms,
            "rate": self.rate,
        }


@dataclass
class FalseAlarmRates:
    by_rule: list[RateRow]  # all device types together (device_type_id None)
    by_device_type: list[RateRow]  # per (device type, rule)


def false_alarm_rates(since: dt.datetime | None = None, *, actor: Actor = None) -> FalseAlarmRates:
    """Closed alerts (resolved or false alarm) and false alarms per rule, and per device type and rule, for
    alerts raised since ``since``. ``actor``: only the alerts they may see; None (the system) counts all."""
    qs = Alert.objects.all() if actor is None else alerts_visible(actor)
    if actor is not None:
        _require_view(actor)
    qs = qs.filter(status__in=CLOSED_STATUSES)
    if since is not None:
        qs = qs.filter(raised_at__gte=since)
    rows = (
        qs.order_by()
        .values_list("rule", "device__device_type_id", "device__device_type__name", "status")
        .annotate(n=Count("id"))
    )
    by_rule: dict[str, RateRow] = {}
    by_type: dict[tuple[int, str], RateRow] = {}
    for rule, type_id, type_name, status, n in rows:
        for row in (
            by_rule.setdefault(rule, RateRow(rule=rule, device_type_id=None, device_type="")),
            by_type.setdefault(
                (type_id, rule), RateRow(rule=rule, device_type_id=type_id, device_type=type_name)
            ),
        ):
            row.closed += n
            if status == AlertStatus.FALSE_ALARM:
                row.false_alarms += n
    return FalseAlarmRates(
        by_rule=sorted(by_rule.values(), key=lambda r: r.rule),
        by_device_type=sorted(by_type.values(), key=lambda r: (r.device_type, r.rule)),
    )
