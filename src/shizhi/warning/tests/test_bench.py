"""``shizhi bench nab`` end to end on a tiny corpus in NAB's layout written here, and the runner underneath it. No
timing assertions: run time is measured by the benchmark and reported."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from shizhi.warning.nab.corpus import CorpusError, load_corpus
from shizhi.warning.nab.results import read_results, read_scores_table
from shizhi.warning.nab.runner import evaluate_run, run_corpus
from shizhi.warning.nab.scorer import STANDARD_PROFILES, evaluate

T0 = datetime(2024, 5, 1)
N = 1200


def write_corpus(root: Path) -> Path:
    """Three series of 1,200 five-minute readings: a spike, a level shift, and one without anomaly."""
    r = random.Random(3)
    series = {
        "roads/spike.csv": [20 + r.gauss(0, 1) + (12 if i == 900 else 0) for i in range(N)],
        "roads/calm.csv": [50 + r.gauss(0, 2) for i in range(N)],
        "air/shift.csv": [80 + r.gauss(0, 1.5) + (10 if i >= 1000 else 0) for i in range(N)],
    }
    windows = {"roads/spike.csv": [(860, 940)], "air/shift.csv": [(960, 1040)], "roads/calm.csv": []}
    fmt = "%Y-%m-%d %H:%M:%S"
    for rel, values in series.items():
        path = root / "data" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["timestamp", "value"])
            for i, v in enumerate(values):
                w.writerow([(T0 + timedelta(minutes=5 * i)).strftime(fmt), round(v, 3)])
    labels = {
        rel: [
            [
                (T0 + timedelta(minutes=5 * a)).strftime(fmt) + ".000000",
                (T0 + timedelta(minutes=5 * b)).strftime(fmt),
            ]
            for a, b in spans
        ]
        for rel, spans in windows.items()
    }
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))
    return root


def test_runner_writes_nab_results_and_scores_them(tmp_path: Path) -> None:
    corpus = load_corpus(write_corpus(tmp_path / "corpus"))
    assert corpus.profiles_source == "built-in" and set(corpus.profiles) == set(STANDARD_PROFILES)
    assert corpus.relpaths == ["air/shift.csv", "roads/calm.csv", "roads/spike.csv"]
    out = tmp_path / "out"
    one = run_corpus(corpus, "shizhi", {}, out, jobs=1)
    two = run_corpus(corpus, "shizhi", {}, None, jobs=2)
    for a, b in zip(one.files, two.files, strict=True):
        assert np.array_equal(a.scores, b.scores)  # processes change nothing

    spike = next(f for f in one.files if f.relpath == "roads/spike.csv")
    assert int(np.argmax(spike.scores)) == 900
    shift = next(f for f in one.files if f.relpath == "air/shift.csv")
    assert int(np.nonzero(shift.scores > 0.3)[0][0]) == 1000  # found at its onset (and escalations after it)

    written = read_results(out, "shizhi")
    assert set(written) == set(corpus.relpaths)
    with (out / "shizhi" / "roads" / "shizhi_spike.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["timestamp", "value", "anomaly_score", "label"]
    assert len(rows) == N + 1 and rows[1][0] == "2024-05-01 00:00:00"
    assert sum(int(r[3]) for r in rows[1:]) == 81  # rows 860..940 are inside the window
    for f in one.files:
        assert np.array_equal(written[f.relpath].anomaly_scores, f.scores)

    report = evaluate_run(corpus, one)
    std = report.results["standard"]
    assert std.normalised == pytest.approx(
        evaluate(
            [f.table for f in one.files], [f.scores for f in one.files], STANDARD_PROFILES["standard"]
        ).normalised
    )
    assert std.normalised > 80  # both anomalies found at their onset, nothing else
    cats = {c.category: c for c in report.categories["standard"]}
    assert (cats["roads"].windows, cats["roads"].detected, cats["air"].detected) == (1, 1, 1)


def test_bench_nab_prints_the_three_profiles_and_writes_the_summary(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "corpus")
    out_dir = tmp_path / "results"
    target = tmp_path / "bench.json"
    out = io.StringIO()
    call_command(
        "bench",
        "nab",
        "--data",
        str(root),
        "--out",
        str(out_dir),
        "--jobs",
        "2",
        "--json",
        str(target),
        "--config",
        '{"realert_hours": 6}',
        stdout=out,
    )
    text = out.getvalue()
    for name in STANDARD_PROFILES:
        assert f"\n{name:<20} " in text
    assert "per category" in text and "  air " in text and "  roads " in text
    assert "detect: 3 files, 3,600 rows" in text
    assert '"realert_hours": 6' in text

    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["benchmark"] == "nab" and data["detector"] == "shizhi"
    assert data["rows"] == 3 * N and data["windows"] == 2 and data["config"]["realert_hours"] == 6
    summary = json.loads((out_dir / "shizhi" / "shizhi_summary.json").read_text(encoding="utf-8"))
    assert summary["profiles"] == data["profiles"]
    assert set(summary["profiles"]) == set(STANDARD_PROFILES)
    std = summary["profiles"]["standard"]
    assert std["windows_detected"] == 2 and std["categories"]["air"]["windows"] == 1
    # the written score tables are NAB's format, and their totals are the summary's raw score
    table = read_scores_table(out_dir / "shizhi" / "shizhi_standard_scores.csv")
    assert set(table) == {"air/shift.csv", "roads/calm.csv", "roads/spike.csv"}
    assert sum(r.score for r in table.values()) == pytest.approx(std["raw"])


def test_bench_nab_refuses_a_folder_that_is_not_a_corpus(tmp_path: Path) -> None:
    (tmp_path / "data" / "x").mkdir(parents=True)
    with pytest.raises(CorpusError, match="labels"):
        load_corpus(tmp_path)
    with pytest.raises(CommandError):
        call_command(
            "bench", "nab", "--data", str(tmp_path), "--out", str(tmp_path / "o"), stdout=io.StringIO()
        )
