"""The streaming detectors on crafted series with exact expectations. Pure Python: no database."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from shizhi.warning.detectors import (
    AnomalyConfig,
    AnomalyDetector,
    OfflineDetector,
    Score,
    StateError,
    ThresholdConfig,
    ThresholdRule,
    WarningLevel,
    anomaly_config,
    check_offline,
    detector_from_state,
    expected_interval,
    make_detector,
)
from shizhi.warning.detectors.anomaly import SeasonalProfile
from shizhi.warning.detectors.rolling import RollingWindow, TailCalibrator, TwoSidedTail

T0 = datetime(2024, 3, 4)
DAY = 288  # five-minute readings per day


def noise(n: int, seed: int = 7, sd: float = 1.0, base: float = 10.0) -> list[float]:
    r = random.Random(seed)
    return [base + r.gauss(0, sd) for _ in range(n)]


def every(minutes: float, n: int, start: datetime = T0) -> list[datetime]:
    return [start + timedelta(minutes=minutes * i) for i in range(n)]


def run(values: list[float], config: AnomalyConfig | None = None, times: list[datetime] | None = None):
    d = AnomalyDetector(config)
    times = times or every(5, len(values))
    return [d.update(t, x) for t, x in zip(times, values, strict=True)], d


# ----------------------------------------------------------------------------------------------------------------
# The anomaly detector
# ----------------------------------------------------------------------------------------------------------------


def test_a_spike_scores_high_at_its_reading_and_low_everywhere_else() -> None:
    xs = noise(2000)
    xs[1500] += 8  # eight standard deviations
    out, _ = run(xs)
    assert out[1500].anomaly_score > 0.7
    assert out[1500].kind == "range"
    assert "outside the range" in out[1500].reason
    assert max(o.anomaly_score for i, o in enumerate(out) if i != 1500) < 0.27
    assert all(
        o.anomaly_score == 0 for o in out[:150]
    )  # learning: no score for the first min_history readings


def test_a_level_shift_is_reported_at_its_onset_and_once() -> None:
    xs = [x + (6 if i >= 1500 else 0) for i, x in enumerate(noise(2000))]
    out, _ = run(xs)
    assert max(o.anomaly_score for o in out[:1500]) < 0.27
    assert out[1500].anomaly_score > 0.5  # the first reading at the new level
    # One alert per incident: within 12 hours only an escalation scores again, then the new level is normal.
    escalations = [i for i in range(1501, 1644) if out[i].anomaly_score > 0]
    assert all(out[i].anomaly_score > out[1500].anomaly_score for i in escalations)
    assert max(o.anomaly_score for o in out[1644:]) < 0.3


def test_a_stuck_sensor_is_flagged_after_eight_equal_readings_once() -> None:
    xs = noise(2000)
    xs = [xs[1500] if 1500 <= i < 1540 else x for i, x in enumerate(xs)]
    out, _ = run(xs)
    stuck = [i for i, o in enumerate(out) if o.kind == "stuck"]
    # The series never repeats a value: runs have length 1, and P(run >= 8) = 0.1 * e^-7 < stuck_alpha = 1e-4.
    assert stuck == [1507]
    assert out[1507].anomaly_score == pytest.approx(0.4)  # the evidence is stuck_alpha: -log10(1e-4) / 10
    assert "8 readings in a row" in out[1507].reason


def test_a_series_that_often_repeats_at_its_floor_is_not_stuck_there() -> None:
    # Zero for 20 readings out of every 50 (a sensor at its floor), noise otherwise: a 25-reading zero run is
    # ordinary here, the same run at the busy level is not.
    r = random.Random(11)
    xs = [0.0 if i % 50 < 20 else 10 + r.gauss(0, 1) for i in range(3000)]
    floor_run = xs[:2500] + [0.0] * 25 + xs[2525:]
    out, _ = run(floor_run)
    assert not [i for i, o in enumerate(out) if o.kind == "stuck"]
    busy_run = xs[:2530] + [xs[2530]] * 25 + xs[2555:]
    out, _ = run(busy_run)
    assert [i for i, o in enumerate(out) if o.kind == "stuck"] == [2537]


def test_a_dropout_is_reported_at_the_first_reading_after_the_silence() -> None:
    xs = noise(2000)
    times = every(5, 1500) + every(5, 500, T0 + timedelta(minutes=5 * 1500 + 120))  # two hours without data
    out, _ = run(xs, times=times)
    assert out[1500].kind == "gap"
    assert out[1500].anomaly_score > 0.9
    assert max(o.anomaly_score for i, o in enumerate(out) if i != 1500) < 0.27


def test_missing_values_score_zero_and_leave_the_state_untouched() -> None:
    xs = noise(400)
    _, d = run(xs)
    before = json.dumps(d.state())
    assert d.update(T0 + timedelta(days=3), math.nan) == Score(0.0, kind="missing", reason="no value")
    assert json.dumps(d.state()) == before


def daily_pattern(days: int, seed: int = 5) -> list[float]:
    """35 from 07:00 to 19:00, 5 at night, noise 0.3: sharp daily transitions like a traffic counter's."""
    r = random.Random(seed)
    out = []
    for i in range(days * DAY):
        minute = (i % DAY) * 5
        out.append((35.0 if 7 * 60 <= minute < 19 * 60 else 5.0) + r.gauss(0, 0.3))
    return out


