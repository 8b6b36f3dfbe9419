"""Reading a corpus in the layout of the Numenta Anomaly Benchmark (NAB): ``data/<category>/<name>.csv`` with the
columns ``timestamp,value``, ``labels/combined_windows.json`` (anomaly windows per file, keyed by
``<category>/<name>.csv``) and, when present, ``config/profiles.json`` (the cost matrices of the profiles).

Any folder in this layout works, so the same command scores NAB itself and other labelled corpora (the city's
sensor series with injected faults).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from shizhi.warning.nab.scorer import STANDARD_PROFILES, CostProfile


class CorpusError(ValueError):
    """The folder is not in NAB's layout, or a file in it cannot be read; the message says which and why."""


@dataclass
class Series:
    """One data file: timestamps as written (for the results files), parsed, and the values."""

    relpath: str  # "<category>/<name>.csv", the key of the labels
    stamps: list[str]
    times: list[datetime]
    values: np.ndarray
    raw_values: list[str]  # the values as written, copied unchanged into the results files

    @property
    def category(self) -> str:
        return self.relpath.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]

    def __len__(self) -> int:
        return len(self.stamps)


@dataclass
class Corpus:
    """A labelled corpus: where it is, which files it has, their windows and the scoring profiles."""

    root: Path
    relpaths: list[str]
    windows: dict[str, list[tuple[datetime, datetime]]]
    profiles: dict[str, CostProfile] = field(default_factory=lambda: dict(STANDARD_PROFILES))
    profiles_source: str = "built-in"

    def read(self, relpath: str) -> Series:
        return read_series(self.root / "data" / relpath, relpath)

    def __iter__(self) -> Iterator[Series]:
        for relpath in self.relpaths:
            yield self.read(relpath)

    @property
    def window_count(self) -> int:
        return sum(len(self.windows.get(p, [])) for p in self.relpaths)


def parse_time(text: str) -> datetime:
    """NAB writes ``2014-04-10 07:15:00`` in the data and ``2014-04-10 07:15:00.000000`` in the labels."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise CorpusError(f"not a timestamp: {text!r}") from exc


def read_series(path: Path, relpath: str) -> Series:
    stamps: list[str] = []
    raw: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = [h.strip().lower() for h in next(reader, [])]
            if "timestamp" not in header or "value" not in header:
                raise CorpusError(f"{path}: the header must have the columns timestamp and value")
            it, iv = header.index("timestamp"), header.index("value")
            for row in reader:
                if not row:
                    continue
                stamps.append(row[it].strip())
                raw.append(row[iv].strip())
    except OSError as exc:
        raise CorpusError(f"{path}: {exc}") from exc
    times = [parse_time(s) for s in stamps]
    try:
        values = np.array([float(v) if v else np.nan for v in raw], dtype=float)
    except ValueError as exc:
        raise CorpusError(f"{path}: a value is not a number ({exc})") from exc
    return Series(relpath=relpath, stamps=stamps, times=times, values=values, raw_values=raw)


def read_profiles(path: Path) -> dict[str, CostProfile]:
    data = json.loads(path.read_text(encoding="utf-8"))
    profiles = {}
    for name, body in data.items():
        m = body.get("CostMatrix", body)
        profiles[name] = CostProfile(
            name=name,
            tp_weight=float(m["tpWeight"]),
            fp_weight=float(m["fpWeight"]),
            fn_weight=float(m["fnWeight"]),
        )
    if not profiles:
        raise CorpusError(f"{path}: no profiles")
    return profiles


def load_corpus(root: Path | str) -> Corpus:
    """Find the data files and read the labels (and profiles) of a corpus in NAB's layout."""
    root = Path(root)
    data_dir = root / "data"
    labels = root / "labels" / "combined_windows.json"
    if not data_dir.is_dir():
        raise CorpusError(f"{root}: no data/ folder (NAB layout: data/<category>/<name>.csv)")
    if not labels.is_file():
        raise CorpusError(f"{root}: no labels/combined_windows.json")
    relpaths = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.glob("*/*.csv"))
    if not relpaths:
        raise CorpusError(f"{data_dir}: no data/<category>/<name>.csv files")
    raw_windows = json.loads(labels.read_text(encoding="utf-8"))
    windows: dict[str, list[tuple[datetime, datetime]]] = {}
    for relpath in relpaths:
        pairs = raw_windows.get(relpath, [])
        windows[relpath] = sorted((parse_time(a), parse_time(b)) for a, b in pairs)
    corpus = Corpus(root=root, relpaths=relpaths, windows=windows)
    profiles = root / "config" / "profiles.json"
    if profiles.is_file():
        corpus.profiles = read_profiles(profiles)
        corpus.profiles_source = str(profiles)
    return corpus
