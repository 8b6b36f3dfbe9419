"""Scopes (数据范围): a unit's user cannot read another unit's objects, a citizen sees only their own, an
area-scoped supervisor sees only their area. Tested through the API, as users meet it."""

from typing import Any

import pytest

from shizhi.core import services
from shizhi.core.models import AuditEvent, Role, Unit, UnitContact
from shizhi.core.permissions import PERMISSIONS, has_perm
from shizhi.core.tests.factories import admin, build_world, make_user


@pytest.fixture
def world(db: Any) -> Any:
    w = build_world()
    cgj, sthj = w.units["cgj"], w.units["sthj"]
    w.users = {
        "admin": admin(),
        "h_cgj": make_user("h_cgj", (Role.UNIT_HANDLER, cgj, None), mobile="13600000001"),
        "l_cgj": make_user("l_cgj", (Role.UNIT_LEADER, cgj, None)),
        "h_sthj": make_user("h_sthj", (Role.UNIT_HANDLER, sthj, None), mobile="13600000002"),
        "l_sthj": make_user("l_sthj", (Role.UNIT_LEADER, sthj, None)),
        "citizen": make_user("citizen1", (Role.CITIZEN, None, None), mobile="13900000009"),
        "citizen2": make_user("citizen2", (Role.CITIZEN, None, None)),
        "sup_city": make_user("sup_city", (Role.SUPERVISOR, None, None)),
        "sup_county": make_user("sup_county", (Role.SUPERVISOR, None, w.area("331221000000"))),
        "committee": make_user("member1", (Role.COMMITTEE_MEMBER, None, w.area("331202001001"))),
        "grid": make_user("grid1", (Role.GRID_WORKER, None, w.area("331221101201"))),
    }
    return w


def ids(resp: Any) -> set[str]:
    assert resp.status_code == 200, resp.content
    return {u["username"] for u in resp.json()["items"]}


def test_a_unit_handler_sees_only_themself(world: Any, api_as: Any) -> None:
    api = api_as(world.users["h_cgj"])
    assert ids(api.get("/api/v1/users")) == {"h_cgj"}
    assert api.get(f"/api/v1/users/{world.users['h_sthj'].pk}").status_code == 404
    assert api.get(f"/api/v1/users/{world.users['l_cgj'].pk}").status_code == 404


def test_a_unit_leader_sees_their_unit_not_another(world: Any, api_as: Any) -> None:
    api = api_as(world.users["l_cgj"])
    assert ids(api.get("/api/v1/users")) == {"h_cgj", "l_cgj"}
    resp = api.get(f"/api/v1/users/{world.users['h_cgj'].pk}")
    assert resp.status_code == 200 and resp.json()["mobile"] == "13600000001"
    assert api.get(f"/api/v1/users/{world.users['h_sthj'].pk}").json()["code"] == "not_found"
    assert api.get(f"/api/v1/users/{world.users['citizen'].pk}").status_code == 404


def test_a_citizen_sees_only_their_own(world: Any, api_as: Any) -> None:
    api = api_as(world.users["citizen"])
    assert ids(api.get("/api/v1/users")) == {"citizen1"}
    assert api.get(f"/api/v1/users/{world.users['citizen2'].pk}").status_code == 404
    me = api.get("/api/v1/me").json()
    assert me["username"] == "citizen1" and me["mobile"] == "13900000009"
    assert [r["role"] for r in me["roles"]] == ["citizen"]
    assert "core.view_pii" not in me["permissions"] and "core.view_audit" not in me["permissions"]
    assert api.get("/api/v1/audit").json()["code"] == "permission_denied"


def test_an_area_supervisor_sees_users_and_audit_of_their_area_only(world: Any, api_as: Any) -> None:
    api = api_as(world.users["sup_county"])
    assert ids(api.get("/api/v1/users")) == {"sup_county", "grid1"}
    # Two changes, one in each district: the county supervisor reads only the county's.
    services.area_update(actor=None, area=world.area("331221101201"), population=1111)
    services.area_update(actor=None, area=world.area("331202001001"), population=2222)
    events = api.get("/api/v1/audit", {"action": "area.update"}).json()["items"]
    assert [e["object_repr"] for e in events] == ["临江南东村"]
    city_events = api_as(world.users["sup_city"]).get("/api/v1/audit", {"action": "area.update"}).json()
    assert city_events["count"] == 2


