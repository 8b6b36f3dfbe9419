"""The NAB scorer, our own implementation of the semantics of NAB v1.1 (numenta/NAB ``nab/sweeper.py``).

Per file (``n`` rows, anomaly windows of consecutive rows):

* The first ``min(floor(0.15 n), 0.15 * 5000)`` rows are the probation period: nothing there is scored.
* A detection is a row whose anomaly score is ``>= threshold``.
* Each window earns, for its *earliest* detection at row ``i``, ``tpWeight * S(-(right - i + 1) / width) / S(-1)``
  (``tpWeight`` at the left edge, falling towards 0 at the right edge); a window without detection costs
  ``-fnWeight``; further detections inside a window change nothing.
* Each detection outside the windows costs ``fpWeight * S(|right_prev - i| / (width_prev - 1))`` with the previous
  window's right edge and width (small just after a window, -fpWeight far from it), or ``-fpWeight`` before the
  first window.
* ``S(x) = 2 / (1 + e^(5x)) - 1`` (the scaled sigmoid), and ``-1`` for ``x > 3``.

Over the corpus, one threshold per profile is chosen by sweeping every distinct anomaly score (plus 1.1: no
detection) and keeping the best total; ties go to the highest threshold. The total is normalised so that the
null detector (no detection: ``-fnWeight`` per window) scores 0 and the perfect detector (every window at its left
edge: ``tpWeight`` per window) scores 100.

Windows are matched to rows by time (rows with ``start <= t <= end``), so a window edge that falls between two
readings still covers the readings inside it. A window of a single row has no width to scale by: rows after it are
then counted in rows (denominator 1), where NAB would divide by zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

PROBATION_PERCENT = 0.15
NO_DETECTION = 1.1  # the sweep's first threshold: above every score in [0, 1]


@dataclass(frozen=True)
class CostProfile:
    """An application profile (NAB's cost matrix): how much a true positive earns and a miss or false alarm costs."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


STANDARD_PROFILES: dict[str, CostProfile] = {
    "standard": CostProfile("standard", 1.0, 0.11, 1.0),
    "reward_low_FP_rate": CostProfile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    "reward_low_FN_rate": CostProfile("reward_low_FN_rate", 1.0, 0.11, 2.0),
}


def scaled_sigmoid(x: float) -> float:
    """NAB's weighting curve: 0.98661 at x = -1 (a window's left edge), 0 at x = 0, -0.98661 at x = 1, -1 past 3."""
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


def probation_length(n: int, percent: float = PROBATION_PERCENT) -> float:
    """Rows with index below this are not scored."""
    return min(math.floor(percent * n), percent * 5000)


@dataclass
class FileTable:
    """What scoring one file needs that does not depend on the detector: for every row its window (-1 outside),
    the unweighted credit of a first detection there (inside a window) or cost of a detection (outside)."""

    relpath: str
    n: int
    first_scored: int  # index of the first row after the probation period
    window: np.ndarray  # int: window number (0..) or -1
    tp_value: np.ndarray  # S(position) / S(-1) inside windows, 0 elsewhere
    fp_value: np.ndarray  # S(distance past the previous window), or -1 before the first window; 0 inside
    windows: int  # windows with at least one scored row
    label: (
        np.ndarray
    )  # 1 inside any window (also one in the probation period), 0 elsewhere: NAB's label column

    @property
    def scored(self) -> slice:
        return slice(self.first_scored, self.n)


def window_rows(
    times: Sequence[datetime], windows: Sequence[tuple[datetime, datetime]]
) -> list[tuple[int, int]]:
    """(first row, last row) of each window that holds at least one reading."""
    stamps = np.array(times, dtype="datetime64[us]")
    out = []
    for start, end in windows:
        inside = np.nonzero((stamps >= np.datetime64(start, "us")) & (stamps <= np.datetime64(end, "us")))[0]
        if len(inside):
            out.append((int(inside[0]), int(inside[-1])))
    return out


def build_table(
    relpath: str,
    times: Sequence[datetime],
    windows: Sequence[tuple[datetime, datetime]],
    probation_percent: float = PROBATION_PERCENT,
) -> FileTable:
    n = len(times)
    first = math.ceil(probation_length(n, probation_percent))
    window = np.full(n, -1, dtype=np.int64)
    label = np.zeros(n, dtype=np.int8)
    tp_value = np.zeros(n)
    fp_value = np.full(n, -1.0)
    ranges = window_rows(times, windows)
    counted = 0
    for left, right in ranges:
        width = right - left + 1
        if right >= first:  # a window entirely in the probation period is not scored (but still ends there)
            window[left : right + 1] = counted
            counted += 1
        tp_value[left : right + 1] = [
            scaled_sigmoid(-(right - i + 1) / width) / MAX_TP for i in range(left, right + 1)
        ]
        fp_value[left : right + 1] = 0.0
        label[left : right + 1] = 1
        stop = n
        # Rows after this window, up to the next one, are scored by their distance past it.
        for next_left, _ in ranges:
            if next_left > right:
                stop = next_left
                break
        denom = float(max(width - 1, 1))
        fp_value[right + 1 : stop] = [scaled_sigmoid((i - right) / denom) for i in range(right + 1, stop)]
    return FileTable(
        relpath=relpath,
        n=n,
        first_scored=min(first, n),
        window=window,
        tp_value=tp_value,
        fp_value=fp_value,
        windows=counted,
        label=label,
    )


@dataclass(frozen=True)
class FileScore:
    relpath: str
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int
    total: int


def score_file(table: FileTable, scores: np.ndarray, threshold: float, profile: CostProfile) -> FileScore:
    """The file's raw NAB score and row counts (over the scored rows) at one threshold."""
    scores = np.asarray(scores, dtype=float)
    if len(scores) != table.n:
        raise ValueError(f"{table.relpath}: {len(scores)} scores for {table.n} rows")
    s = table.scored
    detected = scores[s] >= threshold
    in_window = table.window[s] >= 0
    fp_rows = detected & ~in_window
    total = profile.fp_weight * float(table.fp_value[s][fp_rows].sum())
    win = table.window[s]
    tpv = table.tp_value[s]
    for k in range(table.windows):
        hits = detected & (win == k)
        total += profile.tp_weight * float(tpv[hits].max()) if hits.any() else -profile.fn_weight
    tp = int((detected & in_window).sum())
    fp = int(fp_rows.sum())
    fn = int((~detected & in_window).sum())
    tn = int((~detected & ~in_window).sum())
    return FileScore(table.relpath, threshold, total, tp, tn, fp, fn, table.n)


@dataclass(frozen=True)
class Sweep:
    """The corpus's raw score at every candidate threshold (descending)."""

    thresholds: np.ndarray
    totals: np.ndarray

    def best(self) -> tuple[float, float]:
        """(threshold, raw score) of the best total; among equal totals the highest threshold."""
        i = int(np.argmax(self.totals))
        return float(self.thresholds[i]), float(self.totals[i])


def sweep(tables: Sequence[FileTable], scores: Sequence[np.ndarray], profile: CostProfile) -> Sweep:
    """Score the whole corpus at every distinct anomaly score as threshold, in one pass over the sorted rows."""
    parts_score, parts_value, parts_window = [], [], []
    window_offset = 0
    for table, sc in zip(tables, scores, strict=True):
        s = table.scored
        sc = np.asarray(sc, dtype=float)
        if len(sc) != table.n:
            raise ValueError(f"{table.relpath}: {len(sc)} scores for {table.n} rows")
        win = table.window[s]
        parts_score.append(sc[s])
        parts_value.append(np.where(win >= 0, table.tp_value[s], table.fp_value[s]))
        parts_window.append(np.where(win >= 0, win + window_offset, -1))
        window_offset += table.windows
    all_scores = np.concatenate(parts_score) if parts_score else np.zeros(0)
    values = np.concatenate(parts_value) if parts_value else np.zeros(0)
    windows = np.concatenate(parts_window) if parts_window else np.zeros(0, dtype=np.int64)
    order = np.argsort(-all_scores, kind="stable")
    all_scores, values, windows = all_scores[order], values[order], windows[order]

    # Change of the total when each row (in descending score order) becomes a detection.
    delta = np.where(windows < 0, profile.fp_weight * values, 0.0)
    best = np.full(window_offset, -profile.fn_weight)
    for j in np.nonzero(windows >= 0)[0]:
        k = windows[j]
        credit = profile.tp_weight * values[j]
        if credit > best[k]:
            delta[j] = credit - best[k]
            best[k] = credit
    running = -profile.fn_weight * window_offset + np.cumsum(delta)
    # A threshold t detects every row with score >= t: take the total after the last row of each distinct score.
    last_of_group = np.nonzero(np.diff(all_scores, append=-np.inf) != 0)[0]
    thresholds = np.concatenate([[NO_DETECTION], all_scores[last_of_group]])
    totals = np.concatenate([[-profile.fn_weight * window_offset], running[last_of_group]])
    return Sweep(thresholds=thresholds, totals=totals)


def normalise(raw: float, windows: int, profile: CostProfile) -> float:
    """100 * (raw - null) / (perfect - null): the null detector scores 0, the perfect one 100."""
    null = -profile.fn_weight * windows
    perfect = profile.tp_weight * windows
    if perfect == null:
        return 0.0
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True)
class ProfileResult:
    profile: str
    threshold: float
    raw: float
    normalised: float
    files: tuple[FileScore, ...]

    def totals(self) -> dict[str, float]:
        return {
            "score": sum(f.score for f in self.files),
            "tp": sum(f.tp for f in self.files),
            "tn": sum(f.tn for f in self.files),
            "fp": sum(f.fp for f in self.files),
            "fn": sum(f.fn for f in self.files),
            "total": sum(f.total for f in self.files),
        }


def evaluate(
    tables: Sequence[FileTable],
    scores: Sequence[np.ndarray],
    profile: CostProfile,
    threshold: float | None = None,
) -> ProfileResult:
    """Score the corpus for one profile: at ``threshold``, or at the best threshold found by :func:`sweep`."""
    if threshold is None:
        threshold, _ = sweep(tables, scores, profile).best()
    files = tuple(score_file(t, s, threshold, profile) for t, s in zip(tables, scores, strict=True))
    raw = sum(f.score for f in files)
    windows = sum(t.windows for t in tables)
    return ProfileResult(profile.name, threshold, raw, normalise(raw, windows, profile), files)
