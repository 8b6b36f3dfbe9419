"""Sensing pages (物联感知): the device map and one device's page (facts, latest values, a chart per quantity with
its alerts and warning lines, its alerts and quarantine; maintenance and device tokens for device managers).

Thin: every read goes through :mod:`shizhi.sensing.selectors` (scope: a device outside the reader's scope is a
404) and :mod:`shizhi.warning.selectors`, every write through :mod:`shizhi.sensing.services`. The words the page
scripts show come from here, translated, in a ``json_script`` (``static/sensing/sensing.js`` holds no words).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from shizhi.cockpit.web import actor, paginate, query_without_page, staff_page
from shizhi.core.errors import ApplicationError
from shizhi.core.models import User
from shizhi.core.permissions import has_perm
from shizhi.sensing import selectors, services
from shizhi.sensing.models import Device, DeviceStatus, DeviceType, Quantity, RejectReason

View = TypeVar("View", bound=Callable[..., HttpResponse])

# China's four warning levels (预警级别) in their colours; 0 is "no open alert".
LEVEL_COLOURS: dict[int, str] = {1: "#1e6fd9", 2: "#e0b000", 3: "#f57c00", 4: "#d32f2f"}
LEVEL_WORDS: dict[int, Any] = {1: _("蓝色"), 2: _("黄色"), 3: _("橙色"), 4: _("红色")}
STATUS_COLOURS: dict[str, str] = {
    DeviceStatus.ONLINE: "#2e9d5b",
    DeviceStatus.OFFLINE: "#9aa5b1",
    DeviceStatus.MAINTENANCE: "#3b7dd8",
}
MAP_LIMIT = 5000  # devices drawn on the map (the list below pages through all of them)
RANGES: dict[str, tuple[int, Any]] = {
    "24h": (86400, _("近24小时")),
    "7d": (7 * 86400, _("近7天")),
    "30d": (30 * 86400, _("近30天")),
}
CHART_ALERTS = 200  # alerts marked on one chart at most


def level_label(level: int) -> str:
    return gettext("%(colour)s预警") % {"colour": LEVEL_WORDS.get(level, "")}


def rule_label(rule: str, quantity: Quantity | None = None) -> str:
    """``threshold:pm25`` -> "PM2.5 阈值", ``anomaly:level`` -> "积水深度 异常检测", ``offline`` -> "设备离线"."""
    if rule == "offline":
        return gettext("设备离线")
    kind, _sep, code = rule.partition(":")
    name = quantity.name if quantity is not None else code
    if kind == "threshold":
        return gettext("%(name)s 阈值") % {"name": name}
    if kind == "anomaly":
        return gettext("%(name)s 异常检测") % {"name": name}
    return rule


def open_levels(user: User, devices: Any) -> dict[int, int]:
    """Device id -> the highest level of its open alerts (devices without any are absent)."""
    from shizhi.warning.models import OPEN_STATUSES
    from shizhi.warning.selectors import alerts_visible

    rows = (
        alerts_visible(user)
        .filter(status__in=OPEN_STATUSES, device__in=devices)
        .order_by()
        .values_list("device_id")
        .annotate(top=Max("level"))
    )
    return {device_id: top for device_id, top in rows}


# ---------------------------------------------------------------------------------------------- the device map


def _map_labels() -> dict[str, Any]:
    return {
        "status": {s.value: str(s.label) for s in DeviceStatus},
        "levels": {str(k): level_label(k) for k in LEVEL_COLOURS},
        "status_colours": STATUS_COLOURS,
        "level_colours": {str(k): v for k, v in LEVEL_COLOURS.items()},
        "open_alert": gettext("未结预警：{level}"),
        "no_alert": gettext("无未结预警"),
        "open_page": gettext("查看设备"),
        "no_devices": gettext("没有可显示位置的设备"),
        "failed": gettext("区划边界加载失败：{error}"),
        "legend_ring": gettext("外圈颜色：未结预警的最高级别"),
    }


@staff_page("sensing.view")
@require_GET
def device_map(request: HttpRequest) -> HttpResponse:
    """设备地图: the devices the reader may see, coloured by status and by their open alerts' highest level."""
    user = actor(request)
    types = list(DeviceType.objects.order_by("code"))
    type_code = request.GET.get("type", "").strip()
    if type_code not in {t.code for t in types}:
        type_code = ""
    status = request.GET.get("status", "").strip()
    if status not in DeviceStatus.values:
        status = ""
    text = request.GET.get("q", "").strip()[:60]
    visible = selectors.devices_visible(user)
    qs = selectors.device_list(
        actor=user, device_type=type_code or None, status=status or None, q=text or None
    )
    levels = open_levels(user, qs)
    points = [
        {
            "code": d.code,
            "name": d.name,
            "type": d.device_type.name,
            "lon": d.lon,
            "lat": d.lat,
            "status": d.status,
            "level": levels.get(d.pk, 0),
            "url": reverse("sensing:device_detail", kwargs={"code": d.code}),
        }
        for d in qs.filter(lon__isnull=False, lat__isnull=False)[:MAP_LIMIT]
    ]
    page = paginate(request, qs)
    for d in page.object_list:
        d.open_level = levels.get(d.pk, 0)
    by_status = dict(visible.order_by().values_list("status").annotate(n=Count("id")))
    by_type = dict(visible.order_by().values_list("device_type__code").annotate(n=Count("id")))
    all_levels = open_levels(user, visible)
    return render(
        request,
        "sensing/device_map.html",
        {
            "page": page,
            "query": query_without_page(request),
            "types": [(t, by_type.get(t.code, 0)) for t in types],
            "statuses": [(s, by_status.get(s.value, 0), STATUS_COLOURS[s.value]) for s in DeviceStatus],
            "total": sum(by_status.values()),
            "alerting": len(all_levels),
            "alerting_by_level": [
                (lv, sum(1 for x in all_levels.values() if x == lv), LEVEL_COLOURS[lv], level_label(lv))
                for lv in (4, 3, 2, 1)
            ],
            "filters": {"type": type_code, "status": status, "q": text},
            "map_data": {"points": points, "labels": _map_labels(), "truncated": len(points) >= MAP_LIMIT},
            "level_colours": LEVEL_COLOURS,
        },
    )


