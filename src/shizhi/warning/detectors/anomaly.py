"""The unsupervised streaming anomaly detector (异常检测): robust online statistics whose evidence is a tail
probability learned from the series itself, combined by a weighted Bonferroni rule.

How a reading is scored
-----------------------
1. **Views (channels) of the series.** ``raw`` is the value itself; ``daily`` is the value minus the median of the
   same time slot on the previous ``season_days`` days; ``weekly`` the value minus the median of the same slot of
   the same weekday over the previous ``season_weeks`` weeks (a slot is the reading interval, at least
   ``season_bucket_minutes``; see :class:`SeasonalProfile`). A seasonal view starts once its slot has values on
   ``season_min`` earlier days (weeks). The detector uses the *smoothest* view, the one whose readings change
   least from one to the next (mean absolute change over the last ~200 readings), with hysteresis: another view
   takes over only when it is ``season_gain`` times smoother. A counter with sharp rush hours ends up on a
   seasonal view, a smooth temperature on its raw one. Every view keeps learning, so a switch needs no warm-up.
2. **Statistics of the view**, each a two-sided tail test (:class:`TwoSidedTail`) of a derived quantity against its
   own history in this series: empirical inside the range seen, an exponential tail fitted to the outer 10% beyond
   it (peaks over threshold), so a value far beyond anything seen gets a small but finite probability.
   ``range``      the value against the last ``range_history`` values: a level not seen for a month is the
                  signature of spikes, level shifts and drifts that leave the normal range;
   ``jump``       the change from the previous reading against past changes: sudden steps inside the range;
   ``deviation``  the value minus the median of the previous ``local_window`` readings: short excursions;
   ``level``      the mean of the last ``level_window`` readings: sustained shifts and drifts, whose single
                  readings stay inside the range.
   Two more tests watch the raw series: ``stuck`` (a run of identical readings far longer than the runs this
   series has had at that level, see :class:`RunModel`) and ``gap`` (the first reading after a silence far longer
   than the series' usual spacing: a dropout).
3. **Combination** by a weighted Bonferroni rule, ``p = min_i(p_i / w_i)``: the range test gets most of the
   false-alarm budget (it is the most reliable), the others must be ``1 / w_i`` times stronger. The stuck test is
   sequential and stops at ``stuck_alpha``, which is its evidence. The score is ``-log10(p) / score_decades``,
   clipped to [0, 1]: 0.3 means "this unusual about once in a thousand readings", 0.5 once in 100,000.
4. **One alert per incident.** Within ``realert_hours`` after a score, a reading keeps its score only when it is
   higher than every score in that period (an escalation); otherwise it scores 0. A change is reported at its
   onset, and the statistics adapt to it (the new values join the history) instead of alarming on every reading.

Nothing here looks ahead: each score uses only earlier readings, and the state after any reading can be stored
(:meth:`Detector.state`) and resumed (:meth:`Detector.from_state`) with identical results.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from shizhi.warning.detectors.base import Detector, Score, Timestamp, epoch_seconds, local_clock
from shizhi.warning.detectors.rolling import (
    RollingWindow,
    TailCalibrator,
    TwoSidedTail,
    decode_f64,
    encode_f64,
    tail_probability,
)

CHANNELS = ("raw", "daily", "weekly")
# A value beyond +-1e250 is no measurement: it is treated as missing, which keeps every sum the detector forms finite
# (differences, medians, tail sums of up to 2^31 values), so both implementations stay exact and agree.
MAX_VALUE = 1e250
HUGE_REASON = "value beyond +-1e250"
# Epoch seconds the wall clock can show (years 4 to 9892): milliseconds or garbage are refused, not guessed.
TIME_RANGE = (-6.2e10, 2.5e11)


def checked_time(t: float) -> float:
    """``t`` when it is a usable time in epoch seconds, else ValueError."""
    if not TIME_RANGE[0] <= t <= TIME_RANGE[1]:  # NaN fails too
        raise ValueError(f"timestamp {t!r} is not a time in epoch seconds (milliseconds?)")
    return t


STATISTICS = ("range", "jump", "deviation", "level")
ROUGH_RATE = 0.005  # the views' smoothness is an EWMA over about 200 readings


@dataclass(frozen=True)
class AnomalyConfig:
    """Parameters of :class:`AnomalyDetector` (one configuration per device type; the defaults are the one used for
    the whole NAB corpus)."""

    min_history: int = 150  # readings before the first score (the detector is learning)
    history: int = 8640  # readings of history for the jump, deviation and gap tests
    range_history: int = 8640  # readings of history for the range test (30 days of 5-minute readings)
    local_window: int = 30  # deviation: the median of this many previous readings is the local baseline
    level_window: int = 12  # level: the mean of this many latest readings
    tail_fraction: float = 0.1  # the outer 10% of each side is modelled as an exponential tail
    season_days: int = 7  # daily view: median of the same time of day over this many days
    season_weeks: int = 4  # weekly view: median of the same time and weekday over this many weeks
    season_min: int = 3  # a seasonal slot needs values on this many earlier days (weeks)
    season_gain: float = 0.8  # a seasonal view is used when it is this much smoother than the simpler one
    season_warmup: int = 200  # ... and has had this many readings
    season_bucket_minutes: float = 5.0  # slots of the seasonal profiles: the reading interval, at least this
    channels: str = "raw,daily,weekly"  # the views to keep (raw is always the fallback)
    weights: str = "range:0.95,jump:0.01,deviation:0.01,level:0.02"  # weighted Bonferroni; unnamed: off
    stuck_min_run: int = 6  # a run of identical readings shorter than this is never "stuck"
    stuck_alpha: float = 1e-4  # a run is stuck when runs this long have been rarer than this (0: off)
    stuck_runs: int = 1000  # finished runs remembered
    gap_weight: float = 0.01  # weight of the dropout test (0: off)
    gap_min: float = 3.0  # a silence shorter than this many expected intervals is never evidence
    realert_hours: float = 12.0  # one alert per incident: later readings must escalate within this time
    score_decades: float = 10.0  # score 1.0 = p of 1e-10
    timezone: str = "Asia/Shanghai"  # wall clock of the seasonal views for aware timestamps

    def __post_init__(self) -> None:
        self.weight_map()
        counts = ("min_history", "history", "range_history", "local_window", "level_window", "season_days")
        for name in (*counts, "season_weeks", "season_min", "season_warmup", "stuck_min_run", "stuck_runs"):
            v = getattr(self, name)
            if isinstance(v, float) and v.is_integer():
                object.__setattr__(self, name, int(v))  # 8640.0 from a JSON file is 8640
            elif isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{name} must be a whole number, not {v!r}")
            if getattr(self, name) < (0 if name == "season_warmup" else 1):
                raise ValueError(f"{name} must be at least 1")
        if self.min_history < 6:
            raise ValueError("min_history must be at least 6 (a tail fit needs the 6th value from the end)")
        if not 0 < self.tail_fraction < 0.5:
            raise ValueError("tail_fraction must be between 0 and 0.5")
        if self.realert_hours < 0 or self.gap_weight < 0 or not 0 <= self.stuck_alpha < 1:
            raise ValueError("realert_hours and gap_weight must be >= 0, stuck_alpha in [0, 1)")
        if not self.score_decades > 0 or not self.season_bucket_minutes >= 0:
            raise ValueError("score_decades must be > 0 and season_bucket_minutes >= 0")
        views = [v for v in self.channels.split(",") if v]
        if set(views) - set(CHANNELS) or "raw" not in views or len(set(views)) != len(views):
            raise ValueError(f"views must include raw, each once, and come from {', '.join(CHANNELS)}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnomalyConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown anomaly detector parameters: {', '.join(sorted(unknown))}")
        return cls(**d)

    def weight_map(self) -> dict[str, float]:
        out = {}
        for part in self.weights.split(","):
            if part.strip():
                name, w = part.split(":")
                if name.strip() not in STATISTICS:
                    raise ValueError(f"unknown statistic {name!r} (known: {', '.join(STATISTICS)})")
                out[name.strip()] = float(w)
                if not out[name.strip()] >= 0:
                    raise ValueError(f"weight of {name!r} must be >= 0")
        return out


class Channel:
    """The statistics of one view of the series: each a two-sided tail test of the latest value of a derived
    quantity against that quantity's own history."""

    def __init__(self, c: AnomalyConfig, active: tuple[str, ...]) -> None:
        self.c = c
        self.prev: float | None = None
        self.rough = 0.0  # EWMA of |change| over ~200 readings: how smooth this view is
        self.rough_n = 0
        self.tests: dict[str, TwoSidedTail] = {}
        for k in active:
            size = c.range_history if k == "range" else c.history
            self.tests[k] = TwoSidedTail(size, c.min_history, c.tail_fraction)
        self.recent: deque[float] = deque(maxlen=max(c.local_window, c.level_window))

    def update(self, v: float) -> dict[str, float]:
        """Tail probabilities of ``v`` (for the statistics that have enough history), then learn ``v``."""
        c = self.c
        observed: dict[str, float] = {"range": v}
        if self.prev is not None:
            d = v - self.prev
            observed["jump"] = d
            self.rough += (abs(d) - self.rough) * ROUGH_RATE
            self.rough_n += 1
        recent = list(self.recent)
        if len(recent) >= c.local_window:
            observed["deviation"] = v - _median(recent[-c.local_window :])
        if len(recent) >= c.level_window - 1:
            observed["level"] = math.fsum([*recent[len(recent) - c.level_window + 1 :], v]) / c.level_window
        self.recent.append(v)
        self.prev = v
        ps = {}
        for k, test in self.tests.items():
            if k in observed:
                ps[k] = test.p_value(observed[k])
                test.add(observed[k])
        return ps

    def smoothness(self) -> float:
        """Mean absolute change over the last ~200 readings (the EWMA corrected for its start at 0)."""
        if self.rough_n == 0:
            return math.inf
        return self.rough / (1.0 - (1.0 - ROUGH_RATE) ** self.rough_n)

    def state(self) -> dict[str, Any]:
        return {
            "prev": self.prev,
            "rough": self.rough,
            "rough_n": self.rough_n,
            "recent": list(self.recent),
            "tests": {k: t.state() for k, t in self.tests.items()},
        }

    def load(self, s: dict[str, Any]) -> None:
        self.prev = None if s["prev"] is None else float(s["prev"])
        self.rough = float(s["rough"])
        self.rough_n = int(s["rough_n"])
        self.recent.clear()
        self.recent.extend(float(x) for x in s["recent"])
        for k, t in s["tests"].items():
            if k in self.tests:
                self.tests[k].load(t)


