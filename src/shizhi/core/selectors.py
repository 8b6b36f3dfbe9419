"""Every read of core data that filters by scope or needs a permission, and the point-in-area lookup.

One access function per guarded entity (``access_area``, ``access_unit``, ``access_user``, ``access_token``):
each either returns the object or raises ``NotFound`` (objects outside a user's scope do not exist for them)
or ``PermissionDenied`` (visible, but not for this action). ``scope_filter`` applies the same rules to
querysets, and later modules use it for their own entities (cases by unit, area and owner).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Q, QuerySet, Sum

from shizhi.core import geo, masking, spatial
from shizhi.core.errors import NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import ApiToken, Area, AreaLevel, AuditEvent, Grid, Role, Unit, User
from shizhi.core.permissions import actor_scope, has_perm, roles_with

Actor = User | AnonymousUser | None


def scope_filter(
    qs: QuerySet[Any],
    actor: Actor,
    *,
    permission: str,
    unit_field: str | None = None,
    path_field: str | None = None,
    owner_field: str | None = None,
) -> QuerySet[Any]:
    """Keep only the rows ``actor`` may see under ``permission``.

    A row is visible when one of the actor's roles that holds ``permission`` is city-wide, or is scoped to the
    row's unit (``unit_field``), or to an area whose subtree holds the row (``path_field``, a materialised
    path); or when the actor owns the row (``owner_field``: a citizen's own requests)."""
    if actor is None or not actor.is_authenticated:
        return qs.none()
    scope = actor_scope(actor)
    roles = set(roles_with(permission)) & set(scope.roles)
    condition = Q(pk__in=[])
    if roles and scope.is_city_wide(roles):
        return qs
    if roles and unit_field:
        unit_ids = set().union(*(scope.unit_ids.get(r, set()) for r in roles))
        if unit_ids:
            condition |= Q(**{f"{unit_field}__in": unit_ids})
    if roles and path_field:
        for path in scope.all_area_paths(roles):
            condition |= Q(**{f"{path_field}__startswith": path})
    if owner_field:
        condition |= Q(**{owner_field: actor.pk})
    return qs.filter(condition)


# --------------------------------------------------------------------------------------------------------------
# Areas and grids: not secret (they are public statistics), but only for signed-in users.
# --------------------------------------------------------------------------------------------------------------


def _require_signed_in(actor: Actor, permission: str) -> None:
    if not has_perm(actor, permission):
        raise PermissionDenied()


def area_list(
    *, actor: Actor, level: int | None = None, parent_id: int | None = None, q: str | None = None
) -> QuerySet[Area]:
    _require_signed_in(actor, "core.view_areas")
    qs = Area.objects.all()
    if level is not None:
        if level not in AreaLevel.values:
            raise ValidationFailed("层级必须是1到4", details={"field": "level"})
        qs = qs.filter(level=level)
    if parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(code__startswith=q))
    return qs.order_by("code")


def access_area(*, actor: Actor, area_id: int) -> Area:
    _require_signed_in(actor, "core.view_areas")
    area = Area.objects.select_related("parent").filter(pk=area_id).first()
    if area is None:
        raise NotFound("区划")
    return area


def area_ancestors(area: Area) -> list[Area]:
    codes = [c for c in area.path.strip("/").split("/") if c and c != area.code]
    # Boundaries are large JSON (a city's outline has hundreds of vertices): ancestors rarely need them.
    by_code = {a.code: a for a in Area.objects.filter(code__in=codes).defer("boundary")}
    return [by_code[c] for c in codes if c in by_code]


def area_children_stats(area: Area) -> list[dict[str, Any]]:
    """Each child with its counts of sub-areas and grids, in one query per level (no N+1)."""
    children = list(area.children.order_by("code").annotate(n_children=Count("children")))
    grid_counts = dict(
        Grid.objects.filter(path__startswith=area.path)
        .values_list("path")
        .annotate(n=Count("id"))
        .values_list("path", "n")
    )
    out = []
    for child in children:
        n_grids = sum(n for p, n in grid_counts.items() if p.startswith(child.path))
        out.append({"area": child, "n_children": child.n_children, "n_grids": n_grids})
    return out


def area_tree(*, actor: Actor, root_id: int | None = None, max_level: int = 3) -> list[dict[str, Any]]:
    """The tree of areas down to ``max_level`` as nested dicts, built from one query."""
    _require_signed_in(actor, "core.view_areas")
    if root_id is not None:
        root = access_area(actor=actor, area_id=root_id)
        qs = Area.objects.filter(path__startswith=root.path)
    else:
        qs = Area.objects.all()
    if max_level not in AreaLevel.values:
        raise ValidationFailed("层级必须是1到4", details={"field": "max_level"})
    rows = list(
        qs.filter(level__lte=max_level)
        .order_by("level", "code")
        .values("id", "code", "name", "level", "kind", "urban_rural", "population", "households", "parent_id")
    )
    nodes: dict[int, dict[str, Any]] = {r["id"]: {**r, "children": []} for r in rows}
    roots = []
    for r in rows:
        node = nodes[r["id"]]
        parent = nodes.get(r["parent_id"])
        if parent is not None:
            parent["children"].append(node)
        else:
            roots.append(node)
    return roots


