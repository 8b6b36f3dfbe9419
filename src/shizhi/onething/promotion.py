"""Reads of the standing promotion (常态化推进): measured performance of every item in every district from its real
applications, the alerts (预警) for roll-outs behind schedule or below target, the promotion dashboard's data and
the monthly report per district (月报, also as XLSX). Writes (state, targets, milestones) are in
``services.rollout``.

How performance is measured (also in docs/onething.md, "Promotion, pages and demo"):

- received (受理量): applications filed in the period (``submitted_at``), whatever became of them;
- finished (办结量): applications that ended (办结 or 不予办理) in the period (``finished_at``), with
  - on-time rate (按时办结率): the share of them that ended by their promised time (``Application.on_time``);
  - time used (办理用时) in **working days** on the working-day calendar, the unit of the promised limits: the
    number of working days after the filing day up to and including the day it ended (filed and finished on the
    same day: 0; filed on Friday, finished on Monday: 1), so "on time" means at most the promised days. The mean
    is rounded to one decimal; the 90th percentile is the nearest-rank one (the ⌈0.9·n⌉-th smallest);
- rating (好差评): the mean score of the ratings given in the period (``Rating.created_at``), two decimals;
- fully-online share (全程网办占比): the share of the received applications done entirely online.

A period is ``[start, end)`` in local days (Asia/Shanghai): ``start`` included, ``end`` excluded.

Alerts as of a day ``today`` (local date):

- behind schedule (进度滞后): a target date (试点, 上线, 全程网办) is before ``today`` and the roll-out has not reached
  that state; one alert per roll-out, for the most advanced target missed;
- milestone overdue (节点逾期): a milestone whose due date is before ``today`` and that is not done;
- below target (指标未达标): over the ``ALERT_WINDOW_DAYS`` days before ``today``, the on-time rate (with at least
  ``MIN_APPLICATIONS`` finished), the mean rating (at least ``MIN_APPLICATIONS`` ratings) or, once the
  district offers the item fully online (state 全程网办), the fully-online share (at least ``MIN_APPLICATIONS``
  received) is below the roll-out's target. Roll-outs still planned are not measured.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from shizhi.core import workcalendar
from shizhi.core.errors import NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import Area, AreaLevel, Unit, User
from shizhi.core.permissions import actor_scope, has_perm, roles_with
from shizhi.onething.models import (
    ENDED_APPLICATION_STATUSES,
    Application,
    Item,
    ItemVersion,
    Milestone,
    Rating,
    Rollout,
    RolloutState,
    Stage,
    VersionStatus,
)

Actor = User | AnonymousUser | None

VIEW = "onething.view_promotion"
MIN_APPLICATIONS = 10
ALERT_WINDOW_DAYS = 90

# Roll-out states in order: a state "reaches" every target at or below its rank.
STATE_RANK = {
    RolloutState.PLANNED: 0,
    RolloutState.PILOTING: 1,
    RolloutState.ONLINE: 2,
    RolloutState.FULLY_ONLINE: 3,
}
# target date field -> (the state it asks for, what reaching it means)
TARGETS = (
    ("target_fully_online_date", RolloutState.FULLY_ONLINE, "实现全程网办"),
    ("target_online_date", RolloutState.ONLINE, "全面上线"),
    ("target_pilot_date", RolloutState.PILOTING, "开展试点"),
)


class AlertKind:
    BEHIND_SCHEDULE = "behind_schedule"  # 进度滞后: a target date passed, the state not reached
    MILESTONE_OVERDUE = "milestone_overdue"  # 节点逾期: a milestone past its due date, not done
    BELOW_TARGET = "below_target"  # 指标未达标: on-time rate, rating or online share below the target


ALERT_KIND_LABELS = {
    AlertKind.BEHIND_SCHEDULE: "进度滞后",
    AlertKind.MILESTONE_OVERDUE: "节点逾期",
    AlertKind.BELOW_TARGET: "指标未达标",
}
_KIND_ORDER = {AlertKind.BEHIND_SCHEDULE: 0, AlertKind.MILESTONE_OVERDUE: 1, AlertKind.BELOW_TARGET: 2}
_METRIC_ORDER = {"on_time_rate": 0, "rating": 1, "online_share": 2}


# ---------------------------------------------------------------------------------------------- time helpers


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=workcalendar.local_tz())


def _local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(workcalendar.local_tz()).date()


def local_today() -> dt.date:
    from django.utils import timezone

    return _local_date(timezone.now())


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    """[first day of the month, first day of the next month)."""
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise ValidationFailed("月份不正确", details={"field": "month"})
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def _date_label(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


class WorkdayCounter:
    """Working days in (start, end] for dates within [low, high], by a table of running counts: one calendar
    lookup per day of the range instead of one per day of every interval."""

    def __init__(self, low: dt.date, high: dt.date) -> None:
        self.low = low
        cum, day = [0], low
        while day < high:
            day += dt.timedelta(days=1)
            cum.append(cum[-1] + workcalendar.is_workday(day))
        self._cum = cum

    def between(self, start: dt.date, end: dt.date) -> int:
        """As ``workcalendar.working_days_between(start, end)``."""
        if end <= start:
            return 0
        return self._cum[(end - self.low).days] - self._cum[(start - self.low).days]


def p90(values: Sequence[int]) -> int | None:
    """Nearest-rank 90th percentile: the ⌈0.9·n⌉-th smallest value."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


