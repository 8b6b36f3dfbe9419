"""MQTT intake (MQTT接入): ``shizhi sensing listen``.

A device publishes its readings to ``<prefix>/devices/<device code>/readings`` (prefix ``shizhi``), QoS 1, as a
JSON object or a JSON array of readings (``{"quantity", "time", "value"}`` or ``{"time", "values": {...}}``; the
device code comes from the topic, a ``device`` field may repeat it). :class:`Listener` subscribes to
``<prefix>/devices/+/readings`` and feeds every message into :func:`shizhi.sensing.ingest.ingest_records`:

- **Nothing acknowledged is ever lost.** The session is persistent (MQTT 5, ``clean_start`` off, a session expiry,
  a fixed client id), so the broker keeps what is published while the listener is down, and acknowledgements are
  manual: a message's PUBACK is sent only after the batch holding it is committed. A crash before the commit
  leaves the message unacknowledged and the broker delivers it again. Delivery is at least once: a crash between
  the commit and the PUBACK brings the message back, its readings then count as duplicates (readings are
  idempotent per device, quantity and second; quarantine rows of such a message are written twice).
- **Batches.** Messages are gathered (up to ``batch_readings`` readings, ``batch_wait`` seconds, or until the
  stream pauses for ``linger`` seconds) and stored in one transaction by the thread that calls :meth:`Listener.run`,
  the only thread that touches the database; paho's network thread only queues what arrives.
- **Nothing is dropped silently.** A payload that is not JSON is quarantined as malformed; a reading that names
  another device than its topic is quarantined as ``not_your_device``; a topic of an unregistered device is
  quarantined as ``unknown_device``.
- **Failures.** A database that is down (OperationalError) is retried with back-off until it answers or the
  listener is stopped (then nothing of the batch is acknowledged). A message that makes the pipe fail in another way
  is retried alone and then quarantined as its raw text, so that one bad message cannot block the others.

The broker's own limits still apply: Mosquitto keeps at most ``max_queued_messages`` (default 1,000) messages per
offline session and drops the rest, so a production broker needs a larger queue (see docs/sensing.md).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import OperationalError, close_old_connections, connection, transaction
from django.db.utils import InterfaceError
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from shizhi.sensing.ingest import CATALOGUE, DeviceInfo, IngestResult, ingest_records
from shizhi.sensing.models import Source

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "shizhi"
DEFAULT_CLIENT_ID = "shizhi-ingest"
QOS = 1
RECEIVE_MAXIMUM_LIMIT = (
    65535  # MQTT 5: the most unacknowledged QoS 1 messages a client can ask the broker for
)
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
_FAILED = object()  # a batch failed for another reason than a database outage


class ListenerError(RuntimeError):
    """The listener cannot go on (the broker refused it, or a batch cannot be stored at all)."""


# ---------------------------------------------------------------------------------------------- topics, broker
def topic_for(device_code: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The topic a device publishes its readings to."""
    return f"{prefix}/devices/{device_code}/readings"


def topic_filter(prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}/devices/+/readings"


def device_of_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> str | None:
    """The device code in a readings topic, or None when the topic is not one."""
    head, tail = f"{prefix}/devices/", "/readings"
    if not (topic.startswith(head) and topic.endswith(tail)):
        return None
    code = topic[len(head) : -len(tail)]
    return code if code and "/" not in code else None


@dataclass(frozen=True)
class Broker:
    """Where the broker is: ``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` for TLS)."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str | None = None) -> Broker:
        url = url or str(settings.SHIZHI.get("MQTT_URL") or "mqtt://127.0.0.1:1883")
        parsed = urlparse(url)
        scheme = parsed.scheme.lower()
        if scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"MQTT地址应为 mqtt://主机:端口 或 mqtts://主机:端口，而不是 {url!r}")
        tls = scheme in ("mqtts", "ssl")
        try:
            port = parsed.port or (8883 if tls else 1883)
        except ValueError as exc:
            raise ValueError(f"MQTT地址的端口无效：{url!r}") from exc
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=port,
            tls=tls,
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
        )

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def make_client(broker: Broker, client_id: str, *, manual_ack: bool = False) -> mqtt.Client:
    """A paho client for MQTT 5 with the broker's credentials and TLS set."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set()
    return client


def forget_session(broker: Broker, client_id: str, timeout: float = 10.0) -> None:
    """Make the broker drop a persistent session (and what it queued for it): connect once with a clean start
    and a session expiry of zero."""
    client = make_client(broker, client_id)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    done = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: done.set()
    client.connect(broker.host, broker.port, 10, clean_start=True, properties=props)
    client.loop_start()
    try:
        done.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()


