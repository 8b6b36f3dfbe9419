"""The sensing demo (物联感知演示数据): devices in the demo city, a history through the real pipe with its
incidents, alerts (one opening a hotline case), and --air replaying Beijing station files (a tiny fixture in
their format, written here) shifted to end now."""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone

from shizhi.demo.registry import DEMO_EXTENSIONS, SeedOptions
from shizhi.demo.services import seed_demo
from shizhi.hotline.demo_data import seed_hotline
from shizhi.hotline.models import Case, Channel
from shizhi.sensing import demo_data
from shizhi.sensing.demo_data import BROKEN, DEMO_PREFIX, SIZES, Weather, model_for, seed_sensing
from shizhi.sensing.models import Device, DeviceStatus, HourlyRollup, Quantity, Reading
from shizhi.warning.models import Alert, AlertStatus

pytestmark = pytest.mark.django_db

WEEK = 7 * 86400


def test_the_demo_step_is_registered_after_the_hotline() -> None:
    from shizhi.hotline import demo_data as hotline_demo

    steps = [s.__module__ for s in DEMO_EXTENSIONS]
    assert hotline_demo.__name__ in steps and demo_data.__name__ in steps
    assert steps.index(demo_data.__name__) > steps.index(hotline_demo.__name__)


def test_small_demo_creates_devices_history_alerts_and_a_case_from_an_alert() -> None:
    seed_demo(scale="small", seed=1)
    seed_hotline(scale="small", seed=1)
    now = timezone.now()
    report = seed_sensing(scale="small", seed=1, now=now)
    assert report.created

    devices = list(Device.objects.filter(code__startswith=DEMO_PREFIX).select_related("device_type"))
    assert Counter(d.device_type.code for d in devices) == Counter(SIZES["small"].devices)
    assert all(d.grid_id is not None and d.owner_unit_id is not None for d in devices)
    water = Device.objects.get(code=f"{DEMO_PREFIX}wl-001")
    assert water.owner_unit.code == "dept-cgj"  # type: ignore[union-attr]

    readings = Reading.objects.count()
    assert readings == report.readings > 5000
    assert (
        sum(d.accepted_count for d in Device.objects.all()) == readings
    )  # every reading went through the pipe
    assert HourlyRollup.objects.exists()
    newest = max(d.last_reading_ts or 0 for d in Device.objects.exclude(code=BROKEN))
    assert int(now.timestamp()) - newest < 3600

    # The rainstorm floods the first flood point past the orange line: its alert opened a case for the unit.
    flood = Alert.objects.get(device=water, rule="threshold:level")
    assert flood.level == 3 and flood.status == AlertStatus.DISPATCHED
    case = flood.case
    assert case is not None and case.channel == Channel.SENSOR and case.lead_unit == water.owner_unit
    assert Case.objects.filter(channel=Channel.SENSOR).count() == report.cases >= 1
    # The PM2.5 episode reaches orange; the gas spike orange; the broken noise monitor is offline.
    assert Alert.objects.filter(rule="threshold:pm25", level=3).exists()
    assert Alert.objects.filter(
        device__code=f"{DEMO_PREFIX}gas-001", rule="threshold:methane", level=3
    ).exists()
    broken = Device.objects.get(code=BROKEN)
    assert broken.status == DeviceStatus.OFFLINE
    assert Alert.objects.filter(device=broken, rule="offline", status=AlertStatus.RAISED).exists()
    # A demo operator handled some: the board and the false-alarm rates have something to show.
    assert Alert.objects.filter(status=AlertStatus.FALSE_ALARM).exists()
    assert Alert.objects.filter(status=AlertStatus.ACKNOWLEDGED).exists()
    assert "物联感知演示数据" in report.summary()

    again = seed_sensing(scale="small", seed=1)
    assert not again.created and Reading.objects.count() == readings