# ---------------------------------------------------------------------------------------------- performance


@dataclass(frozen=True)
class Performance:
    """Measured performance of a set of applications over a period (see the module docstring)."""

    received: int = 0
    fully_online: int = 0
    finished: int = 0
    on_time: int = 0
    mean_days: float | None = None
    p90_days: int | None = None
    ratings: int = 0
    mean_rating: float | None = None

    @property
    def on_time_rate(self) -> float | None:
        return round(self.on_time / self.finished, 4) if self.finished else None

    @property
    def online_share(self) -> float | None:
        return round(self.fully_online / self.received, 4) if self.received else None

    @property
    def on_time_percent(self) -> str:
        """The on-time rate as text ("83.3%"; "—" without finished applications), for pages."""
        return "—" if self.on_time_rate is None else _percent(self.on_time_rate)

    @property
    def online_percent(self) -> str:
        return "—" if self.online_share is None else _percent(self.online_share)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "finished": self.finished,
            "on_time": self.on_time,
            "on_time_rate": self.on_time_rate,
            "mean_days": self.mean_days,
            "p90_days": self.p90_days,
            "ratings": self.ratings,
            "mean_rating": self.mean_rating,
            "fully_online": self.fully_online,
            "online_share": self.online_share,
        }


Key = tuple[Any, ...]


def _key(row: dict[str, Any], group: Sequence[str]) -> Key:
    return tuple(row[g] for g in group)


def _grouped(qs: QuerySet[Any], group: Sequence[str], **aggregates: Any) -> list[dict[str, Any]]:
    """``qs.values(*group).annotate(...)``, or one ``aggregate`` row when there is no grouping (``values()``
    without fields would group by every column)."""
    if not group:
        row = qs.aggregate(**aggregates)
        return [row] if row.get("n") else []
    return list(qs.values(*group).annotate(**aggregates).order_by())


