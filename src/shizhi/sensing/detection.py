"""Detectors on the live series (在线检测): which detector watches which series, and what they say to the alerts.

Two tiers, so that the pipe stays fast and nothing waits on the slowest test:

* **Inline** (:func:`score_inline`, inside the ingestion transaction, every new reading): the warning-level rules
  (蓝/黄/橙/红 with hysteresis) of the quantities that have thresholds. A rule's state is a few numbers; it is
  written to :class:`SeriesState` only when it changes (a level entered or left, a step-down pending), so a restart
  resumes it exactly.
* **Behind the pipe** (:func:`detect_pending`, run by ``shizhi sensing detect`` or a ``--follow`` loop): the
  unsupervised anomaly detector (:mod:`shizhi.warning.detectors.anomaly`, the one scored on NAB) reads each
  series' new readings from the store in time order, and the offline check marks silent devices. Its state
  is large (hundreds of KB per series), so it is checkpointed every :data:`CHECKPOINT_SECONDS` and at the end of a
  run with the newest second it has seen; after a restart the readings stored since the checkpoint are
  simply scored again from that state, which gives exactly the same scores (the detector is deterministic and
  the readings are in the store).

Readings that arrive out of order (older than the newest a detector has seen) are stored and rolled up, but not
scored: streaming detectors see each series once, forward.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from shizhi.sensing.models import Device, DeviceStatus, Quantity, Reading, SeriesState
from shizhi.warning.detectors import (
    AnomalyDetector,
    Detector,
    StateError,
    ThresholdConfig,
    ThresholdRule,
    anomaly_config,
    detector_from_state,
)
from shizhi.warning.detectors.anomaly import KINDS

log = logging.getLogger("shizhi.sensing.detection")

ANOMALY_SCORE = 0.5  # report a reading whose tail probability is below 1e-5 (score 0.5) as an anomaly
ANOMALY_HIGH = 0.8  # ... and as a yellow (level 2) one below 1e-8
# The stuck test is sequential and stops at its own alpha (1e-4, score 0.4): a stuck run that reaches it is reported.
STUCK_SCORE = 0.4
STUCK = KINDS.index("stuck")
CHECKPOINT_SECONDS = 60.0
# Series whose detectors stay in memory between rounds (2-3 MB each once their windows are full); the others rest in
# their checkpoints. SHIZHI_SENSING_MAX_SERIES overrides it.
MAX_SERIES = int(os.environ.get("SHIZHI_SENSING_MAX_SERIES", "2000"))
THRESHOLD = "threshold"
ANOMALY = "anomaly"


# ---------------------------------------------------------------------------------------------- facts cache
@dataclass(frozen=True)
class QuantityRule:
    code: str
    config: ThresholdConfig | None  # None: no warning thresholds for this quantity

    @property
    def quiet_below(self) -> float | None:
        """For a rule at level 0 with nothing pending, readings on the quiet side of this value change nothing
        (the first entry line; for ``below`` rules the sign is turned, see :func:`score_inline`)."""
        if self.config is None:
            return None
        first = next(t for t in self.config.thresholds if t is not None)
        return first if self.config.direction == "above" else -first


class _Facts:
    """Per process: quantity rules and device status by id (cleared with the ingestion catalogue)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.quantities: dict[int, QuantityRule] = {}
        self.device_status: dict[int, str] = {}
        self.rules: dict[tuple[int, int], ThresholdRule] = {}

    def clear(self) -> None:
        with self.lock:
            self.quantities = {}
            self.device_status = {}
            self.rules = {}


FACTS = _Facts()


def forget_facts(**_: Any) -> None:
    FACTS.clear()


def threshold_config(q: Quantity) -> ThresholdConfig | None:
    """The warning rule of a quantity: its entry lines, direction and margin, and from its device type's
    ``config`` how many readings in a row must be below a level's hold line before stepping down
    (``clear_after``, default 1)."""
    if not q.thresholds:
        return None
    try:
        clear_after = int((q.device_type.config or {}).get("clear_after", 1))
        return ThresholdConfig.from_dict(
            {
                "thresholds": q.thresholds,
                "direction": q.direction,
                "margin": q.margin,
                "clear_after": clear_after,
            }
        )
    except (ValueError, TypeError):
        log.warning("quantity %s has invalid thresholds %r; no warning levels", q.pk, q.thresholds)
        return None


