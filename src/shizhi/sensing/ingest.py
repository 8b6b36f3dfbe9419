"""The readings pipe (读数接入): parse, validate, store, count, score, in one transaction per batch.

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

import atexit
import contextlib
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

import orjson

try:
    from shizhi.sensing import _ingest_core
except ImportError:  # pragma: no cover - `make install` builds it; without it the Python loop runs
    _ingest_core = None  # type: ignore[assignment]
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from shizhi.core.errors import ApplicationError, ErrorCode
from shizhi.sensing.models import (
    Device,
    DeviceStatus,
    Quantity,
    QuarantinedReading,
    Reading,
    RejectReason,
)

CATALOGUE_TTL = 30.0  # seconds a device's facts may be cached without a reload
FUTURE_TOLERANCE = 300  # a reading may be up to 5 minutes ahead of the server's clock (clock skew)
EARLIEST = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp())  # before this a timestamp is not sane
MAX_INT_VALUE = 2**1023  # an integer value beyond this has no float: not a number (float() would overflow)
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
@dataclass(frozen=True, slots=True)
class QuantityInfo:
    id: int
    code: str
    min_value: float
    max_value: float
    watched: bool  # has warning thresholds: its new readings go to the inline rules


@dataclass(frozen=True, slots=True)
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
        self._offline: set[int] = set()
        self._loaded_at = 0.0
        self.device_last: dict[int, int] = {}  # device -> newest stored second (in this process's view)

    def clear(self) -> None:
        with self._lock:
            self._devices = {}
            self._missing = set()
            self._offline = set()
            self._loaded_at = 0.0
            self.device_last = {}

    def offline_ids(self) -> set[int]:
        """Devices that were offline when their facts were read (the offline check clears the catalogue)."""
        return self._offline

    def current(self) -> dict[str, DeviceInfo]:
        """The cached facts as they are (possibly empty or missing codes: the careful path looks those up)."""
        if time.monotonic() - self._loaded_at > CATALOGUE_TTL:
            return {}
        return self._devices

    def lookup(self, codes: Iterable[str]) -> dict[str, DeviceInfo]:
        now = time.monotonic()
        with self._lock:
            if now - self._loaded_at > CATALOGUE_TTL:
                self._devices, self._missing, self._offline, self._loaded_at = {}, set(), set(), now
            devices = self._devices
            wanted = [c for c in set(codes) if c not in devices and c not in self._missing]
        if wanted:
            found = _load_devices(wanted)
            with self._lock:
                self._devices.update(found)
                self._offline.update(d.id for d in found.values() if d.status == DeviceStatus.OFFLINE)
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
            "id", "code", "device_type_id", "min_value", "max_value", "thresholds"
        ):
            quantities.setdefault(q[2], {})[q[1]] = QuantityInfo(q[0], q[1], q[3], q[4], bool(q[5]))
        for dev_id, code, type_id, status in rows:
            out[code] = DeviceInfo(dev_id, code, type_id, status, quantities.get(type_id, {}))
    return out


CATALOGUE = Catalogue()


def forget_catalogue(**_: Any) -> None:
    """Drop the cached device facts (connected to the save/delete signals of devices, types and quantities)."""
    CATALOGUE.clear()


# ---------------------------------------------------------------------------------------------- parsing
_NOT_PARSED = object()


def parse_body(body: bytes, content_type: str) -> Iterator[Mapping[str, Any] | str]:
    """The readings of a request body: mappings, or a string (the raw text of a line that is not a reading).

    ``application/json``: an array of readings (or one object); ``application/x-ndjson``: one JSON object per
    line; ``text/csv``: a header line with ``device,quantity,time,value``. A body that cannot be read at all
    raises :class:`PayloadError`."""
    kind = (content_type or "application/json").split(";")[0].strip().lower()
    is_json = kind in ("application/json", "text/json")
    data: Any = _NOT_PARSED
    text = ""
    if is_json:
        # strict JSON in UTF-8, about three times as fast as json.loads; a BOM, NaN, a huge integer or an error
        # fall through to the standard library, which reads them as before or says where the body is broken
        with contextlib.suppress(orjson.JSONDecodeError):
            data = orjson.loads(body)
    if data is _NOT_PARSED:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PayloadError("请求体不是UTF-8编码", details={"position": exc.start}) from exc
    if is_json:
        if data is _NOT_PARSED:
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
    fast, loads = orjson.loads, json.loads
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            yield fast(line)
        except orjson.JSONDecodeError:
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
    gateway's account may post for (None: any). ``detect``: run the inline detectors (warning thresholds) on the
    stored readings.

    Within one batch, repeated readings of the same second count as duplicates and one of them is kept; against
    the store, the stored value always wins."""
    now_dt = now or timezone.now()
    batch = _Batch(
        int(now_dt.timestamp()) + FUTURE_TOLERANCE, device.id if device is not None else None, allowed
    )
    items = records if isinstance(records, list) else list(records)
    batch.received = len(items)
    if items:
        slow = batch.fast(items, CATALOGUE.current())
        if slow:
            batch.careful(items, slow)
    result = IngestResult(received=batch.received)
    if not batch.received:
        return result
    with transaction.atomic():
        stored = _store(batch, watch=detect)
        _quarantine(batch.rejects, source, now_dt)
        _count(batch, stored, now_dt)
        if detect and stored.watched:
            from shizhi.sensing.detection import score_inline

            result.signals = score_inline(stored.watched, now_dt)
    result.accepted = stored.accepted
    result.duplicate = len(batch.rows) - stored.accepted
    result.rejected = len(batch.rejects)
    result.errors = batch.errors
    result.rejected_by_reason = batch.by_reason
    return result


