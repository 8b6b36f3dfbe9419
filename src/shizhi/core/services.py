"""Every write to core data: areas and grids, units and contacts, users and roles, API tokens, calendar.

Each function is keyword-only, owns its transaction, validates before saving, and writes an audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from shizhi.core import geo, hotpath, spatial, workcalendar
from shizhi.core.audit import audit_record, field_changes, snapshot
from shizhi.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import (
    ApiToken,
    Area,
    AreaLevel,
    CalendarDay,
    Grid,
    Role,
    RoleAssignment,
    Unit,
    UnitContact,
    UnitKind,
    UrbanRural,
    User,
)
from shizhi.core.permissions import ROLE_POLICIES, forget_scope, has_perm

TOKEN_PREFIX = "shz_"
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_ID_RE = re.compile(r"^\d{17}[\dXx]$")
_KINDS_BY_LEVEL = {
    AreaLevel.CITY: {"市"},
    AreaLevel.DISTRICT: {"区", "县", "县级市"},
    AreaLevel.STREET: {"街道", "镇", "乡"},
    AreaLevel.COMMUNITY: {"社区", "村"},
}


def _require(actor: User | None, permission: str) -> None:
    """Services trust no caller: CLI and tasks pass ``actor=None`` (the system), users must hold the right."""
    if actor is not None and not has_perm(actor, permission):
        raise PermissionDenied()


def _full_clean(instance: Any, exclude: Sequence[str] = ()) -> None:
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except DjangoValidationError as exc:
        details = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        first = next(iter(details.items()))
        raise ValidationFailed(f"{first[0]}: {first[1][0]}", details={"fields": details}) from exc


# --------------------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------------------


def _geometry_fields(boundary: dict[str, Any] | None) -> dict[str, Any]:
    if boundary is None:
        return {
            "boundary": None,
            "centroid_lng": None,
            "centroid_lat": None,
            "min_lng": None,
            "min_lat": None,
            "max_lng": None,
            "max_lat": None,
            "area_km2": None,
        }
    try:
        min_lng, min_lat, max_lng, max_lat = geo.bbox(boundary)
        c_lng, c_lat = geo.centroid(boundary)
        km2 = geo.area_km2(boundary)
    except geo.GeometryError as exc:
        raise ValidationFailed(f"边界不是有效的GeoJSON多边形: {exc}", details={"field": "boundary"}) from exc
    return {
        "boundary": boundary,
        "centroid_lng": round(c_lng, 6),
        "centroid_lat": round(c_lat, 6),
        "min_lng": min_lng,
        "min_lat": min_lat,
        "max_lng": max_lng,
        "max_lat": max_lat,
        "area_km2": round(km2, 4),
    }


# --------------------------------------------------------------------------------------------------------------
# Areas (行政区划) and grids (网格)
# --------------------------------------------------------------------------------------------------------------


@dataclass
class AreaRow:
    code: str
    name: str
    level: int
    kind: str
    urban_rural: str
    parent_code: str | None = None
    urban_rural_code: str = ""
    population: int = 0
    households: int = 0
    boundary: dict[str, Any] | None = None


def _check_area_row(row: AreaRow, parent: Area | None) -> None:
    where = {"code": row.code}
    if not re.fullmatch(r"\d{12}", row.code or ""):
        raise ValidationFailed("统计用区划代码必须是12位数字", details={**where, "field": "code"})
    if not row.name or len(row.name) > 64:
        raise ValidationFailed("名称不能为空且不超过64个字", details={**where, "field": "name"})
    if row.level not in AreaLevel.values:
        raise ValidationFailed("层级必须是1(市)到4(社区/村)", details={**where, "field": "level"})
    if row.kind not in _KINDS_BY_LEVEL[AreaLevel(row.level)]:
        raise ValidationFailed(
            f"第{row.level}级区划的类型不能是“{row.kind}”", details={**where, "field": "kind"}
        )
    if row.urban_rural not in UrbanRural.values:
        raise ValidationFailed("城乡属性必须是 urban 或 rural", details={**where, "field": "urban_rural"})
    if row.population < 0 or row.households < 0:
        raise ValidationFailed("人口和户数不能为负", details={**where, "field": "population"})
    if row.level == AreaLevel.CITY:
        if parent is not None:
            raise ValidationFailed("市级区划不能有上级", details={**where, "field": "parent_code"})
        return
    if parent is None:
        raise ValidationFailed("缺少上级区划", details={**where, "field": "parent_code"})
    if parent.level != row.level - 1:
        raise ValidationFailed("上级区划的层级不对", details={**where, "field": "parent_code"})
    # Statistical division codes nest: a district shares the city's first 4 digits, a street the district's 6,
    # a community the street's 9.
    prefix = {AreaLevel.DISTRICT: 4, AreaLevel.STREET: 6, AreaLevel.COMMUNITY: 9}[AreaLevel(row.level)]
    if row.code[:prefix] != parent.code[:prefix]:
        raise ValidationFailed("区划代码与上级区划代码不符", details={**where, "field": "code"})


def _refuse_duplicate_codes(model: type[Area] | type[Grid], codes: list[str], label: str) -> None:
    """An import is refused whole when a code repeats in it or already exists."""
    if len(set(codes)) != len(codes):
        raise Conflict(f"导入数据中有重复的{label}", details={"field": "code"})
    existing = set(model.objects.filter(code__in=codes).values_list("code", flat=True))
    if existing:
        raise Conflict(f"{label}已存在", details={"codes": sorted(existing)[:20]})


@transaction.atomic
def areas_import(
    *,
    actor: User | None,
    rows: Sequence[AreaRow],
    batch_size: int = 2000,
    now: dt.datetime | None = None,
) -> int:
    """Create many areas at once (parents before children; parents may already exist). All or nothing."""
    _require(actor, "core.manage_areas")
    _refuse_duplicate_codes(Area, [r.code for r in rows], "区划代码")
    parent_codes = {r.parent_code for r in rows if r.parent_code}
    known: dict[str, Area] = {a.code: a for a in Area.objects.filter(code__in=parent_codes)}
    now = now or timezone.now()  # an explicit time makes seeded rows reproducible
    created: list[Area] = []
    pending = sorted(rows, key=lambda r: (r.level, r.code))
    for row in pending:
        parent = known.get(row.parent_code) if row.parent_code else None
        if row.parent_code and parent is None:
            raise ValidationFailed(
                "上级区划不存在", details={"code": row.code, "parent_code": row.parent_code}
            )
        _check_area_row(row, parent)
        area = Area(
            code=row.code,
            name=row.name,
            level=row.level,
            kind=row.kind,
            urban_rural=row.urban_rural,
            urban_rural_code=row.urban_rural_code,
            parent=parent,
            path=(parent.path if parent else "/") + row.code + "/",
            population=row.population,
            households=row.households,
            created_at=now,
            updated_at=now,
            **_geometry_fields(row.boundary),
        )
        known[row.code] = area
        created.append(area)
        # Save each level before its children so that foreign keys have ids on every database.
    by_level: dict[int, list[Area]] = {}
    for a in created:
        by_level.setdefault(a.level, []).append(a)
    for level in sorted(by_level):
        for a in by_level[level]:
            if a.parent is not None:
                a.parent_id = a.parent.pk
        Area.objects.bulk_create(by_level[level], batch_size=batch_size)
        spatial.bump()
        if by_level[level] and by_level[level][0].pk is None:  # backends without RETURNING
            ids = dict(
                Area.objects.filter(code__in=[a.code for a in by_level[level]]).values_list("code", "id")
            )
            for a in by_level[level]:
                a.pk = ids[a.code]
    audit_record(
        actor=actor,
        action="area.import",
        object_type="core.area",
        changes={"count": len(created), "codes": [created[0].code, created[-1].code] if created else []},
    )
    return len(created)


@transaction.atomic
def area_update(
    *,
    actor: User | None,
    area: Area,
    name: str | None = None,
    population: int | None = None,
    households: int | None = None,
    urban_rural: str | None = None,
    boundary: dict[str, Any] | None = None,
) -> Area:
    _require(actor, "core.manage_areas")
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name.strip()
    if population is not None:
        values["population"] = population
    if households is not None:
        values["households"] = households
    if urban_rural is not None:
        values["urban_rural"] = urban_rural
    if boundary is not None:
        values.update(_geometry_fields(boundary))
    if "name" in values and (
        not values["name"]
        or Area.objects.filter(parent=area.parent, name=values["name"]).exclude(pk=area.pk).exists()
    ):
        raise Conflict("同一上级下已有同名区划", details={"field": "name"})
    if any(v is not None and isinstance(v, int) and v < 0 for v in values.values()):
        raise ValidationFailed("人口和户数不能为负", details={"field": "population"})
    if "urban_rural" in values and values["urban_rural"] not in UrbanRural.values:
        raise ValidationFailed("城乡属性必须是 urban 或 rural", details={"field": "urban_rural"})
    changes = field_changes(area, {k: v for k, v in values.items() if k != "boundary"})
    if boundary is not None and boundary != area.boundary:
        changes["boundary"] = ["(旧边界)", "(新边界)"]
    if not changes:
        return area
    for k, v in values.items():
        setattr(area, k, v)
    area.updated_at = timezone.now()
    _full_clean(area, exclude=["parent", "boundary"])
    area.save(update_fields=[*values.keys(), "updated_at"])
    audit_record(actor=actor, action="area.update", obj=area, changes=changes, area_path=area.path)
    return area


@dataclass
class GridRow:
    code: str
    name: str
    community_code: str
    boundary: dict[str, Any] | None = None
    population: int = 0
    households: int = 0
    grid_worker_username: str | None = None


@transaction.atomic
def grids_import(
    *,
    actor: User | None,
    rows: Sequence[GridRow],
    batch_size: int = 2000,
    now: dt.datetime | None = None,
) -> int:
    _require(actor, "core.manage_areas")
    _refuse_duplicate_codes(Grid, [r.code for r in rows], "网格编码")
    communities = {
        a.code: a
        for a in Area.objects.filter(code__in={r.community_code for r in rows}, level=AreaLevel.COMMUNITY)
    }
    workers = {
        u.username: u
        for u in User.objects.filter(
            username__in={r.grid_worker_username for r in rows if r.grid_worker_username}
        )
    }
    now = now or timezone.now()  # an explicit time makes seeded rows reproducible
    grids = []
    for row in rows:
        community = communities.get(row.community_code)
        if community is None:
            raise ValidationFailed(
                "网格所属社区/村不存在", details={"code": row.code, "field": "community_code"}
            )
        if not row.code or len(row.code) > 20 or not row.name:
            raise ValidationFailed("网格编码和名称不能为空", details={"code": row.code})
        worker = workers.get(row.grid_worker_username) if row.grid_worker_username else None
        if row.grid_worker_username and worker is None:
            raise ValidationFailed("网格员账号不存在", details={"code": row.code, "field": "grid_worker"})
        grids.append(
            Grid(
                code=row.code,
                name=row.name,
                community=community,
                path=community.path,
                grid_worker=worker,
                population=row.population,
                households=row.households,
                created_at=now,
                updated_at=now,
                **_geometry_fields(row.boundary),
            )
        )
    Grid.objects.bulk_create(grids, batch_size=batch_size)
    spatial.bump()
    audit_record(actor=actor, action="grid.import", object_type="core.grid", changes={"count": len(grids)})
    return len(grids)


@transaction.atomic
def grid_assign_worker(*, actor: User | None, grid: Grid, worker: User | None) -> Grid:
    _require(actor, "core.manage_areas")
    if worker is not None and not RoleAssignment.objects.filter(user=worker, role=Role.GRID_WORKER).exists():
        raise ValidationFailed("该用户没有网格员角色", details={"field": "grid_worker"})
    changes = field_changes(grid, {"grid_worker": worker})
    if not changes:
        return grid
    grid.grid_worker = worker
    grid.updated_at = timezone.now()
    grid.save(update_fields=["grid_worker", "updated_at"])
    audit_record(actor=actor, action="grid.assign_worker", obj=grid, changes=changes, area_path=grid.path)
    return grid


# --------------------------------------------------------------------------------------------------------------
# Units (承办单位)
# --------------------------------------------------------------------------------------------------------------


@dataclass
class ContactIn:
    name: str
    title: str = ""
    mobile: str = ""
    email: str = ""
    is_primary: bool = False


@dataclass
class UnitRow:
    code: str
    name: str
    kind: str
    area_code: str | None = None
    parent_code: str | None = None
    short_name: str = ""
    responsibilities: str = ""
    phone: str = ""
    address: str = ""
    contacts: list[ContactIn] = field(default_factory=list)


def _check_contact(c: ContactIn) -> None:
    if not c.name.strip():
        raise ValidationFailed("联系人姓名不能为空", details={"field": "contacts.name"})
    if c.mobile and not _MOBILE_RE.match(c.mobile):
        raise ValidationFailed("手机号格式不正确", details={"field": "contacts.mobile", "value": c.mobile})


def _check_unit_fields(*, code: str, name: str, kind: str) -> None:
    if not code or len(code) > 32 or not re.fullmatch(r"[A-Za-z0-9_.-]+", code):
        raise ValidationFailed("单位编码只能由字母、数字和 _ . - 组成，不超过32位", details={"field": "code"})
    if not name.strip() or len(name) > 100:
        raise ValidationFailed("单位名称不能为空且不超过100个字", details={"field": "name"})
    if kind not in UnitKind.values:
        raise ValidationFailed("单位类型不正确", details={"field": "kind", "allowed": UnitKind.values})


@transaction.atomic
def units_import(
    *, actor: User | None, rows: Sequence[UnitRow], batch_size: int = 1000, now: dt.datetime | None = None
) -> int:
    """Create many units with their contacts (parents may be in the same batch, listed first)."""
    _require(actor, "core.manage_units")
    codes = [r.code for r in rows]
    names = [r.name for r in rows]
    if len(set(codes)) != len(codes) or len(set(names)) != len(names):
        raise Conflict("导入数据中有重复的单位编码或名称")
    clash = Unit.objects.filter(code__in=codes) | Unit.objects.filter(name__in=names)
    if clash.exists():
        raise Conflict(
            "单位编码或名称已存在", details={"codes": sorted(clash.values_list("code", flat=True))[:20]}
        )
    areas = {a.code: a for a in Area.objects.filter(code__in={r.area_code for r in rows if r.area_code})}
    now = now or timezone.now()  # an explicit time makes seeded rows reproducible
    units: dict[str, Unit] = {u.code: u for u in Unit.objects.filter(code__in={r.parent_code for r in rows})}
    created = []
    for row in rows:
        _check_unit_fields(code=row.code, name=row.name, kind=row.kind)
        for c in row.contacts:
            _check_contact(c)
        if row.area_code and row.area_code not in areas:
            raise ValidationFailed("责任区域不存在", details={"code": row.code, "field": "area_code"})
        if row.parent_code and row.parent_code not in units:
            raise ValidationFailed("上级单位不存在", details={"code": row.code, "field": "parent_code"})
        unit = Unit(
            code=row.code,
            name=row.name.strip(),
            short_name=row.short_name,
            kind=row.kind,
            parent=units.get(row.parent_code) if row.parent_code else None,
            area=areas.get(row.area_code) if row.area_code else None,
            responsibilities=row.responsibilities,
            phone=row.phone,
            address=row.address,
            created_at=now,
            updated_at=now,
        )
        unit.save()  # one by one: later rows may name this unit as their parent
        units[row.code] = unit
        created.append(unit)
    UnitContact.objects.bulk_create(
        [
            UnitContact(
                unit=units[r.code],
                name=c.name,
                title=c.title,
                mobile=c.mobile,
                email=c.email,
                is_primary=c.is_primary,
            )
            for r in rows
            for c in r.contacts
        ],
        batch_size=batch_size,
    )
    audit_record(actor=actor, action="unit.import", object_type="core.unit", changes={"count": len(created)})
    return len(created)


@transaction.atomic
def unit_create(
    *,
    actor: User | None,
    code: str,
    name: str,
    kind: str,
    area: Area | None = None,
    parent: Unit | None = None,
    short_name: str = "",
    responsibilities: str = "",
    phone: str = "",
    address: str = "",
    contacts: Iterable[ContactIn] = (),
) -> Unit:
    _require(actor, "core.manage_units")
    _check_unit_fields(code=code, name=name, kind=kind)
    contacts = list(contacts)
    for c in contacts:
        _check_contact(c)
    if Unit.objects.filter(code=code).exists():
        raise Conflict("单位编码已存在", details={"field": "code"})
    if Unit.objects.filter(name=name.strip()).exists():
        raise Conflict("单位名称已存在", details={"field": "name"})
    unit = Unit(
        code=code,
        name=name.strip(),
        kind=kind,
        area=area,
        parent=parent,
        short_name=short_name,
        responsibilities=responsibilities,
        phone=phone,
        address=address,
    )
    _full_clean(unit, exclude=["area", "parent"])
    unit.save()
    for c in contacts:
        UnitContact.objects.create(
            unit=unit, name=c.name, title=c.title, mobile=c.mobile, email=c.email, is_primary=c.is_primary
        )
    audit_record(
        actor=actor,
        action="unit.create",
        obj=unit,
        changes={
            **snapshot(unit, ["code", "name", "kind", "area", "parent", "phone"]),
            "contacts": [0, len(contacts)],
        },
        unit=unit,
        area_path=area.path if area else "",
    )
    return unit


UNIT_EDITABLE = ("name", "short_name", "kind", "responsibilities", "phone", "address", "is_active")


@transaction.atomic
def unit_update(
    *,
    actor: User | None,
    unit: Unit,
    values: dict[str, Any],
    area: Area | None = None,
    contacts: Iterable[ContactIn] | None = None,
) -> Unit:
    """Change a unit. Admins may change anything; the unit's own leader only its description and contacts."""
    if actor is not None:
        from shizhi.core.selectors import can_change_unit

        if not can_change_unit(actor, unit):
            raise PermissionDenied()
        if not has_perm(actor, "core.manage_units") and ({"name", "kind", "is_active"} & set(values) or area):
            raise PermissionDenied("只有管理员可以修改单位名称、类型、状态和责任区域")
    unknown = set(values) - set(UNIT_EDITABLE)
    if unknown:
        raise ValidationFailed("不能修改这些字段", details={"fields": sorted(unknown)})
    if "name" in values:
        values["name"] = str(values["name"]).strip()
        if Unit.objects.filter(name=values["name"]).exclude(pk=unit.pk).exists():
            raise Conflict("单位名称已存在", details={"field": "name"})
    _check_unit_fields(code=unit.code, name=values.get("name", unit.name), kind=values.get("kind", unit.kind))
    contact_list = list(contacts) if contacts is not None else None
    for c in contact_list or []:
        _check_contact(c)
    if area is not None:
        values = {**values, "area": area}
    changes = field_changes(unit, values)
    if contact_list is not None:
        old = [(c.name, c.title, c.mobile, c.email, c.is_primary) for c in unit.contacts.all()]
        new = [(c.name, c.title, c.mobile, c.email, c.is_primary) for c in contact_list]
        if old != new:
            changes["contacts"] = [len(old), len(new)]
    if not changes:
        return unit
    for k, v in values.items():
        setattr(unit, k, v)
    unit.updated_at = timezone.now()
    _full_clean(unit, exclude=["area", "parent"])
    unit.save(update_fields=[*values.keys(), "updated_at"])
    if contact_list is not None and "contacts" in changes:
        unit.contacts.all().delete()
        for c in contact_list:
            UnitContact.objects.create(
                unit=unit, name=c.name, title=c.title, mobile=c.mobile, email=c.email, is_primary=c.is_primary
            )
    audit_record(
        actor=actor,
        action="unit.update",
        obj=unit,
        changes=changes,
        unit=unit,
        area_path=unit.area.path if unit.area else "",
    )
    return unit


