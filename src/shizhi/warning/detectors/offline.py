"""Offline detection (离线检测): a device that has sent nothing for ``missed`` expected intervals is offline. The
expected interval is learned from the series' own spacing (the median of its recent intervals), so a sensor that
reports every 5 minutes is offline after 15 silent minutes and an hourly one after 3 hours.

Two entry points: :func:`check_offline` (a pure function for a periodic sweep over stored "last seen" times), and
:class:`OfflineDetector` (a streaming detector that learns the spacing from the readings it sees, scores the reading
that ends a silence, and answers :meth:`OfflineDetector.check` at any moment).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from shizhi.warning.detectors.base import Detector, Score, Timestamp, epoch_seconds
from shizhi.warning.detectors.rolling import RollingWindow


@dataclass(frozen=True)
class OfflineStatus:
    offline: bool
    silent_for: float  # seconds since the last reading
    expected_interval: float | None  # seconds; None while it is still unknown
    missed_intervals: float  # silent_for / expected_interval (0 while unknown)


def expected_interval(timestamps: Sequence[Timestamp]) -> float | None:
    """The median spacing of a series (seconds), ignoring repeated timestamps; None with fewer than two."""
    ts = sorted(epoch_seconds(t) for t in timestamps)
    gaps = [b - a for a, b in itertools.pairwise(ts) if b > a]
    return statistics.median(gaps) if gaps else None


def check_offline(
    last_seen: Timestamp, interval: float | None, now: Timestamp, missed: float = 3.0
) -> OfflineStatus:
    """Is a series whose last reading came at ``last_seen`` offline at ``now``?"""
    silent = max(0.0, epoch_seconds(now) - epoch_seconds(last_seen))
    if not interval or interval <= 0:
        return OfflineStatus(False, silent, None, 0.0)
    ratio = silent / interval
    return OfflineStatus(ratio >= missed, silent, interval, ratio)


@dataclass(frozen=True)
class OfflineConfig:
    missed: float = 3.0  # offline after this many expected intervals without a reading
    learn: int = 5  # intervals to see before the expected interval is trusted
    window: int = 51  # recent intervals whose median is the expected interval

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OfflineConfig:
        unknown = set(d) - {"missed", "learn", "window"}
        if unknown:
            raise ValueError(f"unknown offline parameters: {', '.join(sorted(unknown))}")
        return cls(**d)


class OfflineDetector(Detector):
    """Learns the spacing of one series; :meth:`check` says whether it is offline now. ``update`` scores the
    reading that ends a silence of at least ``missed`` intervals with 1 (kind ``back_online``), others with 0."""

    name: ClassVar[str] = "offline"

    def __init__(self, config: OfflineConfig | None = None) -> None:
        self.config = config or OfflineConfig()
        self.last_seen: float | None = None
        self.intervals = RollingWindow(self.config.window)

    @property
    def expected_interval(self) -> float | None:
        if len(self.intervals) < self.config.learn:
            return None
        return self.intervals.median()

    def check(self, now: Timestamp) -> OfflineStatus:
        if self.last_seen is None:
            return OfflineStatus(False, 0.0, self.expected_interval, 0.0)
        return check_offline(self.last_seen, self.expected_interval, now, self.config.missed)

    def update(self, timestamp: Timestamp, value: float) -> Score:
        t = epoch_seconds(timestamp)
        score = Score(0.0)
        if self.last_seen is not None and t > self.last_seen:
            status = check_offline(self.last_seen, self.expected_interval, t, self.config.missed)
            if status.offline:
                hours = status.silent_for / 3600
                score = Score(
                    1.0,
                    kind="back_online",
                    reason=f"first reading after {hours:.1f} h of silence ({status.missed_intervals:.0f} intervals)",
                )
            self.intervals.add(t - self.last_seen)
        if self.last_seen is None or t > self.last_seen:
            self.last_seen = t  # a message without a value still shows the device is online
        return score

    def _config_dict(self) -> dict[str, Any]:
        return asdict(self.config)

    @classmethod
    def _blank(cls, config: dict[str, Any]) -> OfflineDetector:
        return cls(OfflineConfig.from_dict(config))

    def _dump(self) -> dict[str, Any]:
        return {"last_seen": self.last_seen, "intervals": self.intervals.state()}

    def _load(self, data: dict[str, Any]) -> None:
        self.last_seen = None if data["last_seen"] is None else float(data["last_seen"])
        self.intervals = RollingWindow.from_state(data["intervals"])