def performance_table(
    applications: QuerySet[Application],
    start: dt.date,
    end: dt.date,
    *,
    group: Sequence[str] = ("item_id", "district_id"),
    times: bool = True,
) -> dict[Key, Performance]:
    """Performance per group (tuples of the ``group`` columns' values; ``()`` for no grouping) of
    ``applications`` over [start, end). Three grouped queries, the finished ones reading their rows when
    ``times`` (for the mean and 90th-percentile days)."""
    lo, hi = _day_start(start), _day_start(end)
    group = list(group)
    received: dict[Key, dict[str, int]] = {}
    for row in _grouped(
        applications.filter(submitted_at__gte=lo, submitted_at__lt=hi),
        group,
        n=Count("id"),
        online=Count("id", filter=Q(fully_online=True)),
    ):
        received[_key(row, group)] = {"n": row["n"], "online": row["online"]}
    ended = applications.filter(
        status__in=list(ENDED_APPLICATION_STATUSES), finished_at__gte=lo, finished_at__lt=hi
    )
    finished: dict[Key, dict[str, Any]] = {}
    if times:
        rows = [
            (
                _key(row, group),
                _local_date(row["submitted_at"]),
                _local_date(row["finished_at"]),
                row["on_time"],
            )
            for row in ended.values(*group, "submitted_at", "finished_at", "on_time").order_by()
        ]
        days: dict[Key, list[int]] = defaultdict(list)
        on_time: dict[Key, int] = defaultdict(int)
        if rows:
            counter = WorkdayCounter(min(r[1] for r in rows), max(r[2] for r in rows))
            for k, filed, ended_on, ok in rows:
                days[k].append(counter.between(filed, ended_on))
                on_time[k] += bool(ok)
        for k, values in days.items():
            finished[k] = {
                "n": len(values),
                "on_time": on_time[k],
                "mean": round(sum(values) / len(values), 1),
                "p90": p90(values),
            }
    else:
        for row in _grouped(ended, group, n=Count("id"), ok=Count("id", filter=Q(on_time=True))):
            finished[_key(row, group)] = {"n": row["n"], "on_time": row["ok"], "mean": None, "p90": None}
    rated: dict[Key, dict[str, Any]] = {}
    rating_group = [f"application__{g}" for g in group]
    for row in _grouped(
        Rating.objects.filter(application__in=applications, created_at__gte=lo, created_at__lt=hi),
        rating_group,
        n=Count("id"),
        mean=Avg("score"),
    ):
        rated[_key(row, rating_group)] = {"n": row["n"], "mean": round(float(row["mean"]), 2)}
    out: dict[Key, Performance] = {}
    for k in received.keys() | finished.keys() | rated.keys():
        r, f, s = received.get(k, {}), finished.get(k, {}), rated.get(k, {})
        out[k] = Performance(
            received=r.get("n", 0),
            fully_online=r.get("online", 0),
            finished=f.get("n", 0),
            on_time=f.get("on_time", 0),
            mean_days=f.get("mean"),
            p90_days=f.get("p90"),
            ratings=s.get("n", 0),
            mean_rating=s.get("mean"),
        )
    return out


def rollout_performance(item: Item, district: Area, start: dt.date, end: dt.date) -> Performance:
    """Performance of ``item`` in ``district`` over [start, end) (local days)."""
    if end <= start:
        raise ValidationFailed("结束日期须晚于开始日期", details={"field": "end"})
    table = performance_table(Application.objects.filter(item=item, district=district), start, end, group=())
    return table.get((), Performance())


# ------------------------------------------------------------------------------------------------- scope


def require_view(actor: Actor) -> None:
    if actor is not None and not has_perm(actor, VIEW):
        raise PermissionDenied("没有查看一件事推进情况的权限")


def visible_districts(actor: Actor) -> list[Area]:
    """Districts whose roll-out ``actor`` may see: all for a city-wide role (and for the system, ``None``), else
    those inside (or holding) the areas of the actor's roles that hold the permission."""
    qs = Area.objects.filter(level=AreaLevel.DISTRICT).only(
        "id", "code", "name", "path", "level", "parent_id"
    )
    districts = list(qs.order_by("code"))
    if actor is None:
        return districts
    require_view(actor)
    scope = actor_scope(actor)
    roles = set(roles_with(VIEW)) & set(scope.roles)
    if scope.is_city_wide(roles):
        return districts
    paths = scope.all_area_paths(roles)
    # A unit-scoped role (data steward, unit leader) sees the districts of its unit's area: a city department
    # every district, a district's office its own.
    unit_ids = set().union(*(scope.unit_ids.get(r, set()) for r in roles)) if roles else set()
    if unit_ids:
        paths |= set(
            Unit.objects.filter(pk__in=unit_ids, area__isnull=False).values_list("area__path", flat=True)
        )
    return [d for d in districts if any(d.path.startswith(p) or p.startswith(d.path) for p in paths)]


def access_district(actor: Actor, district_id: int | None) -> Area:
    """A district ``actor`` may see, or NotFound."""
    for d in visible_districts(actor):
        if d.pk == district_id:
            return d
    raise NotFound("区县")