# --------------------------------------------------------------------------------------------------------------
# Users, roles and scopes
# --------------------------------------------------------------------------------------------------------------


@dataclass
class RoleIn:
    role: str
    unit: Unit | None = None
    area: Area | None = None


def _check_role(r: RoleIn) -> None:
    if r.role not in Role.values:
        raise ValidationFailed(f"未知角色“{r.role}”", details={"field": "role", "allowed": Role.values})
    policy = ROLE_POLICIES[r.role]
    if policy.needs_unit and r.unit is None:
        raise ValidationFailed(f"角色“{Role(r.role).label}”必须指定所属单位", details={"field": "unit"})
    if r.unit is not None and not policy.unit_allowed:
        raise ValidationFailed(f"角色“{Role(r.role).label}”不按单位授权", details={"field": "unit"})
    if r.area is not None and not policy.area_allowed:
        raise ValidationFailed(f"角色“{Role(r.role).label}”不按区域授权", details={"field": "area"})


def _check_user_fields(*, username: str, mobile: str, id_number: str, display_name: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.@+-]{3,150}", username or ""):
        raise ValidationFailed("用户名须为3-150位字母、数字或 _ . @ + -", details={"field": "username"})
    if mobile and not _MOBILE_RE.match(mobile):
        raise ValidationFailed("手机号格式不正确", details={"field": "mobile"})
    if id_number and not _ID_RE.match(id_number):
        raise ValidationFailed("身份证号格式不正确", details={"field": "id_number"})
    if len(display_name) > 32:
        raise ValidationFailed("姓名不超过32个字", details={"field": "display_name"})


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str | None,
    display_name: str = "",
    mobile: str = "",
    id_number: str = "",
    roles: Sequence[RoleIn] = (),
    check_password_strength: bool = True,
) -> User:
    """Create a user with roles. ``password=None`` creates an account that cannot sign in until one is set."""
    _require(actor, "core.manage_users")
    _check_user_fields(username=username, mobile=mobile, id_number=id_number, display_name=display_name)
    for r in roles:
        _check_role(r)
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict("用户名已被使用", details={"field": "username"})
    user = User(username=username, display_name=display_name, mobile=mobile, id_number=id_number.upper())
    if password is not None:
        if check_password_strength:
            try:
                validate_password(password, user)
            except DjangoValidationError as exc:
                raise ValidationFailed(
                    "密码太弱: " + "；".join(exc.messages), details={"field": "password"}
                ) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.is_staff = any(r.role == Role.ADMIN for r in roles)
    user.is_superuser = user.is_staff
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise Conflict("用户名已被使用", details={"field": "username"}) from exc
    for r in roles:
        RoleAssignment.objects.create(user=user, role=r.role, unit=r.unit, area=r.area)
    audit_record(
        actor=actor,
        action="user.create",
        obj=user,
        changes={
            **snapshot(user, ["username", "display_name", "mobile", "id_number"]),
            "roles": [None, [_role_label(r) for r in roles]],
        },
    )
    return user


