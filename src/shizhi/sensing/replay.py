"""Replay recorded readings through the real ingestion path (读数回放): ``shizhi sensing replay FILE...``.

The files' readings are streamed in time order (several files are merged), at ``speed`` times real time (0: as
fast as possible), in batches, through one of the real ways in:

- ``direct``: :func:`shizhi.sensing.ingest.ingest_records` in this process (source ``replay``);
- ``http``: ``POST /api/v1/readings`` of a running server, one keep-alive connection, a JSON array per batch;
- ``mqtt``: the readings topics of the broker (a JSON array per device and batch), for ``shizhi sensing listen``.

Formats: ``csv`` (a header with ``device,quantity,time,value``, ``ts`` for ``time`` also works), ``ndjson`` (one
reading per line, a ``values`` object for several quantities also works) and ``beijing``: the Beijing
Multi-Site Air-Quality files (``PRSA_Data_<station>_20130301-20170228.csv``, hourly, Beijing time), where each
station is a device (``bj-air-<station>``) and each pollutant or weather column a quantity (see
:data:`BEIJING_QUANTITIES`). ``NA`` cells are missing readings: they are counted as skipped and not sent.
A csv or ndjson file that is not in time order is sorted in memory first; Beijing files are streamed.
"""

from __future__ import annotations

import csv
import heapq
import http.client
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from shizhi.sensing.ingest import IngestResult, parse_time

FORMATS = ("auto", "csv", "ndjson", "beijing")
READINGS_PATH = "/api/v1/readings"


class ReplayError(RuntimeError):
    """The replay cannot go on (unreadable file, the server refused a batch); the message says why."""


# ---------------------------------------------------------------------------------------------- Beijing air
# The Beijing stations are devices of the built-in air-quality type (shizhi.sensing.types.DEFAULT_TYPES), which
# holds each quantity's unit, physical range and warning lines; here only which column is which quantity.
BEIJING_DEVICE_TYPE = "air_quality"
BEIJING_QUANTITIES: dict[str, str] = {
    "PM2.5": "pm25",
    "PM10": "pm10",
    "SO2": "so2",
    "NO2": "no2",
    "CO": "co",
    "O3": "o3",
    "TEMP": "temp",
    "PRES": "pres",
    "DEWP": "dewp",
    "RAIN": "rain",
    "WSPM": "wspm",
}


@dataclass(frozen=True)
class Station:
    name: str  # Chinese name of the monitoring station (国控监测点)
    lat: float  # approximate position (WGS-84)
    lon: float


BEIJING_STATIONS: dict[str, Station] = {
    "Aotizhongxin": Station("奥体中心", 39.982, 116.397),
    "Changping": Station("昌平镇", 40.217, 116.230),
    "Dingling": Station("定陵", 40.292, 116.220),
    "Dongsi": Station("东四", 39.929, 116.417),
    "Guanyuan": Station("官园", 39.929, 116.339),
    "Gucheng": Station("古城", 39.914, 116.184),
    "Huairou": Station("怀柔镇", 40.328, 116.628),
    "Nongzhanguan": Station("农展馆", 39.937, 116.461),
    "Shunyi": Station("顺义新城", 40.127, 116.655),
    "Tiantan": Station("天坛", 39.886, 116.407),
    "Wanliu": Station("万柳", 39.987, 116.287),
    "Wanshouxigong": Station("万寿西宫", 39.878, 116.352),
}
BEIJING_DEVICE_PREFIX = "bj-air-"
BEIJING_TZ = timezone(timedelta(hours=8))  # the files' clock: Beijing time, no daylight saving
BEIJING_HEADER = ("year", "month", "day", "hour", "station")


def beijing_device_code(station: str, prefix: str = BEIJING_DEVICE_PREFIX) -> str:
    """``Aotizhongxin`` -> ``bj-air-aotizhongxin``."""
    return prefix + station.strip().lower()


