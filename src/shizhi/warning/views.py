"""Early-warning pages (风险预警): the alert board by level and status with the operators' actions and the
false-alarm rates, one alert with its timeline, and the grid risk map.

Thin: reads through :mod:`shizhi.warning.selectors` (an alert outside the reader's scope is a 404), writes through
:mod:`shizhi.warning.services` (a refused action comes back as a message, nothing changed). The presentation of
levels and rules (colours, words) is shared with the sensing pages (:mod:`shizhi.sensing.views`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from shizhi.cockpit.web import actor, next_url, staff_page, window
from shizhi.core.errors import ApplicationError
from shizhi.core.models import Grid, User
from shizhi.core.permissions import has_perm
from shizhi.hotline.models import Category
from shizhi.sensing.models import AlertCategory, Device, Quantity
from shizhi.sensing.views import LEVEL_COLOURS, level_label, rule_label
from shizhi.warning import selectors as sel
from shizhi.warning import services
from shizhi.warning.models import OPEN_STATUSES, Alert, AlertStatus

PER_PAGE = 50
BOARD_DAYS = 30  # closed alerts counted on the board: raised in the last 30 days (open ones always)
RATE_DAYS = 90  # false-alarm rates over the alerts raised in the last 90 days
RISK_LIMIT = 500  # grids drawn on the risk map (the table lists them all)

STATUS_FILTERS: list[tuple[str, Any]] = [
    ("open", _("未结（待处置、已确认、已派单）")),
    ("closed", _("已结（已解除、误报）")),
    ("all", _("全部")),
    *((s.value, s.label) for s in AlertStatus),
]
KINDS: list[tuple[str, Any]] = [
    ("threshold:", _("阈值预警")),
    ("anomaly:", _("异常检测")),
    ("offline", _("设备离线")),
]
ACTION_LABELS: dict[str, Any] = {
    "acknowledge": _("确认"),
    "dispatch": _("派单"),
    "resolve": _("解除"),
    "mark_false": _("标记误报"),
}
DONE_MESSAGES: dict[str, Any] = {
    "acknowledge": _("已确认预警 #%(id)s"),
    "dispatch": _("预警 #%(id)s 已派单，生成工单 %(case)s"),
    "resolve": _("已解除预警 #%(id)s"),
    "mark_false": _("预警 #%(id)s 已标记为误报"),
}


def _decorate(user: User, alerts: list[Alert]) -> None:
    """What a row shows: the rule in words, the level's colour and name, and the actions this user may take."""
    can_handle = has_perm(user, "warning.handle")
    handled: set[int] = set()
    if can_handle and alerts:
        handled = set(
            sel.alerts_visible(user, permission="warning.handle")
            .filter(pk__in=[a.pk for a in alerts])
            .values_list("pk", flat=True)
        )
    for a in alerts:
        a.rule_label = rule_label(a.rule, a.quantity)  # type: ignore[attr-defined]
        a.level_label = level_label(a.level)  # type: ignore[attr-defined]
        a.level_colour = LEVEL_COLOURS[a.level]  # type: ignore[attr-defined]
        actions = []
        if a.pk in handled:
            for action, (allowed, _target) in services.TRANSITIONS.items():
                if a.status in allowed and not (action == "dispatch" and a.case_id is not None):
                    actions.append((action, ACTION_LABELS[action]))
        a.actions = actions  # type: ignore[attr-defined]


