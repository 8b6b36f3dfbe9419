"""django-ninja In/Out schemas of the AI assistance API (智能辅助接口)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field


class SuggestIn(Schema):
    title: str = Field(default="", max_length=100)
    content: str = Field(default="", max_length=4000)
    k: int = Field(default=3, ge=1, le=10)


class LabelOut(Schema):
    label: str
    name: str
    probability: float


class SuggestOut(Schema):
    category: list[LabelOut]
    unit: list[LabelOut]
    demand_type: list[LabelOut]


class ModelOut(Schema):
    id: int
    task: str
    task_label: str
    name: str
    version: int
    is_active: bool
    pipeline: str
    macro_f1: float | None
    accuracy: float | None
    rows: int
    labels: list[str]
    source: str
    data_fingerprint: str
    artifact_sha256: str
    artifact_size: int
    train_seconds: float
    cv_seconds: float | None
    trained_at: dt.datetime
    activated_at: dt.datetime | None


class ModelDetailOut(ModelOut):
    params: dict[str, Any]
    metrics: dict[str, Any]
