"""Threshold rules with China's four warning levels (预警级别): blue 蓝 (IV, general), yellow 黄 (III, heavier),
orange 橙 (II, serious), red 红 (I, most serious), for readings above (water level, PM2.5) or below (pressure,
reservoir storage) their thresholds, with hysteresis so that a reading hovering at a line does not flap.

* A level is entered as soon as a reading reaches its threshold (escalation is immediate, possibly by several
  levels at once).
* A level is left only when the reading is beyond the threshold by ``margin`` (below ``threshold - margin`` for
  "above" rules, above ``threshold + margin`` for "below" rules) for ``clear_after`` readings in a row; the level
  then falls to the highest level the reading still holds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any, ClassVar

from shizhi.warning.detectors.base import Detector, Score, Timestamp


class WarningLevel(IntEnum):
    NONE = 0
    BLUE = 1  # 蓝色预警 (IV)
    YELLOW = 2  # 黄色预警 (III)
    ORANGE = 3  # 橙色预警 (II)
    RED = 4  # 红色预警 (I)

    @property
    def label(self) -> str:
        return ("none", "blue", "yellow", "orange", "red")[self]

    @property
    def chinese(self) -> str:
        return ("无", "蓝色预警", "黄色预警", "橙色预警", "红色预警")[self]


@dataclass(frozen=True)
class ThresholdConfig:
    """``thresholds``: the entry line of blue, yellow, orange, red (``None`` for a level the rule does not use);
    increasing for ``direction="above"``, decreasing for ``"below"``."""

    thresholds: tuple[float | None, float | None, float | None, float | None]
    direction: str = "above"
    margin: float = 0.0
    clear_after: int = 1

    def __post_init__(self) -> None:
        if self.direction not in ("above", "below"):
            raise ValueError('direction must be "above" or "below"')
        if len(self.thresholds) != 4:
            raise ValueError("give four thresholds (blue, yellow, orange, red), None for an unused level")
        used = [t for t in self.thresholds if t is not None]
        if not used:
            raise ValueError("at least one level needs a threshold")
        if any(not math.isfinite(t) for t in used):
            raise ValueError("thresholds must be finite numbers")
        ordered = sorted(used) if self.direction == "above" else sorted(used, reverse=True)
        if used != ordered or len(set(used)) != len(used):
            word = "increase" if self.direction == "above" else "decrease"
            raise ValueError(f"thresholds must strictly {word} from blue to red")
        if self.margin < 0 or not math.isfinite(self.margin):
            raise ValueError("margin must be a non-negative number")
        if self.clear_after < 1:
            raise ValueError("clear_after must be at least 1")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ThresholdConfig:
        t = d.get("thresholds")
        if not isinstance(t, list | tuple) or len(t) != 4:
            raise ValueError(
                "thresholds: give a list of four (blue, yellow, orange, red), null for an unused level"
            )
        return cls(
            thresholds=(t[0], t[1], t[2], t[3]),
            direction=d.get("direction", "above"),
            margin=float(d.get("margin", 0.0)),
            clear_after=int(d.get("clear_after", 1)),
        )


class ThresholdRule(Detector):
    """One series' warning level under a :class:`ThresholdConfig`."""

    name: ClassVar[str] = "threshold"

    def __init__(self, config: ThresholdConfig) -> None:
        self.config = config
        self.level = WarningLevel.NONE
        self.pending = 0  # readings in a row that would allow stepping down

    def _reaches(self, x: float, line: float) -> bool:
        return x >= line if self.config.direction == "above" else x <= line

    def _holds(self, x: float, line: float) -> bool:
        m = self.config.margin
        return x >= line - m if self.config.direction == "above" else x <= line + m

    def _highest(self, x: float, test: Any, upto: int = 4) -> WarningLevel:
        best = WarningLevel.NONE
        for i, line in enumerate(self.config.thresholds[:upto], start=1):
            if line is not None and test(x, line):
                best = WarningLevel(i)
        return best

    def update(self, timestamp: Timestamp, value: float) -> Score:
        x = float(value)
        if not math.isfinite(x):
            return self._score(x, missing=True)
        entered = self._highest(x, self._reaches)
        if entered > self.level:
            self.level = entered
            self.pending = 0
            return self._score(x)
        held = self._highest(x, self._holds, upto=int(self.level))
        if held < self.level:
            self.pending += 1
            if self.pending >= self.config.clear_after:
                self.level = max(held, entered)
                self.pending = 0
        else:
            self.pending = 0
        return self._score(x)

    def _score(self, x: float, missing: bool = False) -> Score:
        level = self.level
        if missing:
            return Score(
                level / 4, kind=level.label if level else "missing", reason="no value", level=int(level)
            )
        if not level:
            return Score(0.0)
        line = self.config.thresholds[level - 1]
        sign = ">=" if self.config.direction == "above" else "<="
        return Score(
            level / 4,
            kind=level.label,
            reason=f"{level.chinese} ({level.label}): {x:g}, entry line {sign} {line:g}",
            level=int(level),
        )

    def _config_dict(self) -> dict[str, Any]:
        d = asdict(self.config)
        d["thresholds"] = list(self.config.thresholds)
        return d

    @classmethod
    def _blank(cls, config: dict[str, Any]) -> ThresholdRule:
        return cls(ThresholdConfig.from_dict(config))

    def _dump(self) -> dict[str, Any]:
        return {"level": int(self.level), "pending": self.pending}

    def _load(self, data: dict[str, Any]) -> None:
        self.level = WarningLevel(int(data["level"]))
        self.pending = int(data["pending"])
