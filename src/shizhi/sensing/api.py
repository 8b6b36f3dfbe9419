"""The sensing API: ``POST /api/v1/readings`` (the batch pipe) and device management under ``/api/v1/devices``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.security import HttpBearer

from shizhi.api import BrowserSessionAuth, TokenAuth
from shizhi.core.errors import ApplicationError, ErrorCode, NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import User
from shizhi.core.permissions import has_perm
from shizhi.sensing import selectors, services
from shizhi.sensing.ingest import ingest_records, parse_body
from shizhi.sensing.models import Device, Source
from shizhi.sensing.schemas import (
    DeviceIn,
    DeviceOut,
    DevicePatch,
    DeviceTypeOut,
    IngestOut,
    QuarantineOut,
    SeriesOut,
    StatusIn,
    TokenOut,
)

MAX_BODY = 32 * 1024 * 1024  # one request may carry up to 32 MB of readings (about 400,000)


class TooLarge(ApplicationError):
    code = ErrorCode.BAD_REQUEST

    @property
    def status(self) -> int:
        return 413


class DeviceTokenAuth(HttpBearer):
    """``Authorization: Bearer shd_...``: a device's own token (it may post only its own readings)."""

    def authenticate(self, request: HttpRequest, token: str) -> Device | None:
        if not token.startswith(services.DEVICE_TOKEN_PREFIX):
            return None
        return services.device_authenticate(token)


router = Router(tags=["sensing"])


@router.post(
    "/readings",
    response=IngestOut,
    auth=[DeviceTokenAuth(), TokenAuth(), BrowserSessionAuth()],
    summary="上报读数（JSON数组、NDJSON或CSV）",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            }
        }
    },
)
def readings_post(request: HttpRequest) -> dict[str, Any]:
    """Each reading: ``{"device", "quantity", "time", "value"}`` (or ``"values": {quantity: value}``). The answer
    counts the accepted, duplicate and rejected readings and lists the first errors; every rejected reading is
    kept in the quarantine with its reason."""
    principal = request.auth  # type: ignore[attr-defined]
    device = principal if isinstance(principal, Device) else None
    if device is None and not (isinstance(principal, User) and has_perm(principal, "sensing.ingest")):
        raise PermissionDenied("只有设备令牌或具有读数接入权限的账号可以上报读数")
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY:
        raise TooLarge(
            f"请求体过大：{length} 字节，上限 {MAX_BODY} 字节，请分批上报", details={"limit": MAX_BODY}
        )
    body = request.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise TooLarge(f"请求体过大，上限 {MAX_BODY} 字节，请分批上报", details={"limit": MAX_BODY})
    records = parse_body(body, request.content_type or "application/json")
    allowed = None if device is not None else selectors.ingest_scope(principal)
    return ingest_records(records, source=Source.HTTP, device=device, allowed=allowed).as_dict()


# ---------------------------------------------------------------------------------------------- devices
def device_out(d: Device) -> dict[str, Any]:
    return {
        "code": d.code,
        "name": d.name,
        "device_type": d.device_type.code,
        "lon": d.lon,
        "lat": d.lat,
        "grid": d.grid.code if d.grid_id and d.grid else None,
        "area_path": d.area_path,
        "owner_unit": d.owner_unit.name if d.owner_unit_id and d.owner_unit else None,
        "status": d.status,
        "last_seen_at": d.last_seen_at,
        "accepted_count": d.accepted_count,
        "duplicate_count": d.duplicate_count,
        "rejected_count": d.rejected_count,
    }