# ---------------------------------------------------------------------------------------------- one device


def _default_quantity(quantities: list[Quantity]) -> Quantity | None:
    watched = [q for q in quantities if q.thresholds]
    return (watched or quantities or [None])[0]  # type: ignore[list-item]


def device_chart(
    user: User, device: Device, quantity: Quantity, range_key: str, *, now: int | None = None
) -> dict[str, Any]:
    """The chart of one quantity of a device over a range: raw readings (24 hours) or hourly min/mean/max (7 or
    30 days), the warning lines of the quantity, and the device's alerts of this quantity (and its offline
    alerts) that overlap the range, each with its level's colour. Times in epoch milliseconds."""
    from shizhi.warning.selectors import alerts_visible

    span = RANGES[range_key][0]
    end = (now if now is not None else int(timezone.now().timestamp())) + 1
    start = end - span
    resolution, series = selectors.series(device=device, quantity=quantity, start=start, end=end)
    if resolution == "raw":
        points: list[list[Any]] = [[p.ts * 1000, p.value] for p in series]
    else:
        points = [[p.ts * 1000, p.value, p.vmin, p.vmax] for p in series]
    thresholds = []
    for level, value in enumerate(quantity.thresholds or [], start=1):
        if value is not None and level in LEVEL_COLOURS:
            thresholds.append(
                {"level": level, "value": value, "label": level_label(level), "colour": LEVEL_COLOURS[level]}
            )
    start_dt = dt.datetime.fromtimestamp(start, tz=dt.UTC)
    end_dt = dt.datetime.fromtimestamp(end, tz=dt.UTC)
    alerts_qs = (
        alerts_visible(user)
        .filter(device=device)
        .filter(Q(quantity=quantity) | Q(quantity__isnull=True))
        .filter(valid_from__lt=end_dt)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start_dt))
        .order_by("valid_from", "id")[:CHART_ALERTS]
    )
    alerts = []
    for a in alerts_qs:
        alerts.append(
            {
                "id": a.pk,
                "level": a.level,
                "label": level_label(a.level),
                "colour": LEVEL_COLOURS[a.level],
                "rule": rule_label(a.rule, quantity if a.quantity_id else None),
                "start": int(max(a.valid_from, start_dt).timestamp() * 1000),
                "end": int(min(a.valid_to or end_dt, end_dt).timestamp() * 1000),
                "value": a.value if a.quantity_id else None,
                "status": str(a.get_status_display()),
                "url": reverse("warning:alert_detail", kwargs={"alert_id": a.pk}),
            }
        )
    return {
        "quantity": {"code": quantity.code, "name": quantity.name, "unit": quantity.unit},
        "resolution": resolution,
        "start": start * 1000,
        "end": end * 1000,
        "points": points,
        "thresholds": thresholds,
        "alerts": alerts,
        "labels": {
            "value": gettext("读数"),
            "mean": gettext("小时均值"),
            "band": gettext("小时最小值-最大值"),
            "min": gettext("最小值"),
            "max": gettext("最大值"),
            "empty": gettext("所选时段没有读数"),
            "alert": gettext("预警 #{id}：{level}，{rule}（{status}）"),
        },
    }


