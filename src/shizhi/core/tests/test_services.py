import pytest

from shizhi.core import services
from shizhi.core.context import change_context
from shizhi.core.errors import Conflict, PermissionDenied, ValidationFailed
from shizhi.core.models import Area, AuditEvent, Grid, Role, RoleAssignment, User
from shizhi.core.tests.factories import CITY, admin, build_world, make_user, rect

pytestmark = pytest.mark.django_db


def test_area_import_builds_paths_geometry_and_one_audit_event() -> None:
    world = build_world()
    community = world.area("331221101201")
    assert community.path == "/331200000000/331221000000/331221101000/331221101201/"
    assert (community.min_lng, community.min_lat, community.max_lng, community.max_lat) == (
        120.2,
        30.0,
        120.3,
        30.1,
    )
    assert community.centroid_lng == pytest.approx(120.25) and community.centroid_lat == pytest.approx(30.05)
    assert Grid.objects.get(code="331221101201001").path == community.path
    assert AuditEvent.objects.filter(action="area.import").get().changes["count"] == 15


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (dict(code="33120200100", name="短码", level=4, kind="社区", urban_rural="urban"), "code"),
        (dict(code="331203001001", name="错上级", level=4, kind="社区", urban_rural="urban"), "code"),
        (dict(code="331202001009", name="错类型", level=4, kind="街道", urban_rural="urban"), "kind"),
        (dict(code="331202001009", name="", level=4, kind="社区", urban_rural="urban"), "name"),
        (
            dict(
                code="331202001009", name="负人口", level=4, kind="社区", urban_rural="urban", population=-1
            ),
            "population",
        ),
        (dict(code="331202001009", name="城乡", level=4, kind="社区", urban_rural="suburb"), "urban_rural"),
        (
            dict(
                code="331202001009",
                name="坏边界",
                level=4,
                kind="社区",
                urban_rural="urban",
                boundary={"type": "Point", "coordinates": [1, 2]},
            ),
            "boundary",
        ),
    ],
)
def test_area_import_is_all_or_nothing(row: dict, field: str) -> None:
    build_world()
    before = Area.objects.count()
    good = services.AreaRow(
        code="331202001008",
        name="好社区",
        level=4,
        kind="社区",
        urban_rural="urban",
        parent_code="331202001000",
        boundary=rect(120.0, 30.0, 120.01, 30.01),
    )
    bad = services.AreaRow(parent_code="331202001000", **row)
    with pytest.raises(ValidationFailed) as exc:
        services.areas_import(actor=None, rows=[good, bad])
    assert exc.value.details.get("field") == field
    assert Area.objects.count() == before
    assert not Area.objects.filter(code="331202001008").exists()


def test_area_import_refuses_duplicates_and_unknown_parents() -> None:
    build_world()
    with pytest.raises(Conflict):
        services.areas_import(
            actor=None, rows=[services.AreaRow(code=CITY, name="x", level=1, kind="市", urban_rural="urban")]
        )
    with pytest.raises(ValidationFailed):
        services.areas_import(
            actor=None,
            rows=[
                services.AreaRow(
                    code="331299001001",
                    name="x",
                    level=4,
                    kind="社区",
                    urban_rural="urban",
                    parent_code="331299001000",
                )
            ],
        )


def test_services_check_the_actor_permission() -> None:
    world = build_world()
    operator = make_user("oper", (Role.OPERATOR, None, None))
    with pytest.raises(PermissionDenied):
        services.area_update(actor=operator, area=world.area(CITY), population=1)
    with pytest.raises(PermissionDenied):
        services.unit_create(actor=operator, code="x", name="y", kind="department")
    with pytest.raises(PermissionDenied):
        services.user_create(actor=operator, username="abc", password=None)
    assert world.area(CITY).population == Area.objects.get(code=CITY).population


def test_the_last_admin_cannot_be_removed_or_deactivated() -> None:
    boss = admin()
    with pytest.raises(Conflict):
        services.role_revoke(actor=boss, assignment=boss.role_assignments.get())
    with pytest.raises(Conflict):
        services.user_update(actor=boss, user=boss, values={"is_active": False})
    second = make_user("admin2", (Role.ADMIN, None, None))
    services.role_revoke(actor=second, assignment=boss.role_assignments.get())
    boss.refresh_from_db()
    assert not boss.is_staff and not RoleAssignment.objects.filter(user=boss).exists()


def test_audit_events_record_actor_origin_ip_and_hide_secrets() -> None:
    boss = admin()
    with change_context(origin="web", ip="10.1.2.3"):
        user = services.user_create(
            actor=boss,
            username="zhang",
            password="Long-enough-9",
            display_name="张三",
            id_number="11010119900307123X",
            mobile="13812341234",
        )
    event = AuditEvent.objects.get(action="user.create", object_id=str(user.pk))
    assert (event.actor_label, event.origin, event.ip) == ("admin", "web", "10.1.2.3")
    assert event.changes["id_number"] == [None, "***"]
    assert event.changes["display_name"] == [None, "张三"]
    assert "Long-enough-9" not in str(event.changes)
    services.user_update(actor=user, user=user, values={"display_name": "张三丰"})
    assert AuditEvent.objects.get(action="user.update").changes == {"display_name": ["张三", "张三丰"]}
    with pytest.raises(PermissionDenied):  # a user may not change their own status
        services.user_update(actor=user, user=user, values={"is_active": False})


def test_a_change_that_changes_nothing_writes_no_audit_event() -> None:
    world = build_world()
    count = AuditEvent.objects.count()
    services.area_update(actor=None, area=world.area(CITY), population=world.area(CITY).population)
    services.unit_update(actor=None, unit=world.units["cgj"], values={"phone": ""})
    assert AuditEvent.objects.count() == count


def test_weak_passwords_are_refused_and_nothing_is_created() -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.user_create(actor=None, username="weakling", password="password")
    assert exc.value.details == {"field": "password"}
    assert not User.objects.filter(username="weakling").exists()


def test_the_same_role_cannot_be_granted_twice_even_by_the_database() -> None:
    from django.db import IntegrityError, transaction

    user = make_user("twice", (Role.SUPERVISOR, None, None))
    with pytest.raises(Conflict):
        services.role_assign(actor=None, user=user, role=services.RoleIn(role=Role.SUPERVISOR))
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role=Role.SUPERVISOR)
    assert RoleAssignment.objects.filter(user=user).count() == 1
