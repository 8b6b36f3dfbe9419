"""The readings pipe (读数接入): parse, validate, store, roll up, score, in one transaction per batch.

Every path in (HTTP batch, MQTT, replay, demo) ends in :func:`ingest_records`. A reading is either stored, or
recognised as a duplicate of a stored one (same device, quantity and second: idempotent, the first value wins),
or quarantined with its reason and counted against its device. Nothing is dropped: ``accepted + duplicate +
rejected`` always equals the number of readings offered.

Speed matters (a city's sensors post in bursts, replays post years): the hot loop is plain Python over dicts and
tuples, device and quantity facts come from a per-process catalogue (refreshed when a code is unknown and when a
device, type or quantity changes in this process; at most :data:`CATALOGUE_TTL` seconds old otherwise), rows go
in with one ``executemany``, and a series' newest stored second is cached so that readings that extend a series
(nearly all of them) need no duplicate lookup.
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from shizhi.core.errors import ApplicationError, ErrorCode
from shizhi.sensing.models import (
    Device,
    DeviceStatus,
    HourlyRollup,
    Quantity,
    QuarantinedReading,
    Reading,
    RejectReason,
)

CATALOGUE_TTL = 30.0  # seconds a device's facts may be cached without a reload
FUTURE_TOLERANCE = 300  # a reading may be up to 5 minutes ahead of the server's clock (clock skew)
EARLIEST = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp())  # before this a timestamp is not sane
MAX_ERRORS = 20  # errors listed in a response (all are in the quarantine)
NAIVE_TZ = ZoneInfo("Asia/Shanghai")  # a timestamp without an offset is local time of the city
RAW_LIMIT = 1000

MESSAGES = {
    RejectReason.MALFORMED: "读数格式错误",
    RejectReason.UNKNOWN_DEVICE: "未登记的设备",
    RejectReason.NOT_YOUR_DEVICE: "设备令牌只能上报本设备的读数",
    RejectReason.UNKNOWN_QUANTITY: "该类设备没有这个监测量",
    RejectReason.BAD_TIMESTAMP: "时间无法识别",
    RejectReason.FUTURE_TIMESTAMP: "时间晚于当前时间",
    RejectReason.TOO_OLD: "时间早于2000年",
    RejectReason.NOT_A_NUMBER: "数值不是有效数字",
    RejectReason.OUT_OF_RANGE: "数值超出物理量程",
}


class PayloadError(ApplicationError):
    """The body as a whole cannot be read (not JSON, not UTF-8, unknown content type): nothing is stored."""

    code = ErrorCode.BAD_REQUEST


# ---------------------------------------------------------------------------------------------- catalogue
@dataclass(frozen=True)
class QuantityInfo:
    id: int
    code: str
    min_value: float
    max_value: float


@dataclass(frozen=True)
class DeviceInfo:
    id: int
    code: str
    type_id: int
    status: str
    quantities: dict[str, QuantityInfo]


class Catalogue:
    """Device code -> facts needed to validate its readings, shared by the threads of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: dict[str, DeviceInfo] = {}
        self._missing: set[str] = set()
        self._loaded_at = 0.0
        self.series_last: dict[tuple[int, int], int] = {}  # (device, quantity) -> newest stored second

    def clear(self) -> None:
        with self._lock:
            self._devices = {}
            self._missing = set()
            self._loaded_at = 0.0
            self.series_last = {}

    def lookup(self, codes: Iterable[str]) -> dict[str, DeviceInfo]:
        now = time.monotonic()
        with self._lock:
            if now - self._loaded_at > CATALOGUE_TTL:
                self._devices, self._missing, self._loaded_at = {}, set(), now
            devices = self._devices
            wanted = [c for c in set(codes) if c not in devices and c not in self._missing]
        if wanted:
            found = _load_devices(wanted)
            with self._lock:
                self._devices.update(found)
                self._missing.update(c for c in wanted if c not in found)
                devices = self._devices
        return devices


