"""Small, exact fixtures for core tests: a 1-city, 2-district, 4-street, 8-community, 16-grid tree whose
boundaries are axis-aligned rectangles, so that which area holds a point is known by arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shizhi.core import services
from shizhi.core.models import Area, Grid, Role, Unit, User

PASSWORD = "Pass-word-2026"
CITY = "331200000000"
URBAN_DISTRICT = "331202000000"
COUNTY = "331221000000"


def rect(lng0: float, lat0: float, lng1: float, lat1: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[lng0, lat0], [lng1, lat0], [lng1, lat1], [lng0, lat1], [lng0, lat0]]],
    }


@dataclass
class World:
    areas: dict[str, Area]
    grids: dict[str, Grid]
    units: dict[str, Unit]

    def area(self, code: str) -> Area:
        return self.areas[code]


def build_world() -> World:
    """City lng 120.0-120.4, lat 30.0-30.2. District 1 (urban) is the west half, the county the east half;
    each district has 2 streets (south, north), each street 2 communities (west, east), each community 2
    grids (south, north). Every community has 1,000 people in 400 households."""
    rows = [
        services.AreaRow(
            code=CITY,
            name="临江市",
            level=1,
            kind="市",
            urban_rural="urban",
            boundary=rect(120.0, 30.0, 120.4, 30.2),
            population=8000,
            households=3200,
        )
    ]
    grids = []
    for d, (dcode, dname, kind, ur) in enumerate(
        [(URBAN_DISTRICT, "江城区", "区", "urban"), (COUNTY, "临江县", "县", "rural")]
    ):
        x0 = 120.0 + 0.2 * d
        rows.append(
            services.AreaRow(
                code=dcode,
                name=dname,
                level=2,
                kind=kind,
                urban_rural=ur,
                parent_code=CITY,
                boundary=rect(x0, 30.0, x0 + 0.2, 30.2),
                population=4000,
                households=1600,
            )
        )
        for s in range(2):
            y0 = 30.0 + 0.1 * s
            scode = dcode[:6] + f"{(1 if ur == 'urban' else 101) + s:03d}" + "000"
            sname = f"{dname[:2]}{'南北'[s]}{'街道' if ur == 'urban' else '镇'}"
            rows.append(
                services.AreaRow(
                    code=scode,
                    name=sname,
                    level=3,
                    kind="街道" if ur == "urban" else "镇",
                    urban_rural=ur,
                    parent_code=dcode,
                    boundary=rect(x0, y0, x0 + 0.2, y0 + 0.1),
                    population=2000,
                    households=800,
                )
            )
            for c in range(2):
                cx = x0 + 0.1 * c
                ccode = scode[:9] + f"{(1 if ur == 'urban' else 201) + c:03d}"
                cname = f"{sname[:3]}{'东西'[c]}{'社区' if ur == 'urban' else '村'}"
                rows.append(
                    services.AreaRow(
                        code=ccode,
                        name=cname,
                        level=4,
                        kind="社区" if ur == "urban" else "村",
                        urban_rural=ur,
                        parent_code=scode,
                        boundary=rect(cx, y0, cx + 0.1, y0 + 0.1),
                        urban_rural_code="111" if ur == "urban" else "220",
                        population=1000,
                        households=400,
                    )
                )
                for g in range(2):
                    gy = y0 + 0.05 * g
                    grids.append(
                        services.GridRow(
                            code=f"{ccode}{g + 1:03d}",
                            name=f"{cname}第{g + 1}网格",
                            community_code=ccode,
                            boundary=rect(cx, gy, cx + 0.1, gy + 0.05),
                            population=500,
                            households=200,
                        )
                    )
    services.areas_import(actor=None, rows=rows)
    services.grids_import(actor=None, rows=grids)
    services.units_import(
        actor=None,
        rows=[
            services.UnitRow(
                code="cgj",
                name="临江市城市管理局",
                kind="department",
                area_code=CITY,
                contacts=[
                    services.ContactIn(name="王建国", title="科长", mobile="13812341234", is_primary=True)
                ],
            ),
            services.UnitRow(
                code="sthj",
                name="临江市生态环境局",
                kind="department",
                area_code=CITY,
                contacts=[services.ContactIn(name="李红梅", mobile="13900001111")],
            ),
            services.UnitRow(
                code="jcnj", name="江城区南街道办事处", kind="street_office", area_code="331202001000"
            ),
        ],
    )
    return World(
        areas={a.code: a for a in Area.objects.all()},
        grids={g.code: g for g in Grid.objects.all()},
        units={u.code: u for u in Unit.objects.all()},
    )


def make_user(username: str, *roles: tuple[str, Unit | None, Area | None], **fields: Any) -> User:
    return services.user_create(
        actor=None,
        username=username,
        password=PASSWORD,
        roles=[services.RoleIn(role=r, unit=u, area=a) for r, u, a in roles],
        **fields,
    )


def admin() -> User:
    return make_user("admin", (Role.ADMIN, None, None), display_name="管理员")