def is_beijing_header(header: Sequence[str]) -> bool:
    names = {h.strip() for h in header}
    return set(BEIJING_HEADER) <= names and any(column in names for column in BEIJING_QUANTITIES)


def beijing_readings(
    path: str | Path,
    *,
    prefix: str = BEIJING_DEVICE_PREFIX,
    skipped: Counter[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    quantities: Mapping[str, str] = BEIJING_QUANTITIES,
) -> Iterator[dict[str, Any]]:
    """The readings of one station file, in the file's (time) order: ``{"device", "quantity", "time" (epoch
    seconds), "value"}``, within [start, end) when given. ``NA`` cells are not readings: they are counted in
    ``skipped`` per quantity code."""
    for _, readings in beijing_rows(
        path, prefix=prefix, skipped=skipped, start=start, end=end, quantities=quantities
    ):
        yield from readings


def beijing_rows(
    path: str | Path,
    *,
    prefix: str = BEIJING_DEVICE_PREFIX,
    skipped: Counter[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    quantities: Mapping[str, str] = BEIJING_QUANTITIES,
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(time, readings) of each hour of a station file within [start, end); the file is in time order, so reading
    stops at ``end``."""
    with Path(path).open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or not is_beijing_header(header):
            raise ReplayError(f"{path}: 不是北京空气质量数据文件（表头应含 year,month,day,hour,...,station）")
        at = {h.strip(): i for i, h in enumerate(header)}
        iy, im, iday, ih, ist = (at[c] for c in BEIJING_HEADER)
        cols = [(at[column], code) for column, code in quantities.items() if column in at]
        codes: dict[str, str] = {}
        hour_cache: tuple[tuple[str, str, str], int] | None = None
        for row in reader:
            if len(row) != len(header):
                continue
            day = (row[iy], row[im], row[iday])
            if hour_cache is None or hour_cache[0] != day:
                midnight = datetime(int(day[0]), int(day[1]), int(day[2]), tzinfo=BEIJING_TZ)
                hour_cache = (day, int(midnight.timestamp()))
            ts = hour_cache[1] + 3600 * int(row[ih])
            if start is not None and ts < start:
                continue
            if end is not None and ts >= end:
                return
            station = row[ist]
            device = codes.get(station)
            if device is None:
                device = codes[station] = beijing_device_code(station, prefix)
            readings = []
            for i, code in cols:
                cell = row[i]
                try:
                    value = float(cell) if cell != "NA" else None
                except ValueError:
                    value = None
                if value is None:
                    if skipped is not None:
                        skipped[code] += 1
                    continue
                readings.append({"device": device, "quantity": code, "time": ts, "value": value})
            yield ts, readings


def beijing_stations(paths: Iterable[Path]) -> list[str]:
    """The station names of Beijing files (from each file's first row)."""
    out: list[str] = []
    for path in paths:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            row = next(reader, None)
            if row is not None and row.get("station") and row["station"] not in out:
                out.append(row["station"])
    return out


def ensure_beijing_devices(
    stations: Iterable[str], *, actor: Any = None, prefix: str = BEIJING_DEVICE_PREFIX
) -> list[str]:
    """Register the air-quality type and a device per station that is not registered yet (through the sensing
    services: validated and audited). Returns the codes of the devices created."""
    from shizhi.sensing import services
    from shizhi.sensing.models import Device

    services.device_types_ensure(actor=actor)
    created = []
    for station in stations:
        code = beijing_device_code(station, prefix)
        if Device.objects.filter(code=code).exists():
            continue
        known = BEIJING_STATIONS.get(station)
        services.device_register(
            actor=actor,
            data=services.DeviceIn(
                code=code,
                name=f"{known.name if known else station}空气质量监测站",
                device_type=BEIJING_DEVICE_TYPE,
                lon=known.lon if known else None,
                lat=known.lat if known else None,
            ),
        )
        created.append(code)
    return created


# ---------------------------------------------------------------------------------------------- reading files
@dataclass
class ReplayStats:
    files: int = 0
    sent: int = 0  # readings sent (through the chosen way in)
    skipped: int = 0  # missing values (NA) not sent
    skipped_by_quantity: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    result: IngestResult = field(default_factory=IngestResult)  # what the pipe said (direct and http)
    first_ts: int | None = None  # the data's clock: first and last reading sent
    last_ts: int | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "files": self.files,
            "sent": self.sent,
            "skipped": self.skipped,
            "skipped_by_quantity": dict(self.skipped_by_quantity),
            "batches": self.batches,
            "accepted": r.accepted,
            "duplicate": r.duplicate,
            "rejected": r.rejected,
            "rejected_by_reason": dict(r.rejected_by_reason),
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "seconds": round(self.seconds, 3),
        }


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    with path.open(newline="", encoding="utf-8-sig") as f:
        first = f.readline()
    if first.lstrip().startswith("{"):
        return "ndjson"
    header = next(csv.reader([first]), [])
    return "beijing" if is_beijing_header(header) else "csv"


def _time_key(ts: int | None) -> int:
    return ts if ts is not None else -1


def _csv_items(path: Path) -> Iterator[tuple[int | None, Any]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return
        names = [h.strip().lower() for h in header]
        tkey = "time" if "time" in names else "ts"
        if not {"device", "quantity", "value"} <= set(names) or tkey not in names:
            raise ReplayError(f"{path}: CSV表头应包含 device,quantity,time,value（实际：{','.join(header)}）")
        for row in reader:
            if not row:
                continue
            if len(row) != len(names):
                yield None, ",".join(row)  # sent as it is: the pipe quarantines it as malformed
                continue
            rec = dict(zip(names, row, strict=True))
            yield parse_time(rec[tkey]), rec


def _ndjson_items(path: Path) -> Iterator[tuple[int | None, Any]]:
    with path.open(encoding="utf-8-sig") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                yield None, line
                continue
            raw = rec.get("time", rec.get("ts")) if isinstance(rec, dict) else None
            yield (parse_time(raw) if raw is not None else None), rec


def file_groups(
    path: Path,
    fmt: str,
    stats: ReplayStats,
    *,
    prefix: str = BEIJING_DEVICE_PREFIX,
    start: int | None = None,
    end: int | None = None,
) -> Iterator[tuple[int, int | None, list[Any]]]:
    """(order key, time, readings) of one file in time order, within [start, end): an hour of a station for the
    Beijing files, one line otherwise. A reading whose time cannot be read comes first (the pipe quarantines it)."""
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "beijing":
        rows = beijing_rows(path, prefix=prefix, skipped=stats.skipped_by_quantity, start=start, end=end)
        return ((ts, ts, readings) for ts, readings in rows)
    items = list(_csv_items(path) if fmt == "csv" else _ndjson_items(path))
    if any(_time_key(items[i][0]) > _time_key(items[i + 1][0]) for i in range(len(items) - 1)):
        items.sort(key=lambda it: _time_key(it[0]))
    return (
        (_time_key(ts), ts, [rec])
        for ts, rec in items
        if ts is None or ((start is None or ts >= start) and (end is None or ts < end))
    )


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files, and the ``*.csv`` / ``*.ndjson`` / ``*.jsonl`` files of folders, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.suffix.lower() in (".csv", ".ndjson", ".jsonl")))
        elif p.is_file():
            out.append(p)
        else:
            raise ReplayError(f"文件不存在：{p}")
    if not out:
        raise ReplayError("没有可回放的文件")
    return out


def merged(
    paths: Sequence[Path],
    fmt: str,
    stats: ReplayStats,
    *,
    start: int | None = None,
    end: int | None = None,
    prefix: str = BEIJING_DEVICE_PREFIX,
) -> Iterator[tuple[int | None, Any]]:
    """(time, reading) of all files in one time order, within [start, end) when given (files are merged by
    their groups: an hour of a station moves through the merge at once)."""
    streams = [file_groups(p, fmt, stats, prefix=prefix, start=start, end=end) for p in paths]
    stats.files = len(paths)
    groups: Iterable[tuple[int, int | None, list[Any]]] = (
        streams[0] if len(streams) == 1 else heapq.merge(*streams, key=itemgetter(0))
    )
    for _, ts, records in groups:
        for rec in records:
            yield ts, rec


# ---------------------------------------------------------------------------------------------- pacing
def paced(
    items: Iterable[tuple[int | None, Any]],
    *,
    speed: float,
    batch: int,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    slack: float = 0.005,
) -> Iterator[list[tuple[int | None, Any]]]:
    """Batches of at most ``batch`` readings, each yielded when its readings are due: the first reading's time
    is now, a reading ``d`` seconds of data later is due ``d / speed`` seconds later. ``speed`` 0: no waiting."""
    buf: list[tuple[int | None, Any]] = []
    wall0: float | None = None
    data0 = 0
    for ts, rec in items:
        if speed > 0 and ts is not None:
            if wall0 is None:
                wall0, data0 = clock(), ts
            due = wall0 + (ts - data0) / speed
            if due - clock() > slack:
                if buf:
                    yield buf
                    buf = []
                left = due - clock()
                if left > 0:
                    sleep(left)
        buf.append((ts, rec))
        if len(buf) >= batch:
            yield buf
            buf = []
    if buf:
        yield buf


# ---------------------------------------------------------------------------------------------- the ways in
class Sink(Protocol):
    def send(self, records: list[Any]) -> IngestResult | None: ...

    def close(self) -> None: ...


class DirectSink:
    """Straight into :func:`ingest_records` (source ``replay``)."""

    def __init__(self, *, detect: bool = True) -> None:
        self.detect = detect

    def send(self, records: list[Any]) -> IngestResult:
        from shizhi.sensing.ingest import ingest_records
        from shizhi.sensing.models import Source

        return ingest_records(records, source=Source.REPLAY, detect=self.detect)

    def close(self) -> None:
        pass


def readings_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of the readings endpoint from a server's base URL or the endpoint's URL."""
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https"):
        raise ReplayError(f"--url 应为 http:// 或 https:// 地址，而不是 {url!r}")
    path = parsed.path.rstrip("/")
    if not path.endswith("/readings"):
        path += READINGS_PATH
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.scheme, parsed.hostname or "127.0.0.1", port, path


class HttpSink:
    """``POST /api/v1/readings`` over one keep-alive connection, a JSON array per batch."""

    def __init__(self, url: str, token: str, *, timeout: float = 120.0) -> None:
        if not token:
            raise ReplayError(
                "--via http 需要 --token（设备令牌 shd_... 或有 sensing.ingest 权限的用户令牌）"
            )
        self.scheme, self.host, self.port, self.path = readings_url(url)
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None
        self.requests = 0

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self.conn = cls(self.host, self.port, timeout=self.timeout)
        return self.conn

    def send(self, records: list[Any]) -> IngestResult:
        body = json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", self.path, body=body, headers=self.headers)
                resp = conn.getresponse()
                data = resp.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest) as exc:
                self.close()  # the server closed an idle keep-alive connection: once more on a new one
                if attempt == 2:
                    raise ReplayError(f"无法连接 {self.host}:{self.port}：{exc}") from exc
                continue
            except OSError as exc:
                self.close()
                raise ReplayError(f"无法连接 {self.host}:{self.port}：{exc}") from exc
            if resp.will_close:
                self.close()
            self.requests += 1
            return _http_result(resp.status, data, len(records))
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _http_result(status: int, data: bytes, sent: int) -> IngestResult:
    try:
        doc = json.loads(data or b"{}")
    except ValueError:
        doc = {}
    if status >= 400:
        message = doc.get("message") if isinstance(doc, dict) else None
        raise ReplayError(f"服务器拒绝了这批读数：HTTP {status} {message or data[:300]!r}")
    result = IngestResult(received=sent)
    if isinstance(doc, dict):
        result.received = int(doc.get("received", sent))
        result.accepted = int(doc.get("accepted", 0))
        result.duplicate = int(doc.get("duplicate", 0))
        result.rejected = int(doc.get("rejected", 0))
        by_reason = doc.get("rejected_by_reason")
        if isinstance(by_reason, dict):
            result.rejected_by_reason = {str(k): int(v) for k, v in by_reason.items()}
    return result


class MqttSink:
    """Publish each batch to the readings topics: a JSON array per device (at most ``message_size`` readings
    per message), QoS 1. The listener stores them; here only what was published is known."""

    def __init__(self, url: str | None, *, prefix: str = "shizhi", message_size: int = 50) -> None:
        from shizhi.sensing.mqtt import Broker, ListenerError, Publisher

        try:
            broker = Broker.from_url(url)
            self.publisher = Publisher(broker, prefix=prefix).connect()
        except (ValueError, ListenerError) as exc:
            raise ReplayError(str(exc)) from exc
        self.message_size = max(1, message_size)
        self.messages = 0

    def send(self, records: list[Any]) -> None:
        by_device: dict[str, list[Any]] = {}
        for r in records:
            code = r.get("device") if isinstance(r, dict) else None
            by_device.setdefault(code if isinstance(code, str) and code else "", []).append(r)
        for code, recs in by_device.items():
            for i in range(0, len(recs), self.message_size):
                self.publisher.publish(code or "unknown", recs[i : i + self.message_size])
                self.messages += 1

    def close(self) -> None:
        try:
            if not self.publisher.flush(120):
                raise ReplayError("部分MQTT消息未得到服务器确认")
        finally:
            self.publisher.close()


# ---------------------------------------------------------------------------------------------- the replay
def replay(
    paths: Sequence[str | Path],
    sink: Sink,
    *,
    fmt: str = "auto",
    speed: float = 0.0,
    batch: int = 1000,
    start: int | None = None,
    end: int | None = None,
    limit: int | None = None,
    prefix: str = BEIJING_DEVICE_PREFIX,
    progress: Callable[[ReplayStats], None] | None = None,
    report_every: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayStats:
    """Stream the files' readings through ``sink``; see the module's docstring."""
    if fmt not in FORMATS:
        raise ReplayError(f"未知格式 {fmt!r}（可选：{', '.join(FORMATS)}）")
    if speed < 0:
        raise ReplayError("--speed 不能为负数")
    stats = ReplayStats()
    files = expand_paths(paths)
    items: Iterable[tuple[int | None, Any]] = merged(files, fmt, stats, start=start, end=end, prefix=prefix)
    if limit is not None:
        items = _take(items, limit)
    started = last_report = clock()
    try:
        for chunk in paced(items, speed=speed, batch=max(1, batch), clock=clock, sleep=sleep):
            records = [rec for _, rec in chunk]
            outcome = sink.send(records)
            if outcome is not None:
                stats.result.add(outcome)
            stats.sent += count_readings(records)
            stats.batches += 1
            for ts, _ in chunk:
                if ts is not None:
                    if stats.first_ts is None:
                        stats.first_ts = ts
                    stats.last_ts = ts
            if progress is not None and report_every and clock() - last_report >= report_every:
                last_report = clock()
                stats.seconds = last_report - started
                stats.skipped = sum(stats.skipped_by_quantity.values())
                progress(stats)
    finally:
        sink.close()
    stats.skipped = sum(stats.skipped_by_quantity.values())
    stats.seconds = clock() - started
    return stats


def _take(items: Iterable[tuple[int | None, Any]], n: int) -> Iterator[tuple[int | None, Any]]:
    for i, item in enumerate(items):
        if i >= n:
            return
        yield item


def count_readings(records: Iterable[Any]) -> int:
    """Readings in a list of records (a ``values`` record holds one per quantity)."""
    n = 0
    for r in records:
        if isinstance(r, dict) and "quantity" not in r and isinstance(r.get("values"), dict) and r["values"]:
            n += len(r["values"])
        else:
            n += 1
    return n