def item_names(item_ids: Iterable[int] | None = None) -> dict[int, str]:
    """Each item's name: its published version's, else its latest version's."""
    qs = ItemVersion.objects.all()
    if item_ids is not None:
        qs = qs.filter(item_id__in=list(item_ids))
    names: dict[int, str] = {}
    for item_id, name, status in qs.order_by("item_id", "-number").values_list("item_id", "name", "status"):
        if status == VersionStatus.PUBLISHED or item_id not in names:
            names[item_id] = name
    return names


# ----------------------------------------------------------------------------------------------------- alerts


@dataclass(frozen=True)
class Alert:
    kind: str
    item_id: int
    item_code: str
    item_name: str
    district_id: int
    district_name: str
    rollout_id: int
    message: str
    metric: str = ""  # below target: on_time_rate | rating | online_share; behind schedule: the state missed
    value: float | None = None
    target: float | None = None
    due_date: dt.date | None = None
    days_late: int | None = None
    milestone_id: int | None = None
    owner: str = ""

    @property
    def kind_label(self) -> str:
        return ALERT_KIND_LABELS[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "kind_label": self.kind_label,
            "item": {"id": self.item_id, "code": self.item_code, "name": self.item_name},
            "district": {"id": self.district_id, "name": self.district_name},
            "rollout_id": self.rollout_id,
            "message": self.message,
            "metric": self.metric,
            "value": self.value,
            "target": self.target,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "days_late": self.days_late,
            "milestone_id": self.milestone_id,
            "owner": self.owner,
        }


def _percent(value: float) -> str:
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _rollouts(actor: Actor, district: Area | None, item: Item | None) -> list[Rollout]:
    districts = {d.pk: d for d in visible_districts(actor)}
    qs = Rollout.objects.filter(district_id__in=list(districts)).select_related("item", "owner_unit")
    if district is not None:
        qs = qs.filter(district=district)
    if item is not None:
        qs = qs.filter(item=item)
    rollouts = list(qs)
    for r in rollouts:
        r.district = districts[r.district_id]  # the light copy, without the boundary
    return rollouts