def _load_devices(codes: list[str]) -> dict[str, DeviceInfo]:
    out: dict[str, DeviceInfo] = {}
    quantities: dict[int, dict[str, QuantityInfo]] = {}
    for i in range(0, len(codes), 500):
        rows = list(
            Device.objects.filter(code__in=codes[i : i + 500]).values_list(
                "id", "code", "device_type_id", "status"
            )
        )
        type_ids = {r[2] for r in rows} - set(quantities)
        for q in Quantity.objects.filter(device_type_id__in=type_ids).values_list(
            "id", "code", "device_type_id", "min_value", "max_value"
        ):
            quantities.setdefault(q[2], {})[q[1]] = QuantityInfo(q[0], q[1], q[3], q[4])
        for dev_id, code, type_id, status in rows:
            out[code] = DeviceInfo(dev_id, code, type_id, status, quantities.get(type_id, {}))
    return out


CATALOGUE = Catalogue()


def forget_catalogue(**_: Any) -> None:
    """Drop the cached device facts (connected to the save/delete signals of devices, types and quantities)."""
    CATALOGUE.clear()


# ---------------------------------------------------------------------------------------------- parsing
def parse_body(body: bytes, content_type: str) -> Iterator[Mapping[str, Any] | str]:
    """The readings of a request body: mappings, or a string (the raw text of a line that is not a reading).

    ``application/json``: an array of readings (or one object); ``application/x-ndjson``: one JSON object per
    line; ``text/csv``: a header line with ``device,quantity,time,value``. A body that cannot be read at all
    raises :class:`PayloadError`."""
    kind = (content_type or "application/json").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PayloadError("请求体不是UTF-8编码", details={"position": exc.start}) from exc
    if kind in ("application/json", "text/json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PayloadError(
                f"JSON格式错误：第{exc.lineno}行第{exc.colno}列",
                details={"line": exc.lineno, "column": exc.colno},
            ) from exc
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise PayloadError("JSON请求体应为读数数组或单个读数对象")
        return iter(data)
    if kind in ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines"):
        return _ndjson(text)
    if kind in ("text/csv", "application/csv"):
        return _csv(text)
    raise PayloadError(
        f"不支持的内容类型：{kind}（支持 application/json、application/x-ndjson、text/csv）",
        details={"content_type": kind},
    )


def _ndjson(text: str) -> Iterator[Mapping[str, Any] | str]:
    loads = json.loads
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            yield loads(line)
        except json.JSONDecodeError:
            yield line


def _csv(text: str) -> Iterator[Mapping[str, Any] | str]:
    """Checks the header at once (a wrong header refuses the whole body), then yields the rows lazily."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return iter(())
    names = [h.strip().lower() for h in header]
    missing = sorted({"device", "quantity", "value"} - set(names))
    if not {"time", "ts"} & set(names):
        missing.append("time")
    if missing:
        raise PayloadError(
            "CSV表头应包含 device,quantity,time,value", details={"header": header, "missing": missing}
        )
    return _csv_rows(reader, names)


def _csv_rows(reader: Any, names: list[str]) -> Iterator[Mapping[str, Any] | str]:
    width = len(names)
    for row in reader:
        if not row:
            continue
        if len(row) != width:
            yield ",".join(row)
            continue
        yield dict(zip(names, row, strict=True))


# ---------------------------------------------------------------------------------------------- result
@dataclass
class IngestResult:
    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    signals: int = 0  # warning-level changes raised by the inline detectors

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "rejected_by_reason": self.rejected_by_reason,
            "errors": self.errors,
        }

    def add(self, other: IngestResult) -> None:
        self.received += other.received
        self.accepted += other.accepted
        self.duplicate += other.duplicate
        self.rejected += other.rejected
        self.signals += other.signals
        for k, v in other.rejected_by_reason.items():
            self.rejected_by_reason[k] = self.rejected_by_reason.get(k, 0) + v
        room = MAX_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(other.errors[:room])


# ---------------------------------------------------------------------------------------------- validation
_ts_cache: dict[Any, int | None] = {}


def parse_time(raw: Any) -> int | None:
    """Seconds since the epoch from a number (seconds, or milliseconds when above 1e11) or an ISO 8601 string
    (without an offset: Asia/Shanghai). None when it cannot be read."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            return None
        return int(raw / 1000) if raw > 1e11 else int(raw)
    if not isinstance(raw, str):
        return None
    got = _ts_cache.get(raw, -1)
    if got != -1:
        return got  # type: ignore[return-value]
    value: int | None
    s = raw.strip()
    try:
        value = int(float(s)) if s[:1].isdigit() and s.replace(".", "", 1).isdigit() else None
        if value is not None and value > 1e11:
            value //= 1000
        if value is None:
            dt = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=NAIVE_TZ)
            value = int(dt.timestamp())
    except (ValueError, OverflowError):
        value = None
    if len(_ts_cache) > 100_000:
        _ts_cache.clear()
    _ts_cache[raw] = value
    return value


