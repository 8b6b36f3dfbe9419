"""Streaming detectors of the early-warning app (风险预警), pure Python and numpy, usable without Django.

Every detector follows one interface (:class:`Detector`): ``update(timestamp, value) -> Score`` per reading,
``state()`` / ``Detector.from_state(state)`` to persist and resume a series. See docs/warning.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from shizhi.warning.detectors.anomaly import AnomalyConfig, AnomalyDetector
from shizhi.warning.detectors.base import NORMAL, Detector, Score, StateError, Timestamp
from shizhi.warning.detectors.offline import (
    OfflineConfig,
    OfflineDetector,
    OfflineStatus,
    check_offline,
    expected_interval,
)
from shizhi.warning.detectors.threshold import ThresholdConfig, ThresholdRule, WarningLevel


class NullDetector(Detector):
    """NAB's baseline: the same score for every reading (no detection at any useful threshold); it scores 0."""

    name: ClassVar[str] = "null"

    def update(self, timestamp: Timestamp, value: float) -> Score:
        return Score(0.5)

    def _config_dict(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _blank(cls, config: dict[str, Any]) -> NullDetector:
        return cls()

    def _dump(self) -> dict[str, Any]:
        return {}

    def _load(self, data: dict[str, Any]) -> None:
        pass


# Parameters per device type (one AnomalyConfig each). "default" is the configuration measured on the whole NAB
# corpus (mostly 5-minute readings); the others keep the same method and change only how many readings make up
# the history windows, so that "a month of history" stays about a month.
DEVICE_PROFILES: dict[str, AnomalyConfig] = {
    "default": AnomalyConfig(),
    "hourly": AnomalyConfig(min_history=72, history=2160, range_history=2160),  # 90 days of hourly readings
    "minutely": AnomalyConfig(
        history=20160, range_history=20160, min_history=600
    ),  # 14 days of 1-minute readings
}


def anomaly_config(device_type: str = "default", **overrides: Any) -> AnomalyConfig:
    """The configuration of a device type, with some parameters overridden."""
    try:
        base = DEVICE_PROFILES[device_type]
    except KeyError as exc:
        raise ValueError(
            f"unknown device type {device_type!r} (known: {', '.join(DEVICE_PROFILES)})"
        ) from exc
    if not overrides:
        return base
    return AnomalyConfig.from_dict({**base.__dict__, **overrides})


DETECTORS: dict[str, Callable[[dict[str, Any]], Detector]] = {
    "shizhi": lambda cfg: AnomalyDetector(AnomalyConfig.from_dict(cfg)),
    "null": lambda cfg: NullDetector(),
    "offline": lambda cfg: OfflineDetector(OfflineConfig.from_dict(cfg)),
    "threshold": lambda cfg: ThresholdRule(ThresholdConfig.from_dict(cfg)),
}
_CLASSES: dict[str, type[Detector]] = {
    c.name: c for c in (AnomalyDetector, NullDetector, OfflineDetector, ThresholdRule)
}


def make_detector(name: str, config: dict[str, Any] | None = None) -> Detector:
    """A fresh detector by name (``shizhi``, ``null``, ``offline``, ``threshold``) with a configuration dict."""
    try:
        factory = DETECTORS[name]
    except KeyError as exc:
        raise ValueError(f"unknown detector {name!r} (known: {', '.join(DETECTORS)})") from exc
    try:
        return factory(dict(config or {}))
    except TypeError as exc:  # unknown keyword arguments
        raise ValueError(f"{name}: {exc}") from exc


def detector_from_state(state: dict[str, Any]) -> Detector:
    """Resume whichever detector a stored state belongs to."""
    cls = _CLASSES.get(str(state.get("detector")))
    if cls is None:
        raise StateError(f"no detector named {state.get('detector')!r}")
    return cls.from_state(state)


__all__ = [
    "DETECTORS",
    "DEVICE_PROFILES",
    "NORMAL",
    "AnomalyConfig",
    "AnomalyDetector",
    "Detector",
    "NullDetector",
    "OfflineConfig",
    "OfflineDetector",
    "OfflineStatus",
    "Score",
    "StateError",
    "ThresholdConfig",
    "ThresholdRule",
    "Timestamp",
    "WarningLevel",
    "anomaly_config",
    "check_offline",
    "detector_from_state",
    "expected_interval",
    "make_detector",
]