def _role_label(r: RoleIn | RoleAssignment) -> str:
    scope = r.unit.code if r.unit else (r.area.code if r.area else "city")
    return f"{r.role}@{scope}"


@transaction.atomic
def role_assign(*, actor: User | None, user: User, role: RoleIn) -> RoleAssignment:
    _require(actor, "core.manage_users")
    _check_role(role)
    if RoleAssignment.objects.filter(user=user, role=role.role, unit=role.unit, area=role.area).exists():
        raise Conflict("该用户已有此角色授权", details={"field": "role"})
    assignment = RoleAssignment.objects.create(user=user, role=role.role, unit=role.unit, area=role.area)
    if role.role == Role.ADMIN and not user.is_staff:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    forget_scope(user)
    audit_record(
        actor=actor, action="user.role_assign", obj=user, changes={"roles": [None, _role_label(role)]}
    )
    return assignment


@transaction.atomic
def role_revoke(*, actor: User | None, assignment: RoleAssignment) -> None:
    _require(actor, "core.manage_users")
    user = assignment.user
    if (
        assignment.role == Role.ADMIN
        and RoleAssignment.objects.filter(role=Role.ADMIN, user__is_active=True)
        .exclude(pk=assignment.pk)
        .count()
        == 0
    ):
        raise Conflict("不能撤销最后一位管理员的管理员角色")
    label = _role_label(assignment)
    assignment.delete()
    if assignment.role == Role.ADMIN and not user.role_assignments.filter(role=Role.ADMIN).exists():
        user.is_staff = user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser"])
    forget_scope(user)
    audit_record(actor=actor, action="user.role_revoke", obj=user, changes={"roles": [label, None]})


