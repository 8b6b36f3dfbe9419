"""Running a detector over a corpus in NAB's layout as a stream, writing NAB's result files and scoring them.

Each file is one series: a fresh detector sees its readings in order, one ``update`` per row, and its scores are
written to ``<out>/<detector>/<category>/<detector>_<name>.csv``. Files run in parallel processes (``jobs``).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from shizhi.warning.detectors import make_detector
from shizhi.warning.nab.corpus import Corpus, load_corpus, read_series
from shizhi.warning.nab.results import read_results, read_scores_table, write_result, write_scores_table
from shizhi.warning.nab.scorer import (
    PROBATION_PERCENT,
    CostProfile,
    FileTable,
    ProfileResult,
    build_table,
    evaluate,
    normalise,
)


@dataclass
class FileRun:
    relpath: str
    scores: np.ndarray
    table: FileTable
    seconds: float  # CPU seconds of the detector on this file


@dataclass
class CorpusRun:
    detector: str
    config: dict[str, Any]
    files: list[FileRun]
    wall_seconds: float
    jobs: int

    @property
    def rows(self) -> int:
        return sum(f.table.n for f in self.files)

    @property
    def detector_seconds(self) -> float:
        return sum(f.seconds for f in self.files)


def run_file(
    root: Path,
    relpath: str,
    windows: Sequence[tuple[datetime, datetime]],
    detector: str,
    config: dict[str, Any],
    out: Path | None,
    probation_percent: float = PROBATION_PERCENT,
) -> FileRun:
    """Stream one file through a fresh detector; write its result file when ``out`` is given."""
    series = read_series(root / "data" / relpath, relpath)
    det = make_detector(detector, config)
    scores = np.zeros(len(series))
    started = time.process_time()
    update_many = getattr(det, "update_many", None)
    if update_many is not None:  # the anomaly detector scores a whole series in one call (the same scores)
        scores[:] = update_many(series.times, series.values).scores
        scores[~np.isfinite(scores)] = 0.0
    else:
        for i, (t, v) in enumerate(zip(series.times, series.values, strict=True)):
            s = det.update(t, float(v)).anomaly_score
            scores[i] = s if math.isfinite(s) else 0.0
    seconds = time.process_time() - started
    table = build_table(relpath, series.times, windows, probation_percent)
    if out is not None:
        write_result(out, detector, series, scores, table)
    return FileRun(relpath, scores, table, seconds)


def _run_file_star(args: tuple[Any, ...]) -> FileRun:
    return run_file(*args)


def run_corpus(
    corpus: Corpus,
    detector: str = "shizhi",
    config: dict[str, Any] | None = None,
    out: Path | None = None,
    jobs: int = 1,
    progress: Callable[[FileRun, int, int], None] | None = None,
) -> CorpusRun:
    """Run ``detector`` over every file; the longest files start first so that the processes finish together."""
    config = dict(config or {})
    make_detector(detector, config)  # a bad name or configuration fails here, before any process starts
    sizes = {p: (corpus.root / "data" / p).stat().st_size for p in corpus.relpaths}
    order = sorted(corpus.relpaths, key=lambda p: -sizes[p])
    tasks = [(corpus.root, p, corpus.windows[p], detector, config, out) for p in order]
    started = time.perf_counter()
    done: dict[str, FileRun] = {}
    jobs = max(1, min(jobs, len(tasks)))
    if jobs == 1:
        results: Any = map(_run_file_star, tasks)
        for fr in results:
            done[fr.relpath] = fr
            if progress:
                progress(fr, len(done), len(tasks))
    else:
        ctx = multiprocessing.get_context(
            "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        )
        with ctx.Pool(jobs) as pool:
            for fr in pool.imap_unordered(_run_file_star, tasks):
                done[fr.relpath] = fr
                if progress:
                    progress(fr, len(done), len(tasks))
    wall = time.perf_counter() - started
    return CorpusRun(detector, config, [done[p] for p in corpus.relpaths], wall, jobs)


# ------------------------------------------------------------------------------------------------------------------
# Scoring and summaries
# ------------------------------------------------------------------------------------------------------------------


def score_run(
    tables: Sequence[FileTable], scores: Sequence[np.ndarray], profiles: dict[str, CostProfile]
) -> dict[str, ProfileResult]:
    """Each profile at its own best threshold over the whole corpus."""
    return {name: evaluate(tables, scores, profile) for name, profile in profiles.items()}


@dataclass
class CategoryScore:
    category: str
    files: int
    windows: int
    detected: int  # windows with at least one detection
    fp: int  # false-positive readings
    raw: float
    score: float | None  # normalised; None without windows


def windows_detected(table: FileTable, scores: np.ndarray, threshold: float) -> int:
    s = table.scored
    detected = scores[s] >= threshold
    win = table.window[s]
    return sum(1 for k in range(table.windows) if bool((detected & (win == k)).any()))


def by_category(
    tables: Sequence[FileTable], scores: Sequence[np.ndarray], result: ProfileResult, profile: CostProfile
) -> list[CategoryScore]:
    cats: dict[str, CategoryScore] = {}
    for table, sc, fs in zip(tables, scores, result.files, strict=True):
        name = table.relpath.split("/", 1)[0]
        c = cats.setdefault(name, CategoryScore(name, 0, 0, 0, 0, 0.0, None))
        c.files += 1
        c.windows += table.windows
        c.detected += windows_detected(table, sc, result.threshold)
        c.fp += fs.fp
        c.raw += fs.score
    for c in cats.values():
        c.score = normalise(c.raw, c.windows, profile) if c.windows else None
    return sorted(cats.values(), key=lambda c: c.category)


@dataclass
class Report:
    """What ``shizhi bench nab`` prints and writes."""

    corpus: Corpus
    run: CorpusRun
    results: dict[str, ProfileResult]
    categories: dict[str, list[CategoryScore]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        tables = [f.table for f in self.run.files]
        scores = [f.scores for f in self.run.files]
        profiles = {}
        for name, r in self.results.items():
            t = r.totals()
            profiles[name] = {
                "score": round(r.normalised, 4),
                "threshold": r.threshold,
                "raw": r.raw,
                "windows_detected": sum(
                    windows_detected(tb, sc, r.threshold) for tb, sc in zip(tables, scores, strict=True)
                ),
                "tp_rows": t["tp"],
                "fp_rows": t["fp"],
                "fn_rows": t["fn"],
                "categories": {
                    c.category: {
                        "score": None if c.score is None else round(c.score, 4),
                        "raw": c.raw,
                        "windows": c.windows,
                        "detected": c.detected,
                        "fp_rows": c.fp,
                    }
                    for c in self.categories.get(name, [])
                },
            }
        std = self.results.get("standard")
        files = []
        if std is not None:
            for f in std.files:
                files.append({"file": f.relpath, "score": f.score, "tp": f.tp, "fp": f.fp, "fn": f.fn})
        return {
            "detector": self.run.detector,
            "config": self.run.config,
            "corpus": str(self.corpus.root),
            "profiles_source": self.corpus.profiles_source,
            "files": len(self.run.files),
            "rows": self.run.rows,
            "windows": sum(tb.windows for tb in tables),
            "jobs": self.run.jobs,
            "wall_seconds": round(self.run.wall_seconds, 3),
            "detector_cpu_seconds": round(self.run.detector_seconds, 3),
            "profiles": profiles,
            "standard_per_file": files,
        }


def evaluate_run(corpus: Corpus, run: CorpusRun) -> Report:
    tables = [f.table for f in run.files]
    scores = [f.scores for f in run.files]
    results = score_run(tables, scores, corpus.profiles)
    cats = {name: by_category(tables, scores, r, corpus.profiles[name]) for name, r in results.items()}
    return Report(corpus, run, results, cats)


def write_report(out: Path, report: Report) -> Path:
    detector = report.run.detector
    for name, result in report.results.items():
        write_scores_table(out / detector / f"{detector}_{name}_scores.csv", detector, result)
    path = out / detector / f"{detector}_summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------------------------
# Published NAB results: score them with our scorer and compare
# ------------------------------------------------------------------------------------------------------------------


@dataclass
class Reproduction:
    detector: str
    profile: str
    files: int
    max_file_diff: float  # largest |our per-file score - published| at the published per-file threshold
    counts_match: bool  # TP/TN/FP/FN of every file equal to the published ones
    published_score: float  # final_results.json (normalised)
    at_published_threshold: float  # our normalised corpus score at the published threshold
    optimised: float  # our normalised score at the threshold our sweep finds
    optimised_threshold: float


def reproduce_published(
    root: Path, detectors: Sequence[str] = ("numenta", "twitterADVec")
) -> list[Reproduction]:
    """Score the published per-row results of NAB's reference detectors with our scorer."""
    corpus = load_corpus(root)
    final = json.loads((root / "results" / "final_results.json").read_text(encoding="utf-8"))
    series = {p: read_series(root / "data" / p, p) for p in corpus.relpaths}
    tables = [build_table(p, series[p].times, corpus.windows[p]) for p in corpus.relpaths]
    out = []
    for detector in detectors:
        results = read_results(root / "results", detector)
        missing = [p for p in corpus.relpaths if p not in results]
        if missing:
            raise FileNotFoundError(f"{detector}: no results for {', '.join(missing[:3])}")
        scores = [results[p].anomaly_scores for p in corpus.relpaths]
        for name, profile in corpus.profiles.items():
            published = read_scores_table(root / "results" / detector / f"{detector}_{name}_scores.csv")
            diffs, counts_match = [], True
            threshold = None
            for table, sc in zip(tables, scores, strict=True):
                pub = published[table.relpath]
                threshold = pub.threshold
                ours = evaluate([table], [sc], profile, pub.threshold).files[0]
                diffs.append(abs(ours.score - pub.score))
                counts_match &= (ours.tp, ours.tn, ours.fp, ours.fn) == (pub.tp, pub.tn, pub.fp, pub.fn)
            assert threshold is not None
            at_pub = evaluate(tables, scores, profile, threshold)
            best = evaluate(tables, scores, profile)
            out.append(
                Reproduction(
                    detector=detector,
                    profile=name,
                    files=len(tables),
                    max_file_diff=max(diffs),
                    counts_match=counts_match,
                    published_score=float(final[detector][name]),
                    at_published_threshold=at_pub.normalised,
                    optimised=best.normalised,
                    optimised_threshold=best.threshold,
                )
            )
    return out


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)
