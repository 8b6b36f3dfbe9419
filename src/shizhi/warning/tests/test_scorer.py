"""Our NAB scorer on tiny handmade cases with scores computed by hand.

NAB's weighting curve is S(x) = 2 / (1 + e^(5x)) - 1 = -tanh(5x / 2); a window's first detection at row i earns
tpWeight * S(-(right - i + 1) / width) / S(-1), a detection after a window costs fpWeight * S((i - right) /
(width - 1)), one before any window -fpWeight, a missed window -fnWeight.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from shizhi.warning.nab.scorer import (
    STANDARD_PROFILES,
    build_table,
    evaluate,
    normalise,
    probation_length,
    scaled_sigmoid,
    score_file,
    sweep,
)

STANDARD = STANDARD_PROFILES["standard"]
LOW_FP = STANDARD_PROFILES["reward_low_FP_rate"]
LOW_FN = STANDARD_PROFILES["reward_low_FN_rate"]
T0 = datetime(2015, 1, 1)
S_MAX = math.tanh(2.5)  # S(-1) = 0.98661...


def stamps(n: int) -> list[datetime]:
    return [T0 + timedelta(minutes=5 * i) for i in range(n)]


def table(n: int = 100, windows: tuple[tuple[int, int], ...] = ((40, 49),), probation: float = 0.0):
    ts = stamps(n)
    return build_table("cat/file.csv", ts, [(ts[a], ts[b]) for a, b in windows], probation)


def detections(n: int, rows: list[int], value: float = 1.0) -> np.ndarray:
    s = np.zeros(n)
    s[rows] = value
    return s


def test_the_weighting_curve() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661429815)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661429815)
    assert scaled_sigmoid(3.0) == pytest.approx(-math.tanh(7.5))
    assert scaled_sigmoid(3.01) == -1.0
    assert probation_length(4032) == 604  # floor(0.15 * 4032)
    assert probation_length(22695) == 750  # at most 0.15 * 5000


def test_a_detection_at_the_left_edge_earns_the_full_weight() -> None:
    t = table()
    r = score_file(t, detections(100, [40]), 0.5, STANDARD)
    assert r.score == pytest.approx(1.0)
    assert (r.tp, r.fp, r.fn, r.tn) == (1, 0, 9, 90)


def test_a_detection_at_the_right_edge_earns_little() -> None:
    # position -(49 - 49 + 1) / 10 = -0.1: S(-0.1) / S(-1) = tanh(0.25) / tanh(2.5)
    r = score_file(table(), detections(100, [49]), 0.5, STANDARD)
    assert r.score == pytest.approx(math.tanh(0.25) / S_MAX)
    assert r.score == pytest.approx(0.248242, abs=1e-6)


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    # rows 44 and 47: the earlier one, position -(49 - 44 + 1) / 10 = -0.6
    r = score_file(table(), detections(100, [44, 47]), 0.5, STANDARD)
    assert r.score == pytest.approx(math.tanh(1.5) / S_MAX)
    assert r.tp == 2


def test_a_false_positive_before_the_window_costs_the_full_fp_weight() -> None:
    r = score_file(table(), detections(100, [10]), 0.5, STANDARD)
    assert r.score == pytest.approx(-0.11 - 1.0)  # the FP and the missed window
    assert score_file(table(), detections(100, [10]), 0.5, LOW_FP).score == pytest.approx(-0.22 - 1.0)
    assert score_file(table(), detections(100, [10]), 0.5, LOW_FN).score == pytest.approx(-0.11 - 2.0)


def test_a_false_positive_after_the_window_costs_by_its_distance() -> None:
    # row 55: (55 - 49) / (10 - 1) = 2/3 past the window: 0.11 * S(2/3) = -0.11 * tanh(5/3)
    r = score_file(table(), detections(100, [40, 55]), 0.5, STANDARD)
    assert r.score == pytest.approx(1.0 - 0.11 * math.tanh(5 / 3))
    # right after the window it is nearly free; far away (more than 3 widths) it costs the full weight
    assert score_file(table(), detections(100, [40, 50]), 0.5, STANDARD).score == pytest.approx(
        1.0 - 0.11 * math.tanh(5 / 18)
    )
    assert score_file(table(), detections(100, [40, 90]), 0.5, STANDARD).score == pytest.approx(1.0 - 0.11)


def test_the_probation_period_is_not_scored() -> None:
    t = table(probation=0.15)  # floor(0.15 * 100) = 15 rows
    assert t.first_scored == 15
    r = score_file(t, detections(100, [3, 14]), 0.5, STANDARD)
    assert r.score == -1.0  # the detections are ignored; the window is missed
    assert (r.tp, r.fp, r.fn, r.tn) == (0, 0, 10, 75)
    # a window inside the probation period is not scored at all
    early = table(windows=((5, 12),), probation=0.15)
    assert early.windows == 0
    assert score_file(early, np.zeros(100), 0.5, STANDARD).score == 0.0


def test_windows_are_matched_by_time_and_a_threshold_detects_scores_at_or_above_it() -> None:
    ts = stamps(100)
    # window edges between readings: rows 40..49 are inside
    t = build_table("c/f.csv", ts, [(ts[39] + timedelta(minutes=1), ts[49] + timedelta(minutes=2))], 0.0)
    assert t.windows == 1 and list(np.nonzero(t.window >= 0)[0]) == list(range(40, 50))
    assert t.label.sum() == 10
    assert score_file(t, detections(100, [40], 0.7), 0.7, STANDARD).score == pytest.approx(1.0)
    assert score_file(t, detections(100, [40], 0.7), 0.7000001, STANDARD).score == -1.0


def test_the_best_threshold_over_the_corpus_and_normalisation() -> None:
    a, b = table(), table(windows=((20, 29), (70, 79)))
    sa = np.zeros(100)
    sa[[10, 40, 70]] = [0.95, 0.9, 0.5]  # an FP before the window, the left edge, an FP far after it
    sb = np.zeros(100)
    sb[[29, 75]] = [0.9, 0.6]  # window 1 at its right edge, window 2 at -(79 - 75 + 1) / 10 = -0.5
    sw = sweep([a, b], [sa, sb], STANDARD)
    # thresholds 1.1 (nothing), 0.95, 0.9, 0.6, 0.5, 0.0 (everything)
    assert list(sw.thresholds) == [1.1, 0.95, 0.9, 0.6, 0.5, 0.0]
    right = math.tanh(0.25) / S_MAX
    middle = math.tanh(1.25) / S_MAX
    expected_09 = -0.11 + 1.0 + right - 1.0  # a: FP + left edge; b: right edge, second window missed
    assert sw.totals[0] == pytest.approx(-3.0)
    assert sw.totals[1] == pytest.approx(-3.11)
    assert sw.totals[2] == pytest.approx(expected_09)
    assert sw.totals[3] == pytest.approx(expected_09 + 1.0 + middle)
    # row 70 is (70 - 49) / 9 = 7/3 widths after a's window: 0.11 * S(7/3) = -0.11 * tanh(35/6)
    assert sw.totals[4] == pytest.approx(expected_09 + 1.0 + middle - 0.11 * math.tanh(35 / 6))
    threshold, best = sw.best()
    assert threshold == 0.6 and best == pytest.approx(sw.totals[3])

    result = evaluate([a, b], [sa, sb], STANDARD)
    assert result.threshold == 0.6
    assert result.raw == pytest.approx(best)
    assert result.normalised == pytest.approx(100 * (best + 3) / 6)
    assert [f.score for f in result.files] == pytest.approx([1.0 - 0.11, right + middle])


def test_null_and_perfect_detectors_score_0_and_100() -> None:
    tables = [table(), table(windows=((20, 29), (70, 79)))]
    null = evaluate(tables, [np.full(100, 0.5), np.full(100, 0.5)], STANDARD)
    assert null.threshold == 1.1 and null.normalised == 0.0  # detecting everything costs more than nothing
    perfect = [detections(100, [40]), detections(100, [20, 70])]
    for profile in STANDARD_PROFILES.values():
        assert evaluate(tables, perfect, profile).normalised == pytest.approx(100.0)
    assert normalise(-3.0, 3, STANDARD) == 0.0 and normalise(-6.0, 3, LOW_FN) == 0.0
    assert normalise(0.0, 0, STANDARD) == 0.0


def test_ties_go_to_the_highest_threshold() -> None:
    t = table()
    s = np.zeros(100)
    s[40] = 0.8  # the left edge; nothing else happens between 0.8 and 0.3
    s[60] = 0.3  # an FP far after the window
    threshold, best = sweep([t], [s], STANDARD).best()
    assert threshold == 0.8 and best == pytest.approx(1.0)


def test_scores_must_match_the_rows() -> None:
    with pytest.raises(ValueError, match="scores for"):
        score_file(table(), np.zeros(99), 0.5, STANDARD)
