"""Live readings for the demo city (演示读数模拟): ``shizhi sensing simulate``.

Keeps the demo's devices (``lj-...`` and the Beijing stations ``bj-air-...``) reporting through the real pipe
(:func:`shizhi.sensing.ingest.ingest_records`, source ``demo``), so that the device map, the charts, the alert
board and the grid risk view move while ``make demo`` runs:

* each device continues its synthetic series (the models of :mod:`shizhi.sensing.demo_data`: the same daily and
  weekly cycles and weather drift, a function of time), at its type's reporting interval or every ``--every``
  seconds; the demo's broken noise monitor stays silent;
* with ``--air PATH`` the Beijing stations continue their real data: a reading at time ``T`` is the file's reading
  at ``T`` minus the whole number of weeks that brings it into the file's last week (the mapping the seed used;
  past the file's end the last week repeats);
* the simulator's clock starts at the oldest of the devices' newest readings and runs ``--speed`` times faster
  than real time until it reaches now (a gap since the seed is filled quickly), then follows real time: readings
  are never in the future. ``--speed 0`` fills the gap at once;
* every ``--detect`` seconds the anomaly detector and the offline check run behind the pipe (alerts appear), and
  the hourly rollups are refreshed.

It stops after ``--duration`` seconds (default: on Ctrl+C), saving the detectors' states.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from shizhi.sensing.demo_data import (
    BROKEN,
    DEMO_PREFIX,
    HOUR,
    WEEK,
    BeijingFile,
    Model,
    Weather,
    beijing_shift,
    model_for,
    read_beijing,
)
from shizhi.sensing.models import Device, Source

HELP = "演示读数模拟：演示城市的设备持续上报合成读数（--air 时北京站点继续回放实测数据），经真实接入路径入库"


@dataclass
class Stream:
    """One device's next reading."""

    code: str
    step: int  # seconds between readings
    next_ts: int
    model: Model | None = None
    beijing: BeijingFile | None = None
    rng: random.Random = field(default_factory=random.Random)

    def values(self, t: int) -> dict[str, float] | None:
        if self.beijing is not None:
            f = self.beijing
            return f.readings.get(t - beijing_shift(f.end, t))
        assert self.model is not None
        return self.model.values(t, self.rng)


@dataclass
class SimulationStats:
    readings: int = 0
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    alerts: int = 0  # anomaly signals and warning-level changes
    offline: int = 0
    data_time: int = 0  # the simulator's clock (epoch seconds)

    def text(self) -> str:
        at = (
            dt.datetime.fromtimestamp(self.data_time, dt.UTC) + dt.timedelta(hours=8)
            if self.data_time
            else None
        )
        clock = f"，数据时间 {at:%Y-%m-%d %H:%M}" if at else ""
        return (
            f"已发送 {self.readings:,} 个读数（入库 {self.accepted:,}，隔离 {self.rejected:,}，{self.batches:,} 批）"
            f"，预警信号 {self.alerts:,} 次，新离线 {self.offline} 台{clock}"
        )


def streams(*, seed: int = 1, every: int | None = None, air: str | None = None) -> list[Stream]:
    """The demo devices to keep reporting (not the broken one), each continuing after its newest reading."""
    from shizhi.sensing.replay import BEIJING_DEVICE_PREFIX

    files = {f.code: f for f in read_beijing(air, weeks_back=1)} if air else {}
    weather = Weather(seed)
    out = []
    devices = (
        Device.objects.filter(code__startswith=DEMO_PREFIX)
        | Device.objects.filter(code__startswith=BEIJING_DEVICE_PREFIX)
    ).select_related("device_type")
    now = int(timezone.now().timestamp())
    for d in devices.order_by("code"):
        if d.code == BROKEN or d.device_type.code not in (
            "air_quality",
            "noise",
            "water_level",
            "traffic_flow",
            "gas",
            "manhole",
        ):
            continue
        f = files.get(d.code)
        step = HOUR if f is not None else max(1, every or d.device_type.expected_interval_s)
        last = d.last_reading_ts if d.last_reading_ts is not None else now - step
        first = last + step - (last + step) % step if step >= 60 else last + step
        out.append(
            Stream(
                code=d.code,
                step=step,
                next_ts=first,
                model=None if f is not None else model_for(d.device_type.code, d.code, seed, weather),
                beijing=f,
                rng=random.Random(f"{seed}:{d.code}:live:{first}"),
            )
        )
    return out


def due(all_streams: list[Stream], until: int) -> list[dict[str, Any]]:
    """The readings of every stream up to ``until`` (inclusive), advancing the streams."""
    out: list[dict[str, Any]] = []
    for s in all_streams:
        while s.next_ts <= until:
            values = s.values(s.next_ts)
            for q, v in (values or {}).items():
                out.append({"device": s.code, "quantity": q, "time": s.next_ts, "value": float(v)})
            s.next_ts += s.step
    return out


