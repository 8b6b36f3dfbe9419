"""The demo city's users: fixed demo logins for every role, a handler and a leader for every unit, a grid
worker for every grid, a party secretary for every community, some committee members and a few citizens."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from shizhi.core.models import AreaLevel, Role
from shizhi.core.services import UnitRow
from shizhi.demo import names
from shizhi.demo.city import Node
from shizhi.demo.scales import ScaleSpec
from shizhi.demo.units import DATA_BUREAU_CODE, mobile

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class Grant:
    """A role with its scope, by code: a unit's code, an area's code, or neither (the whole city)."""

    role: str
    unit_code: str | None = None
    area_code: str | None = None


@dataclass
class Person:
    username: str
    display_name: str
    grants: list[Grant] = field(default_factory=list)
    mobile: str = ""
    id_number: str = ""
    grid_code: str | None = None  # the grid this grid worker looks after


def id_check_digit(first17: str) -> str:
    """The check digit of an 18-digit resident identity number (GB 11643, ISO 7064 MOD 11-2)."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number(rng: random.Random, region: str, female: bool) -> str:
    """A well-formed identity number: region, birth date, sequence (odd for men, even for women), check."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 54))
    sequence = rng.randrange(0, 999, 2) + (0 if female else 1)
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_check_digit(first17)


def people(
    spec: ScaleSpec, city: Node, units: list[UnitRow], rng: random.Random, mobiles: set[str]
) -> list[Person]:
    """Everyone, in a fixed order (which fixes their ids in a fresh database)."""
    result: list[Person] = []

    def add(username: str, *grants: Grant, display_name: str = "", phone: str = "") -> Person:
        person = Person(
            username, display_name or names.person_name(rng), list(grants), phone or mobile(rng, mobiles)
        )
        result.append(person)
        return person

    first_district = city.children[0]
    add("admin", Grant(Role.ADMIN))
    for i in range(1, spec.operators + 1):
        add(f"operator{i}", Grant(Role.OPERATOR))
    for i in range(1, spec.dispatchers + 1):
        add(f"dispatcher{i}", Grant(Role.DISPATCHER))
    add("supervisor1", Grant(Role.SUPERVISOR))
    add("supervisor2", Grant(Role.SUPERVISOR, area_code=first_district.code))
    add("steward1", Grant(Role.DATA_STEWARD, unit_code=DATA_BUREAU_CODE))
    for unit in units:
        # The unit's contacts are its leader (the primary contact) and, where there is one, its handler.
        leader, *others = unit.contacts
        add(
            f"h-{unit.code}",
            Grant(Role.UNIT_HANDLER, unit_code=unit.code),
            display_name=others[0].name if others else "",
            phone=others[0].mobile if others else "",
        )
        add(
            f"l-{unit.code}",
            Grant(Role.UNIT_LEADER, unit_code=unit.code),
            display_name=leader.name,
            phone=leader.mobile,
        )
    communities = city.level_nodes(AreaLevel.COMMUNITY)
    for n, community in enumerate(communities):
        add(f"ps-{community.code}", Grant(Role.PARTY_SECRETARY, area_code=community.code))
        if n % spec.committee_every == 0:
            for k in (1, 2):
                add(f"cm-{community.code}-{k}", Grant(Role.COMMITTEE_MEMBER, area_code=community.code))
    for community in communities:
        for grid in community.grids:
            add(f"gw-{grid.code}", Grant(Role.GRID_WORKER, area_code=community.code)).grid_code = grid.code
    districts = city.children
    for i in range(1, spec.citizens + 1):
        female = rng.random() < 0.5
        person = add(f"citizen{i}", Grant(Role.CITIZEN), display_name=names.person_name(rng, female))
        person.id_number = id_number(rng, rng.choice(districts).code[:6], female)
    return result