def _quantity_rules(ids: set[int]) -> dict[int, QuantityRule]:
    known = FACTS.quantities
    missing = ids - set(known)
    if missing:
        for q in Quantity.objects.filter(id__in=missing).select_related("device_type"):
            known[q.id] = QuantityRule(q.code, threshold_config(q))
    return known


def _device_status(ids: set[int]) -> dict[int, str]:
    known = FACTS.device_status
    missing = ids - set(known)
    if missing:
        known.update(Device.objects.filter(id__in=missing).values_list("id", "status"))
    return known


def _signal() -> tuple[Callable[..., Any], Callable[..., Any]]:
    from shizhi.warning.services import alert_clear, alert_signal

    return alert_signal, alert_clear


# ---------------------------------------------------------------------------------------------- inline
def score_inline(new: dict[tuple[int, int], list[tuple[int, float]]], now: datetime) -> int:
    """Run the warning-level rules over newly stored readings (each series in time order). Returns the number of
    level changes passed on to the alerts."""
    qrules = _quantity_rules({q for _, q in new})
    watched = [k for k in new if qrules[k[1]].config is not None]
    if not watched:
        return 0
    status = _device_status({d for d, _ in watched})
    rules = FACTS.rules
    unloaded = [k for k in watched if k not in rules]
    if unloaded:
        _load_rules(unloaded, qrules)
    changed: list[tuple[int, int]] = []
    signals = 0
    alert_signal = alert_clear = None
    for key in watched:
        if status.get(key[0]) == DeviceStatus.MAINTENANCE:
            continue
        rule = rules[key]
        before = (rule.level, rule.pending)
        qr = qrules[key[1]]
        quiet = qr.quiet_below
        sign = 1.0 if qr.config is not None and qr.config.direction == "above" else -1.0
        for t, v in new[key]:
            if t <= rule.last_ts:  # type: ignore[attr-defined]
                continue
            if not rule.level and quiet is not None and sign * v < quiet:
                rule.last_ts = t  # type: ignore[attr-defined]  # the usual reading: nothing to do
                continue
            level = rule.level
            score = rule.update(t, v)
            rule.last_ts = t  # type: ignore[attr-defined]
            if rule.level == level:
                continue
            if alert_signal is None:
                alert_signal, alert_clear = _signal()
            signals += 1
            d, q = key
            code = qrules[q].code
            at = datetime.fromtimestamp(t, tz=UTC)
            if rule.level > level:
                alert_signal(
                    device_id=d,
                    quantity_id=q,
                    rule=f"{THRESHOLD}:{code}",
                    level=int(rule.level),
                    score=score.anomaly_score,
                    kind=score.kind,
                    reason=score.reason,
                    value=v,
                    at=at,
                )
            elif rule.level == 0:
                assert alert_clear is not None
                alert_clear(device_id=d, quantity_id=q, rule=f"{THRESHOLD}:{code}", at=at, reason=f"{v:g}")
        if (rule.level, rule.pending) != before:
            changed.append(key)
    if changed:
        _save_rules(changed)
    return signals


def _load_rules(keys: list[tuple[int, int]], qrules: dict[int, QuantityRule]) -> None:
    devices = {d for d, _ in keys}
    stored = {
        (s.device_id, s.quantity_id): s
        for s in SeriesState.objects.filter(device_id__in=devices, detector=THRESHOLD)
    }
    for key in keys:
        config = qrules[key[1]].config
        assert config is not None
        rule = ThresholdRule(config)
        rule.last_ts = -1  # type: ignore[attr-defined]
        s = stored.get(key)
        if s is not None:
            try:
                old = detector_from_state(s.state)
                if isinstance(old, ThresholdRule) and old.config == config:
                    rule.level, rule.pending = old.level, old.pending
                rule.last_ts = s.last_ts  # type: ignore[attr-defined]
            except (StateError, KeyError, ValueError):
                log.warning("threshold state of %s unreadable; starting afresh", key)
        FACTS.rules[key] = rule


