"""The demo city as plain data, before anything touches the database: the tree of areas with codes,
names, urban-rural classes, boundaries and populations, and the grids of every community.

Everything is drawn from one ``random.Random``, in a fixed order, so that a seed always gives the same city."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import shapely

from shizhi.core.models import AreaLevel, UrbanRural
from shizhi.core.services import AreaRow, GridRow
from shizhi.demo import geography as g
from shizhi.demo import names
from shizhi.demo.scales import CITY_CENTRE, CITY_CODE, CITY_NAME, DistrictSpec, ScaleSpec

URBAN, RURAL = UrbanRural.URBAN.value, UrbanRural.RURAL.value
# The statistics office's urban-rural classes (城乡分类代码) of communities and villages: population
# ranges (min, mode, max) for a triangular draw, and people per household.
POPULATION = {
    "111": (4500, 8600, 9000, 2.5),  # 主城区
    "112": (3000, 6000, 8000, 2.6),  # 城乡结合区
    "121": (3500, 6000, 8500, 2.6),  # 镇中心区
    "122": (1500, 2600, 3200, 2.7),  # 镇乡结合区
    "210": (1000, 1900, 2600, 2.8),  # 乡中心区
    "220": (900, 2400, 3000, 2.8),  # 村庄
}
_CODE_START = {"街道": 1, "镇": 100, "乡": 200, "社区": 1, "村": 200}


@dataclass
class GridPlan:
    code: str
    name: str
    shape: g.Shape
    population: int
    households: int


@dataclass
class Node:
    """One area of the demo city (市, 区/县, 街道/镇/乡 or 社区/村)."""

    code: str
    name: str
    level: int
    kind: str
    urban_rural: str
    urban_rural_code: str = ""
    seat: g.XY = (0.0, 0.0)  # where its government sits (the Voronoi seed of its cell)
    shape: g.Shape | None = None
    population: int = 0
    households: int = 0
    suburban: bool = False
    children: list[Node] = field(default_factory=list)
    grids: list[GridPlan] = field(default_factory=list)
    parent: Node | None = field(default=None, repr=False)

    def walk(self) -> Iterator[Node]:
        """This area and everything under it, parents first, children in code order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def level_nodes(self, level: int) -> list[Node]:
        return [n for n in self.walk() if n.level == level]

    def full_name(self) -> str:
        """The name under the city, as people write an address: 江城区东湖街道桂花社区."""
        chain: list[str] = []
        node: Node | None = self
        while node is not None and node.level > AreaLevel.CITY:
            chain.append(node.name)
            node = node.parent
        return "".join(reversed(chain))


def build_city(spec: ScaleSpec, rng: random.Random) -> Node:
    city = Node(CITY_CODE, CITY_NAME, AreaLevel.CITY, "市", URBAN, seat=CITY_CENTRE)
    city.shape = g.blob(rng, CITY_CENTRE, spec.radius_km, roughness=0.45)
    _add_districts(city, spec, rng)
    for district, district_spec in zip(city.children, spec.districts, strict=True):
        _add_streets(district, district_spec, rng)
        for street in district.children:
            _add_communities(street, spec, rng)
    for community in city.level_nodes(AreaLevel.COMMUNITY):
        _populate(community, spec, rng)
    _sum_up(city)
    return city


def _child(
    parent: Node, code: str, name: str, kind: str, urban_rural: str, urban_rural_code: str = ""
) -> Node:
    node = Node(code, name, parent.level + 1, kind, urban_rural, urban_rural_code, parent=parent)
    node.suburban = parent.suburban
    parent.children.append(node)
    return node