class SeasonalProfile:
    """What a time slot usually looks like: for each time-of-day slot (daily) or weekday-and-time slot (weekly), the
    values of the last ``keep`` days (weeks), by day. The baseline of a reading is the median of its slot on
    earlier days only, once at least ``min_days`` earlier days (weeks) have values there."""

    def __init__(self, keep: int, weekly: bool) -> None:
        self.keep = keep
        self.weekly = weekly
        self.slots: dict[str, list[tuple[int, float]]] = {}  # slot -> [(day number, value), ...]

    def key(self, second_of_day: int, weekday: int, bucket: float) -> str:
        slot = int(second_of_day // bucket)
        return f"{weekday}:{slot}" if self.weekly else str(slot)

    def baseline_then_add(self, key: str, day: int, x: float, min_days: int) -> float | None:
        oldest = day - self.keep * (7 if self.weekly else 1)
        hist = [(d, v) for d, v in self.slots.get(key, ()) if d >= oldest]
        earlier = [v for d, v in hist if d < day]
        days = len({d for d, _ in hist if d < day})
        base = _median(earlier) if days >= min_days else None
        hist.append((day, x))
        self.slots[key] = hist
        return base


class RunModel:
    """Finished runs of identical readings, with the value they stuck at. How long runs last depends on the level:
    a sensor at its floor (0, a detection limit) or with a coarse resolution repeats itself, the same sensor in its
    busy range does not. A run is judged against the runs whose values lie in the band of +-10% (in rank) around
    its value (all runs when fewer than 20 did), with the same tail model as :class:`TailCalibrator`."""

    def __init__(self, size: int) -> None:
        self.runs: deque[tuple[float, int]] = deque(maxlen=size)

    def add(self, value: float, length: int) -> None:
        self.runs.append((value, length))

    def p_at_least(self, value: float, length: int, values: RollingWindow | None) -> float:
        """P(a run at this level lasts at least ``length`` readings)."""
        if len(self.runs) < 20:
            return 1.0
        lengths: list[float] = []
        if values is not None and len(values) >= 20:
            q = values.count_at_most(value) / len(values)
            lo, hi = values.quantile(max(0.0, q - 0.1)), values.quantile(min(1.0, q + 0.1))
            lengths = [float(n) for v, n in self.runs if lo <= v <= hi]
        if len(lengths) < 20:
            lengths = [float(n) for _, n in self.runs]
        lengths.sort()
        return tail_probability(lengths, float(length), min_scale=1.0)  # runs are counted in whole readings

    def state(self) -> dict[str, Any]:
        return {"runs": [list(r) for r in self.runs]}

    def load(self, s: dict[str, Any]) -> None:
        self.runs.clear()
        for v, n in s["runs"]:
            self.runs.append((float(v), int(n)))


class ReferenceAnomalyDetector(Detector):
    """The detector in plain Python: the specification of :class:`AnomalyDetector`, which runs the same arithmetic
    in C (``_anomaly_core``) and is tested to give identical scores and states. See the module docstring."""

    name: ClassVar[str] = "shizhi"

    def __init__(self, config: AnomalyConfig | None = None) -> None:
        c = self.config = config or AnomalyConfig()
        self.weights = c.weight_map()
        active = tuple(k for k, w in self.weights.items() if w > 0)
        self.channel_names = tuple(x for x in c.channels.split(",") if x)
        self.channels = {name: Channel(c, active) for name in self.channel_names}
        self.profiles = {
            "daily": SeasonalProfile(c.season_days, weekly=False),
            "weekly": SeasonalProfile(c.season_weeks, weekly=True),
        }
        self.n = 0
        self.prev_value: float | None = None
        self.prev_time: float | None = None
        self.intervals = RollingWindow(51)
        self.run = 1
        self.stuck_reported = False
        self.runs = RunModel(c.stuck_runs)
        # Silences are counted in whole expected intervals: their tail never has a scale below one interval.
        self.gaps = TailCalibrator(c.history, c.min_history, c.tail_fraction, min_scale=1.0)
        self.levels = RollingWindow(600)  # recent raw values: the level bands of the stuck test
        self.current = "raw"
        self.recent: deque[tuple[float, float]] = (
            deque()
        )  # (time, score) of the last realert_hours, max-queue

    # ----------------------------------------------------------------------------------------------------------
    def update(self, timestamp: Timestamp, value: float) -> Score:
        x = float(value)
        if not math.isfinite(x):
            return Score(0.0, kind="missing", reason="no value")
        if abs(x) > MAX_VALUE:
            return Score(0.0, kind="missing", reason=HUGE_REASON)
        c = self.config
        t = checked_time(epoch_seconds(timestamp))
        self.n += 1
        gap_p = self._gap(t) if self.config.gap_weight > 0 else None
        if self.prev_time is not None and t > self.prev_time:
            self.intervals.add(t - self.prev_time)

        per_channel: dict[str, dict[str, float]] = {}
        for name, ch in self.channels.items():
            if name == "raw":
                per_channel[name] = ch.update(x)
                continue
            base = self._seasonal_baseline(name, timestamp, x)
            if base is not None:
                per_channel[name] = ch.update(x - base)
        self._choose_channel(per_channel)
        ps = dict(per_channel.get(self.current, {}))

        stuck_p = self._stuck(x) if c.stuck_alpha > 0 else None
        self.levels.add(x)
        self.prev_value = x
        self.prev_time = t

        evidence = {k: p / self.weights[k] for k, p in ps.items() if self.weights.get(k, 0) > 0}
        if stuck_p is not None:
            # A sequential test that stops at stuck_alpha: its evidence is stuck_alpha, whatever p it stopped at.
            evidence["stuck"] = max(stuck_p, c.stuck_alpha)
        if gap_p is not None:
            evidence["gap"] = gap_p / c.gap_weight
        if self.n <= c.min_history or not evidence:
            return self._emit(t, 0.0, "", "")
        kind = min(evidence, key=lambda k: evidence[k])
        p = min(1.0, evidence[kind])
        score = min(1.0, max(0.0, -math.log10(max(p, 1e-300)) / c.score_decades))
        return self._emit(t, score, kind, self._reason(kind, x, p))

    def _seasonal_baseline(self, name: str, timestamp: Timestamp, x: float) -> float | None:
        if len(self.intervals) < 5:
            return None
        bucket = max(self.intervals.median(), 60.0 * self.config.season_bucket_minutes)
        if bucket > 4 * 3600:  # readings further apart than 4 hours: no time-of-day profile
            return None
        second, weekday, day = local_clock(timestamp, self.config.timezone)
        profile = self.profiles[name]
        return profile.baseline_then_add(profile.key(second, weekday, bucket), day, x, self.config.season_min)

    def _choose_channel(self, per_channel: dict[str, dict[str, float]]) -> None:
        """The view with the tightest values wins, with hysteresis: another view replaces the current one only when
        it is ``season_gain`` times tighter (and has had ``season_warmup`` readings)."""
        c = self.config

        def better(a: str, b: str) -> bool:
            return self.channels[a].smoothness() < c.season_gain * self.channels[b].smoothness()

        eligible = [
            n
            for n in self.channel_names
            if n == "raw" or (n in per_channel and self.channels[n].rough_n >= c.season_warmup)
        ]
        best = self.current if self.current in eligible else "raw"
        for name in eligible:
            if name != best and better(name, best):
                best = name
        self.current = best

    def _stuck(self, x: float) -> float | None:
        """A stuck sensor: the current run of identical readings has become rarer than ``stuck_alpha`` for runs at
        this level of the series (see :class:`RunModel`), and is at least ``stuck_min_run`` long. Reported once,
        when the run crosses that line; the rest of the run adds nothing."""
        if self.prev_value is None:
            return None
        if x == self.prev_value:
            self.run += 1
        else:
            self.runs.add(self.prev_value, self.run)
            self.run = 1
            self.stuck_reported = False
        if self.run < self.config.stuck_min_run or self.stuck_reported:
            return None
        p = self.runs.p_at_least(x, self.run, self.levels)
        if p > self.config.stuck_alpha:
            return None
        self.stuck_reported = True
        return p

    def _gap(self, t: float) -> float | None:
        """The reading after a silence: the interval since the previous reading, in expected intervals (the median
        spacing), against the intervals this series has had."""
        if self.prev_time is None or len(self.intervals) < 5:
            return None
        ratio = (t - self.prev_time) / max(self.intervals.median(), 1e-9)
        p = self.gaps.p_value(ratio) if ratio >= self.config.gap_min else None
        self.gaps.add(ratio)
        return p

    def _emit(self, t: float, score: float, kind: str, reason: str) -> Score:
        horizon = self.config.realert_hours * 3600.0
        q = self.recent
        while q and q[0][0] < t - horizon:
            q.popleft()
        recent_max = q[0][1] if q else 0.0
        while q and q[-1][1] <= score:
            q.pop()
        q.append((t, score))
        if score <= recent_max:
            return Score(0.0, kind=kind, reason=reason)
        return Score(score, kind=kind, reason=reason)

    def _reason(self, kind: str, x: float, p: float) -> str:
        return reason_text(kind, self.current, self.run, x, p)

    # ----------------------------------------------------------------------------------------------------------
    def _config_dict(self) -> dict[str, Any]:
        return asdict(self.config)

    @classmethod
    def _blank(cls, config: dict[str, Any]) -> ReferenceAnomalyDetector:
        return cls(AnomalyConfig.from_dict(config))

    def _dump(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "prev_value": self.prev_value,
            "prev_time": self.prev_time,
            "intervals": self.intervals.state(),
            "run": self.run,
            "stuck_reported": self.stuck_reported,
            "runs": self.runs.state(),
            "levels": self.levels.state(),
            "gaps": self.gaps.state(),
            "current": self.current,
            "recent": [list(x) for x in self.recent],
            "channels": {k: ch.state() for k, ch in self.channels.items()},
            "profiles": {
                k: {key: [list(e) for e in v] for key, v in p.slots.items()} for k, p in self.profiles.items()
            },
        }

    def _load(self, d: dict[str, Any]) -> None:
        self.n = int(d["n"])
        self.prev_value = None if d["prev_value"] is None else float(d["prev_value"])
        self.prev_time = None if d["prev_time"] is None else float(d["prev_time"])
        self.intervals = RollingWindow.from_state(d["intervals"])
        self.run = int(d["run"])
        self.stuck_reported = bool(d["stuck_reported"])
        self.runs.load(d["runs"])
        self.levels = RollingWindow.from_state(d["levels"])
        self.gaps.load(d["gaps"])
        self.current = str(d["current"])
        self.recent = deque((float(a), float(b)) for a, b in d["recent"])
        for k, s in d["channels"].items():
            if k in self.channels:
                self.channels[k].load(s)
        for k, slots in d["profiles"].items():
            self.profiles[k].slots = {
                key: [(int(d), float(v)) for d, v in vals] for key, vals in slots.items()
            }


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


_VIEW_WORDS = {"raw": "", "daily": " (daily profile removed)", "weekly": " (weekly profile removed)"}
_KIND_WORDS = {
    "range": "value outside the range of recent history",
    "jump": "sudden change from the previous reading",
    "deviation": "value far from the recent readings",
    "level": "the recent readings' mean outside its usual range",
    "gap": "first reading after an unusually long silence",
}


def reason_text(kind: str, view: str, run: int, x: float, p: float) -> str:
    """A score's reason in words: the test that fired, the view it fired on, the value and its tail probability."""
    words = f"the same value {run} readings in a row" if kind == "stuck" else _KIND_WORDS[kind]
    return f"{words}{_VIEW_WORDS[view]}: {x:g}, tail probability {p:.1e}"


# ------------------------------------------------------------------------------------------------ the fast path
_core: Any
try:
    from shizhi.warning.detectors import _anomaly_core as _core
except ImportError:  # pragma: no cover - `make install` builds it; without it the reference runs
    _core = None

KINDS = ("", "range", "jump", "deviation", "level", "stuck", "gap", "missing")  # the core's kind codes
STUCK = KINDS.index("stuck")
_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()


def compiled() -> bool:
    """Whether the C core is built (``make install`` builds it; without it the detector runs in plain Python)."""
    return _core is not None


class ScoreBatch:
    """The scores of a batch of readings: ``scores`` and ``kinds`` (codes into :data:`KINDS`) as arrays, one
    reading's :class:`Score` by index (its reason is worded only when asked for)."""

    def __init__(
        self,
        values: Any,
        scores: Any,
        kinds: Any,
        p: Any,
        views: Any,
        runs: Any,
    ) -> None:
        self.values, self.scores, self.kinds, self.p, self.views, self.runs = (
            values,
            scores,
            kinds,
            p,
            views,
            runs,
        )

    @classmethod
    def of(cls, values: Any, scores: list[Score]) -> ScoreBatch:
        """A batch from scores made one by one (the plain-Python path)."""
        import numpy as np

        batch = cls(
            values, np.array([s.anomaly_score for s in scores], dtype=np.float64), None, None, None, None
        )
        batch.kinds = np.array([KINDS.index(s.kind) for s in scores], dtype=np.int8)
        batch._made = scores  # type: ignore[attr-defined]
        return batch

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, i: int) -> Score:
        made = getattr(self, "_made", None)
        if made is not None:
            return made[i]  # type: ignore[no-any-return]
        kind = KINDS[int(self.kinds[i])]
        if kind == "missing":
            return Score(0.0, kind="missing", reason=HUGE_REASON if self.runs[i] == -1 else "no value")
        score = float(self.scores[i])
        if not kind:
            return Score(score)
        x = float(self.values[i])
        reason = reason_text(kind, CHANNELS[int(self.views[i])], int(self.runs[i]), x, float(self.p[i]))
        return Score(score, kind=kind, reason=reason)

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))


