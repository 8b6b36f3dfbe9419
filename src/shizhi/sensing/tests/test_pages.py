"""The sensing pages (物联感知) through the browser: who may open the device map and a device's page, what they
show (the chart's data with its warning lines and alerts), and the device manager's buttons going through the
services with the exact result, or refused with nothing changed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shizhi.hotline.tests.factories import IN_COUNTY, IN_URBAN, HotlineWorld, build_hotline_world
from shizhi.sensing import services
from shizhi.sensing.ingest import ingest_records
from shizhi.sensing.models import Device, DeviceStatus, DeviceType, Source
from shizhi.warning.models import Alert

pytestmark = pytest.mark.django_db


@dataclass
class PageWorld:
    hw: HotlineWorld
    air: Device  # in the county, owned by 生态环境局 (sthj): one blue PM2.5 alert
    water: Device  # in the urban district, owned by 城市管理局 (cgj): an orange water-level alert with a case
    gas: Device  # no location, no owner, no readings
    now: int  # epoch seconds of the newest reading

    @property
    def users(self) -> dict[str, Any]:
        return self.hw.users


def build_page_world() -> PageWorld:
    """The hotline's test city with the built-in device types (water-level alerts open cases in CX01), three
    devices, and readings of the last hours that raise a blue air alert and an orange water-level alert."""
    hw = build_hotline_world()
    services.device_types_ensure(actor=None)
    DeviceType.objects.filter(code="water_level").update(case_category_code="CX01")

    def register(
        code: str, name: str, type_code: str, at: tuple[float, float] | None, unit: str | None
    ) -> Device:
        return services.device_register(
            actor=None,
            data=services.DeviceIn(
                code=code,
                name=name,
                device_type=type_code,
                lon=at[0] if at else None,
                lat=at[1] if at else None,
                owner_unit_id=hw.units[unit].pk if unit else None,
            ),
        )

    air = register("aq-9", "县城监测站", "air_quality", IN_COUNTY, "sthj")
    water = register("wl-9", "人民路下穿通道易涝点", "water_level", IN_URBAN, "cgj")
    gas = register("gas-9", "燃气井", "gas", None, None)
    now = int(timezone.now().timestamp()) - 60
    t0 = now - 3 * 3600
    records: list[dict[str, Any]] = []
    for i, level in enumerate([0.5, 0.6, 4.0, 12.0, 24.0, 35.0, 33.0]):  # blue 10, yellow 20, orange 30
        records.append({"device": "wl-9", "quantity": "level", "time": t0 + i * 1800, "value": level})
    for i, pm25 in enumerate([40, 52, 80, 81]):  # blue 75
        records.append({"device": "aq-9", "quantity": "pm25", "time": t0 + i * 3600, "value": pm25})
    records.append(
        {"device": "aq-9", "quantity": "pm25", "time": t0, "value": -5}
    )  # out of range: quarantined
    ingest_records(records, source=Source.DEMO)
    hw.users["steward"].refresh_from_db()
    return PageWorld(hw=hw, air=air, water=water, gas=gas, now=now)


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


def script_json(body: str, element_id: str) -> Any:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', body, re.S)
    assert found, f"no json_script {element_id}"
    return json.loads(found.group(1))


# ---------------------------------------------------------------------------------------------- the map


def test_device_map_shows_every_device_to_a_city_wide_role_with_status_and_alert_level(pw: PageWorld) -> None:
    r = browser(pw, "operator").get("/sensing/")
    assert r.status_code == 200
    body = html(r)
    assert "设备地图" in body
    for name in ("县城监测站", "人民路下穿通道易涝点", "燃气井"):
        assert name in body
    data = script_json(body, "device-map-data")
    points = {p["code"]: p for p in data["points"]}
    assert set(points) == {"aq-9", "wl-9"}  # the gas device has no location: listed, not drawn
    assert points["wl-9"]["level"] == 3 and points["aq-9"]["level"] == 1
    assert points["wl-9"]["status"] == "online"
    assert points["wl-9"]["url"] == "/sensing/devices/wl-9/"
    assert data["labels"]["status_colours"]["online"] and data["labels"]["level_colours"]["3"]
    assert re.search(r'data-count="total">3<', body)


def test_device_map_filters_by_type_and_status(pw: PageWorld) -> None:
    client = browser(pw, "operator")
    body = html(client.get("/sensing/", {"type": "water_level"}))
    assert "人民路下穿通道易涝点" in body and "县城监测站" not in body
    Device.objects.filter(pk=pw.gas.pk).update(status=DeviceStatus.MAINTENANCE)
    body = html(client.get("/sensing/", {"status": "maintenance"}))
    assert "燃气井" in body and "人民路下穿通道易涝点" not in body


def test_a_unit_handler_sees_only_its_units_devices(pw: PageWorld) -> None:
    body = html(browser(pw, "h_cgj").get("/sensing/"))
    assert "人民路下穿通道易涝点" in body
    assert "县城监测站" not in body and "燃气井" not in body
    assert {p["code"] for p in script_json(body, "device-map-data")["points"]} == {"wl-9"}


def test_the_sensing_pages_refuse_citizens_and_send_strangers_to_sign_in(pw: PageWorld) -> None:
    assert browser(pw, "citizen").get("/sensing/").status_code == 403
    assert browser(pw, "citizen").get("/sensing/devices/wl-9/").status_code == 403
    r = Client().get("/sensing/")
    assert r.status_code == 302 and "/login/" in r["Location"]


# ---------------------------------------------------------------------------------------------- one device


def test_a_device_outside_the_readers_scope_does_not_exist_for_them(pw: PageWorld) -> None:
    assert browser(pw, "h_cgj").get("/sensing/devices/aq-9/").status_code == 404
    assert browser(pw, "h_sthj").get("/sensing/devices/wl-9/").status_code == 404
    assert browser(pw, "h_cgj").get("/sensing/devices/nope/").status_code == 404
    assert browser(pw, "h_cgj").get("/sensing/devices/wl-9/").status_code == 200


def test_device_page_shows_facts_latest_values_alerts_and_quarantine(pw: PageWorld) -> None:
    r = browser(pw, "operator").get("/sensing/devices/aq-9/")
    assert r.status_code == 200
    body = html(r)
    assert "县城监测站" in body and "AirQualityObserved" in body and "临江市生态环境局" in body
    assert re.search(r'data-count="accepted">4<', body)
    assert re.search(r'data-count="rejected">1<', body)
    assert "超出物理量程" in body  # the quarantine's reason with its count
    assert "PM2.5 阈值" in body  # the device's alert in its list
    assert "设备管理" not in body  # an operator does not manage devices


def test_device_chart_holds_the_readings_the_warning_lines_and_the_alerts(pw: PageWorld) -> None:
    body = html(browser(pw, "operator").get("/sensing/devices/wl-9/", {"q": "level", "range": "24h"}))
    chart = script_json(body, "device-chart-data")
    assert chart["resolution"] == "raw"
    assert [p[1] for p in chart["points"]] == [0.5, 0.6, 4.0, 12.0, 24.0, 35.0, 33.0]
    assert [(t["level"], t["value"]) for t in chart["thresholds"]] == [(1, 10), (2, 20), (3, 30), (4, 50)]
    assert chart["thresholds"][2]["colour"] == "#f57c00"
    alert = Alert.objects.get(device=pw.water)
    assert alert.level == 3 and alert.case is not None
    [marked] = chart["alerts"]
    assert marked["id"] == alert.pk and marked["level"] == 3 and marked["colour"] == "#f57c00"
    assert marked["start"] == int(alert.valid_from.timestamp() * 1000)
    assert marked["value"] == alert.value and marked["url"] == f"/warning/alerts/{alert.pk}/"


def test_device_chart_over_a_week_is_hourly_with_min_and_max(pw: PageWorld) -> None:
    body = html(browser(pw, "operator").get("/sensing/devices/wl-9/", {"q": "level", "range": "7d"}))
    chart = script_json(body, "device-chart-data")
    assert chart["resolution"] == "hour"
    assert all(len(p) == 4 and p[2] <= p[1] <= p[3] for p in chart["points"])
    assert max(p[3] for p in chart["points"]) == 35.0
    assert sum(1 for _ in chart["points"]) in (3, 4)  # 7 readings half an hour apart


def test_chart_of_another_quantity_leaves_out_alerts_of_other_quantities(pw: PageWorld) -> None:
    body = html(browser(pw, "operator").get("/sensing/devices/aq-9/", {"q": "temp"}))
    chart = script_json(body, "device-chart-data")
    assert chart["quantity"]["code"] == "temp" and chart["alerts"] == [] and chart["thresholds"] == []
    body = html(browser(pw, "operator").get("/sensing/devices/aq-9/", {"q": "pm25", "range": "30d"}))
    assert [a["level"] for a in script_json(body, "device-chart-data")["alerts"]] == [1]


def test_maintenance_on_and_off_through_the_page(pw: PageWorld) -> None:
    client = browser(pw, "admin")
    assert "设备管理" in html(client.get("/sensing/devices/wl-9/"))
    r = client.post("/sensing/devices/wl-9/status/", {"status": "maintenance"})
    assert r.status_code == 302 and r["Location"] == "/sensing/devices/wl-9/"
    pw.water.refresh_from_db()
    assert pw.water.status == DeviceStatus.MAINTENANCE
    body = html(client.get("/sensing/devices/wl-9/"))
    assert "结束维护" in body and "设备已进入维护状态" in body
    client.post("/sensing/devices/wl-9/status/", {"status": "online"})
    pw.water.refresh_from_db()
    assert pw.water.status == DeviceStatus.ONLINE


def test_an_invalid_status_is_refused_with_a_message(pw: PageWorld) -> None:
    client = browser(pw, "admin")
    client.post("/sensing/devices/wl-9/status/", {"status": "broken"})
    pw.water.refresh_from_db()
    assert pw.water.status == DeviceStatus.ONLINE
    assert "未知的设备状态" in html(client.get("/sensing/devices/wl-9/"))


def test_only_device_managers_may_press_the_buttons(pw: PageWorld) -> None:
    r = browser(pw, "operator").post("/sensing/devices/wl-9/status/", {"status": "maintenance"})
    assert r.status_code == 403
    assert browser(pw, "operator").post("/sensing/devices/wl-9/token/").status_code == 403
    pw.water.refresh_from_db()
    assert pw.water.status == DeviceStatus.ONLINE and pw.water.token_digest == ""


def test_a_new_device_token_is_shown_once_and_only_its_digest_kept(pw: PageWorld) -> None:
    client = browser(pw, "admin")
    r = client.post("/sensing/devices/wl-9/token/")
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    token = re.search(r"<code data-token>(shd_[^<]+)</code>", html(r)).group(1)  # type: ignore[union-attr]
    pw.water.refresh_from_db()
    assert pw.water.token_digest == services.device_token_digest(token)
    assert services.device_authenticate(token) == pw.water
    assert token not in html(client.get("/sensing/devices/wl-9/"))


def main_nav(body: str) -> str:
    found = re.search(r'<nav class="mainnav".*?</nav>', body, re.S)
    assert found, "no main navigation"
    return found.group(0)


def test_navigation_offers_the_device_map_to_those_who_may_see_it(pw: PageWorld) -> None:
    nav = main_nav(html(browser(pw, "operator").get("/hotline/cases/")))
    assert 'href="/sensing/"' in nav and "设备地图" in nav and "风险预警" in nav
    assert 'href="/sensing/"' not in main_nav(html(browser(pw, "citizen").get("/hotline/cases/")))


def test_device_map_lists_nothing_for_an_area_role_outside_every_device(pw: PageWorld) -> None:
    # The grid worker's community (江城区 南街道 西社区) holds the water-level device; nothing else.
    body = html(browser(pw, "grid").get("/sensing/"))
    assert "人民路下穿通道易涝点" in body and "县城监测站" not in body
