"""django-ninja In/Out schemas of the 一件事 API, one pair per operation. Nested content (matters, materials,
form fields, metrics, diffs) is plain JSON objects, documented in docs/onething.md."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field


class ReductionOut(Schema):
    before: int
    after: int
    saved: int
    percent: float


class MetricsOut(Schema):
    matters: int
    steps: ReductionOut
    materials: ReductionOut
    shared_materials: int
    time_days: ReductionOut
    statutory_days: ReductionOut
    trips: ReductionOut
    forms: ReductionOut
    fields: ReductionOut
    fully_online: bool


class ItemOut(Schema):
    code: str
    name: str
    subject: str
    subject_label: str
    stage: str
    stage_label: str
    level: str
    level_label: str
    batch: str
    version: int
    status: str
    summary: str
    lead_department_name: str
    is_demo: bool
    published_at: dt.datetime | None
    metrics: MetricsOut


class ItemListOut(Schema):
    count: int
    items: list[ItemOut]


class GuideOut(ItemOut):
    """一次告知: everything an applicant needs to know before applying."""

    keywords: str
    lead_unit: dict[str, Any] | None
    supporting_departments: list[str]
    legal_basis: str
    change_note: str
    matters: list[dict[str, Any]]
    materials: list[dict[str, Any]] = Field(
        description="一套材料: each material once, with to_submit and matters"
    )
    form: list[dict[str, Any]] = Field(description="一表申请: the merged form")
    critical_path: list[str]


class VersionSummaryOut(Schema):
    number: int
    status: str
    status_label: str
    name: str
    change_note: str
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    published_at: dt.datetime | None
    withdrawn_at: dt.datetime | None


class ManagedItemOut(Schema):
    code: str
    subject: str
    stage: str
    level: str
    batch: str
    versions: list[VersionSummaryOut]


class ItemCreateIn(Schema):
    code: str = Field(max_length=32)
    subject: str
    stage: str
    level: str
    batch: str = ""
    area_id: int | None = None
    sort: int = Field(default=0, ge=0)
    content: dict[str, Any] = Field(
        description="name, summary, keywords, lead_department_name, lead_unit_id, ..."
    )


class ContentIn(Schema):
    content: dict[str, Any]


class NoteIn(Schema):
    note: str = Field(default="", max_length=255)


class ChangeOut(Schema):
    id: int
    version: int | None
    action: str
    action_label: str
    actor: str
    note: str
    changes: dict[str, Any]
    created_at: dt.datetime


class ApplicationIn(Schema):
    item_code: str = Field(max_length=32)
    form: dict[str, Any]
    applicant_name: str = Field(default="", max_length=64)
    applicant_phone: str = Field(default="", max_length=20)
    org_name: str = Field(default="", max_length=100)
    org_code: str = Field(default="", max_length=18)
    channel: str = "online"
    district_id: int | None = None
    promised: list[str] = Field(
        default_factory=list, max_length=40, description="material keys handed in later (容缺)"
    )


class PromiseOut(Schema):
    id: int
    material_key: str
    material_name: str
    due_at: dt.datetime
    supplied_at: dt.datetime | None
    overdue: bool
    note: str


class ProgressOut(Schema):
    subtask_id: int
    matter_code: str
    matter_name: str
    department_name: str
    status: str
    status_label: str
    ready_at: dt.datetime | None
    due_at: dt.datetime | None
    finished_at: dt.datetime | None
    result: str
    promises: list[PromiseOut]


class MaterialOut(Schema):
    material_key: str
    name: str
    source: str
    original_name: str
    content_type: str
    size: int


class RatingOut(Schema):
    score: int
    score_label: str
    reasons: list[str]
    comment: str
    created_at: dt.datetime


class ApplicationOut(Schema):
    id: int
    number: str
    item_code: str
    item_name: str
    version: int
    status: str
    status_label: str
    applicant_name: str
    applicant_phone: str
    org_name: str
    channel: str
    district: dict[str, Any] | None
    fully_online: bool
    submitted_at: dt.datetime
    due_at: dt.datetime
    finished_at: dt.datetime | None
    on_time: bool | None
    result: str


class ApplicationDetailOut(ApplicationOut):
    form_data: dict[str, Any]
    progress: list[ProgressOut]
    materials: list[MaterialOut]
    overdue_promises: int
    rating: RatingOut | None
    can_rate: bool
    events: list[dict[str, Any]]


class ApplicationListOut(Schema):
    count: int
    items: list[ApplicationOut]


class WithdrawIn(Schema):
    reason: str = Field(default="", max_length=255)


class RateIn(Schema):
    score: int
    reasons: list[str] = Field(default_factory=list, max_length=20)
    comment: str = Field(default="", max_length=500)


class SubTaskOut(Schema):
    id: int
    status: str
    status_label: str
    matter_code: str
    matter_name: str
    department_name: str
    unit: dict[str, Any] | None
    ready_at: dt.datetime | None
    due_at: dt.datetime | None
    accepted_at: dt.datetime | None
    finished_at: dt.datetime | None
    is_overdue: bool
    result: str
    promises: list[PromiseOut]
    application: dict[str, Any]


class SubTaskDetailOut(SubTaskOut):
    form_data: dict[str, Any] = Field(description="the fields of the merged form this matter uses")
    materials: list[dict[str, Any]] = Field(
        description="this matter's materials, with what the applicant handed in"
    )
    depends_on: list[str]


class NoteBodyIn(Schema):
    note: str = Field(default="", max_length=500)


class ResultIn(Schema):
    result: str = Field(max_length=1000)


class ReasonIn(Schema):
    reason: str = Field(max_length=1000)


class PromiseIn(Schema):
    material_key: str = Field(max_length=64)
    days: int = 5
    note: str = Field(default="", max_length=255)


class RolloutIn(Schema):
    item_code: str
    district_id: int
    owner_unit_id: int | None = None
    target_pilot_date: dt.date | None = None
    target_online_date: dt.date | None = None
    target_fully_online_date: dt.date | None = None
    target_on_time_rate: float | None = None
    target_rating: float | None = None
    target_online_share: float | None = None
    note: str = Field(default="", max_length=255)


class RolloutOut(Schema):
    id: int
    item_code: str
    item_name: str
    district: dict[str, Any]
    state: str
    state_label: str
    owner_unit: dict[str, Any] | None
    target_pilot_date: dt.date | None
    target_online_date: dt.date | None
    target_fully_online_date: dt.date | None
    target_on_time_rate: float
    target_rating: float
    target_online_share: float
    state_changed_at: dt.datetime | None
    note: str
    milestones: list[dict[str, Any]]


class StateIn(Schema):
    state: str
    note: str = Field(default="", max_length=255)


class MilestoneIn(Schema):
    title: str = Field(max_length=100)
    due_date: dt.date
    owner_name: str = Field(default="", max_length=64)
    owner_unit_id: int | None = None
    note: str = Field(default="", max_length=255)


class MilestoneDoneIn(Schema):
    note: str = Field(default="", max_length=255)
