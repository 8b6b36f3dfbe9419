"""The sensing part of the demo city (物联感知演示数据), run by ``shizhi seed demo`` after the hotline's cases
(registered from ``SensingConfig.ready``) and as its own dataset ``shizhi seed sensing``.

What it creates, all through the real services and the real readings pipe:

* the built-in device types (with the demo taxonomy's hotline categories for the types whose alerts open cases);
* about a hundred devices (city scale; ten at small scale) placed in the demo city's grids and owned by plausible
  units: air-quality stations (生态环境局) across the districts, noise monitors (生态环境局), water-level sensors at
  flood points (城市管理局), traffic detectors (交通运输局), gas monitors (燃气公司, else 住建局) and manhole-cover
  sensors (城市管理局);
* a synthetic history up to now, pushed through :func:`shizhi.sensing.ingest.ingest_records` (source ``demo``)
  in time order: 30 days of hourly air readings and 14 days of 10-minute readings of the other sensors (city
  scale), each series with its daily and weekly cycle, a slow "weather" drift and noise, and a few incidents:
  a PM2.5 episode crossing the yellow and orange lines, a rainstorm flooding one flood point past the orange line
  (the alert opens a hotline case for its unit), night-time construction noise, a traffic detector stuck on one
  value, a gas leak spike, a displaced manhole cover, and one noise monitor that stops reporting (offline);
* then the anomaly detector and the offline check behind the pipe (:func:`detect_pending`) and the hourly
  rollups (:func:`rollup_refresh`), and a few alerts handled by a demo operator (acknowledged, resolved, marked
  as false alarms), so that the alert board and the false-alarm rates have something to show.

``--air PATH`` (``SeedOptions.air``): the air-quality stations are the Beijing Multi-Site stations of the files
in PATH (read where they lie, never copied), placed across the demo city's districts, with their real readings:
the last ``air_days`` days of each file that end on the same weekday and hour as now, shifted forward by a whole
number of weeks so that the newest reading is this hour (the daily and weekly cycles stay in place). Missing
values (``NA``) are not readings and are skipped.

The demo's "now" is the start of the current hour (or ``SHIZHI_DEMO_NOW``): the history ends then, and while the
demo is written the clock stands at that moment (:func:`demo_clock`), so every row it creates (devices, alerts,
their timelines, the cases they open) is stamped with it. The same seed in the same hour gives the same rows;
``shizhi sensing simulate`` fills the minutes since.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import math
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from shizhi.core.audit import audit_record
from shizhi.core.errors import ValidationFailed
from shizhi.core.models import Area, AreaLevel, Grid, Role, RoleAssignment, Unit, User
from shizhi.demo.clock import demo_clock, demo_now
from shizhi.demo.registry import Dataset, SeedOptions, SeedOutcome, extend_demo, register
from shizhi.demo.scales import CITY_CODE
from shizhi.sensing import services
from shizhi.sensing.models import Device, DeviceType, Source
from shizhi.sensing.types import DEFAULT_TYPES

DATASET = "sensing"
DEMO_PREFIX = "lj-"  # demo device codes: lj-aq-001, lj-wl-003 ...
CODE_PARTS = {
    "air_quality": "aq",
    "noise": "ns",
    "water_level": "wl",
    "traffic_flow": "tf",
    "gas": "gas",
    "manhole": "mh",
}
BROKEN = DEMO_PREFIX + "ns-001"  # the noise monitor that stops reporting (stays silent in the simulator too)
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
LOCAL_OFFSET = 8 * HOUR  # Asia/Shanghai, no daylight saving: the wall clock of the daily cycles
CHUNK = 6 * HOUR  # history is sent in time order, six hours of every device per batch
LEARNING_UNTIL = 4 * DAY  # the incidents come in the last four days; before that the detectors learn

# The hotline categories (by full name, demo taxonomy) that alerts of each type open cases in.
CASE_CATEGORIES = {
    "air_quality": "生态环境 / 大气污染",
    "water_level": "城乡建设 / 市政设施 / 排水管道堵塞",
    "gas": "城乡建设 / 燃气",
    "manhole": "城乡建设 / 市政设施 / 井盖缺失",
}
# Owner units by type: the first of these codes the city has (the small scale has fewer departments).
OWNERS = {
    "air_quality": ("dept-sthjj", "dept-cgj"),
    "noise": ("dept-sthjj", "dept-cgj"),
    "water_level": ("dept-cgj",),
    "traffic_flow": ("dept-jtysj", "dept-cgj"),
    "gas": ("pu-gas", "dept-zjj", "dept-cgj"),
    "manhole": ("dept-cgj",),
}
ROADS = (
    "人民路",
    "解放路",
    "中山路",
    "新华路",
    "建设路",
    "文化路",
    "府前街",
    "江滨大道",
    "环城东路",
    "环城南路",
    "环城西路",
    "环城北路",
    "学院路",
    "和平路",
    "滨江路",
    "迎宾大道",
)
FLOOD_SPOTS = ("下穿通道", "铁路桥洞", "低洼路段", "地下车库入口", "隧道口", "立交桥下")


@dataclass(frozen=True)
class DemoSize:
    devices: dict[str, int]  # per device type code
    days: int  # history of the 5- and 10-minute sensors
    air_days: int  # history of the hourly air-quality stations
    step: int = 600  # seconds between two readings of the fast sensors in the history


SIZES: dict[str, DemoSize] = {
    "city": DemoSize(
        devices={
            "air_quality": 12,
            "noise": 12,
            "water_level": 14,
            "traffic_flow": 12,
            "gas": 12,
            "manhole": 16,
        },
        days=14,
        air_days=30,
    ),
    "small": DemoSize(
        devices={"air_quality": 2, "noise": 2, "water_level": 2, "traffic_flow": 2, "gas": 1, "manhole": 1},
        days=5,
        air_days=6,
    ),
}


# ---------------------------------------------------------------------------------------------- series models
def local_hour(t: int) -> float:
    return ((t + LOCAL_OFFSET) % DAY) / HOUR


def weekday(t: int) -> int:
    """Monday 0 ... Sunday 6, local time (1970-01-01 was a Thursday)."""
    return ((t + LOCAL_OFFSET) // DAY + 3) % 7


class Weather:
    """A slow, smooth city-wide drift (-1..1) from a few sinusoids of 2-8 days: it carries pollution episodes,
    temperature spells and wind in step across the stations. A function of time only, so the simulator
    continues exactly where the history ended."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"{seed}:weather")
        self.terms = [
            (a, p * DAY, rng.uniform(0, 2 * math.pi)) for a, p in ((0.5, 2.7), (0.3, 4.3), (0.2, 7.9))
        ]

    def __call__(self, t: int, lag: float = 0.0) -> float:
        return sum(a * math.sin(2 * math.pi * (t - lag) / p + ph) for a, p, ph in self.terms)