def test_a_seasonal_anomaly_is_seen_only_in_the_daily_view() -> None:
    xs = daily_pattern(21)
    start, end = 16 * DAY + 19 * 12, 16 * DAY + 23 * 12  # day 16 stays at its daytime level until 23:00
    r = random.Random(1)
    xs = [35 + r.gauss(0, 0.3) if start <= i < end else x for i, x in enumerate(xs)]

    out, d = run(xs[:start])
    assert d.current == "daily"  # the daily transitions make the raw view rough; the daily view is smooth
    out, d = run(xs)
    assert out[start].anomaly_score == 1.0
    assert out[start].kind == "range" and "daily profile removed" in out[start].reason
    assert max(o.anomaly_score for o in out[2 * DAY : start]) < 0.35

    raw_only, _ = run(xs, AnomalyConfig(channels="raw"))
    assert max(o.anomaly_score for o in raw_only[start:end]) == 0.0  # within the raw range, no unusual step


def test_state_round_trip_resumes_with_identical_scores() -> None:
    xs = daily_pattern(12)
    xs[9 * DAY + 100] += 40  # a spike
    xs[10 * DAY : 10 * DAY + 30] = [xs[10 * DAY]] * 30  # stuck
    times = every(5, len(xs))
    times = times[: 11 * DAY] + [t + timedelta(hours=3) for t in times[11 * DAY :]]  # a dropout
    config = AnomalyConfig(realert_hours=6)

    whole = AnomalyDetector(config)
    expected = [whole.update(t, x) for t, x in zip(times, xs, strict=True)]
    assert {"range", "stuck", "gap"} <= {s.kind for s in expected if s.anomaly_score > 0.35}

    for cut in (151, 8 * DAY + 17, 10 * DAY + 12):
        first = AnomalyDetector(config)
        got = [first.update(t, x) for t, x in zip(times[:cut], xs[:cut], strict=True)]
        stored = json.dumps(first.state())  # what the ingestion path would persist
        resumed = detector_from_state(json.loads(stored))
        assert isinstance(resumed, AnomalyDetector)
        got += [resumed.update(t, x) for t, x in zip(times[cut:], xs[cut:], strict=True)]
        assert got == expected


def test_aware_timestamps_use_the_local_wall_clock() -> None:
    # The same readings stamped in UTC or as Shanghai wall time land in the same daily slots.
    xs = daily_pattern(9)
    local = every(5, len(xs))
    utc = [(t - timedelta(hours=8)).replace(tzinfo=UTC) for t in local]
    a, _ = run(xs, times=local)
    b, _ = run(xs, times=utc)
    assert a == b


def test_state_of_another_detector_is_refused() -> None:
    state = AnomalyDetector().state()
    with pytest.raises(StateError):
        OfflineDetector.from_state(state)
    with pytest.raises(StateError):
        AnomalyDetector.from_state({**state, "version": 99})
    with pytest.raises(StateError):
        detector_from_state({"detector": "nope"})


def test_configuration_is_validated_and_device_types_exist() -> None:
    with pytest.raises(ValueError, match="unknown anomaly detector parameters"):
        AnomalyConfig.from_dict({"histroy": 10})
    with pytest.raises(ValueError, match="unknown statistic"):
        AnomalyDetector(AnomalyConfig(weights="range:0.5,spike:0.5"))
    with pytest.raises(ValueError, match="views must include raw"):
        AnomalyConfig(channels="daily")
    with pytest.raises(ValueError, match="must be >= 0"):
        AnomalyConfig(weights="range:-1")
    with pytest.raises(ValueError, match="at least 1"):
        AnomalyConfig(history=0)
    with pytest.raises(ValueError, match="unknown device type"):
        anomaly_config("submarine")
    assert anomaly_config("hourly").range_history == 2160
    assert anomaly_config("hourly", realert_hours=6).realert_hours == 6
    with pytest.raises(ValueError, match="unknown detector"):
        make_detector("magic")
    assert make_detector("null").update(T0, 1.0).anomaly_score == 0.5
    with pytest.raises(ValueError, match="thresholds"):
        make_detector("threshold", {})
    with pytest.raises(ValueError, match="unknown offline parameters"):
        make_detector("offline", {"mised": 3})
    rule = make_detector("threshold", {"thresholds": [1, 2, None, 4], "direction": "above"})
    assert rule.update(T0, 4.5).level == 4