@transaction.atomic
def user_update(*, actor: User | None, user: User, values: dict[str, Any]) -> User:
    """Change a user's profile. Anyone may edit their own name and mobile; admins anything listed here."""
    allowed_self = {"display_name", "mobile"}
    allowed_admin = allowed_self | {"id_number", "is_active"}
    is_self = actor is not None and actor.pk == user.pk
    if (
        actor is not None
        and not has_perm(actor, "core.manage_users")
        and not (is_self and set(values) <= allowed_self)
    ):
        raise PermissionDenied()
    unknown = set(values) - allowed_admin
    if unknown:
        raise ValidationFailed("不能修改这些字段", details={"fields": sorted(unknown)})
    _check_user_fields(
        username=user.username,
        mobile=values.get("mobile", user.mobile),
        id_number=values.get("id_number", user.id_number),
        display_name=values.get("display_name", user.display_name),
    )
    if values.get("is_active") is False and user.role_assignments.filter(role=Role.ADMIN).exists():
        others = RoleAssignment.objects.filter(role=Role.ADMIN, user__is_active=True).exclude(user=user)
        if not others.exists():
            raise Conflict("不能停用最后一位管理员")
    changes = field_changes(user, values)
    if not changes:
        return user
    for k, v in values.items():
        setattr(user, k, v)
    user.save(update_fields=list(values))
    audit_record(actor=actor, action="user.update", obj=user, changes=changes)
    return user


