"""Fixtures for the alert tests: the hotline's test city (categories, units, staff) with a few devices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from shizhi.core.models import Role, Unit, User
from shizhi.core.selectors import locate_point
from shizhi.core.tests.factories import make_user
from shizhi.hotline.tests.factories import IN_COUNTY, IN_URBAN, HotlineWorld, build_hotline_world
from shizhi.sensing.models import AlertCategory, Device, DeviceStatus, DeviceType, Quantity
from shizhi.warning import services
from shizhi.warning.models import Alert


@dataclass
class AlertWorld:
    hw: HotlineWorld
    water_type: DeviceType  # naturalDisaster; orange (3) and above opens a case of category CX01 (市政设施)
    air_type: DeviceType  # environment; never opens a case
    water: Device  # in 江城区 南街道 西社区, owned by 城市管理局 (cgj)
    air: Device  # in the county, owned by 生态环境局 (sthj)
    orphan: Device  # a water-level device in the county without an owner unit
    level_q: Quantity
    pm25_q: Quantity
    t0: dt.datetime  # a moment two hours ago: detector signals come from readings of the recent past

    @property
    def users(self) -> dict[str, User]:
        return self.hw.users

    @property
    def units(self) -> dict[str, Unit]:
        return self.hw.units


def make_type(code: str, *, category: str, case_level: int, case_category_code: str = "") -> DeviceType:
    return DeviceType.objects.create(
        code=code,
        name={"water_level": "水位计", "air_quality": "空气质量监测站"}.get(code, code),
        alert_category=category,
        case_level=case_level,
        case_category_code=case_category_code,
    )


def make_device(code: str, dtype: DeviceType, *, unit: Unit | None, at: tuple[float, float] | None) -> Device:
    """A device placed like the sensing app places it: its grid, community and the grid's path."""
    device = Device(code=code, name=f"{dtype.name}{code}", device_type=dtype, owner_unit=unit)
    if at is not None:
        loc = locate_point(*at)
        device.lon, device.lat = at
        device.grid, device.area = loc.grid, loc.community
        device.area_path = loc.grid.path if loc.grid else ""
    device.save()
    return device


def build_alert_world() -> AlertWorld:
    hw = build_hotline_world()
    water_type = make_type(
        "water_level", category=AlertCategory.NATURAL_DISASTER, case_level=3, case_category_code="CX01"
    )
    air_type = make_type("air_quality", category=AlertCategory.ENVIRONMENT, case_level=0)
    level_q = Quantity.objects.create(
        device_type=water_type, code="water_level", name="水位", unit="m", min_value=0, max_value=20
    )
    pm25_q = Quantity.objects.create(
        device_type=air_type, code="pm25", name="PM2.5", unit="μg/m³", min_value=0, max_value=1000
    )
    units = hw.units
    world = AlertWorld(
        hw=hw,
        water_type=water_type,
        air_type=air_type,
        water=make_device("wl-1", water_type, unit=units["cgj"], at=IN_URBAN),
        air=make_device("aq-1", air_type, unit=units["sthj"], at=IN_COUNTY),
        orphan=make_device("wl-2", water_type, unit=None, at=IN_COUNTY),
        level_q=level_q,
        pm25_q=pm25_q,
        t0=timezone.now().replace(microsecond=0) - dt.timedelta(hours=2),
    )
    hw.users["l_sthj"] = make_user("l_sthj", (Role.UNIT_LEADER, units["sthj"], None))
    return world


def signal(
    w: AlertWorld,
    device: Device,
    level: int,
    *,
    rule: str | None = None,
    minutes: int = 0,
    value: float | None = 3.5,
    **over: Any,
) -> Alert:
    """A detector's signal for ``device`` (by default the threshold rule of its first quantity)."""
    quantity = w.level_q if device.device_type_id == w.water_type.pk else w.pm25_q
    return services.alert_signal(
        device_id=device.pk,
        quantity_id=over.pop("quantity_id", quantity.pk),
        rule=rule or f"threshold:{quantity.code}",
        level=level,
        score=over.pop("score", level / 4),
        kind=over.pop("kind", ["", "blue", "yellow", "orange", "red"][level]),
        reason=over.pop("reason", f"{quantity.name}{value}{quantity.unit}"),
        value=value,
        at=w.t0 + dt.timedelta(minutes=minutes),
    )


def clear(w: AlertWorld, device: Device, *, rule: str | None = None, minutes: int = 30) -> Alert | None:
    quantity = w.level_q if device.device_type_id == w.water_type.pk else w.pm25_q
    return services.alert_clear(
        device_id=device.pk,
        quantity_id=quantity.pk,
        rule=rule or f"threshold:{quantity.code}",
        at=w.t0 + dt.timedelta(minutes=minutes),
        reason="恢复正常",
    )


def in_maintenance(device: Device) -> Device:
    device.status = DeviceStatus.MAINTENANCE
    device.save(update_fields=["status"])
    return device
