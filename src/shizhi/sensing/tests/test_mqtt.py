"""MQTT intake against the real broker: exact counts of stored and quarantined readings, nothing lost when the
listener is down, crashes before a commit, or meets a message that breaks the pipe; ``shizhi sensing listen`` as
a process stopped by SIGTERM. Every test uses its own topic prefix and client id, so parallel runs don't meet."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connection

from shizhi.conftest import require_service
from shizhi.sensing import mqtt as mqtt_module
from shizhi.sensing import services
from shizhi.sensing.models import Device, QuarantinedReading, Reading
from shizhi.sensing.mqtt import (
    Broker,
    Listener,
    ListenerOptions,
    Publisher,
    device_of_topic,
    forget_session,
    payload_records,
    start_in_thread,
    topic_for,
    wait_for,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

NOW = int(time.time()) // 3600 * 3600 - 24 * 3600  # a day ago, on the hour: readings of the recent past
WAIT = 30.0  # seconds a test waits for the listener at most


@pytest.fixture
def broker() -> Broker:
    b = Broker.from_url(os.environ.get("SHIZHI_MQTT_URL", "mqtt://127.0.0.1:1883"))
    require_service("mosquitto", b.host, b.port)
    return b


@pytest.fixture
def run_id(broker: Broker) -> Iterator[str]:
    rid = f"shizhi-test-{uuid.uuid4().hex[:12]}"
    yield rid
    forget_session(broker, rid)  # the broker keeps no session of a finished test


@pytest.fixture
def devices() -> dict[str, Device]:
    services.device_types_ensure(actor=None)
    out = {}
    for code in ("air-a", "air-b"):
        out[code] = services.device_register(
            actor=None, data=services.DeviceIn(code=code, name=code, device_type="air_quality")
        )
    return out


def options(broker: Broker, run_id: str, **kw: Any) -> ListenerOptions:
    kw.setdefault("detect", False)
    return ListenerOptions(
        broker=broker, client_id=run_id, prefix=run_id, report_every=0, retry_delay=0.01, **kw
    )


@contextmanager
def running(listener: Listener) -> Iterator[Listener]:
    thread, stop, errors = start_in_thread(listener)
    try:
        assert listener.subscribed.wait(WAIT), "the listener did not subscribe"
        yield listener
    finally:
        stop.set()
        thread.join(WAIT)
        assert not thread.is_alive()
    if errors:
        raise errors[0]


def until(condition: Callable[[], bool]) -> None:
    assert wait_for(condition, WAIT), "timed out"


def pm25(i: int, value: float = 20.0, **extra: Any) -> dict[str, Any]:
    return {"quantity": "pm25", "time": NOW + 60 * i, "value": value, **extra}


def test_topics_and_payloads() -> None:
    assert topic_for("air-a") == "shizhi/devices/air-a/readings"
    assert device_of_topic("shizhi/devices/air-a/readings") == "air-a"
    assert device_of_topic("x/devices/air-a/readings", "x") == "air-a"
    assert device_of_topic("shizhi/devices/a/b/readings") is None
    assert device_of_topic("shizhi/devices//readings") is None
    assert device_of_topic("other/devices/a/readings") is None
    assert payload_records(b'{"value": 1}') == [{"value": 1}]
    assert payload_records(b'[{"value": 1}, 2]') == [{"value": 1}, 2]
    assert payload_records(b"12") == ["12"]  # JSON, but not a reading: quarantined as its text
    assert payload_records(b"\xff\xfe oops") == ["\ufffd\ufffd oops"]
    b = Broker.from_url("mqtts://user:p%40ss@broker.example:8884")
    assert (b.host, b.port, b.tls, b.username, b.password) == ("broker.example", 8884, True, "user", "p@ss")
    assert str(b) == "mqtts://user@broker.example:8884"
    assert Broker.from_url("mqtt://10.0.0.1").port == 1883
    with pytest.raises(ValueError):
        Broker.from_url("http://127.0.0.1:1883")


def test_good_duplicate_and_bad_readings_are_all_accounted_for(
    broker: Broker, run_id: str, devices: dict[str, Device]
) -> None:
    listener = Listener(options(broker, run_id))
    with running(listener), Publisher(broker, prefix=run_id) as pub:
        pub.publish("air-a", [pm25(i, 20.0 + i) for i in range(10)])  # 10 stored
        pub.publish("air-a", {"device": "air-a", "quantity": "temp", "time": NOW, "value": 12.5})  # 1 stored
        pub.publish("air-a", {"time": NOW + 3600, "values": {"pm25": 30, "pm10": 50}})  # 2 stored
        pub.publish("air-a", [pm25(0, 99.0)])  # a duplicate: the stored value stays
        pub.publish(
            "air-a",
            [
                pm25(20, -5.0),  # out_of_range
                {"quantity": "nope", "time": NOW, "value": 1},  # unknown_quantity
                {"quantity": "pm25", "time": "yesterday", "value": 1},  # bad_timestamp
            ],
        )
        pub.publish("air-a", [pm25(30, 5.0, device="air-b")])  # names another device: not_your_device
        pub.publish("air-a", b"not json at all")  # malformed
        pub.publish("air-b", [pm25(i, 40.0) for i in range(5)])  # 5 stored
        pub.publish("ghost", [pm25(0), {"quantity": "pm10", "time": NOW, "value": 1}])  # 2 unknown_device
        pub.flush()
        until(lambda: listener.stats.readings >= 26)
        time.sleep(0.1)  # nothing more arrives
    s = listener.stats
    assert (s.messages, s.readings, s.accepted, s.duplicate, s.rejected) == (9, 26, 18, 1, 7)
    assert s.accepted + s.duplicate + s.rejected == s.readings
    assert s.acked == 9 and s.poisoned == 0

    assert Reading.objects.count() == 18
    a, b = devices["air-a"], devices["air-b"]
    assert Reading.objects.filter(device_id=b.pk).count() == 5
    first = Reading.objects.get(device_id=a.pk, quantity__code="pm25", ts=NOW)
    assert first.value == 20.0  # the first value wins
    reasons = Counter(QuarantinedReading.objects.values_list("reason", flat=True))
    assert reasons == {
        "out_of_range": 1,
        "unknown_quantity": 1,
        "bad_timestamp": 1,
        "not_your_device": 1,
        "malformed": 1,
        "unknown_device": 2,
    }
    assert set(QuarantinedReading.objects.values_list("source", flat=True)) == {"mqtt"}
    ghost = QuarantinedReading.objects.filter(reason="unknown_device")
    assert set(ghost.values_list("device_code", flat=True)) == {"ghost"}
    assert QuarantinedReading.objects.get(reason="malformed").raw == "not json at all"
    a.refresh_from_db()
    assert (a.accepted_count, a.duplicate_count) == (13, 1)


def test_messages_published_while_the_listener_is_down_are_stored_when_it_comes_back(
    broker: Broker, run_id: str, devices: dict[str, Device]
) -> None:
    first = Listener(options(broker, run_id))
    with running(first):
        pass  # the broker now holds a persistent session with the subscription
    with Publisher(broker, prefix=run_id) as pub:
        for m in range(40):
            pub.publish("air-a", [pm25(5 * m + k, 10.0 + k) for k in range(5)])
    assert Reading.objects.count() == 0

    again = Listener(options(broker, run_id))
    with running(again), Publisher(broker, prefix=run_id) as pub:
        until(lambda: again.stats.readings >= 200)
        for m in range(40, 50):  # and some while it runs
            pub.publish("air-b", [pm25(5 * m + k) for k in range(5)])
        pub.flush()
        until(lambda: again.stats.readings >= 250)
    s = again.stats
    assert (s.messages, s.readings, s.accepted, s.duplicate, s.rejected) == (50, 250, 250, 0, 0)
    assert Reading.objects.count() == 250 and QuarantinedReading.objects.count() == 0


def test_a_batch_that_was_not_committed_is_not_acknowledged_and_comes_again(
    broker: Broker, run_id: str, devices: dict[str, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("database is locked")

    broken = Listener(options(broker, run_id))
    with monkeypatch.context() as m:
        m.setattr(mqtt_module, "ingest_records", database_down)
        with running(broken), Publisher(broker, prefix=run_id) as pub:
            for i in range(5):
                pub.publish("air-a", [pm25(10 * i + k) for k in range(3)])
            pub.flush()
            until(lambda: broken.stats.failures >= 3)
    assert broken.stats.acked == 0 and broken.stats.readings == 0
    assert Reading.objects.count() == 0

    healthy = Listener(options(broker, run_id))
    with running(healthy):
        until(lambda: healthy.stats.readings >= 15)
        time.sleep(0.1)
    s = healthy.stats
    assert (s.messages, s.accepted, s.acked) == (5, 15, 5)
    assert s.redelivered == 5  # the broker marks them as sent before
    assert Reading.objects.count() == 15


def test_a_message_that_breaks_the_pipe_is_quarantined_as_text_and_the_others_are_stored(
    broker: Broker, run_id: str, devices: dict[str, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = mqtt_module.ingest_records

    def fragile(records: list[Any], **kwargs: Any) -> Any:
        if any(isinstance(r, dict) and r.get("quantity") == "boom" for r in records):
            raise ValueError("a bug in the pipe")
        return real(records, **kwargs)

    monkeypatch.setattr(mqtt_module, "ingest_records", fragile)
    listener = Listener(options(broker, run_id, batch_wait=1.0, linger=0.5))
    with running(listener), Publisher(broker, prefix=run_id) as pub:
        pub.publish("air-a", [pm25(0), pm25(1)])
        pub.publish("air-a", [{"quantity": "boom", "time": NOW, "value": 1}])
        pub.publish("air-a", [pm25(2), pm25(3)])
        pub.flush()
        until(lambda: listener.stats.messages >= 3)
    s = listener.stats
    assert (s.poisoned, s.accepted, s.rejected, s.acked) == (1, 4, 1, 3)
    assert Reading.objects.count() == 4
    bad = QuarantinedReading.objects.get()
    assert bad.reason == "malformed" and '"boom"' in bad.raw


# ------------------------------------------------------------------------------------------------ the command
def _subprocess_database(tmp_path: Path) -> tuple[str, Callable[[], int]]:
    """A database URL another process can open, holding what this test wrote, and a reading counter."""
    if connection.vendor == "sqlite":
        path = tmp_path / "listen.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(path)
        connection.connection.backup(target)
        target.close()

        def count() -> int:
            with sqlite3.connect(path, timeout=10) as db:
                return int(db.execute("SELECT COUNT(*) FROM sensing_reading").fetchone()[0])

        return f"sqlite:///{path}", count
    s = connection.settings_dict
    url = f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return url, lambda: Reading.objects.count()


class ListenProcess:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shizhi", "sensing", "listen", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(WAIT)
        self.reader.join(5)
        return code


def test_the_listen_command_stops_cleanly_on_sigterm_and_loses_nothing_across_a_restart(
    broker: Broker, run_id: str, devices: dict[str, Device], tmp_path: Path
) -> None:
    url, stored = _subprocess_database(tmp_path)
    env = {
        **os.environ,
        "SHIZHI_DATABASE_URL": url,
        "SHIZHI_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "shizhi.config.settings",
        "PYTHONUNBUFFERED": "1",
    }
    args = ["--url", f"mqtt://{broker.host}:{broker.port}", "--client-id", run_id, "--prefix", run_id]
    args += ["--no-detect", "--report", "0"]

    first = ListenProcess(args, env)
    try:
        until(lambda: first.said("订阅已生效") or first.proc.poll() is not None)
        assert first.proc.poll() is None, "\n".join(first.lines)
        with Publisher(broker, prefix=run_id) as pub:
            for m in range(20):
                pub.publish("air-a", [pm25(5 * m + k) for k in range(5)])
        until(lambda: stored() >= 100)
    finally:
        code = first.terminate()
    assert code == 0, "\n".join(first.lines)
    assert first.said("收到信号 SIGTERM") and first.said("入库 100")

    with Publisher(broker, prefix=run_id) as pub:  # while nobody listens
        for m in range(20, 40):
            pub.publish("air-b", [pm25(5 * m + k) for k in range(5)])
            pub.publish("air-b", b"garbage")

    second = ListenProcess(args, env)
    try:
        until(lambda: second.said("恢复原会话") or second.proc.poll() is not None)
        until(lambda: stored() >= 200)
        time.sleep(0.3)
    finally:
        code = second.terminate()
    assert code == 0, "\n".join(second.lines)
    assert stored() == 200
    assert second.said("40 条消息、120 个读数；入库 100，重复 0，隔离 20")
