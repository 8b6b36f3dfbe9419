"""``shizhi sensing ...``: the readings pipe's long-running and batch commands (物联感知).

    shizhi sensing listen [--url mqtt://127.0.0.1:1883] [--client-id shizhi-ingest] [--prefix shizhi]
        [--batch 2000] [--wait-ms 200] [--report 10] [--inflight 10000] [--session-expiry 604800] [--no-detect]
    shizhi sensing replay FILE... [--format auto|csv|ndjson|beijing] [--speed X] [--via direct|http|mqtt]
        [--url URL] [--token T] [--batch 1000] [--start T] [--end T] [--limit N] [--no-detect] [--json OUT]
    shizhi sensing detect [--follow] [--interval 60] [--workers N] [--max-series 2000]

Each action is a :class:`Action` in :data:`ACTIONS` (name, help, arguments, handler): add one there to add a
subcommand. The work is in :mod:`shizhi.sensing.mqtt`, :mod:`shizhi.sensing.replay` and
:mod:`shizhi.sensing.detection`.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shizhi.core.context import change_context
from shizhi.sensing import simulate


@dataclass(frozen=True)
class Action:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handle: Callable[[BaseCommand, dict[str, Any]], None]


# ---------------------------------------------------------------------------------------------- listen
def _listen_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default=None, help="MQTT服务器（默认 SHIZHI_MQTT_URL，即 mqtt://127.0.0.1:1883）")
    p.add_argument(
        "--client-id",
        default="shizhi-ingest",
        help="固定的客户端标识：服务器按它保存会话（默认 shizhi-ingest）",
    )
    p.add_argument(
        "--prefix", default="shizhi", help="主题前缀：订阅 <前缀>/devices/+/readings（默认 shizhi）"
    )
    p.add_argument("--batch", type=int, default=2000, help="每批最多读数（默认 2000）")
    p.add_argument("--wait-ms", type=int, default=200, help="一批最长等待毫秒数（默认 200）")
    p.add_argument("--report", type=float, default=10.0, help="每隔多少秒打印一行统计（默认 10，0 不打印）")
    p.add_argument(
        "--inflight",
        type=int,
        default=10_000,
        help="服务器可推送的未确认消息数（MQTT 5 接收上限，默认 10000）",
    )
    p.add_argument(
        "--session-expiry", type=int, default=7 * 24 * 3600, help="离线期间服务器保留会话的秒数（默认 7 天）"
    )
    p.add_argument("--no-detect", action="store_true", help="入库时不运行预警检测")


def _listen(cmd: BaseCommand, o: dict[str, Any]) -> None:
    from shizhi.sensing.mqtt import Broker, Listener, ListenerOptions

    try:
        broker = Broker.from_url(o["url"])
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if o["batch"] < 1 or o["wait_ms"] < 1:
        raise CommandError("--batch 和 --wait-ms 须为正数")
    options = ListenerOptions(
        broker=broker,
        client_id=o["client_id"],
        prefix=o["prefix"].strip("/") or "shizhi",
        batch_readings=o["batch"],
        batch_wait=o["wait_ms"] / 1000,
        report_every=max(0.0, o["report"]),
        receive_maximum=o["inflight"],
        session_expiry=o["session_expiry"],
        detect=not o["no_detect"],
    )

    def write(line: str) -> None:
        cmd.stdout.write(line)
        cmd.stdout.flush()

    listener = Listener(options, write=write)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        write(f"收到信号 {signal.Signals(signum).name}：存完手头这一批、确认后退出")
        stop.set()

    previous = _install_signals(on_signal)
    write(f"物联感知MQTT接入：{broker}，主题 {options.prefix}/devices/+/readings（Ctrl+C 停止）")
    try:
        with change_context(origin="cli"):
            stats = listener.run(stop)
    finally:
        _restore_signals(previous)
    write(
        f"已停止：{stats.messages:,} 条消息、{stats.readings:,} 个读数；入库 {stats.accepted:,}，"
        f"重复 {stats.duplicate:,}，隔离 {stats.rejected:,}；已确认 {stats.acked:,} 条消息"
    )


def _install_signals(handler: Callable[[int, Any], None]) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}


def _restore_signals(previous: dict[int, Any]) -> None:
    for s, h in previous.items():
        signal.signal(s, h)


# ---------------------------------------------------------------------------------------------- replay
def _replay_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="CSV / NDJSON 文件或文件夹（多个文件按时间合并）")
    p.add_argument(
        "--format",
        default="auto",
        choices=("auto", "csv", "ndjson", "beijing"),
        help="文件格式（默认自动识别）",
    )
    p.add_argument("--speed", type=float, default=0.0, help="回放倍速：X 倍于真实时间；0 = 尽快（默认 0）")
    p.add_argument(
        "--via", default="direct", choices=("direct", "http", "mqtt"), help="接入方式（默认 direct）"
    )
    p.add_argument(
        "--url", default=None, help="http：服务器地址（默认 http://127.0.0.1:8000）；mqtt：MQTT服务器"
    )
    p.add_argument("--token", default=None, help="http：设备令牌 shd_... 或有 sensing.ingest 权限的用户令牌")
    p.add_argument("--prefix", default="shizhi", help="mqtt：主题前缀（默认 shizhi）")
    p.add_argument("--batch", type=int, default=1000, help="每批读数（默认 1000）")
    p.add_argument("--start", default=None, help="只回放此时刻及以后的读数（ISO 时间或 epoch 秒）")
    p.add_argument("--end", default=None, help="只回放此时刻以前的读数")
    p.add_argument("--limit", type=int, default=None, help="最多回放多少个读数")
    p.add_argument("--device-prefix", default="bj-air-", help="beijing：设备编码前缀（默认 bj-air-）")
    p.add_argument("--no-detect", action="store_true", help="direct：入库时不运行预警检测")
    p.add_argument(
        "--create-devices", action="store_true", help="beijing：在本系统登记缺少的空气质量设备类型和各站设备"
    )
    p.add_argument("--report", type=float, default=10.0, help="每隔多少秒打印进度（默认 10）")
    p.add_argument("--json", default=None, help="把统计写入此 JSON 文件")


def _time_option(raw: str | None, name: str) -> int | None:
    from shizhi.sensing.ingest import parse_time

    if raw is None:
        return None
    ts = parse_time(raw)
    if ts is None:
        raise CommandError(f"{name} 无法识别：{raw!r}（ISO 8601 时间或 epoch 秒）")
    return ts


def _replay(cmd: BaseCommand, o: dict[str, Any]) -> None:
    from shizhi.sensing.replay import (
        DirectSink,
        HttpSink,
        MqttSink,
        ReplayError,
        ReplayStats,
        beijing_stations,
        detect_format,
        ensure_beijing_devices,
        expand_paths,
        replay,
    )

    start, end = _time_option(o["start"], "--start"), _time_option(o["end"], "--end")
    if o["batch"] < 1:
        raise CommandError("--batch 须为正数")

    def write(line: str) -> None:
        cmd.stdout.write(line)
        cmd.stdout.flush()

    def progress(s: ReplayStats) -> None:
        r = s.result
        line = f"已发送 {s.sent:,} 个读数（跳过缺失 {s.skipped:,}），{s.sent / max(s.seconds, 1e-9):,.0f} 读数/秒"
        if o["via"] != "mqtt":
            line += f"；入库 {r.accepted:,}，重复 {r.duplicate:,}，隔离 {r.rejected:,}"
        if s.last_ts is not None:
            line += f"；数据时间 {_local(s.last_ts)}"
        write(line)

    try:
        if o["create_devices"]:
            files = expand_paths(o["files"])
            beijing = [
                f for f in files if (o["format"] if o["format"] != "auto" else detect_format(f)) == "beijing"
            ]
            with change_context(origin="cli"):
                created = ensure_beijing_devices(beijing_stations(beijing), prefix=o["device_prefix"])
            write(f"已登记 {len(created)} 台设备：{', '.join(created)}" if created else "所需设备均已登记")
        sink: Any
        if o["via"] == "direct":
            sink = DirectSink(detect=not o["no_detect"])
        elif o["via"] == "http":
            sink = HttpSink(o["url"] or "http://127.0.0.1:8000", o["token"] or "")
        else:
            sink = MqttSink(o["url"], prefix=o["prefix"])
        with change_context(origin="cli"):
            stats = replay(
                o["files"],
                sink,
                fmt=o["format"],
                speed=o["speed"],
                batch=o["batch"],
                start=start,
                end=end,
                limit=o["limit"],
                prefix=o["device_prefix"],
                progress=progress,
                report_every=o["report"],
            )
    except ReplayError as exc:
        raise CommandError(str(exc)) from exc
    r = stats.result
    span = (
        f"，数据时间 {_local(stats.first_ts)} 至 {_local(stats.last_ts)}"
        if stats.first_ts is not None
        else ""
    )
    write(
        f"回放完成：{stats.files} 个文件，发送 {stats.sent:,} 个读数，{stats.batches:,} 批，"
        f"用时 {stats.seconds:.1f} 秒{span}"
    )
    if stats.skipped:
        by = "，".join(f"{k} {v:,}" for k, v in sorted(stats.skipped_by_quantity.items()))
        write(f"跳过缺失值（NA）{stats.skipped:,} 个：{by}")
    if o["via"] == "mqtt":
        write("已全部发布到MQTT服务器（由 shizhi sensing listen 入库）")
    else:
        write(f"入库 {r.accepted:,}，重复 {r.duplicate:,}，隔离 {r.rejected:,}")
        if r.rejected_by_reason:
            write("隔离原因：" + "，".join(f"{k} {v:,}" for k, v in sorted(r.rejected_by_reason.items())))
    if o["json"]:
        Path(o["json"]).write_text(
            json.dumps(
                {"via": o["via"], "speed": o["speed"], **stats.as_dict()}, ensure_ascii=False, indent=2
            ),
            encoding="utf-8",
        )


def _local(ts: int | None) -> str:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------- detect
def _detect_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--follow", action="store_true", help="持续运行：每隔 --interval 秒检测一次")
    p.add_argument("--interval", type=float, default=60.0, help="两次检测间隔秒数（默认 60）")
    p.add_argument(
        "--workers", type=int, default=1, help="并行检测进程数：按设备分片，每个进程一个CPU核（默认 1）"
    )
    p.add_argument(
        "--max-series",
        type=int,
        default=None,
        help="内存中保留的序列检测器上限，其余存入检查点、有新读数时再载入（默认 2000，或 SHIZHI_SENSING_MAX_SERIES）",
    )
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # "k/n": one worker of --workers n


def _detect(cmd: BaseCommand, o: dict[str, Any]) -> None:
    try:
        from shizhi.sensing.detection import run_detection
    except ImportError as exc:
        raise CommandError(f"预警检测模块不可用：{exc}") from exc
    if o["interval"] <= 0:
        raise CommandError("--interval 须为正数")
    if o["workers"] < 1:
        raise CommandError("--workers 须为正整数")
    if o["max_series"] is not None and o["max_series"] < 1:
        raise CommandError("--max-series 须为正整数")
    if o["workers"] > 1 and not o["worker"]:
        _detect_workers(cmd, o)
        return
    partition = None
    if o["worker"]:
        try:
            k, n = (int(x) for x in str(o["worker"]).split("/"))
        except ValueError as exc:
            raise CommandError("--worker 应为 k/n") from exc
        if not 0 <= k < n:
            raise CommandError("--worker 应为 k/n，0 <= k < n")
        partition = (k, n)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # run_detection saves the detectors' states on the way out

    previous = _install_signals(on_term) if o["follow"] else {}
    try:
        with change_context(origin="cli"):
            run_detection(
                follow=o["follow"],
                interval=o["interval"],
                write=lambda line: cmd.stdout.write(line),
                partition=partition,
                max_series=o["max_series"],
            )
    except KeyboardInterrupt:
        cmd.stdout.write("预警检测已停止")
    finally:
        _restore_signals(previous)


def _detect_workers(cmd: BaseCommand, o: dict[str, Any]) -> None:
    """Start ``--workers`` processes, each scoring its share of the devices; stop them all together."""
    import subprocess
    import sys

    n = int(o["workers"])
    base = [sys.executable, "-m", "shizhi", "sensing", "detect", "--interval", str(o["interval"])]
    if o["follow"]:
        base.append("--follow")
    if o["max_series"] is not None:
        base += ["--max-series", str(o["max_series"])]
    procs = [subprocess.Popen([*base, "--worker", f"{k}/{n}"]) for k in range(n)]
    try:
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        codes = [p.wait() for p in procs]
    if any(codes):
        raise CommandError(f"检测进程退出码：{codes}")


ACTIONS: list[Action] = [
    Action("listen", "MQTT接入：订阅设备读数主题，分批入库，入库后才确认消息", _listen_arguments, _listen),
    Action(
        "replay",
        "回放读数文件（CSV、NDJSON、北京空气质量数据），按倍速经真实接入路径入库",
        _replay_arguments,
        _replay,
    ),
    Action("detect", "运行预警检测（离线、异常等）；--follow 持续运行", _detect_arguments, _detect),
    Action("simulate", simulate.HELP, simulate.add_arguments, simulate.handle),
]


class Command(BaseCommand):
    help = "物联感知：MQTT接入（listen）、读数回放（replay）、预警检测（detect）、演示模拟（simulate）"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        for action in ACTIONS:
            p = sub.add_parser(action.name, help=action.help, description=action.help)
            action.add_arguments(p)

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["action"]
        action = next(a for a in ACTIONS if a.name == name)
        action.handle(self, options)
