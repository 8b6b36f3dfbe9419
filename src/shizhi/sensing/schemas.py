"""API shapes of the sensing app."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema


class IngestOut(Schema):
    received: int
    accepted: int
    duplicate: int
    rejected: int
    rejected_by_reason: dict[str, int]
    errors: list[dict[str, object]]


class QuantityOut(Schema):
    code: str
    name: str
    unit: str
    min_value: float
    max_value: float
    thresholds: list[float | None] | None


class DeviceTypeOut(Schema):
    code: str
    name: str
    smart_data_model: str
    alert_category: str
    expected_interval_s: int
    case_level: int
    quantities: list[QuantityOut]


class DeviceOut(Schema):
    code: str
    name: str
    device_type: str
    lon: float | None
    lat: float | None
    grid: str | None
    area_path: str
    owner_unit: str | None
    status: str
    last_seen_at: datetime | None
    accepted_count: int
    duplicate_count: int
    rejected_count: int


class DeviceIn(Schema):
    code: str
    name: str
    device_type: str
    lon: float | None = None
    lat: float | None = None
    owner_unit_id: int | None = None


class DevicePatch(Schema):
    name: str | None = None
    lon: float | None = None
    lat: float | None = None
    owner_unit_id: int | None = None


class StatusIn(Schema):
    status: str
    note: str = ""


class TokenOut(Schema):
    device: str
    token: str


class PointOut(Schema):
    ts: int
    time: datetime
    value: float | None
    min: float | None = None
    max: float | None = None
    n: int = 1


class SeriesOut(Schema):
    device: str
    quantity: str
    unit: str
    resolution: str
    points: list[PointOut]


class QuarantineOut(Schema):
    id: int
    device_code: str
    quantity_code: str
    ts: int | None
    reason: str
    message: str
    source: str
    received_at: datetime
    raw: str
