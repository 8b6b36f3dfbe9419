"""The citizen portal (市民诉求平台), open without signing in: submit a request, track it by number and phone,
rate the reply. Submissions carry an idempotency token (a double click creates one case) and each visitor's
posts are rate-limited."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from ninja.throttling import BaseThrottle

from shizhi.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from shizhi.core.models import User
from shizhi.core.permissions import has_perm
from shizhi.hotline import page_selectors, selectors, services
from shizhi.hotline.models import Case, CaseStatus, Category, Channel, DemandType
from shizhi.hotline.views.common import (
    bool_field,
    coordinates,
    form_token,
    int_field,
    new_token,
    pin_labels,
    text,
)

TRACK_SESSION = "hotline_track"  # {"number", "phone"} the visitor proved, for the tracking page
DONE_SESSION = "hotline_portal_case"
POSTS_PER_WINDOW = 30
WINDOW_SECONDS = 600


def _throttled(request: HttpRequest, scope: str) -> bool:
    """More than 30 posts from one address in 10 minutes: a script, not a citizen. The address is found as
    the public API finds it (NINJA_NUM_PROXIES: how many proxies stand in front)."""
    ident = BaseThrottle().get_ident(request) or ""
    key = f"hotline:portal:{scope}:{hashlib.sha256(ident.encode()).hexdigest()[:32]}"
    if cache.add(key, 1, WINDOW_SECONDS):
        return False
    try:
        return cache.incr(key) > POSTS_PER_WINDOW
    except ValueError:  # expired between add and incr
        return False


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "hotline/portal_busy.html", status=429)


def _citizen(request: HttpRequest) -> User | None:
    """A signed-in citizen's request is linked to their account (我的诉求); everyone else submits as the public."""
    user = request.user
    return user if isinstance(user, User) and has_perm(user, "hotline.submit_own") else None


def _category(code: str) -> Category:
    category = Category.objects.filter(code=code, is_active=True).first() if code else None
    if category is None:
        raise ValidationFailed(gettext("请选择诉求分类"), details={"field": "category"})
    return category


def _case_in(data: Any, token: str) -> services.CaseIn:
    phone = "".join(text(data, "citizen_phone", 40).split())
    if not phone:
        raise ValidationFailed(
            gettext("请留下手机号，用于查询进度和回访"), details={"field": "citizen_phone"}
        )
    demand_type = text(data, "demand_type", 16)
    lng, lat = coordinates(data)
    return services.CaseIn(
        channel=Channel.WEB,
        demand_type=demand_type if demand_type in DemandType.values else DemandType.COMPLAINT,
        category=_category(text(data, "category", 32)),
        title=text(data, "title", 200),
        content=text(data, "content", 8000),
        citizen_name=text(data, "citizen_name", 64),
        citizen_phone=phone,
        address=text(data, "address", 400),
        lng=lng,
        lat=lat,
        anonymous=False,
        idempotency_key=token,
    )


@require_http_methods(["GET", "POST"])
def portal(request: HttpRequest) -> HttpResponse:
    """Submit a request (我要反映): category, what happened, where (address and a pin), how to call back."""
    values: dict[str, Any] = {"demand_type": DemandType.COMPLAINT, "token": new_token()}
    if request.method == "POST":
        if _throttled(request, "submit"):
            return _too_many(request)
        values = request.POST.dict()
        values["token"] = token = form_token(request.POST)
        try:
            case = services.case_create(actor=_citizen(request), data=_case_in(request.POST, token))
        except Conflict as exc:
            number = str(exc.details.get("number", ""))
            if _is_theirs(number, text(request.POST, "citizen_phone", 40)):
                request.session[DONE_SESSION] = number  # the same request arrived twice: show its number
                return redirect("hotline:portal_done")
            messages.error(request, exc.message)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            request.session[DONE_SESSION] = case.number
            return redirect("hotline:portal_done")
    return render(
        request,
        "hotline/portal.html",
        {
            "values": values,
            "groups": page_selectors.category_groups(),
            "demand_types": DemandType.choices,
            "pin_labels": pin_labels(),
        },
    )


def _is_theirs(number: str, phone: str) -> bool:
    try:
        selectors.case_by_number_and_phone(number, "".join(phone.split()))
    except NotFound:
        return False
    return True


@require_GET
def portal_done(request: HttpRequest) -> HttpResponse:
    number = request.session.get(DONE_SESSION)
    if not number:
        return redirect("hotline:portal")
    return render(request, "hotline/portal_done.html", {"number": number})


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """Track a request (查询进度) by its number and the phone it was submitted with."""
    values = {"number": "", "phone": ""}
    if request.method == "POST":
        if request.POST.get("action") == "forget":
            request.session.pop(TRACK_SESSION, None)
            return redirect("hotline:track")
        if _throttled(request, "track"):
            return _too_many(request)
        values = {
            "number": text(request.POST, "number", 20).strip(),
            "phone": text(request.POST, "phone", 40),
        }
        try:
            found = selectors.case_by_number_and_phone(values["number"], "".join(values["phone"].split()))
        except NotFound:
            messages.error(request, gettext("未找到该工单，请核对工单编号和提交时填写的手机号"))
        else:
            request.session[TRACK_SESSION] = {"number": found.number, "phone": found.citizen_phone}
            return redirect("hotline:track")
    proof = request.session.get(TRACK_SESSION)
    case: Case | None = None
    if proof and request.method == "GET":
        try:
            case = selectors.case_by_number_and_phone(proof["number"], proof["phone"])
        except NotFound:
            request.session.pop(TRACK_SESSION, None)
    return render(
        request,
        "hotline/track.html",
        {
            "values": values,
            "case": case,
            "steps": page_selectors.public_timeline(case) if case else [],
            "can_rate": case is not None and case.status == CaseStatus.REPLIED,
        },
    )


@require_POST
def rate(request: HttpRequest) -> HttpResponse:
    """The citizen's own callback (评价): solved? how satisfied (1-5 stars)? Only for the case they proved."""
    if _throttled(request, "track"):
        return _too_many(request)
    proof = request.session.get(TRACK_SESSION)
    if not proof:
        messages.error(request, gettext("请先输入工单编号和手机号查询"))
        return redirect("hotline:track")
    try:
        case = selectors.case_by_number_and_phone(proof["number"], proof["phone"])
        solved = bool_field(request.POST, "solved")
        if solved is None:
            raise ValidationFailed(gettext("请选择问题是否已解决"), details={"field": "solved"})
        services.case_callback(
            actor=None,
            case=case,
            reached=True,
            solved=solved,
            satisfaction=int_field(request.POST, "satisfaction", label=gettext("满意度")),
            note=text(request.POST, "note", 600),
            by_citizen=True,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("感谢您的评价！"))
    return redirect("hotline:track")


@require_GET
def districts_geojson(request: HttpRequest) -> JsonResponse:
    """The districts' outlines for the portal's map (public: names and boundaries only)."""
    response = JsonResponse(page_selectors.public_districts_geojson())
    response["Cache-Control"] = "public, max-age=600"
    return response