def _raw_text(record: Any) -> str:
    if isinstance(record, str):
        return record[:RAW_LIMIT]
    try:
        return json.dumps(record, ensure_ascii=False, default=str)[:RAW_LIMIT]
    except (TypeError, ValueError):
        return repr(record)[:RAW_LIMIT]


def _expand(records: Iterable[Mapping[str, Any] | str]) -> Iterator[Mapping[str, Any] | str]:
    """A reading with ``values: {quantity: value}`` stands for one reading per quantity."""
    for r in records:
        if isinstance(r, dict) and "values" in r and "quantity" not in r:
            values = r["values"]
            if isinstance(values, dict) and values:
                for q, v in values.items():
                    one = dict(r)
                    del one["values"]
                    one["quantity"] = q
                    one["value"] = v
                    yield one
                continue
        yield r


# ---------------------------------------------------------------------------------------------- the pipe
@dataclass
class _Reject:
    device_id: int | None
    device_code: str
    quantity_code: str
    ts: int | None
    raw: str
    reason: str


def ingest_records(
    records: Iterable[Mapping[str, Any] | str],
    *,
    source: str,
    device: Device | DeviceInfo | None = None,
    allowed: set[int] | None = None,
    detect: bool = True,
    now: datetime | None = None,
) -> IngestResult:
    """Validate and store readings; quarantine the rest. ``device``: the device whose token the request carried
    (it may only post its own readings); None for a gateway or an internal source. ``allowed``: the device ids a
    gateway's account may post for (None: any). ``detect``: run the inline
    detectors (warning thresholds) on the stored readings."""
    now_dt = now or timezone.now()
    now_s = int(now_dt.timestamp())
    latest_ok = now_s + FUTURE_TOLERANCE
    items = list(_expand(records))
    result = IngestResult(received=len(items))
    if not items:
        return result

    codes = {r.get("device") for r in items if isinstance(r, dict) and isinstance(r.get("device"), str)}
    devices = CATALOGUE.lookup(c for c in codes if isinstance(c, str))
    only = device.id if device is not None else None

    good: dict[tuple[int, int], dict[int, float]] = defaultdict(dict)
    rejects: list[_Reject] = []
    dup_within = 0
    dup_by_device: dict[int, int] = defaultdict(int)
    finite = math.isfinite
    for index, r in enumerate(items):
        if not isinstance(r, dict):
            rejects.append(_Reject(None, "", "", None, _raw_text(r), RejectReason.MALFORMED))
            _note(result, index, RejectReason.MALFORMED, "")
            continue
        code = r.get("device")
        info = devices.get(code) if isinstance(code, str) else None
        if info is None:
            reason = RejectReason.UNKNOWN_DEVICE if isinstance(code, str) and code else RejectReason.MALFORMED
            rejects.append(
                _Reject(
                    None, str(code or "")[:80], str(r.get("quantity", ""))[:40], None, _raw_text(r), reason
                )
            )
            _note(result, index, reason, str(code or ""))
            continue
        if (only is not None and info.id != only) or (allowed is not None and info.id not in allowed):
            rejects.append(
                _Reject(
                    None,
                    info.code,
                    str(r.get("quantity", ""))[:40],
                    None,
                    _raw_text(r),
                    RejectReason.NOT_YOUR_DEVICE,
                )
            )
            _note(result, index, RejectReason.NOT_YOUR_DEVICE, info.code)
            continue
        qcode = r.get("quantity")
        q = info.quantities.get(qcode) if isinstance(qcode, str) else None
        if q is None:
            reason = (
                RejectReason.UNKNOWN_QUANTITY if isinstance(qcode, str) and qcode else RejectReason.MALFORMED
            )
            rejects.append(_Reject(info.id, info.code, str(qcode or "")[:40], None, _raw_text(r), reason))
            _note(result, index, reason, info.code)
            continue
        raw_t = r.get("time", r.get("ts"))
        ts = parse_time(raw_t) if raw_t is not None else None
        if ts is None:
            reason = RejectReason.BAD_TIMESTAMP if raw_t is not None else RejectReason.MALFORMED
            rejects.append(_Reject(info.id, info.code, q.code, None, _raw_text(r), reason))
            _note(result, index, reason, info.code)
            continue
        if ts > latest_ok or ts < EARLIEST:
            reason = RejectReason.FUTURE_TIMESTAMP if ts > latest_ok else RejectReason.TOO_OLD
            rejects.append(_Reject(info.id, info.code, q.code, ts, _raw_text(r), reason))
            _note(result, index, reason, info.code)
            continue
        v = r.get("value")
        if type(v) is not float:
            v = _number(v)
        if v is None or not finite(v):
            reason = RejectReason.NOT_A_NUMBER if "value" in r else RejectReason.MALFORMED
            rejects.append(_Reject(info.id, info.code, q.code, ts, _raw_text(r), reason))
            _note(result, index, reason, info.code)
            continue
        if v < q.min_value or v > q.max_value:
            rejects.append(_Reject(info.id, info.code, q.code, ts, _raw_text(r), RejectReason.OUT_OF_RANGE))
            _note(
                result,
                index,
                RejectReason.OUT_OF_RANGE,
                info.code,
                f"{v:g}不在[{q.min_value:g}, {q.max_value:g}]内",
            )
            continue
        series = good[(info.id, q.id)]
        if ts in series:
            dup_within += 1
            dup_by_device[info.id] += 1
            continue
        series[ts] = v

    with transaction.atomic():
        new, dup_stored = _store(good, dup_by_device)
        _quarantine(rejects, source, now_dt)
        _count(good, new, dup_by_device, rejects, now_dt)
        if detect and new:
            from shizhi.sensing.detection import score_inline

            result.signals = score_inline(new, now_dt)
    result.accepted = sum(len(v) for v in new.values())
    result.duplicate = dup_within + dup_stored
    result.rejected = len(rejects)
    return result


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _note(result: IngestResult, index: int, reason: str, device: str, detail: str = "") -> None:
    result.rejected_by_reason[reason] = result.rejected_by_reason.get(reason, 0) + 1
    if len(result.errors) < MAX_ERRORS:
        message = MESSAGES[RejectReason(reason)]
        result.errors.append(
            {
                "index": index,
                "reason": str(reason),
                "device": device,
                "message": f"{message}：{detail}" if detail else message,
            }
        )


