"""Detector results in NAB's layout: ``<out>/<detector>/<category>/<detector>_<name>.csv`` with the columns
``timestamp,value,anomaly_score,label`` (label 1 inside an anomaly window), and the per-profile score tables
``<out>/<detector>/<detector>_<profile>_scores.csv`` (Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count,
with a Totals row), which is also how NAB publishes the reference detectors' results."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shizhi.warning.nab.corpus import Series
from shizhi.warning.nab.scorer import FileTable, ProfileResult


def result_path(out: Path, detector: str, relpath: str) -> Path:
    category, name = relpath.split("/", 1)
    return out / detector / category / f"{detector}_{name}"


def write_result(out: Path, detector: str, series: Series, scores: np.ndarray, table: FileTable) -> Path:
    path = result_path(out, detector, series.relpath)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "value", "anomaly_score", "label"])
        for stamp, value, score, label in zip(
            series.stamps, series.raw_values, scores, table.label, strict=True
        ):
            w.writerow([stamp, value, repr(float(score)), int(label)])
    return path


@dataclass
class ResultFile:
    relpath: str  # "<category>/<name>.csv" of the data file
    anomaly_scores: np.ndarray
    labels: np.ndarray


def read_result(path: Path, detector: str) -> ResultFile:
    category = path.parent.name
    prefix = f"{detector}_"
    name = path.name[len(prefix) :] if path.name.startswith(prefix) else path.name
    scores: list[float] = []
    labels: list[int] = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        for row in reader:
            scores.append(float(row["anomaly_score"]))
            labels.append(int(float(row.get("label") or 0)))
    return ResultFile(f"{category}/{name}", np.array(scores), np.array(labels))


def read_results(folder: Path, detector: str) -> dict[str, ResultFile]:
    """Every per-file result of one detector under ``folder/<detector>/``, keyed by the data file's relpath."""
    out = {}
    for path in sorted((folder / detector).glob("*/*.csv")):
        r = read_result(path, detector)
        out[r.relpath] = r
    return out


def write_scores_table(path: Path, detector: str, result: ProfileResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(
            ["Detector", "Profile", "File", "Threshold", "Score", "TP", "TN", "FP", "FN", "Total_Count"]
        )
        for fs in result.files:
            w.writerow(
                [
                    detector,
                    result.profile,
                    fs.relpath,
                    fs.threshold,
                    fs.score,
                    fs.tp,
                    fs.tn,
                    fs.fp,
                    fs.fn,
                    fs.total,
                ]
            )
        t = result.totals()
        w.writerow(["Totals", "", "", "", t["score"], t["tp"], t["tn"], t["fp"], t["fn"], t["total"]])


@dataclass(frozen=True)
class PublishedFileScore:
    relpath: str
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int


def read_scores_table(path: Path) -> dict[str, PublishedFileScore]:
    """A ``<detector>_<profile>_scores.csv`` (ours or NAB's published one), without its Totals row."""
    out = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["Detector"] == "Totals" or not row.get("File"):
                continue
            out[row["File"]] = PublishedFileScore(
                relpath=row["File"],
                threshold=float(row["Threshold"]),
                score=float(row["Score"]),
                tp=int(row["TP"]),
                tn=int(row["TN"]),
                fp=int(row["FP"]),
                fn=int(row["FN"]),
            )
    return out
