"""``shizhi bench ai``: the text classifier's speed and size on one core.

1. Training on N texts (default 3,000): the fit as ``shizhi ai train --folds 0`` does it (features, classifier,
   3-fold probability calibration, stored in the registry); 5-fold cross-validation reported separately, with
   its macro-F1. Target: <= 60 s.
2. One text at a time through ``services.suggest`` (the intake desk's call: cache check, clean-up, features,
   scores, top 3) and through the bare classifier: p50 and p99. Target p50 <= 2 ms.
3. Batches of 1,000 texts: texts/s on one core. Target >= 2,000 texts/s.
4. Memory: the process's RSS before and after loading the active model, the stored artifact's size and the
   arrays' size in memory.
5. ``shizhi.ai.similar_bench.run(ctx)`` when that module exists (``--skip similar`` to leave it out).

Data: ``../shared/data/teddy2020/train.csv`` next to the repository when it is there (title + detail, else
text_concat; label 一级标签), repeated to N rows if it has fewer; else generated hotline messages (the topics of
``shizhi bench hotline``), labelled by first-level category. The process is pinned to one CPU.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from shizhi.core import benchmarks
from shizhi.core.benchmarks import BenchContext

DEFAULT_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "teddy2020" / "train.csv"
TRAIN_TARGET_S = 60.0
SINGLE_TARGET_MS = 2.0
BATCH_TARGET = 2000.0
F1_TARGET = 0.90
BATCH = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None, help=f"labelled CSV/XLSX (default {DEFAULT_DATA} if present)")
    parser.add_argument(
        "--text", default="留言主题,留言详情", help="text columns (default 留言主题,留言详情)"
    )
    parser.add_argument(
        "--fallback-text", default="text_concat", help="used where the text columns are empty"
    )
    parser.add_argument("--label", default="一级标签", help="label column (default 一级标签)")
    parser.add_argument("--texts", type=int, default=3000, help="training texts (default 3000)")
    parser.add_argument("--pipeline", default=None, help="classifier (default: the default pipeline)")
    parser.add_argument("--single", type=int, default=1000, help="texts for the one-at-a-time latency")
    parser.add_argument(
        "--generated", action="store_true", help="use generated texts even if the data is there"
    )
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: cv, similar")


def _rss_bytes() -> int:
    """Resident memory of this process now (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


_LOAD_SCRIPT = """
import sys
from pathlib import Path
from shizhi.ai.bench import _rss_bytes
from shizhi.ai.classifier import TextClassifier
before = _rss_bytes()
model = TextClassifier.from_bytes(Path(sys.argv[1]).read_bytes())
model.top(sys.argv[2], 3)
print(before, _rss_bytes())
"""


def _fresh_load_rss(artifact: bytes, folder: Path, text: str) -> tuple[int, int]:
    """RSS of a new Python process (numpy and scipy imported) before and after loading the model and
    classifying one text: what a model costs a server process, without this process's leftovers."""
    import subprocess
    import sys

    path = folder / "bench-model.npz"
    path.write_bytes(artifact)
    try:
        out = subprocess.run(
            [sys.executable, "-c", _LOAD_SCRIPT, str(path), text], capture_output=True, text=True, check=True
        ).stdout.split()
    finally:
        path.unlink(missing_ok=True)
    return int(out[0]), int(out[1])


def _pin_one_core() -> int | None:
    """Run on a single CPU, so that throughput means one core's worth."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return cpus[-1]
    except (AttributeError, OSError):
        return None


def generated_texts(n: int, seed: int = 1) -> tuple[list[str], list[str]]:
    """Hotline messages like citizens write them, labelled by first-level category."""
    from shizhi.hotline.bench import ASKS, GROUPS, ROADS, TOPICS

    top = {code: name for code, name, parent in GROUPS if parent is None}
    parent_of = {code: parent for code, _, parent in GROUPS}
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        topic = rng.choice(TOPICS)
        root = topic.parent
        while parent_of.get(root):
            root = parent_of[root] or root
        place = f"{rng.choice(ROADS)}{rng.randint(1, 300)}号"
        texts.append(
            f"{rng.choice(topic.titles)} {rng.choice(topic.facts).format(p=place)}{rng.choice(ASKS)}"
        )
        labels.append(top[root])
    return texts, labels


def _data(opts: dict[str, Any], n: int, write: Any) -> tuple[list[str], list[str], str]:
    from shizhi.ai.datasets import check_trainable, read_labelled

    path = Path(opts["data"]) if opts.get("data") else DEFAULT_DATA
    if opts.get("generated") or not path.is_file():
        if opts.get("data"):
            raise benchmarks.BenchError(f"no such file: {path}")
        texts, labels = generated_texts(n)
        write(f"data: {n} generated hotline messages ({len(set(labels))} labels); {DEFAULT_DATA} not used")
        return texts, labels, "generated"
    data = read_labelled(
        path, text=opts["text"], label=opts["label"], fallback_text=opts.get("fallback_text")
    )
    data = check_trainable(data, folds=5, drop_rare=True)
    real = len(data)
    texts = [data.texts[i % real] for i in range(n)]
    labels = [data.labels[i % real] for i in range(n)]
    write(
        f"data: {path.name}: {real} labelled rows, {len(data.counts())} labels"
        + (f"; repeated to {n} texts for the training figure" if n > real else f"; first {n} used")
    )
    return texts, labels, path.name


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def run(ctx: BenchContext) -> dict[str, Any]:
    from shizhi.ai import runtime, services
    from shizhi.ai.datasets import LabelledTexts, check_trainable
    from shizhi.ai.evaluation import cross_validate
    from shizhi.ai.pipelines import DEFAULT_PIPELINE, spec_for

    opts, write, repeat = ctx.options, ctx.write, ctx.repeat
    n = int(opts.get("texts") or 3000)
    if n < 20:
        raise benchmarks.BenchError("--texts must be at least 20")
    skip = {s.strip() for s in str(opts.get("skip") or "").split(",") if s.strip()}
    pipeline = opts.get("pipeline") or DEFAULT_PIPELINE
    core = _pin_one_core()
    write(f"pinned to CPU {core}" if core is not None else "could not pin to one CPU")
    texts, labels, source = _data(opts, n, write)
    result: dict[str, Any] = {"pipeline": pipeline, "texts": n, "data": source, "cpu": core, "targets": []}
    targets: list[dict[str, Any]] = result["targets"]

    # 1. training ------------------------------------------------------------------------------------------
    data = check_trainable(LabelledTexts(texts=texts, labels=labels, source=source), folds=3, drop_rare=True)
    fits: list[float] = []
    model = None
    for i in range(max(1, min(repeat, 3))):
        started = time.perf_counter()
        trained = services.model_train(
            actor=None, task="category", name="bench", data=data, pipeline=pipeline, folds=0, activate=True
        )
        fits.append(time.perf_counter() - started)
        model = trained.model
        write(f"  train {i + 1}: {fits[-1]:.2f} s")
    assert model is not None
    fit = statistics.median(fits)
    ok = fit <= TRAIN_TARGET_S
    targets.append({"name": "train", "value_s": round(fit, 2), "target_s": TRAIN_TARGET_S, "met": ok})
    result["train"] = {
        "median_s": round(fit, 3),
        "samples_s": [round(s, 3) for s in fits],
        "features": model.metrics["training"]["features"],
        "labels": len(model.labels),
        "artifact_bytes": model.artifact_size,
    }
    write(
        f"train on {len(data)} texts (features + fit + 3-fold calibration + store): {fit:.2f} s median "
        f"({model.metrics['training']['features']:,} features, {len(model.labels)} labels, artifact "
        f"{model.artifact_size / 1024:,.0f} KB)  target <= {TRAIN_TARGET_S:.0f} s: {'OK' if ok else 'MISSED'}"
    )
    if "cv" not in skip:
        # CV on the distinct rows in their order (as `shizhi ai train` sees the file), not the repeated ones.
        real = list(dict.fromkeys(zip(texts, labels, strict=True)))
        cv_texts, cv_labels = [t for t, _ in real], [label for _, label in real]
        cv_data = check_trainable(
            LabelledTexts(texts=cv_texts, labels=cv_labels, source=source), folds=5, drop_rare=True
        )
        cv = cross_validate(spec_for(pipeline), cv_data.texts, cv_data.labels, folds=5, seed=0)
        result["cv"] = {
            "rows": len(cv_data),
            "seconds": round(cv.seconds, 2),
            "macro_f1": cv.metrics["macro_f1"],
            "accuracy": cv.metrics["accuracy"],
            "top3_accuracy": cv.metrics["top3_accuracy"],
        }
        line = (
            f"5-fold stratified CV on {len(cv_data)} distinct rows: {cv.seconds:.1f} s; macro-F1 "
            f"{cv.metrics['macro_f1']:.4f}, accuracy {cv.metrics['accuracy']:.4f}, top-3 "
            f"{cv.metrics['top3_accuracy']:.4f}"
        )
        if source != "generated":
            f1_ok = cv.metrics["macro_f1"] >= F1_TARGET
            targets.append(
                {"name": "cv_macro_f1", "value": cv.metrics["macro_f1"], "target": F1_TARGET, "met": f1_ok}
            )
            line += f"  target >= {F1_TARGET:.2f}: {'OK' if f1_ok else 'MISSED'}"
        write(line)

    # 4. memory: a fresh process loads the stored artifact ------------------------------------------------
    runtime.clear()
    started = time.perf_counter()
    services.suggest(texts[0], tasks=("category",))
    load_s = time.perf_counter() - started
    classifier = runtime.unpack(model)
    in_memory = sum(w.nbytes for w in classifier.weights) + sum(
        sum(a.nbytes for a in b.state().values()) for b in classifier.blocks
    )
    before, after = _fresh_load_rss(bytes(model.artifact), ctx.scratch_dir, texts[0])
    result["memory"] = {
        "fresh_process_rss_before_mb": round(before / 2**20, 1),
        "fresh_process_rss_after_mb": round(after / 2**20, 1),
        "rss_delta_mb": round((after - before) / 2**20, 2),
        "arrays_mb": round(in_memory / 2**20, 2),
        "artifact_kb": round(model.artifact_size / 1024, 1),
        "first_suggest_ms": round(1000 * load_s, 1),
    }
    write(
        f"memory: a fresh process goes from RSS {before / 2**20:,.1f} MB to {after / 2**20:,.1f} MB on loading the "
        f"model and classifying a text (+{(after - before) / 2**20:.1f} MB); the model's arrays {in_memory / 2**20:.2f} MB; "
        f"stored artifact {model.artifact_size / 1024:,.0f} KB; first suggest (reads and unpacks it) {1000 * load_s:.0f} ms"
    )

    # 2. one text at a time --------------------------------------------------------------------------------
    count = max(10, min(int(opts.get("single") or 1000), len(texts)))
    sample = random.Random(7).sample(range(len(texts)), count)
    for i in sample[:20]:
        services.suggest(texts[i], tasks=("category",))
    through_service, bare = [], []
    for i in sample:
        started = time.perf_counter()
        services.suggest(texts[i], tasks=("category",))
        through_service.append(time.perf_counter() - started)
        started = time.perf_counter()
        classifier.top(texts[i], 3)
        bare.append(time.perf_counter() - started)
    p50, p99 = 1000 * _percentile(through_service, 50), 1000 * _percentile(through_service, 99)
    ok = p50 <= SINGLE_TARGET_MS
    targets.append(
        {"name": "single_p50", "value_ms": round(p50, 3), "target_ms": SINGLE_TARGET_MS, "met": ok}
    )
    result["single"] = {
        "texts": count,
        "mean_chars": round(statistics.mean(len(texts[i]) for i in sample), 1),
        "suggest_p50_ms": round(p50, 3),
        "suggest_p99_ms": round(p99, 3),
        "classifier_p50_ms": round(1000 * _percentile(bare, 50), 3),
        "classifier_p99_ms": round(1000 * _percentile(bare, 99), 3),
    }
    write(
        f"one text ({count} texts, mean {result['single']['mean_chars']:.0f} chars): suggest p50 {p50:.3f} ms, "
        f"p99 {p99:.3f} ms; bare classifier p50 {result['single']['classifier_p50_ms']:.3f} ms, p99 "
        f"{result['single']['classifier_p99_ms']:.3f} ms  target p50 <= {SINGLE_TARGET_MS:.0f} ms: "
        f"{'OK' if ok else 'MISSED'}"
    )

    # 3. batches ------------------------------------------------------------------------------------------
    def batches() -> None:
        for start in range(0, len(texts), BATCH):
            classifier.top_many(texts[start : start + BATCH], 3)

    rounds = []
    batches()
    for _ in range(repeat):
        started = time.perf_counter()
        batches()
        rounds.append(time.perf_counter() - started)
    rate = len(texts) / statistics.median(rounds)
    ok = rate >= BATCH_TARGET
    targets.append({"name": "batch", "value_per_s": round(rate), "target_per_s": BATCH_TARGET, "met": ok})
    result["batch"] = {"texts": len(texts), "batch": BATCH, "texts_per_s": round(rate, 1), "rounds_s": rounds}
    write(
        f"batch: {len(texts)} texts in batches of {BATCH}: {rate:,.0f} texts/s on one core (median of {repeat})"
        f"  target >= {BATCH_TARGET:,.0f}: {'OK' if ok else 'MISSED'}"
    )

    # 5. similar cases (another module) ----------------------------------------------------------------------
    if "similar" not in skip:
        try:
            similar = importlib.import_module("shizhi.ai.similar_bench")
        except ModuleNotFoundError as exc:
            if exc.name != "shizhi.ai.similar_bench":
                raise
            similar = None
        if similar is not None and callable(getattr(similar, "run", None)):
            write("== similar cases (shizhi.ai.similar_bench) ==")
            result["similar"] = similar.run(ctx)

    missed = [t["name"] for t in targets if not t["met"]]
    write(
        f"targets: {len(targets) - len(missed)} of {len(targets)} met"
        + (f"; missed: {', '.join(missed)}" if missed else "")
    )
    return result


benchmarks.register(
    benchmarks.Benchmark(
        name="ai",
        help="智能辅助：文本分类模型的训练耗时、单条与批量预测速度、内存（单核）",
        add_arguments=add_arguments,
        run=run,
    )
)
