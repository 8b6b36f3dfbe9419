"""The hotline centre's and the units' work pages: the operator's intake desk (受理) with its similar-cases
panel (相似工单, ``shizhi.ai.similar``), the dispatcher's queue (派单), and a unit's inbox (待办). Every write goes
through ``services``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shizhi.core.errors import ApplicationError, Conflict, ValidationFailed
from shizhi.core.models import User
from shizhi.core.permissions import has_perm
from shizhi.hotline import ai_assist, page_selectors, selectors, services
from shizhi.hotline.models import Case, Category, Channel, DemandType, SlaKind, Urgency
from shizhi.hotline.views.common import (
    actor,
    coordinates,
    form_token,
    new_token,
    pin_labels,
    staff_page,
    text,
    window,
)

# Channels an operator records (the others arrive through their own interfaces).
DESK_CHANNELS = [c for c in Channel if c not in (Channel.OPEN311, Channel.SENSOR)]


def _category(code: str) -> Category:
    category = Category.objects.filter(code=code, is_active=True).first() if code else None
    if category is None:
        raise ValidationFailed(gettext("请选择诉求分类"), details={"field": "category"})
    return category


def _case_in(data: Any, token: str) -> services.CaseIn:
    lng, lat = coordinates(data)
    return services.CaseIn(
        channel=text(data, "channel", 16),
        demand_type=text(data, "demand_type", 16),
        category=_category(text(data, "category", 32)),
        title=text(data, "title", 200),
        content=text(data, "content", 8000),
        citizen_name=text(data, "citizen_name", 64),
        citizen_phone="".join(text(data, "citizen_phone", 40).split()),
        address=text(data, "address", 400),
        lng=lng,
        lat=lat,
        urgency=text(data, "urgency", 8) or Urgency.NORMAL,
        anonymous=data.get("anonymous") == "1",
        idempotency_key=token,
    )


def _similar(request: HttpRequest, data: Any) -> dict[str, Any]:
    """The similar-cases panel: open cases of the same caller or like words nearby (same grid or within 1 km,
    30 days), each with its reasons and, for who may merge, a button that saves the new case into it; and for
    an inquiry the knowledge base's answers."""
    try:
        lng, lat = coordinates(data)
        result = page_selectors.similar_open_cases(
            actor=actor(request),
            title=text(data, "title", 200),
            content=text(data, "content", 4000),
            phone=text(data, "citizen_phone", 40),
            lng=lng,
            lat=lat,
        )
    except ValidationFailed:  # a half-typed coordinate: compare without the location
        result = page_selectors.similar_open_cases(
            actor=actor(request),
            title=text(data, "title", 200),
            content=text(data, "content", 4000),
            phone=text(data, "citizen_phone", 40),
        )
    query = f"{text(data, 'title', 200)} {text(data, 'content', 4000)}".strip()
    inquiry = data.get("demand_type") == DemandType.INQUIRY
    return {
        "ai": ai_assist.suggest(actor(request), text(data, "title", 200), text(data, "content", 4000)),
        "similar": result,
        "articles": selectors.knowledge_search(query, limit=5) if inquiry and query else [],
        "can_answer": has_perm(request.user, "hotline.answer_directly"),
        "can_merge": has_perm(request.user, services.ACTION_PERMISSION["merge"]),
        "checked": True,
    }


@staff_page("hotline.intake")
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest) -> HttpResponse:
    """The intake desk (受理台): record a call fast, see similar open cases and ready answers before saving."""
    values: dict[str, Any] = {
        "channel": Channel.PHONE,
        "demand_type": DemandType.COMPLAINT,
        "urgency": Urgency.NORMAL,
        "token": new_token(),
    }
    panel: dict[str, Any] = {}
    if request.method == "POST":
        values = request.POST.dict()
        values["token"] = token = form_token(request.POST)
        if request.POST.get("action") == "check":
            panel = _similar(request, request.POST)
        else:
            response = _save(request, token)
            if response is not None:
                return response
    return render(
        request,
        "hotline/intake.html",
        {
            "values": values,
            "groups": page_selectors.category_groups(),
            "channels": [(c.value, c.label) for c in DESK_CHANNELS],
            "demand_types": DemandType.choices,
            "urgencies": Urgency.choices,
            "pin_labels": pin_labels(),
            **panel,
        },
    )


# The timeline note of a merge made at intake (stored data: in the platform language, like the services' notes).
MERGE_AT_INTAKE_NOTE = "受理时发现与该未办结工单重复，一键合并"


