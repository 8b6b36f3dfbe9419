"""django-ninja schemas of the alerts API (/api/v1/alerts)."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field


class Ref(Schema):
    id: int
    name: str


class CaseRef(Schema):
    id: int
    number: str
    status: str
    status_label: str


class AlertOut(Schema):
    id: int
    device: Ref
    device_code: str
    quantity: Ref | None
    rule: str
    category: str
    category_label: str
    sub_category: str
    level: int
    level_label: str
    severity: str
    score: float
    kind: str
    reason: str
    value: float | None
    status: str
    status_label: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    raised_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str
    case: CaseRef | None
    grid: Ref | None


class AlertEventOut(Schema):
    id: int
    at: dt.datetime
    kind: str
    kind_label: str
    level: int | None
    actor: str
    note: str


class AlertDetailOut(AlertOut):
    device_type: Ref
    owner_unit: Ref | None
    lng: float | None
    lat: float | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    resolved_by: str | None
    resolution_note: str
    events: list[AlertEventOut]


class AlertPageOut(Schema):
    items: list[AlertOut]
    limit: int
    offset: int
    has_more: bool


class AlertQuery(Schema):
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)
    status: str | None = Field(default=None, max_length=16)
    open: bool | None = None
    level: int | None = Field(default=None, description="this level and above (1 blue ... 4 red)")
    rule: str | None = Field(default=None, max_length=60, description='exact, or a prefix ending in ":"')
    category: str | None = Field(default=None, max_length=20)
    device: int | None = None
    grid: int | None = None
    since: str | None = Field(default=None, max_length=40, description="raised at or after (ISO 8601)")
    until: str | None = Field(default=None, max_length=40, description="raised before (ISO 8601)")


class NoteIn(Schema):
    note: str = Field(default="", max_length=500)


class DispatchIn(Schema):
    note: str = Field(default="", max_length=500)
    category: str = Field(
        default="", max_length=32, description="hotline category code; default: the device type's"
    )


class ResolveIn(Schema):
    note: str = Field(max_length=500)


class FalseAlarmIn(Schema):
    reason: str = Field(max_length=500)


class RateOut(Schema):
    rule: str
    device_type_id: int | None
    device_type: str
    closed: int
    false_alarms: int
    rate: float | None


class RatesOut(Schema):
    by_rule: list[RateOut]
    by_device_type: list[RateOut]


class BoardOut(Schema):
    open_total: int
    open_by_level: dict[int, int]
    by_status: dict[str, int]
    by_status_level: dict[str, dict[int, int]]


class GridRiskOut(Schema):
    grid_id: int
    code: str
    name: str
    lng: float | None
    lat: float | None
    open_by_level: dict[int, int]
    open_total: int
    max_level: int
    anomalies: int