def promotion_alerts(
    today: dt.date | None = None,
    *,
    actor: Actor = None,
    district: Area | None = None,
    item: Item | None = None,
) -> list[Alert]:
    """Alerts as of ``today`` (default: today, local) for the roll-outs ``actor`` may see, in the order district,
    item, kind (进度滞后, 节点逾期, 指标未达标), metric."""
    today = today or local_today()
    rollouts = _rollouts(actor, district, item)
    if not rollouts:
        return []
    names = item_names({r.item_id for r in rollouts})
    start = today - dt.timedelta(days=ALERT_WINDOW_DAYS)
    perf = performance_table(
        Application.objects.filter(
            item_id__in={r.item_id for r in rollouts}, district_id__in={r.district_id for r in rollouts}
        ),
        start,
        today,
        times=False,
    )
    overdue: dict[int, list[Milestone]] = defaultdict(list)
    for m in Milestone.objects.filter(
        rollout__in=rollouts, due_date__lt=today, done_at__isnull=True
    ).select_related("owner_unit"):
        overdue[m.rollout_id].append(m)
    alerts: list[tuple[tuple[Any, ...], Alert]] = []
    for r in rollouts:
        base: dict[str, Any] = {
            "item_id": r.item_id,
            "item_code": r.item.code,
            "item_name": names.get(r.item_id, r.item.code),
            "district_id": r.district_id,
            "district_name": r.district.name,
            "rollout_id": r.pk,
        }

        def add(alert: Alert, r: Rollout = r) -> None:
            order = (
                r.district.code,
                r.item.sort,
                r.item.code,
                _KIND_ORDER[alert.kind],
                _METRIC_ORDER.get(alert.metric, 0),
                alert.due_date or dt.date.min,
                alert.milestone_id or 0,
            )
            alerts.append((order, alert))

        rank = STATE_RANK[RolloutState(r.state)]
        for field_name, state, words in TARGETS:
            due: dt.date | None = getattr(r, field_name)
            if due is not None and due < today and rank < STATE_RANK[state]:
                late = (today - due).days
                add(
                    Alert(
                        kind=AlertKind.BEHIND_SCHEDULE,
                        message=f"计划于{_date_label(due)}{words}，已逾期{late}天，目前为“{RolloutState(r.state).label}”",
                        metric=str(state),
                        due_date=due,
                        days_late=late,
                        owner=r.owner_unit.name if r.owner_unit else "",
                        **base,
                    )
                )
                break  # the most advanced target missed says it all
        for m in overdue.get(r.pk, []):
            late = (today - m.due_date).days
            owner = "、".join(x for x in (m.owner_name, m.owner_unit.name if m.owner_unit else "") if x)
            add(
                Alert(
                    kind=AlertKind.MILESTONE_OVERDUE,
                    message=f"节点“{m.title}”计划于{_date_label(m.due_date)}完成，已逾期{late}天"
                    + (f"（责任：{owner}）" if owner else ""),
                    due_date=m.due_date,
                    days_late=late,
                    milestone_id=m.pk,
                    owner=owner,
                    **base,
                )
            )
        if r.state == RolloutState.PLANNED:
            continue
        p = perf.get((r.item_id, r.district_id))
        if p is None:
            continue
        window = f"近{ALERT_WINDOW_DAYS}天"
        rate = p.on_time_rate
        if p.finished >= MIN_APPLICATIONS and rate is not None and rate < r.target_on_time_rate:
            add(
                Alert(
                    kind=AlertKind.BELOW_TARGET,
                    message=f"{window}按时办结率{_percent(rate)}，低于目标{_percent(r.target_on_time_rate)}（办结{p.finished}件，超期{p.finished - p.on_time}件）",
                    metric="on_time_rate",
                    value=rate,
                    target=r.target_on_time_rate,
                    **base,
                )
            )
        if p.ratings >= MIN_APPLICATIONS and p.mean_rating is not None and p.mean_rating < r.target_rating:
            add(
                Alert(
                    kind=AlertKind.BELOW_TARGET,
                    message=f"{window}平均评价{p.mean_rating:.2f}分，低于目标{r.target_rating:g}分（评价{p.ratings}件）",
                    metric="rating",
                    value=p.mean_rating,
                    target=r.target_rating,
                    **base,
                )
            )
        share = p.online_share
        if (
            r.state == RolloutState.FULLY_ONLINE
            and p.received >= MIN_APPLICATIONS
            and share is not None
            and share < r.target_online_share
        ):
            add(
                Alert(
                    kind=AlertKind.BELOW_TARGET,
                    message=f"{window}全程网办占比{_percent(share)}，低于目标{_percent(r.target_online_share)}（受理{p.received}件，全程网办{p.fully_online}件）",
                    metric="online_share",
                    value=share,
                    target=r.target_online_share,
                    **base,
                )
            )
    return [a for _, a in sorted(alerts, key=lambda pair: pair[0])]


# ------------------------------------------------------------------------------------------------- dashboard


def months_back(today: dt.date, months: int) -> list[tuple[int, int]]:
    out = []
    y, m = today.year, today.month
    for _ in range(months):
        out.append((y, m))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return list(reversed(out))