class Model:
    """The normal behaviour of one device: ``values(t)`` -> {quantity code: value}. Parameters come from a
    random generator seeded by the demo's seed and the device code; the noise from the generator passed in."""

    quantities: tuple[str, ...] = ()

    def __init__(self, code: str, seed: int, weather: Weather) -> None:
        self.p = random.Random(f"{seed}:{code}")
        self.weather = weather

    def values(self, t: int, rng: random.Random) -> dict[str, float]:
        raise NotImplementedError


class AirModel(Model):
    quantities = ("pm25", "pm10", "no2", "o3", "temp", "wspm")

    def __init__(self, code: str, seed: int, weather: Weather) -> None:
        super().__init__(code, seed, weather)
        p = self.p
        self.base = p.uniform(24, 34)
        self.coarse = p.uniform(1.45, 1.8)
        self.no2 = p.uniform(16, 30)
        self.lag = p.uniform(0, 6) * HOUR  # stations see the same weather a few hours apart
        self.warm = p.uniform(-1.0, 1.0)

    def values(self, t: int, rng: random.Random) -> dict[str, float]:
        h, w = local_hour(t), self.weather(t, self.lag)
        night = 1 + 0.18 * math.cos(2 * math.pi * (h - 23) / 24)
        pm25 = self.base * math.exp(0.4 * w) * night * math.exp(rng.gauss(0, 0.12))
        rush = 1 + 0.35 * (math.exp(-(((h - 8.5) / 1.5) ** 2)) + math.exp(-(((h - 18.5) / 2) ** 2)))
        if weekday(t) >= 5:
            rush = 1 + (rush - 1) * 0.5
        sun = max(0.0, math.sin(math.pi * (h - 8) / 11)) if 8 <= h <= 19 else 0.0
        doy = dt.datetime.fromtimestamp(t, dt.UTC).timetuple().tm_yday
        season = 17 + 11 * math.cos(2 * math.pi * (doy - 200) / 365)
        return {
            "pm25": round(pm25),
            "pm10": round(pm25 * self.coarse * math.exp(rng.gauss(0, 0.08))),
            "no2": round(self.no2 * rush * (1 + 0.25 * w) * math.exp(rng.gauss(0, 0.1))),
            "o3": round(max(2.0, (18 + (40 + season * 2.2) * sun) * (1 - 0.25 * w) + rng.gauss(0, 4))),
            "temp": round(
                season + self.warm + 4 * math.sin(2 * math.pi * (h - 9) / 24) + 2 * w + rng.gauss(0, 0.4), 1
            ),
            "wspm": round(max(0.1, 1.6 - 0.9 * w + rng.gammavariate(2, 0.35)), 1),
        }


class NoiseModel(Model):
    quantities = ("laeq",)

    def __init__(self, code: str, seed: int, weather: Weather) -> None:
        super().__init__(code, seed, weather)
        self.day = self.p.uniform(46.5, 49.5)
        self.night = self.p.uniform(39, 43)

    def values(self, t: int, rng: random.Random) -> dict[str, float]:
        h = local_hour(t)
        level = self.day if 7 <= h < 22 else self.night
        level += 1.6 * (math.exp(-(((h - 8) / 1.2) ** 2)) + math.exp(-(((h - 18) / 1.5) ** 2)))
        if weekday(t) >= 5:
            level -= 1.0
        return {"laeq": round(level + rng.gauss(0, 1.0), 1)}