class _Batch:
    """One call's validation: a fast path for well-formed readings of known devices, a careful path (with the
    reasons) for everything else."""

    def __init__(self, latest_ok: int, only: int | None, allowed: set[int] | None) -> None:
        self.latest_ok = latest_ok
        self.only = only
        self.allowed = allowed
        self.received = 0
        self.rows: list[tuple[int, int, int, float]] = []  # valid readings (duplicates not yet sorted out)
        self.watched: list[tuple[int, int, int, float]] = []  # ... of quantities with warning thresholds
        self.devices: dict[int, list[int]] = {}  # device -> [valid readings, oldest second, newest second]
        self.rejects: list[_Reject] = []
        self.errors: list[dict[str, Any]] = []
        self.by_reason: dict[str, int] = {}

    def fast(self, items: list[Any], devices: dict[str, DeviceInfo]) -> list[int]:
        """Accept what needs no second look; return the indexes of the rest. The loop runs in C
        (``_ingest_core.fast``, the same decisions as :meth:`fast_python`, tested on the same records)."""
        if _ingest_core is not None and type(items) is list and self.only is None and self.allowed is None:
            return _ingest_core.fast(  # type: ignore[no-any-return]
                items,
                devices,
                _ts_cache,
                parse_time,
                self.latest_ok,
                EARLIEST,
                self.rows,
                self.watched,
                self.devices,
            )
        return self.fast_python(items, devices)

    def fast_python(self, items: list[Any], devices: dict[str, DeviceInfo]) -> list[int]:
        """The fast path in plain Python: the specification of the C loop."""
        slow: list[int] = []
        add, watch = self.rows.append, self.watched.append
        per_device = self.devices
        latest_ok, earliest = self.latest_ok, EARLIEST
        restricted = self.only is not None or self.allowed is not None
        tcache = _ts_cache
        for index, r in enumerate(items):
            try:
                info = devices[r["device"]]
                q = info.quantities[r["quantity"]]
                t = r["time"]
                v = r["value"]
            except (KeyError, TypeError, IndexError):
                slow.append(index)
                continue
            if type(t) is int:
                ts = t if t < 100_000_000_000 else t // 1000
            elif type(t) is str:
                ts = tcache.get(t)  # type: ignore[assignment]
                if ts is None:
                    ts = parse_time(t)  # type: ignore[assignment]
                    if ts is None:
                        slow.append(index)
                        continue
            else:
                slow.append(index)
                continue
            tv = type(v)
            if tv is not float:
                if tv is not int or not -MAX_INT_VALUE <= v <= MAX_INT_VALUE:
                    slow.append(index)
                    continue
                v = float(v)
            # NaN fails both comparisons, infinities the range: both go the careful way
            if not (q.min_value <= v <= q.max_value) or ts > latest_ok or ts < earliest or restricted:
                slow.append(index)
                continue
            did = info.id
            row = (did, q.id, ts, v)
            add(row)
            if q.watched:
                watch(row)
            st = per_device.get(did)
            if st is None:
                per_device[did] = [1, ts, ts]
            else:
                st[0] += 1
                if ts > st[2]:
                    st[2] = ts
                elif ts < st[1]:
                    st[1] = ts
        return slow

    def accept(self, info: DeviceInfo, q: QuantityInfo, ts: int, v: float) -> None:
        row = (info.id, q.id, ts, v)
        self.rows.append(row)
        if q.watched:
            self.watched.append(row)
        st = self.devices.get(info.id)
        if st is None:
            self.devices[info.id] = [1, ts, ts]
        else:
            st[0] += 1
            st[1] = min(st[1], ts)
            st[2] = max(st[2], ts)

    def careful(self, items: list[Any], slow: list[int]) -> None:
        expanded: list[tuple[int, Any]] = []
        for index in slow:
            r = items[index]
            if (
                isinstance(r, dict)
                and "values" in r
                and "quantity" not in r
                and isinstance(r["values"], dict)
                and r["values"]
            ):
                self.received += len(r["values"]) - 1
                for qcode, value in r["values"].items():
                    one = {k: x for k, x in r.items() if k != "values"}
                    one["quantity"] = qcode
                    one["value"] = value
                    expanded.append((index, one))
            else:
                expanded.append((index, r))
        codes = {r["device"] for _, r in expanded if isinstance(r, dict) and isinstance(r.get("device"), str)}
        devices = CATALOGUE.lookup(codes)
        for index, r in expanded:
            self.one(index, r, devices)

    def reject(
        self,
        index: int,
        reason: str,
        r: Any,
        *,
        device_id: int | None = None,
        device: str = "",
        quantity: str = "",
        ts: int | None = None,
        detail: str = "",
    ) -> None:
        self.rejects.append(_Reject(device_id, device[:80], quantity[:40], ts, _raw_text(r), reason))
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        if len(self.errors) < MAX_ERRORS:
            message = MESSAGES[RejectReason(reason)]
            self.errors.append(
                {
                    "index": index,
                    "reason": str(reason),
                    "device": device,
                    "message": f"{message}：{detail}" if detail else message,
                }
            )

    def one(self, index: int, r: Any, devices: dict[str, DeviceInfo]) -> None:
        if not isinstance(r, dict):
            # with a device token (or an MQTT topic) the sender is known: count it against that device
            self.reject(index, RejectReason.MALFORMED, r, device_id=self.only)
            return
        code = r.get("device")
        qcode = r.get("quantity")
        qtext = qcode if isinstance(qcode, str) else ""
        info = devices.get(code) if isinstance(code, str) else None
        if info is None:
            ok = isinstance(code, str) and code
            self.reject(
                index,
                RejectReason.UNKNOWN_DEVICE if ok else RejectReason.MALFORMED,
                r,
                device=str(code or ""),
                quantity=qtext,
            )
            return
        if (self.only is not None and info.id != self.only) or (
            self.allowed is not None and info.id not in self.allowed
        ):
            self.reject(index, RejectReason.NOT_YOUR_DEVICE, r, device=info.code, quantity=qtext)
            return
        q = info.quantities.get(qcode) if isinstance(qcode, str) else None
        if q is None:
            reason = RejectReason.UNKNOWN_QUANTITY if qtext else RejectReason.MALFORMED
            self.reject(index, reason, r, device_id=info.id, device=info.code, quantity=qtext)
            return
        raw_t = r.get("time", r.get("ts"))
        ts = parse_time(raw_t) if raw_t is not None else None
        if ts is None:
            reason = RejectReason.BAD_TIMESTAMP if raw_t is not None else RejectReason.MALFORMED
            self.reject(index, reason, r, device_id=info.id, device=info.code, quantity=q.code)
            return
        if ts > self.latest_ok or ts < EARLIEST:
            reason = RejectReason.FUTURE_TIMESTAMP if ts > self.latest_ok else RejectReason.TOO_OLD
            self.reject(index, reason, r, device_id=info.id, device=info.code, quantity=q.code, ts=ts)
            return
        v = _number(r.get("value"))
        if v is None or not math.isfinite(v):
            reason = RejectReason.NOT_A_NUMBER if "value" in r else RejectReason.MALFORMED
            self.reject(index, reason, r, device_id=info.id, device=info.code, quantity=q.code, ts=ts)
            return
        if v < q.min_value or v > q.max_value:
            self.reject(
                index,
                RejectReason.OUT_OF_RANGE,
                r,
                device_id=info.id,
                device=info.code,
                quantity=q.code,
                ts=ts,
                detail=f"{v:g}不在[{q.min_value:g}, {q.max_value:g}]内",
            )
            return
        self.accept(info, q, ts, v)


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int) and not -MAX_INT_VALUE <= v <= MAX_INT_VALUE:
        return None  # too large for a float: not a number a sensor sends
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _table(model: Any) -> str:
    return str(model._meta.db_table)