def _table(model: Any) -> str:
    return str(model._meta.db_table)


def _store(
    good: dict[tuple[int, int], dict[int, float]], dup_by_device: dict[int, int]
) -> tuple[dict[tuple[int, int], list[tuple[int, float]]], int]:
    """Insert the readings that are not stored yet; return them per series (in time order) and the number of
    duplicates of stored readings."""
    if not good:
        return {}, 0
    last = CATALOGUE.series_last
    unknown = [k for k in good if k not in last]
    if unknown:
        _load_series_last(unknown)
    new: dict[tuple[int, int], list[tuple[int, float]]] = {}
    dup = 0
    rows: list[tuple[int, int, int, float]] = []
    table = _table(Reading)
    with connection.cursor() as cur:
        for key, series in good.items():
            newest = last.get(key, -1)
            older = [t for t in series if t <= newest]
            if older:
                cur.execute(
                    f"SELECT ts FROM {table} WHERE device_id = %s AND quantity_id = %s AND ts BETWEEN %s AND %s",
                    [key[0], key[1], min(older), max(older)],
                )
                stored = {t for (t,) in cur.fetchall()}
                if stored:
                    for t in stored:
                        if t in series:
                            del series[t]
                            dup += 1
                            dup_by_device[key[0]] += 1
            if not series:
                continue
            items = sorted(series.items())
            new[key] = items
            d, q = key
            rows.extend((d, q, t, v) for t, v in items)
            if items[-1][0] > newest:
                last[key] = items[-1][0]
        if not rows:
            return new, dup
        inserted = _insert(cur, table, rows)
    if inserted != len(rows):
        # Another process stored some of the same readings at the same moment: count them as duplicates and
        # rebuild the touched hours from what is stored.
        dup += len(rows) - inserted
        _rebuild_rollups(new)
        # The detectors skip readings at or before the newest second they have seen, so the rows the other
        # process stored and scored are not raised twice by this process's detectors for the same series.
        CATALOGUE.series_last.clear()
    else:
        _add_rollups(new)
    return new, dup