class WaterModel(Model):
    """A dry road: the ultrasonic gauge reads a few millimetres of jitter (积水深度, cm)."""

    quantities = ("level",)

    def values(self, t: int, rng: random.Random) -> dict[str, float]:
        return {"level": round(abs(rng.gauss(0.4, 0.3)), 1)}


class TrafficModel(Model):
    quantities = ("intensity", "speed")

    def __init__(self, code: str, seed: int, weather: Weather) -> None:
        super().__init__(code, seed, weather)
        self.cap = self.p.uniform(80, 200)  # vehicles per 5 minutes at the busiest
        self.free = self.p.uniform(50, 65)  # km/h on an empty road

    @staticmethod
    def profile(t: int) -> float:
        h = local_hour(t)
        if weekday(t) >= 5:
            return 0.08 + 0.62 * math.exp(-(((h - 14) / 4.5) ** 2))
        return (
            0.08
            + 0.92 * math.exp(-(((h - 8) / 1.3) ** 2))
            + 0.55 * math.exp(-(((h - 13) / 3.5) ** 2))
            + 0.85 * math.exp(-(((h - 18) / 1.6) ** 2))
        )

    def values(self, t: int, rng: random.Random) -> dict[str, float]:
        load = min(1.2, self.profile(t) * math.exp(rng.gauss(0, 0.08)))
        intensity = round(self.cap * load)
        speed = self.free * (1 - 0.55 * min(1.0, load) ** 2) + rng.gauss(0, 1.8)
        return {"intensity": float(intensity), "speed": round(max(3.0, speed), 1)}


class GasModel(Model):
    quantities = ("methane",)

    def values(self, t: int, rng: random.Random) -> dict[str, float]:
        return {"methane": round(abs(rng.gauss(0.6, 0.25)), 1)}


class ManholeModel(Model):
    quantities = ("tilt",)

    def values(self, t: int, rng: random.Random) -> dict[str, float]:
        return {"tilt": round(abs(rng.gauss(0.8, 0.25)), 1)}


MODELS: dict[str, type[Model]] = {
    "air_quality": AirModel,
    "noise": NoiseModel,
    "water_level": WaterModel,
    "traffic_flow": TrafficModel,
    "gas": GasModel,
    "manhole": ManholeModel,
}


def model_for(device_type: str, code: str, seed: int, weather: Weather) -> Model:
    return MODELS[device_type](code, seed, weather)


# ---------------------------------------------------------------------------------------------- incidents
@dataclass
class Incident:
    """Changes one device's values over a time span: ``apply(t, values)`` returns the values as they are then
    (or None: no reading at all). ``text`` describes it for the seed's summary."""

    code: str
    start: int
    end: int
    text: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def active(self, t: int) -> bool:
        return self.start <= t < self.end

    def apply(self, t: int, values: dict[str, float], rng: random.Random) -> dict[str, float] | None:
        k, p = self.kind, self.params
        x = (t - self.start) / max(1, self.end - self.start)  # 0..1 through the incident
        if k == "offline":
            return None
        if k == "pm25":  # a haze episode: a smooth rise to the peak and back
            s = math.sin(math.pi * x) ** 2
            pm25 = values["pm25"] * (1 - s) + p["peak"] * s * math.exp(rng.gauss(0, 0.04))
            values["pm10"] = round(values["pm10"] * pm25 / max(1.0, values["pm25"]) * 0.85)
            values["pm25"] = round(pm25)
        elif k == "flood":  # rises in two hours, stands an hour, drains in the rest
            hours = (t - self.start) / HOUR
            if hours < 2:
                depth = p["peak"] * hours / 2
            elif hours < 3:
                depth = p["peak"]
            else:
                depth = p["peak"] * math.exp(-(hours - 3) / 1.2)
            values["level"] = round(max(values["level"], depth + rng.gauss(0, 0.6 if depth > 3 else 0.1)), 1)
        elif k == "construction":  # 22:00-01:00 on a few nights
            h = local_hour(t)
            if h >= 22 or h < 1:
                values["laeq"] = round(p["level"] + rng.gauss(0, 1.2), 1)
        elif k == "stuck":
            values.update(p["frozen"])
        elif k == "gas":
            values["methane"] = p["series"][min(len(p["series"]) - 1, int(x * len(p["series"])))]
        elif k == "manhole":
            values["tilt"] = round(p["tilt"] + rng.gauss(0, 0.3), 1)
        return values


