"""The built-in device types (设备类型) with their quantities, physical ranges and warning thresholds.

Ranges are what the instrument can physically report (a value outside is a fault, not an event); thresholds are
the entry lines of the four warning levels 蓝/黄/橙/红. Air: the PM2.5 and PM10 lines are the upper bounds of the
AQI bands 良/轻度/中度/重度 of HJ 633-2012 (75/115/150/250 and 150/250/350/420 µg/m³), with a 10 (20) µg/m³
hysteresis margin and three hours below before a level steps down; noise: 55/65/70/80 dB(A)
around the GB 3096-2008 limits; water level and gas: illustrative lines for a demo site, set per device type in
practice. A city edits them on the device type (admin), not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QuantitySpec:
    code: str
    name: str
    unit: str
    min_value: float
    max_value: float
    thresholds: tuple[float | None, float | None, float | None, float | None] | None = None
    direction: str = "above"
    margin: float = 0.0


@dataclass(frozen=True)
class TypeSpec:
    code: str
    name: str
    smart_data_model: str
    alert_category: str
    expected_interval_s: int
    anomaly_profile: str
    case_level: int
    quantities: tuple[QuantitySpec, ...]
    case_category_code: str = ""
    config: dict[str, Any] = field(default_factory=dict)


DEFAULT_TYPES: tuple[TypeSpec, ...] = (
    TypeSpec(
        "air_quality",
        "空气质量监测站",
        "AirQualityObserved",
        "environment",
        3600,
        "hourly",
        3,
        (
            QuantitySpec("pm25", "PM2.5", "µg/m³", 0, 2000, (75, 115, 150, 250), margin=10),
            QuantitySpec("pm10", "PM10", "µg/m³", 0, 3000, (150, 250, 350, 420), margin=20),
            QuantitySpec("so2", "二氧化硫", "µg/m³", 0, 2000),
            QuantitySpec("no2", "二氧化氮", "µg/m³", 0, 1000),
            QuantitySpec("co", "一氧化碳", "µg/m³", 0, 20000),
            QuantitySpec("o3", "臭氧", "µg/m³", 0, 1200),
            QuantitySpec("temp", "气温", "°C", -50, 60),
            QuantitySpec("pres", "气压", "hPa", 800, 1100),
            QuantitySpec("dewp", "露点", "°C", -60, 40),
            QuantitySpec("rain", "降水量", "mm", 0, 300),
            QuantitySpec("wspm", "风速", "m/s", 0, 75),
        ),
        # hourly air readings wander around a line: a level steps down after three hours below its hold line
        config={"clear_after": 3},
    ),
    TypeSpec(
        "noise",
        "噪声监测点",
        "NoiseLevelObserved",
        "environment",
        600,
        "default",
        0,
        (QuantitySpec("laeq", "等效声级", "dB(A)", 20, 140, (55, 65, 70, 80), margin=2),),
    ),
    TypeSpec(
        "water_level",
        "易涝点水位监测",
        "FloodMonitoring",
        "naturalDisaster",
        300,
        "default",
        2,
        (QuantitySpec("level", "积水深度", "cm", 0, 500, (10, 20, 30, 50), margin=2),),
    ),
    TypeSpec(
        "traffic_flow",
        "交通流量检测器",
        "TrafficFlowObserved",
        "traffic",
        300,
        "default",
        0,
        (
            QuantitySpec("intensity", "车流量", "辆/5分钟", 0, 2000),
            QuantitySpec("speed", "平均车速", "km/h", 0, 200),
        ),
    ),
    TypeSpec(
        "gas",
        "燃气泄漏监测",
        "DeviceMeasurement",
        "security",
        300,
        "default",
        2,
        (QuantitySpec("methane", "甲烷浓度", "%LEL", 0, 100, (10, 20, 25, 50), margin=1),),
    ),
    TypeSpec(
        "manhole",
        "井盖监测",
        "DeviceMeasurement",
        "security",
        3600,
        "",
        1,
        (QuantitySpec("tilt", "倾角", "°", 0, 180, (5, 10, 20, 45), margin=1),),
    ),
)
