"""Hotline API (/api/v1/cases, /api/v1/hotline/...): every operation of the workflow, scoped by role."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.throttling import AnonRateThrottle
from pydantic import Field

from shizhi.ai.review import review_reply
from shizhi.core import hotpath, workcalendar
from shizhi.core import selectors as core_sel
from shizhi.core.actors import request_actor
from shizhi.core.errors import NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import Unit, User
from shizhi.core.permissions import has_perm
from shizhi.core.schemas import ErrorOut
from shizhi.hotline import ai_assist, page_selectors, rates, services
from shizhi.hotline import selectors as sel
from shizhi.hotline.models import (
    Case,
    CaseStatus,
    Category,
    DispatchRule,
    Extension,
    KnowledgeArticle,
)
from shizhi.hotline.schemas import (
    AnswerIn,
    ArticleIn,
    ArticleOut,
    AssistIn,
    CallbackIn,
    CaseCreateIn,
    CaseDetailOut,
    CategoryCreateIn,
    CategoryOut,
    CategoryUpdateIn,
    DecideIn,
    DispatchIn,
    ExtensionIn,
    InboxItemOut,
    LinkIn,
    MergeIn,
    PublicCaseCreateIn,
    PublicCaseOut,
    PublicRateIn,
    RateRow,
    ReplyReviewIn,
    ReplyReviewOut,
    ReplySuggestionOut,
    ReviewReturnIn,
    RuleIn,
    RuleOut,
    SimilarCaseOut,
    SimilarIn,
    SuggestionOut,
    SuperviseIn,
    TextIn,
)

router = Router(tags=["hotline"])
# Citizens without an account: per-IP throttling keeps a script from flooding the hotline.
public_router = Router(tags=["hotline-public"], auth=None, throttle=[AnonRateThrottle("60/m")])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _ref(obj: Any) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


def case_out(c: Case) -> dict[str, Any]:
    return {
        "id": c.pk,
        "number": c.number,
        "channel": c.channel,
        "demand_type": c.demand_type,
        "category_code": c.category.code,
        "category_name": c.category.full_name,
        "title": c.title,
        "status": c.status,
        "status_label": str(CaseStatus(c.status).label),
        "urgency": c.urgency,
        "lead_unit": _ref(c.lead_unit),
        "received_at": c.received_at,
        "due_at": c.due_at,
        "is_overdue": c.is_overdue,
        "is_due_soon": c.is_due_soon,
        "flagged": c.flagged,
        "address": c.address,
        "street": _ref(c.street),
        "lng": c.lng,
        "lat": c.lat,
    }


def case_detail(actor: User, c: Case) -> dict[str, Any]:
    """The whole case as its reader may see it. A case that intake has just created carries its (empty)
    relations and its first timeline entry already (``selectors.remember_new``): it is answered without a query;
    any other case is read again with its relations in one query each."""
    if not sel.is_fresh(c):
        c = sel.case_for_detail(c.pk)
    return {
        **case_out(c),
        **sel.citizen_view(actor, c),
        "content": c.content,
        "anonymous": c.anonymous,
        "sla_kind": c.sla_kind,
        "grid": _ref(c.grid),
        "community": _ref(c.community),
        "district": _ref(c.district),
        "dispatched_at": c.dispatched_at,
        "feedback_due_at": c.feedback_due_at,
        "reply": c.reply,
        "replied_at": c.replied_at,
        "replied_on_time": c.replied_on_time,
        "solved": c.solved,
        "satisfaction": c.satisfaction,
        "rated_at": c.rated_at,
        "reopen_count": c.reopen_count,
        "merged_into": c.merged_into.number if c.merged_into else None,
        "merged_cases": [m.number for m in sorted(c.merged_cases.all(), key=lambda m: m.pk)],
        "related": [r.number for r in sorted(c.related.all(), key=lambda r: r.pk)],
        "assignments": [
            {
                "id": a.pk,
                "unit": _ref(a.unit),
                "role": a.role,
                "status": a.status,
                "dispatched_at": a.dispatched_at,
                "accept_due_at": a.accept_due_at,
                "accepted_at": a.accepted_at,
                "accepted_on_time": a.accepted_on_time,
                "return_reason": a.return_reason,
                "note": a.note,
            }
            for a in sorted(c.assignments.all(), key=lambda a: a.pk)
        ],
        "extensions": [
            {
                "id": e.pk,
                "unit": _ref(e.unit),
                "working_days": e.working_days,
                "reason": e.reason,
                "status": e.status,
                "decision_note": e.decision_note,
                "old_due_at": e.old_due_at,
                "new_due_at": e.new_due_at,
                "created_at": e.created_at,
            }
            for e in sorted(c.extensions.all(), key=lambda e: e.pk)
        ],
        "supervisions": [
            {
                "id": s.pk,
                "kind": s.kind,
                "note": s.note,
                "created_at": s.created_at,
                "resolved_at": s.resolved_at,
            }
            for s in sorted(c.supervisions.all(), key=lambda s: s.pk)
        ],
        "timeline": sel.timeline(c),
        "allowed_actions": sel.allowed_actions(actor, c),
    }


def _category(code: str) -> Category:
    names, cols = hotpath.columns(Category, "c")
    row = hotpath.fetch_one(
        f"SELECT {cols} FROM {hotpath.table(Category)} c WHERE c.{hotpath.column(Category, 'code')} = %s",
        [code],
    )  # every intake asks: hand-written (core.hotpath)
    category = hotpath.instance(Category, names, row) if row else None
    if category is None:
        raise ValidationFailed("诉求分类不存在", details={"field": "category", "value": code})
    return category


def _unit(actor: User, unit_id: int, field: str = "unit_id") -> Unit:
    try:
        return core_sel.access_unit(actor=actor, unit_id=unit_id)
    except NotFound as exc:
        raise NotFound("承办单位", details={"field": field}) from exc


def _case_in(payload: CaseCreateIn) -> services.CaseIn:
    return services.CaseIn(
        channel=payload.channel,
        demand_type=payload.demand_type,
        category=_category(payload.category),
        title=payload.title,
        content=payload.content,
        citizen_name=payload.citizen_name,
        citizen_phone=payload.citizen_phone,
        address=payload.address,
        lng=payload.lng,
        lat=payload.lat,
        urgency=payload.urgency,
        anonymous=payload.anonymous,
        idempotency_key=payload.idempotency_key,
    )


# ---------------------------------------------------------------------------------------------- cases


class CaseQuery(Schema):
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)
    status: str | None = Field(default=None, max_length=16)
    open: bool | None = None
    category: str | None = Field(default=None, max_length=32)
    unit: int | None = None
    area: int | None = None
    since: str | None = Field(default=None, max_length=40, description="ISO datetime, received from")
    until: str | None = Field(default=None, max_length=40, description="ISO datetime, received before")
    overdue: bool | None = None
    text: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=16)
    demand_type: str | None = Field(default=None, max_length=16)
    number: str | None = Field(default=None, max_length=20)


def _parse_dt(value: str | None, field: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationFailed(
            "时间格式应为ISO 8601，如 2026-11-01T00:00:00+08:00", details={"field": field}
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=workcalendar.local_tz())


@router.get(
    "/cases", response={200: dict[str, Any], **ERRORS}, summary="工单列表（按角色范围，可筛选、分页）"
)
def list_cases(request: HttpRequest, q: Query[CaseQuery]) -> dict[str, Any]:
    filters = sel.CaseFilters(
        status=q.status,
        open=q.open,
        category=q.category,
        unit=q.unit,
        area=q.area,
        since=_parse_dt(q.since, "since"),
        until=_parse_dt(q.until, "until"),
        overdue=q.overdue,
        text=q.text,
        channel=q.channel,
        demand_type=q.demand_type,
        number=q.number,
    )
    qs = sel.case_list(actor=request_actor(request), filters=filters)
    # Counting a million rows costs more than the page itself: fetch one row more than the page instead (in the
    # same ordered query, so the database walks its index once).
    rows = list(qs.select_related("street")[q.offset : q.offset + q.limit + 1])
    items = [case_out(c) for c in rows[: q.limit]]
    return {"items": items, "limit": q.limit, "offset": q.offset, "has_more": len(rows) > q.limit}


@router.post(
    "/cases", response={201: CaseDetailOut, **ERRORS}, summary="受理诉求（话务员、网格员；市民登记本人诉求）"
)
def create_case(request: HttpRequest, payload: CaseCreateIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    if payload.idempotency_key is None and request.headers.get("Idempotency-Key"):
        payload.idempotency_key = request.headers["Idempotency-Key"][:64]
    case, first_event = services.case_receive(actor=actor, data=_case_in(payload))
    if payload.ai_suggestions:  # what the client showed the operator, against what was chosen
        shown: dict[str, Any] = {
            t: [list(pair) for pair in pairs] for t, pairs in payload.ai_suggestions.items()
        }
        ai_assist.record(actor, case, list(shown), suggestions=shown)
    sel.remember_new(case, first_event)
    return Status(201, case_detail(actor, case))


# ---------------------------------------------------------------------------------------------- AI assistance
# Similar cases (相似工单) and reply suggestions (答复参考) from shizhi.ai.similar, the reply review (答复质量)
# from shizhi.ai.review: reads only, nothing is stored. This route comes before "/cases/{case_id}", so that a
# POST to /cases/similar is not taken for a case id; the routes of one case follow ``_act`` below.


@router.post(
    "/cases/similar",
    response={200: list[SimilarCaseOut], **ERRORS},
    summary="相似工单：正在受理的诉求可能重复的未办结工单（同一号码，或同一网格、1公里内30天内内容相近）",
)
def similar_for_request(request: HttpRequest, payload: SimilarIn) -> list[dict[str, Any]]:
    actor = request_actor(request)
    if not has_perm(actor, "hotline.intake"):
        raise PermissionDenied("没有受理诉求的权限")
    if not (payload.title.strip() or payload.content.strip() or payload.phone.strip()):
        raise ValidationFailed("请填写标题、诉求内容或来电号码", details={"field": "content"})
    if (payload.lng is None) != (payload.lat is None):
        raise ValidationFailed("经度和纬度须同时给出", details={"field": "lng"})
    found = page_selectors.similar_open_cases(
        actor=actor,
        title=payload.title,
        content=payload.content,
        lng=payload.lng,
        lat=payload.lat,
        phone=payload.phone,
        limit=payload.limit,
    )
    return [s.as_dict() for s in found.cases]


@router.get("/cases/{case_id}", response={200: CaseDetailOut, **ERRORS}, summary="工单详情（含办理记录）")
def get_case(request: HttpRequest, case_id: int) -> dict[str, Any]:
    actor = request_actor(request)
    return case_detail(actor, sel.access_case(actor=actor, case_id=case_id))


@router.get(
    "/cases/{case_id}/suggestion", response={200: SuggestionOut, **ERRORS}, summary="派单建议（派单目录）"
)
def suggestion(request: HttpRequest, case_id: int) -> dict[str, Any]:
    case = sel.access_case(actor=request_actor(request), case_id=case_id)
    s = services.suggest_unit(case)
    return {"unit": _ref(s.unit), "reason": s.reason, "rule_id": s.rule.pk if s.rule else None}


def _act(request: HttpRequest, case_id: int) -> tuple[User, Case]:
    actor = request_actor(request)
    return actor, sel.access_case(actor=actor, case_id=case_id)


# AI assistance on a case: similar open cases, reply suggestions, the reply review (see similar_for_request).


def _staff_case(request: HttpRequest, case_id: int) -> tuple[User, Case]:
    """A case the actor may see, for the centre's and the units' staff only (not for citizens)."""
    actor, case = _act(request, case_id)
    if not has_perm(actor, "hotline.view_cases"):
        raise PermissionDenied("没有查看工单办理信息的权限")
    return actor, case


@router.get(
    "/cases/{case_id}/similar",
    response={200: list[SimilarCaseOut], **ERRORS},
    summary="相似工单：与该工单同一网格或1公里内、前后30天内内容相近的未办结工单",
)
def similar_for_case(
    request: HttpRequest,
    case_id: int,
    limit: int = Query(5, ge=1, le=20),  # type: ignore[type-arg]
) -> list[dict[str, Any]]:
    actor, case = _staff_case(request, case_id)
    return [s.as_dict() for s in page_selectors.similar_to_case(actor=actor, case=case, limit=limit)]


@router.get(
    "/cases/{case_id}/reply-suggestions",
    response={200: list[ReplySuggestionOut], **ERRORS},
    summary="答复参考：内容相近的已答复工单及其答复",
)
def reply_suggestions(
    request: HttpRequest,
    case_id: int,
    limit: int = Query(3, ge=1, le=10),  # type: ignore[type-arg]
) -> list[dict[str, Any]]:
    actor, case = _staff_case(request, case_id)
    return [s.as_dict() for s in page_selectors.reply_suggestions_for(actor=actor, case=case, limit=limit)]


@router.post(
    "/cases/{case_id}/reply-review",
    response={200: ReplyReviewOut, **ERRORS},
    summary="答复质量：相关性、完整性、可解释性评分及理由（不发送答复）",
)
def reply_review(request: HttpRequest, case_id: int, payload: ReplyReviewIn) -> dict[str, Any]:
    _, case = _staff_case(request, case_id)
    if not payload.text.strip():
        raise ValidationFailed("请填写答复内容", details={"field": "text"})
    return review_reply(message_title=case.title, message_content=case.content, reply=payload.text).as_dict()


@router.post("/cases/{case_id}/answer", response={200: CaseDetailOut, **ERRORS}, summary="直接答复（知识库）")
def answer(request: HttpRequest, case_id: int, payload: AnswerIn) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    article = services.knowledge_get(payload.article_id) if payload.article_id else None
    return case_detail(
        actor, services.case_answer_directly(actor=actor, case=case, reply=payload.reply, article=article)
    )


@router.post(
    "/cases/{case_id}/dispatch", response={200: CaseDetailOut, **ERRORS}, summary="派单（主办+协办）"
)
def dispatch(request: HttpRequest, case_id: int, payload: DispatchIn) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    unit = _unit(actor, payload.unit_id)
    assists = [_unit(actor, i, "assist_unit_ids") for i in payload.assist_unit_ids]
    case = services.case_dispatch(
        actor=actor, case=case, unit=unit, assist_units=assists, sla_kind=payload.sla_kind, note=payload.note
    )
    ai_assist.record(actor, case, ["unit"], unit=unit)  # the unit model's suggestion against the choice
    return case_detail(actor, case)


@router.post("/cases/{case_id}/assist", response={200: CaseDetailOut, **ERRORS}, summary="增派协办单位")
def add_assist(request: HttpRequest, case_id: int, payload: AssistIn) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    units = [_unit(actor, i, "unit_ids") for i in payload.unit_ids]
    return case_detail(
        actor, services.case_add_assist(actor=actor, case=case, units=units, note=payload.note)
    )


@router.post("/cases/{case_id}/accept", response={200: CaseDetailOut, **ERRORS}, summary="签收")
def accept(request: HttpRequest, case_id: int) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    return case_detail(actor, services.case_accept(actor=actor, case=case))


@router.post("/cases/{case_id}/return", response={200: CaseDetailOut, **ERRORS}, summary="退单（须说明理由）")
def return_case(request: HttpRequest, case_id: int, payload: TextIn) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    return case_detail(actor, services.case_return(actor=actor, case=case, reason=payload.text))


@router.post(
    "/cases/{case_id}/review-return",
    response={200: CaseDetailOut, **ERRORS},
    summary="审核退单：同意并改派，或驳回",
)
def review_return(request: HttpRequest, case_id: int, payload: ReviewReturnIn) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    unit = _unit(actor, payload.unit_id) if payload.unit_id is not None else None
    return case_detail(
        actor,
        services.case_review_return(
            actor=actor, case=case, approve=payload.approve, unit=unit, note=payload.note
        ),
    )


@router.post("/cases/{case_id}/start", response={200: CaseDetailOut, **ERRORS}, summary="开始办理")
def start(request: HttpRequest, case_id: int) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    return case_detail(actor, services.case_start(actor=actor, case=case))


@router.post("/cases/{case_id}/assist-note", response={200: CaseDetailOut, **ERRORS}, summary="协办反馈")
def assist_note(request: HttpRequest, case_id: int, payload: TextIn) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    return case_detail(actor, services.case_assist_note(actor=actor, case=case, note=payload.text))


@router.post("/cases/{case_id}/reply", response={200: CaseDetailOut, **ERRORS}, summary="答复市民")
def reply(request: HttpRequest, case_id: int, payload: TextIn) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    return case_detail(actor, services.case_reply(actor=actor, case=case, reply=payload.text))


@router.post("/cases/{case_id}/extensions", response={201: CaseDetailOut, **ERRORS}, summary="申请延期")
def request_extension(request: HttpRequest, case_id: int, payload: ExtensionIn) -> Status[dict[str, Any]]:
    actor, case = _act(request, case_id)
    services.case_request_extension(
        actor=actor, case=case, working_days=payload.working_days, reason=payload.reason
    )
    return Status(201, case_detail(actor, case))


@router.post("/extensions/{extension_id}/decide", response={200: CaseDetailOut, **ERRORS}, summary="审批延期")
def decide_extension(request: HttpRequest, extension_id: int, payload: DecideIn) -> dict[str, Any]:
    actor = request_actor(request)
    ext = Extension.objects.filter(pk=extension_id).first()
    if ext is None:
        raise NotFound("延期申请")
    case = sel.access_case(actor=actor, case_id=ext.case_id)
    services.case_decide_extension(actor=actor, extension=ext, approve=payload.approve, note=payload.note)
    return case_detail(actor, case)


@router.post("/cases/{case_id}/supervise", response={201: CaseDetailOut, **ERRORS}, summary="督办")
def supervise(request: HttpRequest, case_id: int, payload: SuperviseIn) -> Status[dict[str, Any]]:
    actor, case = _act(request, case_id)
    services.case_supervise(actor=actor, case=case, note=payload.note, kind=payload.kind)
    return Status(201, case_detail(actor, case))


@router.post(
    "/cases/{case_id}/callback",
    response={200: CaseDetailOut, **ERRORS},
    summary="回访（是否解决、满意度1-5）",
)
def callback(request: HttpRequest, case_id: int, payload: CallbackIn) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    return case_detail(
        actor,
        services.case_callback(
            actor=actor,
            case=case,
            reached=payload.reached,
            solved=payload.solved,
            satisfaction=payload.satisfaction,
            note=payload.note,
        ),
    )


@router.post("/cases/{case_id}/reopen", response={200: CaseDetailOut, **ERRORS}, summary="重办（回访不满意）")
def reopen(request: HttpRequest, case_id: int, payload: TextIn) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    return case_detail(actor, services.case_reopen(actor=actor, case=case, reason=payload.text))


@router.post(
    "/cases/{case_id}/merge", response={200: CaseDetailOut, **ERRORS}, summary="合并到主工单（重复诉求）"
)
def merge(request: HttpRequest, case_id: int, payload: MergeIn) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    master = sel.access_case(actor=actor, case_id=payload.master_id)
    return case_detail(
        actor, services.case_merge(actor=actor, master=master, duplicate=case, note=payload.note)
    )


@router.post("/cases/{case_id}/link", response={200: CaseDetailOut, **ERRORS}, summary="关联工单")
def link(request: HttpRequest, case_id: int, payload: LinkIn) -> dict[str, Any]:
    actor, case = _act(request, case_id)
    other = sel.access_case(actor=actor, case_id=payload.other_id)
    services.case_link(actor=actor, case=case, other=other)
    return case_detail(actor, case)


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    url: str


@router.post(
    "/cases/{case_id}/attachments",
    response={201: AttachmentOut, **ERRORS},
    summary="上传附件（JPG/PNG/PDF，≤10MB）",
)
def attach(request: HttpRequest, case_id: int, file: UploadedFile = File(...)) -> Status[dict[str, Any]]:  # noqa: B008
    actor, case = _act(request, case_id)
    # Whoever may see the case and take part in it may add evidence: staff with an action, or its citizen.
    may = bool(sel.allowed_actions(actor, case)) or case.citizen_id == actor.pk
    a = services.case_attach(actor=actor, case=case, upload=file, may_attach=may)
    return Status(
        201,
        {
            "id": a.pk,
            "name": a.name,
            "content_type": a.content_type,
            "size": a.size,
            "url": reverse("hotline:attachment", kwargs={"case_id": case.pk, "attachment_id": a.pk}),
        },
    )


@router.get("/inbox", response={200: list[InboxItemOut], **ERRORS}, summary="本单位待办（签收、办理、协办）")
def inbox(request: HttpRequest, limit: int = Query(100, ge=1, le=500)) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    items = sel.unit_inbox(actor=request_actor(request))[:limit]
    return [
        {
            "assignment_id": a.pk,
            "role": a.role,
            "assignment_status": a.status,
            "accept_due_at": a.accept_due_at,
            "case": case_out(a.case),
        }
        for a in items
    ]


# ---------------------------------------------------------------------------------------------- catalogue


def _category_out(c: Category) -> dict[str, Any]:
    return {
        "id": c.pk,
        "code": c.code,
        "name": c.name,
        "full_name": c.full_name,
        "level": c.level,
        "parent_code": c.parent.code if c.parent else None,
        "sla_kind": c.sla_kind,
        "is_active": c.is_active,
    }


@router.get("/hotline/categories", response={200: list[CategoryOut], **ERRORS}, summary="诉求分类")
def categories(request: HttpRequest, active: bool | None = None) -> list[dict[str, Any]]:
    qs = Category.objects.select_related("parent").order_by("path")
    if active is not None:
        qs = qs.filter(is_active=active)
    return [_category_out(c) for c in qs]


@router.post("/hotline/categories", response={201: CategoryOut, **ERRORS}, summary="新增诉求分类")
def create_category(request: HttpRequest, payload: CategoryCreateIn) -> Status[dict[str, Any]]:
    services.categories_import(
        actor=request_actor(request),
        rows=[
            services.CategoryRow(
                code=payload.code,
                name=payload.name,
                parent_code=payload.parent_code,
                sla_kind=payload.sla_kind,
                keywords=payload.keywords,
            )
        ],
    )
    return Status(201, _category_out(Category.objects.select_related("parent").get(code=payload.code)))


@router.patch("/hotline/categories/{code}", response={200: CategoryOut, **ERRORS}, summary="修改诉求分类")
def update_category(request: HttpRequest, code: str, payload: CategoryUpdateIn) -> dict[str, Any]:
    names, cols = hotpath.columns(Category, "c")
    row = hotpath.fetch_one(
        f"SELECT {cols} FROM {hotpath.table(Category)} c WHERE c.{hotpath.column(Category, 'code')} = %s",
        [code],
    )  # every intake asks: hand-written (core.hotpath)
    category = hotpath.instance(Category, names, row) if row else None
    if category is None:
        raise NotFound("诉求分类")
    data = payload.dict(exclude_unset=True)
    return _category_out(services.category_update(actor=request_actor(request), category=category, **data))


def _rule_out(r: DispatchRule) -> dict[str, Any]:
    return {
        "id": r.pk,
        "category_code": r.category.code,
        "category_name": r.category.full_name,
        "area": _ref(r.area),
        "target": r.target,
        "unit": _ref(r.unit),
        "note": r.note,
    }


@router.get("/hotline/dispatch-rules", response={200: list[RuleOut], **ERRORS}, summary="派单目录")
def rules(request: HttpRequest) -> list[dict[str, Any]]:
    return [_rule_out(r) for r in DispatchRule.objects.select_related("category", "area", "unit")]


@router.post("/hotline/dispatch-rules", response={201: RuleOut, **ERRORS}, summary="新增派单规则")
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    area = core_sel.access_area(actor=actor, area_id=payload.area_id) if payload.area_id is not None else None
    unit = _unit(actor, payload.unit_id) if payload.unit_id is not None else None
    rule = services.dispatch_rule_create(
        actor=actor,
        category=_category(payload.category_code),
        area=area,
        unit=unit,
        to_street=payload.to_street,
        note=payload.note,
    )
    return Status(201, _rule_out(rule))


@router.delete("/hotline/dispatch-rules/{rule_id}", response={204: None, **ERRORS}, summary="删除派单规则")
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    rule = DispatchRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("派单规则")
    services.dispatch_rule_delete(actor=request_actor(request), rule=rule)
    return Status(204, None)


# ---------------------------------------------------------------------------------------------- knowledge base


def _article_out(a: KnowledgeArticle, score: float | None = None) -> dict[str, Any]:
    return {
        "id": a.pk,
        "title": a.title,
        "question": a.question,
        "answer": a.answer,
        "category_code": a.category.code if a.category else None,
        "keywords": a.keywords,
        "source": a.source,
        "is_published": a.is_published,
        "times_used": a.times_used,
        "score": score,
    }


@router.get("/hotline/knowledge", response={200: list[ArticleOut], **ERRORS}, summary="知识库检索（中文）")
def knowledge(
    request: HttpRequest,
    q: str = Query("", max_length=200),  # type: ignore[type-arg]
    limit: int = Query(10, ge=1, le=50),
) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    if q.strip():
        return [_article_out(a, s) for s, a in sel.knowledge_search(q, limit=limit)]
    qs = (
        KnowledgeArticle.objects.filter(is_published=True)
        .select_related("category")
        .order_by("-times_used", "id")
    )
    return [_article_out(a) for a in qs[:limit]]


@router.post("/hotline/knowledge", response={201: ArticleOut, **ERRORS}, summary="新增知识库条目")
def create_article(request: HttpRequest, payload: ArticleIn) -> Status[dict[str, Any]]:
    category = _category(payload.category_code) if payload.category_code else None
    article = services.knowledge_save(
        actor=request_actor(request),
        title=payload.title,
        answer=payload.answer,
        question=payload.question,
        category=category,
        keywords=payload.keywords,
        source=payload.source,
        is_published=payload.is_published,
    )
    return Status(201, _article_out(article))


@router.put("/hotline/knowledge/{article_id}", response={200: ArticleOut, **ERRORS}, summary="修改知识库条目")
def update_article(request: HttpRequest, article_id: int, payload: ArticleIn) -> dict[str, Any]:
    article = services.knowledge_get(article_id)
    category = _category(payload.category_code) if payload.category_code else None
    return _article_out(
        services.knowledge_save(
            actor=request_actor(request),
            article=article,
            title=payload.title,
            answer=payload.answer,
            question=payload.question,
            category=category,
            keywords=payload.keywords,
            source=payload.source,
            is_published=payload.is_published,
        )
    )


# ---------------------------------------------------------------------------------------------- three rates


class RatesQuery(Schema):
    group: str = Field(default="unit", max_length=10)
    month_from: int | None = Field(default=None, ge=200001, le=210012)
    month_to: int | None = Field(default=None, ge=200001, le=210012)
    since: str | None = Field(default=None, max_length=40)
    until: str | None = Field(default=None, max_length=40)
    by_month: bool = False


def _period(q: RatesQuery) -> rates.Period:
    if q.month_from is not None:
        return rates.Period.months(q.month_from, q.month_to)
    since, until = _parse_dt(q.since, "since"), _parse_dt(q.until, "until")
    if since is None or until is None:
        raise ValidationFailed(
            "请给出月份（month_from[, month_to]）或时间段（since, until）", details={"field": "month_from"}
        )
    return rates.Period.between(since, until)


@router.get(
    "/hotline/rates",
    response={200: list[RateRow], **ERRORS},
    summary="三率：响应率、解决率、满意率与综合得分（按单位、区县、街道或全市；按月或时间段）",
)
def get_rates(request: HttpRequest, q: Query[RatesQuery]) -> list[dict[str, Any]]:
    rows = rates.compute_rates(
        actor=request_actor(request), period=_period(q), group=q.group, by_month=q.by_month
    )
    return [r.as_dict() for r in rows]


@router.get("/hotline/ranking", response={200: list[RateRow], **ERRORS}, summary="三率综合排名")
def get_ranking(request: HttpRequest, q: Query[RatesQuery]) -> list[dict[str, Any]]:
    return rates.ranking(actor=request_actor(request), period=_period(q), group=q.group)


# ---------------------------------------------------------------------------------------------- citizens (no login)


@public_router.post(
    "/public/cases",
    response={201: PublicCaseOut, **ERRORS},
    summary="市民提交诉求（无需登录，须留手机号以便查询和回访）",
)
def public_create(request: HttpRequest, payload: PublicCaseCreateIn) -> Status[dict[str, Any]]:
    if payload.channel not in ("web", "app", "wechat"):
        raise ValidationFailed("来源渠道只能是 web、app 或 wechat", details={"field": "channel"})
    if not payload.citizen_phone:
        raise ValidationFailed("请留下手机号，用于查询进度和回访", details={"field": "citizen_phone"})
    payload.anonymous = False
    case = services.case_create(actor=None, data=_case_in(payload))
    return Status(201, public_out(case))


def public_out(case: Case) -> dict[str, Any]:
    return {
        "number": case.number,
        "title": case.title,
        "category_name": case.category.full_name,
        "status": case.status,
        "status_label": str(CaseStatus(case.status).label),
        "received_at": case.received_at,
        "lead_unit": case.lead_unit.name if case.lead_unit else None,
        "reply": case.reply,
        "replied_at": case.replied_at,
        "can_rate": case.status == CaseStatus.REPLIED,
        "satisfaction": case.satisfaction,
    }


@public_router.get(
    "/public/cases/{number}", response={200: PublicCaseOut, **ERRORS}, summary="按编号和手机号查询进度"
)
def public_track(
    request: HttpRequest,
    number: str,
    phone: str = Query(..., max_length=20),  # type: ignore[type-arg]
) -> dict[str, Any]:
    return public_out(sel.case_by_number_and_phone(number, phone))


@public_router.post(
    "/public/cases/{number}/rate",
    response={200: PublicCaseOut, **ERRORS},
    summary="市民评价（是否解决、满意度1-5）",
)
def public_rate(request: HttpRequest, number: str, payload: PublicRateIn) -> dict[str, Any]:
    case = sel.case_by_number_and_phone(number, payload.phone)
    case = services.case_callback(
        actor=None,
        case=case,
        reached=True,
        solved=payload.solved,
        satisfaction=payload.satisfaction,
        note=payload.note,
        by_citizen=True,
    )
    return public_out(case)
