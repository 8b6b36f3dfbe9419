"""django-ninja schemas of the hotline API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field

AiPair = Annotated[
    tuple[Annotated[str, Field(min_length=1, max_length=128)], Annotated[float, Field(ge=0, le=1)]],
    Field(description="[label, probability]"),
]


class CaseCreateIn(Schema):
    channel: str = Field(default="phone", max_length=16)
    demand_type: str = Field(max_length=16)
    category: str = Field(description="category code", max_length=32)
    title: str = Field(max_length=100)
    content: str = Field(max_length=4000)
    citizen_name: str = Field(default="", max_length=32)
    citizen_phone: str = Field(default="", max_length=20)
    anonymous: bool = False
    address: str = Field(default="", max_length=200)
    lng: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    urgency: str = Field(default="normal", max_length=8)
    idempotency_key: str | None = Field(default=None, max_length=64, description="repeat-safe submission key")
    ai_suggestions: (
        dict[Literal["category", "demand_type"], Annotated[list[AiPair], Field(max_length=10)]] | None
    ) = Field(
        default=None,
        description="what POST /api/v1/ai/suggest showed the operator ([[label, probability], ...] per task):"
        " recorded with the final choice, so that retraining learns from overrides",
    )


class PublicCaseCreateIn(CaseCreateIn):
    channel: str = Field(default="web", max_length=16)
    ai_suggestions: None = Field(default=None, description="not for citizens' own submissions")


class AreaRef(Schema):
    id: int
    name: str


class UnitRef(Schema):
    id: int
    name: str


class CaseOut(Schema):
    id: int
    number: str
    channel: str
    demand_type: str
    category_code: str
    category_name: str
    title: str
    status: str
    status_label: str
    urgency: str
    lead_unit: UnitRef | None
    received_at: dt.datetime
    due_at: dt.datetime | None
    is_overdue: bool
    is_due_soon: bool
    flagged: bool
    address: str
    street: AreaRef | None
    lng: float | None
    lat: float | None


class AssignmentOut(Schema):
    id: int
    unit: UnitRef
    role: str
    status: str
    dispatched_at: dt.datetime
    accept_due_at: dt.datetime
    accepted_at: dt.datetime | None
    accepted_on_time: bool | None
    return_reason: str
    note: str


class ExtensionOut(Schema):
    id: int
    unit: UnitRef
    working_days: int
    reason: str
    status: str
    decision_note: str
    old_due_at: dt.datetime | None
    new_due_at: dt.datetime | None
    created_at: dt.datetime


class SupervisionOut(Schema):
    id: int
    kind: str
    note: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None


class EventOut(Schema):
    id: int
    action: str
    actor: str
    unit: str | None
    status_from: str
    status_to: str
    note: str
    data: dict[str, Any]
    created_at: dt.datetime


class CaseDetailOut(CaseOut):
    content: str
    citizen_name: str = Field(description="masked without the right to personal data")
    citizen_phone: str = Field(description="masked without the right to personal data")
    anonymous: bool
    sla_kind: str
    grid: AreaRef | None
    community: AreaRef | None
    district: AreaRef | None
    dispatched_at: dt.datetime | None
    feedback_due_at: dt.datetime | None
    reply: str
    replied_at: dt.datetime | None
    replied_on_time: bool | None
    solved: bool | None
    satisfaction: int | None
    rated_at: dt.datetime | None
    reopen_count: int
    merged_into: str | None
    merged_cases: list[str]
    related: list[str]
    assignments: list[AssignmentOut]
    extensions: list[ExtensionOut]
    supervisions: list[SupervisionOut]
    timeline: list[EventOut]
    allowed_actions: list[str]


class PublicCaseOut(Schema):
    """What a citizen sees when tracking by number and phone (查询进度)."""

    number: str
    title: str
    category_name: str
    status: str
    status_label: str
    received_at: dt.datetime
    lead_unit: str | None
    reply: str
    replied_at: dt.datetime | None
    can_rate: bool
    satisfaction: int | None


class DispatchIn(Schema):
    unit_id: int
    assist_unit_ids: list[int] = Field(default_factory=list, max_length=10)
    sla_kind: str | None = Field(default=None, max_length=16)
    note: str = Field(default="", max_length=500)


class SuggestionOut(Schema):
    unit: UnitRef | None
    reason: str
    rule_id: int | None


class TextIn(Schema):
    text: str = Field(max_length=4000)


class AnswerIn(Schema):
    reply: str = Field(max_length=4000)
    article_id: int | None = None


class ReviewReturnIn(Schema):
    approve: bool
    unit_id: int | None = None
    note: str = Field(default="", max_length=500)


class AssistIn(Schema):
    unit_ids: list[int] = Field(min_length=1, max_length=10)
    note: str = Field(default="", max_length=500)


class ExtensionIn(Schema):
    working_days: int = Field(ge=1, le=60)
    reason: str = Field(max_length=500)


class DecideIn(Schema):
    approve: bool
    note: str = Field(default="", max_length=500)


class SuperviseIn(Schema):
    note: str = Field(max_length=500)
    kind: str = Field(default="manual", max_length=10)


class CallbackIn(Schema):
    reached: bool = True
    solved: bool | None = None
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    note: str = Field(default="", max_length=500)


class PublicRateIn(Schema):
    phone: str = Field(max_length=20)
    solved: bool
    satisfaction: int = Field(ge=1, le=5)
    note: str = Field(default="", max_length=500)


class MergeIn(Schema):
    master_id: int
    note: str = Field(default="", max_length=500)


class LinkIn(Schema):
    other_id: int


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    full_name: str
    level: int
    parent_code: str | None
    sla_kind: str
    is_active: bool


class CategoryUpdateIn(Schema):
    name: str | None = Field(default=None, max_length=64)
    sla_kind: str | None = Field(default=None, max_length=16)
    keywords: str | None = Field(default=None, max_length=255)
    is_active: bool | None = None


class CategoryCreateIn(Schema):
    code: str = Field(max_length=32)
    name: str = Field(max_length=64)
    parent_code: str | None = Field(default=None, max_length=32)
    sla_kind: str = Field(default="general", max_length=16)
    keywords: str = Field(default="", max_length=255)


class RuleOut(Schema):
    id: int
    category_code: str
    category_name: str
    area: AreaRef | None
    target: str
    unit: UnitRef | None
    note: str


class RuleIn(Schema):
    category_code: str = Field(max_length=32)
    area_id: int | None = None
    unit_id: int | None = None
    to_street: bool = False
    note: str = Field(default="", max_length=200)


class ArticleOut(Schema):
    id: int
    title: str
    question: str
    answer: str
    category_code: str | None
    keywords: str
    source: str
    is_published: bool
    times_used: int
    score: float | None = None


class ArticleIn(Schema):
    title: str = Field(max_length=200)
    answer: str = Field(max_length=8000)
    question: str = Field(default="", max_length=4000)
    category_code: str | None = Field(default=None, max_length=32)
    keywords: str = Field(default="", max_length=255)
    source: str = Field(default="", max_length=200)
    is_published: bool = True


class RateRow(Schema):
    key: int | None
    name: str
    month: int | None = None
    dispatched: int
    accepted_on_time: int
    rated: int
    solved: int
    satisfied: int
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    composite: float | None
    rank: int | None = None


class InboxItemOut(Schema):
    assignment_id: int
    role: str
    assignment_status: str
    accept_due_at: dt.datetime
    case: CaseOut


# ---------------------------------------------------------------------------------------------- AI assistance


class SimilarIn(Schema):
    """A request being typed: its words, and where and from whom when known."""

    title: str = Field(default="", max_length=100)
    content: str = Field(default="", max_length=4000)
    lng: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    phone: str = Field(default="", max_length=20)
    limit: int = Field(default=5, ge=1, le=20)


class SimilarCaseOut(Schema):
    """An open case the request may repeat (相似工单), and why (``shizhi.ai.similar.SimilarCase``)."""

    case_id: int
    number: str
    title: str
    status: str
    score: float = Field(description="text similarity, 0..1")
    rank: float = Field(description="combined score the list is ordered by: text, place and time")
    distance_m: int | None
    days: float = Field(description="received this many days before the request (negative: after)")
    same_grid: bool
    same_phone: bool
    shared_words: list[str]
    reasons: list[str]


class ReplySuggestionOut(Schema):
    """A resolved case like this one and how it was answered (答复参考)."""

    case_id: int
    number: str
    title: str
    reply: str
    replied_at: dt.datetime | None
    unit: str | None
    score: float
    rank: float
    same_category: bool
    shared_words: list[str]
    reasons: list[str]


class ReplyReviewIn(Schema):
    text: str = Field(max_length=4000)


class ReviewReasonOut(Schema):
    dimension: str
    code: str
    message: str


class ReplyReviewOut(Schema):
    """The reply review (答复质量): relevance, completeness, interpretability in [0, 1], the weak ones flagged."""

    scores: dict[str, float]
    overall: float
    flags: list[str]
    ok: bool
    missing: list[str]
    refusal: bool
    reasons: list[ReviewReasonOut]
    found: dict[str, list[str]]
