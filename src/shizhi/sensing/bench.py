"""``shizhi bench ingest [--readings 200000] [--devices 200] [--batch 50000] [--message 50]``: the readings pipe's
speed, each figure beside the floor of the same rows written by a bare ``executemany``.

A fleet of ``--devices`` devices of two types (an air-quality station with six quantities, a water-level gauge with
one; warning thresholds on three quantities; ``case_level`` 0, so that no alert opens a hotline case) reports one
minute after another; every round sends ``--readings`` fresh readings (later timestamps than the round before),
as JSON bodies of ``--batch`` readings with ISO 8601 times, as a gateway would post them. Medians of ``--repeat``
rounds (after one unmeasured warm-up round) of:

(a) bare: the same rows as tuples, ``INSERT INTO sensing_reading`` by ``executemany`` in one transaction;
(a') the same, one transaction per ``--batch`` rows: the floor at the pipe's transaction size (on SQLite most of
    the gap between (a) and (b) is here: a batch of readings of many series touches a leaf page per series, and
    each commit writes those pages to the WAL again);
(b) pipe: the JSON bodies through :func:`parse_body` and :func:`ingest_records` with the detectors off (parse,
    validation, duplicate check, insert, device counters; one transaction per batch; rollups are refreshed
    behind the pipe, see sensing/rollups.py);
(c) HTTP: ``POST /api/v1/readings`` with a gateway's token, in process (django.test.Client) and against waitress
    serving the platform in a thread of this process over one keep-alive connection (http.client);
(d) pipe with the detectors on (the warning-level rules run inline);
(e) MQTT: the readings published in messages of ``--message`` readings to the broker while
    :class:`shizhi.sensing.mqtt.Listener` (detectors on, as ``shizhi sensing listen`` runs) stores them: one run,
    rate from the first publish to the last commit, and a check that none was lost.

Targets: pipe >= 0.5x the bare rate; detectors on >= 50,000 readings/s; MQTT >= 5,000 readings/s with none lost.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import http.client
import io
import json
import math
import os
import pstats
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from django.db import connection, transaction
from django.test import Client

from shizhi.core import benchmarks
from shizhi.core.benchmarks import BenchContext, BenchError, Sample, ratio
from shizhi.sensing.ingest import CATALOGUE, IngestResult, ingest_records, parse_body
from shizhi.sensing.models import Device, Reading, Source
from shizhi.sensing.types import QuantitySpec, TypeSpec

PIPE_RATIO_TARGET = 0.5  # the pipe (detectors off) at least half the bare executemany rate
DETECT_TARGET = 50_000.0  # readings/s with the detectors on
MQTT_TARGET = 5_000.0  # readings/s through the broker, none lost
STEP = 60  # seconds between two reports of a device
PARTS = ("bare", "pipe", "client", "server", "detect", "mqtt", "anomaly")  # --skip bare skips (a) and (a')
LOCAL = timezone(timedelta(hours=8))

BENCH_TYPES: tuple[TypeSpec, ...] = (
    TypeSpec(
        "bench_air",
        "基准测试空气站",
        "AirQualityObserved",
        "environment",
        STEP,
        "",
        0,
        (
            QuantitySpec("pm25", "PM2.5", "µg/m³", 0, 2000, (75, 115, 150, 250), margin=5),
            QuantitySpec("pm10", "PM10", "µg/m³", 0, 3000, (150, 250, 350, 420), margin=10),
            QuantitySpec("no2", "二氧化氮", "µg/m³", 0, 1000),
            QuantitySpec("o3", "臭氧", "µg/m³", 0, 1200),
            QuantitySpec("temp", "气温", "°C", -50, 60),
            QuantitySpec("pres", "气压", "hPa", 800, 1100),
        ),
    ),
    TypeSpec(
        "bench_level",
        "基准测试水位计",
        "FloodMonitoring",
        "naturalDisaster",
        STEP,
        "",
        0,
        (QuantitySpec("level", "积水深度", "cm", 0, 500, (10, 20, 30, 50), margin=2),),
    ),
)
# A value's level, daily swing and noise per quantity, and the height of a pollution or rain episode on the
# watched ones: calm series stay below their first warning line; an episode crosses two or three lines and clears.
SHAPES: dict[str, tuple[float, float, float, float]] = {
    "pm25": (35.0, 15.0, 2.5, 110.0),
    "pm10": (70.0, 30.0, 5.0, 200.0),
    "no2": (40.0, 15.0, 2.5, 0.0),
    "o3": (90.0, 40.0, 6.0, 0.0),
    "temp": (15.0, 8.0, 0.5, 0.0),
    "pres": (1010.0, 5.0, 0.5, 0.0),
    "level": (3.0, 2.0, 0.5, 35.0),
}
EPISODES = 0.02  # share of devices with an episode in a round


def _parts(raw: str) -> str:
    unknown = {p.strip() for p in raw.split(",") if p.strip()} - set(PARTS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown parts {', '.join(sorted(unknown))} (known: {', '.join(PARTS)})"
        )
    return raw


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--readings", type=int, default=200_000, help="readings per round (default 200000)")
    parser.add_argument("--devices", type=int, default=200, help="devices (default 200; one in ten a gauge)")
    parser.add_argument(
        "--batch", type=int, default=50_000, help="readings per request / ingest call (default 50000)"
    )
    parser.add_argument("--message", type=int, default=50, help="readings per MQTT message (default 50)")
    parser.add_argument("--mqtt-url", default=None, help="broker (default SHIZHI_MQTT_URL)")
    parser.add_argument(
        "--skip", default="", type=_parts, help=f"comma-separated parts to skip: {', '.join(PARTS)}"
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile one round of the pipe (cProfile) and print the top"
    )
    parser.add_argument(
        "--anomaly-series", type=int, default=ANOMALY_SERIES, help="(f) series of a month each (default 8)"
    )
    parser.add_argument(
        "--anomaly-days", type=int, default=ANOMALY_DAYS, help="(f) days of minutely readings (default 30)"
    )
    parser.add_argument(
        "--reference-readings",
        type=int,
        default=20_000,
        help="(f') readings of one series for the plain-Python reference (default 20000)",
    )


# ---------------------------------------------------------------------------------------------- the fleet
@dataclass
class Series:
    device_id: int
    device_code: str
    quantity_id: int
    quantity_code: str
    phase: float


class Fleet:
    """The devices and their series; round ``r`` is ``per_round`` readings at later times than round ``r - 1``."""

    def __init__(self, devices: int, per_round: int, rounds: int, seed: int = 7) -> None:
        from shizhi.sensing import services

        services.device_types_ensure(actor=None, specs=BENCH_TYPES)
        rng = random.Random(seed)
        existing = set(Device.objects.filter(code__startswith="bench-").values_list("code", flat=True))
        for i in range(devices):
            code = f"bench-{i:05d}"
            if code not in existing:
                kind = "bench_level" if i % 10 == 5 else "bench_air"
                services.device_register(
                    actor=None, data=services.DeviceIn(code=code, name=code, device_type=kind)
                )
        CATALOGUE.clear()
        codes = [f"bench-{i:05d}" for i in range(devices)]
        info = CATALOGUE.lookup(codes)
        self.series = [
            Series(info[c].id, c, q.id, q.code, rng.random() * 2 * math.pi)
            for c in codes
            for q in info[c].quantities.values()
        ]
        self.per_round = per_round
        self.steps = math.ceil(per_round / len(self.series))
        # Resume after whatever an earlier run (--keep) stored, and end before now.
        with connection.cursor() as cur:
            cur.execute(f"SELECT MAX(ts) FROM {Reading._meta.db_table}")
            newest = cur.fetchone()[0]
        span = self.steps * STEP
        latest_start = int(time.time()) - 3600 - (rounds + 1) * span
        self.t0 = max(newest + STEP, latest_start) if newest else latest_start
        self.t0 -= self.t0 % STEP
        if self.t0 + (rounds + 1) * span > time.time():
            raise BenchError(
                "the scratch database holds readings up to now: run without --keep (or a fresh one)"
            )
        self.rounds_made = 0
        self.rng = rng

    def next_round(self) -> tuple[list[tuple[int, int, int, float]], list[str]]:
        """(rows as tuples, times as ISO strings) of the next round, in time order (step after step)."""
        r = self.rounds_made
        self.rounds_made += 1
        base = self.t0 + r * self.steps * STEP
        rows: list[tuple[int, int, int, float]] = []
        times: list[str] = []
        gauss, rng = self.rng.gauss, self.rng
        devices = sorted({s.device_id for s in self.series})
        episodes = set(rng.sample(devices, max(1, round(EPISODES * len(devices)))))
        half = max(1, self.steps // 4)  # an episode rises over a quarter of the round and falls over the next
        centre = self.steps // 2
        n = 0
        for step in range(self.steps):
            ts = base + step * STEP
            iso = datetime.fromtimestamp(ts, LOCAL).isoformat()
            bump = max(0.0, 1.0 - abs(step - centre) / half)
            for s in self.series:
                if n == self.per_round:
                    break
                level, swing, noise, height = SHAPES[s.quantity_code]
                v = level + swing * math.sin(s.phase + ts / 14400) + gauss(0, noise)
                if height and s.device_id in episodes:
                    v += height * bump
                if s.quantity_code != "temp":
                    v = max(v, 0.0)
                rows.append((s.device_id, s.quantity_id, ts, round(v, 2)))
                times.append(iso)
                n += 1
        return rows, times

    def bodies(self, rows: list[tuple[int, int, int, float]], times: list[str], batch: int) -> list[bytes]:
        code = {s.device_id: s.device_code for s in self.series}
        qcode = {s.quantity_id: s.quantity_code for s in self.series}
        out = []
        for i in range(0, len(rows), batch):
            chunk = [
                {"device": code[d], "quantity": qcode[q], "time": times[i + j], "value": v}
                for j, (d, q, _, v) in enumerate(rows[i : i + batch])
            ]
            out.append(json.dumps(chunk, separators=(",", ":")).encode())
        return out

    def messages(
        self, rows: list[tuple[int, int, int, float]], times: list[str], size: int
    ) -> list[tuple[str, bytes]]:
        """MQTT messages: per device, ``size`` readings each (no device field: the topic names it)."""
        code = {s.device_id: s.device_code for s in self.series}
        qcode = {s.quantity_id: s.quantity_code for s in self.series}
        by_device: dict[int, list[dict[str, Any]]] = {}
        out: list[tuple[str, bytes]] = []
        for (d, q, _, v), t in zip(rows, times, strict=True):
            pending = by_device.setdefault(d, [])
            pending.append({"quantity": qcode[q], "time": t, "value": v})
            if len(pending) == size:
                out.append((code[d], json.dumps(pending, separators=(",", ":")).encode()))
                by_device[d] = []
        out.extend(
            (code[d], json.dumps(p, separators=(",", ":")).encode()) for d, p in by_device.items() if p
        )
        return out


# ---------------------------------------------------------------------------------------------- the ways in
def bare_insert(rows: list[tuple[int, int, int, float]], batch: int | None = None) -> None:
    """The floor: the rows as tuples by executemany, in one transaction (or one per ``batch`` rows); on PostgreSQL
    by a binary COPY."""
    table = Reading._meta.db_table
    step = batch or len(rows)
    for i in range(0, len(rows), step):
        chunk = rows[i : i + step]
        with transaction.atomic():
            if connection.vendor == "sqlite":
                connection.connection.executemany(
                    f"INSERT INTO {table} (device_id, quantity_id, ts, value) VALUES (?, ?, ?, ?)", chunk
                )
            else:  # PostgreSQL: COPY straight into the table, the fastest way in (executemany is ~5x slower)
                with (
                    connection.connection.cursor() as cur,
                    cur.copy(
                        f"COPY {table} (device_id, quantity_id, ts, value) FROM STDIN (FORMAT BINARY)"
                    ) as cp,
                ):
                    cp.set_types(["int8", "int8", "int8", "float8"])
                    for row in chunk:
                        cp.write_row(row)


ANOMALY_DAYS = (
    30  # (f): a month of minutely readings per series, so that every window of the detector is full
)
ANOMALY_SERIES = 8
REF_LABEL = "(f') one series in memory: C core"


def anomaly_stream(series: int, days: int, end: int, seed: int = 11) -> list[tuple[int, int, float]]:
    """(series index, epoch second, value): ``days`` of minutely water levels per series, in time order: a daily
    swing with noise, and incidents (a flash flood, a level shift, a sensor stuck for three hours)."""
    rng = random.Random(seed)
    steps = days * 1440
    start = end - steps * STEP
    start -= start % STEP
    plans = []
    for _ in range(series):
        flood = rng.randrange(steps // 3, steps - 60)
        shift = rng.randrange(steps // 2, steps)
        stuck = rng.randrange(steps // 2, steps - 180)
        plans.append((rng.random() * 2 * math.pi, flood, shift, stuck))
    out: list[tuple[int, int, float]] = []
    gauss = rng.gauss
    last = [0.0] * series
    for k in range(steps):
        ts = start + k * STEP
        for i, (phase, flood, shift, stuck) in enumerate(plans):
            if stuck <= k < stuck + 180:
                v = last[i]
            else:
                v = 4.0 + 2.0 * math.sin(phase + 2 * math.pi * (ts % 86400) / 86400) + gauss(0, 0.3)
                v += 1.5 if k >= shift else 0.0
                v += 30.0 if flood <= k < flood + 5 else 0.0
                v = round(max(v, 0.0), 2)
            last[i] = v
            out.append((i, ts, v))
    return out


def bench_anomaly(ctx: BenchContext, fleet: Fleet, batch: int) -> dict[str, Any]:
    """(f) and (g): month-long minutely series (every window of the detector full) posted to ``POST
    /api/v1/readings`` (waitress in a thread of this process, the inline detectors on), the hourly rollups behind
    it, then the anomaly detector (the one scored on NAB) as ``shizhi sensing detect`` runs it, reading the stored
    series. (f) is the anomaly detector's rate on one core, (g) the three stages one after another in one process;
    (f') is the plain-Python reference on one series, for the ratio."""
    from shizhi.sensing import services
    from shizhi.sensing.detection import AnomalyWatch
    from shizhi.sensing.models import DeviceType, SeriesState
    from shizhi.sensing.rollups import rollup_refresh
    from shizhi.warning.detectors import anomaly_config
    from shizhi.warning.detectors.anomaly import AnomalyDetector, ReferenceAnomalyDetector, compiled

    o, write, repeat = ctx.options, ctx.write, ctx.repeat
    n_series = max(1, int(o.get("anomaly_series") or ANOMALY_SERIES))
    days = max(1, int(o.get("anomaly_days") or ANOMALY_DAYS))
    DeviceType.objects.filter(code="bench_level").update(anomaly_profile="minutely")
    codes = [f"bench-anomaly-{i:03d}" for i in range(n_series)]
    existing = set(Device.objects.filter(code__in=codes).values_list("code", flat=True))
    for code in codes:
        if code not in existing:
            services.device_register(
                actor=None, data=services.DeviceIn(code=code, name=code, device_type="bench_level")
            )
    CATALOGUE.clear()
    ids = dict(Device.objects.filter(code__in=codes).values_list("code", "id"))
    Reading.objects.filter(device_id__in=ids.values()).delete()
    SeriesState.objects.filter(device_id__in=ids.values()).delete()
    rollup_refresh()  # the fleet's backlog, so that the timed refresh below is this part's own

    stream = anomaly_stream(n_series, days, end=fleet.t0 - 3600)
    n = len(stream)
    bodies = []
    for i in range(0, n, batch):
        chunk = [
            {
                "device": codes[k],
                "quantity": "level",
                "time": datetime.fromtimestamp(ts, LOCAL).isoformat(),
                "value": v,
            }
            for k, ts, v in stream[i : i + batch]
        ]
        bodies.append(json.dumps(chunk, separators=(",", ":")).encode())
    server = ThreadedServer()
    http_client = KeepAliveClient(server.port, _gateway_token())
    try:
        t = time.perf_counter()
        accepted = sum(http_client.post(body)["accepted"] for body in bodies)
        t_pipe = time.perf_counter() - t
    finally:
        http_client.close()
        server.close()
    _check({"accepted": accepted}, n, "anomaly series over HTTP")
    t = time.perf_counter()
    hours = rollup_refresh(device_ids=list(ids.values()))
    t_rollup = time.perf_counter() - t

    detect = Sample()
    anomalies = 0
    for _ in range(repeat):
        SeriesState.objects.filter(device_id__in=ids.values()).delete()
        watch = AnomalyWatch(device_ids=set(ids.values()), housekeeping=False)
        report = watch.run_once(limit=10_000_000)
        if report.readings != n:
            raise BenchError(f"the anomaly detector read {report.readings} readings of {n}")
        detect.seconds.append(report.seconds)
        anomalies = report.anomalies
    t_detect = detect.median

    # (f') the plain-Python reference and the C core on the same series, in memory
    first = [(ts, v) for k, ts, v in stream if k == 0]
    limit = min(len(first), int(o.get("reference_readings") or 20_000))
    ts_list, vs = [ts for ts, _ in first[:limit]], [v for _, v in first[:limit]]
    config = anomaly_config("minutely")
    ref = ReferenceAnomalyDetector(config)
    t = time.perf_counter()
    want = [ref.update(ts, v).anomaly_score for ts, v in zip(ts_list, vs, strict=True)]
    t_ref = time.perf_counter() - t
    fast = AnomalyDetector(config)
    t = time.perf_counter()
    got_scores = fast.update_many(ts_list, vs).scores.tolist()
    t_core = time.perf_counter() - t
    if got_scores != want:
        raise BenchError("the C core and the Python reference disagree")

    result: dict[str, Any] = {
        "series": n_series,
        "days": days,
        "readings": n,
        "compiled": compiled(),
        "http_seconds": t_pipe,
        "http_readings_per_s": n / t_pipe,
        "rollup_seconds": t_rollup,
        "rollup_hours": hours,
        "seconds": t_detect,
        "samples_ms": [round(1000 * x, 1) for x in detect.seconds],
        "readings_per_s": n / t_detect,
        "anomalies": anomalies,
        "end_to_end_readings_per_s": n / (t_pipe + t_rollup + t_detect),
        "reference_readings": limit,
        "reference_readings_per_s": limit / t_ref,
        "core_readings_per_s": limit / t_core,
        "core_vs_reference": ratio(limit / t_core, limit / t_ref),
    }
    ok = result["end_to_end_readings_per_s"] >= DETECT_TARGET
    result["targets"] = []
    result["targets"].append({"name": "every_detector_end_to_end", "value": result["end_to_end_readings_per_s"], "target": f">= {DETECT_TARGET:.0f}", "met": ok})  # fmt: skip
    write(
        f"== anomaly detection: {n_series} series x {days} days of minutely readings = {n:,} readings ==\n"
        f"  {'POST /api/v1/readings (waitress), inline detectors':<50} {n / t_pipe:>12,.0f}/s  ({t_pipe:.2f} s)\n"
        f"  {'hourly rollups behind the pipe':<50} {n / t_rollup if t_rollup else 0:>12,.0f}/s  "
        f"({t_rollup:.2f} s, {hours:,} hours)\n"
        f"  {'(f) anomaly detector behind the pipe, one core':<50} {n / t_detect:>12,.0f}/s  "
        f"({t_detect:.2f} s, median of {repeat}; {anomalies} anomalies)\n"
        f"  {'(g) all three, one after another, one core':<50} {result['end_to_end_readings_per_s']:>12,.0f}/s  "
        f"target >= {DETECT_TARGET:,.0f}/s: {_mark(ok)}\n"
        f"  {REF_LABEL:<50} {limit / t_core:>12,.0f}/s  "
        f"plain-Python reference {limit / t_ref:,.0f}/s ({limit:,} readings, identical scores): "
        f"{result['core_vs_reference']:.1f}x"
    )
    return result


def pipe(bodies: list[bytes], detect: bool) -> IngestResult:
    """The pipe as the HTTP view runs it, without HTTP: parse each body, validate, store (and score)."""
    total = IngestResult()
    for body in bodies:
        total.add(ingest_records(parse_body(body, "application/json"), source=Source.HTTP, detect=detect))
    return total


class ThreadedServer:
    """The platform served by waitress in a thread of this process (``url``), stopped by :meth:`close`."""

    def __init__(self, threads: int = 4, *, close_connections: bool = False) -> None:
        from django.db import connections
        from waitress import create_server

        from shizhi.config.wsgi import application

        def app(environ: Any, start_response: Any) -> Any:
            try:
                return application(environ, start_response)
            finally:
                if close_connections:  # tests: no connection outlives its request (and the test database)
                    connections.close_all()

        self.server: Any = create_server(
            app, host="127.0.0.1", port=0, threads=threads, ident="shizhi", channel_timeout=120
        )
        self.port = int(self.server.effective_port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.closing = False
        self.thread = threading.Thread(target=self._run, name="bench-waitress", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            if not self.closing:  # closing the sockets under the running select() ends it like this
                raise

    def close(self) -> None:
        self.closing = True
        self.server.task_dispatcher.shutdown(timeout=10)  # the worker threads finish their requests
        for channel in list(self.server._map.values()):  # the listening socket, the trigger, open connections
            channel.close()
        self.thread.join(10)


class KeepAliveClient:
    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.reconnects = 0

    def post(self, body: bytes) -> dict[str, Any]:
        self.conn.request("POST", "/api/v1/readings", body=body, headers=self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.reconnects += 1
        if resp.status != 200:
            raise BenchError(f"POST /api/v1/readings: HTTP {resp.status} {data[:300]!r}")
        return dict(json.loads(data))

    def close(self) -> None:
        self.conn.close()


def _gateway_token() -> str:
    from shizhi.core import services as core_services
    from shizhi.core.models import Role, User

    user = User.objects.filter(username="bench-gateway").first()
    if user is None:
        user = core_services.user_create(
            actor=None,
            username="bench-gateway",
            password=None,
            roles=[core_services.RoleIn(role=Role.ADMIN)],
        )
    _, raw = core_services.token_create(actor=user, user=user, name="bench")
    return raw


def _check(result: IngestResult | dict[str, Any], expected: int, label: str) -> None:
    got = result if isinstance(result, dict) else {"accepted": result.accepted, "rejected": result.rejected}
    if got["accepted"] != expected:
        raise BenchError(f"{label}: {got['accepted']} of {expected} readings stored ({got})")


def _count() -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {Reading._meta.db_table}")
        return int(cur.fetchone()[0])


# ---------------------------------------------------------------------------------------------- MQTT
def bench_mqtt(ctx: BenchContext, fleet: Fleet, rows: Any, times: list[str], size: int) -> dict[str, Any]:
    from shizhi.sensing.mqtt import (
        Broker,
        Listener,
        ListenerOptions,
        Publisher,
        forget_session,
        start_in_thread,
    )

    try:
        broker = Broker.from_url(ctx.options.get("mqtt_url"))
    except ValueError as exc:
        return {"skipped": str(exc)}
    run_id = f"shizhi-bench-{uuid.uuid4().hex[:10]}"
    messages = fleet.messages(rows, times, size)
    before = _count()
    listener = Listener(
        ListenerOptions(broker=broker, client_id=run_id, prefix=run_id, report_every=0),
        write=lambda line: None,
    )
    connection.close()  # the listener's thread writes; this one only publishes
    thread, stop, errors = start_in_thread(listener)
    try:
        if not listener.subscribed.wait(15):
            return {"skipped": f"no subscription at {broker} ({errors[0] if errors else 'no answer'})"}
        try:
            pub = Publisher(broker, prefix=run_id, inflight=1000).connect()
        except Exception as exc:
            return {"skipped": str(exc)}
        started = time.monotonic()
        for code, body in messages:
            pub.publish(code, body)
        published = time.monotonic()
        confirmed = pub.flush(300)
        pub.close()
        deadline = time.monotonic() + 300
        while listener.stats.readings < len(rows) and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        time.sleep(0.2)  # anything more would be a surprise
    finally:
        stop.set()
        thread.join(60)
        forget_session(broker, run_id)
    if errors:
        raise BenchError(f"the MQTT listener failed: {errors[0]!r}")
    s = listener.stats
    stored = _count() - before
    last = s.last_commit_at or time.monotonic()
    seconds = last - started
    return {
        "readings": len(rows),
        "messages": len(messages),
        "readings_per_message": size,
        "seconds": round(seconds, 3),
        "publish_seconds": round(published - started, 3),
        "readings_per_s": round(len(rows) / seconds, 1) if seconds > 0 else None,
        "stored": stored,
        "received": s.readings,
        "accepted": s.accepted,
        "duplicate": s.duplicate,
        "rejected": s.rejected,
        "lost": len(rows) - s.readings,
        "batches": s.batches,
        "acked": s.acked,
        "broker_confirmed_all": confirmed,
    }


# ---------------------------------------------------------------------------------------------- the benchmark
def _figure(sample: Sample, n: int, bare: float | None = None) -> dict[str, Any]:
    d = sample.as_dict(per=n)
    d["readings_per_s"] = round(n / sample.median, 1) if sample.median > 0 else None
    if bare:
        d["ratio_to_bare"] = ratio(d["readings_per_s"] or 0.0, bare)
    return d


def _mark(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def run(ctx: BenchContext) -> dict[str, Any]:
    o, write, repeat = ctx.options, ctx.write, ctx.repeat
    n = int(o.get("readings") or 200_000)
    batch = max(1, int(o.get("batch") or 5000))
    size = max(1, int(o.get("message") or 50))
    skip = {s.strip() for s in str(o.get("skip") or "").split(",") if s.strip()}
    if unknown := skip - set(PARTS):
        raise BenchError(f"--skip: unknown parts {', '.join(sorted(unknown))} (known: {', '.join(PARTS)})")
    if n < 1 or int(o.get("devices") or 200) < 1:
        raise BenchError("--readings and --devices must be at least 1")
    rounds_each = repeat + 1
    measured = [p for p in ("bare", "bare_batched", "pipe", "client", "server", "detect") if p not in skip]
    if "bare" in skip:
        measured.remove("bare_batched")
    planned = rounds_each * len(measured) + (0 if "mqtt" in skip else 1) + (1 if o.get("profile") else 0)
    started = time.perf_counter()
    result_devices = int(o.get("devices") or 200)
    fleet = Fleet(result_devices, n, planned)
    load = os.getloadavg()
    write(
        f"fleet: {result_devices} devices, {len(fleet.series)} series, "
        f"{n:,} readings per round ({fleet.steps} reports of each series, {STEP} s apart), batches of {batch:,}; "
        f"medians of {repeat} rounds after one warm-up; built in {time.perf_counter() - started:.1f} s; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    result: dict[str, Any] = {
        "readings": n,
        "devices": result_devices,
        "series": len(fleet.series),
        "batch": batch,
        "repeat": repeat,
        "load_average": [round(x, 2) for x in load],
        "targets": [],
    }
    samples: dict[str, Sample] = {p: Sample() for p in measured}
    token = _gateway_token() if {"client", "server"} - skip else ""
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client = Client()
    parse = Sample()

    def timed(part: str, r: int, fn: Callable[[], Any]) -> Any:
        t = time.perf_counter()
        out = fn()
        if r > 0:
            samples[part].seconds.append(time.perf_counter() - t)
        return out

    # (a), (a') and (b) side by side, round by round, so that all meet the same table size.
    for r in range(rounds_each):
        for part in ("bare", "bare_batched", "pipe"):
            if part not in measured:
                continue
            rows, times = fleet.next_round()
            if part != "pipe":
                timed(
                    part, r, functools.partial(bare_insert, rows, batch if part == "bare_batched" else None)
                )
                continue
            bodies = fleet.bodies(rows, times, batch)
            t = time.perf_counter()
            for b in bodies:  # the part of (b) that is JSON parsing (orjson), shown apart
                list(parse_body(b, "application/json"))
            if r > 0:
                parse.seconds.append(time.perf_counter() - t)
            got = timed("pipe", r, functools.partial(pipe, bodies, detect=False))
            _check(got, n, "pipe")
    if "client" in measured:
        for r in range(rounds_each):
            rows, times = fleet.next_round()
            bodies = fleet.bodies(rows, times, batch)

            def via_client(bodies: list[bytes] = bodies) -> int:
                accepted = 0
                for body in bodies:
                    resp = client.post("/api/v1/readings", body, content_type="application/json", **auth)  # type: ignore[arg-type]
                    if resp.status_code != 200:
                        raise BenchError(f"POST /api/v1/readings: {resp.status_code} {resp.content[:300]!r}")
                    accepted += resp.json()["accepted"]
                return accepted

            _check({"accepted": timed("client", r, via_client)}, n, "HTTP client")
    if "server" in measured:
        connection.close()  # the server's threads write; this thread lets go of the database
        server = ThreadedServer()
        http_client = KeepAliveClient(server.port, token)
        try:
            for r in range(rounds_each):
                rows, times = fleet.next_round()
                bodies = fleet.bodies(rows, times, batch)

                def via_server(bodies: list[bytes] = bodies) -> int:
                    return sum(http_client.post(body)["accepted"] for body in bodies)

                _check({"accepted": timed("server", r, via_server)}, n, "HTTP server")
        finally:
            http_client.close()
            server.close()
        result["server_reconnects"] = http_client.reconnects
    if "detect" in measured:
        for r in range(rounds_each):
            rows, times = fleet.next_round()
            got = timed("detect", r, functools.partial(pipe, fleet.bodies(rows, times, batch), detect=True))
            _check(got, n, "detectors on")
            if r > 0:
                result.setdefault("detect_signals", []).append(got.signals)

    bare_rate = n / samples["bare"].median if "bare" in measured and samples["bare"].seconds else None
    bare_way = "executemany" if connection.vendor == "sqlite" else "COPY"
    labels = {
        "bare": f"(a) bare {bare_way}, one transaction",
        "bare_batched": f"(a') bare {bare_way}, a transaction per batch",
        "pipe": "(b) ingest_records, detectors off",
        "client": "(c) POST /api/v1/readings, django.test.Client *",
        "server": "(c) POST /api/v1/readings, waitress keep-alive *",
        "detect": "(d) ingest_records, detectors on",
    }
    write(f"== {n:,} readings per round: readings/s (median of {repeat}), ratio to (a) ==")
    targets: list[dict[str, Any]] = result["targets"]
    for part in measured:
        fig = _figure(samples[part], n, bare_rate if part != "bare" else None)
        result[part] = fig
        line = f"  {labels[part]:<50} {fig['readings_per_s']:>12,.0f}/s  {fig['median_ms']:>9,.1f} ms"
        if part != "bare" and fig.get("ratio_to_bare") is not None:
            line += f"  {fig['ratio_to_bare']:>5.2f}x bare"
        if part == "pipe" and "bare_batched" in result and result["bare_batched"]["readings_per_s"]:
            fig["ratio_to_bare_batched"] = ratio(
                fig["readings_per_s"] or 0.0, result["bare_batched"]["readings_per_s"]
            )
            line += f" ({fig['ratio_to_bare_batched']:.2f}x a')"
        if part == "pipe" and fig.get("ratio_to_bare") is not None and connection.vendor == "sqlite":
            ok = fig["ratio_to_bare"] >= PIPE_RATIO_TARGET
            targets.append({"name": "pipe_vs_bare", "value": fig["ratio_to_bare"], "target": f">= {PIPE_RATIO_TARGET}", "met": ok})  # fmt: skip
            line += f"  target >= {PIPE_RATIO_TARGET}x: {_mark(ok)}"
        if part == "detect":
            ok = fig["readings_per_s"] >= DETECT_TARGET
            targets.append({"name": "detectors_on", "value": fig["readings_per_s"], "target": f">= {DETECT_TARGET:.0f}", "met": ok})  # fmt: skip
            line += f"  target >= {DETECT_TARGET:,.0f}/s: {_mark(ok)}"
        write(line)
    if parse.seconds:
        result["json_parse"] = _figure(parse, n)
        write(
            f"  {'   of which parse_body of the bodies':<50} {n / parse.median:>12,.0f}/s  {1000 * parse.median:>9,.1f} ms"
        )
    if {"client", "server"} & set(measured):
        write("  * the endpoint runs the detectors, as in production: compare with (d)")
    if "detect" in measured:
        write(f"  level changes raised by the detectors per round: {result.get('detect_signals')}")

    if "mqtt" not in skip:
        rows, times = fleet.next_round()
        write(f"== MQTT: {n:,} readings in messages of {size}, listener with detectors on ==")
        m = bench_mqtt(ctx, fleet, rows, times, size)
        result["mqtt"] = m
        if "skipped" in m:
            write(f"  skipped: {m['skipped']}")
        else:
            ok = bool(
                m["readings_per_s"]
                and m["readings_per_s"] >= MQTT_TARGET
                and m["lost"] == 0
                and m["stored"] == n
            )
            targets.append({"name": "mqtt", "value": m["readings_per_s"], "lost": m["lost"], "target": f">= {MQTT_TARGET:.0f}, none lost", "met": ok})  # fmt: skip
            write(
                f"  {m['messages']:,} messages: {m['readings_per_s']:,.0f} readings/s first publish to last commit "
                f"({m['seconds']:.2f} s; publishing took {m['publish_seconds']:.2f} s); stored {m['stored']:,}, "
                f"lost {m['lost']:,}; {m['batches']:,} batches  target >= {MQTT_TARGET:,.0f}/s, none lost: {_mark(ok)}"
            )

    if "anomaly" not in skip:
        a = result["anomaly"] = bench_anomaly(ctx, fleet, batch)
        targets.extend(a.pop("targets"))

    if o.get("profile"):
        rows, times = fleet.next_round()
        bodies = fleet.bodies(rows, times, batch)
        profiler = cProfile.Profile()
        profiler.enable()
        pipe(bodies, detect=False)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        write(f"== cProfile of one round of (b), by own time ==\n{out.getvalue()}")
    from shizhi.sensing.mqtt import _flush_device_stats

    _flush_device_stats()  # before the framework empties the scratch database
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


benchmarks.register(
    benchmarks.Benchmark(
        name="ingest",
        help="读数接入性能：裸 executemany、接入管道、HTTP、预警检测、MQTT（shizhi bench ingest --readings 200000）",
        add_arguments=add_arguments,
        run=run,
    )
)
