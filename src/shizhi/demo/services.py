"""Seed the demo city 临江市 through the core services, and list its demo logins.

The city is first built as plain data from one seeded ``random.Random`` (:mod:`shizhi.demo.city`), then
written in one transaction by ``areas_import``, ``units_import``, ``users_import`` and ``grids_import``, as the
system (``actor=None``). Timestamps are pinned to :data:`DEMO_EPOCH` and every password is one precomputed
hash, so the same seed and scale give identical rows (only the audit events record the real time)."""

from __future__ import annotations

import datetime as dt
import functools
import random
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Min

from shizhi.core.models import Area, AreaLevel, Grid, Role, RoleAssignment, Unit, UnitContact, User
from shizhi.core.services import RoleIn, areas_import, grids_import, units_import, users_import
from shizhi.demo.city import area_rows, build_city, grid_rows
from shizhi.demo.people import Person, people
from shizhi.demo.scales import CITY_CODE, CITY_NAME, SCALES
from shizhi.demo.units import unit_rows

DEMO_PASSWORD = "shizhi-demo"
DEMO_EPOCH = dt.datetime(2025, 1, 1, 1, 0, tzinfo=dt.UTC)  # 2025-01-01 09:00 in Beijing
# Fixed on purpose (the same hash in every run), and long enough (>= 128 bits) that Django does not re-hash
# the password with a fresh salt at the first sign-in, which would drop the user from demo_logins().
_DEMO_SALT = "shizhiDemoCityLinjiang2025"


@functools.cache
def demo_password_hash() -> str:
    """The hash of :data:`DEMO_PASSWORD`, computed once (hashing is deliberately slow) with a fixed salt."""
    return make_password(DEMO_PASSWORD, salt=_DEMO_SALT)


@dataclass
class SeedReport:
    created: bool
    message: str
    counts: dict[str, int] = field(default_factory=dict)
    population: int = 0
    households: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.created:
            return self.message
        c = self.counts
        return "\n".join(
            [
                self.message,
                f"  区县 {c['districts']} 个，街道/乡镇 {c['streets']} 个，社区/村 {c['communities']} 个，网格 {c['grids']} 个",
                f"  常住人口 {self.population:,} 人，{self.households:,} 户",
                f"  承办单位 {c['units']} 个（联系人 {c['contacts']} 名），用户 {c['users']} 名（角色授权 {c['roles']} 条）",
                f"  用时 {self.seconds:.1f} 秒",
            ]
        )


def city_counts(city: Area) -> dict[str, int]:
    under = Area.objects.filter(path__startswith=city.path)
    return {
        "districts": under.filter(level=AreaLevel.DISTRICT).count(),
        "streets": under.filter(level=AreaLevel.STREET).count(),
        "communities": under.filter(level=AreaLevel.COMMUNITY).count(),
        "grids": Grid.objects.filter(path__startswith=city.path).count(),
    }


def _users(
    persons: Sequence[Person], areas: dict[str, Area], units: dict[str, Unit], password: str
) -> list[tuple[User, list[RoleIn]]]:
    """Unsaved users with the demo password's hash, and their roles with the scopes resolved to rows."""
    result = []
    for p in persons:
        user = User(
            username=p.username,
            display_name=p.display_name,
            mobile=p.mobile,
            id_number=p.id_number,
            password=password,
            date_joined=DEMO_EPOCH,
        )
        roles = [
            RoleIn(
                role=grant.role,
                unit=units[grant.unit_code] if grant.unit_code else None,
                area=areas[grant.area_code] if grant.area_code else None,
            )
            for grant in p.grants
        ]
        result.append((user, roles))
    return result