# ----------------------------------------------------------------------------------------------------------------
# Offline detection
# ----------------------------------------------------------------------------------------------------------------


def test_offline_after_three_expected_intervals_learned_from_the_spacing() -> None:
    times = every(5, 20)
    assert expected_interval(times) == 300.0
    assert expected_interval(times[:1]) is None
    last = times[-1]
    assert not check_offline(last, 300.0, last + timedelta(minutes=14)).offline
    status = check_offline(last, 300.0, last + timedelta(minutes=15))
    assert status.offline and status.missed_intervals == 3.0 and status.silent_for == 900.0
    assert not check_offline(last, None, last + timedelta(days=9)).offline  # spacing unknown: no verdict

    d = OfflineDetector()
    for t in times[:4]:
        d.update(t, 1.0)
    assert d.expected_interval is None  # four intervals are not enough to learn from
    assert not d.check(times[3] + timedelta(hours=5)).offline
    for t in times[4:]:
        assert d.update(t, 1.0).anomaly_score == 0.0
    assert d.expected_interval == 300.0
    assert not d.check(last + timedelta(minutes=10)).offline
    assert d.check(last + timedelta(minutes=16)).offline

    back = d.update(last + timedelta(hours=1), 1.0)
    assert back.kind == "back_online" and back.anomaly_score == 1.0
    assert "12 intervals" in back.reason
    resumed = detector_from_state(json.loads(json.dumps(d.state())))
    assert isinstance(resumed, OfflineDetector)
    assert (
        resumed.check(last + timedelta(hours=1, minutes=16)).offline
        == d.check(last + timedelta(hours=1, minutes=16)).offline
    )


def test_an_hourly_sensor_is_offline_after_three_hours() -> None:
    d = OfflineDetector()
    times = every(60, 10)
    for t in times:
        d.update(t, 0.0)
    assert not d.check(times[-1] + timedelta(hours=2, minutes=59)).offline
    assert d.check(times[-1] + timedelta(hours=3)).offline


# ----------------------------------------------------------------------------------------------------------------
# Threshold rules with the four warning levels
# ----------------------------------------------------------------------------------------------------------------


def levels(rule: ThresholdRule, values: list[float]) -> list[int]:
    return [rule.update(T0 + timedelta(minutes=i), v).level for i, v in enumerate(values)]


def test_warning_levels_above_with_margin_and_clear_after() -> None:
    rule = ThresholdRule(ThresholdConfig((10, 20, 30, 40), "above", margin=2, clear_after=2))
    values = [5, 10, 12, 9, 8, 7, 21, 19, 17, 17, 45, 39, 37, 37, 5, 5]
    assert levels(rule, values) == [0, 1, 1, 1, 1, 1, 2, 2, 2, 1, 4, 4, 4, 3, 3, 0]


def test_warning_levels_below() -> None:
    rule = ThresholdRule(ThresholdConfig((50, 40, 30, 20), "below", margin=1))
    assert levels(rule, [60, 50, 45, 51, 52, 19, 21, 22]) == [0, 1, 1, 1, 0, 4, 4, 3]


def test_warning_level_scores_names_and_unused_levels() -> None:
    rule = ThresholdRule(ThresholdConfig((None, 75.0, None, 150.0), "above"))  # yellow and red only
    assert rule.update(T0, 80).level == WarningLevel.YELLOW
    red = rule.update(T0, 150)
    assert (red.level, red.kind, red.anomaly_score) == (4, "red", 1.0)
    assert "红色预警" in red.reason and ">= 150" in red.reason
    assert rule.update(T0, 10) == Score(0.0)
    assert WarningLevel.ORANGE.chinese == "橙色预警"


