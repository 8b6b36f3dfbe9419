"""Small fixtures for sensing tests: the built-in device types and a few devices in the exact test city."""

from __future__ import annotations

from dataclasses import dataclass

from shizhi.core.tests.factories import World, build_world
from shizhi.sensing import services
from shizhi.sensing.models import Device, DeviceType, Quantity

T0 = 1_780_000_000  # 2026-05-28 20:26:40 UTC: a fixed "now" region for readings


@dataclass
class Site:
    world: World
    types: dict[str, DeviceType]
    air: Device  # air_quality in the urban district, owned by 生态环境局
    water: Device  # water_level in the county, owned by 城市管理局
    gas: Device  # gas, no location

    def quantity(self, device: Device, code: str) -> Quantity:
        return Quantity.objects.get(device_type=device.device_type, code=code)


def build_site(world: World | None = None) -> Site:
    world = world or build_world()
    types = {t.code: t for t in services.device_types_ensure(actor=None)}
    air = services.device_register(
        actor=None,
        data=services.DeviceIn(
            code="air-001",
            name="江城监测站",
            device_type="air_quality",
            lon=120.05,
            lat=30.02,
            owner_unit_id=world.units["sthj"].pk,
        ),
    )
    water = services.device_register(
        actor=None,
        data=services.DeviceIn(
            code="wl-001",
            name="县城易涝点",
            device_type="water_level",
            lon=120.25,
            lat=30.15,
            owner_unit_id=world.units["cgj"].pk,
        ),
    )
    gas = services.device_register(
        actor=None, data=services.DeviceIn(code="gas-001", name="燃气井", device_type="gas")
    )
    return Site(world, types, air, water, gas)