# ---------------------------------------------------------------------------------------------- publishing
class Publisher:
    """Publish readings to the readings topics at QoS 1 (used by ``replay --via mqtt``, the benchmark and tests).

    ``with Publisher(broker) as pub: pub.publish("dev-1", [...])``; leaving the block waits until the broker has
    acknowledged every message."""

    def __init__(
        self,
        broker: Broker,
        *,
        prefix: str = DEFAULT_PREFIX,
        client_id: str | None = None,
        inflight: int = 1000,
        qos: int = QOS,
    ) -> None:
        self.broker, self.prefix, self.qos = broker, prefix, qos
        self.client = make_client(broker, client_id or f"shizhi-pub-{uuid.uuid4().hex[:12]}")
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self._lock = threading.Condition()
        self.sent = 0
        self.confirmed = 0
        self.client.on_publish = self._on_publish

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        with self._lock:
            self.confirmed += 1
            self._lock.notify_all()

    def connect(self, timeout: float = 10.0) -> Publisher:
        connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: connected.set()
        try:
            self.client.connect(self.broker.host, self.broker.port, 30)
        except OSError as exc:
            raise ListenerError(f"无法连接MQTT服务器 {self.broker}：{exc}") from exc
        self.client.loop_start()
        if not connected.wait(timeout):
            self.close()
            raise ListenerError(f"MQTT服务器 {self.broker} 未在{timeout:g}秒内应答")
        return self

    def publish(self, device_code: str, payload: Any, *, topic: str | None = None) -> None:
        """Publish a payload (bytes or str as they are; anything else as JSON) to a device's readings topic."""
        if isinstance(payload, bytes | bytearray):
            body = bytes(payload)
        elif isinstance(payload, str):
            body = payload.encode("utf-8")
        else:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        info = self.client.publish(topic or topic_for(device_code, self.prefix), body, qos=self.qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ListenerError(f"MQTT发布失败：{mqtt.error_string(info.rc)}")
        if self.qos > 0:
            with self._lock:
                self.sent += 1

    def flush(self, timeout: float = 60.0) -> bool:
        """Wait until the broker has acknowledged every message published so far."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.confirmed < self.sent:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Publisher:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None and not self.flush():
                raise ListenerError(f"{self.sent - self.confirmed} 条消息未得到MQTT服务器确认")
        finally:
            self.close()


# ---------------------------------------------------------------------------------------------- the listener
@dataclass
class ListenerOptions:
    broker: Broker
    client_id: str = DEFAULT_CLIENT_ID
    prefix: str = DEFAULT_PREFIX
    batch_readings: int = 2000  # a batch is stored when it holds this many readings ...
    batch_wait: float = 0.2  # ... or its first message waited this long (seconds) ...
    linger: float = 0.02  # ... or nothing arrived for this long (seconds)
    receive_maximum: int = 10_000  # unacknowledged messages the broker may send us (MQTT 5)
    session_expiry: int = (
        7 * 24 * 3600
    )  # seconds the broker keeps the session (and its queue) while we are away
    keepalive: int = 30
    detect: bool = True
    report_every: float = 10.0  # seconds between progress lines (0: none)
    retry_delay: float = 0.5  # first back-off after a failed batch (doubles up to 30 s)
    attempts: int = 2  # tries of a batch that fails for another reason than a database outage


@dataclass
class ListenerStats:
    messages: int = 0  # messages taken into stored batches
    readings: int = 0  # readings offered to the pipe (accepted + duplicate + rejected)
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    batches: int = 0
    acked: int = 0  # PUBACKs sent
    redelivered: int = 0  # messages that came again (the broker's DUP flag)
    stale: int = 0  # messages of a connection that dropped before they were stored (they come again)
    poisoned: int = 0  # messages that made the pipe fail and were quarantined as raw text
    failures: int = 0  # failed attempts to store a batch
    connects: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    first_message_at: float | None = None  # time.monotonic() of the first message stored
    last_commit_at: float | None = None

    def add(self, result: IngestResult, messages: int) -> None:
        self.messages += messages
        self.readings += result.received
        self.accepted += result.accepted
        self.duplicate += result.duplicate
        self.rejected += result.rejected
        self.batches += 1
        for k, v in result.rejected_by_reason.items():
            self.rejected_by_reason[k] = self.rejected_by_reason.get(k, 0) + v

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("first_message_at", "last_commit_at")}


@dataclass
class _Incoming:
    mid: int
    qos: int
    device: str | None  # from the topic
    payload: bytes
    generation: int  # the connection it came on
    dup: bool
    records: list[Any] = field(default_factory=list)


def _flush_device_stats() -> None:
    """Write the per-device counters the pipe keeps in memory for a moment (if it does), before letting go."""
    from shizhi.sensing import ingest

    stats = getattr(ingest, "DEVICE_STATS", None)
    if stats is None:
        return
    try:
        stats.flush()
    except Exception:  # the counters are not worth a failed shutdown; readings are all committed
        log.exception("device counters not written at shutdown")


def payload_records(payload: bytes) -> list[Any]:
    """The readings of a message: a JSON object is one reading, a JSON array holds several; anything else is
    the payload's text, which the pipe quarantines as malformed."""
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [payload.decode("utf-8", "replace")]
    try:
        data = json.loads(text)
    except ValueError:
        return [text]
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    return [text]


class Listener:
    """Subscribe to every device's readings topic and store what arrives; see the module's docstring.

    ``run(stop)`` blocks until ``stop`` is set (or a fatal error), then stores and acknowledges the batch in hand
    and disconnects. It runs in the calling thread, which is the only one that uses the database."""

    def __init__(self, options: ListenerOptions, *, write: Callable[[str], None] | None = None) -> None:
        self.o = options
        self.write = write or (lambda line: log.info("%s", line))
        self.stats = ListenerStats()
        self.subscribed = threading.Event()  # set when the subscription is confirmed (each connection)
        self._queue: queue.SimpleQueue[_Incoming] = queue.SimpleQueue()
        self._generation = 0
        self._client: mqtt.Client | None = None
        self._stop = threading.Event()
        self._filter = topic_filter(options.prefix)

    # -- paho's network thread: only queue what arrives ------------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self.write(f"MQTT服务器 {self.o.broker} 拒绝连接：{reason}")
            return
        self.stats.connects += 1
        present = bool(getattr(flags, "session_present", False))
        self.write(
            f"已连接MQTT服务器 {self.o.broker}，客户端 {self.o.client_id}"
            f"（{'恢复原会话' if present else '新会话'}），订阅 {self._filter}"
        )
        client.subscribe(self._filter, qos=QOS)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        if any(r.is_failure for r in reasons):
            self.write(f"MQTT服务器拒绝订阅 {self._filter}：{reasons}")
            return
        self.write(f"订阅已生效：{self._filter}（QoS {QOS}）")
        self.subscribed.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        # Messages of the lost connection that are not stored yet will come again on the next one; their
        # packet ids mean nothing there, so they are neither stored nor acknowledged now.
        self._generation += 1
        self.subscribed.clear()
        if not self._stop.is_set():
            self.write(f"与MQTT服务器断开（{reason}），正在重连")

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._queue.put(
            _Incoming(
                mid=msg.mid,
                qos=msg.qos,
                device=device_of_topic(msg.topic, self.o.prefix),
                payload=bytes(msg.payload),
                generation=self._generation,
                dup=bool(msg.dup),
            )
        )

    # -- the database thread -------------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None) -> ListenerStats:
        self._stop = stop or threading.Event()
        o = self.o
        client = make_client(o.broker, o.client_id, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(1, 30)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = max(0, int(o.session_expiry))
        props.ReceiveMaximum = max(1, min(RECEIVE_MAXIMUM_LIMIT, int(o.receive_maximum)))
        self._client = client
        client.connect_async(o.broker.host, o.broker.port, o.keepalive, clean_start=False, properties=props)
        client.loop_start()
        try:
            self._loop()
        finally:
            client.disconnect()
            client.loop_stop()
            _flush_device_stats()
            connection.close()
        return self.stats

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        o, stop, q = self.o, self._stop, self._queue
        batch: list[_Incoming] = []
        readings = 0
        opened = 0.0
        last_report = time.monotonic()
        reported = (0, 0)
        while True:
            if stop.is_set():
                if batch:
                    self._store(batch)
                return
            now = time.monotonic()
            if o.report_every and now - last_report >= o.report_every:
                reported = self._report(now - last_report, reported)
                last_report = now
            if batch:
                wait = min(o.linger, opened + o.batch_wait - now)
                if wait <= 0:
                    self._store(batch)
                    batch, readings = [], 0
                    continue
            else:
                wait = 0.2
            try:
                item = q.get(timeout=wait)
            except queue.Empty:
                if batch:
                    self._store(batch)
                    batch, readings = [], 0
                continue
            if item.generation != self._generation:
                self.stats.stale += 1
                continue
            item.records = payload_records(item.payload)
            if not batch:
                opened = time.monotonic()
            batch.append(item)
            readings += max(1, len(item.records))
            if readings >= o.batch_readings:
                self._store(batch)
                batch, readings = [], 0

    def _report(self, seconds: float, before: tuple[int, int]) -> tuple[int, int]:
        s = self.stats
        rate = (s.readings - before[1]) / seconds if seconds > 0 else 0.0
        self.write(
            f"已收 {s.messages:,} 条消息、{s.readings:,} 个读数：入库 {s.accepted:,}，重复 {s.duplicate:,}，"
            f"隔离 {s.rejected:,}；{rate:,.0f} 读数/秒；{s.batches:,} 批，已确认 {s.acked:,} 条消息"
        )
        return (s.messages, s.readings)

    # -- storing a batch -----------------------------------------------------------------------------------
    def _store(self, batch: list[_Incoming]) -> bool:
        """Store a batch in one transaction, then acknowledge its messages (in the order they came). False when
        the listener was stopped before the batch could be stored (nothing of it is acknowledged then)."""
        outcome = self._try(batch)
        if outcome is _FAILED:
            if len(batch) > 1:
                # Store the messages one by one, so that the one that fails does not hold the others back.
                return all(self._store([m]) for m in batch)
            outcome = self._poisoned(batch[0])
        if not isinstance(outcome, IngestResult):
            return False
        self._done(batch, outcome)
        return True

    def _done(self, batch: list[_Incoming], result: IngestResult) -> None:
        s = self.stats
        now = time.monotonic()
        if s.first_message_at is None:
            s.first_message_at = now
        s.add(result, len(batch))
        s.redelivered += sum(1 for m in batch if m.dup)
        s.last_commit_at = now
        client = self._client
        if client is None:
            return
        for m in batch:
            if m.qos > 0 and m.generation == self._generation:
                client.ack(m.mid, m.qos)
                s.acked += 1

    def _try(self, batch: list[_Incoming]) -> IngestResult | object | None:
        """The batch's result; :data:`_FAILED` when it failed ``attempts`` times for another reason than a
        database outage; None when stopped while waiting for the database."""
        attempts, delay = 0, self.o.retry_delay
        while True:
            try:
                close_old_connections()
                return self._ingest(batch)
            except TRANSIENT_ERRORS as exc:
                self.stats.failures += 1
                self.write(f"数据库无响应（{exc}），{delay:.1f} 秒后重试")
            except Exception:
                self.stats.failures += 1
                attempts += 1
                log.exception("mqtt: storing a batch of %d messages failed", len(batch))
                if attempts >= self.o.attempts:
                    return _FAILED
            connection.close()
            if self._stop.wait(delay):
                return None
            delay = min(30.0, delay * 2)

    def _poisoned(self, m: _Incoming) -> IngestResult | None:
        """Quarantine a message that the pipe cannot take as its raw text (malformed), and say so."""
        self.write(f"设备 {m.device or '?'} 的一条消息无法处理，已按原文隔离")
        self.stats.poisoned += 1
        m.records = [m.payload.decode("utf-8", "replace")]
        outcome = self._try([m])
        return outcome if isinstance(outcome, IngestResult) else None

    def _ingest(self, batch: list[_Incoming]) -> IngestResult:
        codes = {m.device for m in batch if m.device}
        known: Mapping[str, DeviceInfo] = CATALOGUE.lookup(codes) if codes else {}
        shared: list[Any] = []  # readings of the topic's own device (or of an unknown one): one call
        checked: dict[str, list[Any]] = defaultdict(list)  # readings to check against their topic's device
        for m in batch:
            code = m.device
            info = known.get(code) if code else None
            for rec in m.records:
                if isinstance(rec, dict):
                    named = rec.get("device")
                    if named is None and code:
                        shared.append({**rec, "device": code})
                    elif named == code or code is None:
                        shared.append(rec)
                    elif info is None:
                        shared.append({**rec, "device": code})  # the topic's device is not registered
                    else:
                        checked[code].append(rec)  # names another device: not_your_device
                elif info is not None and code is not None:
                    checked[code].append(rec)
                else:
                    shared.append(rec)
        detect = self.o.detect
        with transaction.atomic():
            result = ingest_records(shared, source=Source.MQTT, detect=detect)
            for code, recs in checked.items():
                result.add(ingest_records(recs, source=Source.MQTT, device=known[code], detect=detect))
        return result


def start_in_thread(listener: Listener) -> tuple[threading.Thread, threading.Event, list[BaseException]]:
    """Run ``listener`` in a thread (tests, the benchmark): (thread, stop event, errors raised by ``run``)."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            listener.run(stop)
        except BaseException as exc:  # handed to the caller
            errors.append(exc)

    thread = threading.Thread(target=target, name="shizhi-mqtt-listener", daemon=True)
    thread.start()
    return thread, stop, errors


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()