def test_warning_level_state_round_trip() -> None:
    config = ThresholdConfig((10, 20, 30, 40), "above", margin=2, clear_after=2)
    values = [5, 10, 12, 9, 8, 7, 21, 19, 17, 17, 45, 39, 37, 37, 5, 5]
    expected = levels(ThresholdRule(config), values)
    first = ThresholdRule(config)
    got = levels(first, values[:8])  # cut while a step-down is pending
    resumed = detector_from_state(json.loads(json.dumps(first.state())))
    assert isinstance(resumed, ThresholdRule)
    assert got + levels(resumed, values[8:]) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"thresholds": (30, 20, 10, 5)},  # decreasing for "above"
        {"thresholds": (10, 20, 30, 40), "direction": "below"},
        {"thresholds": (10, 10, 30, 40)},
        {"thresholds": (None, None, None, None)},
        {"thresholds": (10, 20, 30, 40), "margin": -1},
        {"thresholds": (10, 20, 30, 40), "clear_after": 0},
        {"thresholds": (10, 20, 30, 40), "direction": "sideways"},
        {"thresholds": (10, 20, 30)},
    ],
)
def test_threshold_configuration_is_validated(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ThresholdConfig(**kwargs)


# ----------------------------------------------------------------------------------------------------------------
# The building blocks
# ----------------------------------------------------------------------------------------------------------------


def test_rolling_window_keeps_order_and_sorted_values() -> None:
    w = RollingWindow(4)
    for x in [5.0, 1.0, 3.0, 2.0, 4.0]:
        w.add(x)
    assert list(w.values) == [1.0, 3.0, 2.0, 4.0]
    assert w.median() == 2.5 and w.quantile(0.0) == 1.0 and w.quantile(1.0) == 4.0
    assert w.mean() == 2.5 and w.count_at_least(3.0) == 2 and w.count_at_most(3.0) == 3
    copy = RollingWindow.from_state(json.loads(json.dumps(w.state())))
    assert list(copy.values) == list(w.values) and copy.mean() == w.mean()


def test_tail_probabilities() -> None:
    cal = TailCalibrator(1000, 10)
    assert cal.p_value(5.0) == 1.0  # no history yet
    for i in range(100):
        cal.add(float(i))
    assert cal.p_value(50.0) == pytest.approx(
        51 / 101
    )  # empirical inside the range: 50 values >= 50, plus one
    # Beyond it the exponential tail of the top 10 (mean excess 5.5 over u = 89) takes over.
    assert cal.p_value(120.0) == pytest.approx(10 / 101 * math.exp(-(120 - 89) / 5.5))
    two = TwoSidedTail(1000, 10)
    for i in range(100):
        two.add(float(i))
    assert two.p_value(49.5) == pytest.approx(1.0)
    assert two.p_value(-30.0) == pytest.approx(2 * 10 / 101 * math.exp(-(10 + 30) / 5.5))
    flat = TwoSidedTail(1000, 10)
    for _ in range(100):
        flat.add(3.0)
    assert flat.p_value(3.5) == pytest.approx(2 / 101)  # no spread to extrapolate with: "not seen in 100"


def test_seasonal_profiles_use_earlier_days_only() -> None:
    daily = SeasonalProfile(keep=7, weekly=False)
    key = daily.key(8 * 3600 + 600, 0, 300.0)  # 08:10 in five-minute slots
    assert key == "98"  # 8 hours of 12 slots, and two more
    # Days 1-3 leave 10, 20, 30 in the slot; a second reading on day 3 does not see the first one of that day.
    assert daily.baseline_then_add(key, 1, 10.0, 3) is None
    assert daily.baseline_then_add(key, 2, 20.0, 3) is None
    assert daily.baseline_then_add(key, 3, 30.0, 3) is None  # only two earlier days so far
    assert daily.baseline_then_add(key, 3, 99.0, 3) is None
    assert daily.baseline_then_add(key, 4, 0.0, 3) == 25.0  # median of 10, 20, 30, 99
    assert daily.baseline_then_add(key, 12, 5.0, 3) is None  # days 1-4 are more than 7 days old: forgotten
    weekly = SeasonalProfile(keep=4, weekly=True)
    assert weekly.key(8 * 3600, 2, 1800.0) == "2:16"  # Wednesday, 08:00-08:30
    for week in range(4):
        weekly.baseline_then_add("2:16", 7 * week, float(week), 3)
    assert weekly.baseline_then_add("2:16", 28, 9.0, 3) == 1.5  # weeks 0-3 (week 0 is exactly four weeks old)
    assert weekly.baseline_then_add("2:16", 35, 0.0, 3) == 2.5  # week 0 forgotten: median of 1, 2, 3, 9
