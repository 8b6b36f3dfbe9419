"""The C core of the anomaly detector against its plain-Python reference: the same scores, reasons and states, bit
for bit, on crafted series, across resumes in both directions and in batches of any size."""

from __future__ import annotations

import base64
import json
import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from shizhi.warning.detectors import anomaly_config, detector_from_state
from shizhi.warning.detectors.anomaly import (
    AnomalyConfig,
    AnomalyDetector,
    ReferenceAnomalyDetector,
    compiled,
)
from shizhi.warning.detectors.base import Score, local_clock

T0 = 1_767_196_800  # 2026-01-01 00:00 +08:00 is 2025-12-31 16:00 UTC; any whole second works


def test_the_c_core_is_built() -> None:
    # `make install` (pip install -e .) compiles it; without it the detector falls back to plain Python, 30x slower
    assert compiled(), "shizhi.warning.detectors._anomaly_core is not built: run `make install`"


def _series(n: int, step: int, seed: int, *, ties: bool = False) -> list[tuple[int, float]]:
    """A daily cycle with noise, spikes every 700 readings, a level shift, a stuck stretch and a dropout."""
    rnd = random.Random(seed)
    rows: list[tuple[int, float]] = []
    t = T0
    for i in range(n):
        t += step * (40 if i == n // 2 else 1)  # a dropout half way
        v = 50 + 20 * math.sin(2 * math.pi * (t % 86400) / 86400) + rnd.gauss(0, 3)
        v += 25 if i > 2 * n // 3 else 0
        if i % 700 == 350:
            v += 80
        v = float(round(v)) if ties else round(v, 2)
        if n // 3 <= i < n // 3 + 40:
            v = rows[-1][1]
        rows.append((t, v))
    return rows


def _reference(config: AnomalyConfig, rows: list[tuple[int, float]]) -> tuple[list[Score], dict]:  # type: ignore[type-arg]
    ref = ReferenceAnomalyDetector(config)
    return [ref.update(t, v) for t, v in rows], ref.state()


SMALL = AnomalyConfig(
    min_history=40, history=600, range_history=900, local_window=10, level_window=6, season_warmup=50
)


@pytest.mark.parametrize(
    ("config", "n", "step", "ties"),
    [
        (anomaly_config("minutely"), 8000, 60, False),
        (anomaly_config("hourly"), 4000, 3600, False),
        (anomaly_config("default"), 6000, 300, True),
        (SMALL, 5000, 300, True),  # windows of 600 and 900: blocks split and merge many times, with many ties
    ],
)
def test_scores_and_states_equal_the_reference(config: AnomalyConfig, n: int, step: int, ties: bool) -> None:
    rows = _series(n, step, seed=n, ties=ties)
    want, want_state = _reference(config, rows)
    fast = AnomalyDetector(config)
    got = list(fast.update_many([t for t, _ in rows], [v for _, v in rows]))
    assert got == want
    assert fast.state() == want_state
    assert sum(s.anomaly_score >= 0.5 for s in want) >= 3  # the series has anomalies to find
    assert {s.kind for s in want} >= {"range", "stuck"}


def test_batches_of_any_size_and_single_updates_score_alike() -> None:
    rows = _series(3000, 300, seed=3)
    want, want_state = _reference(SMALL, rows)
    fast = AnomalyDetector(SMALL)
    got: list[Score] = []
    rnd = random.Random(4)
    i = 0
    while i < len(rows):
        k = rnd.choice([1, 1, 2, 7, 50, 333])
        chunk = rows[i : i + k]
        if k == 1:
            got.append(fast.update(*chunk[0]))
        else:
            got.extend(fast.update_many(np.array([t for t, _ in chunk]), np.array([v for _, v in chunk])))
        i += k
    assert got == want
    assert fast.state() == want_state


@pytest.mark.parametrize("profile", ["default", "hourly"])
def test_states_cross_between_c_and_python_in_both_directions(profile: str) -> None:
    config = anomaly_config(profile)
    rows = _series(5000, 300 if profile == "default" else 3600, seed=5)
    want, _ = _reference(config, rows)
    half = 2600

    ref = ReferenceAnomalyDetector(config)
    for t, v in rows[:half]:
        ref.update(t, v)
    fast = detector_from_state(json.loads(json.dumps(ref.state())))  # Python -> stored JSON -> C
    assert isinstance(fast, AnomalyDetector)
    assert fast.state() == ref.state()
    assert list(fast.update_many([t for t, _ in rows[half:]], [v for _, v in rows[half:]])) == want[half:]

    fast = AnomalyDetector(config)
    fast.update_many([t for t, _ in rows[:half]], [v for _, v in rows[:half]])
    back = ReferenceAnomalyDetector.from_state(json.loads(json.dumps(fast.state())))  # C -> JSON -> Python
    assert [back.update(t, v) for t, v in rows[half:]] == want[half:]


def test_exact_tail_sums_where_floating_point_sums_would_round() -> None:
    # values of very different magnitude: a running float sum of the tails would lose the small ones, fsum does not
    rnd = random.Random(6)
    scale = [1e16, 1.0, 1e-8, 3e15, 7.0]
    rows = [(T0 + 300 * i, rnd.choice(scale) * rnd.choice([1, -1, 2.5, 0.1])) for i in range(2500)]
    want, want_state = _reference(SMALL, rows)
    fast = AnomalyDetector(SMALL)
    assert list(fast.update_many([t for t, _ in rows], [v for _, v in rows])) == want
    assert fast.state() == want_state


def test_missing_values_change_nothing_in_a_batch() -> None:
    rows = _series(400, 300, seed=7)
    values = [v for _, v in rows]
    values[100] = math.nan
    values[250] = math.inf
    ref = ReferenceAnomalyDetector(SMALL)
    want = [ref.update(t, v) for (t, _), v in zip(rows, values, strict=True)]
    fast = AnomalyDetector(SMALL)
    got = list(fast.update_many([t for t, _ in rows], values))
    assert got == want
    assert got[100] == Score(0.0, kind="missing", reason="no value")
    assert fast.n == ref.n == 398
    assert fast.state() == ref.state()


def test_daylight_saving_time_and_datetimes_give_the_reference_wall_clock() -> None:
    # Berlin moves its clocks on 2026-03-29 and 2026-10-25: the seasonal slots follow the wall clock
    config = anomaly_config("hourly", timezone="Europe/Berlin", min_history=30, season_warmup=40)
    start = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    rnd = random.Random(8)
    rows = [
        (start + 3600 * i, 10 + 5 * math.sin(2 * math.pi * i / 24) + rnd.gauss(0, 0.5))
        for i in range(24 * 270)
    ]
    want, want_state = _reference(config, rows)
    fast = AnomalyDetector(config)
    assert list(fast.update_many([t for t, _ in rows], [v for _, v in rows])) == want
    assert fast.state() == want_state

    _, clock = fast._clock([t for t, _ in rows], np.ones(len(rows), dtype=bool))
    assert [tuple(c) for c in clock.tolist()] == [local_clock(t, "Europe/Berlin") for t, _ in rows]

    # aware datetimes, naive datetimes (taken as wall-clock time) and fractional seconds take the per-reading path
    tz = ZoneInfo("Asia/Shanghai")
    aware = [datetime(2026, 5, 1, tzinfo=tz) + timedelta(minutes=5 * i) for i in range(600)]
    naive = [a.replace(tzinfo=None) for a in aware]
    fractional = [a.timestamp() + 0.25 for a in aware]
    for stamps in (aware, naive, fractional):
        ref = ReferenceAnomalyDetector(SMALL)
        values = [v for _, v in rows[:600]]
        want = [ref.update(s, v) for s, v in zip(stamps, values, strict=True)]
        fast = AnomalyDetector(SMALL)
        assert list(fast.update_many(stamps, values)) == want
        assert fast.state() == ref.state()


def test_a_zone_that_changes_its_offset_and_back_within_a_week() -> None:
    # America/Recife kept summer time for one week only, 2000-10-08 to 2000-10-15
    tz = "America/Recife"
    stamps = list(range(970_971_000, 970_971_000 + 604_800 + 1, 300))
    fast = AnomalyDetector(AnomalyConfig(timezone=tz))
    _, clock = fast._clock(stamps, np.ones(len(stamps), dtype=bool))
    assert [tuple(c) for c in clock.tolist()] == [local_clock(t, tz) for t in stamps]
    config = AnomalyConfig(timezone=tz, min_history=30, channels="raw,daily", season_min=1, season_warmup=10)
    values = [float(i % 5) for i in range(len(stamps))]
    ref = ReferenceAnomalyDetector(config)
    want = [ref.update(t, v) for t, v in zip(stamps, values, strict=True)]
    fast = AnomalyDetector(config)
    assert list(fast.update_many(stamps, values)) == want
    assert fast.state() == ref.state()


def test_values_beyond_1e250_are_missing_in_both_and_change_nothing() -> None:
    # two days of -1.7e308 at 08:00 once made the daily baseline -inf and a NaN reach the C core's windows
    config = AnomalyConfig(
        channels="raw,daily",
        weights="jump:1",
        level_window=1,
        stuck_alpha=0,
        gap_weight=0,
        season_min=1,
        season_bucket_minutes=60,
        timezone="UTC",
        history=146,
    )
    rnd = random.Random(0)
    stamps = [1_767_225_600 + 600 * i for i in range(6 * 24 * 10)]
    values = [
        -1.7e308 if i < 6 * 24 * 2 and (t % 86400) // 3600 == 8 else round(rnd.gauss(50, 5), 1)
        for i, t in enumerate(stamps)
    ]
    ref = ReferenceAnomalyDetector(config)
    want = [ref.update(t, v) for t, v in zip(stamps, values, strict=True)]
    fast = AnomalyDetector(config)
    got = list(fast.update_many(stamps, values))
    assert got == want
    assert got[48] == Score(0.0, kind="missing", reason="value beyond +-1e250")
    assert fast.state() == ref.state()
    assert fast.n == ref.n == len(stamps) - 12


def test_times_that_are_not_epoch_seconds_are_refused_before_anything_is_scored() -> None:
    fast = AnomalyDetector(SMALL)
    ref = ReferenceAnomalyDetector(SMALL)
    rows = _series(200, 300, seed=11)
    fast.update_many([t for t, _ in rows], [v for _, v in rows])
    for t, v in rows:
        ref.update(t, v)
    before = fast.state()
    millis = [1000 * (rows[-1][0] + 300 * i) for i in range(1, 4)]
    with pytest.raises(ValueError, match="epoch seconds"):
        fast.update_many(millis, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="epoch seconds"):
        ref.update(millis[0], 1.0)
    with pytest.raises(ValueError, match="epoch seconds"):
        fast.update_many([rows[-1][0] + 300, math.nan], [1.0, 2.0])
    assert fast.state() == before == ref.state()  # nothing of a refused batch was scored
    # a reading without a value needs no time
    assert (
        fast.update(math.nan, math.nan) == ref.update(math.nan, math.nan) == Score(0.0, "missing", "no value")
    )


@pytest.mark.parametrize(
    "change",
    [
        {"min_history": 5},
        {"channels": "raw,daily,daily"},
        {"score_decades": 0},
        {"history": 30.5},
        {"history": True},
    ],
)
def test_configurations_the_detector_cannot_run_are_refused(change: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        AnomalyConfig(**change)


def test_whole_floats_in_a_configuration_are_counts() -> None:
    assert AnomalyConfig(history=8640.0).history == 8640  # type: ignore[arg-type]
    assert isinstance(AnomalyConfig.from_dict({"min_history": 150.0}).min_history, int)


def test_a_stored_state_with_the_wrong_shape_is_refused() -> None:
    fast = AnomalyDetector(SMALL)
    fast.update_many([t for t, _ in _series(300, 300, seed=9)], [v for _, v in _series(300, 300, seed=9)])
    state = fast.state()
    broken = json.loads(json.dumps(state))
    broken["data"]["channels"]["raw"]["tests"]["range"]["fit"] = [1.0, 2.0]  # five numbers expected
    with pytest.raises(ValueError):
        AnomalyDetector.from_state(broken)
    broken = json.loads(json.dumps(state))
    del broken["data"]["levels"]
    with pytest.raises(KeyError):
        AnomalyDetector.from_state(broken)
    for size, f64 in ((0, ""), (-1, ""), (3, base64.b64encode(b"\0" * 32).decode()), (9, "AAAA")):
        broken = json.loads(json.dumps(state))
        broken["data"]["intervals"] = {"size": size, "f64": f64, "sum": 0.0}
        with pytest.raises(ValueError):
            AnomalyDetector.from_state(broken)
    broken = json.loads(json.dumps(state))
    nan = base64.b64encode(np.array([1.0, math.nan]).tobytes()).decode()
    broken["data"]["levels"] = {"size": 600, "f64": nan, "sum": 0.0}
    with pytest.raises(ValueError):
        AnomalyDetector.from_state(broken)
    assert AnomalyDetector.from_state(state).state() == state  # the good state still loads


def test_without_the_c_core_the_reference_runs_behind_the_same_interface(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shizhi.warning.detectors import anomaly

    rows = _series(600, 300, seed=10)
    want, want_state = _reference(SMALL, rows)
    monkeypatch.setattr(anomaly, "_core", None)
    slow = AnomalyDetector(SMALL)
    assert slow._ref is not None and not anomaly.compiled()
    batch = slow.update_many([t for t, _ in rows[:300]], [v for _, v in rows[:300]])
    got = [*batch, *(slow.update(t, v) for t, v in rows[300:])]
    assert got == want
    assert batch.scores.tolist() == [s.anomaly_score for s in want[:300]]
    assert slow.state() == want_state