def _save_rules(keys: list[tuple[int, int]]) -> None:
    for d, q in keys:
        rule = FACTS.rules[(d, q)]
        SeriesState.objects.update_or_create(
            device_id=d,
            quantity_id=q,
            detector=THRESHOLD,
            defaults={"state": rule.state(), "last_ts": rule.last_ts},  # type: ignore[attr-defined]
        )


def devices_back_online(ids: list[int], now: datetime) -> None:
    """Devices that were offline sent readings again: online, and their offline alert clears."""
    from shizhi.sensing.ingest import forget_catalogue

    Device.objects.filter(id__in=ids, status=DeviceStatus.OFFLINE).update(status=DeviceStatus.ONLINE)
    for d in ids:
        FACTS.device_status.pop(d, None)
    forget_catalogue()
    _, alert_clear = _signal()
    for d in ids:
        alert_clear(device_id=d, quantity_id=None, rule="offline", at=now, reason="设备恢复上报")


# ---------------------------------------------------------------------------------------------- behind the pipe
@dataclass
class _Series:
    detector: Detector
    last_ts: int
    dirty: bool = False
    used: int = 0  # the round that last scored it


@dataclass
class DetectionReport:
    series: int = 0
    readings: int = 0
    anomalies: int = 0
    offline: int = 0
    hours: int = 0  # hourly rollups written
    seconds: float = 0.0

    def text(self) -> str:
        rate = self.readings / self.seconds if self.seconds else 0.0
        return (
            f"检测 {self.series} 条序列、{self.readings} 个读数（{rate:,.0f} 个/秒），"
            f"异常 {self.anomalies} 次，新离线设备 {self.offline} 台，写入小时汇总 {self.hours} 条"
        )


def _new_readings(device_id: int, quantity_id: int, after: int, limit: int) -> tuple[Any, Any]:
    """A series' readings after ``after`` in time order, at most ``limit``: (epoch seconds, values) as arrays."""
    table = Reading._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT ts, value FROM {table} WHERE device_id = %s AND quantity_id = %s AND ts > %s "
            "ORDER BY ts LIMIT %s",
            [device_id, quantity_id, after, limit],
        )
        rows = cur.fetchall()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    n = len(rows)
    return (
        np.fromiter((r[0] for r in rows), dtype=np.int64, count=n),
        np.fromiter((r[1] for r in rows), dtype=np.float64, count=n),
    )