def test_unit_contacts_are_hidden_from_citizens_and_masked_without_pii_rights(
    world: Any, api_as: Any
) -> None:
    unit = world.units["cgj"]
    as_citizen = api_as(world.users["citizen"]).get(f"/api/v1/units/{unit.pk}").json()
    assert as_citizen["contacts"] is None and as_citizen["name"] == "临江市城市管理局"
    as_other_unit = api_as(world.users["h_sthj"]).get(f"/api/v1/units/{unit.pk}").json()
    assert as_other_unit["contacts"] is None
    as_member = api_as(world.users["h_cgj"]).get(f"/api/v1/units/{unit.pk}").json()
    assert as_member["contacts"][0]["mobile"] == "13812341234"
    # A committee member (no right to personal data) in the hotline's view of another unit: not shown at all;
    # a city-wide supervisor sees them in full.
    assert api_as(world.users["committee"]).get(f"/api/v1/units/{unit.pk}").json()["contacts"] is None
    assert api_as(world.users["sup_city"]).get(f"/api/v1/units/{unit.pk}").json()["contacts"][0][
        "mobile"
    ] == ("13812341234")


def test_granting_and_revoking_a_role_changes_what_the_user_may_see_at_once(world: Any, api_as: Any) -> None:
    steward = make_user("steward", (Role.DATA_STEWARD, world.units["cgj"], None))
    api = api_as(steward)
    assert ids(api.get("/api/v1/users")) == {"steward"}
    assert not has_perm(steward, "core.view_pii")
    services.role_assign(
        actor=None, user=steward, role=services.RoleIn(role=Role.UNIT_LEADER, unit=world.units["cgj"])
    )
    assert has_perm(steward, "core.view_pii")
    assert ids(api.get("/api/v1/users")) == {"steward", "h_cgj", "l_cgj"}
    services.role_revoke(actor=None, assignment=steward.role_assignments.get(role=Role.UNIT_LEADER))
    assert not has_perm(steward, "core.view_pii")
    assert ids(api.get("/api/v1/users")) == {"steward"}
    actions = list(AuditEvent.objects.filter(object_id=str(steward.pk)).values_list("action", flat=True))
    assert sorted(actions) == ["user.create", "user.role_assign", "user.role_revoke"]


def test_unit_leader_may_edit_own_unit_description_only(world: Any, api_as: Any) -> None:
    api = api_as(world.users["l_cgj"])
    cgj, sthj = world.units["cgj"], world.units["sthj"]
    resp = api.patch(
        f"/api/v1/units/{cgj.pk}",
        {"phone": "0571-12345678", "contacts": [{"name": "新联系人", "mobile": "13511112222"}]},
    )
    assert resp.status_code == 200, resp.content
    assert resp.json()["phone"] == "0571-12345678"
    assert list(UnitContact.objects.filter(unit=cgj).values_list("name", flat=True)) == ["新联系人"]
    event = AuditEvent.objects.get(action="unit.update")
    assert event.actor_label == "l_cgj" and event.changes["phone"] == ["", "0571-12345678"]
    before = list(Unit.objects.order_by("id").values())
    assert api.patch(f"/api/v1/units/{cgj.pk}", {"name": "改名"}).json()["code"] == "permission_denied"
    assert api.patch(f"/api/v1/units/{sthj.pk}", {"phone": "1"}).json()["code"] == "permission_denied"
    assert api_as(world.users["h_cgj"]).patch(f"/api/v1/units/{cgj.pk}", {"phone": "1"}).status_code == 403
    assert list(Unit.objects.order_by("id").values()) == before


def test_tokens_of_others_are_invisible(world: Any, api_as: Any) -> None:
    other = world.users["h_sthj"]
    token, _ = services.token_create(actor=other, user=other, name="theirs")
    api = api_as(world.users["h_cgj"])
    assert api.delete(f"/api/v1/me/tokens/{token.pk}").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert [t["name"] for t in api.get("/api/v1/me/tokens").json()] == ["test"]


# The permission table, as a matrix: which roles hold which core permission.
EXPECTED = {
    "core.view_audit": {Role.ADMIN, Role.SUPERVISOR},
    "core.manage_units": {Role.ADMIN},
    "core.manage_users": {Role.ADMIN},
    "core.view_pii": {
        Role.ADMIN,
        Role.OPERATOR,
        Role.DISPATCHER,
        Role.UNIT_HANDLER,
        Role.UNIT_LEADER,
        Role.SUPERVISOR,
        Role.GRID_WORKER,
    },
    "core.change_own_unit": {Role.ADMIN, Role.UNIT_LEADER},
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_permission_matrix(role: Role) -> None:
    unit = Unit.objects.create(code="u1", name="单位", kind="department")
    needs_unit = role in (Role.UNIT_HANDLER, Role.UNIT_LEADER, Role.DATA_STEWARD)
    user = make_user(f"user_{role.value}", (role, unit if needs_unit else None, None))
    for permission, roles in EXPECTED.items():
        assert has_perm(user, permission) is (role in roles), (role, permission)
    assert set(EXPECTED) <= set(PERMISSIONS)
    user.is_active = False
    assert not has_perm(user, "core.view_areas")
