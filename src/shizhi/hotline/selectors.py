"""Every read of cases that filters by scope: the centre sees all, a unit its own assignments, an area role its
area, a citizen their own requests. Objects outside the scope do not exist for the reader (404)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from shizhi.core import masking
from shizhi.core.errors import NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import Role, User
from shizhi.core.permissions import actor_scope, has_perm, roles_with
from shizhi.core.selectors import Actor, can_see_pii
from shizhi.hotline.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentStatus,
    Case,
    CaseEvent,
    CaseStatus,
    Category,
    Extension,
    ExtensionStatus,
    KnowledgeArticle,
)


def _scope_unit_ids(actor: User, roles: AbstractSet[str]) -> set[int]:
    """The units whose cases ``actor`` sees through these (case-viewing) roles."""
    scope = actor_scope(actor)
    return set().union(*(scope.unit_ids.get(r, set()) for r in roles)) if roles else set()


def _has_part(unit_ids: set[int] | int) -> Exists:
    """The case has a (not withdrawn) assignment of one of these units. Answered per case from the index
    assign_case_unit_idx (case, unit, status)."""
    units = Q(unit_id__in=unit_ids) if isinstance(unit_ids, set) else Q(unit_id=unit_ids)
    return Exists(
        Assignment.objects.filter(units, case=OuterRef("pk")).exclude(status=AssignmentStatus.WITHDRAWN)
    )


def case_scope_q(actor: Actor) -> Q | None:
    """The filter for the cases ``actor`` may see; ``None`` means all of them."""
    if actor is None or not actor.is_authenticated:
        return Q(pk__in=[])
    scope = actor_scope(actor)
    roles = set(roles_with("hotline.view_cases")) & set(scope.roles)
    if roles and scope.is_city_wide(roles):
        return None
    condition = Q(pk__in=[])
    unit_ids = _scope_unit_ids(actor, roles)
    if unit_ids:
        condition |= Q(_has_part(unit_ids))
    for path in scope.all_area_paths(roles) if roles else ():
        condition |= Q(area_path__startswith=path)
    if Role.CITIZEN in scope.roles:
        condition |= Q(citizen_id=actor.pk)
    return condition


def visible_cases(actor: Actor) -> QuerySet[Case]:
    q = case_scope_q(actor)
    qs = Case.objects.all()
    return qs if q is None else qs.filter(q)


def access_case(*, actor: Actor, case_id: int | None = None, number: str | None = None) -> Case:
    qs = visible_cases(actor).select_related(
        "category", "lead_unit", "grid", "community", "street", "district"
    )
    case = qs.filter(pk=case_id).first() if case_id is not None else qs.filter(number=number or "").first()
    if case is None:
        raise NotFound("工单")
    return case


def case_by_number_and_phone(number: str, phone: str) -> Case:
    """The citizen's tracking lookup (查询进度): both must match; otherwise it does not exist for them."""
    phone = (phone or "").replace(" ", "")
    case = Case.objects.select_related("category", "lead_unit").filter(number=(number or "").strip()).first()
    if case is None or not phone or case.citizen_phone != phone:
        raise NotFound("工单")
    return case


@dataclass
class CaseFilters:
    status: str | None = None
    open: bool | None = None
    category: str | None = None  # a category code: includes its subcategories
    unit: int | None = None  # any assignment of this unit
    area: int | None = None  # an area id: includes everything under it
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    overdue: bool | None = None
    text: str | None = None
    channel: str | None = None
    demand_type: str | None = None
    number: str | None = None