def simulate(
    *,
    speed: float = 60.0,
    every: int | None = None,
    duration: float | None = None,
    air: str | None = None,
    seed: int = 1,
    detect_every: float = 30.0,
    tick: float = 1.0,
    batch: int = 5000,
    write: Callable[[str], None] = print,
    report_every: float = 30.0,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SimulationStats:
    """Run the simulator (see the module's docstring). Returns what it sent."""
    from shizhi.sensing.detection import AnomalyWatch
    from shizhi.sensing.ingest import ingest_records
    from shizhi.sensing.rollups import rollup_refresh

    all_streams = streams(seed=seed, every=every, air=air)
    stats = SimulationStats()
    if not all_streams:
        write("没有演示设备：请先运行 shizhi seed demo")
        return stats
    stop = stop or threading.Event()
    watch = AnomalyWatch()
    data0 = min(s.next_ts for s in all_streams) - 1
    wall0 = clock()
    last_detect = last_report = last_rollup = wall0
    caught_up = False
    try:
        while not stop.is_set():
            wall = clock()
            now = int(timezone.now().timestamp())
            data_now = now if speed <= 0 else min(now, int(data0 + (wall - wall0) * speed))
            stats.data_time = data_now
            records = due(all_streams, data_now)
            for i in range(0, len(records), batch):
                result = ingest_records(records[i : i + batch], source=Source.DEMO)
                stats.readings += result.received
                stats.accepted += result.accepted
                stats.rejected += result.rejected
                stats.alerts += result.signals
                stats.batches += 1
            first_catch_up = not caught_up and data_now >= now
            caught_up = caught_up or first_catch_up
            if wall - last_detect >= detect_every or first_catch_up:
                report = watch.run_once()
                stats.alerts += report.anomalies
                stats.offline += report.offline
                last_detect = wall
            if wall - last_rollup >= 300:
                rollup_refresh()
                last_rollup = wall
            if report_every and wall - last_report >= report_every:
                write(stats.text())
                last_report = wall
            if duration is not None and wall - wall0 >= duration:
                break
            sleep(tick)
    finally:
        report = watch.run_once()
        stats.alerts += report.anomalies
        stats.offline += report.offline
        watch.checkpoint()
        rollup_refresh()
    return stats


# ---------------------------------------------------------------------------------------------- the subcommand
def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``shizhi sensing simulate`` (an action of the ``sensing`` management command)."""
    p.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="追赶倍速：从设备最新读数开始，以 X 倍于真实时间追到当前时刻，之后按真实时间上报；0 = 立即追上（默认 60）",
    )
    p.add_argument(
        "--every", type=int, default=None, help="每台设备每隔多少秒上报一次（默认按设备类型的上报间隔）"
    )
    p.add_argument(
        "--duration", type=float, default=None, help="运行多少秒后停止（默认一直运行，Ctrl+C 停止）"
    )
    p.add_argument("--air", default=None, help="北京空气质量数据所在目录：北京站点继续回放实测数据")
    p.add_argument(
        "--seed", type=int, default=1, help="演示数据的随机种子（与 shizhi seed demo 相同，默认 1）"
    )
    p.add_argument(
        "--detect", type=float, default=30.0, help="每隔多少秒运行一次异常检测和离线检查（默认 30）"
    )
    p.add_argument("--report", type=float, default=30.0, help="每隔多少秒打印一行统计（默认 30，0 不打印）")


def handle(cmd: Any, o: dict[str, Any]) -> None:
    from django.core.management.base import CommandError

    from shizhi.core.context import change_context
    from shizhi.core.errors import ApplicationError

    if o["speed"] < 0:
        raise CommandError("--speed 不能为负数")
    if o["every"] is not None and o["every"] < 1:
        raise CommandError("--every 须为正整数")
    if o["detect"] <= 0:
        raise CommandError("--detect 须为正数")

    def write(line: str) -> None:
        cmd.stdout.write(line)
        cmd.stdout.flush()

    stop = threading.Event()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def on_signal(signum: int, frame: Any) -> None:
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    write("演示读数模拟已启动（Ctrl+C 停止）")
    try:
        with change_context(origin="cli"):
            stats = simulate(
                speed=o["speed"],
                every=o["every"],
                duration=o["duration"],
                air=o["air"],
                seed=o["seed"],
                detect_every=o["detect"],
                report_every=max(0.0, o["report"]),
                write=write,
                stop=stop,
            )
    except ApplicationError as exc:
        raise CommandError(exc.message) from exc
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    write("已停止：" + stats.text())


__all__ = [
    "HELP",
    "WEEK",
    "SimulationStats",
    "Stream",
    "add_arguments",
    "due",
    "handle",
    "simulate",
    "streams",
]