@dataclass
class Dashboard:
    districts: list[Area]
    items: list[dict[str, Any]]  # {"id","code","name","stage","stage_label"} in list order
    matrix: dict[tuple[int, int], Rollout]  # (item id, district id) -> roll-out
    state_counts: dict[str, int]
    months: list[tuple[int, int]]
    volume: dict[int, list[int]]  # district id -> received per month
    by_district: dict[int, Performance]  # the period's performance per district
    totals: Performance
    alerts: list[Alert]
    milestones: list[Milestone]  # open milestones, soonest first
    start: dt.date
    end: dt.date
    extra: dict[str, Any] = field(default_factory=dict)

    def matrix_rows(self) -> list[dict[str, Any]]:
        return [
            {**item, "cells": [self.matrix.get((item["id"], d.pk)) for d in self.districts]}
            for item in self.items
        ]

    def charts(self) -> dict[str, Any]:
        """The charts' numbers (the page adds its words): volume by month per district; on-time rate, mean
        rating and online share per district over the period."""
        names = [d.name for d in self.districts]
        perf = [self.by_district.get(d.pk, Performance()) for d in self.districts]
        return {
            "months": [f"{y}-{m:02d}" for y, m in self.months],
            "districts": names,
            "volume": [self.volume.get(d.pk, [0] * len(self.months)) for d in self.districts],
            "on_time_rate": [
                None if p.on_time_rate is None else round(100 * p.on_time_rate, 1) for p in perf
            ],
            "rating": [p.mean_rating for p in perf],
            "online_share": [
                None if p.online_share is None else round(100 * p.online_share, 1) for p in perf
            ],
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "districts": [{"id": d.pk, "code": d.code, "name": d.name} for d in self.districts],
            "items": [
                {
                    **item,
                    "states": {
                        str(d.pk): (
                            self.matrix[(item["id"], d.pk)].state
                            if (item["id"], d.pk) in self.matrix
                            else None
                        )
                        for d in self.districts
                    },
                }
                for item in self.items
            ],
            "state_counts": self.state_counts,
            "totals": self.totals.as_dict(),
            "by_district": {
                str(d.pk): self.by_district.get(d.pk, Performance()).as_dict() for d in self.districts
            },
            "charts": self.charts(),
            "alerts": [a.as_dict() for a in self.alerts],
            "milestones": [
                {
                    "id": m.pk,
                    "rollout_id": m.rollout_id,
                    "item": m.rollout.item.code,
                    "district": m.rollout.district.name,
                    "title": m.title,
                    "due_date": m.due_date.isoformat(),
                    "owner_name": m.owner_name,
                    "overdue": m.due_date < self.end,
                }
                for m in self.milestones
            ],
        }


def dashboard(actor: Actor, *, today: dt.date | None = None, months: int = 12) -> Dashboard:
    """Everything the promotion dashboard shows, for the districts ``actor`` may see: the items × districts
    matrix of roll-out states, received applications per month per district over ``months`` months (the
    current one included), each district's performance over those months, the alerts and the open milestones."""
    today = today or local_today()
    months = max(1, min(months, 36))
    districts = visible_districts(actor)
    ids = [d.pk for d in districts]
    by_id = {d.pk: d for d in districts}
    rollouts = list(Rollout.objects.filter(district_id__in=ids))
    item_ids = {r.item_id for r in rollouts} | set(
        ItemVersion.objects.filter(status=VersionStatus.PUBLISHED).values_list("item_id", flat=True)
    )
    names = item_names(item_ids)
    stage_labels = dict(Stage.choices)
    items = [
        {
            "id": i.pk,
            "code": i.code,
            "name": names.get(i.pk, i.code),
            "stage": i.stage,
            "stage_label": str(stage_labels.get(i.stage, i.stage)),
        }
        for i in Item.objects.filter(pk__in=item_ids).order_by("sort", "code")
    ]
    matrix = {(r.item_id, r.district_id): r for r in rollouts}
    counts = {s: 0 for s in RolloutState.values}
    for r in rollouts:
        counts[r.state] += 1
    month_list = months_back(today, months)
    start = dt.date(month_list[0][0], month_list[0][1], 1)
    end = today + dt.timedelta(days=1)
    apps = Application.objects.filter(district_id__in=ids)
    volume: dict[int, list[int]] = {pk: [0] * len(month_list) for pk in ids}
    index = {ym: i for i, ym in enumerate(month_list)}
    for row in (
        apps.filter(submitted_at__gte=_day_start(start), submitted_at__lt=_day_start(end))
        .annotate(month=TruncMonth("submitted_at", tzinfo=workcalendar.local_tz()))
        .values("district_id", "month")
        .annotate(n=Count("id"))
        .order_by()
    ):
        month = row["month"]
        ym = (month.year, month.month)
        if ym in index:
            volume[row["district_id"]][index[ym]] += row["n"]
    per_district = performance_table(apps, start, end, group=("district_id",), times=False)
    totals = performance_table(apps, start, end, group=(), times=True).get((), Performance())
    open_milestones = list(
        Milestone.objects.filter(rollout__district_id__in=ids, done_at__isnull=True)
        .select_related("rollout__item")
        .order_by("due_date", "id")[:50]
    )
    for m in open_milestones:
        m.rollout.district = by_id[m.rollout.district_id]
    return Dashboard(
        districts=districts,
        items=items,
        matrix=matrix,
        state_counts=counts,
        months=month_list,
        volume=volume,
        by_district={k[0]: v for k, v in per_district.items()},
        totals=totals,
        alerts=promotion_alerts(today, actor=actor),
        milestones=open_milestones,
        start=start,
        end=today,
    )