@dataclass
class _Stored:
    accepted: int
    dup_by_device: dict[int, int]  # empty when nothing was a duplicate
    watched: dict[tuple[int, int], list[tuple[int, float]]]  # new readings of watched series, in time order


def _store(batch: _Batch, *, watch: bool = True) -> _Stored:
    """Insert the batch's valid readings. The usual case (no duplicates) is one ``executemany``; when the store
    reports fewer rows than were offered, the insert is rolled back to a savepoint and the batch is sorted out
    reading by reading (duplicates within the batch and against the store)."""
    rows = batch.rows
    if not rows:
        return _Stored(0, {}, {})
    _note_late(batch)
    table = _table(Reading)
    with connection.cursor() as cur:
        sid = transaction.savepoint()
        inserted = _insert(cur, table, rows)
        if inserted == len(rows):
            transaction.savepoint_commit(sid)
            return _Stored(inserted, {}, _by_series(batch.watched) if watch else {})
        transaction.savepoint_rollback(sid)
        return _store_carefully(cur, table, batch)


def _by_series(rows: list[tuple[int, int, int, float]]) -> dict[tuple[int, int], list[tuple[int, float]]]:
    out: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for d, q, t, v in rows:
        series = out.get((d, q))
        if series is None:
            out[(d, q)] = [(t, v)]
        else:
            series.append((t, v))
    for series in out.values():
        series.sort()
    return out