def plan_incidents(
    devices: dict[str, list[str]], end: int, size: DemoSize, rng: random.Random
) -> list[Incident]:
    """The demo's incidents, placed in the last days before ``end`` (after the detectors have learned)."""
    out: list[Incident] = []
    air, water, noise = (
        devices.get("air_quality", []),
        devices.get("water_level", []),
        devices.get("noise", []),
    )
    traffic, gas, manhole = (
        devices.get("traffic_flow", []),
        devices.get("gas", []),
        devices.get("manhole", []),
    )
    if air:
        start = end - 80 * HOUR
        out.append(
            Incident(
                air[0],
                start,
                start + 36 * HOUR,
                "PM2.5污染过程（达到橙色预警）",
                "pm25",
                {"peak": 172.0},
            )
        )
        if len(air) > 2:
            out.append(
                Incident(
                    air[2],
                    start + 6 * HOUR,
                    start + 30 * HOUR,
                    "PM2.5污染过程（黄色预警）",
                    "pm25",
                    {"peak": 122.0},
                )
            )
    storm = end - 50 * HOUR
    # The storm's path crosses three flood points: one floods past the orange line, one past the blue line.
    for i, code in enumerate(water[:3]):
        peak = (38.0, 14.0, rng.uniform(4, 8))[i]
        text = ("暴雨积水（达到橙色预警）", "暴雨积水（蓝色预警）", "暴雨积水")[i]
        out.append(Incident(code, storm + i * 600, storm + 9 * HOUR, text, "flood", {"peak": peak}))
    if noise:
        out.append(
            Incident(
                BROKEN if BROKEN in noise else noise[0],
                end - 26 * HOUR,
                end + 10 * 365 * DAY,
                "噪声监测点停止上报（离线）",
                "offline",
            )
        )
        night = [c for c in noise if c != BROKEN]
        if night:
            out.append(
                Incident(
                    night[0], end - 3 * DAY, end, "夜间施工噪声（黄色预警）", "construction", {"level": 67.5}
                )
            )
    if traffic:
        code = traffic[1] if len(traffic) > 1 else traffic[0]
        out.append(
            Incident(code, end - 30 * HOUR, end - 22 * HOUR, "交通检测器数据卡滞", "stuck", {"frozen": {}})
        )
    if gas:
        series = [3.5, 14.0, 22.5, 27.0, 26.0, 17.5, 6.0]
        out.append(
            Incident(
                gas[0],
                end - 20 * HOUR,
                end - 20 * HOUR + len(series) * size.step,
                "燃气泄漏浓度突增（橙色预警）",
                "gas",
                {"series": series},
            )
        )
    if manhole:
        out.append(
            Incident(
                manhole[0],
                end - 10 * HOUR,
                end + 10 * 365 * DAY,
                "井盖移位（倾角超限）",
                "manhole",
                {"tilt": 12.5},
            )
        )
    return out


# ---------------------------------------------------------------------------------------------- Beijing stations
@dataclass
class BeijingFile:
    path: Path
    station: str
    code: str
    end: int  # newest reading of the file, epoch seconds
    readings: dict[int, dict[str, float]]  # file time -> {quantity: value} for the last weeks of the file
    skipped: Counter[str]


def read_beijing(path: str | Path, *, weeks_back: int) -> list[BeijingFile]:
    """The station files of ``path`` (a folder or a file) with the readings of their last ``weeks_back`` weeks
    plus one (read where they lie; ``NA`` cells are counted, not kept)."""
    from shizhi.sensing.replay import (
        ReplayError,
        beijing_device_code,
        beijing_readings,
        beijing_stations,
        detect_format,
        expand_paths,
    )

    try:
        files = [f for f in expand_paths([path]) if detect_format(f) == "beijing"]
    except ReplayError as exc:
        raise ValidationFailed(f"空气质量数据：{exc}", details={"path": str(path)}) from exc
    if not files:
        raise ValidationFailed(
            "该位置没有北京空气质量数据文件（PRSA_Data_*.csv）", details={"path": str(path)}
        )
    out = []
    keep = (weeks_back + 1) * WEEK
    for f in files:
        stations = beijing_stations([f])
        if not stations:
            continue
        skipped: Counter[str] = Counter()
        rows: dict[int, dict[str, float]] = {}
        newest = None
        for r in beijing_readings(f, skipped=skipped):
            ts = r["time"]
            rows.setdefault(ts, {})[r["quantity"]] = r["value"]
            if newest is None or ts > newest:
                newest = ts
                if len(rows) > 2 * keep // HOUR:  # keep memory bounded: drop what is older than needed
                    rows = {t: v for t, v in rows.items() if t > newest - keep}
        if newest is None:
            continue
        rows = {t: v for t, v in rows.items() if t > newest - keep}
        out.append(BeijingFile(f, stations[0], beijing_device_code(stations[0]), newest, rows, skipped))
    if not out:
        raise ValidationFailed("北京空气质量数据文件中没有读数", details={"path": str(path)})
    return out


def beijing_shift(file_end: int, t: int) -> int:
    """The whole number of weeks that moves a file reading to time ``t``: file times of ``t`` are ``t - shift``,
    within the last week of the file, on the same weekday and hour."""
    return WEEK * max(0, math.ceil((t - file_end) / WEEK))


