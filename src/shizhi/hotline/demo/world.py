"""The demo city as the year's planner sees it: grids with their areas, units with their handlers and reply
contacts, staff by role, the categories, knowledge-base answers and (optionally) real messages by topic;
loaded once, so that planning 50,000 cases needs no queries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from shizhi.core.models import Area, Grid, Role, RoleAssignment, Unit, UnitContact, UnitKind
from shizhi.demo.scales import CITY_CODE
from shizhi.hotline.demo.steps import Actor
from shizhi.hotline.demo.topic import STREET, Topic
from shizhi.hotline.models import Category


@dataclass
class Spot:
    """A grid where cases happen, with its areas' ids and names."""

    id: int
    community_id: int
    street_id: int
    district_id: int
    area_path: str
    population: int
    rural: bool
    county: bool
    ring: list[tuple[float, float]]
    center: tuple[float, float]
    names: tuple[str, str, str]  # district, street, community
    worker: Actor | None


@dataclass
class UnitInfo:
    id: int
    name: str
    phone: str
    contact: str
    handlers: list[Actor]


@dataclass
class World:
    spots: list[Spot]
    units: dict[str, UnitInfo]
    street_units: dict[int, UnitInfo]
    district_units: dict[int, UnitInfo]
    categories: dict[tuple[str, ...], tuple[int, str, str]]  # path -> (id, category_path, sla_kind)
    operators: list[Actor]
    dispatchers: list[Actor]
    citizens: list[tuple[int, str, str]]  # id, name, mobile
    articles: dict[tuple[str, ...], list[tuple[int, str]]]  # topic path -> (article id, answer)
    pools: dict[tuple[str, ...], list[tuple[str, str]]] = field(default_factory=dict)  # real messages


def rule_unit(world: World, topic: Topic, spot: Spot) -> UnitInfo | None:
    """The unit the dispatch catalogue names (see ``demo_data._dispatch_rules``; no rule: the district)."""
    if not topic.to:
        return None
    if topic.county_to_government and spot.county:
        return world.district_units.get(spot.district_id)
    if topic.to == STREET:
        return world.street_units.get(spot.street_id)
    return world.units.get(topic.to) or world.district_units.get(spot.district_id)


def _ring(boundary: object) -> list[tuple[float, float]]:
    geometry = json.loads(boundary) if isinstance(boundary, str) else boundary
    if not isinstance(geometry, dict):
        return []
    coords = geometry.get("coordinates") or []
    ring = coords[0] if geometry.get("type") == "Polygon" else (coords[0][0] if coords else [])
    return [(float(x), float(y)) for x, y, *_ in ring]


def load_world(
    categories: dict[tuple[str, ...], Category],
    articles: dict[tuple[str, ...], list[tuple[int, str]]],
    pools: dict[tuple[str, ...], list[tuple[str, str]]],
) -> World:
    areas = {a.pk: a for a in Area.objects.filter(path__startswith=f"/{CITY_CODE}/")}
    handlers: dict[int, list[tuple[int | None, str]]] = {}
    people: dict[str, list[tuple[int | None, str]]] = {}
    citizens = []
    for ra in RoleAssignment.objects.select_related("user").order_by("id"):
        actor = (ra.user_id, ra.user.display_name or ra.user.username)
        if ra.role == Role.UNIT_HANDLER and ra.unit_id:
            handlers.setdefault(ra.unit_id, []).append(actor)
        people.setdefault(ra.role, []).append(actor)
        if ra.role == Role.CITIZEN and ra.user.mobile:
            citizens.append((ra.user_id, ra.user.display_name or ra.user.username, ra.user.mobile))
    contacts: dict[int, str] = {}
    for c in UnitContact.objects.order_by("unit_id", "is_primary", "id"):
        contacts.setdefault(c.unit_id, f"{c.name}（{c.title}）" if c.title else c.name)
    units: dict[str, UnitInfo] = {}
    streets: dict[int, UnitInfo] = {}
    districts: dict[int, UnitInfo] = {}
    for u in Unit.objects.filter(is_active=True).order_by("id"):
        info = UnitInfo(u.pk, u.name, u.phone, contacts.get(u.pk, "办公室"), handlers.get(u.pk, []))
        units[u.code] = info
        if u.kind in (UnitKind.STREET_OFFICE, UnitKind.TOWNSHIP_GOVERNMENT) and u.area_id:
            streets.setdefault(u.area_id, info)
        if u.kind == UnitKind.DISTRICT_GOVERNMENT and u.area_id:
            districts.setdefault(u.area_id, info)
    spots = []
    for g in (
        Grid.objects.filter(path__startswith=f"/{CITY_CODE}/").select_related("grid_worker").order_by("code")
    ):
        community = areas[g.community_id]
        street = areas[community.parent_id or 0]
        district = areas[street.parent_id or 0]
        ring = _ring(g.boundary)
        center = (
            g.centroid_lng or community.centroid_lng or 0.0,
            g.centroid_lat or community.centroid_lat or 0.0,
        )
        worker = (g.grid_worker_id, g.grid_worker.display_name) if g.grid_worker else None
        spots.append(
            Spot(
                g.pk,
                community.pk,
                street.pk,
                district.pk,
                community.path,
                g.population,
                community.urban_rural == "rural",
                district.kind == "县",
                ring or [center],
                center,
                (district.name, street.name, community.name),
                worker,
            )
        )
    return World(
        spots=spots,
        units=units,
        street_units=streets,
        district_units=districts,
        categories={p: (c.pk, c.path, c.sla_kind) for p, c in categories.items()},
        operators=people.get(Role.OPERATOR, []),
        dispatchers=people.get(Role.DISPATCHER, []),
        citizens=citizens,
        articles=articles,
        pools=pools,
    )