def _store_carefully(cur: Any, table: str, batch: _Batch) -> _Stored:
    good: dict[tuple[int, int], dict[int, float]] = {}
    dup_by_device: dict[int, int] = defaultdict(int)
    for d, q, t, v in batch.rows:
        series = good.get((d, q))
        if series is None:
            good[(d, q)] = {t: v}
        elif t in series:
            dup_by_device[d] += 1
        else:
            series[t] = v
    fresh: list[tuple[int, int, int, float]] = []
    for (d, q), series in good.items():
        cur.execute(
            f"SELECT ts FROM {table} WHERE device_id = %s AND quantity_id = %s AND ts BETWEEN %s AND %s",
            [d, q, min(series), max(series)],
        )
        for (t,) in cur.fetchall():
            if t in series:
                del series[t]
                dup_by_device[d] += 1
        fresh += [(d, q, t, v) for t, v in series.items()]
    inserted = _insert(cur, table, fresh) if fresh else 0
    # Fewer still: another process stored the same readings at this moment; they are duplicates too (the
    # device's share of them cannot be told apart, so they are counted against the first device).
    if inserted < len(fresh) and fresh:
        dup_by_device[fresh[0][0]] += len(fresh) - inserted
    watched = {(d, q) for d, q, _, _ in batch.watched}
    return _Stored(
        inserted,
        dict(dup_by_device),
        _by_series([row for row in fresh if (row[0], row[1]) in watched]),
    )