class AnomalyDetector(Detector):
    """The anomaly detector (see the module docstring). Its per-reading loop runs in C, as the same arithmetic as
    :class:`ReferenceAnomalyDetector` (identical scores and states, tested), about 30 times faster; score a
    series' new readings together with :meth:`update_many`."""

    name: ClassVar[str] = "shizhi"

    def __init__(self, config: AnomalyConfig | None = None) -> None:
        c = self.config = config or AnomalyConfig()
        self.weights = c.weight_map()
        self.active = tuple(k for k, w in self.weights.items() if w > 0)
        self.channel_names = tuple(x for x in c.channels.split(",") if x)
        self._ref: ReferenceAnomalyDetector | None = None
        self._core: Any = None
        if _core is None:
            self._ref = ReferenceAnomalyDetector(c)
            return
        self._core = _core.new(
            int(c.min_history),
            int(c.history),
            int(c.range_history),
            int(c.local_window),
            int(c.level_window),
            float(c.tail_fraction),
            int(c.season_days),
            int(c.season_weeks),
            int(c.season_min),
            float(c.season_gain),
            int(c.season_warmup),
            float(c.season_bucket_minutes),
            int(c.stuck_min_run),
            int(c.stuck_runs),
            float(c.stuck_alpha),
            float(c.gap_weight),
            float(c.gap_min),
            float(c.realert_hours),
            float(c.score_decades),
            [CHANNELS.index(n) for n in self.channel_names],
            [STATISTICS.index(k) for k in self.active],
            [float(self.weights[k]) for k in self.active],
        )

    @property
    def n(self) -> int:
        """Readings seen (with a value)."""
        return self._ref.n if self._ref is not None else int(_core.info(self._core)[0])

    @property
    def current(self) -> str:
        """The view in use: raw, daily or weekly."""
        return self._ref.current if self._ref is not None else CHANNELS[_core.info(self._core)[1]]

    def update(self, timestamp: Timestamp, value: float) -> Score:
        if self._ref is not None:
            return self._ref.update(timestamp, value)
        return self.update_many([timestamp], [value])[0]

    def update_many(self, timestamps: Any, values: Any) -> ScoreBatch:
        """Score readings in order (timestamps as epoch seconds or datetimes), exactly as ``update`` one by one."""
        import numpy as np

        x = np.array(values, dtype=np.float64)  # a copy: huge values become NaN below
        if self._ref is not None:
            return ScoreBatch.of(
                x, [self._ref.update(t, v) for t, v in zip(timestamps, x.tolist(), strict=True)]
            )
        usable = np.isfinite(x)
        huge = usable & (np.abs(x) > MAX_VALUE)
        x[huge] = np.nan
        usable &= ~huge
        t, clock = self._clock(timestamps, usable)
        if len(t) != len(x):
            raise ValueError("as many timestamps as values expected")
        n = len(x)
        scores = np.empty(n, dtype=np.float64)
        kinds = np.empty(n, dtype=np.int8)
        p = np.empty(n, dtype=np.float64)
        views = np.empty(n, dtype=np.int8)
        runs = np.empty(n, dtype=np.int64)
        _core.run(self._core, t, x, clock, scores, kinds, p, views, runs)
        runs[huge] = -1  # the reason of a missing reading: beyond MAX_VALUE rather than no value
        return ScoreBatch(x, scores, kinds, p, views, runs)

    def _clock(self, timestamps: Any, usable: Any) -> tuple[Any, Any]:
        """Epoch seconds and (second of the day, weekday, day number) of the local wall clock per reading, as
        :func:`epoch_seconds` and :func:`local_clock` give them; vectorised for whole epoch seconds. The times of
        readings with a usable value are checked (:func:`checked_time`) before anything is scored."""
        import numpy as np

        tz = self.config.timezone
        numeric = isinstance(timestamps, np.ndarray) and timestamps.dtype.kind in "iuf"
        if not numeric:
            items = list(timestamps)
            numeric = all(isinstance(ts, int | float) and not isinstance(ts, bool) for ts in items)
            if not numeric:
                t = np.array([epoch_seconds(ts) for ts in items], dtype=np.float64)
                clock = np.zeros((len(items), 3), dtype=np.int64)
                if len(t) == len(usable):
                    for i in np.flatnonzero(usable):
                        checked_time(float(t[i]))
                        clock[i] = local_clock(items[i], tz)
                return t, clock
            timestamps = items
        t = np.array(timestamps, dtype=np.float64)
        clock = np.zeros((len(t), 3), dtype=np.int64)
        if len(t) != len(usable):
            return t, clock
        tu = t[usable]
        bad = ~((tu >= TIME_RANGE[0]) & (tu <= TIME_RANGE[1]))
        if bad.any():
            checked_time(float(tu[bad][0]))
        if not (np.floor(tu) == tu).all():
            for i in np.flatnonzero(usable):
                clock[i] = local_clock(float(t[i]), tz)
            return t, clock
        whole = tu.astype(np.int64)
        local = whole + _utc_offsets(whole, tz)
        day = local // 86400
        clock[usable, 0] = local - day * 86400
        clock[usable, 2] = day + _EPOCH_ORDINAL
        clock[usable, 1] = (day + _EPOCH_ORDINAL + 6) % 7
        return t, clock

    # ----------------------------------------------------------------------------------------------------------
    def _config_dict(self) -> dict[str, Any]:
        return asdict(self.config)

    @classmethod
    def _blank(cls, config: dict[str, Any]) -> AnomalyDetector:
        return cls(AnomalyConfig.from_dict(config))

    def _dump(self) -> dict[str, Any]:
        if self._ref is not None:
            return self._ref._dump()
        (n, pv, pt, intervals, run, stuck, runs, levels, gaps, current, recent, chans, profs) = _core.dump(
            self._core
        )
        return {
            "n": n,
            "prev_value": pv,
            "prev_time": pt,
            "intervals": _window_state(intervals),
            "run": run,
            "stuck_reported": bool(stuck),
            "runs": {"runs": [list(r) for r in runs]},
            "levels": _window_state(levels),
            "gaps": {"history": _window_state(gaps[0]), "added": gaps[1], "fit": _fit(gaps[2])},
            "current": CHANNELS[current],
            "recent": [list(r) for r in recent],
            "channels": {
                name: {
                    "prev": ch[0],
                    "rough": ch[1],
                    "rough_n": ch[2],
                    "recent": ch[3],
                    "tests": {
                        k: {"window": _window_state(t[0]), "added": t[1], "fit": _fit(t[2])}
                        for k, t in zip(self.active, ch[4], strict=True)
                    },
                }
                for name, ch in zip(self.channel_names, chans, strict=True)
            },
            "profiles": {
                "daily": {str(slot): [list(e) for e in vals] for slot, _, vals in profs[0]},
                "weekly": {f"{wd}:{slot}": [list(e) for e in vals] for slot, wd, vals in profs[1]},
            },
        }

    def _load(self, d: dict[str, Any]) -> None:
        if self._ref is not None:
            self._ref._load(d)
            return
        c = self.config
        chans = []
        for name in self.channel_names:
            s = d["channels"].get(name) or {
                "prev": None,
                "rough": 0.0,
                "rough_n": 0,
                "recent": [],
                "tests": {},
            }
            tests = []
            for k in self.active:
                size = c.range_history if k == "range" else c.history
                t = s["tests"].get(k) or {
                    "window": {"size": size, "f64": "", "sum": 0.0},
                    "added": 0,
                    "fit": None,
                }
                tests.append((_window_tuple(t["window"]), int(t["added"]), _fit(t["fit"])))
            prev = None if s["prev"] is None else float(s["prev"])
            recent = [float(v) for v in s["recent"]]
            chans.append((prev, float(s["rough"]), int(s["rough_n"]), recent, tests))
        profiles: dict[str, Any] = d["profiles"]
        daily = [(int(k), -1, _slot_values(v)) for k, v in profiles.get("daily", {}).items()]
        weekly = []
        for k, v in profiles.get("weekly", {}).items():
            wd, slot = k.split(":")
            weekly.append((int(slot), int(wd), _slot_values(v)))
        gaps = d["gaps"]
        _core.load(
            self._core,
            (
                int(d["n"]),
                None if d["prev_value"] is None else float(d["prev_value"]),
                None if d["prev_time"] is None else float(d["prev_time"]),
                _window_tuple(d["intervals"]),
                int(d["run"]),
                int(bool(d["stuck_reported"])),
                [(float(v), int(n)) for v, n in d["runs"]["runs"]],
                _window_tuple(d["levels"]),
                (_window_tuple(gaps["history"]), int(gaps["added"]), _fit(gaps["fit"])),
                CHANNELS.index(str(d["current"])),
                [(float(a), float(b)) for a, b in d["recent"]],
                chans,
                (daily, weekly),
            ),
        )


