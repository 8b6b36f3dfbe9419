"""A small, exact city for the page tests, built with the core services (no demo app).

青岚市 (city, population left 0 so that the counts sum the communities)
├── 滨江区 (区, urban)
│   └── 滨江街道 (街道)
│       ├── 江景社区  3,000 people, 1,000 households, 2 grids (one with a grid worker)
│       └── 望湖社区  2,000 people,   800 households
└── 青山县 (县, rural)
    └── 青山镇 (镇)
        ├── 青山社区    500 people,   200 households (urban)
        └── 石桥村    1,500 people,   500 households (rural), 1 grid
Totals: 2 districts, 2 streets, 4 communities (3 urban, 1 village), 3 grids, 7,000 people, 2,500 households.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from shizhi.core import services
from shizhi.core.models import Area, Grid, Role, Unit, User

PASSWORD = "Qinglan-pass-2026"

CITY = "330900000000"
DISTRICT_URBAN = "330902000000"
DISTRICT_RURAL = "330921000000"
STREET_URBAN = "330902001000"
STREET_RURAL = "330921101000"
COMMUNITY_JIANGJING = "330902001001"
COMMUNITY_WANGHU = "330902001002"
COMMUNITY_QINGSHAN = "330921101001"
VILLAGE_SHIQIAO = "330921101201"


def square(lng: float, lat: float, size: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
        ],
    }


@dataclass
class City:
    areas: dict[str, Area]
    units: dict[str, Unit]
    users: dict[str, User]
    grids: dict[str, Grid]

    def area(self, code: str) -> Area:
        return self.areas[code]


def _area(
    code: str,
    name: str,
    level: int,
    kind: str,
    ur: str,
    parent: str | None,
    box: tuple[float, float, float],
    population: int = 0,
    households: int = 0,
) -> services.AreaRow:
    return services.AreaRow(
        code=code,
        name=name,
        level=level,
        kind=kind,
        urban_rural=ur,
        parent_code=parent,
        population=population,
        households=households,
        boundary=square(*box),
        urban_rural_code="111" if ur == "urban" else "220",
    )


def _user(
    username: str,
    role: str,
    *,
    display_name: str,
    unit: Unit | None = None,
    area: Area | None = None,
    mobile: str = "",
) -> User:
    return services.user_create(
        actor=None,
        username=username,
        password=PASSWORD,
        display_name=display_name,
        mobile=mobile,
        roles=[services.RoleIn(role=role, unit=unit, area=area)],
    )


@pytest.fixture
def city(db: Any) -> City:
    services.areas_import(
        actor=None,
        rows=[
            _area(CITY, "青岚市", 1, "市", "urban", None, (120.0, 30.0, 0.4)),
            _area(DISTRICT_URBAN, "滨江区", 2, "区", "urban", CITY, (120.0, 30.0, 0.2)),
            _area(DISTRICT_RURAL, "青山县", 2, "县", "rural", CITY, (120.2, 30.0, 0.2)),
            _area(STREET_URBAN, "滨江街道", 3, "街道", "urban", DISTRICT_URBAN, (120.0, 30.0, 0.1)),
            _area(STREET_RURAL, "青山镇", 3, "镇", "rural", DISTRICT_RURAL, (120.2, 30.0, 0.1)),
            _area(
                COMMUNITY_JIANGJING,
                "江景社区",
                4,
                "社区",
                "urban",
                STREET_URBAN,
                (120.0, 30.0, 0.05),
                3000,
                1000,
            ),
            _area(
                COMMUNITY_WANGHU,
                "望湖社区",
                4,
                "社区",
                "urban",
                STREET_URBAN,
                (120.05, 30.0, 0.05),
                2000,
                800,
            ),
            _area(
                COMMUNITY_QINGSHAN,
                "青山社区",
                4,
                "社区",
                "urban",
                STREET_RURAL,
                (120.2, 30.0, 0.05),
                500,
                200,
            ),
            _area(VILLAGE_SHIQIAO, "石桥村", 4, "村", "rural", STREET_RURAL, (120.25, 30.0, 0.05), 1500, 500),
        ],
    )
    areas = {a.code: a for a in Area.objects.all()}
    services.units_import(
        actor=None,
        rows=[
            services.UnitRow(
                code="bj-cgj",
                name="滨江区城市管理局",
                kind="department",
                area_code=DISTRICT_URBAN,
                phone="0571-12345",
                responsibilities="市容环境卫生、城市道路管理",
                contacts=[
                    services.ContactIn(
                        name="王建国",
                        title="科长",
                        mobile="13812341234",
                        email="wang@example.cn",
                        is_primary=True,
                    )
                ],
            ),
            services.UnitRow(
                code="qs-zf", name="青山镇人民政府", kind="township_government", area_code=STREET_RURAL
            ),
        ],
    )
    units = {u.code: u for u in Unit.objects.all()}
    users = {
        "admin": _user("admin1", Role.ADMIN, display_name="系统管理员甲"),
        "citizen": _user("citizen1", Role.CITIZEN, display_name="市民乙", mobile="13700001111"),
        "committee": _user(
            "committee1", Role.COMMITTEE_MEMBER, display_name="议事委员丙", area=areas[COMMUNITY_JIANGJING]
        ),
        "steward": _user("steward1", Role.DATA_STEWARD, display_name="数据管理员丁", unit=units["bj-cgj"]),
        "worker": _user("worker1", Role.GRID_WORKER, display_name="张网格", area=areas[COMMUNITY_JIANGJING]),
    }
    services.grids_import(
        actor=None,
        rows=[
            services.GridRow(
                code=f"{COMMUNITY_JIANGJING}01",
                name="江景第一网格",
                community_code=COMMUNITY_JIANGJING,
                boundary=square(120.0, 30.0, 0.025),
                population=1800,
                households=600,
                grid_worker_username="worker1",
            ),
            services.GridRow(
                code=f"{COMMUNITY_JIANGJING}02",
                name="江景第二网格",
                community_code=COMMUNITY_JIANGJING,
                boundary=square(120.025, 30.0, 0.025),
                population=1200,
                households=400,
            ),
            services.GridRow(
                code=f"{VILLAGE_SHIQIAO}01",
                name="石桥村网格",
                community_code=VILLAGE_SHIQIAO,
                boundary=square(120.25, 30.0, 0.05),
                population=1500,
                households=500,
            ),
        ],
    )
    return City(areas=areas, units=units, users=users, grids={g.code: g for g in Grid.objects.all()})


@pytest.fixture
def client_for(city: City) -> Callable[[str], Client]:
    """``client_for("admin")`` -> a browser client signed in as that user of the test city."""

    def make(key: str) -> Client:
        client = Client()
        client.force_login(city.users[key])
        return client

    return make