def _note_late(batch: _Batch) -> None:
    """Readings at or before the newest second a device already had make its rollups from that hour on open
    again (see :mod:`shizhi.sensing.rollups`)."""
    last = CATALOGUE.device_last
    unknown = [d for d in batch.devices if d not in last]
    if unknown:
        _load_device_last(unknown)
    late: dict[int, int] = {}
    for d, (_, oldest, newest) in batch.devices.items():
        known = last.get(d, -1)
        if oldest <= known:
            late[d] = oldest - oldest % 3600
        if newest > known:
            last[d] = newest
    if late:
        from shizhi.sensing.rollups import note_late

        note_late(late)


def _load_device_last(ids: list[int]) -> None:
    """The newest second each device has stored (one index seek per quantity), or its rollup point if later."""
    table = _table(Reading)
    last = CATALOGUE.device_last
    quantities: dict[int, list[int]] = {}
    for qid, type_id in Quantity.objects.values_list("id", "device_type_id"):
        quantities.setdefault(type_id, []).append(qid)
    with connection.cursor() as cur:
        for d, type_id, rollup_from in Device.objects.filter(id__in=ids).values_list(
            "id", "device_type_id", "rollup_from"
        ):
            newest = rollup_from - 1 if rollup_from is not None else -1
            for q in quantities.get(type_id, []):
                cur.execute(f"SELECT MAX(ts) FROM {table} WHERE device_id = %s AND quantity_id = %s", [d, q])
                t = cur.fetchone()[0]
                if t is not None and t > newest:
                    newest = t
            last[d] = newest


_PG_STAGE = "shizhi_reading_stage"  # a temporary table of the session (PostgreSQL)


