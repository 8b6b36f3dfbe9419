"""The readings pipe: good, duplicate and bad readings through POST /api/v1/readings (JSON, NDJSON, CSV)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from shizhi.core.models import Role
from shizhi.core.tests.factories import make_user
from shizhi.sensing import services
from shizhi.sensing.ingest import ingest_records, parse_time
from shizhi.sensing.models import Device, HourlyRollup, QuarantinedReading, Reading, RejectReason
from shizhi.sensing.rollups import HourPoint, hourly, rollup_refresh
from shizhi.sensing.tests.factories import T0, Site, build_site

pytestmark = pytest.mark.django_db

HOUR0 = T0 - T0 % 3600


@pytest.fixture
def site() -> Site:
    return build_site()


@pytest.fixture
def gateway(site: Site, api_as: Any) -> Any:
    return api_as(make_user("gateway", (Role.ADMIN, None, None)))


def post(client: Any, body: Any, content_type: str = "application/json", token: str | None = None) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"Authorization": f"Bearer {token}"} if token else client._headers()
    return client.client.post("/api/v1/readings", data=data, content_type=content_type, headers=headers)


def snapshot() -> tuple[Any, ...]:
    return (
        sorted(Reading.objects.values_list("device_id", "quantity_id", "ts", "value")),
        sorted(
            HourlyRollup.objects.values_list("device_id", "quantity_id", "hour", "n", "total", "vmin", "vmax")
        ),
        QuarantinedReading.objects.count(),
        sorted(Device.objects.values_list("code", "accepted_count", "duplicate_count", "rejected_count")),
    )


def air(ts: int, value: float, quantity: str = "pm25", device: str = "air-001") -> dict[str, Any]:
    return {"device": device, "quantity": quantity, "time": ts, "value": value}


# ------------------------------------------------------------------------------------------------ good readings
def test_a_batch_is_stored_and_rolled_up(site: Site, gateway: Any) -> None:
    body = [air(HOUR0 + 600 * i, 10.0 + i) for i in range(8)]  # 6 in the first hour, 2 in the next
    r = post(gateway, body)
    assert r.status_code == 200, r.content
    out = r.json()
    assert (out["received"], out["accepted"], out["duplicate"], out["rejected"]) == (8, 8, 0, 0)
    assert out["errors"] == []
    pm25 = site.quantity(site.air, "pm25")
    assert list(Reading.objects.filter(device=site.air).order_by("ts").values_list("ts", "value")) == [
        (HOUR0 + 600 * i, 10.0 + i) for i in range(8)
    ]
    expected = [HourPoint(HOUR0, 6, 12.5, 10.0, 15.0), HourPoint(HOUR0 + 3600, 2, 16.5, 16.0, 17.0)]
    # before any refresh the hours are computed from the readings; after it, the first is materialised
    assert hourly(device=site.air, quantity_id=pm25.pk, start=HOUR0, end=HOUR0 + 7200) == expected
    rollup_refresh()
    stored = list(
        HourlyRollup.objects.filter(device=site.air)
        .order_by("hour")
        .values_list("hour", "n", "total", "vmin", "vmax")
    )
    assert stored == [(HOUR0, 6, 75.0, 10.0, 15.0), (HOUR0 + 3600, 2, 33.0, 16.0, 17.0)]
    site.air.refresh_from_db()
    assert site.air.rollup_from == HOUR0 + 3600  # the newest hour stays open
    assert hourly(device=site.air, quantity_id=pm25.pk, start=HOUR0, end=HOUR0 + 7200) == expected
    post(gateway, [air(HOUR0 + 7000, 30.0)])
    rollup_refresh()
    assert HourlyRollup.objects.get(device=site.air, hour=HOUR0 + 3600).n == 3
    site.air.refresh_from_db()
    assert (site.air.accepted_count, site.air.duplicate_count, site.air.rejected_count) == (9, 0, 0)
    assert site.air.last_seen_at is not None
    assert site.air.last_reading_ts == HOUR0 + 7000


def test_iso_times_and_the_values_form(site: Site, gateway: Any) -> None:
    r = post(
        gateway,
        [
            {"device": "air-001", "time": "2026-05-28T20:00:00Z", "values": {"pm25": 30, "pm10": 60.5}},
            {
                "device": "air-001",
                "time": "2026-05-29 04:10:00",
                "quantity": "temp",
                "value": "21.5",
            },  # local
        ],
    )
    assert r.json()["accepted"] == 3
    t = int(datetime(2026, 5, 28, 20, tzinfo=UTC).timestamp())
    assert set(Reading.objects.values_list("quantity__code", "ts", "value")) == {
        ("pm25", t, 30.0),
        ("pm10", t, 60.5),
        ("temp", t + 600, 21.5),  # 04:10 Asia/Shanghai = 20:10 UTC
    }


def test_ndjson_and_csv(site: Site, gateway: Any) -> None:
    nd = "\n".join(json.dumps(air(HOUR0 + i, 20.0)) for i in range(3)) + "\nnot json\n"
    out = post(gateway, nd, "application/x-ndjson").json()
    assert (out["accepted"], out["rejected"], out["rejected_by_reason"]) == (3, 1, {"malformed": 1})
    csv_body = (
        f"device,quantity,time,value\nwl-001,level,{HOUR0},2.5\nwl-001,level,{HOUR0 + 300},3\n"
        f"wl-001,level,{HOUR0 + 600}\n"
    )
    out = post(gateway, csv_body, "text/csv").json()
    assert (out["accepted"], out["rejected"]) == (2, 1)
    assert list(Reading.objects.filter(device=site.water).values_list("value", flat=True).order_by("ts")) == [
        2.5,
        3.0,
    ]


def test_device_token_posts_its_own_readings_only(site: Site, api_as: Any) -> None:
    token = services.device_issue_token(actor=None, device=site.water)
    client = Client()
    r = client.post(
        "/api/v1/readings",
        data=json.dumps(
            [
                {"device": "wl-001", "quantity": "level", "time": HOUR0, "value": 5},
                {"device": "air-001", "quantity": "pm25", "time": HOUR0, "value": 5},
            ]
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    out = r.json()
    assert (out["accepted"], out["rejected"]) == (1, 1)
    assert out["errors"][0]["reason"] == "not_your_device"
    q = QuarantinedReading.objects.get()
    assert (q.reason, q.device_code, q.source) == ("not_your_device", "air-001", "http")
    # the rejected reading is counted against the device named in it, not the token's device
    assert Device.objects.get(code="air-001").rejected_count == 0
    assert QuarantinedReading.objects.filter(device__isnull=True).count() == 1
    # a revoked (replaced) token no longer works
    services.device_issue_token(actor=None, device=site.water)
    r = client.post(
        "/api/v1/readings",
        data="[]",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 401


# ------------------------------------------------------------------------------------------------ duplicates
def test_duplicates_are_idempotent(site: Site, gateway: Any) -> None:
    body = [air(HOUR0 + 60 * i, 30.0) for i in range(5)]
    assert post(gateway, body).json()["accepted"] == 5
    before = snapshot()
    again = [*body, air(HOUR0 + 60, 99.0)]  # same second, other value: still the stored one
    out = post(gateway, again).json()
    assert (out["accepted"], out["duplicate"], out["rejected"]) == (0, 6, 0)
    after = snapshot()
    assert after[:3] == before[:3]  # readings, rollups, quarantine unchanged
    assert Device.objects.get(code="air-001").duplicate_count == 6


def test_duplicates_within_a_batch_and_late_readings(site: Site, gateway: Any) -> None:
    out = post(gateway, [air(HOUR0 + 600, 1.0), air(HOUR0 + 600, 2.0), air(HOUR0 + 1200, 3.0)]).json()
    assert (out["accepted"], out["duplicate"]) == (2, 1)
    # an older reading that is new is stored; an older one that is stored is a duplicate
    out = post(gateway, [air(HOUR0, 4.0), air(HOUR0 + 600, 5.0)]).json()
    assert (out["accepted"], out["duplicate"]) == (1, 1)
    assert sorted(Reading.objects.values_list("ts", "value")) == [
        (HOUR0, 4.0),
        (HOUR0 + 600, 1.0),
        (HOUR0 + 1200, 3.0),
    ]
    rollup_refresh()
    roll = HourlyRollup.objects.get(hour=HOUR0)
    assert (roll.n, roll.total, roll.vmin, roll.vmax) == (3, 8.0, 1.0, 4.0)
    # a late reading of an hour already rolled up moves the device's rollup point back to that hour
    site.air.refresh_from_db()
    assert site.air.rollup_from == HOUR0
    post(gateway, [air(HOUR0 + 3600, 7.0), air(HOUR0 + 7200, 8.0)])
    rollup_refresh()
    post(gateway, [air(HOUR0 + 60, 10.0)])
    site.air.refresh_from_db()
    assert site.air.rollup_from == HOUR0
    rollup_refresh()
    roll = HourlyRollup.objects.get(hour=HOUR0)
    assert (roll.n, roll.total, roll.vmin, roll.vmax) == (4, 18.0, 1.0, 10.0)


# ------------------------------------------------------------------------------------------------ rejected
NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("reading", "reason", "counted_on"),
    [
        ("just text", RejectReason.MALFORMED, None),
        ({"quantity": "pm25", "time": T0, "value": 1}, RejectReason.MALFORMED, None),
        ({"device": "nope-9", "quantity": "pm25", "time": T0, "value": 1}, RejectReason.UNKNOWN_DEVICE, None),
        (
            {"device": "air-001", "quantity": "noise", "time": T0, "value": 1},
            RejectReason.UNKNOWN_QUANTITY,
            "air-001",
        ),
        (
            {"device": "air-001", "quantity": "pm25", "time": "yesterday", "value": 1},
            RejectReason.BAD_TIMESTAMP,
            "air-001",
        ),
        ({"device": "air-001", "quantity": "pm25", "value": 1}, RejectReason.MALFORMED, "air-001"),
        (
            {"device": "air-001", "quantity": "pm25", "time": int(NOW.timestamp()) + 3600, "value": 1},
            RejectReason.FUTURE_TIMESTAMP,
            "air-001",
        ),
        (
            {"device": "air-001", "quantity": "pm25", "time": "1999-12-31T00:00:00Z", "value": 1},
            RejectReason.TOO_OLD,
            "air-001",
        ),
        (
            {"device": "air-001", "quantity": "pm25", "time": T0, "value": "NaN"},
            RejectReason.NOT_A_NUMBER,
            "air-001",
        ),
        (
            {"device": "air-001", "quantity": "pm25", "time": T0, "value": "abc"},
            RejectReason.NOT_A_NUMBER,
            "air-001",
        ),
        (
            {"device": "air-001", "quantity": "pm25", "time": T0, "value": True},
            RejectReason.NOT_A_NUMBER,
            "air-001",
        ),
        (  # an integer literal of 401 digits: no float has it (it once made the pipe fail with a 500)
            {"device": "air-001", "quantity": "pm25", "time": T0, "value": 10**400},
            RejectReason.NOT_A_NUMBER,
            "air-001",
        ),
        (  # a NaN literal (not JSON, but Python's json writes it): the body is still read
            {"device": "air-001", "quantity": "pm25", "time": T0, "value": float("nan")},
            RejectReason.NOT_A_NUMBER,
            "air-001",
        ),
        (
            {"device": "air-001", "quantity": "pm25", "time": T0, "value": None},
            RejectReason.NOT_A_NUMBER,
            "air-001",
        ),
        (
            {"device": "air-001", "quantity": "pm25", "time": T0, "value": -1},
            RejectReason.OUT_OF_RANGE,
            "air-001",
        ),
        (
            {"device": "air-001", "quantity": "pm25", "time": T0, "value": 2001},
            RejectReason.OUT_OF_RANGE,
            "air-001",
        ),
    ],
)
def test_each_reason_is_quarantined_and_counted(
    site: Site, gateway: Any, reading: Any, reason: str, counted_on: str | None
) -> None:
    good = air(T0 - 60, 42.0)
    out = post(gateway, [good, reading]).json()
    assert (out["received"], out["accepted"], out["duplicate"], out["rejected"]) == (2, 1, 0, 1)
    assert out["rejected_by_reason"] == {str(reason): 1}
    assert out["errors"][0]["index"] == 1 and out["errors"][0]["reason"] == str(reason)
    assert out["errors"][0]["message"]
    q = QuarantinedReading.objects.get()
    assert q.reason == reason and q.raw
    assert (q.device.code if q.device else None) == counted_on
    if counted_on:
        assert Device.objects.get(code=counted_on).rejected_count == 1
    assert Reading.objects.count() == 1


def test_counts_always_add_up(site: Site) -> None:
    records = [air(T0 + i, float(i % 50)) for i in range(200)]
    records += [air(T0 + i, float(i)) for i in range(50)]  # duplicates
    records += [{"device": "x"}] * 7 + [air(T0, 5000.0)] * 3
    result = ingest_records(records, source="http", detect=False)
    assert result.received == 260
    assert (result.accepted, result.duplicate, result.rejected) == (200, 50, 10)
    assert result.accepted + result.duplicate + result.rejected == result.received
    assert QuarantinedReading.objects.count() == 10


# ------------------------------------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("[{", "application/json", 400, "bad_request"),
        ('"a string"', "application/json", 400, "bad_request"),
        ("a,b,c\n1,2,3\n", "text/csv", 400, "bad_request"),
        ("<xml/>", "application/xml", 400, "bad_request"),
        (b"\xff\xfe[", "application/json", 400, "bad_request"),
    ],
)
def test_unreadable_bodies_change_nothing(
    site: Site, gateway: Any, body: Any, content_type: str, status: int, code: str
) -> None:
    post(gateway, [air(T0, 1.0)])
    before = snapshot()
    r = post(gateway, body, content_type)
    assert r.status_code == status
    assert r.json()["code"] == code and r.json()["message"]
    assert snapshot() == before


def test_a_units_gateway_posts_for_its_own_devices_only(site: Site, api_as: Any) -> None:
    steward = api_as(make_user("steward1", (Role.DATA_STEWARD, site.world.units["sthj"], None)))
    out = post(
        steward, [air(T0, 1.0), {"device": "wl-001", "quantity": "level", "time": T0, "value": 1}]
    ).json()
    assert (out["accepted"], out["rejected"], out["rejected_by_reason"]) == (1, 1, {"not_your_device": 1})


def test_who_may_post(site: Site, api_as: Any, anon: Any) -> None:
    before = snapshot()
    r = post(anon, [air(T0, 1.0)])
    assert r.status_code == 401
    operator = api_as(make_user("operator1", (Role.OPERATOR, None, None)))
    r = post(operator, [air(T0, 1.0)])
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    assert snapshot() == before


def test_too_large_body_is_refused(site: Site, gateway: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("shizhi.sensing.api.MAX_BODY", 100)
    before = snapshot()
    r = post(gateway, [air(T0 + i, 1.0) for i in range(10)])
    assert r.status_code == 413 and r.json()["code"] == "bad_request"
    assert snapshot() == before


# ------------------------------------------------------------------------------------------------ devices
def test_devices_are_placed_in_their_grid(site: Site) -> None:
    assert site.air.grid is not None and site.air.grid.code == "331202001001001"
    assert site.air.area_path.startswith(site.world.areas["331202000000"].path)
    assert site.gas.grid is None and site.gas.area_path == ""


def test_parse_time() -> None:
    assert parse_time(1_780_000_000_123) == 1_780_000_000  # milliseconds
    assert parse_time("1780000000") == 1_780_000_000
    assert parse_time("2026-01-01T08:00:00+08:00") == int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    assert parse_time("2026-01-01T08:00:00") == int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    assert parse_time(float("nan")) is None and parse_time(True) is None and parse_time("soon") is None