def _merge_target(user: User, raw: str) -> Case | None:
    """The open case chosen in the similar-cases panel (``merge_into``), as the operator may see it."""
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationFailed(gettext("要合并到的工单不存在"), details={"field": "merge_into"})
    return selectors.access_case(actor=user, case_id=int(raw))


def _save(request: HttpRequest, token: str) -> HttpResponse | None:
    """Create the case, then answer it from the knowledge base or merge it into a similar open case when
    asked; None: show the form again. A refused answer or merge leaves the case recorded, and says so."""
    user = actor(request)
    try:
        article_id = request.POST.get("answer_article", "")
        article = services.knowledge_get(int(article_id)) if article_id.isdigit() else None
        master = None if article else _merge_target(user, text(request.POST, "merge_into", 12).strip())
        case = services.case_create(actor=user, data=_case_in(request.POST, token))
    except Conflict as exc:
        messages.error(request, exc.message)
        number = exc.details.get("number")
        if number:
            try:
                existing = selectors.access_case(actor=user, number=str(number))
            except ApplicationError:
                return None
            return redirect("hotline:case_detail", case_id=existing.pk)
        return None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return None
    ai_assist.record(user, case, ("category", "demand_type"))  # the classifiers' suggestions vs the choice
    messages.success(request, gettext("已受理，工单编号 %(number)s") % {"number": case.number})
    if article is not None:
        # The case is recorded either way; a refused answer leaves it received, to be dispatched.
        try:
            services.case_answer_directly(actor=user, case=case, reply=article.answer, article=article)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("已按知识库直接答复"))
    elif master is not None:
        try:
            services.case_merge(actor=user, master=master, duplicate=case, note=MERGE_AT_INTAKE_NOTE)
        except ApplicationError as exc:
            messages.error(
                request,
                gettext("工单 %(number)s 已受理，但未能合并到 %(master)s：%(reason)s")
                % {"number": case.number, "master": master.number, "reason": exc.message},
            )
        else:
            messages.success(
                request,
                gettext("工单 %(duplicate)s 已合并到 %(master)s")
                % {"duplicate": case.number, "master": master.number},
            )
    return redirect("hotline:case_detail", case_id=case.pk)


@staff_page("hotline.intake")
@require_GET
def similar(request: HttpRequest) -> HttpResponse:
    """The similar-cases panel as an HTML fragment, for the intake page's script."""
    return render(request, "hotline/_similar.html", _similar(request, request.GET))


@staff_page("hotline.dispatch")
@require_GET
def dispatch_queue(request: HttpRequest) -> HttpResponse:
    """The dispatcher's queue (派单台): new cases with the catalogue's suggestion, returns to review, extension
    requests to decide, and merging duplicates."""
    user = actor(request)
    page = window(request, page_selectors.dispatch_queue(actor=user), per_page=20)
    suggestions = page_selectors.suggestions_for(page.items)
    decide = has_perm(user, "hotline.decide_extension")
    return render(
        request,
        "hotline/dispatch.html",
        {
            "page": page,
            "rows": [(c, suggestions[c.pk]) for c in page.items],
            "returned": list(page_selectors.returned_cases(actor=user)[:50]),
            "extensions": list(selectors.pending_extensions(actor=user)[:50]) if decide else [],
            "units": page_selectors.active_units(),
            "sla_kinds": SlaKind.choices,
            "review": has_perm(user, "hotline.review_return"),
            "merge": has_perm(user, "hotline.merge"),
            "now": timezone.now(),
        },
    )


@staff_page("hotline.merge")
@require_POST
def merge(request: HttpRequest) -> HttpResponse:
    """Merge a duplicate (by number) into its master case (by number)."""
    user = actor(request)
    try:
        duplicate = selectors.access_case(actor=user, number=text(request.POST, "duplicate", 20).strip())
        master = selectors.access_case(actor=user, number=text(request.POST, "master", 20).strip())
        services.case_merge(
            actor=user, master=master, duplicate=duplicate, note=text(request.POST, "note", 500)
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            gettext("工单 %(duplicate)s 已合并到 %(master)s")
            % {"duplicate": duplicate.number, "master": master.number},
        )
    return redirect("hotline:dispatch")


@staff_page("hotline.handle")
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """A unit's inbox (待办): assignments to accept, handle or assist, with their deadlines."""
    page = window(request, page_selectors.inbox(actor=actor(request)))
    page_selectors.mark_acceptance(page.items, timezone.now())
    return render(request, "hotline/inbox.html", {"page": page})
