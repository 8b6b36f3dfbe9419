"""The applicant's pages: my applications (我的申请), one application's status (one status, the departments'
progress, 容缺 promises with their deadlines, the result) with withdrawing, handing in a promised material and
rating the service (好差评); and, for who may see applications beyond their own, the same list city- or area-wide."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_GET, require_POST

from shizhi.core.errors import ApplicationError, ValidationFailed
from shizhi.core.permissions import has_perm
from shizhi.onething import outputs, selectors, services
from shizhi.onething.content import merged_form, spec_of
from shizhi.onething.models import Application, ApplicationMaterial, ApplicationStatus
from shizhi.onething.views.common import actor, query_without_page, staff_page, text, window

EVENT_WORDS = {
    "submit": gettext_noop("提交申请"),
    "accept": gettext_noop("受理"),
    "complete": gettext_noop("办结"),
    "reject": gettext_noop("不予办理"),
    "ready": gettext_noop("前置事项已办结，可以受理"),
    "promise": gettext_noop("容缺受理"),
    "supply": gettext_noop("补交材料"),
    "withdraw": gettext_noop("撤回申请"),
    "rate": gettext_noop("评价"),
    "status": gettext_noop("状态变更"),
    "cancel_rest": gettext_noop("其余事项取消"),
}


@staff_page("onething.apply")
@require_GET
def application_list(request: HttpRequest) -> HttpResponse:
    """我的申请; with ``?scope=all`` (onething.view_applications) every application the user may see."""
    user = actor(request)
    everyone = request.GET.get("scope") == "all" and has_perm(user, "onething.view_applications")
    status = text(request.GET, "status", 20)
    qs = selectors.application_list(
        actor=user,
        status=status if status in ApplicationStatus.values else None,
        item_code=text(request.GET, "item", 32).strip() or None,
        mine=not everyone,
    )
    page = window(request, qs)
    return render(
        request,
        "onething/applications.html",
        {
            "page": page,
            "rows": [outputs.application_out(user, a) for a in page.items],
            "everyone": everyone,
            "can_view_all": has_perm(user, "onething.view_applications"),
            "statuses": ApplicationStatus.choices,
            "status": status,
            "query": query_without_page(request),
        },
    )


def _detail(request: HttpRequest, application_id: int) -> tuple[Application, dict[str, Any]]:
    user = actor(request)
    application = selectors.application_detail(
        selectors.access_application(actor=user, application_id=application_id)
    )
    data = outputs.application_detail(user, application)
    for event in data["events"]:
        event["label"] = gettext(EVENT_WORDS.get(event["action"], event["action"]))
    pending = {}
    for step in data["progress"]:
        for p in step["promises"]:
            if p["supplied_at"] is None and step["status"] in ("waiting", "ready", "in_progress"):
                pending[p["material_key"]] = p
    labels = {
        f.key: f.label
        for f in merged_form([spec_of(m) for m in application.version.matters.order_by("sort", "id")])
    }
    form_rows = [(labels.get(k, k), v) for k, v in data["form_data"].items()]
    return application, {
        "a": data,
        "application": application,
        "pending": list(pending.values()),
        "form_rows": form_rows,
    }


@staff_page("onething.apply", "onething.view_applications")
@require_GET
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    """One application: its one status, each department's progress, promises, result, and the rating."""
    application, context = _detail(request, application_id)
    own = application.applicant_id == request.user.pk
    return render(
        request,
        "onething/application.html",
        {
            **context,
            "own": own,
            "now": timezone.now(),
            "rating_labels": sorted(services.RATING_LABELS.items(), reverse=True),
            "good_reasons": services.GOOD_REASONS,
            "bad_reasons": services.BAD_REASONS,
            "file_ids": {m.material_key: m.pk for m in application.materials.all() if m.file},
        },
    )


@staff_page("onething.apply")
@require_POST
def application_action(request: HttpRequest, application_id: int, action: str) -> HttpResponse:
    """The applicant's actions: withdraw (撤回), supply a promised material (补交), rate (评价)."""
    user = actor(request)
    application = selectors.access_application(actor=user, application_id=application_id)
    try:
        if action == "withdraw":
            services.application_withdraw(
                actor=user, application=application, reason=text(request.POST, "reason", 255)
            )
            messages.success(request, gettext("申请已撤回"))
        elif action == "supply":
            upload = request.FILES.get("file")
            if upload is None:
                raise ValidationFailed(gettext("请选择要补交的文件"), details={"field": "file"})
            services.material_supply(
                actor=user,
                application=application,
                material_key=text(request.POST, "material_key", 64),
                upload=upload,
            )
            messages.success(request, gettext("材料已补交"))
        elif action == "rate":
            raw = text(request.POST, "score", 2)
            services.application_rate(
                actor=user,
                application=application,
                score=int(raw) if raw.isdigit() else 0,
                reasons=[r for r in request.POST.getlist("reasons") if isinstance(r, str)][:20],
                comment=text(request.POST, "comment", 500),
            )
            messages.success(request, gettext("感谢您的评价"))
        else:
            raise Http404
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("onething:application", application_id=application.pk)


def file_response(material: ApplicationMaterial) -> HttpResponse:
    """The stored file as a download (uploads are at most 10 MB)."""
    if not material.file:
        raise Http404
    with material.file.open("rb") as f:
        content = f.read()
    response = HttpResponse(content, content_type=material.content_type or "application/octet-stream")
    filename = material.original_name or f"{material.material_key}"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@staff_page("onething.apply", "onething.view_applications")
@require_GET
def application_file(request: HttpRequest, application_id: int, material_id: int) -> HttpResponse:
    """A material's file, for the applicant and for who may see the application."""
    application = selectors.access_application(actor=actor(request), application_id=application_id)
    material = application.materials.filter(pk=material_id).first()
    if material is None:
        raise Http404
    return file_response(material)
