"""Replay: the Beijing air-quality layout (on small files written here in the same layout), time order across
files, pacing at a chosen speed, generic CSV and NDJSON, and the three ways in (direct, HTTP, MQTT)."""

from __future__ import annotations

import io
import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from shizhi.conftest import require_service
from shizhi.core import services as core_services
from shizhi.core.models import Role
from shizhi.core.tests.factories import make_user
from shizhi.sensing import services
from shizhi.sensing.models import Device, Quantity, QuarantinedReading, Reading
from shizhi.sensing.replay import (
    BEIJING_DEVICE_TYPE,
    BEIJING_QUANTITIES,
    BEIJING_STATIONS,
    DirectSink,
    HttpSink,
    MqttSink,
    ReplayError,
    beijing_device_code,
    beijing_readings,
    detect_format,
    ensure_beijing_devices,
    paced,
    readings_url,
    replay,
)
from shizhi.sensing.types import DEFAULT_TYPES

HEADER = (
    '"No","year","month","day","hour","PM2.5","PM10","SO2","NO2","CO","O3","TEMP","PRES","DEWP","RAIN","wd",'
    '"WSPM","station"'
)
COLUMNS = ["PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "TEMP", "PRES", "DEWP", "RAIN"]
T2013 = int(datetime(2013, 2, 28, 16, tzinfo=UTC).timestamp())  # 2013-03-01 00:00 in Beijing


def station_file(folder: Path, station: str, hours: int, na: dict[int, set[str]] | None = None) -> Path:
    """A station file in the layout of PRSA_Data_<station>_20130301-20170228.csv, ``hours`` rows from
    2013-03-01 00:00; ``na``: hour -> columns that are NA in that row."""
    na = na or {}
    lines = [HEADER]
    base = 10.0 * (1 + sorted(BEIJING_STATIONS).index(station))
    for h in range(hours):
        values = [base + h, base + 2 * h, 4, 7, 300, 77, -0.7 + h / 10, 1023, -18.8, 0]
        cells = ["NA" if c in na.get(h, set()) else f"{v:g}" for c, v in zip(COLUMNS, values, strict=True)]
        wspm = "NA" if "WSPM" in na.get(h, set()) else "4.4"
        lines.append(f'{h + 1},2013,3,1,{h},{",".join(cells)},"NNW",{wspm},"{station}"')
    path = folder / f"PRSA_Data_{station}_20130301-20170228.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def beijing(tmp_path: Path) -> Path:
    folder = tmp_path / "beijing_air"
    folder.mkdir()
    station_file(folder, "Aotizhongxin", 4, {1: {"PM2.5"}})
    station_file(folder, "Dongsi", 4, {2: {"CO", "O3"}})
    return folder


class Recorder:
    """A sink that keeps what it is sent."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []
        self.closed = False

    def send(self, records: list[Any]) -> None:
        self.batches.append(records)

    def close(self) -> None:
        self.closed = True


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


# ------------------------------------------------------------------------------------------------ Beijing layout
def test_a_station_file_becomes_readings_of_one_device_and_na_cells_are_skipped(beijing: Path) -> None:
    path = beijing / "PRSA_Data_Aotizhongxin_20130301-20170228.csv"
    assert detect_format(path) == "beijing"
    skipped: Counter[str] = Counter()
    readings = list(beijing_readings(path, skipped=skipped))
    assert len(readings) == 4 * 11 - 1 and skipped == {"pm25": 1}
    assert readings[0] == {"device": "bj-air-aotizhongxin", "quantity": "pm25", "time": T2013, "value": 10.0}
    assert [r["quantity"] for r in readings[:11]] == list(BEIJING_QUANTITIES.values())
    assert {r["time"] for r in readings} == {T2013 + 3600 * h for h in range(4)}
    hour1 = [r for r in readings if r["time"] == T2013 + 3600]
    assert "pm25" not in {r["quantity"] for r in hour1} and len(hour1) == 10
    assert beijing_device_code("Wanshouxigong") == "bj-air-wanshouxigong"


def test_the_beijing_quantities_are_those_of_the_air_quality_type_and_the_real_values_fit_its_ranges() -> (
    None
):
    air = next(t for t in DEFAULT_TYPES if t.code == BEIJING_DEVICE_TYPE)
    ranges = {q.code: (q.min_value, q.max_value) for q in air.quantities}
    assert set(BEIJING_QUANTITIES.values()) <= set(ranges)
    # the extremes of the real files (2013-2017, all 12 stations)
    extremes = {"pm25": (2, 999), "pm10": (2, 999), "so2": (0.2856, 500), "no2": (1.0265, 290),
                "co": (100, 10000), "o3": (0.2142, 1071), "temp": (-19.9, 41.6), "pres": (982.4, 1042.8),
                "dewp": (-43.4, 29.1), "rain": (0, 72.5), "wspm": (0, 13.2)}  # fmt: skip
    for code, (lo, hi) in extremes.items():
        assert ranges[code][0] <= lo and hi <= ranges[code][1], code
    assert len(BEIJING_STATIONS) == 12


def test_the_real_files_when_present_start_as_the_fixture_does() -> None:
    folder = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "beijing_air"
    path = folder / "PRSA_Data_Aotizhongxin_20130301-20170228.csv"
    if not path.exists():
        pytest.skip("../shared/data/beijing_air is not here")
    first = next(beijing_readings(path))
    assert first == {"device": "bj-air-aotizhongxin", "quantity": "pm25", "time": T2013, "value": 4.0}


# ------------------------------------------------------------------------------------------------ order and pace
def test_files_are_merged_in_time_order_and_batched(beijing: Path) -> None:
    sink = Recorder()
    stats = replay([beijing], sink, batch=30)
    sent = [r for b in sink.batches for r in b]
    assert [len(b) for b in sink.batches] == [30, 30, 25] and sink.closed
    assert [r["time"] for r in sent] == sorted(r["time"] for r in sent)
    assert {r["device"] for r in sent[:21]} == {
        "bj-air-aotizhongxin",
        "bj-air-dongsi",
    }  # both in the first hour
    assert (stats.files, stats.sent, stats.skipped) == (2, 85, 3)
    assert stats.skipped_by_quantity == {"pm25": 1, "co": 1, "o3": 1}
    assert (stats.first_ts, stats.last_ts) == (T2013, T2013 + 3 * 3600)
    limited = Recorder()
    assert replay([beijing], limited, start=T2013 + 3600, end=T2013 + 3 * 3600, limit=25).sent == 25
    assert {r["time"] for b in limited.batches for r in b} == {T2013 + 3600, T2013 + 7200}


def test_pacing_follows_the_data_clock_at_the_chosen_speed() -> None:
    items = [(1000 + 3600 * h, {"h": h, "i": i}) for h in range(4) for i in range(3)]
    clock = FakeClock()
    batches = list(paced(items, speed=3600, batch=100, clock=clock, sleep=clock.sleep))
    assert [len(b) for b in batches] == [3, 3, 3, 3]
    assert clock.slept == [1.0, 1.0, 1.0]  # an hour of data per second
    clock = FakeClock()
    assert [len(b) for b in paced(items, speed=7200, batch=2, clock=clock, sleep=clock.sleep)] == [2, 1] * 4
    assert clock.slept == [0.5, 0.5, 0.5]
    clock = FakeClock()
    assert [len(b) for b in paced(items, speed=0, batch=5, clock=clock, sleep=clock.sleep)] == [5, 5, 2]
    assert clock.slept == []


def test_replay_at_speed_sleeps_through_the_real_replay_loop(beijing: Path) -> None:
    clock = FakeClock()
    sink = Recorder()
    replay([beijing], sink, speed=1800, clock=clock, sleep=clock.sleep)
    assert clock.slept == [2.0, 2.0, 2.0]
    assert [len(b) for b in sink.batches] == [22, 21, 20, 22]  # one batch per hour of data


# ------------------------------------------------------------------------------------------------ into the store
@pytest.mark.django_db
def test_replay_direct_stores_every_reading_that_was_sent(beijing: Path) -> None:
    created = ensure_beijing_devices(["Aotizhongxin", "Dongsi"])
    assert created == ["bj-air-aotizhongxin", "bj-air-dongsi"]
    assert ensure_beijing_devices(["Aotizhongxin"]) == []  # idempotent
    dongsi = Device.objects.get(code="bj-air-dongsi")
    assert dongsi.name == "东四空气质量监测站" and (dongsi.lat, dongsi.lon) == (39.929, 116.417)

    stats = replay([beijing], DirectSink(detect=False), batch=40)
    r = stats.result
    assert (stats.sent, r.received, r.accepted, r.duplicate, r.rejected) == (85, 85, 85, 0, 0)
    assert Reading.objects.count() == 85
    pm25 = Quantity.objects.get(device_type__code=BEIJING_DEVICE_TYPE, code="pm25")
    assert Reading.objects.get(device_id=dongsi.pk, quantity_id=pm25.pk, ts=T2013 + 7200).value == 42.0

    again = replay([beijing], DirectSink(detect=False))  # a second replay is idempotent
    assert (again.result.accepted, again.result.duplicate) == (0, 85)
    assert Reading.objects.count() == 85 and not QuarantinedReading.objects.exists()


@pytest.mark.django_db
def test_generic_csv_and_ndjson_are_sorted_and_every_line_is_accounted_for(tmp_path: Path) -> None:
    services.device_types_ensure(actor=None)
    services.device_register(
        actor=None, data=services.DeviceIn(code="air-a", name="a", device_type="air_quality")
    )
    t0 = T2013 + 10 * 365 * 86400
    (tmp_path / "a.csv").write_text(
        "device,quantity,time,value\n"
        f"air-a,pm25,{t0 + 120},12\n"
        f"air-a,pm25,{t0},10\n"
        "air-a,pm25,a line that is too short\n"
        f"air-a,pm25,{t0 + 60},11\n",
        encoding="utf-8",
    )
    (tmp_path / "b.ndjson").write_text(
        json.dumps({"device": "air-a", "time": t0 + 30, "values": {"pm25": 1, "pm10": 2}})
        + "\n{not json\n"
        + json.dumps({"device": "air-b", "quantity": "pm25", "time": t0 + 90, "value": 3})
        + "\n",
        encoding="utf-8",
    )
    assert detect_format(tmp_path / "a.csv") == "csv" and detect_format(tmp_path / "b.ndjson") == "ndjson"
    sink = Recorder()
    replay([tmp_path], sink)
    sent = sink.batches[0]
    assert sent[:2] == ["air-a,pm25,a line that is too short", "{not json"]  # no time: first
    assert [r["time"] for r in sent[2:]] == [
        str(t0),
        t0 + 30,
        str(t0 + 60),
        t0 + 90,
        str(t0 + 120),
    ]
    stats = replay([tmp_path], DirectSink(detect=False))
    r = stats.result
    assert stats.sent == 8 and (r.received, r.accepted, r.rejected) == (8, 5, 3)
    assert r.rejected_by_reason == {"malformed": 2, "unknown_device": 1}
    assert Reading.objects.count() == 5 and QuarantinedReading.objects.count() == 3
    with pytest.raises(ReplayError, match="CSV表头"):
        (tmp_path / "c.csv").write_text("a,b\n1,2\n", encoding="utf-8")
        replay([tmp_path / "c.csv"], Recorder())


@pytest.mark.django_db
def test_the_replay_command_registers_the_stations_and_reports_what_it_did(
    beijing: Path, tmp_path: Path
) -> None:
    out, target = io.StringIO(), tmp_path / "replay.json"
    call_command(
        "sensing",
        "replay",
        str(beijing),
        "--create-devices",
        "--no-detect",
        "--json",
        str(target),
        stdout=out,
    )
    text = out.getvalue()
    assert "已登记 2 台设备" in text and "发送 85 个读数" in text
    assert "跳过缺失值（NA）3 个：co 1，o3 1，pm25 1" in text and "入库 85，重复 0，隔离 0" in text
    assert "数据时间 2013-03-01 00:00 至 2013-03-01 03:00" in text
    figures = json.loads(target.read_text(encoding="utf-8"))
    assert figures["accepted"] == 85 and figures["skipped"] == 3 and figures["via"] == "direct"
    assert Reading.objects.count() == 85
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("sensing", "replay", str(tmp_path / "missing.csv"), stdout=io.StringIO())
    with pytest.raises(CommandError, match="--token"):
        call_command("sensing", "replay", str(beijing), "--via", "http", stdout=io.StringIO())


# ------------------------------------------------------------------------------------------------ HTTP and MQTT
def test_the_readings_url_accepts_a_server_or_the_endpoint() -> None:
    assert readings_url("http://127.0.0.1:8000") == ("http", "127.0.0.1", 8000, "/api/v1/readings")
    assert readings_url("https://city.example/shizhi/") == (
        "https",
        "city.example",
        443,
        "/shizhi/api/v1/readings",
    )
    assert readings_url("127.0.0.1:9000/api/v1/readings")[3] == "/api/v1/readings"


@pytest.fixture
def server() -> Iterator[str]:
    """The platform served by waitress in a thread of this process (it sees the test database)."""
    from shizhi.sensing.bench import ThreadedServer

    srv = ThreadedServer(threads=2, close_connections=True)
    try:
        yield srv.url
    finally:
        srv.close()
        assert not srv.thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_replay_through_the_http_endpoint_of_a_running_server(beijing: Path, server: str) -> None:
    ensure_beijing_devices(["Aotizhongxin", "Dongsi"])
    gateway = make_user("gateway", (Role.ADMIN, None, None))
    _, token = core_services.token_create(actor=gateway, user=gateway, name="replay")
    sink = HttpSink(server, token)
    stats = replay([beijing], sink, batch=30)
    r = stats.result
    assert sink.requests == 3 and (r.received, r.accepted, r.rejected) == (85, 85, 0)
    assert Reading.objects.count() == 85

    device_token = services.device_issue_token(actor=None, device=Device.objects.get(code="bj-air-dongsi"))
    only_dongsi = replay([beijing], HttpSink(server + "/api/v1/readings", device_token))
    # a device token may post only its own readings: the other station's are quarantined, its own are duplicates
    assert only_dongsi.result.duplicate == 42 and only_dongsi.result.rejected_by_reason == {
        "not_your_device": 43
    }
    with pytest.raises(ReplayError, match="HTTP 401"):
        replay([beijing], HttpSink(server, "not-a-token"))


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_replay_through_mqtt_reaches_the_store_via_the_listener(beijing: Path) -> None:
    from shizhi.sensing.mqtt import (
        Broker,
        Listener,
        ListenerOptions,
        forget_session,
        start_in_thread,
        wait_for,
    )

    broker = Broker.from_url(os.environ.get("SHIZHI_MQTT_URL", "mqtt://127.0.0.1:1883"))
    require_service("mosquitto", broker.host, broker.port)
    ensure_beijing_devices(["Aotizhongxin", "Dongsi"])
    run_id = f"shizhi-test-{uuid.uuid4().hex[:12]}"
    listener = Listener(
        ListenerOptions(broker=broker, client_id=run_id, prefix=run_id, detect=False, report_every=0)
    )
    thread, stop, errors = start_in_thread(listener)
    try:
        assert listener.subscribed.wait(30)
        sink = MqttSink(str(broker), prefix=run_id, message_size=5)
        stats = replay([beijing], sink, batch=30)
        # batches of 30 readings, one message per device and 5 readings: (19, 11), (13, 17), (11, 14) readings
        assert stats.sent == 85 and sink.messages == 20
        assert wait_for(lambda: listener.stats.readings >= 85, 30)
    finally:
        stop.set()
        thread.join(30)
        forget_session(broker, run_id)
    assert not errors
    assert (listener.stats.accepted, listener.stats.rejected) == (85, 0)
    assert Reading.objects.count() == 85
