"""The service guide (办事指南) for citizens, open without signing in: the published list searched in plain
words, one page per item that tells everything once (一次告知); and the application form generated from the item's
merged form (一表申请) with its one set of materials (一套材料), which needs signing in."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from shizhi.core.errors import ApplicationError
from shizhi.core.models import Area, AreaLevel, Role
from shizhi.core.permissions import actor_scope, has_perm
from shizhi.onething import outputs, selectors, services
from shizhi.onething.models import PERSON_STAGES, Channel, FieldType, Stage, Subject
from shizhi.onething.views.common import actor, chart_words, public_page, staff_page, text

BADGES = (
    # metric key, badge word
    ("steps", gettext_noop("减环节")),
    ("materials", gettext_noop("减材料")),
    ("time_days", gettext_noop("减时限")),
    ("trips", gettext_noop("减跑动")),
)


def _badges(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"label": gettext(label), **metrics[key]} for key, label in BADGES if metrics[key]["before"] > 0]


def _card(version: Any) -> dict[str, Any]:
    summary = outputs.item_summary(version)
    return {**summary, "badges": _badges(summary["metrics"])}


@public_page
@require_GET
def guide(request: HttpRequest) -> HttpResponse:
    """The list (办事指南): search in plain words ("孩子出生要办什么"), or browse by who and life stage."""
    q = text(request.GET, "q", 100).strip()
    subject = text(request.GET, "subject", 16)
    stage = text(request.GET, "stage", 16)
    filters = selectors.ItemFilters(
        q=q or None,
        subject=subject if subject in Subject.values else None,
        stage=stage if stage in Stage.values else None,
    )
    versions = selectors.published_items(filters)
    cards = [_card(v) for v in versions]
    groups: list[dict[str, Any]] = []
    if not q:
        by_stage: dict[str, list[dict[str, Any]]] = {}
        for card in cards:
            by_stage.setdefault(card["stage"], []).append(card)
        for value, label in Stage.choices:
            if value in by_stage:
                groups.append(
                    {
                        "stage": value,
                        "label": label,
                        "subject": Subject.PERSON if value in PERSON_STAGES else Subject.ENTERPRISE,
                        "cards": by_stage[value],
                    }
                )
    return render(
        request,
        "onething/guide.html",
        {
            "q": q,
            "subject": filters.subject or "",
            "stage": filters.stage or "",
            "cards": cards,
            "groups": groups,
            "subjects": Subject.choices,
            "person_stages": [(v, label) for v, label in Stage.choices if v in PERSON_STAGES],
            "enterprise_stages": [(v, label) for v, label in Stage.choices if v not in PERSON_STAGES],
            "examples": [
                gettext("孩子出生要办什么"),
                gettext("开饭店"),
                gettext("退休"),
                gettext("家人去世"),
            ],
        },
    )


def _guide_context(code: str) -> dict[str, Any]:
    version = selectors.published_item(code)
    data = outputs.guide(version)
    m = data["metrics"]
    matters = list(version.matters.all())
    fees = sorted({x.fee for x in matters if x.fee})
    lead = version.lead_unit
    return {
        "version": version,
        "g": data,
        "badges": _badges(m),
        "fees": fees,
        "free": all(f in ("", "不收费") for f in fees),
        "lead": lead,
        "can_apply": all(x.unit_id is not None for x in matters) and bool(matters),
        "material_kinds": {
            "original": gettext("原件"),
            "copy": gettext("复印件"),
            "e_file": gettext("电子文件"),
        },
        "field_types": dict(FieldType.choices),
        "to_submit": [x for x in data["materials"] if x["to_submit"]],
        "shared": [x for x in data["materials"] if not x["to_submit"]],
        "compare": {
            "keys": ["steps", "materials", "time_days", "trips", "fields"],
            "before": [m[k]["before"] for k in ("steps", "materials", "time_days", "trips", "fields")],
            "after": [m[k]["after"] for k in ("steps", "materials", "time_days", "trips", "fields")],
            "labels": chart_words(),
        },
    }


@public_page
@require_GET
def item(request: HttpRequest, code: str) -> HttpResponse:
    """一次告知: everything about one item on one page."""
    return render(request, "onething/item.html", _guide_context(code))


# ------------------------------------------------------------------------------------------------ application


def _districts() -> list[Area]:
    return list(Area.objects.filter(level=AreaLevel.DISTRICT).only("id", "name", "code").order_by("code"))


def _is_only_citizen(request: HttpRequest) -> bool:
    roles = actor_scope(request.user).roles
    return roles <= {Role.CITIZEN}


def _form_value(field: dict[str, Any], raw: str) -> Any:
    raw = raw.strip()
    if raw == "":
        return None
    if field["type"] == FieldType.BOOLEAN:
        return {"1": True, "0": False}.get(raw, raw)
    return raw


def application_in(request: HttpRequest, code: str, form: list[dict[str, Any]]) -> services.ApplicationIn:
    """The posted page as the service's input: ``f_<key>`` form fields, ``m_<key>`` files, ``promise`` keys."""
    data = request.POST
    values = {}
    for field in form:
        value = _form_value(field, text(data, f"f_{field['key']}", 600))
        if value is not None:
            values[field["key"]] = value
    uploads: dict[str, UploadedFile] = {}
    for name in request.FILES:
        upload = request.FILES.get(name)
        if name.startswith("m_") and upload is not None and upload.size:
            uploads[name[2:]] = upload
    district = text(data, "district_id", 12)
    channel = text(data, "channel", 16) or Channel.ONLINE
    if _is_only_citizen(request):
        channel = Channel.ONLINE
    return services.ApplicationIn(
        item_code=code,
        form=values,
        applicant_name=text(data, "applicant_name", 64),
        applicant_phone="".join(text(data, "applicant_phone", 40).split()),
        org_name=text(data, "org_name", 100),
        org_code=text(data, "org_code", 40).strip(),
        channel=channel,
        district_id=int(district) if district.isdigit() else None,
        promised=[k for k in data.getlist("promise") if isinstance(k, str)][:40],
        uploads=uploads,
    )


@staff_page("onething.apply")
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, code: str) -> HttpResponse:
    """The application form (一表申请): the merged form's fields and the materials still to hand in."""
    user = actor(request)
    context = _guide_context(code)
    values: dict[str, Any] = {
        "applicant_name": user.display_name,
        "applicant_phone": user.mobile,
        "channel": Channel.ONLINE,
    }
    promised: list[str] = []
    error_field = ""
    if request.method == "POST":
        values = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        promised = request.POST.getlist("promise")
        try:
            application = services.application_submit(
                actor=user, data=application_in(request, code, context["g"]["form"])
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            error_field = str(exc.details.get("field", ""))
        else:
            messages.success(
                request,
                gettext("申请已提交，申请编号 %(number)s。各部门将并联办理，进度可在本页查看。")
                % {"number": application.number},
            )
            return redirect("onething:application", application_id=application.pk)
    fields = []
    for f in context["g"]["form"]:
        fields.append(
            {**f, "value": values.get(f"f_{f['key']}", ""), "error": error_field == f"form.{f['key']}"}
        )
    return render(
        request,
        "onething/apply.html",
        {
            **context,
            "values": values,
            "fields": fields,
            "promised": promised,
            "error_field": error_field,
            "districts": _districts(),
            "channels": Channel.choices,
            "choose_channel": not _is_only_citizen(request),
            "enterprise": context["version"].item.subject == Subject.ENTERPRISE,
            "can_handle": has_perm(user, "onething.handle"),
        },
    )
