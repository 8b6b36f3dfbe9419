"""The early-warning pages (风险预警) through the browser: the alert board, an alert's page and the grid risk map,
who may open them, and the operators' actions going through the services (refused ones with a message and
nothing changed). The case page shows the alert that opened it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from shizhi.sensing.tests.test_pages import PageWorld, build_page_world
from shizhi.warning.models import Alert, AlertEvent, AlertStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def pw() -> PageWorld:
    return build_page_world()


def browser(pw: PageWorld, key: str | None) -> Client:
    client = Client()
    if key:
        client.force_login(pw.users[key])
    return client


def html(response: Any) -> str:
    return response.content.decode("utf-8")


def messages_of(body: str) -> list[str]:
    block = re.search(r'<ul class="messages">(.*?)</ul>', body, re.S)
    return re.findall(r"<li[^>]*>(.*?)</li>", block.group(1), re.S) if block else []


def script_json(body: str, element_id: str) -> Any:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', body, re.S)
    assert found, f"no json_script {element_id}"
    return json.loads(found.group(1))


def air_alert(pw: PageWorld) -> Alert:
    return Alert.objects.get(device=pw.air)


def water_alert(pw: PageWorld) -> Alert:
    return Alert.objects.get(device=pw.water)


# ---------------------------------------------------------------------------------------------- the board


def test_board_counts_open_alerts_by_level_and_lists_them(pw: PageWorld) -> None:
    r = browser(pw, "operator").get("/warning/")
    assert r.status_code == 200
    body = html(r)
    assert "预警看板" in body
    counts = dict(
        re.findall(r'data-open-level="(\d)"><div class="label">[^<]*</div><div class="value">(\d+)<', body)
    )
    assert counts == {"4": "0", "3": "1", "2": "0", "1": "1"}
    assert re.search(r'data-count="open_total">2<', body)
    rows = re.findall(r'<tr data-alert="(\d+)">', body)
    assert set(map(int, rows)) == {air_alert(pw).pk, water_alert(pw).pk}
    assert water_alert(pw).case.number in body  # type: ignore[union-attr]
    assert "积水深度 阈值" in body and "PM2.5 阈值" in body
    assert "各规则误报率" in body


def test_board_filters_by_level_and_by_kind(pw: PageWorld) -> None:
    client = browser(pw, "operator")
    body = html(client.get("/warning/", {"level": "3"}))
    assert re.findall(r'<tr data-alert="(\d+)">', body) == [str(water_alert(pw).pk)]
    body = html(client.get("/warning/", {"kind": "offline"}))
    assert re.findall(r'<tr data-alert="(\d+)">', body) == []
    body = html(client.get("/warning/", {"device": "aq-9", "status": "all"}))
    assert re.findall(r'<tr data-alert="(\d+)">', body) == [str(air_alert(pw).pk)]


def test_a_unit_handler_sees_and_may_handle_only_its_units_alerts(pw: PageWorld) -> None:
    body = html(browser(pw, "h_sthj").get("/warning/"))
    assert re.findall(r'<tr data-alert="(\d+)">', body) == [str(air_alert(pw).pk)]
    assert 'data-action="acknowledge"' in body


def test_readers_without_the_right_to_handle_get_no_buttons(pw: PageWorld) -> None:
    body = html(browser(pw, "l_cgj").get("/warning/"))  # unit leader: sees, does not handle
    assert re.findall(r'<tr data-alert="(\d+)">', body) == [str(water_alert(pw).pk)]
    assert "data-action=" not in body


def test_the_warning_pages_refuse_citizens(pw: PageWorld) -> None:
    client = browser(pw, "citizen")
    assert client.get("/warning/").status_code == 403
    assert client.get("/warning/risk/").status_code == 403
    assert client.get(f"/warning/alerts/{air_alert(pw).pk}/").status_code == 403
    assert Client().get("/warning/").status_code == 302


# ---------------------------------------------------------------------------------------------- one alert


def test_alert_page_shows_the_timeline_and_links_device_and_case(pw: PageWorld) -> None:
    alert = water_alert(pw)
    body = html(browser(pw, "h_cgj").get(f"/warning/alerts/{alert.pk}/"))
    assert "预警记录" in body
    for kind in ("触发", "升级", "生成工单"):
        assert kind in body
    assert 'href="/sensing/devices/wl-9/" data-link="device"' in body
    assert f'href="/hotline/cases/{alert.case_id}/" data-link="case"' in body


def test_an_alert_outside_the_readers_scope_does_not_exist_for_them(pw: PageWorld) -> None:
    assert browser(pw, "h_cgj").get(f"/warning/alerts/{air_alert(pw).pk}/").status_code == 404
    assert browser(pw, "h_cgj").get("/warning/alerts/999999/").status_code == 404


def test_case_page_shows_the_alert_that_opened_it(pw: PageWorld) -> None:
    alert = water_alert(pw)
    body = html(browser(pw, "operator").get(f"/hotline/cases/{alert.case_id}/"))
    assert "来源预警" in body
    assert f'href="/warning/alerts/{alert.pk}/" data-alert-link="{alert.pk}"' in body


# ---------------------------------------------------------------------------------------------- actions


def test_acknowledge_then_resolve_through_the_board(pw: PageWorld) -> None:
    alert = air_alert(pw)
    client = browser(pw, "operator")
    r = client.post(f"/warning/alerts/{alert.pk}/do/acknowledge/", {"next": "/warning/?level=1"})
    assert r.status_code == 302 and r["Location"] == "/warning/?level=1"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == pw.users["operator"]
    r = client.post(f"/warning/alerts/{alert.pk}/do/resolve/", {"note": "现场核实，扬尘已处置"})
    assert r["Location"] == f"/warning/alerts/{alert.pk}/"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolution_note == "现场核实，扬尘已处置"
    body = html(client.get(r["Location"]))
    assert f"已解除预警 #{alert.pk}" in messages_of(body)


def test_a_refused_action_is_a_message_and_changes_nothing(pw: PageWorld) -> None:
    alert = air_alert(pw)
    events = AlertEvent.objects.filter(alert=alert).count()
    client = browser(pw, "operator")
    client.post(f"/warning/alerts/{alert.pk}/do/resolve/", {"note": ""})  # a note is required
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RAISED and AlertEvent.objects.filter(alert=alert).count() == events
    body = html(client.get(f"/warning/alerts/{alert.pk}/"))
    assert any("处置说明" in m for m in messages_of(body))
    client.post(f"/warning/alerts/{water_alert(pw).pk}/do/acknowledge/")  # dispatched: cannot be acknowledged
    assert water_alert(pw).status == AlertStatus.DISPATCHED
    assert any("不能确认" in m for m in messages_of(html(client.get("/warning/"))))


def test_mark_false_alarm_shows_in_the_rates(pw: PageWorld) -> None:
    alert = air_alert(pw)
    client = browser(pw, "operator")
    client.post(f"/warning/alerts/{alert.pk}/do/mark_false/", {"note": "监测站旁道路施工扬尘，已报备"})
    alert.refresh_from_db()
    assert alert.status == AlertStatus.FALSE_ALARM
    body = html(client.get("/warning/"))
    row = re.search(r'<tr data-rule="threshold:pm25">(.*?)</tr>', body, re.S)
    assert row is not None
    assert re.findall(r'<td class="num">([^<]*)</td>', row.group(1)) == ["1", "1", "100.0%"]


def test_dispatch_opens_a_case_for_the_owner_unit(pw: PageWorld) -> None:
    alert = air_alert(pw)
    client = browser(pw, "operator")
    client.post(f"/warning/alerts/{alert.pk}/do/dispatch/", {"category": "HJ", "note": "请核查"})
    alert.refresh_from_db()
    assert alert.status == AlertStatus.DISPATCHED and alert.case is not None
    assert alert.case.lead_unit == pw.hw.units["sthj"]


def test_actions_outside_scope_or_without_the_right_are_refused(pw: PageWorld) -> None:
    water = water_alert(pw)
    r = browser(pw, "h_sthj").post(f"/warning/alerts/{water.pk}/do/resolve/", {"note": "不是本单位的"})
    assert r.status_code == 404
    air = air_alert(pw)
    r = browser(pw, "l_cgj").post(f"/warning/alerts/{water.pk}/do/resolve/", {"note": "单位负责人"})
    assert r.status_code == 403
    assert browser(pw, "operator").post(f"/warning/alerts/{air.pk}/do/explode/").status_code == 404
    assert browser(pw, "operator").get(f"/warning/alerts/{air.pk}/do/acknowledge/").status_code == 405
    water.refresh_from_db()
    air.refresh_from_db()
    assert water.status == AlertStatus.DISPATCHED and air.status == AlertStatus.RAISED


# ---------------------------------------------------------------------------------------------- grid risk


def test_risk_map_colours_the_grids_with_open_alerts(pw: PageWorld) -> None:
    r = browser(pw, "operator").get("/warning/risk/")
    assert r.status_code == 200
    body = html(r)
    data = script_json(body, "risk-map-data")
    by_grid = {f["id"]: f["properties"] for f in data["features"]}
    assert by_grid[pw.water.grid_id]["max_level"] == 3 and by_grid[pw.water.grid_id]["rank"] == 1
    assert by_grid[pw.air.grid_id]["max_level"] == 1
    assert all(f["geometry"]["type"] == "Polygon" for f in data["features"])
    assert data["labels"]["level_colours"]["3"] == "#f57c00"
    ranked = re.findall(r'<tr data-grid="(\d+)">', body)
    assert ranked == [str(pw.water.grid_id), str(pw.air.grid_id)]


def test_risk_map_of_a_unit_handler_holds_only_its_units_grids(pw: PageWorld) -> None:
    data = script_json(html(browser(pw, "h_cgj").get("/warning/risk/")), "risk-map-data")
    assert [f["id"] for f in data["features"]] == [pw.water.grid_id]


def test_navigation_has_the_warning_menu(pw: PageWorld) -> None:
    nav = re.search(
        r'<nav class="mainnav".*?</nav>', html(browser(pw, "operator").get("/hotline/cases/")), re.S
    )
    assert nav is not None
    menu = nav.group(0)
    assert 'href="/warning/"' in menu and 'href="/warning/risk/"' in menu and "风险预警" in menu
    citizen = html(browser(pw, "citizen").get("/hotline/cases/"))
    assert 'href="/warning/' not in citizen