# ---------------------------------------------------------------------------------------------- placing devices
@dataclass
class Placed:
    code: str
    name: str
    device_type: str
    lon: float
    lat: float
    owner: Unit | None


def _grids(rng: random.Random) -> tuple[list[Grid], dict[str, list[Grid]], dict[str, str]]:
    """(urban grids, grids by district code, district names), in a seeded order."""
    districts = dict(
        Area.objects.filter(level=AreaLevel.DISTRICT, path__startswith=f"/{CITY_CODE}/").values_list(
            "code", "name"
        )
    )
    grids = list(
        Grid.objects.filter(path__startswith=f"/{CITY_CODE}/", centroid_lng__isnull=False)
        .select_related("community")
        .order_by("code")
    )
    if not grids:
        raise ValidationFailed("演示城市没有网格，无法布设感知设备")
    rng.shuffle(grids)
    urban = [g for g in grids if g.community.urban_rural == "urban"] or grids
    by_district: dict[str, list[Grid]] = {}
    for g in grids:
        parts = g.path.strip("/").split("/")
        if len(parts) > 1:
            by_district.setdefault(parts[1], []).append(g)
    return urban, by_district, districts


def _point(grid: Grid, rng: random.Random) -> tuple[float, float]:
    """A point near the grid's centre, inside the grid when possible."""
    from shizhi.core.selectors import locate_point

    lon0, lat0 = float(grid.centroid_lng or 0), float(grid.centroid_lat or 0)
    if (
        grid.min_lng is not None
        and grid.max_lng is not None
        and grid.min_lat is not None
        and grid.max_lat is not None
    ):
        dx, dy = (grid.max_lng - grid.min_lng) * 0.2, (grid.max_lat - grid.min_lat) * 0.2
        for _ in range(4):
            lon, lat = round(lon0 + rng.uniform(-dx, dx), 6), round(lat0 + rng.uniform(-dy, dy), 6)
            loc = locate_point(lon, lat)
            if loc.grid is not None and loc.grid.pk == grid.pk:
                return lon, lat
    return round(lon0, 6), round(lat0, 6)


def _owner(units: dict[str, Unit], device_type: str) -> Unit | None:
    return next((units[c] for c in OWNERS[device_type] if c in units), None)


def plan_devices(
    size: DemoSize, rng: random.Random, beijing: list[BeijingFile] | None = None
) -> list[Placed]:
    from shizhi.sensing.replay import BEIJING_STATIONS

    urban, by_district, _names = _grids(rng)
    units = {u.code: u for u in Unit.objects.filter(is_active=True)}
    districts = sorted(by_district)
    out: list[Placed] = []
    used: set[int] = set()

    def take(pool: list[Grid]) -> Grid:
        for g in pool:
            if g.pk not in used:
                used.add(g.pk)
                return g
        return pool[0]

    # Air stations: spread over the districts (one in each district in turn).
    air_names: list[tuple[str, str]] = []
    if beijing:
        for f in beijing:
            known = BEIJING_STATIONS.get(f.station)
            air_names.append((f.code, f"{known.name if known else f.station}空气质量监测站"))
    else:
        air_names = [(f"{DEMO_PREFIX}aq-{i:03d}", "") for i in range(1, size.devices["air_quality"] + 1)]
    for i, (code, name) in enumerate(air_names):
        pool = by_district[districts[i % len(districts)]]
        urban_pool = [g for g in pool if g.community.urban_rural == "urban"] or pool
        g = take(urban_pool)
        lon, lat = _point(g, rng)
        out.append(
            Placed(
                code,
                name or f"{g.community.name}空气质量监测站",
                "air_quality",
                lon,
                lat,
                _owner(units, "air_quality"),
            )
        )
    roads = list(ROADS)
    rng.shuffle(roads)
    for type_code in ("noise", "water_level", "traffic_flow", "gas", "manhole"):
        part = CODE_PARTS[type_code]
        for i in range(1, size.devices[type_code] + 1):
            g = take(urban)
            lon, lat = _point(g, rng)
            road = roads[(i + len(out)) % len(roads)]
            cross = roads[(i * 3 + 5 + len(out)) % len(roads)]
            if cross == road:
                cross = roads[(roads.index(road) + 1) % len(roads)]
            name = {
                "noise": f"{g.community.name}噪声监测点",
                "water_level": f"{road}{FLOOD_SPOTS[i % len(FLOOD_SPOTS)]}易涝点",
                "traffic_flow": f"{road}与{cross}交叉口车流检测器",
                "gas": f"{g.community.name}燃气管网监测点",
                "manhole": f"{road}{rng.randint(1, 99)}号井盖",
            }[type_code]
            out.append(
                Placed(f"{DEMO_PREFIX}{part}-{i:03d}", name, type_code, lon, lat, _owner(units, type_code))
            )
    return out