@transaction.atomic
def user_set_password(*, actor: User | None, user: User, password: str) -> None:
    if actor is not None and actor.pk != user.pk:
        _require(actor, "core.manage_users")
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed("密码太弱: " + "；".join(exc.messages), details={"field": "password"}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="user.set_password", obj=user, changes={"password": ["***", "***"]})


def users_import(
    *, actor: User | None, users: Sequence[tuple[User, Sequence[RoleIn]]], batch_size: int = 2000
) -> int:
    """Bulk-create prepared users (password already hashed) with their roles: for seeding and imports."""
    _require(actor, "core.manage_users")
    with transaction.atomic():
        for u, roles in users:
            _check_user_fields(
                username=u.username, mobile=u.mobile, id_number=u.id_number, display_name=u.display_name
            )
            for r in roles:
                _check_role(r)
        names = [u.username for u, _ in users]
        if len(set(n.lower() for n in names)) != len(names):
            raise Conflict("导入数据中有重复的用户名")
        taken = list(User.objects.filter(username__in=names).values_list("username", flat=True)[:20])
        if taken:
            raise Conflict("用户名已被使用", details={"usernames": taken})
        for u, roles in users:
            u.is_staff = u.is_superuser = any(r.role == Role.ADMIN for r in roles)
        User.objects.bulk_create([u for u, _ in users], batch_size=batch_size)
        ids = dict(User.objects.filter(username__in=names).values_list("username", "id"))
        RoleAssignment.objects.bulk_create(
            [
                RoleAssignment(
                    user_id=ids[u.username], role=r.role, unit=r.unit, area=r.area, created_at=u.date_joined
                )
                for u, roles in users
                for r in roles
            ],
            batch_size=batch_size,
        )
        audit_record(
            actor=actor, action="user.import", object_type="core.user", changes={"count": len(users)}
        )
    return len(users)


