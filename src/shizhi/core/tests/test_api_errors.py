"""Bad input to every route: the right status, the error JSON, and nothing changed."""

from typing import Any

import pytest
from django.test import Client

from shizhi.core.models import ApiToken, Area, AuditEvent, Role, RoleAssignment, Unit, UnitContact, User
from shizhi.core.tests.factories import CITY as CITY_CODE
from shizhi.core.tests.factories import admin, build_world, make_user

GET_ROUTES = [
    "/api/v1/me",
    "/api/v1/me/tokens",
    "/api/v1/areas",
    "/api/v1/areas/tree",
    "/api/v1/areas/locate?lng=120.05&lat=30.02",
    "/api/v1/areas/1",
    "/api/v1/areas/1/geojson",
    "/api/v1/grids",
    "/api/v1/units",
    "/api/v1/units/1",
    "/api/v1/users",
    "/api/v1/users/1",
    "/api/v1/audit",
    "/api/v1/calendar/2026/2",
    "/api/v1/calendar/deadline?working_days=3",
]


def state() -> dict[str, Any]:
    """Everything a refused request must leave untouched."""
    return {
        "units": list(Unit.objects.order_by("id").values()),
        "contacts": list(UnitContact.objects.order_by("id").values()),
        "areas": list(Area.objects.order_by("id").values("id", "name", "population", "boundary")),
        "users": list(
            User.objects.order_by("id").values("id", "username", "display_name", "mobile", "is_active")
        ),
        "roles": list(RoleAssignment.objects.order_by("id").values()),
        "tokens": list(ApiToken.objects.order_by("id").values("id", "revoked_at")),
        "audit": AuditEvent.objects.count(),
    }


def assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.content
    assert resp["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    return body


@pytest.fixture
def world(db: Any) -> Any:
    return build_world()


@pytest.mark.parametrize("path", GET_ROUTES)
def test_every_route_needs_authentication(world: Any, anon: Any, path: str) -> None:
    assert_error(anon.get(path), 401, "not_authenticated")


@pytest.mark.parametrize("path", GET_ROUTES)
def test_a_bad_token_is_refused(world: Any, path: str) -> None:
    from shizhi.conftest import JsonClient

    assert_error(JsonClient(token="shz_not-a-real-token").get(path), 401, "not_authenticated")


@pytest.mark.django_db
def test_revoked_and_expired_tokens_are_refused(api_as: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    from shizhi.conftest import JsonClient
    from shizhi.core import services

    user = make_user("user1", (Role.OPERATOR, None, None))
    token, raw = services.token_create(actor=user, user=user, name="t")
    assert JsonClient(token=raw).get("/api/v1/me").status_code == 200
    services.token_revoke(actor=user, token=token)
    assert_error(JsonClient(token=raw).get("/api/v1/me"), 401, "not_authenticated")
    token2, raw2 = services.token_create(actor=user, user=user, name="t2")
    ApiToken.objects.filter(pk=token2.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_error(JsonClient(token=raw2).get("/api/v1/me"), 401, "not_authenticated")


def test_not_found(world: Any, api_as: Any) -> None:
    api = api_as(admin())
    assert_error(api.get("/api/v1/areas/999999"), 404, "not_found")
    assert_error(api.get("/api/v1/units/999999"), 404, "not_found")
    assert_error(api.get("/api/v1/users/999999"), 404, "not_found")
    assert_error(api.get("/api/v1/no-such-route"), 404, "not_found")
    assert_error(api.delete("/api/v1/me/tokens/999999"), 404, "not_found")


def test_method_not_allowed_has_the_error_shape(world: Any, api_as: Any) -> None:
    api = api_as(admin())
    before = state()
    assert_error(api.delete("/api/v1/units"), 405, "method_not_allowed")
    assert state() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/areas?level=9",
        "/api/v1/areas?limit=0",
        "/api/v1/areas?limit=100000",
        "/api/v1/areas?offset=-1",
        "/api/v1/areas?format=kml",
        "/api/v1/areas/locate?lng=200&lat=30",
        "/api/v1/areas/locate?lng=abc&lat=30",
        "/api/v1/areas/locate?lat=30",
        "/api/v1/areas/1/geojson?include=everything",
        "/api/v1/areas/tree?max_level=7",
        "/api/v1/calendar/2026/13",
        "/api/v1/calendar/deadline",
        "/api/v1/calendar/deadline?working_days=2&hours=3",
        "/api/v1/calendar/deadline?working_days=-1",
        "/api/v1/units?limit=x",
    ],
)
def test_bad_query_parameters(world: Any, api_as: Any, path: str) -> None:
    body = assert_error(api_as(admin()).get(path), 422, "validation_failed")
    assert body["message"].startswith(("请求数据不合法", "层级", "年份", "working_days", "include"))


class TestUnitWrites:
    def good(self, **over: Any) -> dict[str, Any]:
        return {"code": "swj", "name": "临江市水务局", "kind": "department", **over}

    def test_create_works(self, world: Any, api_as: Any) -> None:
        api = api_as(admin())
        resp = api.post("/api/v1/units", self.good(contacts=[{"name": "赵六", "mobile": "13700001234"}]))
        assert resp.status_code == 201, resp.content
        body = resp.json()
        assert body["name"] == "临江市水务局" and body["contacts"][0]["mobile"] == "13700001234"
        event = AuditEvent.objects.get(action="unit.create")
        assert event.object_id == str(body["id"]) and event.origin == "api" and event.ip == "127.0.0.1"
        assert event.changes["name"] == [None, "临江市水务局"]

    @pytest.mark.parametrize(
        ("payload", "status", "code"),
        [
            ("{not json", 400, "bad_request"),
            ([1, 2], 422, "validation_failed"),
            ({"name": "临江市水务局", "kind": "department"}, 422, "validation_failed"),
            ({"code": "swj", "name": "", "kind": "department"}, 422, "validation_failed"),
            ({"code": "swj", "name": "x" * 101, "kind": "department"}, 422, "validation_failed"),
            ({"code": "has space", "name": "临江市水务局", "kind": "department"}, 422, "validation_failed"),
            ({"code": "swj", "name": "临江市水务局", "kind": "ministry"}, 422, "validation_failed"),
            (
                {"code": "swj", "name": "临江市水务局", "kind": "department", "area_id": 999999},
                404,
                "not_found",
            ),
            (
                {
                    "code": "swj",
                    "name": "临江市水务局",
                    "kind": "department",
                    "contacts": [{"name": "赵六", "mobile": "12345"}],
                },
                422,
                "validation_failed",
            ),
            ({"code": "cgj", "name": "另一个局", "kind": "department"}, 409, "conflict"),
            ({"code": "new1", "name": "临江市城市管理局", "kind": "department"}, 409, "conflict"),
        ],
    )
    def test_bad_create_changes_nothing(
        self, world: Any, api_as: Any, payload: Any, status: int, code: str
    ) -> None:
        api = api_as(admin())
        before = state()
        raw = isinstance(payload, str)
        assert_error(api.post("/api/v1/units", payload, raw=raw), status, code)
        assert state() == before

    def test_non_admin_cannot_create(self, world: Any, api_as: Any) -> None:
        api = api_as(make_user("oper", (Role.OPERATOR, None, None)))
        before = state()
        assert_error(api.post("/api/v1/units", self.good()), 403, "permission_denied")
        assert state() == before

    @pytest.mark.parametrize(
        ("payload", "status", "code"),
        [
            ({"name": None}, 422, "validation_failed"),
            ({"name": "临江市生态环境局"}, 409, "conflict"),
            ({"kind": "ministry"}, 422, "validation_failed"),
            ({"phone": "1" * 40}, 422, "validation_failed"),
            ({"area_id": 999999}, 404, "not_found"),
            ({"contacts": [{"name": ""}]}, 422, "validation_failed"),
            ({"unknown_field": 1, "name": "好名字"}, 200, None),
        ],
    )
    def test_bad_update_changes_nothing(
        self, world: Any, api_as: Any, payload: Any, status: int, code: str | None
    ) -> None:
        api = api_as(admin())
        unit = world.units["cgj"]
        before = state()
        resp = api.patch(f"/api/v1/units/{unit.pk}", payload)
        if code is None:  # unknown fields are ignored; the known one applies
            assert resp.status_code == 200 and resp.json()["name"] == "好名字"
            return
        assert_error(resp, status, code)
        assert state() == before


def test_area_update_refuses_a_bad_boundary_and_changes_nothing(world: Any, api_as: Any) -> None:
    api = api_as(admin())
    area = world.area("331202001001")
    before = state()
    bad = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}
    assert_error(api.patch(f"/api/v1/areas/{area.pk}", {"boundary": bad}), 422, "validation_failed")
    assert_error(api.patch(f"/api/v1/areas/{area.pk}", {"population": -5}), 422, "validation_failed")
    sibling = world.area("331202001002")
    assert_error(api.patch(f"/api/v1/areas/{area.pk}", {"name": sibling.name}), 409, "conflict")
    assert state() == before
    resp = api.patch(f"/api/v1/areas/{area.pk}", {"population": 1200})
    assert resp.status_code == 200 and resp.json()["population"] == 1200
    assert AuditEvent.objects.get(action="area.update").changes == {"population": [1000, 1200]}


