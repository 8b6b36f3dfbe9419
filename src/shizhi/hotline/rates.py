"""The three rates (三率) per unit, per area and city-wide, by month or any date range, computed by SQL
aggregates (one GROUP BY per rate, no per-row Python):

- response rate (响应率) = assignments accepted within the acceptance time limit / assignments dispatched, by the
  dispatch time; assignments withdrawn after an approved return (wrong dispatch) do not count;
- resolution rate (解决率) = cases the citizen says are solved / cases rated, by the callback time;
- satisfaction rate (满意率) = cases rated satisfied (4-5 of 5) / cases rated, by the callback time;
- composite (综合得分) = weighted sum in 0-100, weights in SHIZHI["HOTLINE_RATE_WEIGHTS"].
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Case as SqlCase
from django.db.models import Count, IntegerField, Q, QuerySet, Sum, Value, When

from shizhi.core.errors import PermissionDenied, ValidationFailed
from shizhi.core.models import Area, AreaLevel, Unit
from shizhi.core.permissions import has_perm
from shizhi.core.selectors import Actor
from shizhi.hotline.models import Assignment, AssignmentStatus, Case

DEFAULT_WEIGHTS = {"response": 0.2, "resolution": 0.4, "satisfaction": 0.4}


def weights() -> dict[str, float]:
    w = {**DEFAULT_WEIGHTS, **getattr(settings, "SHIZHI", {}).get("HOTLINE_RATE_WEIGHTS", {})}
    total = sum(w.values())
    return {k: v / total for k, v in w.items()}


@dataclass
class Period:
    """Either whole months (YYYYMM..YYYYMM, inclusive) or a time range [since, until)."""

    month_from: int | None = None
    month_to: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @classmethod
    def months(cls, first: int, last: int | None = None) -> Period:
        last = last or first
        for m in (first, last):
            if not (200001 <= m <= 210012) or not 1 <= m % 100 <= 12:
                raise ValidationFailed("月份格式应为YYYYMM", details={"field": "month", "value": m})
        if last < first:
            raise ValidationFailed("结束月份不能早于开始月份", details={"field": "month_to"})
        return cls(month_from=first, month_to=last)

    @classmethod
    def between(cls, since: dt.datetime, until: dt.datetime) -> Period:
        if until <= since:
            raise ValidationFailed("结束时间须晚于开始时间", details={"field": "until"})
        return cls(since=since, until=until)

    def assignments(self) -> QuerySet[Assignment]:
        qs = Assignment.objects.exclude(status=AssignmentStatus.WITHDRAWN)
        if self.month_from is not None:
            return qs.filter(dispatched_month__gte=self.month_from, dispatched_month__lte=self.month_to)
        return qs.filter(dispatched_at__gte=self.since, dispatched_at__lt=self.until)

    def rated_cases(self) -> QuerySet[Case]:
        qs = Case.objects.filter(solved__isnull=False)
        if self.month_from is not None:
            return qs.filter(rated_month__gte=self.month_from, rated_month__lte=self.month_to)
        return qs.filter(rated_at__gte=self.since, rated_at__lt=self.until)


@dataclass
class Rates:
    key: Any
    name: str = ""
    dispatched: int = 0
    accepted_on_time: int = 0
    rated: int = 0
    solved: int = 0
    satisfied: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def response_rate(self) -> float | None:
        return self.accepted_on_time / self.dispatched if self.dispatched else None

    @property
    def resolution_rate(self) -> float | None:
        return self.solved / self.rated if self.rated else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None

    @property
    def composite(self) -> float | None:
        """0-100; a rate with no data leaves the composite undefined rather than guessing."""
        r, s, t = self.response_rate, self.resolution_rate, self.satisfaction_rate
        if r is None or s is None or t is None:
            return None
        w = weights()
        return round(100 * (w["response"] * r + w["resolution"] * s + w["satisfaction"] * t), 2)

    def as_dict(self) -> dict[str, Any]:
        def pct(v: float | None) -> float | None:
            return None if v is None else round(100 * v, 2)

        return {
            "key": self.key,
            "name": self.name,
            "dispatched": self.dispatched,
            "accepted_on_time": self.accepted_on_time,
            "rated": self.rated,
            "solved": self.solved,
            "satisfied": self.satisfied,
            "response_rate": pct(self.response_rate),
            "resolution_rate": pct(self.resolution_rate),
            "satisfaction_rate": pct(self.satisfaction_rate),
            "composite": self.composite,
            **self.extra,
        }


GROUPS = ("unit", "district", "street", "city")


def _require(actor: Actor) -> None:
    if actor is not None and not has_perm(actor, "hotline.view_rates"):
        raise PermissionDenied("没有查看三率考核数据的权限")


def compute_rates(
    *, actor: Actor, period: Period, group: str = "unit", by_month: bool = False
) -> list[Rates]:
    """The three rates grouped by unit, district, street or for the whole city; optionally per month (only
    with a month period). Two aggregate queries in all."""
    _require(actor)
    if group not in GROUPS:
        raise ValidationFailed("分组须为 unit、district、street 或 city", details={"field": "group"})
    if by_month and period.month_from is None:
        raise ValidationFailed("按月分组须按月份查询", details={"field": "by_month"})
    resp_key = {
        "unit": "unit_id",
        "district": "case__district_id",
        "street": "case__street_id",
        "city": None,
    }[group]
    rate_key = {"unit": "lead_unit_id", "district": "district_id", "street": "street_id", "city": None}[group]
    resp_fields = [f for f in (resp_key, "dispatched_month" if by_month else None) if f]
    rate_fields = [f for f in (rate_key, "rated_month" if by_month else None) if f]
    rows: dict[tuple[Any, ...], Rates] = {}

    def slot(key: Any, month: Any) -> Rates:
        k = (key, month)
        if k not in rows:
            rows[k] = Rates(key=key, extra={"month": month} if by_month else {})
        return rows[k]

    resp_aggregates = {"n": Count("*"), "ok": _count_if(Q(accepted_on_time=True))}
    # Nothing to group by (the whole city, not by month): one aggregate row. values() with no fields would
    # group by every column instead, a row per assignment.
    resp = (
        period.assignments().values(*resp_fields).annotate(**resp_aggregates).order_by()
        if resp_fields
        else [period.assignments().aggregate(**resp_aggregates)]
    )
    for r in resp:
        if not r["n"]:
            continue
        item = slot(r.get(resp_key) if resp_key else None, r.get("dispatched_month"))
        item.dispatched += r["n"]
        item.accepted_on_time += r["ok"]
    rate_aggregates = {
        "n": Count("*"),
        "solved_n": _count_if(Q(solved=True)),
        "satisfied_n": _count_if(Q(satisfied=True)),
    }
    rated = (
        period.rated_cases().values(*rate_fields).annotate(**rate_aggregates).order_by()
        if rate_fields
        else [period.rated_cases().aggregate(**rate_aggregates)]
    )
    for r in rated:
        if not r["n"]:
            continue
        item = slot(r.get(rate_key) if rate_key else None, r.get("rated_month"))
        item.rated += r["n"]
        item.solved += r["solved_n"]
        item.satisfied += r["satisfied_n"]
    _name(rows.values(), group)
    return sorted(rows.values(), key=lambda x: (x.extra.get("month") or 0, str(x.key)))


def _count_if(condition: Q) -> Sum:
    """The rows that meet ``condition``: SUM(CASE WHEN ... THEN 1 ELSE 0 END) and COUNT(*) read only the
    columns of the conditions, so the database answers from the covering indexes (assign_month_unit_resp_idx,
    case_month_unit_rated_idx) alone; COUNT(id) FILTER (...) would make PostgreSQL visit every row for its id."""
    return Sum(SqlCase(When(condition, then=Value(1)), default=Value(0)), output_field=IntegerField())


def _name(items: Any, group: str) -> None:
    items = list(items)
    keys = {i.key for i in items if i.key is not None}
    if group == "unit":
        names = dict(Unit.objects.filter(pk__in=keys).values_list("id", "name"))
    elif group in ("district", "street"):
        names = dict(Area.objects.filter(pk__in=keys).values_list("id", "name"))
    else:
        names = {}
    for i in items:
        i.name = (
            "全市" if group == "city" else names.get(i.key, "（未定位）" if group != "unit" else "（未派单）")
        )


def ranking(*, actor: Actor, period: Period, group: str = "unit", min_rated: int = 1) -> list[dict[str, Any]]:
    """Units (or areas) ranked by the composite score, best first; those with too few ratings come last."""
    items = [r for r in compute_rates(actor=actor, period=period, group=group) if r.key is not None]
    ranked = sorted(
        items, key=lambda r: (r.composite is None or r.rated < min_rated, -(r.composite or 0), r.name)
    )
    out = []
    for i, r in enumerate(ranked, start=1):
        d = r.as_dict()
        d["rank"] = i if r.composite is not None and r.rated >= min_rated else None
        out.append(d)
    return out


def area_level_for(group: str) -> AreaLevel | None:
    return {"district": AreaLevel.DISTRICT, "street": AreaLevel.STREET}.get(group)