# --------------------------------------------------------------------------------------------------------------
# API tokens (接口令牌)
# --------------------------------------------------------------------------------------------------------------


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def token_create(
    *, actor: User, user: User, name: str, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a personal API token; returns the token row and the raw token, which is never stored."""
    if actor.pk != user.pk:
        _require(actor, "core.manage_users")
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise ValidationFailed("令牌名称不能为空且不超过64个字", details={"field": "name"})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("过期时间必须在将来", details={"field": "expires_at"})
    if user.api_tokens.filter(revoked_at__isnull=True).count() >= 20:
        raise Conflict("每个用户最多20个有效令牌，请先撤销不用的令牌")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=token_digest(raw),
        expires_at=expires_at,
    )
    audit_record(actor=actor, action="token.create", obj=token, changes=snapshot(token, ["name", "prefix"]))
    return token, raw


@transaction.atomic
def token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    if actor.pk != token.user_id:
        _require(actor, "core.manage_users")
    if token.revoked_at is not None:
        raise Conflict("令牌已被撤销")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor, action="token.revoke", obj=token, changes={"revoked_at": [None, token.revoked_at]}
    )
    return token


def token_authenticate(raw: str) -> User | None:
    """The active user that owns this token, or None. Touches last_used_at at most once a minute.

    Runs on every API request: one hand-written query for the token's state and its user (core.hotpath)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    now = timezone.now()
    names, user_columns = hotpath.columns(User, "u")
    token_t, user_t = hotpath.table(ApiToken), hotpath.table(User)
    revoked, expires, used = (
        hotpath.column(ApiToken, f) for f in ("revoked_at", "expires_at", "last_used_at")
    )
    row = hotpath.fetch_one(
        f"SELECT t.{hotpath.column(ApiToken, 'id')}, CASE WHEN t.{used} IS NULL OR t.{used} < %s THEN 1 ELSE 0 END,"
        f" {user_columns} FROM {token_t} t JOIN {user_t} u ON u.{hotpath.column(User, 'id')} ="
        f" t.{hotpath.column(ApiToken, 'user')} WHERE t.{hotpath.column(ApiToken, 'digest')} = %s"
        f" AND t.{revoked} IS NULL AND (t.{expires} IS NULL OR t.{expires} > %s)",
        [hotpath.moment(now - dt.timedelta(seconds=60)), token_digest(raw), hotpath.moment(now)],
    )
    if row is None:
        return None
    user: User = hotpath.instance(User, names, row[2:])
    if not user.is_active:
        return None
    if row[1]:
        ApiToken.objects.filter(pk=row[0]).update(last_used_at=now)
    return user


# --------------------------------------------------------------------------------------------------------------
# Working-day calendar (工作日历)
# --------------------------------------------------------------------------------------------------------------


@transaction.atomic
def calendar_day_set(*, actor: User | None, date: dt.date, is_workday: bool, name: str = "") -> CalendarDay:
    _require(actor, "core.manage_calendar")
    if len(name) > 32:
        raise ValidationFailed("说明不超过32个字", details={"field": "name"})
    day = CalendarDay.objects.filter(date=date).first()
    old = (day.is_workday, day.name) if day else None
    if day is None:
        day = CalendarDay.objects.create(date=date, is_workday=is_workday, name=name)
    else:
        day.is_workday, day.name = is_workday, name
        day.save(update_fields=["is_workday", "name"])
    audit_record(
        actor=actor,
        action="calendar.set",
        obj=day,
        changes={
            "is_workday": [old[0] if old else None, is_workday],
            "name": [old[1] if old else None, name],
        },
    )
    transaction.on_commit(workcalendar.clear_cache)
    workcalendar.clear_cache()
    return day


@transaction.atomic
def calendar_day_delete(*, actor: User | None, date: dt.date) -> None:
    _require(actor, "core.manage_calendar")
    day = CalendarDay.objects.filter(date=date).first()
    if day is None:
        raise NotFound("日历调整")
    audit_record(
        actor=actor, action="calendar.delete", obj=day, changes={"is_workday": [day.is_workday, None]}
    )
    day.delete()
    transaction.on_commit(workcalendar.clear_cache)
    workcalendar.clear_cache()