class AnomalyWatch:
    """The anomaly detectors of every watched series, kept in memory between rounds and checkpointed. At most
    ``max_series`` stay in memory (a detector with full windows holds 2-3 MB): after a round, the series scored
    least recently are checkpointed and put to rest, and loaded again from their checkpoint when they have new
    readings (30-65 ms each), scoring exactly as if they had stayed."""

    def __init__(
        self,
        device_ids: set[int] | None = None,
        *,
        partition: tuple[int, int] | None = None,
        housekeeping: bool = True,
        max_series: int | None = None,
    ) -> None:
        self.series: dict[tuple[int, int], _Series] = {}
        self.resting: dict[tuple[int, int], int] = {}  # series put to rest -> the newest second they scored
        self.max_series = max_series if max_series is not None else MAX_SERIES
        self.rounds = 0
        self.last_checkpoint = time.monotonic()
        self.device_ids = device_ids  # None: every device whose type has an anomaly profile
        # (k, n): this watch scores the devices whose id is k modulo n (one of n worker processes)
        self.partition = partition
        # the offline check and the rollup refresh: in one worker only
        self.housekeeping = housekeeping

    def _watched(self) -> list[tuple[int, int, str, str, int | None]]:
        """(device, quantity, quantity code, profile, newest reading) of devices whose type has an anomaly
        profile."""
        out = []
        watched = Device.objects.exclude(device_type__anomaly_profile="")
        if self.device_ids is not None:
            watched = watched.filter(id__in=self.device_ids)
        devices = watched.values_list(
            "id", "device_type_id", "device_type__anomaly_profile", "last_reading_ts", "status"
        )
        quantities: dict[int, list[tuple[int, str]]] = {}
        for q in Quantity.objects.values_list("id", "code", "device_type_id"):
            quantities.setdefault(q[2], []).append((q[0], q[1]))
        part = self.partition
        for dev_id, type_id, profile, newest, status in devices:
            if status == DeviceStatus.MAINTENANCE or (part is not None and dev_id % part[1] != part[0]):
                continue
            for qid, code in quantities.get(type_id, []):
                out.append((dev_id, qid, code, profile, newest))
        return out

    def _get(self, key: tuple[int, int], profile: str) -> _Series:
        s = self.series.get(key)
        if s is not None:
            return s
        self.resting.pop(key, None)
        stored = SeriesState.objects.filter(device_id=key[0], quantity_id=key[1], detector=ANOMALY).first()
        detector: Detector | None = None
        last = -1
        if stored is not None:
            try:
                detector = detector_from_state(stored.state)
                last = stored.last_ts
            except (StateError, KeyError, ValueError, TypeError):
                log.warning("anomaly state of %s unreadable; starting afresh", key)
        if detector is None:
            detector = AnomalyDetector(
                anomaly_config(profile if profile in ("hourly", "minutely") else "default")
            )
        s = self.series[key] = _Series(detector, last)
        return s

    def run_once(self, *, limit: int = 50_000, now: datetime | None = None) -> DetectionReport:
        from shizhi.sensing.ingest import DEVICE_STATS

        DEVICE_STATS.flush()
        started = time.monotonic()
        report = DetectionReport()
        alert_signal = None
        self.rounds += 1
        for dev_id, qid, code, profile, newest in self._watched():
            key = (dev_id, qid)
            known = self.series.get(key)
            seen = known.last_ts if known is not None else self.resting.get(key)
            if newest is None or (seen is not None and newest <= seen):
                continue
            s = self._get(key, profile)
            s.used = self.rounds
            ts, values = _new_readings(dev_id, qid, s.last_ts, limit)
            if not len(ts):
                if known is None:  # loaded for nothing (a quantity this device does not report): back to rest
                    self.resting[key] = self.series.pop(key).last_ts
                continue
            report.series += 1
            report.readings += len(ts)
            hits: list[tuple[int, float, Any]] = []
            if isinstance(s.detector, AnomalyDetector):
                batch = s.detector.update_many(ts, values)
                found = (batch.scores >= ANOMALY_SCORE) | (
                    (batch.kinds == STUCK) & (batch.scores >= STUCK_SCORE)
                )
                hits = [(int(ts[i]), float(values[i]), batch[int(i)]) for i in np.flatnonzero(found)]
            else:
                for t, v in zip(ts.tolist(), values.tolist(), strict=True):
                    score = s.detector.update(t, v)
                    if score.anomaly_score >= ANOMALY_SCORE or (
                        score.kind == "stuck" and score.anomaly_score >= STUCK_SCORE
                    ):
                        hits.append((t, v, score))
            s.last_ts = int(ts[-1])
            s.dirty = True
            if hits:
                if alert_signal is None:
                    alert_signal, _ = _signal()
                with transaction.atomic():
                    for t, v, score in hits:
                        report.anomalies += 1
                        alert_signal(
                            device_id=dev_id,
                            quantity_id=qid,
                            rule=f"{ANOMALY}:{code}",
                            level=2 if score.anomaly_score >= ANOMALY_HIGH else 1,
                            score=score.anomaly_score,
                            kind=score.kind,
                            reason=score.reason,
                            value=v,
                            at=datetime.fromtimestamp(t, tz=UTC),
                        )
        if self.housekeeping:
            from shizhi.sensing.rollups import rollup_refresh

            report.offline = mark_offline(now or timezone.now())
            report.hours = rollup_refresh()
        if time.monotonic() - self.last_checkpoint >= CHECKPOINT_SECONDS:
            self.checkpoint()
        if len(self.series) > self.max_series:
            self.rest()
        report.seconds = time.monotonic() - started
        return report

    def rest(self) -> int:
        """Checkpoint, then drop from memory the series scored least recently, down to ``max_series``."""
        self.checkpoint()
        by_use = sorted(self.series, key=lambda k: self.series[k].used)
        dropped = by_use[: max(0, len(self.series) - self.max_series)]
        for key in dropped:
            self.resting[key] = self.series.pop(key).last_ts
        return len(dropped)

    def checkpoint(self) -> int:
        """Write the state of every series scored since the last checkpoint."""
        saved = 0
        for (d, q), s in self.series.items():
            if not s.dirty:
                continue
            SeriesState.objects.update_or_create(
                device_id=d,
                quantity_id=q,
                detector=ANOMALY,
                defaults={"state": s.detector.state(), "last_ts": s.last_ts},
            )
            s.dirty = False
            saved += 1
        self.last_checkpoint = time.monotonic()
        return saved