def _int(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


# ---------------------------------------------------------------------------------------------- the board


@staff_page("warning.view")
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """预警看板: open alerts by level, alerts by status and level, the filtered list with actions, and the
    false-alarm rate of each rule."""
    user = actor(request)
    get = request.GET
    raw = {k: get.get(k, "").strip()[:80] for k in ("status", "level", "kind", "category", "grid", "device")}
    filters = sel.AlertFilters()
    status = raw["status"] or "open"
    if status == "open":
        filters.open = True
    elif status == "closed":
        filters.open = False
    elif status in AlertStatus.values:
        filters.status = status
    elif status != "all":
        status, filters.open = "open", True
    level = _int(raw["level"])
    if level not in LEVEL_COLOURS:
        level = None
    if raw["kind"] in {k for k, _label in KINDS}:
        filters.rule = raw["kind"]
    if raw["category"] in AlertCategory.values:
        filters.category = raw["category"]
    grid = None
    grid_id = _int(raw["grid"])
    if grid_id is not None:
        grid = Grid.objects.filter(pk=grid_id).first()
        filters.grid = grid.pk if grid is not None else None
    device = None
    if raw["device"]:
        device = Device.objects.filter(code=raw["device"]).only("id", "code", "name").first()
        filters.device = device.pk if device is not None else -1
    qs = sel.alert_list(actor=user, filters=filters)
    if level is not None:
        qs = qs.filter(level=level)
    page = window(request, qs, PER_PAGE)
    _decorate(user, page.items)
    now = timezone.now()
    counts = sel.alert_board(user, since=now - dt.timedelta(days=BOARD_DAYS))
    rates = sel.false_alarm_rates(now - dt.timedelta(days=RATE_DAYS), actor=user)
    names = dict(Quantity.objects.values_list("code", "name"))
    rate_rows = [
        {
            "rule": r.rule,
            "label": _rule_words(r.rule, names),
            "closed": r.closed,
            "false_alarms": r.false_alarms,
            "rate": None if r.rate is None else round(100 * r.rate, 1),
        }
        for r in rates.by_rule
    ]
    query = get.copy()
    query.pop("page", None)
    return render(
        request,
        "warning/board.html",
        {
            "page": page,
            "query": query.urlencode(),
            "raw": {**raw, "status": status, "level": str(level or "")},
            "status_filters": STATUS_FILTERS,
            "kinds": KINDS,
            "categories": AlertCategory.choices,
            "grid": grid,
            "device": device,
            "levels": [(lv, level_label(lv), LEVEL_COLOURS[lv]) for lv in (4, 3, 2, 1)],
            "open_by_level": [(lv, level_label(lv), counts["open_by_level"][lv]) for lv in (4, 3, 2, 1)],
            "open_total": counts["open_total"],
            "status_rows": [
                (
                    s,
                    [counts["by_status_level"][s.value][lv] for lv in (4, 3, 2, 1)],
                    counts["by_status"][s.value],
                )
                for s in AlertStatus
            ],
            "board_days": BOARD_DAYS,
            "rate_days": RATE_DAYS,
            "rate_rows": rate_rows,
            "next": request.get_full_path(),
        },
    )


def _rule_words(rule: str, names: dict[str, str]) -> str:
    if rule == "offline":
        return gettext("设备离线")
    kind, _sep, code = rule.partition(":")
    name = names.get(code, code)
    if kind == "threshold":
        return gettext("%(name)s 阈值") % {"name": name}
    if kind == "anomaly":
        return gettext("%(name)s 异常检测") % {"name": name}
    return rule


# ---------------------------------------------------------------------------------------------- one alert


@staff_page("warning.view")
@require_GET
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = actor(request)
    alert = sel.access_alert(actor=user, alert_id=alert_id)
    _decorate(user, [alert])
    can_dispatch = any(a == "dispatch" for a, _label in alert.actions)  # type: ignore[attr-defined]
    return render(
        request,
        "warning/alert_detail.html",
        {
            "alert": alert,
            "timeline": [
                (e, level_label(e.level) if e.level in LEVEL_COLOURS else "")
                for e in sel.alert_timeline(alert)
            ],
            "categories": Category.objects.filter(is_active=True).order_by("path").only("code", "full_name")
            if can_dispatch
            else [],
            "default_category": alert.device.device_type.case_category_code,
            "is_open": alert.status in OPEN_STATUSES,
        },
    )


@staff_page("warning.view")
@require_POST
def alert_action(request: HttpRequest, alert_id: int, action: str) -> HttpResponse:
    """One operator action (acknowledge, dispatch, resolve, mark_false) through the warning services; a refusal
    comes back as a message on the page it was sent from."""
    if action not in services.TRANSITIONS:
        raise Http404(gettext("没有这个操作"))
    user = actor(request)
    alert = sel.access_alert(actor=user, alert_id=alert_id)
    if not has_perm(user, "warning.handle"):
        raise DjangoPermissionDenied(gettext("没有处置预警的权限"))
    note = request.POST.get("note", "")[:600]
    try:
        if action == "acknowledge":
            alert = services.alert_acknowledge(actor=user, alert=alert, note=note)
        elif action == "dispatch":
            alert = services.alert_dispatch(
                actor=user, alert=alert, note=note, category_code=request.POST.get("category", "")[:40]
            )
        elif action == "resolve":
            alert = services.alert_resolve(actor=user, alert=alert, note=note)
        else:
            alert = services.alert_mark_false(actor=user, alert=alert, reason=note)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        case = alert.case.number if alert.case is not None else ""
        messages.success(request, DONE_MESSAGES[action] % {"id": alert.pk, "case": case})
    return redirect(next_url(request, reverse("warning:alert_detail", kwargs={"alert_id": alert_id})))


# ---------------------------------------------------------------------------------------------- grid risk


@staff_page("warning.view")
@require_GET
def risk(request: HttpRequest) -> HttpResponse:
    """网格风险: the grids with open alerts or recent anomalies, coloured by the highest open level."""
    user = actor(request)
    rows = sel.grid_risk(user)
    shown = rows[:RISK_LIMIT]
    boundaries = dict(Grid.objects.filter(pk__in=[r.grid_id for r in shown]).values_list("id", "boundary"))
    features = []
    for rank, r in enumerate(shown, start=1):
        geometry = boundaries.get(r.grid_id)
        if not geometry:
            continue
        features.append(
            {
                "type": "Feature",
                "id": r.grid_id,
                "geometry": geometry,
                "properties": {
                    **r.as_dict(),
                    "open_by_level": {str(k): v for k, v in r.open_by_level.items()},
                    "rank": rank,
                    "url": reverse("warning:board") + f"?grid={r.grid_id}&status=all",
                },
            }
        )
    grids = {
        g.pk: g for g in Grid.objects.filter(pk__in=[r.grid_id for r in rows]).select_related("community")
    }
    table = [
        {
            "rank": i,
            "row": r,
            "grid": grids.get(r.grid_id),
            "levels": [r.open_by_level[lv] for lv in (4, 3, 2, 1)],
            "label": level_label(r.max_level) if r.max_level else "",
        }
        for i, r in enumerate(rows, start=1)
    ]
    return render(
        request,
        "warning/risk.html",
        {
            "table": table,
            "levels": [(lv, level_label(lv)) for lv in (4, 3, 2, 1)],
            "days": sel.RECENT_ANOMALIES.days,
            "map_data": {
                "type": "FeatureCollection",
                "features": features,
                "labels": {
                    "levels": {str(k): level_label(k) for k in LEVEL_COLOURS},
                    "level_colours": {str(k): v for k, v in LEVEL_COLOURS.items()},
                    "anomaly_colour": "#8e6bbf",
                    "anomalies_only": gettext("仅有近期异常"),
                    "open": gettext("未结预警 {n} 条"),
                    "anomalies": gettext("近{days}天异常 {n} 次").replace(
                        "{days}", str(sel.RECENT_ANOMALIES.days)
                    ),
                    "rank": gettext("风险排名第 {n}"),
                    "none": gettext("没有未结预警或近期异常的网格"),
                    "failed": gettext("区划边界加载失败：{error}"),
                    "open_board": gettext("点击查看该网格的预警"),
                },
            },
        },
    )
