"""django-ninja In/Out schemas for the core API, one pair per operation."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import Field, field_validator


class ErrorOut(Schema):
    code: str
    message: str
    details: dict[str, Any]


class RoleOut(Schema):
    id: int
    role: str
    role_label: str
    unit_id: int | None
    unit_name: str | None
    area_id: int | None
    area_name: str | None


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    mobile: str
    roles: list[RoleOut]
    permissions: list[str]


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    mobile: str = Field(description="masked unless the reader may see personal data")
    is_active: bool
    roles: list[RoleOut]


class RoleIn(Schema):
    role: str
    unit_id: int | None = None
    area_id: int | None = None


class UserCreateIn(Schema):
    username: str = Field(min_length=3, max_length=150)
    password: str | None = Field(default=None, min_length=8, max_length=128)
    display_name: str = Field(default="", max_length=32)
    mobile: str = Field(default="", max_length=20)
    roles: list[RoleIn] = Field(default_factory=list, max_length=20)


class UserUpdateIn(Schema):
    display_name: str | None = Field(default=None, max_length=32)
    mobile: str | None = Field(default=None, max_length=20)
    is_active: bool | None = None


class AreaOut(Schema):
    id: int
    code: str
    name: str
    level: int
    kind: str
    urban_rural: str
    urban_rural_code: str
    parent_id: int | None
    population: int
    households: int
    centroid_lng: float | None
    centroid_lat: float | None
    area_km2: float | None


class AreaRefOut(Schema):
    id: int
    code: str
    name: str
    level: int


class AreaDetailOut(AreaOut):
    ancestors: list[AreaRefOut]
    children: list[AreaOut]
    grid_count: int


class AreaUpdateIn(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    population: int | None = Field(default=None, ge=0)
    households: int | None = Field(default=None, ge=0)
    urban_rural: Literal["urban", "rural"] | None = None
    boundary: dict[str, Any] | None = None


class AreaTreeNode(Schema):
    id: int
    code: str
    name: str
    level: int
    kind: str
    urban_rural: str
    population: int
    households: int
    children: list[AreaTreeNode]


class GridOut(Schema):
    id: int
    code: str
    name: str
    community_id: int
    community_name: str
    population: int
    households: int
    grid_worker: str | None
    centroid_lng: float | None
    centroid_lat: float | None


class LocateOut(Schema):
    lng: float
    lat: float
    grid: GridOut | None
    community: AreaRefOut | None
    street: AreaRefOut | None
    district: AreaRefOut | None
    city: AreaRefOut | None


class ContactIn(Schema):
    name: str = Field(min_length=1, max_length=32)
    title: str = Field(default="", max_length=32)
    mobile: str = Field(default="", max_length=20)
    email: str = Field(default="", max_length=254)
    is_primary: bool = False


class ContactOut(Schema):
    name: str
    title: str
    mobile: str
    email: str
    is_primary: bool


class UnitOut(Schema):
    id: int
    code: str
    name: str
    short_name: str
    kind: str
    kind_label: str
    area_id: int | None
    area_name: str | None
    parent_id: int | None
    phone: str
    is_active: bool


class UnitDetailOut(UnitOut):
    responsibilities: str
    address: str
    contacts: list[ContactOut] | None = Field(description="null when the reader may not see the unit's staff")
    can_change: bool


class UnitCreateIn(Schema):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    kind: str
    area_id: int | None = None
    parent_id: int | None = None
    short_name: str = Field(default="", max_length=32)
    responsibilities: str = Field(default="", max_length=4000)
    phone: str = Field(default="", max_length=32)
    address: str = Field(default="", max_length=200)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)


class UnitUpdateIn(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    short_name: str | None = Field(default=None, max_length=32)
    kind: str | None = None
    area_id: int | None = None
    responsibilities: str | None = Field(default=None, max_length=4000)
    phone: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None
    contacts: list[ContactIn] | None = Field(default=None, max_length=50)


class TokenCreateIn(Schema):
    name: str = Field(min_length=1, max_length=64)
    expires_at: dt.datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, v: dt.datetime | None) -> dt.datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("must include a time zone, e.g. 2027-01-01T00:00:00+08:00")
        return v


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="shown once; store it now")


class AuditEventOut(Schema):
    id: int
    created_at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict[str, Any]
    ip: str | None
    origin: str


class CalendarDayOut(Schema):
    date: dt.date
    is_workday: bool
    name: str


class CalendarMonthOut(Schema):
    year: int
    month: int
    official: bool = Field(description="false when the official calendar for this year is not known yet")
    days: list[CalendarDayOut]


class CalendarDayIn(Schema):
    date: dt.date
    is_workday: bool
    name: str = Field(default="", max_length=32)


class DeadlineOut(Schema):
    start: dt.datetime
    deadline: dt.datetime
    rule: str


class Page(Schema):
    count: int
    limit: int
    offset: int
