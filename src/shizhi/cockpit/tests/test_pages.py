"""The web shell and the core pages, through the browser's interface (Django's test client)."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import types
from typing import Any

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shizhi.cockpit.tests.conftest import (
    CITY,
    COMMUNITY_JIANGJING,
    DISTRICT_RURAL,
    DISTRICT_URBAN,
    PASSWORD,
    STREET_URBAN,
    City,
)
from shizhi.core import services
from shizhi.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    return response.content.decode("utf-8")


# ------------------------------------------------------------------------------ login and logout


def test_login_page_renders_in_chinese(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    body = html(response)
    assert "登录" in body and "用户名" in body and "密码" in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert "示范城市登录账号" not in body  # no demo users here


def test_login_with_a_wrong_password_says_so_in_chinese(city: City, client: Client) -> None:
    response = client.post("/login/", {"username": "admin1", "password": "wrong-password"})
    assert response.status_code == 200
    assert "用户名或密码不正确" in html(response)
    assert "_auth_user_id" not in client.session


def test_login_then_home(city: City, client: Client) -> None:
    response = client.post("/login/", {"username": "admin1", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_logout_is_a_post_and_ends_the_session(client_for: Any) -> None:
    client = client_for("citizen")
    assert client.get("/logout/").status_code == 405  # Django 5: never log out on a GET (link prefetch, CSRF)
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/")["Location"].startswith("/login/")


def test_every_page_has_the_logout_form_and_user_name(client_for: Any) -> None:
    body = html(client_for("committee").get("/"))
    assert 'action="/logout/"' in body and 'method="post"' in body
    assert "议事委员丙" in body and "议事委员" in body


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/core/areas/",
        "/core/areas/1/",
        "/core/units/",
        "/core/units/1/",
        "/core/audit/",
        "/core/calendar/",
    ],
)
def test_anonymous_users_are_sent_to_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_demo_login_hint_lists_only_existing_demo_users(city: City, client: Client, monkeypatch: Any) -> None:
    fake = types.ModuleType("shizhi.demo.services")
    fake.demo_logins = lambda: [  # type: ignore[attr-defined]
        {"username": "admin1", "role_label": "系统管理员", "scope": "全市", "password": "demo-pass-1"},
        {"username": "ghost", "role_label": "市民", "scope": "全市", "password": "demo-pass-2"},
        types.SimpleNamespace(
            username="citizen1",
            display_name="市民乙",
            role_label="市民",
            scope="本人",
            password="demo-pass-3",
        ),
    ]
    monkeypatch.setitem(sys.modules, "shizhi.demo.services", fake)
    body = html(client.get("/login/"))
    assert "示范城市登录账号" in body
    assert "admin1" in body and "demo-pass-1" in body
    assert "citizen1" in body and "市民乙" in body and "demo-pass-3" in body
    assert "ghost" not in body


def test_demo_login_hint_is_absent_when_the_demo_has_no_users(
    db: Any, client: Client, monkeypatch: Any
) -> None:
    fake = types.ModuleType("shizhi.demo.services")
    fake.demo_logins = lambda: [  # type: ignore[attr-defined]
        {"username": "admin1", "role_label": "系统管理员", "scope": "全市", "password": "x"}
    ]
    monkeypatch.setitem(sys.modules, "shizhi.demo.services", fake)
    assert "示范城市登录账号" not in html(client.get("/login/"))


def test_language_switch_to_english(client_for: Any) -> None:
    client = client_for("citizen")
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/core/calendar/"})
    assert response.status_code == 302 and response["Location"] == "/core/calendar/"
    assert client.cookies["django_language"].value == "en"


# ------------------------------------------------------------------------------ navigation


def _nav_labels(response: Any) -> list[str]:
    return [item["label"] for item in response.context["nav_items"]]


def test_navigation_hides_audit_and_admin_from_a_citizen(client_for: Any) -> None:
    response = client_for("citizen").get("/")
    assert _nav_labels(response) == ["首页", "行政区划", "承办单位", "接诉即办", "高效办成一件事", "工作日历"]
    hotline = response.context["nav_items"][3]
    assert [c["label"] for c in hotline["children"]] == ["我的诉求", "我要反映"]


def test_navigation_shows_audit_and_admin_to_an_admin(client_for: Any) -> None:
    response = client_for("admin").get("/core/units/")
    assert _nav_labels(response) == [
        "首页",
        "行政区划",
        "承办单位",
        "接诉即办",
        "高效办成一件事",
        "分类模型",
        "风险预警",
        "工作日历",
        "审计日志",
        "系统管理",
    ]
    hotline = response.context["nav_items"][3]
    assert [c["label"] for c in hotline["children"]] == [
        "受理",
        "派单",
        "工单",
        "督办考核",
        "知识库",
        "派单目录",
    ]
    assert hotline["active"] is False
    active = [item["label"] for item in response.context["nav_items"] if item["active"]]
    assert active == ["承办单位"]
    assert 'href="/core/audit/"' in html(response)


# ------------------------------------------------------------------------------ home


def _count(body: str, key: str) -> str:
    match = re.search(rf'data-count="{key}"[^>]*>([^<]*)<', body)
    assert match, key
    return match.group(1)


def test_home_shows_the_city_counts(city: City, client_for: Any) -> None:
    response = client_for("citizen").get("/")
    assert response.status_code == 200
    body = html(response)
    expected = {
        "districts": "2",
        "streets": "2",
        "communities": "4",
        "urban_communities": "3",
        "villages": "1",
        "grids": "3",
        "population": "7,000",
        "households": "2,500",
        "units": "2",
        "users": "5",
    }
    assert {key: _count(body, key) for key in expected} == expected
    assert "青岚市" in body


def test_home_chart_data_is_population_by_district(city: City, client_for: Any, monkeypatch: Any) -> None:
    # The chart is drawn only when the front-end components are installed (make assets); pretend they are.
    monkeypatch.setattr("shizhi.cockpit.web.finders.find", lambda path: f"/fake/{path}")
    response = client_for("citizen").get("/")
    body = html(response)
    match = re.search(
        r'<script id="population-chart-data" type="application/json">(.*?)</script>', body, re.S
    )
    assert match
    data = json.loads(match.group(1))
    assert data["districts"] == ["滨江区", "青山县"]
    assert data["urban"] == [5000, 500]
    assert data["rural"] == [0, 1500]
    city_id = city.area(CITY).pk
    assert f'data-children-url="/api/v1/areas/{city_id}/geojson?include=children"' in body


def test_home_without_front_end_components_shows_a_note(
    city: City, client_for: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("shizhi.cockpit.web.finders.find", lambda path: None)
    body = html(client_for("citizen").get("/"))
    assert "地图/图表组件未安装，请安装 Node.js 后运行 make assets" in body
    assert "vendor/leaflet/leaflet.js" not in body and "data-area-map" not in body


def test_home_with_front_end_components_loads_them(city: City, client_for: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("shizhi.cockpit.web.finders.find", lambda path: f"/fake/{path}")
    body = html(client_for("citizen").get("/"))
    assert "/static/vendor/leaflet/leaflet.js" in body and "/static/vendor/echarts/echarts.min.js" in body
    assert "data-area-map" in body and 'data-chart="population"' in body
    assert "地图/图表组件未安装" not in body


def test_home_without_any_area_explains_how_to_load_data(db: Any, client: Client) -> None:
    user = services.user_create(
        actor=None, username="lonely", password=PASSWORD, roles=[services.RoleIn(role="citizen")]
    )
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert "尚未导入行政区划数据" in html(response)


# ------------------------------------------------------------------------------ areas


def test_area_index_redirects_to_the_only_city(city: City, client_for: Any) -> None:
    response = client_for("citizen").get("/core/areas/")
    assert response.status_code == 302
    assert response["Location"] == f"/core/areas/{city.area(CITY).pk}/"


def test_city_page_shows_districts_and_the_map(city: City, client_for: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("shizhi.cockpit.web.finders.find", lambda path: f"/fake/{path}")
    city_id = city.area(CITY).pk
    response = client_for("citizen").get(f"/core/areas/{city_id}/")
    assert response.status_code == 200
    body = html(response)
    assert "滨江区" in body and "青山县" in body
    assert f'data-children-url="/api/v1/areas/{city_id}/geojson?include=children"' in body
    assert f'data-grids-url="/api/v1/areas/{city_id}/geojson?include=grids"' in body
    assert 'data-show-grids="0"' in body
    rows = {row["area"].name: (row["n_children"], row["n_grids"]) for row in response.context["children"]}
    assert rows == {"滨江区": (1, 2), "青山县": (1, 1)}
    assert response.context["grid_count"] == 3


def test_street_page_has_breadcrumb_and_grid_toggle(city: City, client_for: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("shizhi.cockpit.web.finders.find", lambda path: f"/fake/{path}")
    street = city.area(STREET_URBAN)
    body = html(client_for("citizen").get(f"/core/areas/{street.pk}/"))
    crumbs = re.search(r'<ol class="breadcrumb">(.*?)</ol>', body, re.S)
    assert crumbs
    assert re.findall(r">([^<>]+)</a>", crumbs.group(1)) == ["行政区划", "青岚市", "滨江区"]
    assert "江景社区" in body and "望湖社区" in body
    assert "data-map-grids" in body  # the "显示网格" switch


def test_community_page_lists_grids_with_their_workers(city: City, client_for: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("shizhi.cockpit.web.finders.find", lambda path: f"/fake/{path}")
    community = city.area(COMMUNITY_JIANGJING)
    response = client_for("citizen").get(f"/core/areas/{community.pk}/")
    body = html(response)
    assert [g.name for g in response.context["grids"]] == ["江景第一网格", "江景第二网格"]
    assert "张网格" in body and "未配置" in body
    assert 'data-show-grids="1"' in body and 'data-show-children="0"' in body
    assert "3,000 人" in body and "1,000 户" in body


def test_unknown_area_is_a_chinese_404(city: City, client_for: Any) -> None:
    response = client_for("citizen").get("/core/areas/999999/")
    assert response.status_code == 404
    assert "页面不存在" in html(response)


def test_area_page_queries_do_not_grow_with_children(city: City, client_for: Any) -> None:
    client = client_for("citizen")
    city_id = city.area(CITY).pk
    client.get(f"/core/areas/{city_id}/")  # warm the session
    with CaptureQueriesContext(connection) as before:
        client.get(f"/core/areas/{city_id}/")
    services.areas_import(
        actor=None,
        rows=[
            services.AreaRow(
                code=f"3309{n:02d}000000",
                name=f"新区{n}",
                level=2,
                kind="区",
                urban_rural="urban",
                parent_code=CITY,
            )
            for n in range(31, 41)
        ],
    )
    with CaptureQueriesContext(connection) as after:
        client.get(f"/core/areas/{city_id}/")
    assert len(after) == len(before)


# ------------------------------------------------------------------------------ units


def test_unit_list_filters_by_kind_and_search(city: City, client_for: Any) -> None:
    client = client_for("citizen")
    names = lambda r: [u.name for u in r.context["page"].object_list]  # noqa: E731
    assert names(client.get("/core/units/")) == ["滨江区城市管理局", "青山镇人民政府"]
    assert names(client.get("/core/units/", {"kind": "township_government"})) == ["青山镇人民政府"]
    assert names(client.get("/core/units/", {"q": "城市管理"})) == ["滨江区城市管理局"]
    assert names(client.get("/core/units/", {"area": city.area(DISTRICT_RURAL).pk})) == ["青山镇人民政府"]
    assert names(client.get("/core/units/", {"kind": "nonsense"})) == ["滨江区城市管理局", "青山镇人民政府"]


def test_unit_list_queries_do_not_grow_with_units(city: City, client_for: Any) -> None:
    client = client_for("citizen")
    client.get("/core/units/")
    with CaptureQueriesContext(connection) as before:
        client.get("/core/units/")
    services.units_import(
        actor=None,
        rows=[
            services.UnitRow(code=f"u{n}", name=f"测试单位{n}", kind="enterprise", area_code=DISTRICT_URBAN)
            for n in range(20)
        ],
    )
    with CaptureQueriesContext(connection) as after:
        response = client.get("/core/units/")
    assert len(response.context["page"].object_list) == 22
    assert len(after) == len(before)


def test_unit_detail_hides_contacts_from_a_citizen(city: City, client_for: Any) -> None:
    response = client_for("citizen").get(f"/core/units/{city.units['bj-cgj'].pk}/")
    assert response.status_code == 200
    body = html(response)
    assert "滨江区城市管理局" in body and "市容环境卫生" in body
    assert response.context["contacts"] is None
    assert "王建国" not in body and "13812341234" not in body and "138****1234" not in body
    assert "仅对热线中心和本单位工作人员开放" in body


def test_unit_detail_hides_contacts_from_a_committee_member(city: City, client_for: Any) -> None:
    response = client_for("committee").get(f"/core/units/{city.units['bj-cgj'].pk}/")
    assert response.context["contacts"] is None  # staff, but neither hotline centre nor the unit itself


def test_unit_detail_masks_mobiles_without_the_pii_permission(city: City, client_for: Any) -> None:
    # A data steward of the unit sees its contacts (member of the unit) but holds no core.view_pii.
    response = client_for("steward").get(f"/core/units/{city.units['bj-cgj'].pk}/")
    assert response.context["contacts"] == [
        {
            "name": "王建国",
            "title": "科长",
            "mobile": "138****1234",
            "email": "w***@example.cn",
            "is_primary": True,
        }
    ]
    body = html(response)
    assert "138****1234" in body and "13812341234" not in body


def test_unit_detail_shows_mobiles_to_an_admin(city: City, client_for: Any) -> None:
    body = html(client_for("admin").get(f"/core/units/{city.units['bj-cgj'].pk}/"))
    assert "13812341234" in body and "wang@example.cn" in body


def test_unknown_unit_is_a_404(city: City, client_for: Any) -> None:
    assert client_for("citizen").get("/core/units/999999/").status_code == 404


# ------------------------------------------------------------------------------ audit


def test_audit_page_is_403_for_a_citizen(client_for: Any) -> None:
    response = client_for("citizen").get("/core/audit/")
    assert response.status_code == 403
    body = html(response)
    assert "无权访问" in body and "只有管理员和督办员可以查看审计日志" in body


def test_audit_page_lists_events_for_an_admin(city: City, client_for: Any) -> None:
    response = client_for("admin").get("/core/audit/")
    assert response.status_code == 200
    actions = [event.action for event, _ in response.context["rows"]]
    assert actions == list(AuditEvent.objects.order_by("-created_at", "-id").values_list("action", flat=True))
    assert {"area.import", "unit.import", "user.create", "grid.import"} <= set(actions)
    assert "user.create" in response.context["choices"]["actions"]


def test_audit_page_filters_and_paginates(city: City, client_for: Any) -> None:
    client = client_for("admin")
    response = client.get("/core/audit/", {"action": "user.create"})
    assert [e.object_repr for e, _ in response.context["rows"]] == [
        "张网格",
        "数据管理员丁",
        "议事委员丙",
        "市民乙",
        "系统管理员甲",
    ]
    response = client.get("/core/audit/", {"user": "nobody-has-this-name"})
    assert response.context["rows"] == []
    for n in range(60):
        day = dt.date(2030, 1, 1) + dt.timedelta(days=n)
        services.calendar_day_set(actor=None, date=day, is_workday=False, name=f"假{n}")
    page2 = client.get("/core/audit/", {"action": "calendar.set", "page": 2})
    assert page2.context["page"].paginator.count == 60
    assert len(page2.context["rows"]) == 10
    assert "page=1" in html(page2) and "action=calendar.set" in html(page2)


# ------------------------------------------------------------------------------ calendar


def test_calendar_marks_spring_festival_and_make_up_day(client_for: Any) -> None:
    response = client_for("citizen").get("/core/calendar/", {"month": "2026-02"})
    assert response.status_code == 200
    body = html(response)
    holiday = re.search(
        r'<td class="holiday[^"]*" data-date="2026-02-16" data-kind="holiday"[^>]*>(.*?)</td>', body, re.S
    )
    assert holiday and "春节" in holiday.group(1) and ">休<" in holiday.group(1)
    makeup = re.search(
        r'<td class="makeup[^"]*" data-date="2026-02-14" data-kind="makeup"[^>]*>(.*?)</td>', body, re.S
    )
    assert makeup and "调休上班" in makeup.group(1) and ">班<" in makeup.group(1)
    assert 'data-date="2026-02-07" data-kind="weekend"' in body
    assert 'data-date="2026-02-24" data-kind="workday"' in body
    assert "?month=2026-01" in body and "?month=2026-03" in body
    assert "尚未录入" not in body


def test_calendar_warns_for_a_year_without_official_data(client_for: Any) -> None:
    body = html(client_for("citizen").get("/core/calendar/", {"month": "2099-05"}))
    assert "2099年的国务院节假日安排尚未录入" in body


def test_calendar_ignores_a_bad_month(client_for: Any) -> None:
    response = client_for("citizen").get("/core/calendar/", {"month": "2026-13"})
    assert response.status_code == 200
    assert response.context["month"] in range(1, 13)


# ------------------------------------------------------------------------------ error pages


def test_unknown_url_is_a_chinese_404(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在" in html(response)


def test_500_page_renders_without_context_or_database() -> None:
    body = render_to_string("500.html")
    assert "服务器内部错误" in body and "/static/shizhi/app.css" in body


# ------------------------------------------------------------------------------ language


@pytest.fixture
def chosen_language(settings: Any) -> None:
    settings.MIDDLEWARE = [
        "shizhi.cockpit.middleware.ChosenLanguageMiddleware"
        if m == "django.middleware.locale.LocaleMiddleware"
        else m
        for m in settings.MIDDLEWARE
    ]


def test_chosen_language_ignores_the_browser_language(chosen_language: None, client_for: Any) -> None:
    client = client_for("citizen")
    response = client.get("/core/calendar/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.context["LANG"] == "zh-hans"
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get("/core/calendar/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.context["LANG"] == "en"