# ---------------------------------------------------------------------------------------------- the seed
@dataclass
class SensingReport:
    created: bool
    message: str
    devices: Counter[str] = field(default_factory=Counter)
    readings: int = 0
    rejected: int = 0
    alerts: dict[str, int] = field(default_factory=dict)
    cases: int = 0
    anomalies: int = 0
    offline: int = 0
    handled: list[str] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    air: str = ""
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.created:
            return self.message
        names = dict(DeviceType.objects.values_list("code", "name"))
        kinds = "，".join(f"{names.get(k, k)} {n}" for k, n in sorted(self.devices.items()))
        lines = [
            self.message,
            f"  感知设备 {sum(self.devices.values())} 台：{kinds}",
            f"  读数 {self.readings:,} 个（经读数接入管道入库，隔离 {self.rejected}）{self.air}",
            "  预警 "
            + "，".join(f"{k} {v}" for k, v in self.alerts.items())
            + f"；异常检测 {self.anomalies} 次，离线设备 {self.offline} 台，由预警生成工单 {self.cases} 件",
        ]
        if self.incidents:
            lines.append("  演示事件：" + "；".join(self.incidents))
        if self.handled:
            lines.append("  演示处置：" + "；".join(self.handled))
        lines.append(f"  用时 {self.seconds:.1f} 秒")
        return "\n".join(lines)


def register_demo() -> None:
    register(
        Dataset(
            DATASET,
            "演示城市的物联感知数据：设备、近两周读数、预警和由预警生成的工单（没有演示城市时先生成城市）",
            _run,
        )
    )
    extend_demo(_extend)


def _extend(options: SeedOptions) -> SeedOutcome:
    """``shizhi seed demo``: after the hotline's cases, the devices, their history and alerts."""
    report = seed_sensing(scale=options.scale, seed=options.seed, air=options.air)
    return SeedOutcome(created=report.created, text=report.summary())


def _run(options: SeedOptions) -> SeedOutcome:
    from shizhi.demo.services import demo_logins, format_logins, seed_demo

    city = seed_demo(scale=options.scale, seed=options.seed)
    report = seed_sensing(scale=options.scale, seed=options.seed, air=options.air)
    text = "\n\n".join([city.summary(), report.summary(), format_logins(demo_logins())])
    return SeedOutcome(created=city.created or report.created, text=text)


@contextlib.contextmanager
def stats_per_batch() -> Iterator[None]:
    """Device counters and last-seen times written with every batch (not once a second from a timer thread),
    so that each device's last-seen time is the time of its own last batch."""
    missing = object()
    before = getattr(settings, "SHIZHI_SENSING_STATS_FLUSH", missing)
    setattr(settings, "SHIZHI_SENSING_STATS_FLUSH", 0)  # noqa: B010 (not a declared setting)
    try:
        yield
    finally:
        if before is missing:
            delattr(settings, "SHIZHI_SENSING_STATS_FLUSH")
        else:
            setattr(settings, "SHIZHI_SENSING_STATS_FLUSH", before)  # noqa: B010


def _case_categories() -> dict[str, str]:
    from shizhi.hotline.models import Category

    found = dict(
        Category.objects.filter(full_name__in=CASE_CATEGORIES.values(), is_active=True).values_list(
            "full_name", "code"
        )
    )
    return {t: found[name] for t, name in CASE_CATEGORIES.items() if name in found}


def _types(categories: dict[str, str]) -> None:
    """The built-in types, with the demo's case categories on the types whose alerts open cases (types the city
    already has keep their own settings unless they have no category yet)."""
    specs = tuple(
        replace(s, case_category_code=categories.get(s.code, s.case_category_code)) for s in DEFAULT_TYPES
    )
    services.device_types_ensure(actor=None, specs=specs)
    for code, category in categories.items():
        updated = DeviceType.objects.filter(code=code, case_category_code="").update(
            case_category_code=category
        )
        if updated:
            dtype = DeviceType.objects.get(code=code)
            audit_record(
                actor=None,
                action="device_type.update",
                obj=dtype,
                changes={"case_category_code": ["", category]},
            )