def _insert(cur: Any, table: str, rows: list[tuple[int, int, int, float]]) -> int:
    if connection.vendor == "sqlite":
        raw = connection.connection
        before = raw.total_changes
        raw.executemany(
            f"INSERT OR IGNORE INTO {table} (device_id, quantity_id, ts, value) VALUES (?, ?, ?, ?)", rows
        )
        return int(raw.total_changes - before)
    # PostgreSQL: COPY (binary) into a temporary table, then one INSERT ... SELECT that skips what is stored;
    # psycopg's executemany of INSERTs runs at about a tenth of the speed.
    with connection.connection.cursor() as c:
        c.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_PG_STAGE} (device_id bigint, quantity_id bigint, ts bigint, "
            "value double precision) ON COMMIT DELETE ROWS"
        )
        with c.copy(
            f"COPY {_PG_STAGE} (device_id, quantity_id, ts, value) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "int8", "int8", "float8"])
            for row in rows:
                copy.write_row(row)
        c.execute(
            f"INSERT INTO {table} (device_id, quantity_id, ts, value) "
            f"SELECT device_id, quantity_id, ts, value FROM {_PG_STAGE} ON CONFLICT DO NOTHING"
        )
        inserted = c.rowcount
        c.execute(f"DELETE FROM {_PG_STAGE}")
    return int(inserted)


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


def _count(batch: _Batch, stored: _Stored, now: datetime) -> None:
    """Per device: readings accepted, duplicated and quarantined; last seen; back online if it was offline."""
    stats: dict[int, list[int]] = {}  # device -> [accepted, duplicate, rejected, newest second]
    dups = stored.dup_by_device
    for d, (n, _oldest, newest) in batch.devices.items():
        dup = dups.get(d, 0) if dups else 0
        stats[d] = [n - dup, dup, 0, newest]
    for r in batch.rejects:
        if r.device_id is not None:
            stats.setdefault(r.device_id, [0, 0, 0, -1])[2] += 1
    if stats:
        DEVICE_STATS.add(stats, now)
    offline = CATALOGUE.offline_ids()
    came_back = [d for d, s in stats.items() if s[0] and d in offline]
    if came_back:
        from shizhi.sensing.detection import devices_back_online

        devices_back_online(came_back, now)


class DeviceStats:
    """Per-device counters and last-seen times, written at most every ``SHIZHI_SENSING_STATS_FLUSH`` seconds.

    Updating every device's row in every batch would cost the pipe as much as a third of its time when a batch
    holds a few readings from each of many devices, so the counts are gathered in memory and written in one go by
    whichever batch comes after the interval (inside its transaction), or by a timer when no batch comes. A crash
    can lose at most that interval of counts and last-seen times; never a reading (the readings and the
    quarantine are written with every batch). With the setting at 0 (the tests) every batch writes its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, list[int]] = {}
        self._seen: datetime | None = None
        self._last_flush = time.monotonic()
        self._timer: threading.Timer | None = None

    @staticmethod
    def interval() -> float:
        return float(getattr(settings, "SHIZHI_SENSING_STATS_FLUSH", 1.0))

    def add(self, stats: dict[int, list[int]], now: datetime) -> None:
        interval = self.interval()
        with self._lock:
            pending = self._pending
            for d, s in stats.items():
                p = pending.get(d)
                if p is None:
                    pending[d] = s
                else:
                    p[0] += s[0]
                    p[1] += s[1]
                    p[2] += s[2]
                    if s[3] > p[3]:
                        p[3] = s[3]
            self._seen = now
            due = interval <= 0 or time.monotonic() - self._last_flush >= interval
            if due:
                batch, seen = self._take()
            elif self._timer is None:
                self._timer = threading.Timer(interval, self._flush_from_timer)
                self._timer.daemon = True
                self._timer.start()
        if due:
            _write_stats(batch, seen)

    def _take(self) -> tuple[dict[int, list[int]], datetime | None]:
        batch, seen = self._pending, self._seen
        self._pending, self._seen = {}, None
        self._last_flush = time.monotonic()
        return batch, seen

    def flush(self) -> int:
        """Write what is pending now (its own transaction unless inside one)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            batch, seen = self._take()
        if batch:
            with transaction.atomic():
                _write_stats(batch, seen)
        return len(batch)

    def _flush_from_timer(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self.flush()
        except Exception:  # a timer has nobody to tell: the next batch writes the counts instead
            import logging

            logging.getLogger("shizhi.sensing").exception(
                "device statistics not written; kept for the next batch"
            )
        finally:
            connection.close()


def _write_stats(batch: dict[int, list[int]], seen: datetime | None) -> None:
    if not batch:
        return
    table = _table(Device)
    seen_db = connection.ops.adapt_datetimefield_value(seen or timezone.now())
    hi = "max" if connection.vendor == "sqlite" else "GREATEST"
    with connection.cursor() as cur:
        cur.executemany(
            f"UPDATE {table} SET accepted_count = accepted_count + %s, duplicate_count = duplicate_count + %s,"
            f" rejected_count = rejected_count + %s, last_seen_at = %s,"
            f" last_reading_ts = {hi}(COALESCE(last_reading_ts, -1), %s) WHERE id = %s",
            [(s[0], s[1], s[2], seen_db, s[3], d) for d, s in sorted(batch.items())],
        )


DEVICE_STATS = DeviceStats()
atexit.register(lambda: DEVICE_STATS.flush() if DEVICE_STATS._pending else None)
