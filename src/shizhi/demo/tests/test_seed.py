"""``shizhi seed demo --scale small`` in the test database: counts, roles, codes, populations, re-runs."""

from __future__ import annotations

import io
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from shizhi.core.models import (
    Area,
    AreaLevel,
    AuditEvent,
    Grid,
    Role,
    RoleAssignment,
    Unit,
    UnitContact,
    UnitKind,
    User,
)
from shizhi.demo.services import DEMO_EPOCH, DEMO_PASSWORD, demo_logins, demo_password_hash, format_logins
from shizhi.demo.tests.conftest import run_seed

pytestmark = pytest.mark.django_db
URBAN_RURAL_CODES = {"111", "112", "121", "122", "210", "220"}


def table_counts() -> dict[str, int]:
    models = (Area, Grid, Unit, UnitContact, User, RoleAssignment, AuditEvent)
    return {m.__name__: m.objects.count() for m in models}


def test_small_city_has_the_expected_counts_and_every_role(small_city: str) -> None:
    assert "已生成演示城市“临江市”" in small_city
    by_level = {level: Area.objects.filter(level=level).count() for level in AreaLevel.values}
    assert by_level == {1: 1, 2: 2, 3: 4, 4: 16}
    assert sorted(Area.objects.filter(level=2).values_list("kind", flat=True)) == ["区", "县"]
    assert 30 <= Grid.objects.count() <= 50
    # 12 units of the small city, and the departments that the 一件事 list names and the small city lacks (the
    # onething demo adds them with their handlers, see onething/demo_data.py: 20 at the small scale)
    assert Unit.objects.count() == 12 + 20
    assert set(Unit.objects.values_list("kind", flat=True)) >= {
        UnitKind.DISTRICT_GOVERNMENT,
        UnitKind.DEPARTMENT,
        UnitKind.STREET_OFFICE,
        UnitKind.TOWNSHIP_GOVERNMENT,
        UnitKind.PUBLIC_UTILITY,
        UnitKind.HOTLINE_CENTRE,
    }
    assert set(RoleAssignment.objects.values_list("role", flat=True)) == set(Role.values)
    for unit in Unit.objects.all():
        assert unit.phone and unit.address and unit.responsibilities
        assert 1 <= unit.contacts.count() <= 2
        assert all(len(c.mobile) == 11 and c.mobile[:2] in {"13", "15", "18"} for c in unit.contacts.all())
        assert {r.role for r in unit.role_assignments.all()} >= {Role.UNIT_HANDLER, Role.UNIT_LEADER}
    # Every grid has a grid worker scoped to its community; every community a party secretary.
    for grid in Grid.objects.select_related("grid_worker"):
        assert grid.grid_worker is not None
        assert grid.grid_worker.role_assignments.get().area_id == grid.community_id
    for community in Area.objects.filter(level=AreaLevel.COMMUNITY):
        assert community.role_assignments.filter(role=Role.PARTY_SECRETARY).count() == 1
    steward = RoleAssignment.objects.get(role=Role.DATA_STEWARD)
    assert steward.unit is not None and steward.unit.name == "市政务服务和数据管理局"
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser and admin.check_password(DEMO_PASSWORD)
    for user in User.objects.all():
        assert user.display_name and all("\u4e00" <= ch <= "\u9fff" for ch in user.display_name)
        assert user.date_joined == DEMO_EPOCH and user.last_login is None
    for citizen in User.objects.filter(role_assignments__role=Role.CITIZEN):
        assert len(citizen.id_number) == 18 and len(citizen.mobile) == 11
    assert set(Area.objects.values_list("created_at", flat=True)) == {DEMO_EPOCH}
    assert set(Grid.objects.values_list("updated_at", flat=True)) == {DEMO_EPOCH}


def test_rerunning_prints_a_message_and_changes_nothing(small_city: str) -> None:
    before = table_counts()
    out = run_seed("demo", "--scale", "small", "--seed", "9")
    assert "演示城市“临江市”已存在（2个区县、" in out and "未做任何改动" in out
    assert table_counts() == before