def seed_demo(*, scale: str = "city", seed: int = 1) -> SeedReport:
    """Create the demo city, or do nothing if it exists. All or nothing: one transaction."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    spec = SCALES[scale]
    started = time.perf_counter()
    with transaction.atomic():
        existing = Area.objects.filter(code=CITY_CODE).first()
        if existing is not None:
            c = city_counts(existing)
            return SeedReport(
                created=False,
                message=f"演示城市“{existing.name}”已存在（{c['districts']}个区县、{c['grids']}个网格），未做任何改动。",
                counts=c,
                population=existing.population,
                households=existing.households,
            )
        rng = random.Random(seed)
        city = build_city(spec, rng)
        mobiles: set[str] = set()
        units = unit_rows(spec, city, rng, mobiles)
        persons = people(spec, city, units, rng, mobiles)
        password = demo_password_hash()
        # Fixed timestamps make the rows reproducible; audit events still record the real time of seeding.
        areas_import(actor=None, rows=area_rows(city), now=DEMO_EPOCH)
        units_import(actor=None, rows=units, now=DEMO_EPOCH)
        areas = {a.code: a for a in Area.objects.filter(path__startswith=f"/{CITY_CODE}/")}
        unit_by_code = {u.code: u for u in Unit.objects.filter(code__in=[r.code for r in units])}
        users_import(actor=None, users=_users(persons, areas, unit_by_code, password))
        workers = {p.grid_code: p.username for p in persons if p.grid_code}
        grids_import(actor=None, rows=grid_rows(city, workers), now=DEMO_EPOCH)
        counts = {
            **city_counts(areas[CITY_CODE]),
            "units": len(units),
            "contacts": UnitContact.objects.filter(unit__code__in=unit_by_code).count(),
            "users": len(persons),
            "roles": sum(len(p.grants) for p in persons),
        }
    return SeedReport(
        created=True,
        message=f"已生成演示城市“{CITY_NAME}”（规模 {scale}，随机种子 {seed}）：",
        counts=counts,
        population=city.population,
        households=city.households,
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------------------------------------------
# Demo logins
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: str
    role_label: str
    scope: str  # 全市, a unit's name, or an area's full name
    password: str = DEMO_PASSWORD


def demo_logins() -> list[DemoLogin]:
    """One demo login per role, two where a role is held both city-wide and for an area (a city supervisor
    and a district supervisor); the first such user of each. Only active users who still have the demo
    password are listed, so a real installation that never seeded the demo gets an empty list."""
    holders = RoleAssignment.objects.filter(user__password=demo_password_hash(), user__is_active=True)
    first_ids: list[int] = []
    for area_scoped in (False, True):
        firsts = holders.filter(area__isnull=not area_scoped).values("role").annotate(first=Min("id"))
        first_ids += [row["first"] for row in firsts]
    order = {role: i for i, role in enumerate(Role.values)}
    chosen = sorted(
        RoleAssignment.objects.filter(id__in=first_ids).select_related("user", "unit", "area"),
        key=lambda a: (order[a.role], a.area_id is not None, a.id),
    )
    # Paths hold codes: name every ancestor under the city in one query, for scopes like 江城区东湖街道.
    codes = {code for a in chosen if a.area for code in a.area.path.strip("/").split("/")[1:]}
    names = dict(Area.objects.filter(code__in=codes).values_list("code", "name"))
    logins = []
    for a in chosen:
        if a.unit is not None:
            scope = a.unit.name
        elif a.area is not None:
            scope = "".join(names[code] for code in a.area.path.strip("/").split("/")[1:]) or a.area.name
        else:
            scope = "本人" if a.role == Role.CITIZEN else "全市"
        logins.append(DemoLogin(a.user.username, a.user.display_name, a.role, str(Role(a.role).label), scope))
    return logins


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def format_logins(logins: Sequence[DemoLogin]) -> str:
    """The logins as an aligned text table (Chinese characters count as two columns)."""
    if not logins:
        return "（没有演示账号）"
    header = ("用户名", "角色", "姓名", "范围")
    rows = [header, *((x.username, x.role_label, x.display_name, x.scope) for x in logins)]
    widths = [max(_width(r[i]) for r in rows) for i in range(3)]
    lines = [f"演示账号（密码均为 {DEMO_PASSWORD}）："]
    for r in rows:
        lines.append("  " + "  ".join(_pad(r[i], widths[i]) for i in range(3)) + "  " + r[3])
    return "\n".join(lines)
