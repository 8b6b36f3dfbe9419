"""Reads the hotline pages need beyond ``selectors``: the intake desk's similar-case check, batched dispatch
suggestions for the queue, the inbox and board shapes, a case page in one place, the citizen's plain-words
timeline, and the public district outlines of the portal map. Same rules as ``selectors``: scope first."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shizhi.ai import similar
from shizhi.ai.similar import ReplySuggestion, SimilarCase
from shizhi.core import geo
from shizhi.core import selectors as core_selectors
from shizhi.core.errors import ValidationFailed
from shizhi.core.models import Area, AreaLevel, Unit
from shizhi.core.permissions import has_perm
from shizhi.core.selectors import Actor
from shizhi.hotline import rates, selectors, services
from shizhi.hotline.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Case,
    CaseStatus,
    Category,
    Extension,
    ExtensionStatus,
    Supervision,
)
from shizhi.hotline.sla import sla_setting

log = logging.getLogger(__name__)

# What each workflow action is called on the pages, in the page's language (services.ACTION_LABELS is the
# platform language, for timelines and audit records).
ACTION_TITLES: dict[str, Any] = {
    "create": _("受理"),
    "answer_directly": _("直接答复"),
    "dispatch": _("派单"),
    "add_assist": _("增派协办单位"),
    "accept": _("签收"),
    "return": _("退单"),
    "approve_return": _("同意退单并改派"),
    "reject_return": _("驳回退单"),
    "start": _("开始办理"),
    "assist_note": _("协办反馈"),
    "request_extension": _("申请延期"),
    "decide_extension": _("审批延期"),
    "reply": _("答复"),
    "callback": _("回访"),
    "reopen": _("重办"),
    "merge": _("合并"),
    "merged_follow": _("随主工单答复"),
    "supervise": _("督办"),
    "link": _("关联工单"),
    "attach": _("上传附件"),
    "sla_overdue": _("超期"),
    "citizen_rate": _("评价"),
}


def action_title(action: str) -> str:
    return str(ACTION_TITLES.get(action, action))


# ---------------------------------------------------------------------------------------------- taxonomy, units


def category_groups() -> list[tuple[Category, list[Category]]]:
    """The active taxonomy grouped by its top level (one ``<optgroup>`` each), in catalogue order; a top level
    without subcategories is its own only option. One query."""
    active = list(Category.objects.filter(is_active=True).order_by("path"))
    tops = [c for c in active if c.parent_id is None]
    groups: list[tuple[Category, list[Category]]] = []
    for top in tops:
        below = [c for c in active if c.path.startswith(top.path) and c.pk != top.pk]
        groups.append((top, below or [top]))
    return groups


def active_units() -> QuerySet[Unit]:
    return Unit.objects.filter(is_active=True).select_related("area").order_by("kind", "code")


def resolve_units(text: str, *, field: str) -> list[Unit]:
    """Units named in a text field (``<input list>``): names or codes separated by commas, 、 or new lines."""
    names = [n.strip() for n in _split(text) if n.strip()]
    if not names:
        return []
    found = {u.name: u for u in Unit.objects.filter(Q(name__in=names) | Q(code__in=names))}
    found.update({u.code: u for u in found.values()})
    missing = [n for n in names if n not in found]
    if missing:
        raise ValidationFailed(
            f"找不到承办单位：{'、'.join(missing)}", details={"field": field, "missing": missing}
        )
    units: list[Unit] = []
    for n in names:
        if found[n] not in units:
            units.append(found[n])
    return units


def _split(text: str) -> list[str]:
    for sep in ("，", "、", ";", "；", "\n"):
        text = text.replace(sep, ",")
    return (text or "").split(",")


# ---------------------------------------------------------------------------------------------- similar cases


@dataclass
class SimilarResult:
    """The intake desk's similar-cases panel: the cases (``shizhi.ai.similar.SimilarCase``, each with its
    reasons) and the street the typed location lies in (the panel's "定位" line)."""

    cases: list[SimilarCase] = field(default_factory=list)
    street: Area | None = None


def similar_open_cases(
    *,
    actor: Actor,
    title: str = "",
    content: str = "",
    phone: str = "",
    lng: float | None = None,
    lat: float | None = None,
    limit: int = 10,
    now: dt.datetime | None = None,
) -> SimilarResult:
    """Open cases a request being typed may repeat (``shizhi.ai.similar.similar_open_cases``): the same
    caller's phone, or like words in the same grid or within 1 km, received within 30 days of ``now``. Only
    cases the actor may see. The location is placed in its grid and street once, here."""
    street = grid_id = None
    if lng is not None and lat is not None:
        location = core_selectors.locate_point(lng, lat)
        street = location.street
        grid_id = location.grid.pk if location.grid else None
    cases = similar.similar_open_cases(
        actor=actor,
        title=title,
        content=content,
        phone=phone,
        lng=lng,
        lat=lat,
        grid_id=grid_id,
        at=now,
        limit=limit,
    )
    return SimilarResult(cases=cases, street=street)


def similar_to_case(*, actor: Actor, case: Case, limit: int = 5) -> list[SimilarCase]:
    """Other open cases the actor may see that ``case`` may repeat (or be repeated by): like words in its grid
    or within 1 km, received within 30 days of it."""
    return similar.similar_open_cases(
        actor=actor,
        title=case.title,
        content=case.content,
        lng=case.lng,
        lat=case.lat,
        grid_id=case.grid_id,
        at=case.received_at,
        exclude_case_id=case.pk,
        limit=limit,
    )


def reply_suggestions_for(*, actor: Actor, case: Case, limit: int = 3) -> list[ReplySuggestion]:
    """How similar resolved cases the actor may see were answered (答复参考), for the reply to ``case``."""
    return similar.reply_suggestions(
        actor=actor,
        title=case.title,
        content=case.content,
        category_id=case.category_id,
        exclude_case_id=case.pk,
        limit=limit,
    )


def _assisted(read: Callable[[], list[Any]], what: str) -> list[Any]:
    """An assistance read on a work page: if it fails, the page still works without it (and the failure is
    logged), because the case itself must stay workable."""
    try:
        return read()
    except Exception:
        log.exception("hotline: %s failed; the page is shown without it", what)
        return []


# ---------------------------------------------------------------------------------------------- dispatch


def suggestions_for(cases: list[Case]) -> dict[int, services.Suggestion]:
    return services.suggest_units(cases)


def dispatch_queue(*, actor: Actor) -> QuerySet[Case]:
    """Cases received and not yet dispatched, oldest first."""
    return (
        selectors.visible_cases(actor)
        .filter(status=CaseStatus.RECEIVED)
        .select_related("category", "street", "district")
        .order_by("received_at", "id")
    )


def returned_cases(*, actor: Actor) -> QuerySet[Case]:
    """Cases a lead unit sent back (退单), oldest first, with the returned assignment and its unit."""
    returned = Assignment.objects.filter(
        role=AssignmentRole.LEAD, status=AssignmentStatus.RETURNED
    ).select_related("unit")
    return (
        selectors.visible_cases(actor)
        .filter(status=CaseStatus.RETURNED)
        .select_related("category", "street", "district", "lead_unit")
        .prefetch_related(Prefetch("assignments", queryset=returned, to_attr="returned_assignments"))
        .order_by("updated_at", "id")
    )


# ---------------------------------------------------------------------------------------------- unit inbox


def inbox(*, actor: Actor) -> QuerySet[Assignment]:
    """The unit's assignments to act on (``selectors.unit_inbox``) with what the rows show: the case's
    pending extension and open supervisions, in the same query."""
    pending = Extension.objects.filter(case=OuterRef("case_id"), status=ExtensionStatus.PENDING)
    supervised = Supervision.objects.filter(case=OuterRef("case_id"), resolved_at__isnull=True)
    return (
        selectors.unit_inbox(actor=actor)
        .select_related("case__street")
        .annotate(has_pending_extension=Exists(pending), supervised=Exists(supervised))
    )


def mark_acceptance(assignments: list[Assignment], now: dt.datetime) -> list[Assignment]:
    """``accept_late``: still waiting to be accepted after its acceptance deadline."""
    for a in assignments:
        a.accept_late = a.status == AssignmentStatus.DISPATCHED and a.accept_due_at < now  # type: ignore[attr-defined]
    return assignments


# ---------------------------------------------------------------------------------------------- supervisor board


def month_add(month: int, delta: int) -> int:
    index = (month // 100) * 12 + (month % 100 - 1) + delta
    return (index // 12) * 100 + index % 12 + 1


def board(*, actor: Actor, month: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """The supervisor's board: open overdue, flagged and due-soon cases in the actor's scope; the three rates of
    the month; the city-wide trend of the last 12 months; units and districts ranked."""
    now = now or timezone.now()
    period = rates.Period.months(month)
    city = rates.compute_rates(actor=actor, period=period, group="city")
    first = month_add(month, -11)
    trend_rows = {
        r.extra["month"]: r
        for r in rates.compute_rates(
            actor=actor, period=rates.Period.months(first, month), group="city", by_month=True
        )
    }
    trend_dicts: list[dict[str, Any]] = []
    for i in range(12):
        m = month_add(first, i)
        row = trend_rows.get(m)
        d = row.as_dict() if row else rates.Rates(key=None).as_dict()
        d["month"] = m
        trend_dicts.append(d)
    open_cases = (
        selectors.visible_cases(actor)
        .filter(status__in=[*OPEN_STATUSES, CaseStatus.REPLIED])
        .select_related("category", "lead_unit", "street")
        .annotate(open_supervisions=Count("supervisions", filter=Q(supervisions__resolved_at__isnull=True)))
    )
    units = rates.ranking(actor=actor, period=period, group="unit")
    return {
        "month": month,
        "city": city[0].as_dict() if city else rates.Rates(key=None).as_dict(),
        "trend": trend_dicts,
        "units": units,
        "districts": rates.ranking(actor=actor, period=period, group="district"),
        "overdue": list(
            open_cases.filter(is_overdue=True, status__in=OPEN_STATUSES).order_by("due_at", "id")[:50]
        ),
        "flagged": list(open_cases.filter(flagged=True).order_by("-updated_at", "-id")[:50]),
        "due_soon": list(
            open_cases.filter(is_overdue=False, status__in=OPEN_STATUSES, due_at__isnull=False)
            .filter(
                Q(is_due_soon=True) | Q(due_at__lt=now + dt.timedelta(hours=sla_setting("due_soon_hours")))
            )
            .order_by("due_at", "id")[:50]
        ),
    }


def board_charts(data: dict[str, Any]) -> dict[str, Any]:
    """The two charts' data for the page's script, with the words already in the page's language."""
    return {
        "trend": {
            "months": [f"{m['month'] // 100}-{m['month'] % 100:02d}" for m in data["trend"]],
            "response": [m["response_rate"] for m in data["trend"]],
            "resolution": [m["resolution_rate"] for m in data["trend"]],
            "satisfaction": [m["satisfaction_rate"] for m in data["trend"]],
            "labels": {
                "response": gettext("响应率"),
                "resolution": gettext("解决率"),
                "satisfaction": gettext("满意率"),
                "axis": gettext("百分比"),
            },
        },
        "units": {
            "names": [u["name"] for u in data["units"] if u["composite"] is not None][:30],
            "values": [u["composite"] for u in data["units"] if u["composite"] is not None][:30],
            "labels": {"composite": gettext("综合得分"), "axis": gettext("分")},
        },
    }


# ---------------------------------------------------------------------------------------------- one case


def case_page(*, actor: Actor, case: Case) -> dict[str, Any]:
    """Everything the case page shows, each list in one query."""
    case = Case.objects.select_related(
        "category", "lead_unit", "grid", "community", "street", "district", "merged_into", "created_by"
    ).get(pk=case.pk)
    assignments = list(case.assignments.select_related("unit", "handler").order_by("id"))
    actions = selectors.allowed_actions(actor, case)
    own = actor is not None and actor.is_authenticated and case.citizen_id == actor.pk
    staff = has_perm(actor, "hotline.view_cases")
    if own and case.status == CaseStatus.REPLIED:
        actions.append("citizen_rate")
    can_link = any(has_perm(actor, p) for p in ("hotline.merge", "hotline.supervise", "hotline.dispatch"))
    extensions = list(case.extensions.select_related("unit").order_by("id"))
    # 相似工单: for who may merge duplicates, while the case is open; 答复参考: for the unit writing the reply.
    show_similar = (
        staff and has_perm(actor, services.ACTION_PERMISSION["merge"]) and case.status in OPEN_STATUSES
    )
    return {
        "case": case,
        "citizen": selectors.citizen_view(actor, case),
        "assignments": assignments,
        "extensions": extensions,
        "pending_extension": next((e for e in extensions if e.status == ExtensionStatus.PENDING), None),
        "supervisions": list(case.supervisions.select_related("created_by", "unit").order_by("-id")),
        "timeline": timeline_rows(case) if staff else public_timeline(case),
        "staff": staff,
        "actions": actions,
        "can_link": can_link and case.status != CaseStatus.MERGED,
        "suggestion": services.suggest_unit(case) if case.status == CaseStatus.RECEIVED and staff else None,
        "articles": selectors.knowledge_search(f"{case.title} {case.content}", limit=5)
        if "answer_directly" in actions
        else [],
        "merged_cases": list(case.merged_cases.order_by("id").only("id", "number", "title", "status")),
        "related": list(case.related.order_by("id").only("id", "number", "title", "status")),
        "grid_boundary": case.grid.boundary if case.grid_id and case.grid else None,
        "returned": next((a for a in reversed(assignments) if a.status == AssignmentStatus.RETURNED), None),
        "show_similar": show_similar,
        "similar_cases": _assisted(lambda: similar_to_case(actor=actor, case=case), "similar cases")
        if show_similar
        else [],
        "reply_suggestions": _assisted(
            lambda: reply_suggestions_for(actor=actor, case=case), "reply suggestions"
        )
        if "reply" in actions
        else [],
    }


def timeline_rows(case: Case) -> list[dict[str, Any]]:
    rows = selectors.timeline(case)
    for row in rows:
        row["title"] = action_title(row["action"])
    return rows


# The citizen's timeline: what happened, in plain words, without staff names or internal notes.
PUBLIC_STEPS: dict[str, Any] = {
    "create": _("您的诉求已受理"),
    "answer_directly": _("已答复您的诉求"),
    "dispatch": _("已转交承办单位办理"),
    "approve_return": _("已转交新的承办单位办理"),
    "accept": _("承办单位已接收"),
    "start": _("承办单位正在办理"),
    "decide_extension": _("办理期限已延长"),
    "reply": _("承办单位已答复"),
    "merged_follow": _("已随相同诉求一并答复"),
    "merge": _("已与相同诉求合并办理"),
    "callback": _("已回访，工单办结"),
    "reopen": _("重新办理"),
    "supervise": _("热线中心已督办"),
}


def public_timeline(case: Case) -> list[dict[str, Any]]:
    """Steps a citizen sees (tracking page, 我的诉求): the step in plain words and the unit, never who."""
    out = []
    for e in case.events.select_related("unit").order_by("created_at", "id"):
        if e.action not in PUBLIC_STEPS:
            continue
        if e.action == "decide_extension" and not e.data.get("approved"):
            continue
        if e.action == "accept" and e.data.get("role") == AssignmentRole.ASSIST:
            continue
        if e.action == "merge" and "master" not in e.data:
            continue  # the master's own note about a duplicate
        unit = e.unit.name if e.unit and e.action in ("dispatch", "approve_return", "reply") else ""
        out.append({"created_at": e.created_at, "title": str(PUBLIC_STEPS[e.action]), "unit": unit})
    return out


# ---------------------------------------------------------------------------------------------- public map


def public_districts_geojson() -> dict[str, Any]:
    """The districts' outlines (no statistics) for the portal's map, cached until an area changes."""
    stamp = Area.objects.filter(level=AreaLevel.DISTRICT).aggregate(
        n=Count("id"), t=Max("updated_at"), i=Max("id")
    )
    key = f"hotline:districts:{stamp['n']}:{stamp['i']}:{stamp['t'].isoformat() if stamp['t'] else ''}"
    data = cache.get(key)
    if data is None:
        features = [
            {
                "type": "Feature",
                "id": a.pk,
                "properties": {"id": a.pk, "name": a.name},
                "geometry": a.boundary,
            }
            for a in Area.objects.filter(level=AreaLevel.DISTRICT, boundary__isnull=False)
            .only("id", "name", "boundary")
            .order_by("code")
            if a.boundary
        ]
        data = geo.feature_collection(features)
        cache.set(key, data, 600)
    return data