def seed_sensing(
    *, scale: str = "city", seed: int = 1, air: str | None = None, now: dt.datetime | None = None
) -> SensingReport:
    """Add the sensing demo to the demo city, or do nothing when demo devices exist. All or nothing."""
    if scale not in SIZES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SIZES)}")
    from shizhi.sensing.replay import BEIJING_DEVICE_PREFIX

    size = SIZES[scale]
    started = time.perf_counter()
    moment = now or demo_now()
    with transaction.atomic(), demo_clock(moment):
        if not Area.objects.filter(code=CITY_CODE).exists():
            raise ValidationFailed("请先生成演示城市（shizhi seed demo）")
        if Device.objects.filter(code__startswith=DEMO_PREFIX).exists():
            return SensingReport(
                created=False, message="已有演示感知设备，未生成感知演示数据，未做任何改动。"
            )
        beijing = read_beijing(air, weeks_back=math.ceil(size.air_days / 7)) if air else None
        if beijing and Device.objects.filter(code__in=[f.code for f in beijing]).exists():
            raise ValidationFailed(
                f"已有北京空气质量站设备（{BEIJING_DEVICE_PREFIX}...），请换一个空数据库生成演示数据"
            )
        rng = random.Random(seed)
        _types(_case_categories())
        placed = plan_devices(size, rng, beijing)
        report = SensingReport(created=True, message="")
        for p in placed:
            services.device_register(
                actor=None,
                data=services.DeviceIn(
                    code=p.code,
                    name=p.name,
                    device_type=p.device_type,
                    lon=p.lon,
                    lat=p.lat,
                    owner_unit_id=p.owner.pk if p.owner else None,
                ),
            )
            report.devices[p.device_type] += 1
        end = int(moment.timestamp())
        by_type: dict[str, list[str]] = {}
        for p in placed:
            by_type.setdefault(p.device_type, []).append(p.code)
        real = {f.code for f in beijing or []}
        incidents = [i for i in plan_incidents(by_type, end, size, rng) if i.code not in real]
        texts = Counter(i.text for i in incidents)
        report.incidents = [t if n == 1 else f"{t}×{n}" for t, n in texts.items()]
        readings = sorted(history(placed, size, seed, end, incidents, beijing), key=lambda r: r[0])
        if beijing:
            report.air = _air_text(beijing, end, size)
        # Two rounds: the quiet days first (the detectors learn; an operator clears what they flagged while
        # learning), then the days of the incidents, whose alerts stay on the board.
        split = bisect.bisect_left(readings, end - LEARNING_UNTIL, key=lambda r: r[0])
        if split:
            _ingest(readings[:split], None, report)
            _detect(dt.datetime.fromtimestamp(readings[split - 1][0], dt.UTC), report)
            _handle_learning(report)
        _ingest(readings[split:], moment, report)
        _detect(moment, report)
        _handle_some(report)
        _count(report)
        audit_record(
            actor=None,
            action="device.seed_demo",
            object_type="sensing.device",
            changes={
                "devices": len(placed),
                "readings": report.readings,
                "scale": scale,
                "seed": seed,
                "air": bool(beijing),
            },
        )
    source = "北京实测空气质量数据" if beijing else "合成读数"
    report.message = f"已生成物联感知演示数据（规模 {scale}，随机种子 {seed}，{source}）："
    report.seconds = time.perf_counter() - started
    return report


def _air_text(beijing: list[BeijingFile], end: int, size: DemoSize) -> str:
    from shizhi.sensing.replay import BEIJING_QUANTITIES

    target = end - end % HOUR
    shift = beijing_shift(beijing[0].end, target)
    hours = range(target - size.air_days * DAY + HOUR, target + 1, HOUR)
    missing = sum(
        len(BEIJING_QUANTITIES) - len(f.readings.get(t - beijing_shift(f.end, target), {}))
        for f in beijing
        for t in hours
    )
    local = dt.timedelta(seconds=LOCAL_OFFSET)
    first = dt.datetime.fromtimestamp(hours[0] - shift, dt.UTC) + local
    last = dt.datetime.fromtimestamp(target - shift, dt.UTC) + local
    return (
        f"\n  空气质量站：北京 {len(beijing)} 个站点的实测数据 {first:%Y-%m-%d %H:%M} 至 {last:%Y-%m-%d %H:%M}"
        f"（北京时间），整体平移 {shift // WEEK} 周至今；其间缺测（NA）{missing:,} 个，未入库"
    )