def case_list(*, actor: Actor, filters: CaseFilters | None = None) -> QuerySet[Case]:
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied()
    f = filters or CaseFilters()
    assert isinstance(actor, User)
    roles = set(roles_with("hotline.view_cases")) & set(actor_scope(actor).roles)
    if f.unit is not None and f.unit in _scope_unit_ids(actor, roles):
        # The unit filter already limits the list to cases the actor's own unit has a part in, all of which
        # the actor may see: a second, identical scope condition would only double the work per row (and on
        # PostgreSQL squares the row estimate, which then sorts thousands of rows for one page).
        qs = Case.objects.all()
    else:
        qs = visible_cases(actor)
    if f.status:
        if f.status not in CaseStatus.values:
            raise ValidationFailed("状态不正确", details={"field": "status", "allowed": CaseStatus.values})
        qs = qs.filter(status=f.status)
    if f.open is not None:
        qs = qs.filter(status__in=OPEN_STATUSES) if f.open else qs.exclude(status__in=OPEN_STATUSES)
    if f.category:
        category = Category.objects.filter(code=f.category).first()
        if category is None:
            raise ValidationFailed("诉求分类不存在", details={"field": "category"})
        qs = qs.filter(category_path__startswith=category.path)
    if f.unit is not None:
        qs = qs.filter(_has_part(f.unit))
    if f.area is not None:
        from shizhi.core.selectors import access_area

        qs = qs.filter(area_path__startswith=access_area(actor=actor, area_id=f.area).path)
    if f.since:
        qs = qs.filter(received_at__gte=f.since)
    if f.until:
        qs = qs.filter(received_at__lt=f.until)
    if f.overdue is not None:
        qs = qs.filter(is_overdue=f.overdue)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.demand_type:
        qs = qs.filter(demand_type=f.demand_type)
    if f.number:
        qs = qs.filter(number=f.number.strip())
    if f.text:
        text = f.text.strip()[:64]
        qs = qs.filter(Q(title__contains=text) | Q(content__contains=text) | Q(number=text))
    return qs.select_related("category", "lead_unit").order_by("-received_at", "-id")


def unit_inbox(*, actor: Actor) -> QuerySet[Assignment]:
    """The actor's units' assignments that need action: to accept, to handle (lead), to answer (assist)."""
    if not has_perm(actor, "hotline.handle"):
        raise PermissionDenied()
    assert isinstance(actor, User)
    scope = actor_scope(actor)
    units = scope.unit_ids.get(Role.UNIT_HANDLER, set()) | scope.unit_ids.get(Role.UNIT_LEADER, set())
    return (
        Assignment.objects.filter(
            unit_id__in=units, status__in=[AssignmentStatus.DISPATCHED, AssignmentStatus.ACCEPTED]
        )
        .exclude(case__status__in=[CaseStatus.REPLIED, CaseStatus.CLOSED, CaseStatus.MERGED])
        .select_related("case", "case__category", "unit")
        .order_by("accept_due_at", "id")
    )


def pending_extensions(*, actor: Actor) -> QuerySet[Extension]:
    if not has_perm(actor, "hotline.decide_extension"):
        raise PermissionDenied()
    return (
        Extension.objects.filter(status=ExtensionStatus.PENDING).select_related("case", "unit").order_by("id")
    )


def citizen_view(actor: Actor, case: Case) -> dict[str, str]:
    """The citizen's name and phone as this reader may see them (masked without core.view_pii)."""
    own = actor is not None and actor.is_authenticated and case.citizen_id == actor.pk
    if own or can_see_pii(actor):
        return {"citizen_name": case.citizen_name, "citizen_phone": case.citizen_phone}
    return {
        "citizen_name": masking.mask_name(case.citizen_name),
        "citizen_phone": masking.mask_mobile(case.citizen_phone),
    }


DETAIL_RELATED = ("category", "lead_unit", "grid", "community", "street", "district", "merged_into")
DETAIL_PREFETCH = (
    "assignments__unit",
    "extensions__unit",
    "supervisions",
    "events__unit",
    "merged_cases",
    "related",
)


def case_for_detail(case_id: int) -> Case:
    """A case with everything its detail shows: its references joined, its relations prefetched."""
    return Case.objects.select_related(*DETAIL_RELATED).prefetch_related(*DETAIL_PREFETCH).get(pk=case_id)


def remember_new(case: Case, first_event: CaseEvent) -> None:
    """A case intake has just created has no assignments, extensions, supervisions, merged or related cases and
    one timeline entry: say so in Django's prefetch cache, so that its detail needs no query."""
    case._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "assignments": [],
        "extensions": [],
        "supervisions": [],
        "events": [first_event],
        "merged_cases": [],
        "related": [],
    }


def is_fresh(case: Case) -> bool:
    cache = getattr(case, "_prefetched_objects_cache", {})
    return all(name.split("__")[0] in cache for name in DETAIL_PREFETCH)