def _add_districts(city: Node, spec: ScaleSpec, rng: random.Random) -> None:
    """Urban districts (区) share an urban core around the centre; counties (县) the land around it."""
    assert city.shape is not None
    used: set[str] = set()
    urban = [d for d in spec.districts if d.kind == "区"]
    numbers = {"区": iter(range(2, 21)), "县": iter(range(21, 80))}
    for d in spec.districts:
        code = f"{CITY_CODE[:4]}{next(numbers[d.kind]):02d}000000"
        node = _child(
            city, code, names.district_name(rng, d.kind, used), d.kind, URBAN if d.kind == "区" else RURAL
        )
        node.suburban = d.suburban
    counties = len(spec.districts) - len(urban)
    core_centre = g.offset(CITY_CENTRE, rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5))
    core = rest = city.shape
    if urban and counties:
        blob = g.blob(rng, core_centre, spec.core_radius_km, roughness=0.3)
        core = g.polygonal(shapely.intersection(blob, city.shape, grid_size=g.GRID))
        rest = g.polygonal(shapely.difference(city.shape, core, grid_size=g.GRID))
    start = rng.uniform(0, 2 * math.pi)
    seeds: list[g.XY] = []
    for i in range(len(urban)):  # wedges meeting at the centre, which is in the first, the old town
        angle = start + 2 * math.pi * i / len(urban) + rng.uniform(-0.2, 0.2)
        seeds.append(
            g.polar(core_centre, spec.core_radius_km * (0.3 if i == 0 else rng.uniform(0.45, 0.6)), angle)
        )
    ring_km = (spec.core_radius_km + spec.radius_km) / 2
    for i in range(counties):
        angle = start + math.pi / max(1, counties) + 2 * math.pi * i / counties + rng.uniform(-0.25, 0.25)
        seeds.append(g.polar(CITY_CENTRE, ring_km * rng.uniform(0.9, 1.1), angle))
    shapes = (g.tile(core, seeds[: len(urban)]) if urban else []) + (
        g.tile(rest, seeds[len(urban) :]) if counties else []
    )
    for node, seed, shape in zip(city.children, seeds, shapes, strict=True):
        node.shape = shape
        node.seat = seed if g.contains(shape, seed) else g.inside_point(shape)


def _add_streets(district: Node, spec: DistrictSpec, rng: random.Random) -> None:
    """Streets (街道) where the people live densely, towns (镇) around them, townships (乡) farthest out."""
    assert district.shape is not None
    kinds = ["街道"] * spec.streets + ["镇"] * spec.towns + ["乡"] * spec.townships
    n = len(kinds)
    if spec.kind == "县":  # a county's streets are its seat: small, together, and held in place
        seeds = [_near(rng, district.shape, district.seat, 1.0, 3.0) for _ in range(spec.streets)]
        seeds += g.sample_points(rng, district.shape, n - spec.streets)
        seeds = g.relax(district.shape, seeds, 3, fixed=range(spec.streets))
        order = list(range(spec.streets)) + sorted(
            range(spec.streets, n), key=lambda i: (math.dist(seeds[i], district.seat), i)
        )
    else:
        seeds = g.relax(district.shape, g.sample_points(rng, district.shape, n), 3)
        order = g.nearest(seeds, CITY_CENTRE)
    shapes = g.tile(district.shape, seeds)
    used: set[str] = set()
    counters = dict(_CODE_START)
    for kind, i in zip(kinds, order, strict=True):
        code = f"{district.code[:6]}{counters[kind]:03d}000"
        counters[kind] += 1
        if kind == "街道":
            urban_rural, cls = URBAN, "112" if district.suburban else "111"
        else:
            urban_rural, cls = (URBAN, "121") if kind == "镇" else (RURAL, "210")
        node = _child(district, code, names.street_name(rng, kind, used), kind, urban_rural, cls)
        node.shape, node.seat = shapes[i], seeds[i]
    district.children.sort(key=lambda c: c.code)


