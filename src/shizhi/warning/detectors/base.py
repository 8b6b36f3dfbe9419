"""The streaming detector interface: one reading in, one score out, state per series that survives a restart.

``Detector.update(timestamp, value) -> Score`` scores each reading as it arrives. ``state()`` returns a
JSON-serialisable dict (the ingestion path stores it per series); ``Detector.from_state(state)`` rebuilds the detector
so that the readings that follow score exactly as if the process had never stopped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

Timestamp = datetime | float | int  # an aware or naive datetime, or seconds since the epoch (UTC)


class StateError(ValueError):
    """A stored state cannot be loaded (other detector, other format version)."""


@dataclass(frozen=True)
class Score:
    """A reading's verdict. ``anomaly_score`` is in [0, 1] (for the anomaly detector -log10 of the tail probability
    / 10: 0.3 means "this unusual about once in 1,000 readings", 0.5 once in 100,000). ``kind`` names the test that
    fired (range, jump, deviation, stuck, gap; a warning level's name; back_online), ``reason`` says it in words;
    ``level`` is a warning level (0 none, 1 blue 蓝, 2 yellow 黄, 3 orange 橙, 4 red 红) for rules that have
    levels."""

    anomaly_score: float
    kind: str = ""
    reason: str = ""
    level: int = 0


NORMAL = Score(0.0)


class Detector(ABC):
    """A streaming detector for one series."""

    name: ClassVar[str]
    state_version: ClassVar[int] = 1

    @abstractmethod
    def update(self, timestamp: Timestamp, value: float) -> Score: ...

    @abstractmethod
    def _dump(self) -> dict[str, Any]: ...

    @abstractmethod
    def _load(self, data: dict[str, Any]) -> None: ...

    @classmethod
    @abstractmethod
    def _blank(cls, config: dict[str, Any]) -> Detector: ...

    @abstractmethod
    def _config_dict(self) -> dict[str, Any]: ...

    def state(self) -> dict[str, Any]:
        """Everything needed to resume: the detector's name, format version, configuration and statistics."""
        return {
            "detector": self.name,
            "version": self.state_version,
            "config": self._config_dict(),
            "data": self._dump(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Detector:
        if state.get("detector") != cls.name:
            raise StateError(f"state of {state.get('detector')!r}, not of {cls.name!r}")
        if state.get("version") != cls.state_version:
            raise StateError(
                f"state version {state.get('version')!r}; this {cls.name} reads {cls.state_version}"
            )
        detector = cls._blank(state["config"])
        detector._load(state["data"])
        return detector


def epoch_seconds(ts: Timestamp) -> float:
    """Seconds since the epoch; a naive datetime is read as UTC (only differences matter)."""
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        return ts.timestamp()
    return float(ts)


def local_clock(ts: Timestamp, tz: str) -> tuple[int, int, int]:
    """(second of the day, day of the week 0=Monday, day number) on the local wall clock: an aware datetime or
    epoch seconds are converted to ``tz``; a naive datetime is taken as already local."""
    if not isinstance(ts, datetime):
        ts = datetime.fromtimestamp(float(ts), tz=ZoneInfo(tz))
    elif ts.tzinfo is not None:
        ts = ts.astimezone(ZoneInfo(tz))
    return ts.hour * 3600 + ts.minute * 60 + ts.second, ts.weekday(), ts.toordinal()