def _load_series_last(keys: list[tuple[int, int]]) -> None:
    table = _table(Reading)
    last = CATALOGUE.series_last
    with connection.cursor() as cur:
        for i in range(0, len(keys), 400):
            chunk = keys[i : i + 400]
            devices = sorted({d for d, _ in chunk})
            cur.execute(
                f"SELECT device_id, quantity_id, MAX(ts) FROM {table} WHERE device_id IN ({','.join(['%s'] * len(devices))})"
                " GROUP BY device_id, quantity_id",
                devices,
            )
            found = {(d, q): t for d, q, t in cur.fetchall()}
            for key in chunk:
                last[key] = found.get(key, -1)


def _insert(cur: Any, table: str, rows: list[tuple[int, int, int, float]]) -> int:
    if connection.vendor == "sqlite":
        raw = connection.connection
        before = raw.total_changes
        raw.executemany(
            f"INSERT OR IGNORE INTO {table} (device_id, quantity_id, ts, value) VALUES (?, ?, ?, ?)", rows
        )
        return int(raw.total_changes - before)
    cur.executemany(
        f"INSERT INTO {table} (device_id, quantity_id, ts, value) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
        rows,
    )
    return int(cur.rowcount)


def _rollup_groups(
    new: dict[tuple[int, int], list[tuple[int, float]]],
) -> dict[tuple[int, int, int], list[float]]:
    groups: dict[tuple[int, int, int], list[float]] = {}
    for (d, q), items in new.items():
        for t, v in items:
            h = t - t % 3600
            g = groups.get((d, q, h))
            if g is None:
                groups[(d, q, h)] = [1, v, v, v]
            else:
                g[0] += 1
                g[1] += v
                if v < g[2]:
                    g[2] = v
                if v > g[3]:
                    g[3] = v
    return groups