def _add_communities(street: Node, spec: ScaleSpec, rng: random.Random) -> None:
    """社区 in streets and in a town's centre (held next to its seat), 村 everywhere else in towns and
    townships; the villages next to the centre are classed 镇乡结合区 (122) or 乡中心区 (210)."""
    assert street.shape is not None
    if street.kind == "街道":
        shequ, villages = rng.randint(*spec.communities_per_street), 0
    elif street.kind == "镇":
        shequ, villages = rng.randint(*spec.communities_per_town), rng.randint(*spec.villages_per_town)
    else:
        shequ, villages = 0, rng.randint(*spec.villages_per_township)
    n = shequ + villages
    if street.kind == "街道":
        seeds = g.relax(street.shape, g.sample_points(rng, street.shape, n), 2)
        order = g.nearest(seeds, street.seat)
    else:
        seeds = [_near(rng, street.shape, street.seat, 0.3, 1.0) for _ in range(shequ)]
        seeds += g.sample_points(rng, street.shape, villages)
        seeds = g.relax(street.shape, seeds, 2, fixed=range(shequ))
        order = list(range(shequ)) + sorted(
            range(shequ, n), key=lambda i: (math.dist(seeds[i], street.seat), i)
        )
    shapes = g.tile(street.shape, seeds)
    used: set[str] = set()
    counters = dict(_CODE_START)
    for rank, i in enumerate(order):
        kind = "社区" if rank < shequ else "村"
        if kind == "社区":
            cls = {"街道": "112" if street.suburban else "111", "镇": "121"}[street.kind]
        elif street.kind == "镇":
            cls = "122" if rank - shequ < 2 else "220"
        else:
            cls = "210" if rank == 0 else "220"
        code = f"{street.code[:9]}{counters[kind]:03d}"
        counters[kind] += 1
        urban_rural = URBAN if cls[0] == "1" else RURAL
        node = _child(street, code, names.community_name(rng, kind, used), kind, urban_rural, cls)
        node.shape, node.seat = shapes[i], seeds[i]
    street.children.sort(key=lambda c: c.code)


def _near(rng: random.Random, shape: g.Shape, centre: g.XY, min_km: float, max_km: float) -> g.XY:
    """A random point inside ``shape`` between ``min_km`` and ``max_km`` from ``centre``."""
    for _ in range(100):
        point = g.polar(centre, rng.uniform(min_km, max_km), rng.uniform(0, 2 * math.pi))
        if g.contains(shape, point):
            return point
    return g.sample_points(rng, shape, 1)[0]


def _populate(community: Node, spec: ScaleSpec, rng: random.Random) -> None:
    """People and households of a community, and its grids, each looking after a few hundred households."""
    assert community.shape is not None
    low, mode, high, per_household = POPULATION[community.urban_rural_code]
    community.population = round(rng.triangular(low, high, mode))
    community.households = round(community.population / (per_household * rng.uniform(0.93, 1.07)))
    target = spec.households_per_grid[0 if community.urban_rural == URBAN else 1]
    count = max(1, min(spec.max_grids_per_community, round(community.households / target)))
    seeds = g.relax(community.shape, g.sample_points(rng, community.shape, count), 1)
    shapes = g.tile(community.shape, seeds)
    weights = [rng.uniform(0.7, 1.3) for _ in range(count)]
    people = split(community.population, weights)
    homes = split(community.households, weights)
    # Numbered from north to south, then west to east, as people would count them on a map.
    order = sorted(range(count), key=lambda i: (-round(seeds[i][1], 4), round(seeds[i][0], 4), i))
    for n, i in enumerate(order, start=1):
        community.grids.append(
            GridPlan(
                code=f"{community.code}{n:03d}",
                name=names.grid_name(community.name, n),
                shape=shapes[i],
                population=people[i],
                households=homes[i],
            )
        )


def split(total: int, weights: Sequence[float]) -> list[int]:
    """Integers proportional to ``weights`` that add up to exactly ``total`` (largest remainders)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    parts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _sum_up(node: Node) -> None:
    if node.level == AreaLevel.COMMUNITY:
        return
    for child in node.children:
        _sum_up(child)
    node.population = sum(c.population for c in node.children)
    node.households = sum(c.households for c in node.children)


def area_rows(city: Node) -> list[AreaRow]:
    return [
        AreaRow(
            code=n.code,
            name=n.name,
            level=n.level,
            kind=n.kind,
            urban_rural=n.urban_rural,
            parent_code=n.parent.code if n.parent else None,
            urban_rural_code=n.urban_rural_code,
            population=n.population,
            households=n.households,
            boundary=g.to_geojson(n.shape) if n.shape is not None else None,
        )
        for n in city.walk()
    ]


def grid_rows(city: Node, worker_username: dict[str, str]) -> list[GridRow]:
    """Rows for ``grids_import``; ``worker_username`` maps a grid code to its grid worker's username."""
    return [
        GridRow(
            code=grid.code,
            name=grid.name,
            community_code=community.code,
            boundary=g.to_geojson(grid.shape),
            population=grid.population,
            households=grid.households,
            grid_worker_username=worker_username.get(grid.code),
        )
        for community in city.level_nodes(AreaLevel.COMMUNITY)
        for grid in community.grids
    ]
