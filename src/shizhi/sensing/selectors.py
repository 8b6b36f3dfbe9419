"""Reads of devices, series and the quarantine (设备查询), filtered by what the actor may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from shizhi.core.errors import NotFound, PermissionDenied
from shizhi.core.permissions import has_perm
from shizhi.core.selectors import Actor, scope_filter
from shizhi.sensing.models import (
    Device,
    DeviceType,
    Quantity,
    QuarantinedReading,
    Reading,
)
from shizhi.sensing.rollups import hourly


def devices_visible(actor: Actor) -> QuerySet[Device]:
    """City-wide roles see every device; a unit's staff the devices their unit owns; an area role its subtree."""
    qs = Device.objects.select_related("device_type", "owner_unit", "grid")
    return scope_filter(
        qs, actor, permission="sensing.view", unit_field="owner_unit_id", path_field="area_path"
    )


def device_list(
    *, actor: Actor, device_type: str | None = None, status: str | None = None, q: str | None = None
) -> QuerySet[Device]:
    if actor is None or not actor.is_authenticated or not has_perm(actor, "sensing.view"):
        raise PermissionDenied()
    qs = devices_visible(actor)
    if device_type:
        qs = qs.filter(device_type__code=device_type)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(name__icontains=q) | qs.filter(code__icontains=q)
    return qs.order_by("code")


def ingest_scope(actor: Actor) -> set[int] | None:
    """The devices an account may post readings for: None (any) for a city-wide role, else the devices of its
    units and areas."""
    from shizhi.core.permissions import actor_scope, roles_with

    scope = actor_scope(actor)
    roles = set(roles_with("sensing.ingest")) & set(scope.roles)
    if roles and scope.is_city_wide(roles):
        return None
    qs = scope_filter(
        Device.objects.all(),
        actor,
        permission="sensing.ingest",
        unit_field="owner_unit_id",
        path_field="area_path",
    )
    return set(qs.values_list("id", flat=True))


def access_device(*, actor: Actor, code: str) -> Device:
    """The device, or 404 when it does not exist or the actor may not see it."""
    device = devices_visible(actor).filter(code=code).first()
    if device is None:
        raise NotFound(f"设备不存在：{code}")
    return device


def device_types() -> list[DeviceType]:
    return list(DeviceType.objects.prefetch_related("quantities").order_by("code"))


@dataclass(frozen=True)
class SeriesPoint:
    ts: int
    value: float | None  # raw value, or the hour's mean
    vmin: float | None = None
    vmax: float | None = None
    n: int = 1


def series(
    *, device: Device, quantity: Quantity, start: int, end: int, resolution: str = "auto", limit: int = 20_000
) -> tuple[str, list[SeriesPoint]]:
    """Readings of one series between ``start`` and ``end`` (epoch seconds): raw, or hourly min/mean/max.
    ``auto``: raw for a span of two days or less, hourly otherwise."""
    if resolution == "auto":
        resolution = "raw" if end - start <= 2 * 86400 else "hour"
    if resolution == "raw":
        rows = (
            Reading.objects.filter(device=device, quantity=quantity, ts__gte=start, ts__lt=end)
            .order_by("ts")
            .values_list("ts", "value")[:limit]
        )
        return "raw", [SeriesPoint(t, v) for t, v in rows]
    hours = hourly(device=device, quantity_id=quantity.pk, start=start, end=end, limit=limit)
    return "hour", [SeriesPoint(h.hour, h.mean, h.vmin, h.vmax, h.n) for h in hours]


def latest_values(device: Device) -> list[dict[str, Any]]:
    """The newest reading of each of the device's quantities."""
    out = []
    for q in device.device_type.quantities.all():
        row = (
            Reading.objects.filter(device=device, quantity=q)
            .order_by("-ts")
            .values_list("ts", "value")
            .first()
        )
        out.append({"quantity": q, "ts": row[0] if row else None, "value": row[1] if row else None})
    return out


def quarantine_list(
    *, actor: Actor, device: Device | None = None, reason: str | None = None
) -> QuerySet[Any]:
    if actor is None or not actor.is_authenticated or not has_perm(actor, "sensing.view"):
        raise PermissionDenied()
    qs = QuarantinedReading.objects.all()
    if device is not None:
        qs = qs.filter(device=device)
    elif not has_perm(actor, "sensing.manage_devices"):
        qs = qs.filter(device__in=devices_visible(actor))
    if reason:
        qs = qs.filter(reason=reason)
    return qs.order_by("-id")


def quarantine_counts(*, device: Device | None = None) -> dict[str, int]:
    qs = QuarantinedReading.objects.all()
    if device is not None:
        qs = qs.filter(device=device)
    return {r["reason"]: r["n"] for r in qs.values("reason").annotate(n=Count("id")).order_by()}