def test_user_writes(world: Any, api_as: Any) -> None:
    api = api_as(admin())
    before = state()
    cases = [
        ({"username": "ab"}, 422, "validation_failed"),
        ({"username": "newuser", "password": "short"}, 422, "validation_failed"),
        ({"username": "newuser", "password": "12345678901"}, 422, "validation_failed"),  # numeric only
        ({"username": "newuser", "roles": [{"role": "king"}]}, 422, "validation_failed"),
        (
            {"username": "newuser", "roles": [{"role": "unit_handler"}]},
            422,
            "validation_failed",
        ),  # needs a unit
        ({"username": "newuser", "roles": [{"role": "unit_handler", "unit_id": 99999}]}, 404, "not_found"),
        ({"username": "newuser", "mobile": "999"}, 422, "validation_failed"),
        ({"username": "admin"}, 409, "conflict"),
        ({"username": "ADMIN"}, 409, "conflict"),
    ]
    for payload, status, code in cases:
        assert_error(api.post("/api/v1/users", payload), status, code)
    assert state() == before
    resp = api.post(
        "/api/v1/users",
        {
            "username": "handler1",
            "password": "Strong-pass-99",
            "roles": [{"role": "unit_handler", "unit_id": world.units["cgj"].pk}],
        },
    )
    assert resp.status_code == 201
    assert resp.json()["roles"][0]["unit_name"] == "临江市城市管理局"


def test_token_writes(world: Any, api_as: Any) -> None:
    user = make_user("oper", (Role.OPERATOR, None, None))
    api = api_as(user)
    before = state()
    assert_error(api.post("/api/v1/me/tokens", {"name": ""}), 422, "validation_failed")
    assert_error(
        api.post("/api/v1/me/tokens", {"name": "x", "expires_at": "2020-01-01T00:00:00+08:00"}),
        422,
        "validation_failed",
    )
    assert_error(
        api.post("/api/v1/me/tokens", {"name": "x", "expires_at": "2030-01-01T00:00:00"}),
        422,
        "validation_failed",
    )
    assert state() == before
    resp = api.post("/api/v1/me/tokens", {"name": "脚本"})
    assert resp.status_code == 201 and resp.json()["token"].startswith("shz_")
    stored = ApiToken.objects.get(pk=resp.json()["id"])
    assert resp.json()["token"] not in stored.digest and len(stored.digest) == 64