def test_a_failure_midway_leaves_nothing(db: None) -> None:
    with (
        mock.patch("shizhi.demo.services.grids_import", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        run_seed("demo", "--scale", "small")
    assert all(n == 0 for name, n in table_counts().items())


def test_unknown_dataset_or_scale_is_a_clear_error(db: None) -> None:
    with pytest.raises(CommandError, match="未知的数据集“nothing”"):
        run_seed("nothing")
    with pytest.raises(CommandError, match="没有规模“huge”"):
        run_seed("demo", "--scale", "huge")


def test_codes_nest_and_classes_fit_the_kind(small_city: str) -> None:
    areas = {a.id: a for a in Area.objects.all()}
    for a in areas.values():
        assert len(a.code) == 12 and a.code.startswith("3312")
        if a.level == AreaLevel.CITY:
            assert a.code == "331200000000"
            continue
        parent = areas[a.parent_id]
        assert a.path == f"{parent.path}{a.code}/"
        if a.level == AreaLevel.DISTRICT:
            assert a.code[6:] == "000000" and (
                2 <= int(a.code[4:6]) <= 19 if a.kind == "区" else int(a.code[4:6]) >= 21
            )
            assert a.urban_rural == ("urban" if a.kind == "区" else "rural")
        elif a.level == AreaLevel.STREET:
            assert a.code[:6] == parent.code[:6] and a.code[9:] == "000"
            low, high = {"街道": (1, 99), "镇": (100, 199), "乡": (200, 299)}[a.kind]
            assert low <= int(a.code[6:9]) <= high
        else:
            assert a.code[:9] == parent.code[:9]
            low, high = {"社区": (1, 199), "村": (200, 399)}[a.kind]
            assert low <= int(a.code[9:]) <= high
            assert a.urban_rural_code in URBAN_RURAL_CODES
            assert a.urban_rural == ("urban" if a.urban_rural_code[0] == "1" else "rural")
    for grid in Grid.objects.select_related("community"):
        assert grid.code.startswith(grid.community.code) and grid.name.startswith(grid.community.name)
        assert grid.path == grid.community.path


def test_populations_add_up(small_city: str) -> None:
    for area in Area.objects.all():
        children = list(area.children.all()) if area.level < AreaLevel.COMMUNITY else list(area.grids.all())
        assert area.population == sum(c.population for c in children) > 0
        assert area.households == sum(c.households for c in children) > 0
    for c in Area.objects.filter(level=AreaLevel.COMMUNITY):
        low, high = (3000, 9000) if c.kind == "社区" else (800, 3200)
        assert low <= c.population <= high


def test_demo_logins_show_one_login_per_role(small_city: str) -> None:
    logins = demo_logins()
    assert {x.role for x in logins} == set(Role.values)
    by_name = {x.username: x for x in logins}
    assert [x.username for x in logins][:4] == ["admin", "operator1", "dispatcher1", "h-dept-cgj"]
    assert by_name["admin"].scope == "全市" and by_name["admin"].role_label == "系统管理员"
    assert by_name["supervisor2"].scope == Area.objects.get(code="331202000000").name
    assert by_name["steward1"].scope == "市政务服务和数据管理局"
    grid_worker = next(x for x in logins if x.role == Role.GRID_WORKER)
    assert grid_worker.scope.startswith("江城区") and grid_worker.scope.endswith("社区")
    table = format_logins(logins)
    assert "shizhi-demo" in table and "督办员" in table and table in small_city
    # Someone who changed the demo password is no longer listed.
    admin = User.objects.get(username="admin")
    admin.set_password("another-secret-1")
    admin.save()
    assert "admin" not in {x.username for x in demo_logins()}


def test_signing_in_keeps_the_demo_password_hash(small_city: str, client: Client) -> None:
    # Django re-hashes a password at sign-in when its salt is too short; the demo's must not be.
    assert client.login(username="admin", password=DEMO_PASSWORD)
    assert User.objects.get(username="admin").password == demo_password_hash()
    assert "admin" in {x.username for x in demo_logins()}


def test_demo_command_migrates_seeds_and_prints_the_logins(db: None) -> None:
    out = io.StringIO()
    call_command("demo", "--scale", "small", "--no-serve", stdout=out)
    assert "已生成演示城市“临江市”" in out.getvalue() and "supervisor1" in out.getvalue()
    assert Area.objects.filter(level=AreaLevel.COMMUNITY).count() == 16