def _user(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


@router.get("/device-types", response=list[DeviceTypeOut], summary="设备类型及监测量")
def device_type_list(request: HttpRequest) -> list[dict[str, Any]]:
    if not has_perm(_user(request), "sensing.view"):
        raise PermissionDenied()
    return [
        {
            "code": t.code,
            "name": t.name,
            "smart_data_model": t.smart_data_model,
            "alert_category": t.alert_category,
            "expected_interval_s": t.expected_interval_s,
            "case_level": t.case_level,
            "quantities": list(t.quantities.all()),
        }
        for t in selectors.device_types()
    ]


@router.get("/devices", response=list[DeviceOut], summary="设备列表")
def device_list(
    request: HttpRequest, device_type: str | None = None, status: str | None = None, q: str | None = None
) -> list[dict[str, Any]]:
    qs = selectors.device_list(actor=_user(request), device_type=device_type, status=status, q=q)
    return [device_out(d) for d in qs[:5000]]


@router.post("/devices", response={201: DeviceOut}, summary="登记设备")
def device_create(request: HttpRequest, payload: DeviceIn) -> tuple[int, dict[str, Any]]:
    device = services.device_register(actor=_user(request), data=services.DeviceIn(**payload.dict()))
    return 201, device_out(
        Device.objects.select_related("device_type", "grid", "owner_unit").get(pk=device.pk)
    )


@router.get("/devices/{code}", response=DeviceOut, summary="设备详情")
def device_detail(request: HttpRequest, code: str) -> dict[str, Any]:
    return device_out(selectors.access_device(actor=_user(request), code=code))


@router.patch("/devices/{code}", response=DeviceOut, summary="修改设备")
def device_patch(request: HttpRequest, code: str, payload: DevicePatch) -> dict[str, Any]:
    actor = _user(request)
    device = selectors.access_device(actor=actor, code=code)
    services.device_update(actor=actor, device=device, **payload.dict(exclude_unset=True))
    return device_out(selectors.access_device(actor=actor, code=code))


@router.post("/devices/{code}/status", response=DeviceOut, summary="设置设备状态（维护中/在线）")
def device_status(request: HttpRequest, code: str, payload: StatusIn) -> dict[str, Any]:
    actor = _user(request)
    device = selectors.access_device(actor=actor, code=code)
    services.device_set_status(actor=actor, device=device, status=payload.status, note=payload.note)
    return device_out(selectors.access_device(actor=actor, code=code))


@router.post("/devices/{code}/token", response=TokenOut, summary="签发设备令牌（仅显示一次）")
def device_token(request: HttpRequest, code: str) -> dict[str, Any]:
    actor = _user(request)
    device = selectors.access_device(actor=actor, code=code)
    return {"device": device.code, "token": services.device_issue_token(actor=actor, device=device)}


@router.get("/devices/{code}/series", response=SeriesOut, summary="设备读数序列（原始或小时汇总）")
def device_series(
    request: HttpRequest,
    code: str,
    quantity: str,
    start: datetime | None = None,
    end: datetime | None = None,
    resolution: str = "auto",
) -> dict[str, Any]:
    device = selectors.access_device(actor=_user(request), code=code)
    q = device.device_type.quantities.filter(code=quantity).first()
    if q is None:
        raise NotFound(f"该设备没有监测量：{quantity}")
    if resolution not in ("auto", "raw", "hour"):
        raise ValidationFailed("resolution 应为 auto、raw 或 hour", details={"field": "resolution"})
    end_s = int(end.timestamp()) if end else int(time.time()) + 1
    start_s = int(start.timestamp()) if start else end_s - 7 * 86400
    if start_s >= end_s:
        raise ValidationFailed("开始时间应早于结束时间", details={"field": "start"})
    used, points = selectors.series(
        device=device, quantity=q, start=start_s, end=end_s, resolution=resolution
    )
    return {
        "device": device.code,
        "quantity": q.code,
        "unit": q.unit,
        "resolution": used,
        "points": [
            {
                "ts": p.ts,
                "time": datetime.fromtimestamp(p.ts, tz=UTC),
                "value": p.value,
                "min": p.vmin,
                "max": p.vmax,
                "n": p.n,
            }
            for p in points
        ],
    }


@router.get("/devices/{code}/quarantine", response=list[QuarantineOut], summary="设备的隔离读数")
def device_quarantine(request: HttpRequest, code: str, reason: str | None = None) -> list[Any]:
    actor = _user(request)
    device = selectors.access_device(actor=actor, code=code)
    return list(selectors.quarantine_list(actor=actor, device=device, reason=reason)[:500])