def test_synthetic_series_repeat_for_the_same_seed_and_follow_the_clock() -> None:
    t = 1_780_000_000 - 1_780_000_000 % 3600

    def run(seed: int) -> list[dict[str, float]]:
        model = model_for("traffic_flow", "lj-tf-001", seed, Weather(seed))
        rng = random.Random(f"{seed}:x")
        return [model.values(t + i * 600, rng) for i in range(288)]

    assert run(1) == run(1) and run(1) != run(2)
    day = run(1)[:144]
    # Rush hour (08:00 local, 00:00 UTC) carries far more vehicles than 03:00 local.
    by_hour = {(((t + i * 600 + 8 * 3600) % 86400) // 3600): v["intensity"] for i, v in enumerate(day)}
    assert by_hour[8] > 4 * by_hour[3]


# ---------------------------------------------------------------------------------------------- --air
HEADER = "No,year,month,day,hour,PM2.5,PM10,SO2,NO2,CO,O3,TEMP,PRES,DEWP,RAIN,wd,WSPM,station"


def write_station(folder: Path, station: str, days: int, offset: int) -> dict[int, dict[str, float]]:
    """A file in the Beijing format (hourly, Beijing time) ending 2017-02-28 23:00; returns its readings by
    epoch second (without the NA cells)."""
    tz = dt.timezone(dt.timedelta(hours=8))
    end = dt.datetime(2017, 2, 28, 23, tzinfo=tz)
    start = end - dt.timedelta(hours=days * 24 - 1)
    readings: dict[int, dict[str, float]] = {}
    path = folder / f"PRSA_Data_{station}_20170215-20170228.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        w = csv.writer(f)
        for i in range(days * 24):
            at = start + dt.timedelta(hours=i)
            pm25 = float(20 + (i * 7 + offset) % 60)
            temp = round(-3 + 0.1 * ((i + offset) % 90), 1)
            missing = i % 17 == 5
            w.writerow(
                [
                    i + 1,
                    at.year,
                    at.month,
                    at.day,
                    at.hour,
                    "NA" if missing else pm25,
                    pm25 * 1.5,
                    8,
                    40,
                    900,
                    30,
                    temp,
                    1020.5,
                    -15,
                    0,
                    "NW",
                    1.8,
                    station,
                ]
            )
            values = {
                "pm10": pm25 * 1.5,
                "so2": 8.0,
                "no2": 40.0,
                "co": 900.0,
                "o3": 30.0,
                "temp": temp,
                "pres": 1020.5,
                "dewp": -15.0,
                "rain": 0.0,
                "wspm": 1.8,
            }
            if not missing:
                values["pm25"] = pm25
            readings[int(at.timestamp())] = values
    return readings


def test_air_replays_beijing_stations_shifted_by_whole_weeks_to_end_now(tmp_path: Path) -> None:
    files = {s: write_station(tmp_path, s, 14, k * 11) for k, s in enumerate(("Dongsi", "Tiantan"))}
    seed_demo(scale="small", seed=1)
    now = timezone.now()
    report = seed_sensing(scale="small", seed=1, air=str(tmp_path), now=now)
    assert report.created and "北京 2 个站点" in report.summary()

    assert not Device.objects.filter(code__startswith=f"{DEMO_PREFIX}aq-").exists()
    stations = {d.code: d for d in Device.objects.filter(code__startswith="bj-air-")}
    assert set(stations) == {"bj-air-dongsi", "bj-air-tiantan"}
    assert stations["bj-air-dongsi"].name == "东四空气质量监测站"
    assert all(d.grid_id is not None for d in stations.values())  # placed in the demo city, not in Beijing

    target = int(now.timestamp()) // 3600 * 3600
    air_days = SIZES["small"].air_days
    codes = dict(Quantity.objects.filter(device_type__code="air_quality").values_list("id", "code"))
    for station, rows in files.items():
        file_end = max(rows)
        shift = WEEK * math.ceil((target - file_end) / WEEK)
        assert shift % WEEK == 0 and shift > 0
        expected = {
            (t + shift, q): v
            for t, values in rows.items()
            if target - air_days * 86400 < t + shift <= target
            for q, v in values.items()
        }
        device = stations[f"bj-air-{station.lower()}"]
        stored = {
            (ts, codes[qid]): v
            for qid, ts, v in Reading.objects.filter(device=device).values_list("quantity_id", "ts", "value")
        }
        assert stored == expected
        assert max(ts for ts, _ in stored) == target  # the newest reading is this hour
        # The same weekday and hour as in the file: a whole number of weeks.
        assert all((ts - shift) in rows for ts, _ in stored)


def test_air_option_reaches_the_demo_step_through_seed_options(tmp_path: Path) -> None:
    write_station(tmp_path, "Wanliu", 10, 0)
    seed_demo(scale="small", seed=1)
    outcome = demo_data._extend(SeedOptions(scale="small", seed=1, air=str(tmp_path)))
    assert outcome.created
    assert Device.objects.filter(code="bj-air-wanliu", grid__isnull=False).exists()


def test_air_from_a_folder_without_station_files_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    from shizhi.core.errors import ValidationFailed

    (tmp_path / "other.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    seed_demo(scale="small", seed=1)
    with pytest.raises(ValidationFailed):
        seed_sensing(scale="small", seed=1, air=str(tmp_path))
    assert not Device.objects.exists()


# ---------------------------------------------------------------------------------------------- simulate
def test_simulator_fills_the_gap_since_the_seed_through_the_pipe_and_keeps_the_broken_device_silent() -> None:
    from shizhi.sensing.simulate import simulate

    seed_demo(scale="small", seed=1)
    seeded_at = timezone.now() - dt.timedelta(hours=3)
    seed_sensing(scale="small", seed=1, now=seeded_at)
    before = Reading.objects.count()
    broken = Device.objects.get(code=BROKEN)
    lines: list[str] = []
    stats = simulate(speed=0, duration=0, report_every=0, write=lines.append, sleep=lambda s: None)
    added = Reading.objects.count() - before
    assert added == stats.accepted > 0
    now = int(timezone.now().timestamp())
    for d in Device.objects.exclude(code=BROKEN).select_related("device_type"):
        step = d.device_type.expected_interval_s
        assert now - (d.last_reading_ts or 0) < step + 5, d.code  # caught up with the clock
    assert Device.objects.get(code=BROKEN).last_reading_ts == broken.last_reading_ts
    # The water-level gauges continue their dry-road series (the flood drained two days ago).
    water = Device.objects.get(code=f"{DEMO_PREFIX}wl-002")
    recent = Reading.objects.filter(device=water, ts__gt=int(seeded_at.timestamp())).values_list(
        "value", flat=True
    )
    assert recent and max(recent) < 3


def test_beijing_shift_maps_any_time_into_the_files_last_week_on_the_same_weekday_and_hour() -> None:
    from shizhi.sensing.demo_data import beijing_shift

    file_end = int(dt.datetime(2017, 2, 28, 23, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())
    for t in (file_end + 3600, file_end + WEEK, file_end + 500 * WEEK + 13 * 3600, 1_795_000_000):
        shift = beijing_shift(file_end, t)
        assert shift % WEEK == 0 and file_end - WEEK < t - shift <= file_end