def _device_page(
    request: HttpRequest, user: User, device: Device, *, token: str = "", status: int = 200
) -> HttpResponse:
    from shizhi.warning.selectors import AlertFilters, alert_list

    quantities = list(device.device_type.quantities.all())
    wanted = request.GET.get("q", "")
    quantity = next((q for q in quantities if q.code == wanted), None) or _default_quantity(quantities)
    default_range = "7d" if device.device_type.expected_interval_s >= 3600 else "24h"
    range_key = request.GET.get("range", default_range)
    if range_key not in RANGES:
        range_key = default_range
    chart = device_chart(user, device, quantity, range_key) if quantity is not None else None
    alerts = list(alert_list(actor=user, filters=AlertFilters(device=device.pk))[:20])
    for a in alerts:
        a.rule_label = rule_label(a.rule, a.quantity)  # type: ignore[attr-defined]
        a.level_colour = LEVEL_COLOURS[a.level]  # type: ignore[attr-defined]
        a.level_label = level_label(a.level)  # type: ignore[attr-defined]
    counts = selectors.quarantine_counts(device=device)
    reasons = [(RejectReason(r).label, n) for r, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    levels = open_levels(user, Device.objects.filter(pk=device.pk))
    return render(
        request,
        "sensing/device_detail.html",
        {
            "device": device,
            "quantities": quantities,
            "quantity": quantity,
            "range_key": range_key,
            "ranges": [(k, label) for k, (_s, label) in RANGES.items()],
            "chart": chart,
            "latest": [
                {
                    **row,
                    "at": dt.datetime.fromtimestamp(row["ts"], tz=dt.UTC) if row["ts"] is not None else None,
                }
                for row in selectors.latest_values(device)
            ],
            "alerts": alerts,
            "open_level": levels.get(device.pk, 0),
            "level_colours": LEVEL_COLOURS,
            "status_colour": STATUS_COLOURS.get(device.status, "#9aa5b1"),
            "quarantine_reasons": reasons,
            "quarantine_rows": list(selectors.quarantine_list(actor=user, device=device)[:10]),
            "can_manage": has_perm(user, "sensing.manage_devices"),
            "token": token,
        },
        status=status,
    )


@staff_page("sensing.view")
@require_GET
def device_detail(request: HttpRequest, code: str) -> HttpResponse:
    user = actor(request)
    return _device_page(request, user, selectors.access_device(actor=user, code=code))


@staff_page("sensing.manage_devices")
@require_POST
def device_status(request: HttpRequest, code: str) -> HttpResponse:
    """Maintenance on (readings stored, no alerts) or off (back in service)."""
    user = actor(request)
    device = selectors.access_device(actor=user, code=code)
    target = request.POST.get("status", "")
    try:
        services.device_set_status(
            actor=user, device=device, status=target, note=request.POST.get("note", "")[:200]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if target == DeviceStatus.MAINTENANCE:
            messages.success(request, gettext("设备已进入维护状态：读数照常入库，不产生预警"))
        else:
            messages.success(request, gettext("设备已结束维护，恢复预警"))
    return redirect("sensing:device_detail", code=device.code)


@staff_page("sensing.manage_devices")
@require_POST
def device_token(request: HttpRequest, code: str) -> HttpResponse:
    """A new device token, shown once on the page this request returns (only its digest is kept)."""
    user = actor(request)
    device = selectors.access_device(actor=user, code=code)
    raw = services.device_issue_token(actor=user, device=device)
    response = _device_page(request, user, device, token=raw)
    response["Cache-Control"] = "no-store"
    return response
