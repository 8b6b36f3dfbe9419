"""How big the demo city is: ``city`` for demonstrations (about 3 million people in 3,000 grids) and
``small`` for tests (a district and a county, 16 communities, about 40 grids)."""

from __future__ import annotations

from dataclasses import dataclass

CITY_CODE = "331200000000"
CITY_NAME = "临江市"
CITY_CENTRE = (119.6, 29.9)


@dataclass(frozen=True)
class DistrictSpec:
    kind: str  # 区 (urban district) or 县 (county)
    streets: int  # 街道: the urban streets of a district, or a county's seat
    towns: int = 0  # 镇
    townships: int = 0  # 乡
    suburban: bool = False  # a district on the edge of the city (城乡结合区), with towns as well as streets


@dataclass(frozen=True)
class ScaleSpec:
    name: str
    radius_km: float  # the city outline's mean radius
    core_radius_km: float  # the urban core that the 区 share; the 县 share the rest
    districts: tuple[DistrictSpec, ...]
    communities_per_street: tuple[int, int]  # 社区 in an urban street (街道)
    communities_per_town: tuple[int, int]  # 社区 in a town's centre (镇中心区)
    villages_per_town: tuple[int, int]
    villages_per_township: tuple[int, int]
    households_per_grid: tuple[int, int]  # (urban, rural): a grid worker looks after about this many
    max_grids_per_community: int
    departments: int  # city departments (职能部门)
    utilities: int  # public utilities (公共服务企业)
    social_organisations: int
    operators: int
    dispatchers: int
    citizens: int
    committee_every: int  # two committee members (议事委员) in every n-th community


SCALES: dict[str, ScaleSpec] = {
    "city": ScaleSpec(
        name="city",
        radius_km=34,
        core_radius_km=13,
        districts=(
            DistrictSpec("区", streets=8),
            DistrictSpec("区", streets=8),
            DistrictSpec("区", streets=5, towns=3, suburban=True),
            DistrictSpec("县", streets=2, towns=7, townships=3),
            DistrictSpec("县", streets=2, towns=6, townships=4),
            DistrictSpec("县", streets=1, towns=8, townships=3),
        ),
        communities_per_street=(9, 14),
        communities_per_town=(1, 2),
        villages_per_town=(7, 12),
        villages_per_township=(4, 8),
        households_per_grid=(370, 280),
        max_grids_per_community=12,
        departments=18,
        utilities=5,
        social_organisations=3,
        operators=8,
        dispatchers=4,
        citizens=5,
        committee_every=5,
    ),
    "small": ScaleSpec(
        name="small",
        radius_km=14,
        core_radius_km=6,
        districts=(DistrictSpec("区", streets=2), DistrictSpec("县", streets=0, towns=1, townships=1)),
        communities_per_street=(5, 5),
        communities_per_town=(1, 1),
        villages_per_town=(3, 3),
        villages_per_township=(2, 2),
        households_per_grid=(900, 600),
        max_grids_per_community=4,
        departments=3,
        utilities=1,
        social_organisations=1,
        operators=2,
        dispatchers=1,
        citizens=3,
        committee_every=4,
    ),
}
