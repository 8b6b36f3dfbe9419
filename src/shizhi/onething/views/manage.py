"""List management (清单管理) for the office that owns the list (``onething.manage_list``): the items and their
versions with their states, a new item, a new draft, editing a draft (its text and, as JSON, its matters),
submit / return / publish / withdraw, the change log, and two versions side by side (版本比对)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shizhi.core.errors import ApplicationError, ValidationFailed
from shizhi.core.models import Unit
from shizhi.onething import diff as diff_mod
from shizhi.onething import metrics as metrics_mod
from shizhi.onething import selectors, services
from shizhi.onething.content import spec_of
from shizhi.onething.models import (
    PERSON_STAGES,
    ChangeAction,
    Item,
    ItemVersion,
    Level,
    Stage,
    Subject,
    VersionStatus,
)
from shizhi.onething.views.common import actor, staff_page, text

MANAGE = "onething.manage_list"
V = VersionStatus


@staff_page(MANAGE)
@require_GET
def item_list(request: HttpRequest) -> HttpResponse:
    """Every item with its versions (newest first) and their states."""
    status = text(request.GET, "status", 16)
    rows = []
    for item, versions in selectors.managed_items(
        actor=actor(request), status=status if status in V.values else None
    ):
        latest = versions[0] if versions else None
        rows.append(
            {
                "item": item,
                "latest": latest,
                "published": next((v for v in versions if v.status == V.PUBLISHED), None),
                "versions": versions,
                "stage_label": Stage(item.stage).label,
                "level_label": Level(item.level).label,
            }
        )
    return render(
        request,
        "onething/manage_list.html",
        {
            "rows": rows,
            "status": status,
            "statuses": V.choices,
            "subjects": Subject.choices,
            "stages": Stage.choices,
            "person_stages": sorted(PERSON_STAGES),
            "levels": Level.choices,
            "values": {},
        },
    )


@staff_page(MANAGE)
@require_POST
def item_new(request: HttpRequest) -> HttpResponse:
    """新建事项: the item and its first draft (name and lead department; the rest is edited in the draft)."""
    data = request.POST
    try:
        version = services.item_create(
            actor=actor(request),
            code=text(data, "code", 32).strip(),
            subject=text(data, "subject", 16),
            stage=text(data, "stage", 16),
            level=text(data, "level", 16),
            batch=text(data, "batch", 16).strip(),
            content={
                "name": text(data, "name", 100),
                "lead_department_name": text(data, "lead_department_name", 100),
            },
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("onething:manage")
    messages.success(request, gettext("已新建事项，请完善草稿后提交审核"))
    return redirect("onething:version_edit", code=version.item.code, number=version.number)


@staff_page(MANAGE)
@require_GET
def item_manage(request: HttpRequest, code: str) -> HttpResponse:
    """One item: its versions and what may be done to each, the change log, and the diff chooser."""
    user = actor(request)
    item = selectors.access_item(actor=user, code=code)
    versions = list(item.versions.order_by("-number"))
    changes = list(selectors.item_changes(actor=user, item=item)[:100])
    return render(
        request,
        "onething/manage_item.html",
        {
            "item": item,
            "versions": versions,
            "changes": changes,
            "action_labels": dict(ChangeAction.choices),
            "has_open": any(v.status in (V.DRAFT, V.IN_REVIEW) for v in versions),
            "stage_label": Stage(item.stage).label,
            "level_label": Level(item.level).label,
            "subject_label": Subject(item.subject).label,
            "a": versions[1].number if len(versions) > 1 else None,
            "b": versions[0].number if versions else None,
        },
    )


@staff_page(MANAGE)
@require_POST
def version_new(request: HttpRequest, code: str) -> HttpResponse:
    """起草新版本: a draft copied from the latest version."""
    user = actor(request)
    item = selectors.access_item(actor=user, code=code)
    try:
        draft = services.version_draft(actor=user, item=item, note=text(request.POST, "note", 255))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("onething:manage_item", code=item.code)
    messages.success(request, gettext("已起草第 %(n)s 版") % {"n": draft.number})
    return redirect("onething:version_edit", code=item.code, number=draft.number)


def _matters_json(version: ItemVersion) -> str:
    return json.dumps(
        [spec_of(m).as_dict() for m in version.matters.order_by("sort", "id")], ensure_ascii=False, indent=2
    )


def _content(data: Any) -> dict[str, Any]:
    """The posted draft: text fields, departments one per line (or separated by 、,，), matters as JSON."""
    raw_deps = text(data, "supporting_departments", 4000)
    for sep in ("、", "，", ","):
        raw_deps = raw_deps.replace(sep, "\n")
    lead_unit = text(data, "lead_unit_id", 12).strip()
    content: dict[str, Any] = {
        "name": text(data, "name", 100),
        "summary": text(data, "summary", 2000),
        "keywords": text(data, "keywords", 255),
        "lead_department_name": text(data, "lead_department_name", 100),
        "supporting_departments": [d.strip() for d in raw_deps.splitlines() if d.strip()],
        "legal_basis": text(data, "legal_basis", 4000),
        "change_note": text(data, "change_note", 255),
        "lead_unit_id": int(lead_unit) if lead_unit.isdigit() else None,
    }
    raw = text(data, "matters", 200_000).strip()
    if raw:
        try:
            content["matters"] = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(
                gettext("事项内容不是有效的JSON（第 %(line)s 行第 %(col)s 列）")
                % {"line": exc.lineno, "col": exc.colno},
                details={"field": "matters"},
            ) from exc
    return content


@staff_page(MANAGE)
@require_http_methods(["GET", "POST"])
def version_edit(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """Edit a draft (修改草稿); other states are shown read-only."""
    user = actor(request)
    version = selectors.access_version(actor=user, code=code, number=number)
    values: dict[str, Any] = {
        "name": version.name,
        "summary": version.summary,
        "keywords": version.keywords,
        "lead_department_name": version.lead_department_name,
        "lead_unit_id": version.lead_unit_id or "",
        "supporting_departments": "\n".join(version.supporting_departments or []),
        "legal_basis": version.legal_basis,
        "change_note": version.change_note,
        "matters": _matters_json(version),
    }
    error_field = ""
    if request.method == "POST":
        values = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        try:
            services.version_update(actor=user, version=version, content=_content(request.POST))
        except ApplicationError as exc:
            messages.error(request, exc.message)
            error_field = str(exc.details.get("field", ""))
        else:
            messages.success(request, gettext("草稿已保存"))
            return redirect("onething:version_edit", code=code, number=number)
    version.refresh_from_db()
    metrics = metrics_mod.version_metrics(version).as_dict() if version.matters.exists() else None
    return render(
        request,
        "onething/version_edit.html",
        {
            "item": version.item,
            "version": version,
            "values": values,
            "error_field": error_field,
            "editable": version.is_editable,
            "metrics": metrics,
            "units": list(Unit.objects.filter(is_active=True).order_by("code").values_list("pk", "name")),
        },
    )


ACTIONS: dict[str, tuple[Callable[..., ItemVersion], bool, str]] = {
    # action -> (service, needs a note, success words)
    "submit": (services.version_submit, False, "已提交审核"),
    "return": (services.version_return, True, "已退回修改"),
    "publish": (services.version_publish, False, "已发布，办事指南即时更新"),
    "withdraw": (services.version_withdraw, True, "已撤回，该事项不再对外提供"),
}


@staff_page(MANAGE)
@require_POST
def version_action(request: HttpRequest, code: str, number: int, action: str) -> HttpResponse:
    user = actor(request)
    version = selectors.access_version(actor=user, code=code, number=number)
    if action not in ACTIONS:
        raise Http404
    service, _, words = ACTIONS[action]
    try:
        service(actor=user, version=version, note=text(request.POST, "note", 255))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext(words))
    return redirect("onething:manage_item", code=version.item.code)


def _side_by_side(a: ItemVersion, b: ItemVersion) -> dict[str, Any]:
    """The diff of two versions as rows for a two-column table: the version's fields, then each matter (added,
    removed, changed with its changed fields), then the one set of materials and the merged form."""
    d = diff_mod.diff_versions(a, b)
    labels = {
        "name": gettext("名称"),
        "summary": gettext("简介"),
        "keywords": gettext("关键词"),
        "lead_unit_id": gettext("牵头单位"),
        "lead_department_name": gettext("牵头部门"),
        "supporting_departments": gettext("配合部门"),
        "legal_basis": gettext("设立依据"),
    }
    fields = [
        {"label": labels.get(name, name), "old": _show(old), "new": _show(new)}
        for name, (old, new) in d["fields"].items()
    ]
    old_m = {m.code: m for m in a.matters.all()}
    new_m = {m.code: m for m in b.matters.all()}
    matters = []
    for code in d["matters"]["removed"]:
        matters.append({"code": code, "kind": "removed", "old": old_m[code].name, "new": "", "fields": []})
    for code in d["matters"]["added"]:
        matters.append({"code": code, "kind": "added", "old": "", "new": new_m[code].name, "fields": []})
    for code, changes in d["matters"]["changed"].items():
        rows = []
        for name, change in changes.items():
            if isinstance(change, list):
                rows.append({"label": name, "old": _show(change[0]), "new": _show(change[1])})
            else:
                rows.append({"label": name, "old": _show(change), "new": ""})
        matters.append(
            {
                "code": code,
                "kind": "changed",
                "old": old_m[code].name,
                "new": new_m[code].name,
                "fields": rows,
            }
        )
    return {
        "raw": d,
        "fields": fields,
        "matters": matters,
        "materials": d["materials"],
        "form": d["form"],
        "empty": diff_mod.is_empty(d),
    }


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, indent=1)
    return str(value)


@staff_page(MANAGE)
@require_GET
def version_diff(request: HttpRequest, code: str) -> HttpResponse:
    """Two versions side by side (``?a=1&b=2``)."""
    user = actor(request)
    item: Item = selectors.access_item(actor=user, code=code)
    versions = list(item.versions.order_by("-number"))
    raw_a, raw_b = text(request.GET, "a", 6), text(request.GET, "b", 6)
    if not (raw_a.isdigit() and raw_b.isdigit()):
        if len(versions) < 2:
            messages.info(request, gettext("只有一个版本，无可比对"))
            return redirect("onething:manage_item", code=item.code)
        raw_a, raw_b = str(versions[1].number), str(versions[0].number)
    a = selectors.access_version(actor=user, code=code, number=int(raw_a))
    b = selectors.access_version(actor=user, code=code, number=int(raw_b))
    return render(
        request,
        "onething/version_diff.html",
        {"item": item, "a": a, "b": b, "versions": versions, "d": _side_by_side(a, b)},
    )