def _add_rollups(new: dict[tuple[int, int], list[tuple[int, float]]]) -> None:
    groups = _rollup_groups(new)
    table = _table(HourlyRollup)
    lo, hi = ("min", "max") if connection.vendor == "sqlite" else ("LEAST", "GREATEST")
    sql = (
        f"INSERT INTO {table} (device_id, quantity_id, hour, n, total, vmin, vmax) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        f" ON CONFLICT (device_id, quantity_id, hour) DO UPDATE SET n = {table}.n + excluded.n,"
        f" total = {table}.total + excluded.total, vmin = {lo}({table}.vmin, excluded.vmin),"
        f" vmax = {hi}({table}.vmax, excluded.vmax)"
    )
    with connection.cursor() as cur:
        cur.executemany(sql, [(d, q, h, g[0], g[1], g[2], g[3]) for (d, q, h), g in groups.items()])


def _rebuild_rollups(new: dict[tuple[int, int], list[tuple[int, float]]]) -> None:
    groups = _rollup_groups(new)
    rtable, table = _table(HourlyRollup), _table(Reading)
    with connection.cursor() as cur:
        for d, q, h in groups:
            cur.execute(
                f"DELETE FROM {rtable} WHERE device_id = %s AND quantity_id = %s AND hour = %s", [d, q, h]
            )
            cur.execute(
                f"INSERT INTO {rtable} (device_id, quantity_id, hour, n, total, vmin, vmax)"
                f" SELECT device_id, quantity_id, %s, COUNT(*), SUM(value), MIN(value), MAX(value) FROM {table}"
                " WHERE device_id = %s AND quantity_id = %s AND ts >= %s AND ts < %s GROUP BY device_id, quantity_id",
                [h, d, q, h, h + 3600],
            )


def _quarantine(rejects: list[_Reject], source: str, now: datetime) -> None:
    if not rejects:
        return
    QuarantinedReading.objects.bulk_create(
        [
            QuarantinedReading(
                device_id=r.device_id,
                device_code=r.device_code,
                quantity_code=r.quantity_code,
                ts=r.ts,
                raw=r.raw,
                reason=r.reason,
                message=str(MESSAGES[RejectReason(r.reason)]),
                source=source,
                received_at=now,
            )
            for r in rejects
        ],
        batch_size=500,
    )


def _count(
    good: dict[tuple[int, int], dict[int, float]],
    new: dict[tuple[int, int], list[tuple[int, float]]],
    dup_by_device: dict[int, int],
    rejects: list[_Reject],
    now: datetime,
) -> None:
    """Per device: readings accepted, duplicated and quarantined; last seen; back online if it was offline."""
    accepted: dict[int, int] = defaultdict(int)
    newest: dict[int, int] = {}
    for (d, _q), items in new.items():
        accepted[d] += len(items)
        t = items[-1][0]
        if t > newest.get(d, -1):
            newest[d] = t
    rejected: dict[int, int] = defaultdict(int)
    for r in rejects:
        if r.device_id is not None:
            rejected[r.device_id] += 1
    touched = set(accepted) | set(dup_by_device) | set(rejected)
    if not touched:
        return
    table = _table(Device)
    seen = connection.ops.adapt_datetimefield_value(now)
    hi = "max" if connection.vendor == "sqlite" else "GREATEST"
    with connection.cursor() as cur:
        cur.executemany(
            f"UPDATE {table} SET accepted_count = accepted_count + %s, duplicate_count = duplicate_count + %s,"
            f" rejected_count = rejected_count + %s, last_seen_at = %s,"
            f" last_reading_ts = {hi}(COALESCE(last_reading_ts, -1), %s) WHERE id = %s",
            [
                (accepted.get(d, 0), dup_by_device.get(d, 0), rejected.get(d, 0), seen, newest.get(d, -1), d)
                for d in sorted(touched)
            ],
        )
    back = [d for d in accepted]
    if back:
        came_back = list(
            Device.objects.filter(id__in=back, status=DeviceStatus.OFFLINE).values_list("id", flat=True)
        )
        if came_back:
            from shizhi.sensing.detection import devices_back_online

            devices_back_online(came_back, now)
