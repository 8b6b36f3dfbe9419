"""The standing promotion pages (常态化推进, ``onething.view_promotion``): the dashboard (items × districts matrix
by roll-out state, ECharts of volume and performance per district, alerts, open milestones), one roll-out with its
milestones and measured performance (and, for ``onething.manage_promotion``, the forms that change them), and the
monthly report of a district with its XLSX download."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from shizhi.core.errors import ApplicationError, NotFound, ValidationFailed
from shizhi.core.permissions import has_perm
from shizhi.onething import promotion, services
from shizhi.onething.models import Milestone, Rollout, RolloutState
from shizhi.onething.views.common import actor, chart_words, staff_page, text

VIEW = "onething.view_promotion"
MANAGE = "onething.manage_promotion"


@staff_page(VIEW)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    board = promotion.dashboard(user)
    charts = board.charts()
    charts["labels"] = chart_words()
    today = promotion.local_today()
    return render(
        request,
        "onething/promotion.html",
        {
            "board": board,
            "rows": board.matrix_rows(),
            "charts": charts,
            "states": RolloutState.choices,
            "today": today,
            "month": f"{today.year}-{today.month:02d}",
            "by_district": [
                (d, board.by_district.get(d.pk, promotion.Performance())) for d in board.districts
            ],
        },
    )


def _access_rollout(request: HttpRequest, rollout_id: int) -> Rollout:
    user = actor(request)
    visible = {d.pk: d for d in promotion.visible_districts(user)}
    rollout = Rollout.objects.select_related("item", "owner_unit").filter(pk=rollout_id).first()
    if rollout is None or rollout.district_id not in visible:
        raise NotFound("推进情况")
    rollout.district = visible[rollout.district_id]
    return rollout


@staff_page(VIEW)
@require_GET
def rollout_detail(request: HttpRequest, rollout_id: int) -> HttpResponse:
    user = actor(request)
    rollout = _access_rollout(request, rollout_id)
    today = promotion.local_today()
    windows = [
        (gettext("近90天"), today - dt.timedelta(days=promotion.ALERT_WINDOW_DAYS), today),
        (gettext("本年"), dt.date(today.year, 1, 1), today + dt.timedelta(days=1)),
        (gettext("近12个月"), today - dt.timedelta(days=365), today + dt.timedelta(days=1)),
    ]
    performance = [
        (label, promotion.rollout_performance(rollout.item, rollout.district, start, end))
        for label, start, end in windows
    ]
    return render(
        request,
        "onething/rollout.html",
        {
            "rollout": rollout,
            "name": promotion.item_names([rollout.item_id]).get(rollout.item_id, rollout.item.code),
            "milestones": list(rollout.milestones.select_related("owner_unit").order_by("due_date", "id")),
            "performance": performance,
            "alerts": promotion.promotion_alerts(
                today, actor=user, district=rollout.district, item=rollout.item
            ),
            "states": RolloutState.choices,
            "can_manage": has_perm(user, MANAGE),
            "today": today,
        },
    )


def _date(data: Any, name: str, label: str, *, required: bool = False) -> dt.date | None:
    raw = text(data, name, 10).strip()
    if not raw:
        if required:
            raise ValidationFailed(gettext("请填写%(label)s") % {"label": label}, details={"field": name})
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationFailed(
            gettext("%(label)s格式不正确") % {"label": label}, details={"field": name}
        ) from exc


def _fraction(data: Any, name: str, label: str, *, percent: bool) -> float | None:
    raw = text(data, name, 10).strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValidationFailed(
            gettext("%(label)s须为数字") % {"label": label}, details={"field": name}
        ) from exc
    return value / 100 if percent else value


@staff_page(MANAGE)
@require_POST
def rollout_action(request: HttpRequest, rollout_id: int, action: str) -> HttpResponse:
    """state 变更推进状态, targets 修改计划与目标, milestone 新增节点, done 完成节点."""
    user = actor(request)
    rollout = _access_rollout(request, rollout_id)
    data = request.POST
    try:
        if action == "state":
            services.rollout_set_state(
                actor=user, rollout=rollout, state=text(data, "state", 16), note=text(data, "note", 255)
            )
            messages.success(request, gettext("推进状态已更新"))
        elif action == "targets":
            targets: dict[str, Any] = {
                "target_pilot_date": _date(data, "target_pilot_date", gettext("计划试点日期")),
                "target_online_date": _date(data, "target_online_date", gettext("计划上线日期")),
                "target_fully_online_date": _date(
                    data, "target_fully_online_date", gettext("计划全程网办日期")
                ),
            }
            for name, label, percent in (
                ("target_on_time_rate", gettext("目标按时办结率"), True),
                ("target_rating", gettext("目标平均评价"), False),
                ("target_online_share", gettext("目标全程网办占比"), True),
            ):
                value = _fraction(data, name, label, percent=percent)
                if value is not None:
                    targets[name] = value
            services.rollout_upsert(
                actor=user,
                item=rollout.item,
                district=rollout.district,
                owner_unit=rollout.owner_unit,
                note=text(data, "note", 255),
                **targets,
            )
            messages.success(request, gettext("推进计划已保存"))
        elif action == "milestone":
            due = _date(data, "due_date", gettext("计划完成日期"), required=True)
            assert due is not None
            services.milestone_add(
                actor=user,
                rollout=rollout,
                title=text(data, "title", 100),
                due_date=due,
                owner_name=text(data, "owner_name", 64),
                note=text(data, "note", 255),
            )
            messages.success(request, gettext("已新增推进节点"))
        elif action == "done":
            raw = text(data, "milestone_id", 12)
            milestone = Milestone.objects.filter(pk=int(raw) if raw.isdigit() else 0, rollout=rollout).first()
            if milestone is None:
                raise NotFound("推进节点")
            services.milestone_complete(actor=user, milestone=milestone, note=text(data, "note", 255))
            messages.success(request, gettext("节点已完成"))
        else:
            raise Http404
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("onething:rollout", rollout_id=rollout.pk)


def _report_args(request: HttpRequest) -> tuple[Any, int, int, list[Any]]:
    user = actor(request)
    districts = promotion.visible_districts(user)
    raw = text(request.GET, "district", 12)
    if raw.isdigit():
        district = promotion.access_district(user, int(raw))
    elif districts:
        district = districts[0]
    else:
        raise NotFound("区县")
    today = promotion.local_today()
    year, month = today.year, today.month
    raw_month = text(request.GET, "month", 7)
    if raw_month:
        try:
            year, month = (int(x) for x in raw_month.split("-", 1))
            promotion.month_bounds(year, month)
        except ValueError as exc:
            raise ValidationFailed(gettext("月份格式应为 2026-03"), details={"field": "month"}) from exc
    return district, year, month, districts


@staff_page(VIEW)
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    """The monthly report of a district (区县月报), with the XLSX download."""
    district, year, month, districts = _report_args(request)
    data = promotion.monthly_report(district, year, month, actor=actor(request))
    today = promotion.local_today()
    months = promotion.months_back(today, 24)[::-1]
    return render(
        request,
        "onething/report.html",
        {
            "r": data,
            "districts": districts,
            "months": [(f"{y}-{m:02d}", y, m) for y, m in months],
            "selected": f"{year}-{month:02d}",
        },
    )


@staff_page(VIEW)
@require_GET
def report_xlsx(request: HttpRequest) -> HttpResponse:
    district, year, month, _ = _report_args(request)
    data = promotion.monthly_report(district, year, month, actor=actor(request))
    response = HttpResponse(promotion.monthly_report_xlsx(data), content_type=promotion.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{promotion.report_filename(data)}"'
    return response