# ------------------------------------------------------------------------------------------- monthly report


@dataclass(frozen=True)
class ReportRow:
    item_id: int
    code: str
    name: str
    stage_label: str
    state: str  # "" when the item has no roll-out plan in the district
    state_label: str
    performance: Performance
    target_on_time_rate: float | None
    target_rating: float | None
    target_online_share: float | None
    milestones_due: int  # milestones due in the month
    milestones_done: int  # of those, done
    alerts: int  # current alerts of the item in the district

    @property
    def on_time_ok(self) -> bool | None:
        rate, target = self.performance.on_time_rate, self.target_on_time_rate
        return None if rate is None or target is None else rate >= target

    @property
    def rating_ok(self) -> bool | None:
        score, target = self.performance.mean_rating, self.target_rating
        return None if score is None or target is None else score >= target

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": {"id": self.item_id, "code": self.code, "name": self.name},
            "stage_label": self.stage_label,
            "state": self.state,
            "state_label": self.state_label,
            **self.performance.as_dict(),
            "target_on_time_rate": self.target_on_time_rate,
            "target_rating": self.target_rating,
            "target_online_share": self.target_online_share,
            "milestones_due": self.milestones_due,
            "milestones_done": self.milestones_done,
            "alerts": self.alerts,
        }


@dataclass(frozen=True)
class MonthlyReport:
    district: Area
    year: int
    month: int
    rows: list[ReportRow]
    totals: Performance
    alerts: list[Alert]
    today: dt.date

    @property
    def title(self) -> str:
        return f"{self.district.name}{self.year}年{self.month}月高效办成一件事推进月报"

    def as_dict(self) -> dict[str, Any]:
        return {
            "district": {"id": self.district.pk, "code": self.district.code, "name": self.district.name},
            "year": self.year,
            "month": self.month,
            "title": self.title,
            "rows": [r.as_dict() for r in self.rows],
            "totals": self.totals.as_dict(),
            "alerts": [a.as_dict() for a in self.alerts],
            "as_of": self.today.isoformat(),
        }


def monthly_report(
    district: Area, year: int, month: int, *, actor: Actor = None, today: dt.date | None = None
) -> MonthlyReport:
    """The month's report of a district: one row per item that has a roll-out plan in the district or
    applications there in the month (list order), with its state, the month's performance, its targets, the
    milestones due in the month, and the current alerts (as of ``today``)."""
    if actor is not None:
        district = access_district(actor, district.pk)
    start, end = month_bounds(year, month)
    today = today or local_today()
    apps = Application.objects.filter(district=district)
    perf = performance_table(apps, start, end, group=("item_id",))
    rollouts = {r.item_id: r for r in Rollout.objects.filter(district=district)}
    item_ids = set(rollouts) | {k[0] for k in perf}
    names = item_names(item_ids)
    alerts = promotion_alerts(today, district=district)
    alert_count: dict[int, int] = defaultdict(int)
    for a in alerts:
        alert_count[a.item_id] += 1
    due: dict[int, list[bool]] = defaultdict(list)
    for rollout_item, done_at in Milestone.objects.filter(
        rollout__district=district, due_date__gte=start, due_date__lt=end
    ).values_list("rollout__item_id", "done_at"):
        due[rollout_item].append(done_at is not None)
    stage_labels = dict(Stage.choices)
    rows = []
    for item in Item.objects.filter(pk__in=item_ids).order_by("sort", "code"):
        r = rollouts.get(item.pk)
        rows.append(
            ReportRow(
                item_id=item.pk,
                code=item.code,
                name=names.get(item.pk, item.code),
                stage_label=str(stage_labels.get(item.stage, item.stage)),
                state=r.state if r else "",
                state_label=str(RolloutState(r.state).label) if r else "未列入推进计划",
                performance=perf.get((item.pk,), Performance()),
                target_on_time_rate=r.target_on_time_rate if r else None,
                target_rating=r.target_rating if r else None,
                target_online_share=r.target_online_share if r else None,
                milestones_due=len(due.get(item.pk, [])),
                milestones_done=sum(due.get(item.pk, [])),
                alerts=alert_count.get(item.pk, 0),
            )
        )
    totals = performance_table(apps, start, end, group=()).get((), Performance())
    return MonthlyReport(
        district=district, year=year, month=month, rows=rows, totals=totals, alerts=alerts, today=today
    )


