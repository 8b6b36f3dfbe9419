"""Promotion API (/api/v1/onething/promotion/...): the dashboard's data, alerts, measured performance and the
monthly report per district (JSON and XLSX). Reads only; for ``onething.view_promotion``, scoped to the districts
the caller may see (others answer 404)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from shizhi.core.actors import request_actor
from shizhi.core.errors import NotFound, ValidationFailed
from shizhi.core.schemas import ErrorOut
from shizhi.onething import promotion
from shizhi.onething.models import Item

router = Router(tags=["onething"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class AlertQuery(Schema):
    district_id: int | None = None
    item: str | None = Field(None, max_length=32, description="事项编码")
    today: dt.date | None = Field(None, description="预警的截止日（默认今天）")


class PerformanceQuery(Schema):
    item: str = Field(..., max_length=32, description="事项编码")
    district_id: int
    start: dt.date = Field(..., description="开始日期（含）")
    end: dt.date = Field(..., description="结束日期（不含）")


class ReportQuery(Schema):
    district_id: int
    year: int = Field(..., ge=2000, le=2100)
    month: int = Field(..., ge=1, le=12)


def _item(code: str | None) -> Item | None:
    if not code:
        return None
    item = Item.objects.filter(code=code.strip()).first()
    if item is None:
        raise NotFound("一件事")
    return item


@router.get(
    "/onething/promotion/dashboard",
    response={200: dict[str, Any], **ERRORS},
    summary="常态化推进总览：事项×区县推进状态矩阵、各区县月度办件量与指标、预警、待完成节点",
)
def dashboard(request: HttpRequest, months: int = Query(12, ge=1, le=36)) -> dict[str, Any]:  # type: ignore[type-arg]
    actor = request_actor(request)
    promotion.require_view(actor)
    return promotion.dashboard(actor, months=months).as_dict()


@router.get(
    "/onething/promotion/alerts",
    response={200: list[dict[str, Any]], **ERRORS},
    summary="推进预警：进度滞后、节点逾期、指标未达标",
)
def alerts(request: HttpRequest, q: Query[AlertQuery]) -> list[dict[str, Any]]:
    actor = request_actor(request)
    promotion.require_view(actor)
    district = promotion.access_district(actor, q.district_id) if q.district_id is not None else None
    return [
        a.as_dict()
        for a in promotion.promotion_alerts(q.today, actor=actor, district=district, item=_item(q.item))
    ]


@router.get(
    "/onething/promotion/performance",
    response={200: dict[str, Any], **ERRORS},
    summary="某事项在某区县一段时间内的办件量、用时（工作日）、按时办结率、评价和全程网办占比",
)
def performance(request: HttpRequest, q: Query[PerformanceQuery]) -> dict[str, Any]:
    actor = request_actor(request)
    district = promotion.access_district(actor, q.district_id)
    item = _item(q.item)
    assert item is not None
    if (q.end - q.start).days > 3 * 366:
        raise ValidationFailed("统计期不能超过三年", details={"field": "end"})
    p = promotion.rollout_performance(item, district, q.start, q.end)
    return {
        "item": item.code,
        "district": {"id": district.pk, "name": district.name},
        "start": q.start.isoformat(),
        "end": q.end.isoformat(),
        **p.as_dict(),
    }


@router.get(
    "/onething/promotion/report",
    response={200: dict[str, Any], **ERRORS},
    summary="区县月报（每个事项一行：推进状态、本月办件、指标、节点和预警）",
)
def report(request: HttpRequest, q: Query[ReportQuery]) -> dict[str, Any]:
    actor = request_actor(request)
    district = promotion.access_district(actor, q.district_id)
    return promotion.monthly_report(district, q.year, q.month, actor=actor).as_dict()


@router.get(
    "/onething/promotion/report.xlsx",
    response={200: None, **ERRORS},
    summary="区县月报（Excel）",
)
def report_xlsx(request: HttpRequest, q: Query[ReportQuery]) -> HttpResponse:
    actor = request_actor(request)
    district = promotion.access_district(actor, q.district_id)
    data = promotion.monthly_report(district, q.year, q.month, actor=actor)
    response = HttpResponse(promotion.monthly_report_xlsx(data), content_type=promotion.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{promotion.report_filename(data)}"'
    return response