def grid_list(*, actor: Actor, community_id: int | None = None, area_id: int | None = None) -> QuerySet[Grid]:
    _require_signed_in(actor, "core.view_areas")
    qs = Grid.objects.select_related("community", "grid_worker")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if area_id is not None:
        area = access_area(actor=actor, area_id=area_id)
        qs = qs.filter(path__startswith=area.path)
    return qs.order_by("code")


def access_grid(*, actor: Actor, grid_id: int) -> Grid:
    _require_signed_in(actor, "core.view_areas")
    grid = Grid.objects.select_related("community", "grid_worker").filter(pk=grid_id).first()
    if grid is None:
        raise NotFound("网格")
    return grid


@dataclass
class Location:
    """Where a point lies: its grid (if any) and each level of area above it."""

    lng: float
    lat: float
    grid: Grid | None
    community: Area | None
    street: Area | None
    district: Area | None
    city: Area | None


def locate_point(lng: float, lat: float) -> Location:
    """Which grid, community, street, district and city contain (lng, lat).

    Grids first (the finest level); where no grid covers the point, the deepest area that contains it. Served
    from the in-memory index of :mod:`shizhi.core.spatial` (rebuilt when areas or grids change)."""
    try:
        geo.validate_point(lng, lat)
    except geo.GeometryError as exc:
        raise ValidationFailed(f"坐标无效: {exc}", details={"lng": lng, "lat": lat}) from exc
    grid, found = spatial.locate(lng, lat)
    return Location(
        lng=lng,
        lat=lat,
        grid=grid,
        community=found.get(AreaLevel.COMMUNITY),
        street=found.get(AreaLevel.STREET),
        district=found.get(AreaLevel.DISTRICT),
        city=found.get(AreaLevel.CITY),
    )


def area_geojson(area: Area, *, include: str = "children") -> dict[str, Any]:
    """A FeatureCollection: the area's children (``children``), its grids (``grids``) or itself (``self``)."""
    if include == "children":
        objects: list[Any] = list(area.children.order_by("code"))
        kind = "area"
    elif include == "grids":
        objects = list(
            Grid.objects.filter(path__startswith=area.path).select_related("grid_worker").order_by("code")
        )
        kind = "grid"
    elif include == "self":
        objects = [area]
        kind = "area"
    else:
        raise ValidationFailed("include 只能是 children、grids 或 self", details={"field": "include"})
    features = []
    for o in objects:
        if not o.boundary:
            continue
        props: dict[str, Any] = {
            "id": o.pk,
            "kind": kind,
            "code": o.code,
            "name": o.name,
            "population": o.population,
            "households": o.households,
        }
        if kind == "area":
            props.update(level=o.level, type=o.kind, urban_rural=o.urban_rural)
        else:
            props.update(grid_worker=str(o.grid_worker) if o.grid_worker else None)
        features.append({"type": "Feature", "id": o.pk, "properties": props, "geometry": o.boundary})
    return geo.feature_collection(features)


# --------------------------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------------------------


def unit_list(
    *,
    actor: Actor,
    kind: str | None = None,
    area_id: int | None = None,
    q: str | None = None,
    active: bool | None = True,
) -> QuerySet[Unit]:
    _require_signed_in(actor, "core.view_units")
    qs = Unit.objects.select_related("area")
    if kind:
        qs = qs.filter(kind=kind)
    if area_id is not None:
        area = access_area(actor=actor, area_id=area_id)
        qs = qs.filter(area__path__startswith=area.path)
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(short_name__contains=q) | Q(code__iexact=q))
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("code")


def access_unit(*, actor: Actor, unit_id: int) -> Unit:
    _require_signed_in(actor, "core.view_units")
    unit = Unit.objects.select_related("area", "parent").filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("单位")
    return unit


def is_unit_member(actor: Actor, unit: Unit) -> bool:
    if actor is None or not actor.is_authenticated:
        return False
    return unit.pk in actor_scope(actor).all_unit_ids()


def can_change_unit(actor: Actor, unit: Unit) -> bool:
    if has_perm(actor, "core.manage_units"):
        return True
    if not has_perm(actor, "core.change_own_unit"):
        return False
    return unit.pk in actor_scope(actor).unit_ids.get(Role.UNIT_LEADER, set())