_BLOCK = 900  # the wall clock's offset is looked up per quarter hour
_SPLIT = -(1 << 62)  # a quarter hour with a change of offset inside: reading by reading
_OFFSETS: dict[tuple[str, int], int] = {}  # (zone, quarter hour) -> offset, shared by every series


def _utc_offsets(whole: Any, tz: str) -> Any:
    """The UTC offset of ``tz`` at each epoch second: looked up at both ends of each quarter hour (cached for every
    series in this process), reading by reading inside a quarter hour whose ends differ. Exact unless a zone
    changes its offset and back within 15 minutes, which none does."""
    import numpy as np

    if not len(whole):
        return np.zeros(0, dtype=np.int64)
    if len(_OFFSETS) > 200_000:
        _OFFSETS.clear()
    blocks, inverse = np.unique(whole // _BLOCK, return_inverse=True)
    per_block = np.empty(len(blocks), dtype=np.int64)
    for i, b in enumerate(blocks.tolist()):
        off = _OFFSETS.get((tz, b))
        if off is None:
            first, last = _utc_offset(b * _BLOCK, tz), _utc_offset(b * _BLOCK + _BLOCK - 1, tz)
            off = _OFFSETS[(tz, b)] = first if first == last else _SPLIT
        per_block[i] = off
    out = per_block[inverse]
    for j in np.flatnonzero(out == _SPLIT).tolist():
        out[j] = _utc_offset(int(whole[j]), tz)
    return out


def _utc_offset(epoch: int, tz: str) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    offset = datetime.fromtimestamp(epoch, tz=ZoneInfo(tz)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _fit(fit: Any) -> Any:
    return None if not fit else [float(v) for v in fit]


def _slot_values(values: list[Any]) -> list[tuple[int, float]]:
    return [(int(d), float(v)) for d, v in values]


def _window_state(w: tuple[int, bytes, float]) -> dict[str, Any]:
    size, raw, total = w
    return {"size": size, "f64": encode_f64(raw), "sum": total}


def _window_tuple(state: dict[str, Any]) -> tuple[int, bytes, float]:
    raw = decode_f64(state["f64"])
    size = state["size"]
    if (
        isinstance(size, bool)
        or not isinstance(size, int)
        or size < 1
        or len(raw) % 8
        or len(raw) // 8 > size
    ):
        raise ValueError(f"a window of {len(raw)} bytes does not fit a size of {size!r}")
    return size, raw, float(state["sum"])