def test_session_writes_need_csrf(world: Any) -> None:
    user = admin()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/me").status_code == 200
    before = state()
    resp = client.post(
        "/api/v1/units",
        data={"code": "x1", "name": "新单位", "kind": "department"},
        content_type="application/json",
    )
    assert_error(resp, 403, "permission_denied")
    assert state() == before
    # Without a session cookie there is nothing to forge: no token either means 401, not a CSRF 403.
    anonymous = Client(enforce_csrf_checks=True)
    resp = anonymous.post(
        "/api/v1/units",
        data={"code": "x1", "name": "新单位", "kind": "department"},
        content_type="application/json",
    )
    assert_error(resp, 401, "not_authenticated")
    assert state() == before


def test_calendar_put_needs_admin(world: Any, api_as: Any) -> None:
    body = {"date": "2027-01-01", "is_workday": False, "name": "元旦"}
    operator, boss = api_as(make_user("oper", (Role.OPERATOR, None, None))), api_as(admin())
    before = state()
    assert_error(operator.put("/api/v1/calendar/days", body), 403, "permission_denied")
    assert_error(
        boss.put("/api/v1/calendar/days", {"date": "2027-13-01", "is_workday": False}),
        422,
        "validation_failed",
    )
    assert state() == before
    resp = boss.put("/api/v1/calendar/days", body)
    assert resp.status_code == 200 and resp.json() == body


def test_grid_and_list_queries(world: Any, api_as: Any) -> None:
    api = api_as(admin())
    assert_error(api.get("/api/v1/grids", {"limit": 0}), 422, "validation_failed")
    assert_error(api.get("/api/v1/grids", {"area": 999999}), 404, "not_found")
    assert_error(api.get("/api/v1/users", {"limit": 501}), 422, "validation_failed")
    assert_error(api.get("/api/v1/audit", {"offset": -3}), 422, "validation_failed")
    resp = api.get("/api/v1/grids", {"community": world.area("331202001001").pk})
    assert resp.status_code == 200 and [g["code"] for g in resp.json()["items"]] == [
        "331202001001001",
        "331202001001002",
    ]


def test_area_update_needs_admin(world: Any, api_as: Any) -> None:
    api = api_as(make_user("oper", (Role.OPERATOR, None, None)))
    before = state()
    area = world.area("331202001001")
    assert_error(api.patch(f"/api/v1/areas/{area.pk}", {"population": 5}), 403, "permission_denied")
    assert_error(api.patch(f"/api/v1/areas/{area.pk}", {"urban_rural": "suburb"}), 422, "validation_failed")
    assert_error(api.patch("/api/v1/areas/999999", {"population": 5}), 404, "not_found")
    assert state() == before


def test_user_update_and_roles(world: Any, api_as: Any) -> None:
    boss = admin()
    target = make_user("target", (Role.CITIZEN, None, None), display_name="张三")
    citizen2 = make_user("other", (Role.CITIZEN, None, None))
    api, as_target = api_as(boss), api_as(target)
    before = state()
    cases = [
        (api.patch(f"/api/v1/users/{target.pk}", {"mobile": "123"}), 422, "validation_failed"),
        (api.patch(f"/api/v1/users/{target.pk}", {"display_name": "x" * 33}), 422, "validation_failed"),
        (api.patch(f"/api/v1/users/{target.pk}", {"is_active": None}), 422, "validation_failed"),
        (api.patch("/api/v1/users/999999", {"display_name": "李四"}), 404, "not_found"),
        (as_target.patch(f"/api/v1/users/{target.pk}", {"is_active": False}), 403, "permission_denied"),
        (as_target.patch(f"/api/v1/users/{citizen2.pk}", {"display_name": "李四"}), 404, "not_found"),
        (api.post(f"/api/v1/users/{target.pk}/roles", {"role": "emperor"}), 422, "validation_failed"),
        (api.post(f"/api/v1/users/{target.pk}/roles", {"role": "citizen"}), 409, "conflict"),
        (
            api.post(
                f"/api/v1/users/{target.pk}/roles", {"role": "admin", "area_id": world.area(CITY_CODE).pk}
            ),
            422,
            "validation_failed",
        ),
        (
            api.post(f"/api/v1/users/{target.pk}/roles", {"role": "supervisor", "area_id": 999999}),
            404,
            "not_found",
        ),
        (as_target.post(f"/api/v1/users/{target.pk}/roles", {"role": "admin"}), 403, "permission_denied"),
        (api.delete(f"/api/v1/users/{target.pk}/roles/999999"), 404, "not_found"),
        (api.delete(f"/api/v1/users/{boss.pk}/roles/{boss.role_assignments.get().pk}"), 409, "conflict"),
        (
            as_target.delete(f"/api/v1/users/{target.pk}/roles/{target.role_assignments.get().pk}"),
            403,
            "permission_denied",
        ),
    ]
    for resp, status, code in cases:
        assert_error(resp, status, code)
    assert state() == before
    resp = as_target.patch(f"/api/v1/users/{target.pk}", {"display_name": "张三丰", "mobile": "13700000000"})
    assert resp.status_code == 200 and resp.json()["display_name"] == "张三丰"
    resp = api.post(
        f"/api/v1/users/{target.pk}/roles", {"role": "supervisor", "area_id": world.area(CITY_CODE).pk}
    )
    assert resp.status_code == 201
    assert {r["role"] for r in resp.json()["roles"]} == {"citizen", "supervisor"}


