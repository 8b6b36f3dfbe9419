"""一件事 API (/api/v1/onething/...): the public list and guides, list versioning for the list office,
applications for applicants, the department inbox and its actions, and the roll-out plans.

The published list (``GET /onething/items`` and ``GET /onething/items/{code}``) needs no sign-in: it is what
citizens read before applying (一次告知)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from shizhi.core.actors import request_actor
from shizhi.core.errors import NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import Area, AreaLevel, Unit
from shizhi.core.permissions import has_perm
from shizhi.core.schemas import ErrorOut
from shizhi.onething import outputs, services
from shizhi.onething import selectors as sel
from shizhi.onething.diff import diff_versions
from shizhi.onething.models import (
    ChangeAction,
    Item,
    Milestone,
    Rollout,
    RolloutState,
    Stage,
    Subject,
)
from shizhi.onething.schemas import (
    ApplicationDetailOut,
    ApplicationIn,
    ApplicationListOut,
    ChangeOut,
    ContentIn,
    GuideOut,
    ItemCreateIn,
    ItemListOut,
    ManagedItemOut,
    MilestoneDoneIn,
    MilestoneIn,
    NoteBodyIn,
    NoteIn,
    PromiseIn,
    PromiseOut,
    RateIn,
    RatingOut,
    ReasonIn,
    ResultIn,
    RolloutIn,
    RolloutOut,
    StateIn,
    SubTaskDetailOut,
    SubTaskOut,
    VersionSummaryOut,
    WithdrawIn,
)

router = Router(tags=["onething"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# ------------------------------------------------------------------------------------------ the public list


@router.get(
    "/onething/items",
    auth=None,
    response={200: ItemListOut, **ERRORS},
    summary="一件事清单（已发布，含减环节等指标）",
)
def list_items(
    request: HttpRequest,
    q: str | None = Query(None, max_length=100, description="plain words: 孩子出生要办什么"),  # type: ignore[type-arg]
    subject: str | None = None,
    stage: str | None = None,
    level: str | None = None,
) -> dict[str, Any]:
    versions = sel.published_items(sel.ItemFilters(q=q, subject=subject, stage=stage, level=level))
    return {"count": len(versions), "items": [outputs.item_summary(v) for v in versions]}


@router.get("/onething/meta", auth=None, summary="服务对象、生命周期阶段、好差评等级和原因")
def meta(request: HttpRequest) -> dict[str, Any]:
    return {
        "subjects": [{"value": v, "label": str(label)} for v, label in Subject.choices],
        "stages": [{"value": v, "label": str(label)} for v, label in Stage.choices],
        "rating_levels": [{"score": s, "label": label} for s, label in services.RATING_LABELS.items()],
        "good_reasons": list(services.GOOD_REASONS),
        "bad_reasons": list(services.BAD_REASONS),
        "max_upload_bytes": services.MAX_UPLOAD_BYTES,
        "upload_types": sorted(services.UPLOAD_TYPES),
    }


@router.get(
    "/onething/items/{code}", auth=None, response={200: GuideOut, **ERRORS}, summary="办事指南（一次告知）"
)
def get_item(request: HttpRequest, code: str) -> dict[str, Any]:
    return outputs.guide(sel.published_item(code))


# -------------------------------------------------------------------------------------- the list office


@router.get(
    "/onething/manage/items",
    response={200: list[ManagedItemOut], **ERRORS},
    summary="清单管理：全部事项和版本",
)
def managed_items(request: HttpRequest, status: str | None = None) -> list[dict[str, Any]]:
    rows = sel.managed_items(actor=request_actor(request), status=status)
    return [
        {
            "code": item.code,
            "subject": item.subject,
            "stage": item.stage,
            "level": item.level,
            "batch": item.batch,
            "versions": [outputs.version_summary(v) for v in versions],
        }
        for item, versions in rows
    ]


@router.post("/onething/manage/items", response={201: GuideOut, **ERRORS}, summary="新建事项（草稿v1）")
def create_item(request: HttpRequest, payload: ItemCreateIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    area = None
    if payload.area_id is not None:
        area = Area.objects.filter(pk=payload.area_id).first()
        if area is None:
            raise ValidationFailed("所属区划不存在", details={"field": "area_id"})
    version = services.item_create(
        actor=actor,
        code=payload.code,
        subject=payload.subject,
        stage=payload.stage,
        level=payload.level,
        batch=payload.batch,
        area=area,
        sort=payload.sort,
        content=payload.content,
    )
    return Status(
        201, outputs.guide(sel.access_version(actor=actor, code=version.item.code, number=version.number))
    )


def _item(request: HttpRequest, code: str) -> Item:
    actor = request_actor(request)
    if not has_perm(actor, "onething.manage_list"):
        raise PermissionDenied("没有管理一件事清单的权限")
    return sel.access_item(actor=actor, code=code)


@router.get(
    "/onething/manage/items/{code}/versions",
    response={200: list[VersionSummaryOut], **ERRORS},
    summary="版本列表",
)
def versions(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    item = _item(request, code)
    return [outputs.version_summary(v) for v in item.versions.order_by("-number")]


@router.post(
    "/onething/manage/items/{code}/versions",
    response={201: GuideOut, **ERRORS},
    summary="起草新版本（复制最新版本）",
)
def draft_version(request: HttpRequest, code: str, payload: NoteIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    draft = services.version_draft(actor=actor, item=_item(request, code), note=payload.note)
    return Status(201, outputs.guide(sel.access_version(actor=actor, code=code, number=draft.number)))


@router.get(
    "/onething/manage/items/{code}/versions/{number}", response={200: GuideOut, **ERRORS}, summary="版本内容"
)
def get_version(request: HttpRequest, code: str, number: int) -> dict[str, Any]:
    _item(request, code)
    return outputs.guide(sel.access_version(actor=request_actor(request), code=code, number=number))


@router.patch(
    "/onething/manage/items/{code}/versions/{number}", response={200: GuideOut, **ERRORS}, summary="修改草稿"
)
def update_version(request: HttpRequest, code: str, number: int, payload: ContentIn) -> dict[str, Any]:
    actor = request_actor(request)
    _item(request, code)
    version = sel.access_version(actor=actor, code=code, number=number)
    services.version_update(actor=actor, version=version, content=payload.content)
    return outputs.guide(sel.access_version(actor=actor, code=code, number=number))


_TRANSITIONS = {
    "submit": services.version_submit,
    "return": services.version_return,
    "publish": services.version_publish,
    "withdraw": services.version_withdraw,
}


@router.post(
    "/onething/manage/items/{code}/versions/{number}/{action}",
    response={200: VersionSummaryOut, **ERRORS},
    summary="提交审核(submit)、退回(return)、发布(publish)、撤回(withdraw)",
)
def transition(request: HttpRequest, code: str, number: int, action: str, payload: NoteIn) -> dict[str, Any]:
    actor = request_actor(request)
    _item(request, code)
    if action not in _TRANSITIONS:
        raise NotFound("操作")
    version = sel.access_version(actor=actor, code=code, number=number)
    return outputs.version_summary(_TRANSITIONS[action](actor=actor, version=version, note=payload.note))


@router.get(
    "/onething/manage/items/{code}/diff", response={200: dict[str, Any], **ERRORS}, summary="版本比对"
)
def diff(
    request: HttpRequest, code: str, a: int = Query(..., alias="from"), b: int = Query(..., alias="to")
) -> Any:  # type: ignore[type-arg]
    actor = request_actor(request)
    _item(request, code)
    return diff_versions(
        sel.access_version(actor=actor, code=code, number=a),
        sel.access_version(actor=actor, code=code, number=b),
    )


@router.get(
    "/onething/manage/items/{code}/changes", response={200: list[ChangeOut], **ERRORS}, summary="变更记录"
)
def changes(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    actor = request_actor(request)
    item = _item(request, code)
    return [
        {
            "id": c.pk,
            "version": c.version.number if c.version else None,
            "action": c.action,
            "action_label": str(ChangeAction(c.action).label),
            "actor": c.actor_label,
            "note": c.note,
            "changes": c.changes,
            "created_at": c.created_at,
        }
        for c in sel.item_changes(actor=actor, item=item)
    ]


# -------------------------------------------------------------------------------------------- applications


def _detail(request: HttpRequest, application_id: int) -> dict[str, Any]:
    actor = request_actor(request)
    app = sel.access_application(actor=actor, application_id=application_id)
    return outputs.application_detail(actor, sel.application_detail(app))


def _submit(request: HttpRequest, payload: ApplicationIn, uploads: dict[str, Any]) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    app = services.application_submit(
        actor=actor,
        data=services.ApplicationIn(
            item_code=payload.item_code,
            form=payload.form,
            applicant_name=payload.applicant_name,
            applicant_phone=payload.applicant_phone,
            org_name=payload.org_name,
            org_code=payload.org_code,
            channel=payload.channel,
            district_id=payload.district_id,
            promised=payload.promised,
            uploads=uploads,
        ),
    )
    return Status(201, outputs.application_detail(actor, sel.application_detail(app)))


@router.post(
    "/onething/applications",
    response={201: ApplicationDetailOut, **ERRORS},
    summary="提交申请（一表申请，JSON）",
)
def submit(request: HttpRequest, payload: ApplicationIn) -> Status[dict[str, Any]]:
    """Items whose every required material is shared data (免提交) or promised (容缺) can be filed as JSON;
    with files, use the multipart route."""
    return _submit(request, payload, {})


@router.post(
    "/onething/applications/multipart",
    response={201: ApplicationDetailOut, **ERRORS},
    summary="提交申请（表单+材料文件，multipart）",
)
def submit_multipart(request: HttpRequest, data: Form[str]) -> Status[dict[str, Any]]:  # type: ignore[type-arg]
    """``data``: the application as JSON (same as the JSON route); every other part is a file whose field name is
    the material key (``photo``, ``lease`` ...)."""
    try:
        raw = json.loads(data)
        payload = ApplicationIn(**raw) if isinstance(raw, dict) else None
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(
            "data不是有效的申请JSON", details={"field": "data", "error": str(exc)[:200]}
        ) from None
    if payload is None:
        raise ValidationFailed("data必须是JSON对象", details={"field": "data"})
    uploads = {key: request.FILES[key] for key in request.FILES}
    return _submit(request, payload, uploads)


@router.get("/onething/applications", response={200: ApplicationListOut, **ERRORS}, summary="申请列表")
def list_applications(
    request: HttpRequest,
    status: str | None = None,
    item: str | None = None,
    mine: bool = False,
    limit: int = Query(50, ge=1, le=500),  # type: ignore[type-arg]
    offset: int = Query(0, ge=0),  # type: ignore[type-arg]
) -> dict[str, Any]:
    actor = request_actor(request)
    qs = sel.application_list(actor=actor, status=status, item_code=item, mine=mine)
    return {
        "count": qs.count(),
        "items": [outputs.application_out(actor, a) for a in qs[offset : offset + limit]],
    }


@router.get(
    "/onething/applications/{application_id}",
    response={200: ApplicationDetailOut, **ERRORS},
    summary="申请详情",
)
def get_application(request: HttpRequest, application_id: int) -> dict[str, Any]:
    return _detail(request, application_id)


@router.post(
    "/onething/applications/{application_id}/withdraw",
    response={200: ApplicationDetailOut, **ERRORS},
    summary="撤回申请",
)
def withdraw(request: HttpRequest, application_id: int, payload: WithdrawIn) -> dict[str, Any]:
    actor = request_actor(request)
    app = sel.access_application(actor=actor, application_id=application_id)
    services.application_withdraw(actor=actor, application=app, reason=payload.reason)
    return _detail(request, application_id)


@router.post(
    "/onething/applications/{application_id}/materials/{material_key}",
    response={200: ApplicationDetailOut, **ERRORS},
    summary="补交容缺材料（multipart，PDF/JPG/PNG，≤10MB）",
)
def supply(
    request: HttpRequest,
    application_id: int,
    material_key: str,
    file: UploadedFile = File(...),  # noqa: B008
) -> dict[str, Any]:
    actor = request_actor(request)
    app = sel.access_application(actor=actor, application_id=application_id)
    services.material_supply(actor=actor, application=app, material_key=material_key, upload=file)
    return _detail(request, application_id)


@router.post(
    "/onething/applications/{application_id}/rating", response={201: RatingOut, **ERRORS}, summary="好差评"
)
def rate(request: HttpRequest, application_id: int, payload: RateIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    app = sel.access_application(actor=actor, application_id=application_id)
    r = services.application_rate(
        actor=actor, application=app, score=payload.score, reasons=payload.reasons, comment=payload.comment
    )
    return Status(
        201,
        {
            "score": r.score,
            "score_label": services.RATING_LABELS[r.score],
            "reasons": r.reasons,
            "comment": r.comment,
            "created_at": r.created_at,
        },
    )


# --------------------------------------------------------------------------------------- department inbox


@router.get("/onething/subtasks", response={200: list[SubTaskOut], **ERRORS}, summary="本单位一件事待办")
def inbox(
    request: HttpRequest,
    status: list[str] | None = Query(None),  # type: ignore[type-arg]  # noqa: B008
    limit: int = Query(100, ge=1, le=500),  # type: ignore[type-arg]
) -> list[dict[str, Any]]:
    qs = sel.subtask_inbox(actor=request_actor(request), statuses=status)
    return [outputs.subtask_out(st) for st in qs[:limit]]


def _subtask_detail(request: HttpRequest, subtask_id: int) -> dict[str, Any]:
    st = sel.access_subtask(actor=request_actor(request), subtask_id=subtask_id)
    return outputs.subtask_detail(st)


@router.get(
    "/onething/subtasks/{subtask_id}", response={200: SubTaskDetailOut, **ERRORS}, summary="子任务详情"
)
def get_subtask(request: HttpRequest, subtask_id: int) -> dict[str, Any]:
    return _subtask_detail(request, subtask_id)


@router.post(
    "/onething/subtasks/{subtask_id}/accept", response={200: SubTaskDetailOut, **ERRORS}, summary="受理"
)
def accept(request: HttpRequest, subtask_id: int, payload: NoteBodyIn) -> dict[str, Any]:
    actor = request_actor(request)
    st = sel.access_subtask(actor=actor, subtask_id=subtask_id)
    services.subtask_accept(actor=actor, subtask=st, note=payload.note)
    return _subtask_detail(request, subtask_id)


@router.post(
    "/onething/subtasks/{subtask_id}/complete", response={200: SubTaskDetailOut, **ERRORS}, summary="办结"
)
def complete(request: HttpRequest, subtask_id: int, payload: ResultIn) -> dict[str, Any]:
    actor = request_actor(request)
    st = sel.access_subtask(actor=actor, subtask_id=subtask_id)
    services.subtask_complete(actor=actor, subtask=st, result=payload.result)
    return _subtask_detail(request, subtask_id)


@router.post(
    "/onething/subtasks/{subtask_id}/reject", response={200: SubTaskDetailOut, **ERRORS}, summary="不予办理"
)
def reject(request: HttpRequest, subtask_id: int, payload: ReasonIn) -> dict[str, Any]:
    actor = request_actor(request)
    st = sel.access_subtask(actor=actor, subtask_id=subtask_id)
    services.subtask_reject(actor=actor, subtask=st, reason=payload.reason)
    return _subtask_detail(request, subtask_id)


@router.post(
    "/onething/subtasks/{subtask_id}/promises",
    response={201: PromiseOut, **ERRORS},
    summary="容缺受理（约定补交期限）",
)
def grant_promise(request: HttpRequest, subtask_id: int, payload: PromiseIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    st = sel.access_subtask(actor=actor, subtask_id=subtask_id)
    p = services.promise_grant(
        actor=actor, subtask=st, material_key=payload.material_key, days=payload.days, note=payload.note
    )
    return Status(201, outputs.promise_out(p))


# ----------------------------------------------------------------------------------------------- roll-out


def _rollout_out(r: Rollout) -> dict[str, Any]:
    from shizhi.onething.models import ItemVersion, VersionStatus

    version = ItemVersion.objects.filter(item_id=r.item_id).exclude(status=VersionStatus.DRAFT).first()
    return {
        "id": r.pk,
        "item_code": r.item.code,
        "item_name": version.name if version else r.item.code,
        "district": {"id": r.district.pk, "name": r.district.name},
        "state": r.state,
        "state_label": str(RolloutState(r.state).label),
        "owner_unit": None if r.owner_unit is None else {"id": r.owner_unit.pk, "name": r.owner_unit.name},
        "target_pilot_date": r.target_pilot_date,
        "target_online_date": r.target_online_date,
        "target_fully_online_date": r.target_fully_online_date,
        "target_on_time_rate": r.target_on_time_rate,
        "target_rating": r.target_rating,
        "target_online_share": r.target_online_share,
        "state_changed_at": r.state_changed_at,
        "note": r.note,
        "milestones": [
            {
                "id": m.pk,
                "title": m.title,
                "due_date": m.due_date,
                "owner_name": m.owner_name,
                "owner_unit": None if m.owner_unit is None else m.owner_unit.name,
                "done_at": m.done_at,
                "note": m.note,
            }
            for m in r.milestones.select_related("owner_unit").order_by("due_date", "id")
        ],
    }


def _require_promotion(request: HttpRequest, permission: str = "onething.view_promotion") -> Any:
    actor = request_actor(request)
    if not has_perm(actor, permission):
        raise PermissionDenied("没有查看一件事推进情况的权限")
    return actor


def _rollout(rollout_id: int) -> Rollout:
    r = Rollout.objects.select_related("item", "district", "owner_unit").filter(pk=rollout_id).first()
    if r is None:
        raise NotFound("推进情况")
    return r


def _unit(unit_id: int | None, field: str) -> Unit | None:
    if unit_id is None:
        return None
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise ValidationFailed("单位不存在", details={"field": field})
    return unit


@router.get(
    "/onething/rollouts", response={200: list[RolloutOut], **ERRORS}, summary="推进情况（按事项、区县）"
)
def rollouts(
    request: HttpRequest, item: str | None = None, district: int | None = None
) -> list[dict[str, Any]]:
    _require_promotion(request)
    qs = Rollout.objects.select_related("item", "district", "owner_unit").order_by(
        "item__sort", "item__code", "district__code"
    )
    if item:
        qs = qs.filter(item__code=item)
    if district is not None:
        qs = qs.filter(district_id=district)
    return [_rollout_out(r) for r in qs[:1000]]


@router.put("/onething/rollouts", response={200: RolloutOut, **ERRORS}, summary="新建或修改推进计划")
def upsert_rollout(request: HttpRequest, payload: RolloutIn) -> dict[str, Any]:
    actor = _require_promotion(request, "onething.manage_promotion")
    item = Item.objects.filter(code=payload.item_code).first()
    if item is None:
        raise NotFound("一件事")
    district = Area.objects.filter(pk=payload.district_id, level=AreaLevel.DISTRICT).first()
    if district is None:
        raise ValidationFailed("区县不存在", details={"field": "district_id"})
    targets = {k: v for k, v in payload.dict().items() if k.startswith("target_") and v is not None}
    r = services.rollout_upsert(
        actor=actor,
        item=item,
        district=district,
        owner_unit=_unit(payload.owner_unit_id, "owner_unit_id"),
        note=payload.note,
        **targets,
    )
    return _rollout_out(_rollout(r.pk))


@router.post(
    "/onething/rollouts/{rollout_id}/state", response={200: RolloutOut, **ERRORS}, summary="变更推进状态"
)
def set_state(request: HttpRequest, rollout_id: int, payload: StateIn) -> dict[str, Any]:
    actor = _require_promotion(request, "onething.manage_promotion")
    services.rollout_set_state(
        actor=actor, rollout=_rollout(rollout_id), state=payload.state, note=payload.note
    )
    return _rollout_out(_rollout(rollout_id))


@router.post(
    "/onething/rollouts/{rollout_id}/milestones", response={201: RolloutOut, **ERRORS}, summary="新增推进节点"
)
def add_milestone(request: HttpRequest, rollout_id: int, payload: MilestoneIn) -> Status[dict[str, Any]]:
    actor = _require_promotion(request, "onething.manage_promotion")
    services.milestone_add(
        actor=actor,
        rollout=_rollout(rollout_id),
        title=payload.title,
        due_date=payload.due_date,
        owner_name=payload.owner_name,
        owner_unit=_unit(payload.owner_unit_id, "owner_unit_id"),
        note=payload.note,
    )
    return Status(201, _rollout_out(_rollout(rollout_id)))


@router.post(
    "/onething/milestones/{milestone_id}/complete",
    response={200: RolloutOut, **ERRORS},
    summary="完成推进节点",
)
def complete_milestone(request: HttpRequest, milestone_id: int, payload: MilestoneDoneIn) -> dict[str, Any]:
    actor = _require_promotion(request, "onething.manage_promotion")
    milestone = Milestone.objects.filter(pk=milestone_id).first()
    if milestone is None:
        raise NotFound("推进节点")
    services.milestone_complete(actor=actor, milestone=milestone, note=payload.note)
    return _rollout_out(_rollout(milestone.rollout_id))
