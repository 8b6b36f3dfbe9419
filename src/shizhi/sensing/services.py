"""Every write to devices and their types (设备管理): validated, audited, refused with a clear error."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass

from django.db import transaction

from shizhi.core.audit import audit_record, field_changes
from shizhi.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import Unit, User
from shizhi.core.permissions import has_perm
from shizhi.core.selectors import locate_point
from shizhi.sensing.models import Device, DeviceStatus, DeviceType, Quantity
from shizhi.sensing.types import DEFAULT_TYPES, TypeSpec

DEVICE_TOKEN_PREFIX = "shd_"


def _require(actor: User | None, permission: str) -> None:
    if actor is not None and not has_perm(actor, permission):
        raise PermissionDenied()


def _forget() -> None:
    from shizhi.sensing.detection import forget_facts
    from shizhi.sensing.ingest import forget_catalogue

    forget_catalogue()
    forget_facts()


def device_token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------- types
@transaction.atomic
def device_types_ensure(
    *, actor: User | None = None, specs: tuple[TypeSpec, ...] = DEFAULT_TYPES
) -> list[DeviceType]:
    """Create the built-in device types and quantities that are missing; existing ones are left as the city
    edited them. Idempotent."""
    _require(actor, "sensing.manage_devices")
    out = []
    for spec in specs:
        dtype, created = DeviceType.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "smart_data_model": spec.smart_data_model,
                "alert_category": spec.alert_category,
                "expected_interval_s": spec.expected_interval_s,
                "anomaly_profile": spec.anomaly_profile,
                "case_level": spec.case_level,
                "case_category_code": spec.case_category_code,
                "config": spec.config,
            },
        )
        if created:
            audit_record(
                actor=actor, action="device_type.create", obj=dtype, changes={"code": [None, spec.code]}
            )
        existing = set(dtype.quantities.values_list("code", flat=True))
        for q in spec.quantities:
            if q.code in existing:
                continue
            Quantity.objects.create(
                device_type=dtype,
                code=q.code,
                name=q.name,
                unit=q.unit,
                min_value=q.min_value,
                max_value=q.max_value,
                thresholds=list(q.thresholds) if q.thresholds else None,
                direction=q.direction,
                margin=q.margin,
            )
        out.append(dtype)
    return out


# ---------------------------------------------------------------------------------------------- devices
@dataclass(frozen=True)
class DeviceIn:
    code: str
    name: str
    device_type: str  # DeviceType.code
    lon: float | None = None
    lat: float | None = None
    owner_unit_id: int | None = None


def _check_point(lon: float | None, lat: float | None) -> None:
    if (lon is None) != (lat is None):
        raise ValidationFailed("经纬度须同时提供", details={"field": "lon" if lon is None else "lat"})
    if (
        lon is not None
        and lat is not None
        and not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90)
    ):
        raise ValidationFailed("坐标无效", details={"lon": lon, "lat": lat})


def _place(device: Device) -> None:
    """Resolve the device's location to its grid, community and area path (for scope and the risk view)."""
    device.grid = None
    device.area = None
    device.area_path = ""
    if device.lon is None or device.lat is None:
        return
    loc = locate_point(device.lon, device.lat)
    device.grid = loc.grid
    area = loc.community or loc.street or loc.district or loc.city
    device.area = area
    if loc.grid is not None:
        device.area_path = loc.grid.path
    elif area is not None:
        device.area_path = area.path


@transaction.atomic
def device_register(*, actor: User | None, data: DeviceIn) -> Device:
    _require(actor, "sensing.manage_devices")
    code = (data.code or "").strip()
    name = (data.name or "").strip()
    if not code or len(code) > 80 or any(ch in code for ch in "/#+ \t\n"):
        raise ValidationFailed("设备编码须为1-80个字符，且不含空格、/、#、+", details={"field": "code"})
    if not name:
        raise ValidationFailed("请填写设备名称", details={"field": "name"})
    dtype = DeviceType.objects.filter(code=data.device_type).first()
    if dtype is None:
        raise ValidationFailed(f"未知的设备类型：{data.device_type}", details={"field": "device_type"})
    _check_point(data.lon, data.lat)
    unit = None
    if data.owner_unit_id is not None:
        unit = Unit.objects.filter(pk=data.owner_unit_id).first()
        if unit is None:
            raise ValidationFailed("权属单位不存在", details={"field": "owner_unit_id"})
    if Device.objects.filter(code=code).exists():
        raise Conflict(f"设备编码已存在：{code}", details={"field": "code"})
    device = Device(code=code, name=name, device_type=dtype, lon=data.lon, lat=data.lat, owner_unit=unit)
    _place(device)
    device.save()
    audit_record(
        actor=actor,
        action="device.register",
        obj=device,
        changes={"code": [None, code], "device_type": [None, dtype.code], "grid": [None, device.grid_id]},
        area_path=device.area_path,
        unit=unit,
    )
    return device


@transaction.atomic
def device_update(
    *,
    actor: User | None,
    device: Device,
    name: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    owner_unit_id: int | None = None,
) -> Device:
    _require(actor, "sensing.manage_devices")
    values: dict[str, object] = {}
    if name is not None:
        if not name.strip():
            raise ValidationFailed("请填写设备名称", details={"field": "name"})
        values["name"] = name.strip()
    if lon is not None or lat is not None:
        _check_point(lon, lat)
        values["lon"], values["lat"] = lon, lat
    if owner_unit_id is not None:
        if not Unit.objects.filter(pk=owner_unit_id).exists():
            raise ValidationFailed("权属单位不存在", details={"field": "owner_unit_id"})
        values["owner_unit_id"] = owner_unit_id
    changes = field_changes(device, values)
    if not changes:
        return device
    for k, v in values.items():
        setattr(device, k, v)
    if "lon" in changes or "lat" in changes:
        _place(device)
    device.save()
    audit_record(actor=actor, action="device.update", obj=device, changes=changes, area_path=device.area_path)
    return device


@transaction.atomic
def device_set_status(*, actor: User | None, device: Device, status: str, note: str = "") -> Device:
    """Put a device into maintenance (its readings are stored, no alerts) or back into service."""
    _require(actor, "sensing.manage_devices")
    if status not in DeviceStatus.values:
        raise ValidationFailed(f"未知的设备状态：{status}", details={"field": "status"})
    if status == device.status:
        return device
    old = device.status
    Device.objects.filter(pk=device.pk).update(status=status)
    device.status = status
    _forget()
    audit_record(
        actor=actor,
        action="device.set_status",
        obj=device,
        changes={"status": [old, status], **({"note": [None, note]} if note else {})},
        area_path=device.area_path,
    )
    return device


@transaction.atomic
def device_issue_token(*, actor: User | None, device: Device) -> str:
    """A new device token (shown once; only its SHA-256 is kept). The previous token stops working."""
    _require(actor, "sensing.manage_devices")
    raw = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(24)
    Device.objects.filter(pk=device.pk).update(token_digest=device_token_digest(raw))
    device.token_digest = device_token_digest(raw)
    audit_record(actor=actor, action="device.issue_token", obj=device, changes={"token": ["***", "***"]})
    return raw


def device_authenticate(raw: str) -> Device | None:
    """The device a device token belongs to, or None."""
    if not raw or not raw.startswith(DEVICE_TOKEN_PREFIX) or len(raw) > 200:
        return None
    return Device.objects.filter(token_digest=device_token_digest(raw)).only("id", "code", "status").first()


def device_get(code: str) -> Device:
    device = Device.objects.filter(code=code).first()
    if device is None:
        raise NotFound(f"设备不存在：{code}")
    return device