XLSX_HEADER = (
    "事项编码",
    "一件事",
    "生命周期阶段",
    "推进状态",
    "受理量",
    "办结量",
    "按时办结",
    "按时办结率",
    "目标按时办结率",
    "平均用时(工作日)",
    "90分位用时(工作日)",
    "评价数",
    "平均评价",
    "目标平均评价",
    "全程网办件数",
    "全程网办占比",
    "目标全程网办占比",
    "本月到期节点",
    "本月完成节点",
    "当前预警",
)
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def monthly_report_xlsx(report: MonthlyReport) -> bytes:
    """The monthly report as an Excel workbook: sheet 月报 (a title row, a header row, one row per item, a
    total row) and sheet 预警 (the district's current alerts). Shares are fractions formatted as percentages."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "月报"
    ws.append([report.title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(
        [f"统计期：{report.year}年{report.month}月；预警截至{_date_label(report.today)}；用时按工作日计"]
    )
    ws.append(list(XLSX_HEADER))
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    percent_cols = {8, 9, 16, 17}

    def line(label: tuple[Any, ...], p: Performance, targets: tuple[Any, ...], tail: tuple[Any, ...]) -> None:
        ws.append(
            [
                *label,
                p.received,
                p.finished,
                p.on_time,
                p.on_time_rate,
                targets[0],
                p.mean_days,
                p.p90_days,
                p.ratings,
                p.mean_rating,
                targets[1],
                p.fully_online,
                p.online_share,
                targets[2],
                *tail,
            ]
        )
        for col in percent_cols:
            ws.cell(row=ws.max_row, column=col).number_format = "0.0%"

    for r in report.rows:
        line(
            (r.code, r.name, r.stage_label, r.state_label),
            r.performance,
            (r.target_on_time_rate, r.target_rating, r.target_online_share),
            (r.milestones_due, r.milestones_done, r.alerts),
        )
    line(
        ("合计", "", "", ""),
        report.totals,
        (None, None, None),
        (
            sum(r.milestones_due for r in report.rows),
            sum(r.milestones_done for r in report.rows),
            len(report.alerts),
        ),
    )
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    widths = {1: 16, 2: 28, 3: 12, 4: 14}
    for col in range(1, len(XLSX_HEADER) + 1):
        ws.column_dimensions[get_column_letter(col)].width = widths.get(col, 11)
    ws.freeze_panes = "C4"

    alerts = wb.create_sheet("预警")
    alerts.append(["类型", "事项编码", "一件事", "区县", "说明", "计划日期", "逾期天数", "责任"])
    for cell in alerts[1]:
        cell.font = Font(bold=True)
    for a in report.alerts:
        alerts.append(
            [
                a.kind_label,
                a.item_code,
                a.item_name,
                a.district_name,
                a.message,
                a.due_date,
                a.days_late,
                a.owner,
            ]
        )
    for letter, width in zip("ABCDEFGH", (12, 16, 28, 10, 70, 12, 10, 24), strict=True):
        alerts.column_dimensions[letter].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def report_filename(report: MonthlyReport) -> str:
    return f"onething-report-{report.district.code}-{report.year}{report.month:02d}.xlsx"
