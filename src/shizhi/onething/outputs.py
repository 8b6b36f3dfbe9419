"""Plain-dict views of items, applications and sub-tasks, shared by the API and the pages."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from shizhi.core import masking
from shizhi.core.selectors import Actor, can_see_pii
from shizhi.onething import metrics as metrics_mod
from shizhi.onething.content import MatterSpec, material_set, merged_form, spec_of
from shizhi.onething.models import (
    Application,
    ApplicationStatus,
    ItemVersion,
    Level,
    Promise,
    Stage,
    Subject,
    SubTask,
    SubTaskStatus,
    VersionStatus,
)
from shizhi.onething.services.applications import RATING_LABELS


def _ref(obj: Any) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


def item_summary(version: ItemVersion, specs: list[MatterSpec] | None = None) -> dict[str, Any]:
    item = version.item
    specs = specs if specs is not None else metrics_mod.version_specs(version)
    return {
        "code": item.code,
        "name": version.name,
        "subject": item.subject,
        "subject_label": str(Subject(item.subject).label),
        "stage": item.stage,
        "stage_label": str(Stage(item.stage).label),
        "level": item.level,
        "level_label": str(Level(item.level).label),
        "batch": item.batch,
        "version": version.number,
        "status": version.status,
        "summary": version.summary,
        "lead_department_name": version.lead_department_name,
        "is_demo": version.is_demo,
        "published_at": version.published_at,
        "metrics": metrics_mod.compute(specs).as_dict(),
    }


def guide(version: ItemVersion) -> dict[str, Any]:
    """一次告知: the item, its matters, the one set of materials, the merged form and the metrics."""
    matters = list(version.matters.all())
    specs = [spec_of(m) for m in matters]
    units = {m.code: m.unit for m in matters}
    offsets = metrics_mod.start_offsets(specs)
    return {
        **item_summary(version, specs),
        "keywords": version.keywords,
        "lead_unit": _ref(version.lead_unit),
        "supporting_departments": list(version.supporting_departments or []),
        "legal_basis": version.legal_basis,
        "change_note": version.change_note,
        "matters": [
            {**s.as_dict(), "unit": _ref(units[s.code]), "starts_after_days": offsets[s.code]} for s in specs
        ],
        "materials": [
            {**e.spec.as_dict(), "to_submit": e.to_submit, "matters": list(e.matter_codes)}
            for e in material_set(specs)
        ],
        "form": [f.as_dict() for f in merged_form(specs)],
        "critical_path": metrics_mod.critical_path(specs)[1],
    }


def version_summary(v: ItemVersion) -> dict[str, Any]:
    return {
        "number": v.number,
        "status": v.status,
        "status_label": str(VersionStatus(v.status).label),
        "name": v.name,
        "change_note": v.change_note,
        "created_at": v.created_at,
        "submitted_at": v.submitted_at,
        "published_at": v.published_at,
        "withdrawn_at": v.withdrawn_at,
    }


def promise_out(p: Promise, now: Any = None) -> dict[str, Any]:
    return {
        "id": p.pk,
        "material_key": p.material_key,
        "material_name": p.material_name,
        "due_at": p.due_at,
        "supplied_at": p.supplied_at,
        "overdue": p.is_overdue(now),
        "note": p.note,
    }


def application_out(actor: Actor, a: Application) -> dict[str, Any]:
    own = actor is not None and actor.is_authenticated and a.applicant_id == actor.pk
    visible = own or can_see_pii(actor)
    return {
        "id": a.pk,
        "number": a.number,
        "item_code": a.item.code,
        "item_name": a.version.name,
        "version": a.version.number,
        "status": a.status,
        "status_label": str(ApplicationStatus(a.status).label),
        "applicant_name": a.applicant_name if visible else masking.mask_name(a.applicant_name),
        "applicant_phone": a.applicant_phone if visible else masking.mask_mobile(a.applicant_phone),
        "org_name": a.org_name,
        "channel": a.channel,
        "district": _ref(a.district),
        "fully_online": a.fully_online,
        "submitted_at": a.submitted_at,
        "due_at": a.due_at,
        "finished_at": a.finished_at,
        "on_time": a.on_time,
        "result": a.result,
    }


def application_detail(actor: Actor, a: Application) -> dict[str, Any]:
    """``a`` from ``selectors.application_detail`` (everything prefetched)."""
    now = timezone.now()
    progress = []
    overdue = 0
    for st in a.subtasks.all():
        promises = [promise_out(p, now) for p in st.promises.all()]
        overdue += sum(1 for p in promises if p["overdue"] and st.is_open)
        progress.append(
            {
                "subtask_id": st.pk,
                "matter_code": st.matter.code,
                "matter_name": st.matter.name,
                "department_name": st.department_name,
                "status": st.status,
                "status_label": str(SubTaskStatus(st.status).label),
                "ready_at": st.ready_at,
                "due_at": st.due_at,
                "finished_at": st.finished_at,
                "result": st.result,
                "promises": promises,
            }
        )
    rating = getattr(a, "rating", None)  # the reverse one-to-one raises (an AttributeError) when absent
    own = actor is not None and actor.is_authenticated and a.applicant_id == actor.pk
    return {
        **application_out(actor, a),
        "form_data": a.form_data,
        "progress": progress,
        "materials": [
            {
                "material_key": m.material_key,
                "name": m.name,
                "source": m.source,
                "original_name": m.original_name,
                "content_type": m.content_type,
                "size": m.size,
            }
            for m in a.materials.all()
        ],
        "overdue_promises": overdue,
        "rating": None
        if rating is None
        else {
            "score": rating.score,
            "score_label": RATING_LABELS[rating.score],
            "reasons": rating.reasons,
            "comment": rating.comment,
            "created_at": rating.created_at,
        },
        "can_rate": own and a.has_ended and rating is None,
        "events": [
            {"action": e.action, "note": e.note, "data": e.data, "created_at": e.created_at}
            for e in a.events.all()
        ],
    }


def subtask_out(st: SubTask, now: Any = None) -> dict[str, Any]:
    now = now or timezone.now()
    a = st.application
    return {
        "id": st.pk,
        "status": st.status,
        "status_label": str(SubTaskStatus(st.status).label),
        "matter_code": st.matter.code,
        "matter_name": st.matter.name,
        "department_name": st.department_name,
        "unit": _ref(st.unit),
        "ready_at": st.ready_at,
        "due_at": st.due_at,
        "accepted_at": st.accepted_at,
        "finished_at": st.finished_at,
        "is_overdue": st.is_open and st.due_at is not None and st.due_at < now,
        "result": st.result,
        "promises": [promise_out(p, now) for p in st.promises.all()],
        "application": {
            "id": a.pk,
            "number": a.number,
            "item_code": a.item.code,
            "status": a.status,
            "applicant_name": a.applicant_name,
            "applicant_phone": a.applicant_phone,
            "org_name": a.org_name,
            "submitted_at": a.submitted_at,
        },
    }


def subtask_detail(st: SubTask) -> dict[str, Any]:
    """What the department needs for its part: its matter's fields of the form and its materials."""
    spec = spec_of(st.matter)
    keys = {f.key for f in spec.fields}
    handed = {m.material_key: m for m in st.application.materials.all()}
    return {
        **subtask_out(st),
        "form_data": {k: v for k, v in st.application.form_data.items() if k in keys},
        "materials": [
            {
                **mat.as_dict(),
                "handed_in": mat.key in handed,
                "source": handed[mat.key].source if mat.key in handed else None,
                "size": handed[mat.key].size if mat.key in handed else 0,
            }
            for mat in spec.materials
        ],
        "depends_on": list(spec.depends_on),
    }