def history(
    placed: list[Placed],
    size: DemoSize,
    seed: int,
    end: int,
    incidents: list[Incident],
    beijing: list[BeijingFile] | None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(time, reading) of every device's history up to ``end``, device by device."""
    weather = Weather(seed)
    by_device: dict[str, list[Incident]] = {}
    for i in incidents:
        by_device.setdefault(i.code, []).append(i)
    files = {f.code: f for f in beijing or []}
    for p in placed:
        rng = random.Random(f"{seed}:{p.code}:noise")
        if p.code in files:
            yield from _beijing_history(files[p.code], size, end)
            continue
        model = model_for(p.device_type, p.code, seed, weather)
        hourly = p.device_type in ("air_quality", "manhole")
        step = HOUR if hourly else size.step
        days = size.air_days if p.device_type == "air_quality" else size.days
        last = end - end % step
        mine = by_device.get(p.code, [])
        for t in range(last - days * DAY + step, last + 1, step):
            values: dict[str, float] | None = model.values(t, rng)
            for inc in mine:
                if values is not None and inc.active(t):
                    if inc.kind == "stuck" and not inc.params["frozen"]:
                        inc.params["frozen"] = dict(values)
                    values = inc.apply(t, values, rng)
            if values is None:
                continue
            for q, v in values.items():
                yield t, {"device": p.code, "quantity": q, "time": t, "value": float(v)}


def _beijing_history(f: BeijingFile, size: DemoSize, end: int) -> Iterator[tuple[int, dict[str, Any]]]:
    target = end - end % HOUR
    shift = beijing_shift(f.end, target)
    for t in range(target - size.air_days * DAY + HOUR, target + 1, HOUR):
        for q, v in f.readings.get(t - shift, {}).items():
            yield t, {"device": f.code, "quantity": q, "time": t, "value": v}


def _ingest(
    readings: list[tuple[int, dict[str, Any]]], moment: dt.datetime | None, report: SensingReport
) -> None:
    """Through the real pipe, in time order, six hours of all devices per batch; each batch "arrives" at the
    time of its newest reading (so a device that went silent was last seen then), the last one at ``moment``
    when given."""
    from shizhi.sensing.ingest import ingest_records

    with stats_per_batch():
        i = 0
        while i < len(readings):
            cut = readings[i][0] - readings[i][0] % CHUNK + CHUNK
            j = i
            while j < len(readings) and readings[j][0] < cut:
                j += 1
            newest = readings[j - 1][0]
            arrived = (
                moment
                if moment is not None and j >= len(readings)
                else dt.datetime.fromtimestamp(newest, dt.UTC)
            )
            result = ingest_records([r for _, r in readings[i:j]], source=Source.DEMO, now=arrived)
            report.readings += result.accepted
            report.rejected += result.rejected
            i = j


def _detect(moment: dt.datetime, report: SensingReport) -> None:
    from shizhi.sensing.detection import detect_pending
    from shizhi.sensing.rollups import rollup_refresh

    result = detect_pending(now=moment)
    report.anomalies, report.offline = result.anomalies, result.offline
    rollup_refresh()


def demo_operator() -> User | None:
    """The first city-wide operator of the demo (话务员), who handles a few alerts."""
    grant = (
        RoleAssignment.objects.filter(
            role=Role.OPERATOR, unit__isnull=True, area__isnull=True, user__is_active=True
        )
        .select_related("user")
        .order_by("id")
        .first()
    )
    return grant.user if grant else None


def _handle_learning(report: SensingReport) -> None:
    """What the anomaly detector flagged in the quiet days is checked by the operator: on the synthetic series
    (no incident was staged then) it was the detector still learning (the first Monday's rush hour, a quiet
    night), a false alarm; on real data (the Beijing stations) a regional pollution episode, resolved once
    reported. The false-alarm rates of the board count the former."""
    from shizhi.warning import services as warning
    from shizhi.warning.models import Alert, AlertStatus

    operator = demo_operator()
    if operator is None:
        return
    flagged = Alert.objects.filter(status=AlertStatus.RAISED, case__isnull=True, rule__startswith="anomaly:")
    false, real = 0, 0
    for a in flagged.select_related("device").order_by("raised_at", "id"):
        if a.device.code.startswith(DEMO_PREFIX):
            warning.alert_mark_false(
                actor=operator, alert=a, reason="检测器学习期内的正常波动，经核实非异常事件"
            )
            false += 1
        else:
            warning.alert_resolve(actor=operator, alert=a, note="经核实为区域性污染过程，已通报生态环境部门")
            real += 1
    if false:
        report.handled.append(f"学习期异常 {false} 条标记误报")
    if real:
        report.handled.append(f"实测数据异常 {real} 条核实后解除")


def _handle_some(report: SensingReport) -> None:
    """A demo operator handles a few of the incidents' alerts: one acknowledged and resolved, one acknowledged,
    and one cleared blue alert found to be a false alarm (works nearby, reported in advance)."""
    from shizhi.warning import services as warning
    from shizhi.warning.models import Alert, AlertStatus, Resolution

    operator = demo_operator()
    if operator is None:
        return
    pool = list(
        Alert.objects.filter(status=AlertStatus.RAISED, case__isnull=True)
        .exclude(rule="offline")
        .order_by("raised_at", "id")[:2]
    )
    if pool:
        a = pool.pop(0)
        warning.alert_acknowledge(actor=operator, alert=a, note="已通知网格员到现场查看")
        warning.alert_resolve(actor=operator, alert=a, note="现场已核实处置，读数恢复正常")
        report.handled.append(f"#{a.pk} 确认并解除")
    if pool:
        a = pool.pop(0)
        warning.alert_acknowledge(actor=operator, alert=a, note="持续关注，已告知权属单位")
        report.handled.append(f"#{a.pk} 确认")
    cleared = (
        Alert.objects.filter(
            status=AlertStatus.RESOLVED, resolution=Resolution.CLEARED, rule__startswith="threshold:", level=1
        )
        .order_by("raised_at", "id")
        .first()
    )
    if cleared is not None:
        warning.alert_mark_false(
            actor=operator, alert=cleared, reason="监测点旁临时作业，已报备，不属于环境事件"
        )
        report.handled.append(f"#{cleared.pk} 标记误报")


def _count(report: SensingReport) -> None:
    from shizhi.warning.models import Alert, AlertStatus

    counts = Counter(Alert.objects.values_list("status", flat=True))
    report.alerts = {str(AlertStatus(s).label): counts[s] for s in AlertStatus.values if counts[s]}
    report.cases = Alert.objects.filter(case__isnull=False).values("case_id").distinct().count()
