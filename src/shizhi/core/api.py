"""Core API routes: me and tokens, areas and grids (with GeoJSON and point lookup), units, users, audit,
calendar. Thin: parse, call a selector or service, shape the answer."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from shizhi.core import masking, services, workcalendar
from shizhi.core import selectors as sel
from shizhi.core.actors import request_actor
from shizhi.core.errors import ValidationFailed
from shizhi.core.models import ApiToken, Area, AuditEvent, Grid, Unit, User
from shizhi.core.permissions import PERMISSIONS, has_perm
from shizhi.core.schemas import (
    AreaDetailOut,
    AreaOut,
    AreaTreeNode,
    AreaUpdateIn,
    CalendarDayIn,
    CalendarDayOut,
    CalendarMonthOut,
    DeadlineOut,
    ErrorOut,
    GridOut,
    LocateOut,
    MeOut,
    RoleIn,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
    UnitCreateIn,
    UnitDetailOut,
    UnitUpdateIn,
    UserCreateIn,
    UserOut,
    UserUpdateIn,
)

router = Router(tags=["core"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
MAX_LIMIT = 500


class PageQuery(Schema):
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0)


def _page(items: list[Any], count: int, q: PageQuery) -> dict[str, Any]:
    return {"count": count, "limit": q.limit, "offset": q.offset, "items": items}


# ------------------------------------------------------------------------------------------------- me and tokens


@router.get("/me", response={200: MeOut, **ERRORS}, summary="当前用户")
def me(request: HttpRequest) -> dict[str, Any]:
    user = request_actor(request)
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "mobile": user.mobile,
        "roles": sel.user_roles(user),
        "permissions": sorted(p for p in PERMISSIONS if has_perm(user, p)),
    }


def _token_out(t: ApiToken) -> dict[str, Any]:
    return {
        k: getattr(t, k)
        for k in ("id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    }


@router.get("/me/tokens", response={200: list[TokenOut], **ERRORS}, summary="我的接口令牌")
def my_tokens(request: HttpRequest) -> list[dict[str, Any]]:
    return [_token_out(t) for t in request_actor(request).api_tokens.order_by("-created_at", "-id")]


@router.post("/me/tokens", response={201: TokenCreatedOut, **ERRORS}, summary="创建接口令牌（只显示一次）")
def create_token(request: HttpRequest, payload: TokenCreateIn) -> Status[dict[str, Any]]:
    user = request_actor(request)
    token, raw = services.token_create(
        actor=user, user=user, name=payload.name, expires_at=payload.expires_at
    )
    return Status(201, {**_token_out(token), "token": raw})


@router.delete("/me/tokens/{token_id}", response={200: TokenOut, **ERRORS}, summary="撤销接口令牌")
def revoke_token(request: HttpRequest, token_id: int) -> dict[str, Any]:
    user = request_actor(request)
    token = sel.access_token(actor=user, token_id=token_id)
    return _token_out(services.token_revoke(actor=user, token=token))


class PasswordIn(Schema):
    old_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


@router.post("/me/password", response={204: None, **ERRORS}, summary="修改我的密码")
def change_password(request: HttpRequest, payload: PasswordIn) -> Status[None]:
    user = request_actor(request)
    if not user.check_password(payload.old_password):
        raise ValidationFailed("原密码不正确", details={"field": "old_password"})
    services.user_set_password(actor=user, user=user, password=payload.new_password)
    return Status(204, None)


# ------------------------------------------------------------------------------------------------- areas and grids


def _area_out(a: Area) -> dict[str, Any]:
    return {
        k: getattr(a, k)
        for k in (
            "id",
            "code",
            "name",
            "level",
            "kind",
            "urban_rural",
            "urban_rural_code",
            "parent_id",
            "population",
            "households",
            "centroid_lng",
            "centroid_lat",
            "area_km2",
        )
    }


def _area_ref(a: Area | None) -> dict[str, Any] | None:
    return None if a is None else {"id": a.pk, "code": a.code, "name": a.name, "level": a.level}


class AreaQuery(PageQuery):
    level: int | None = Field(default=None, ge=1, le=4)
    parent: int | None = None
    q: str | None = Field(default=None, max_length=64)
    format: Literal["json", "geojson"] = "json"


@router.get(
    "/areas",
    response={200: dict[str, Any], **ERRORS},
    summary="行政区划列表（可按层级、上级筛选；可输出GeoJSON）",
)
def list_areas(request: HttpRequest, filters: Query[AreaQuery]) -> dict[str, Any]:
    qs = sel.area_list(
        actor=request_actor(request), level=filters.level, parent_id=filters.parent, q=filters.q
    )
    count = qs.count()
    rows = list(qs[filters.offset : filters.offset + filters.limit])
    if filters.format == "geojson":
        features = [
            {
                "type": "Feature",
                "id": a.pk,
                "geometry": a.boundary,
                "properties": {**_area_out(a), "kind": "area"},
            }
            for a in rows
            if a.boundary
        ]
        return {"type": "FeatureCollection", "count": count, "features": features}
    return _page([_area_out(a) for a in rows], count, filters)


@router.get("/areas/tree", response={200: list[AreaTreeNode], **ERRORS}, summary="行政区划树")
def area_tree(
    request: HttpRequest, root: int | None = None, max_level: int = Query(3, ge=1, le=4)
) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    return sel.area_tree(actor=request_actor(request), root_id=root, max_level=max_level)


class LocateQuery(Schema):
    lng: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


def _grid_out(g: Grid) -> dict[str, Any]:
    return {
        "id": g.pk,
        "code": g.code,
        "name": g.name,
        "community_id": g.community_id,
        "community_name": g.community.name,
        "population": g.population,
        "households": g.households,
        "grid_worker": str(g.grid_worker) if g.grid_worker else None,
        "centroid_lng": g.centroid_lng,
        "centroid_lat": g.centroid_lat,
    }


@router.get(
    "/areas/locate", response={200: LocateOut, **ERRORS}, summary="坐标落点：所在网格、社区、街道、区县"
)
def locate(request: HttpRequest, point: Query[LocateQuery]) -> dict[str, Any]:
    sel.area_list(actor=request_actor(request))  # permission check only
    loc = sel.locate_point(point.lng, point.lat)
    return {
        "lng": loc.lng,
        "lat": loc.lat,
        "grid": _grid_out(loc.grid) if loc.grid else None,
        "community": _area_ref(loc.community),
        "street": _area_ref(loc.street),
        "district": _area_ref(loc.district),
        "city": _area_ref(loc.city),
    }


@router.get("/areas/{area_id}", response={200: AreaDetailOut, **ERRORS}, summary="区划详情")
def get_area(request: HttpRequest, area_id: int) -> dict[str, Any]:
    area = sel.access_area(actor=request_actor(request), area_id=area_id)
    return {
        **_area_out(area),
        "ancestors": [_area_ref(a) for a in sel.area_ancestors(area)],
        "children": [_area_out(c) for c in area.children.order_by("code")],
        "grid_count": Grid.objects.filter(path__startswith=area.path).count(),
    }


@router.get(
    "/areas/{area_id}/geojson",
    response={200: dict[str, Any], **ERRORS},
    summary="区划边界GeoJSON：下级区划(children)、网格(grids)或自身(self)",
)
def area_geojson(
    request: HttpRequest, area_id: int, include: Literal["children", "grids", "self"] = "children"
) -> dict[str, Any]:
    area = sel.access_area(actor=request_actor(request), area_id=area_id)
    return sel.area_geojson(area, include=include)


@router.patch("/areas/{area_id}", response={200: AreaOut, **ERRORS}, summary="修改区划（管理员）")
def update_area(request: HttpRequest, area_id: int, payload: AreaUpdateIn) -> dict[str, Any]:
    actor = request_actor(request)
    area = sel.access_area(actor=actor, area_id=area_id)
    data = payload.dict(exclude_unset=True)
    if any(v is None for v in data.values()):
        raise ValidationFailed(
            "字段不能为null", details={"fields": [k for k, v in data.items() if v is None]}
        )
    return _area_out(services.area_update(actor=actor, area=area, **data))


@router.get("/grids", response={200: dict[str, Any], **ERRORS}, summary="网格列表")
def list_grids(
    request: HttpRequest, page: Query[PageQuery], community: int | None = None, area: int | None = None
) -> dict[str, Any]:
    qs = sel.grid_list(actor=request_actor(request), community_id=community, area_id=area)
    return _page([_grid_out(g) for g in qs[page.offset : page.offset + page.limit]], qs.count(), page)


@router.get("/grids/{grid_id}", response={200: GridOut, **ERRORS}, summary="网格详情")
def get_grid(request: HttpRequest, grid_id: int) -> dict[str, Any]:
    return _grid_out(sel.access_grid(actor=request_actor(request), grid_id=grid_id))


class GridWorkerIn(Schema):
    grid_worker_id: int | None = Field(description="a user holding the grid_worker role; null to unassign")


@router.put("/grids/{grid_id}/worker", response={200: GridOut, **ERRORS}, summary="指定网格员（管理员）")
def set_grid_worker(request: HttpRequest, grid_id: int, payload: GridWorkerIn) -> dict[str, Any]:
    actor = request_actor(request)
    grid = sel.access_grid(actor=actor, grid_id=grid_id)
    worker = None
    if payload.grid_worker_id is not None:
        worker = sel.access_user(actor=actor, user_id=payload.grid_worker_id)
    return _grid_out(services.grid_assign_worker(actor=actor, grid=grid, worker=worker))


# ------------------------------------------------------------------------------------------------- units


def _unit_out(u: Unit) -> dict[str, Any]:
    return {
        "id": u.pk,
        "code": u.code,
        "name": u.name,
        "short_name": u.short_name,
        "kind": u.kind,
        "kind_label": str(u.get_kind_display()),
        "area_id": u.area_id,
        "area_name": u.area.name if u.area else None,
        "parent_id": u.parent_id,
        "phone": u.phone,
        "is_active": u.is_active,
    }


def _unit_detail(actor: User, u: Unit) -> dict[str, Any]:
    return {
        **_unit_out(u),
        "responsibilities": u.responsibilities,
        "address": u.address,
        "contacts": sel.unit_contacts(actor, u),
        "can_change": sel.can_change_unit(actor, u),
    }


class UnitQuery(PageQuery):
    kind: str | None = Field(default=None, max_length=24)
    area: int | None = None
    q: str | None = Field(default=None, max_length=64)
    active: bool | None = True


@router.get("/units", response={200: dict[str, Any], **ERRORS}, summary="承办单位列表")
def list_units(request: HttpRequest, filters: Query[UnitQuery]) -> dict[str, Any]:
    qs = sel.unit_list(
        actor=request_actor(request),
        kind=filters.kind,
        area_id=filters.area,
        q=filters.q,
        active=filters.active,
    )
    return _page(
        [_unit_out(u) for u in qs[filters.offset : filters.offset + filters.limit]], qs.count(), filters
    )


@router.get("/units/{unit_id}", response={200: UnitDetailOut, **ERRORS}, summary="承办单位详情")
def get_unit(request: HttpRequest, unit_id: int) -> dict[str, Any]:
    actor = request_actor(request)
    return _unit_detail(actor, sel.access_unit(actor=actor, unit_id=unit_id))


def _contacts(items: list[Any] | None) -> list[services.ContactIn] | None:
    if items is None:
        return None
    return [services.ContactIn(**c.dict()) for c in items]


@router.post("/units", response={201: UnitDetailOut, **ERRORS}, summary="新建承办单位（管理员）")
def create_unit(request: HttpRequest, payload: UnitCreateIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    area = sel.access_area(actor=actor, area_id=payload.area_id) if payload.area_id is not None else None
    parent = (
        sel.access_unit(actor=actor, unit_id=payload.parent_id) if payload.parent_id is not None else None
    )
    unit = services.unit_create(
        actor=actor,
        code=payload.code,
        name=payload.name,
        kind=payload.kind,
        area=area,
        parent=parent,
        short_name=payload.short_name,
        responsibilities=payload.responsibilities,
        phone=payload.phone,
        address=payload.address,
        contacts=_contacts(payload.contacts) or [],
    )
    return Status(201, _unit_detail(actor, unit))


@router.patch(
    "/units/{unit_id}",
    response={200: UnitDetailOut, **ERRORS},
    summary="修改承办单位（管理员；单位负责人可改本单位职责、电话、地址和联系人）",
)
def update_unit(request: HttpRequest, unit_id: int, payload: UnitUpdateIn) -> dict[str, Any]:
    actor = request_actor(request)
    unit = sel.access_unit(actor=actor, unit_id=unit_id)
    data = payload.dict(exclude_unset=True)
    contacts = data.pop("contacts", None)
    area_id = data.pop("area_id", None)
    if any(v is None for v in data.values()):
        raise ValidationFailed(
            "字段不能为null", details={"fields": [k for k, v in data.items() if v is None]}
        )
    area = sel.access_area(actor=actor, area_id=area_id) if area_id is not None else None
    unit = services.unit_update(
        actor=actor,
        unit=unit,
        values=data,
        area=area,
        contacts=_contacts(payload.contacts) if contacts is not None else None,
    )
    return _unit_detail(actor, unit)


# ------------------------------------------------------------------------------------------------- users


def _user_out(actor: User, u: User) -> dict[str, Any]:
    show_pii = actor.pk == u.pk or sel.can_see_pii(actor)
    return {
        "id": u.pk,
        "username": u.username,
        "display_name": u.display_name,
        "mobile": u.mobile if show_pii else masking.mask_mobile(u.mobile),
        "is_active": u.is_active,
        "roles": sel.user_roles(u),
    }


class UserQuery(PageQuery):
    q: str | None = Field(default=None, max_length=64)
    role: str | None = Field(default=None, max_length=24)
    unit: int | None = None


@router.get("/users", response={200: dict[str, Any], **ERRORS}, summary="用户列表（按数据范围）")
def list_users(request: HttpRequest, filters: Query[UserQuery]) -> dict[str, Any]:
    actor = request_actor(request)
    qs = sel.user_list(actor=actor, q=filters.q, role=filters.role, unit_id=filters.unit)
    return _page(
        [_user_out(actor, u) for u in qs[filters.offset : filters.offset + filters.limit]],
        qs.count(),
        filters,
    )


@router.get("/users/{user_id}", response={200: UserOut, **ERRORS}, summary="用户详情")
def get_user(request: HttpRequest, user_id: int) -> dict[str, Any]:
    actor = request_actor(request)
    return _user_out(actor, sel.access_user(actor=actor, user_id=user_id))


def _role_in(actor: User, r: RoleIn) -> services.RoleIn:
    unit = sel.access_unit(actor=actor, unit_id=r.unit_id) if r.unit_id is not None else None
    area = sel.access_area(actor=actor, area_id=r.area_id) if r.area_id is not None else None
    return services.RoleIn(role=r.role, unit=unit, area=area)


@router.post("/users", response={201: UserOut, **ERRORS}, summary="新建用户（管理员）")
def create_user(request: HttpRequest, payload: UserCreateIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    if not has_perm(actor, "core.manage_users"):
        from shizhi.core.errors import PermissionDenied

        raise PermissionDenied()
    user = services.user_create(
        actor=actor,
        username=payload.username,
        password=payload.password,
        display_name=payload.display_name,
        mobile=payload.mobile,
        roles=[_role_in(actor, r) for r in payload.roles],
    )
    return Status(201, _user_out(actor, user))


@router.patch("/users/{user_id}", response={200: UserOut, **ERRORS}, summary="修改用户")
def update_user(request: HttpRequest, user_id: int, payload: UserUpdateIn) -> dict[str, Any]:
    actor = request_actor(request)
    user = sel.access_user(actor=actor, user_id=user_id)
    data = payload.dict(exclude_unset=True)
    if any(v is None for v in data.values()):
        raise ValidationFailed(
            "字段不能为null", details={"fields": [k for k, v in data.items() if v is None]}
        )
    return _user_out(actor, services.user_update(actor=actor, user=user, values=data))


@router.post("/users/{user_id}/roles", response={201: UserOut, **ERRORS}, summary="授予角色（管理员）")
def assign_role(request: HttpRequest, user_id: int, payload: RoleIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    user = sel.access_user(actor=actor, user_id=user_id)
    services.role_assign(actor=actor, user=user, role=_role_in(actor, payload))
    return Status(201, _user_out(actor, user))


@router.delete(
    "/users/{user_id}/roles/{assignment_id}", response={200: UserOut, **ERRORS}, summary="撤销角色（管理员）"
)
def revoke_role(request: HttpRequest, user_id: int, assignment_id: int) -> dict[str, Any]:
    actor = request_actor(request)
    user = sel.access_user(actor=actor, user_id=user_id)
    assignment = user.role_assignments.filter(pk=assignment_id).first()
    if assignment is None:
        from shizhi.core.errors import NotFound

        raise NotFound("角色授权")
    services.role_revoke(actor=actor, assignment=assignment)
    return _user_out(actor, user)


# ------------------------------------------------------------------------------------------------- audit


def _event_out(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.pk,
        "created_at": e.created_at,
        "actor": e.actor_label,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "object_repr": e.object_repr,
        "changes": e.changes,
        "ip": e.ip,
        "origin": e.origin,
    }


class AuditQuery(PageQuery):
    action: str | None = Field(default=None, max_length=64)
    object_type: str | None = Field(default=None, max_length=64)
    object_id: str | None = Field(default=None, max_length=64)
    actor: int | None = None


@router.get("/audit", response={200: dict[str, Any], **ERRORS}, summary="审计日志（管理员、督办员）")
def list_audit(request: HttpRequest, filters: Query[AuditQuery]) -> dict[str, Any]:
    qs = sel.audit_list(
        actor=request_actor(request),
        action=filters.action,
        object_type=filters.object_type,
        object_id=filters.object_id,
        actor_id=filters.actor,
    )
    return _page(
        [_event_out(e) for e in qs[filters.offset : filters.offset + filters.limit]], qs.count(), filters
    )


# ------------------------------------------------------------------------------------------------- calendar


@router.get(
    "/calendar/{year}/{month}", response={200: CalendarMonthOut, **ERRORS}, summary="工作日历（某月）"
)
def calendar_month(request: HttpRequest, year: int, month: int) -> dict[str, Any]:
    if not (2000 <= year <= 2100) or not (1 <= month <= 12):
        raise ValidationFailed(
            "年份须在2000-2100之间，月份须在1-12之间", details={"year": year, "month": month}
        )
    return {
        "year": year,
        "month": month,
        "official": workcalendar.covers(year),
        "days": [{"date": d, "is_workday": w, "name": n} for d, w, n in workcalendar.month_days(year, month)],
    }


@router.put(
    "/calendar/days", response={200: CalendarDayOut, **ERRORS}, summary="设置某日上班或休息（管理员）"
)
def set_calendar_day(request: HttpRequest, payload: CalendarDayIn) -> dict[str, Any]:
    day = services.calendar_day_set(
        actor=request_actor(request), date=payload.date, is_workday=payload.is_workday, name=payload.name
    )
    return {"date": day.date, "is_workday": day.is_workday, "name": day.name}


class DeadlineQuery(Schema):
    start: dt.datetime | None = None
    working_days: int | None = Field(default=None, ge=0, le=365)
    working_hours: float | None = Field(default=None, ge=0, le=2000)
    hours: float | None = Field(default=None, ge=0, le=24 * 365)


@router.get(
    "/calendar/deadline",
    response={200: DeadlineOut, **ERRORS},
    summary="计算期限：起点 + N个工作日 / N个工作小时 / N小时",
)
def deadline(request: HttpRequest, q: Query[DeadlineQuery]) -> dict[str, Any]:
    given = [k for k in ("working_days", "working_hours", "hours") if getattr(q, k) is not None]
    if len(given) != 1:
        raise ValidationFailed(
            "working_days、working_hours、hours 三者须且只须给一个", details={"given": given}
        )
    start = q.start or timezone.now()
    if start.tzinfo is None:
        start = start.replace(tzinfo=workcalendar.local_tz())
    rule = given[0]
    if rule == "working_days":
        end = workcalendar.add_working_days(start, q.working_days or 0)
    elif rule == "working_hours":
        end = workcalendar.add_working_hours(start, q.working_hours or 0)
    else:
        end = workcalendar.add_hours(start, q.hours or 0)
    return {"start": start, "deadline": end, "rule": f"{rule}={getattr(q, rule)}"}
