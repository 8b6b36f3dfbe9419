"""``shizhi bench nab --data ../shared/data/nab --out DIR [--detector NAME] [--jobs N] [--config JSON]``: run a
streaming detector over a corpus in the layout of the Numenta Anomaly Benchmark, write NAB's result files, and
score them with the project's own NAB scorer (:mod:`shizhi.warning.nab.scorer`): the three profiles (normalised,
null = 0, perfect = 100), a per-category breakdown, the run time, and a JSON summary
(``DIR/<detector>/<detector>_summary.json``). When the corpus carries NAB's published results
(``results/numenta``, ``results/twitterADVec``), the scorer is first checked against them.

Any folder in NAB's layout works (``data/<category>/<name>.csv``, ``labels/combined_windows.json``,
``config/profiles.json`` optional), so the same command scores other labelled corpora. The benchmark needs no
database; it runs in ``shizhi bench``'s child process like the others.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from shizhi.core import benchmarks
from shizhi.core.benchmarks import BenchContext, BenchError
from shizhi.warning.detectors import DETECTORS, anomaly_config
from shizhi.warning.nab.corpus import CorpusError, load_corpus
from shizhi.warning.nab.runner import (
    Report,
    default_jobs,
    evaluate_run,
    reproduce_published,
    run_corpus,
    write_report,
)

TARGET = 60.0  # NAB standard profile, one configuration for the whole corpus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", default="../shared/data/nab", help="corpus in NAB layout (default ../shared/data/nab)"
    )
    parser.add_argument(
        "--out", required=True, help="results folder: <out>/<detector>/<category>/<detector>_<file>.csv"
    )
    parser.add_argument(
        "--detector", default="shizhi", choices=sorted(DETECTORS), help="detector (default shizhi)"
    )
    parser.add_argument(
        "--jobs", type=int, default=default_jobs(), help="parallel processes (default: CPU count)"
    )
    parser.add_argument(
        "--device-type",
        default="default",
        help="the detector's parameter set (shizhi only; default: the NAB one)",
    )
    parser.add_argument(
        "--config",
        default=None,
        help='detector parameters as JSON, over the device type\'s (e.g. \'{"weights": "range:1"}\')',
    )
    parser.add_argument(
        "--no-check", action="store_true", help="skip the check against NAB's published results"
    )


def _config(options: dict[str, Any]) -> dict[str, Any]:
    try:
        extra = json.loads(options.get("config") or "{}")
    except json.JSONDecodeError as exc:
        raise BenchError(f"--config is not JSON: {exc}") from exc
    if not isinstance(extra, dict):
        raise BenchError("--config must be a JSON object")
    if options.get("detector", "shizhi") != "shizhi":
        return extra
    try:
        return anomaly_config(options.get("device_type") or "default", **extra).__dict__.copy()
    except (TypeError, ValueError) as exc:
        raise BenchError(str(exc)) from exc


def _fmt(x: float | None, width: int = 7) -> str:
    return f"{x:{width}.1f}" if x is not None else " " * (width - 1) + "-"


def print_report(report: Report, write: Any) -> None:
    run = report.run
    write(
        f"detect: {len(run.files)} files, {run.rows:,} rows in {run.wall_seconds:.1f} s wall with {run.jobs} "
        f"process(es) ({run.detector_seconds:.1f} s detector CPU, {run.rows / max(run.detector_seconds, 1e-9):,.0f} "
        "rows/s per process)"
    )
    write(f"{'profile':<20} {'score':>7} {'threshold':>10} {'raw':>9} {'windows':>9} {'FP rows':>8}")
    data = report.as_dict()["profiles"]
    total_windows = sum(f.table.windows for f in run.files)
    for name, r in report.results.items():
        d = data[name]
        write(
            f"{name:<20} {r.normalised:7.1f} {r.threshold:10.4f} {r.raw:9.2f} "
            f"{d['windows_detected']:>4}/{total_windows:<4} {d['fp_rows']:8d}"
        )
    names = list(report.results)
    write("per category (normalised; windows detected / windows and FP rows at the standard threshold):")
    write(f"  {'category':<24}" + "".join(f"{n[:18]:>20}" for n in names) + f"{'windows':>12}{'FP':>6}")
    std = {c.category: c for c in report.categories.get("standard", [])}
    for cat in sorted(std):
        row = f"  {cat:<24}"
        for n in names:
            c = next(x for x in report.categories[n] if x.category == cat)
            row += f"{_fmt(c.score, 20)}" if c.windows else f"{'raw ' + format(c.raw, '.2f'):>20}"
        s = std[cat]
        row += f"{s.detected:>7}/{s.windows:<4}{s.fp:>6}"
        write(row)


def run(ctx: BenchContext) -> dict[str, Any]:
    o = ctx.options
    write = ctx.write
    started = time.perf_counter()
    try:
        corpus = load_corpus(Path(o["data"]))
    except (CorpusError, OSError) as exc:
        raise BenchError(f"cannot read the corpus: {exc}") from exc
    detector = o.get("detector") or "shizhi"
    config = _config(o)
    out = Path(o["out"])
    jobs = max(1, int(o.get("jobs") or 1))
    write(
        f"corpus {corpus.root}: {len(corpus.relpaths)} files, {corpus.window_count} windows, profiles: "
        f"{', '.join(corpus.profiles)} ({corpus.profiles_source})"
    )
    result: dict[str, Any] = {}
    if not o.get("no_check") and (corpus.root / "results" / "final_results.json").is_file():
        result["scorer_check"] = check_scorer(corpus.root, write)
    write(f"detector {detector}, {jobs} process(es); results under {out / detector}")
    if config:
        write(f"configuration: {json.dumps(config, ensure_ascii=False, sort_keys=True)}")
    try:
        corpus_run = run_corpus(corpus, detector, config, out, jobs)
    except ValueError as exc:
        raise BenchError(str(exc)) from exc
    report = evaluate_run(corpus, corpus_run)
    print_report(report, write)
    summary = write_report(out, report)
    write(f"summary: {summary}")
    standard = report.results.get("standard")
    published = corpus.root / "results" / "final_results.json"
    if standard is not None and published.is_file():
        result["scoreboard"] = print_scoreboard(published, detector, standard.normalised, write)
    result.update(report.as_dict())
    result["summary_path"] = str(summary)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def print_scoreboard(path: Path, detector: str, ours: float, write: Any) -> dict[str, float]:
    """Our standard score among NAB's published ones (final_results.json), and the project's target."""
    try:
        board = {
            name: float(scores["standard"])
            for name, scores in json.loads(path.read_text(encoding="utf-8")).items()
            if name not in ("null", detector)
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}
    board[f"{detector} (this run)"] = ours
    ranked = sorted(board.items(), key=lambda kv: -kv[1])
    write("scoreboard, standard profile: " + ", ".join(f"{name} {score:.1f}" for name, score in ranked))
    met = ours >= TARGET
    write(
        f"target: standard profile >= {TARGET:.0f} with one configuration: {ours:.1f} ({'met' if met else 'MISSED'})"
    )
    return dict(ranked)


def check_scorer(root: Path, write: Any) -> list[dict[str, Any]]:
    """Score NAB's published reference results with our scorer and print how close we are."""
    try:
        rows = reproduce_published(root)
    except (FileNotFoundError, KeyError) as exc:
        write(f"scorer check skipped: {exc}")
        return []
    write(
        "scorer check against NAB's published results (normalised scores; per-file differences at their threshold):"
    )
    out = []
    for r in rows:
        write(
            f"  {r.detector:<13} {r.profile:<19} published {r.published_score:6.2f}  ours at that threshold "
            f"{r.at_published_threshold:6.2f}  ours optimised {r.optimised:6.2f}  max per-file |diff| "
            f"{r.max_file_diff:.1e}  counts {'equal' if r.counts_match else 'DIFFER'}"
        )
        out.append(r.__dict__)
    return out


benchmarks.register(
    benchmarks.Benchmark(
        name="nab",
        help="风险预警：在 NAB（Numenta 异常检测基准）格式的语料上流式运行检测器并用本项目的 NAB 评分器打分",
        add_arguments=add_arguments,
        run=run,
    )
)
