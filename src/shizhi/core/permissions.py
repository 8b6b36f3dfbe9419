"""Who may do what, as data (权限表), and each user's scope (数据范围).

A permission is granted to roles; a role assignment carries a scope (a unit, an area, or city-wide). Access
functions in ``selectors`` combine the two: "may this actor do X" (``has_perm``) and "on which objects"
(``ActorScope``). Later modules add their permissions to ``PERMISSIONS`` through :func:`register`.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser

from shizhi.core import hotpath
from shizhi.core.models import Area, Role, RoleAssignment, User

R = Role

# Roles whose work needs citizens' contact details (they call back, visit, or handle the request).
PII_ROLES = frozenset(
    {R.ADMIN, R.OPERATOR, R.DISPATCHER, R.UNIT_HANDLER, R.UNIT_LEADER, R.SUPERVISOR, R.GRID_WORKER}
)
STAFF_ROLES = frozenset(set(Role) - {R.CITIZEN})

PERMISSIONS: dict[str, frozenset[Role]] = {
    "core.view_areas": frozenset(Role),
    "core.manage_areas": frozenset({R.ADMIN}),
    "core.view_units": frozenset(Role),
    "core.manage_units": frozenset({R.ADMIN}),
    # Unit leaders keep their own unit's details and contacts up to date (scope-checked in access_unit).
    "core.change_own_unit": frozenset({R.ADMIN, R.UNIT_LEADER}),
    "core.view_unit_contacts": STAFF_ROLES,
    "core.view_users": frozenset({R.ADMIN, R.UNIT_LEADER, R.SUPERVISOR}),
    "core.manage_users": frozenset({R.ADMIN}),
    "core.view_audit": frozenset({R.ADMIN, R.SUPERVISOR}),
    "core.view_pii": PII_ROLES,
    "core.manage_calendar": frozenset({R.ADMIN}),
    "core.use_admin_site": frozenset({R.ADMIN}),
}


def register(permissions: dict[str, frozenset[Role]]) -> None:
    """Let a later module add its own permissions (called from its AppConfig.ready)."""
    clash = set(permissions) & set(PERMISSIONS)
    if clash:
        raise ValueError(f"permissions already registered: {sorted(clash)}")
    PERMISSIONS.update(permissions)


@dataclass
class ActorScope:
    """What one signed-in user may see: per role, the units and the area subtrees it holds."""

    user_id: int | None
    roles: frozenset[str]
    # role -> unit ids / area paths; a role held city-wide has city_wide[role] = True
    unit_ids: dict[str, set[int]] = field(default_factory=dict)
    area_paths: dict[str, set[str]] = field(default_factory=dict)
    city_wide: set[str] = field(default_factory=set)

    def all_unit_ids(self) -> set[int]:
        return set().union(*self.unit_ids.values()) if self.unit_ids else set()

    def all_area_paths(self, roles: AbstractSet[str] | None = None) -> set[str]:
        paths: set[str] = set()
        for role, role_paths in self.area_paths.items():
            if roles is None or role in roles:
                paths |= role_paths
        return paths

    def is_city_wide(self, roles: AbstractSet[str]) -> bool:
        return bool(self.city_wide & set(roles))


def _build_scope(user: User) -> ActorScope:
    # Read on every request: one hand-written query (core.hotpath), plain values (an area's boundary is large
    # JSON that a scope never needs).
    ra, area = hotpath.table(RoleAssignment), hotpath.table(Area)
    assignments = hotpath.fetch_all(
        f"SELECT r.{hotpath.column(RoleAssignment, 'role')}, r.{hotpath.column(RoleAssignment, 'unit')},"
        f" a.{hotpath.column(Area, 'path')} FROM {ra} r LEFT JOIN {area} a"
        f" ON a.{hotpath.column(Area, 'id')} = r.{hotpath.column(RoleAssignment, 'area')}"
        f" WHERE r.{hotpath.column(RoleAssignment, 'user')} = %s",
        [user.pk],
    )
    scope = ActorScope(user_id=user.pk, roles=frozenset(role for role, _, _ in assignments))
    for role, unit_id, area_path in assignments:
        if role == R.ADMIN:
            scope.city_wide.add(role)
        elif unit_id is not None:
            scope.unit_ids.setdefault(role, set()).add(unit_id)
            if area_path is not None:
                scope.area_paths.setdefault(role, set()).add(area_path)
        elif area_path is not None:
            scope.area_paths.setdefault(role, set()).add(area_path)
        elif role != R.CITIZEN:
            scope.city_wide.add(role)
    return scope


class _ScopeCache:
    """Per-user-object cache: the scope is read once per request (the user object lives for one request)."""

    @staticmethod
    def get(user: User) -> ActorScope:
        cached = getattr(user, "_shizhi_scope", None)
        if cached is None:
            cached = _build_scope(user)
            user._shizhi_scope = cached  # type: ignore[attr-defined]
        return cached


def actor_scope(actor: User | AnonymousUser | None) -> ActorScope:
    if actor is None or not actor.is_authenticated:
        return ActorScope(user_id=None, roles=frozenset())
    assert isinstance(actor, User)
    return _ScopeCache.get(actor)


def forget_scope(user: User) -> None:
    """Drop the cached scope after the user's roles changed."""
    if hasattr(user, "_shizhi_scope"):
        del user._shizhi_scope  # type: ignore[attr-defined]


def has_perm(actor: User | AnonymousUser | None, permission: str) -> bool:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    allowed = PERMISSIONS[permission]  # KeyError on a typo is a bug, and should fail loudly
    return bool(actor_scope(actor).roles & allowed)


def roles_with(permission: str) -> frozenset[Role]:
    return PERMISSIONS[permission]


@dataclass(frozen=True)
class RolePolicy:
    """How a role must be scoped: by a unit, by an area, by either, or city-wide only."""

    needs_unit: bool = False
    area_allowed: bool = True
    unit_allowed: bool = False


ROLE_POLICIES: dict[str, RolePolicy] = {
    R.ADMIN: RolePolicy(area_allowed=False),
    R.OPERATOR: RolePolicy(),
    R.DISPATCHER: RolePolicy(),
    R.UNIT_HANDLER: RolePolicy(needs_unit=True, unit_allowed=True),
    R.UNIT_LEADER: RolePolicy(needs_unit=True, unit_allowed=True),
    R.SUPERVISOR: RolePolicy(),
    R.GRID_WORKER: RolePolicy(),
    R.PARTY_SECRETARY: RolePolicy(),
    R.COMMITTEE_MEMBER: RolePolicy(),
    R.DATA_STEWARD: RolePolicy(needs_unit=True, unit_allowed=True),
    R.CITIZEN: RolePolicy(area_allowed=False),
}