def mark_offline(now: datetime) -> int:
    """Devices silent for ``offline_after`` expected intervals become offline and raise an offline alert (blue).
    Devices in maintenance are left alone."""
    newly: list[Device] = []
    candidates = Device.objects.filter(status=DeviceStatus.ONLINE).select_related("device_type")
    for dev in candidates.only(
        "id",
        "status",
        "last_seen_at",
        "created_at",
        "device_type__expected_interval_s",
        "device_type__offline_after",
    ):
        window = timedelta(
            seconds=dev.device_type.expected_interval_s * max(1, dev.device_type.offline_after)
        )
        seen = dev.last_seen_at or dev.created_at
        if seen is not None and now - seen > window:
            newly.append(dev)
    if not newly:
        return 0
    from shizhi.sensing.ingest import forget_catalogue

    forget_catalogue()
    alert_signal, _ = _signal()
    with transaction.atomic():
        for dev in newly:
            updated = Device.objects.filter(id=dev.id, status=DeviceStatus.ONLINE).update(
                status=DeviceStatus.OFFLINE, updated_at=now
            )
            if not updated:
                continue
            FACTS.device_status.pop(dev.id, None)
            silent = now - (dev.last_seen_at or dev.created_at)
            alert_signal(
                device_id=dev.id,
                quantity_id=None,
                rule="offline",
                level=1,
                score=0.0,
                kind="offline",
                reason=f"设备已 {int(silent.total_seconds() // 60)} 分钟未上报",
                value=None,
                at=now,
            )
    return len(newly)


def detect_pending(watch: AnomalyWatch | None = None, *, now: datetime | None = None) -> DetectionReport:
    """One round: score every series' new readings, mark silent devices offline, checkpoint the states."""
    w = watch or AnomalyWatch()
    report = w.run_once(now=now)
    w.checkpoint()
    return report


def run_detection(
    *,
    follow: bool = False,
    interval: float = 5.0,
    write: Callable[[str], None] = print,
    partition: tuple[int, int] | None = None,
    max_series: int | None = None,
) -> None:
    """``shizhi sensing detect``: one round, or with ``follow`` a round every ``interval`` seconds until stopped.
    With ``partition`` (k, n) this process scores the devices whose id is k modulo n; worker 0 also marks silent
    devices offline and refreshes the rollups (``shizhi sensing detect --workers n`` starts the n processes)."""
    watch = AnomalyWatch(
        partition=partition, housekeeping=partition is None or partition[0] == 0, max_series=max_series
    )
    prefix = f"[{partition[0] + 1}/{partition[1]}] " if partition else ""
    try:
        while True:
            report = watch.run_once()
            if report.readings or report.offline or not follow:
                write(prefix + report.text())
            if not follow:
                break
            time.sleep(interval)
    finally:
        watch.checkpoint()