def test_grid_worker_assignment(world: Any, api_as: Any) -> None:
    boss = admin()
    community = world.area("331202001001")
    worker = make_user("gw1", (Role.GRID_WORKER, None, community), display_name="网格员甲")
    citizen = make_user("citizen1", (Role.CITIZEN, None, None))
    grid = world.grids["331202001001001"]
    api, as_worker = api_as(boss), api_as(worker)
    before = state()
    assert_error(
        api.put(f"/api/v1/grids/{grid.pk}/worker", {"grid_worker_id": citizen.pk}), 422, "validation_failed"
    )
    assert_error(api.put(f"/api/v1/grids/{grid.pk}/worker", {"grid_worker_id": 999999}), 404, "not_found")
    assert_error(api.put("/api/v1/grids/999999/worker", {"grid_worker_id": worker.pk}), 404, "not_found")
    assert_error(api.put(f"/api/v1/grids/{grid.pk}/worker", {}), 422, "validation_failed")
    # A grid worker may not appoint themself.
    assert_error(
        as_worker.put(f"/api/v1/grids/{grid.pk}/worker", {"grid_worker_id": worker.pk}),
        403,
        "permission_denied",
    )
    assert state() == before
    resp = api.put(f"/api/v1/grids/{grid.pk}/worker", {"grid_worker_id": worker.pk})
    assert resp.status_code == 200 and resp.json()["grid_worker"] == "网格员甲"
    assert api.get(f"/api/v1/grids/{grid.pk}").json()["grid_worker"] == "网格员甲"
    event = AuditEvent.objects.get(action="grid.assign_worker")
    assert event.changes == {"grid_worker": [None, worker.pk]} and event.area_path == community.path
    resp = api.put(f"/api/v1/grids/{grid.pk}/worker", {"grid_worker_id": None})
    assert resp.status_code == 200 and resp.json()["grid_worker"] is None


def test_change_my_password(world: Any, api_as: Any) -> None:
    user = make_user("oper", (Role.OPERATOR, None, None))
    api = api_as(user)
    hashed = User.objects.get(pk=user.pk).password
    body = {"old_password": "wrong", "new_password": "Another-pass-77"}
    assert_error(api.post("/api/v1/me/password", body), 422, "validation_failed")
    assert_error(
        api.post("/api/v1/me/password", {"old_password": "Pass-word-2026", "new_password": "12345678"}),
        422,
        "validation_failed",
    )
    assert_error(
        api.post("/api/v1/me/password", {"old_password": "Pass-word-2026"}), 422, "validation_failed"
    )
    assert User.objects.get(pk=user.pk).password == hashed
    resp = api.post(
        "/api/v1/me/password", {"old_password": "Pass-word-2026", "new_password": "Another-pass-77"}
    )
    assert resp.status_code == 204
    assert User.objects.get(pk=user.pk).check_password("Another-pass-77")
    assert AuditEvent.objects.get(action="user.set_password").changes == {"password": ["***", "***"]}
