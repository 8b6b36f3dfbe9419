"""Hotline test fixtures: the core test city, a small taxonomy, a dispatch catalogue, and staff for each role."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from shizhi.core import services as core_services
from shizhi.core.models import Role, Unit, User
from shizhi.core.tests.factories import World, build_world, make_user
from shizhi.hotline import services
from shizhi.hotline.models import Case, Category, SlaKind

# A point in 江城区 南街道 西社区 (see core factories): lng 120.05, lat 30.02
IN_URBAN = (120.05, 30.02)
IN_COUNTY = (120.35, 30.18)


@dataclass
class HotlineWorld:
    world: World
    categories: dict[str, Category]
    units: dict[str, Unit]
    users: dict[str, User] = field(default_factory=dict)


def build_hotline_world() -> HotlineWorld:
    world = build_world()
    core_services.units_import(
        actor=None,
        rows=[
            core_services.UnitRow(
                code="jcq", name="江城区人民政府", kind="district_government", area_code="331202000000"
            ),
            core_services.UnitRow(
                code="ljx", name="临江县人民政府", kind="district_government", area_code="331221000000"
            ),
            core_services.UnitRow(
                code="water", name="临江市自来水有限公司", kind="public_utility", area_code="331200000000"
            ),
        ],
    )
    services.categories_import(
        actor=None,
        rows=[
            services.CategoryRow(code="CX", name="城乡建设"),
            services.CategoryRow(code="CX01", name="市政设施", parent_code="CX"),
            services.CategoryRow(code="CX0101", name="路灯", parent_code="CX01"),
            services.CategoryRow(code="CX0102", name="供水", parent_code="CX01", sla_kind=SlaKind.UTILITY),
            services.CategoryRow(code="HJ", name="环境保护"),
            services.CategoryRow(code="HJ01", name="噪声污染", parent_code="HJ"),
            services.CategoryRow(code="ZC", name="政策咨询"),
        ],
    )
    categories = {c.code: c for c in Category.objects.all()}
    units = {u.code: u for u in Unit.objects.all()}
    services.dispatch_rule_create(actor=None, category=categories["CX01"], unit=units["cgj"])
    services.dispatch_rule_create(actor=None, category=categories["CX0102"], unit=units["water"])
    services.dispatch_rule_create(actor=None, category=categories["HJ"], unit=units["sthj"])
    services.dispatch_rule_create(
        actor=None, category=categories["HJ01"], area=world.area("331202000000"), to_street=True
    )
    hw = HotlineWorld(world=world, categories=categories, units=units)
    hw.users = {
        "admin": make_user("admin", (Role.ADMIN, None, None)),
        "operator": make_user("operator", (Role.OPERATOR, None, None)),
        "dispatcher": make_user("dispatcher", (Role.DISPATCHER, None, None)),
        "supervisor": make_user("supervisor", (Role.SUPERVISOR, None, None)),
        "h_cgj": make_user("h_cgj", (Role.UNIT_HANDLER, units["cgj"], None)),
        "l_cgj": make_user("l_cgj", (Role.UNIT_LEADER, units["cgj"], None)),
        "h_sthj": make_user("h_sthj", (Role.UNIT_HANDLER, units["sthj"], None)),
        "h_street": make_user("h_street", (Role.UNIT_HANDLER, units["jcnj"], None)),
        "grid": make_user("grid1", (Role.GRID_WORKER, None, world.area("331202001001"))),
        "citizen": make_user("citizen1", (Role.CITIZEN, None, None), mobile="13900000009"),
        "steward": make_user("steward", (Role.DATA_STEWARD, units["cgj"], None)),
        "member": make_user("member", (Role.COMMITTEE_MEMBER, None, world.area("331202001001"))),
    }
    return hw


_PHONES = itertools.count(12341234)


def new_case(
    hw: HotlineWorld,
    *,
    category: str = "CX0101",
    actor: str | None = "operator",
    at: Any = IN_URBAN,
    **over: Any,
) -> Case:
    data = services.CaseIn(
        channel=over.pop("channel", "phone"),
        demand_type=over.pop("demand_type", "complaint"),
        category=hw.categories[category],
        title=over.pop("title", "路灯不亮"),
        content=over.pop("content", "幸福路12号门口的路灯已经坏了一周，晚上很黑，请尽快修理。"),
        citizen_name=over.pop("citizen_name", "张三"),
        # A new phone number each time, so that the duplicate-submission guard never mistakes two test cases.
        citizen_phone=over.pop("citizen_phone", f"138{next(_PHONES):08d}"),
        address=over.pop("address", "幸福路12号"),
        lng=at[0] if at else None,
        lat=at[1] if at else None,
        **over,
    )
    return services.case_create(actor=hw.users[actor] if actor else None, data=data)