def can_see_unit_contacts(actor: Actor, unit: Unit) -> bool:
    """Contacts (names and mobiles of staff) are for the hotline centre and the unit itself, not the public."""
    if not has_perm(actor, "core.view_unit_contacts"):
        return False
    scope = actor_scope(actor)
    city_wide_staff = {Role.ADMIN, Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR}
    if scope.is_city_wide(city_wide_staff) or scope.roles & {Role.OPERATOR, Role.DISPATCHER}:
        return True
    return is_unit_member(actor, unit)


def unit_contacts(actor: Actor, unit: Unit) -> list[dict[str, Any]] | None:
    """A unit's contacts as the reader may see them: ``None`` when not at all (the public), mobiles and e-mail
    masked unless the reader may see personal data (``core.view_pii``)."""
    if not can_see_unit_contacts(actor, unit):
        return None
    show_pii = can_see_pii(actor)
    return [
        {
            "name": c.name,
            "title": c.title,
            "mobile": c.mobile if show_pii else masking.mask_mobile(c.mobile),
            "email": c.email if show_pii else masking.mask_email(c.email),
            "is_primary": c.is_primary,
        }
        for c in unit.contacts.all()
    ]


# --------------------------------------------------------------------------------------------------------------
# Users: a user sees themself; a unit leader the users of their unit; supervisors and admins within scope.
# --------------------------------------------------------------------------------------------------------------


def user_list(
    *, actor: Actor, q: str | None = None, role: str | None = None, unit_id: int | None = None
) -> QuerySet[User]:
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied()
    qs = scope_filter(
        User.objects.all(),
        actor,
        permission="core.view_users",
        unit_field="role_assignments__unit",
        path_field="role_assignments__area__path",
        owner_field="pk",
    )
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(display_name__contains=q))
    if role:
        qs = qs.filter(role_assignments__role=role)
    if unit_id is not None:
        qs = qs.filter(role_assignments__unit_id=unit_id)
    return qs.distinct().order_by("id").prefetch_related("role_assignments__unit", "role_assignments__area")


def access_user(*, actor: Actor, user_id: int) -> User:
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied()
    if actor.pk == user_id:
        return actor  # type: ignore[return-value]
    user = user_list(actor=actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound("用户")
    return user


def user_roles(user: User) -> list[dict[str, Any]]:
    return [
        {
            "id": a.pk,
            "role": a.role,
            "role_label": str(a.get_role_display()),
            "unit_id": a.unit_id,
            "unit_name": a.unit.name if a.unit else None,
            "area_id": a.area_id,
            "area_name": a.area.name if a.area else None,
        }
        for a in user.role_assignments.select_related("unit", "area").order_by("id")
    ]


def access_token(*, actor: Actor, token_id: int) -> ApiToken:
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied()
    token = ApiToken.objects.filter(pk=token_id).first()
    if token is None or (token.user_id != actor.pk and not has_perm(actor, "core.manage_users")):
        raise NotFound("令牌")
    return token


def can_see_pii(actor: Actor) -> bool:
    return has_perm(actor, "core.view_pii")


# --------------------------------------------------------------------------------------------------------------
# Audit (readable by admins city-wide and by supervisors within their area)
# --------------------------------------------------------------------------------------------------------------


def audit_list(
    *,
    actor: Actor,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_id: int | None = None,
) -> QuerySet[AuditEvent]:
    if not has_perm(actor, "core.view_audit"):
        raise PermissionDenied("只有管理员和督办员可以查看审计日志")
    qs = scope_filter(AuditEvent.objects.all(), actor, permission="core.view_audit", path_field="area_path")
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    return qs.select_related("actor").order_by("-created_at", "-id")


# --------------------------------------------------------------------------------------------------------------
# Counts for the home page
# --------------------------------------------------------------------------------------------------------------


def city_counts() -> dict[str, Any]:
    by_level = dict(Area.objects.values_list("level").annotate(n=Count("id")).values_list("level", "n"))
    rural = dict(
        Area.objects.filter(level=AreaLevel.COMMUNITY)
        .values_list("urban_rural")
        .annotate(n=Count("id"))
        .values_list("urban_rural", "n")
    )
    city = Area.objects.filter(level=AreaLevel.CITY).order_by("code").first()
    people = Area.objects.filter(level=AreaLevel.COMMUNITY).aggregate(
        p=Sum("population"), h=Sum("households")
    )
    return {
        "city": city,
        "districts": by_level.get(AreaLevel.DISTRICT, 0),
        "streets": by_level.get(AreaLevel.STREET, 0),
        "communities": by_level.get(AreaLevel.COMMUNITY, 0),
        "urban_communities": rural.get("urban", 0),
        "villages": rural.get("rural", 0),
        "grids": Grid.objects.count(),
        "units": Unit.objects.filter(is_active=True).count(),
        "users": User.objects.filter(is_active=True).count(),
        "population": (city.population if city and city.population else people["p"]) or 0,
        "households": (city.households if city and city.households else people["h"]) or 0,
    }