def timeline(case: Case) -> list[dict[str, Any]]:
    """The case's timeline, oldest first (uses prefetched events when the case has them)."""
    cache = getattr(case, "_prefetched_objects_cache", {})
    events = (
        sorted(cache["events"], key=lambda e: (e.created_at, e.pk))
        if "events" in cache
        else case.events.select_related("unit").order_by("created_at", "id")
    )
    return [
        {
            "id": e.pk,
            "action": e.action,
            "actor": e.actor_label,
            "unit": e.unit.name if e.unit else None,
            "status_from": e.status_from,
            "status_to": e.status_to,
            "note": e.note,
            "data": e.data,
            "created_at": e.created_at,
        }
        for e in events
    ]


# ---------------------------------------------------------------------------------------------- knowledge base


def bigrams(text: str) -> set[str]:
    """Character bigrams of the letters and digits: Chinese text compared without a tokenizer."""
    chars = [c for c in (text or "").lower() if c.isalnum()]
    grams = {a + b for a, b in itertools.pairwise(chars)}
    return grams | set(chars) if len(chars) < 3 else grams


def knowledge_search(
    query: str, *, limit: int = 10, include_unpublished: bool = False
) -> list[tuple[float, KnowledgeArticle]]:
    """Chinese search without a tokenizer: character-bigram overlap between the query and each article's title,
    keywords, question and answer (title and keywords weigh most), ranked. Fast for the few thousand answers a
    hotline keeps."""
    q = bigrams(query or "")
    if not q:
        return []
    qs = (
        KnowledgeArticle.objects.all()
        if include_unpublished
        else KnowledgeArticle.objects.filter(is_published=True)
    )
    scored = []
    for article in qs.select_related("category"):
        title, kw = bigrams(article.title), bigrams(article.keywords)
        question, answer = bigrams(article.question), bigrams(article.answer)
        score = (3 * len(q & title) + 3 * len(q & kw) + 2 * len(q & question) + len(q & answer)) / (
            3 * len(q)
        )
        if score > 0.1:
            scored.append((round(score, 4), article))
    scored.sort(key=lambda pair: (-pair[0], -pair[1].times_used, pair[1].pk))
    return scored[:limit]


UNIT_ACTIONS = {
    # action -> (assignment statuses, role or None for either)
    "accept": ({AssignmentStatus.DISPATCHED}, None),
    "return": ({AssignmentStatus.DISPATCHED, AssignmentStatus.ACCEPTED}, None),
    "start": ({AssignmentStatus.ACCEPTED}, "lead"),
    "reply": ({AssignmentStatus.ACCEPTED}, "lead"),
    "request_extension": ({AssignmentStatus.ACCEPTED}, "lead"),
    "assist_note": ({AssignmentStatus.ACCEPTED}, "assist"),
}


def allowed_actions(actor: Actor, case: Case) -> list[str]:
    """The workflow actions this actor may take on this case now (buttons on pages, hints in the API)."""
    from shizhi.hotline.services.common import ACTION_PERMISSION, TRANSITIONS, actor_units

    if actor is None or not actor.is_authenticated:
        return []
    assert isinstance(actor, User)
    units = actor_units(actor)
    mine = [
        a for a in case.assignments.all() if a.unit_id in units and a.status != AssignmentStatus.WITHDRAWN
    ]
    out = []
    for action, (allowed, _target) in TRANSITIONS.items():
        if not has_perm(actor, ACTION_PERMISSION[action]):
            continue
        if action in UNIT_ACTIONS:
            statuses, role = UNIT_ACTIONS[action]
            ok = [a for a in mine if a.status in statuses and (role is None or a.role == role)]
            if not ok:
                continue
            if ok[0].role == "assist" and action in ("accept", "return"):
                out.append(action)  # an assisting unit's accept/return does not depend on the case state
                continue
        if case.status not in allowed:
            continue
        if action == "reopen" and case.solved is not False and case.satisfied is not False:
            continue
        if (
            action == "decide_extension"
            and not case.extensions.filter(status=ExtensionStatus.PENDING).exists()
        ):
            continue
        if action == "request_extension" and case.extensions.filter(status=ExtensionStatus.PENDING).exists():
            continue
        out.append(action)
    return out
