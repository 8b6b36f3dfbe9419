"""Measuring a classifier (评估): stratified k-fold cross-validation and the figures we report — accuracy,
macro-F1, top-3 accuracy, per-class precision/recall/F1, and the confusion matrix."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shizhi.ai.classifier import TextClassifier, fit_scale, softmax


def metrics(
    y_true: Sequence[str], y_pred: Sequence[str], *, top3: Sequence[Sequence[str]] | None = None
) -> dict[str, Any]:
    """The figures of one set of predictions. Labels: every label that is true or predicted, sorted."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    labels = sorted(set(y_true) | set(y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    out: dict[str, Any] = {
        "rows": len(y_true),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(
            float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4
        ),
        "weighted_f1": round(
            float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)), 4
        ),
        "per_class": [
            {
                "label": label,
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        ],
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        },
    }
    if top3 is not None:
        hits = sum(1 for truth, best in zip(y_true, top3, strict=True) if truth in best)
        out["top3_accuracy"] = round(hits / len(y_true), 4) if y_true else 0.0
    return out


@dataclass
class CvResult:
    folds: int
    seed: int
    scores: list[
        np.ndarray
    ]  # out-of-fold raw scores per head (rows x classes), for calibrating the final model
    classes: list[str]
    metrics: dict[str, Any]
    fold_macro_f1: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "folds": self.folds,
            "seed": self.seed,
            "macro_f1_folds": self.fold_macro_f1,
            "macro_f1_std": round(float(np.std(self.fold_macro_f1)), 4) if self.fold_macro_f1 else None,
            "seconds": round(self.seconds, 1),
            **self.metrics,
        }


def cross_validate(
    spec: dict[str, Any],
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> CvResult:
    """Stratified ``folds``-fold cross-validation of a fresh classifier per fold (features fitted on the
    training part only). Probabilities use one scale per head fitted on the out-of-fold scores."""
    from sklearn.model_selection import StratifiedKFold

    started = time.perf_counter()
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[label] for label in labels], dtype=np.int64)
    text_array = np.array(texts, dtype=object)
    heads = len(spec["heads"])
    scores = [np.zeros((len(y), len(classes))) for _ in range(heads)]
    fold_f1: list[float] = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for n, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y), start=1):
        model = TextClassifier(spec).fit(
            list(text_array[train]),
            [labels[i] for i in train],
            classes=classes,
            calibration_folds=0,
            seed=seed,
        )
        fold_scores = model.raw_scores(model.features(list(text_array[test])))
        for h in range(heads):
            scores[h][test] = fold_scores[h]
        if progress is not None:
            progress(n, folds)
    scales = [fit_scale(s, y) for s in scores]
    probs = [softmax(s * scale) for s, scale in zip(scores, scales, strict=True)]
    proba = probs[0] if heads == 1 else np.mean(probs, axis=0)
    predicted = proba.argmax(axis=1)
    for _, test in splitter.split(np.zeros(len(y)), y):
        fold_f1.append(
            metrics([classes[i] for i in y[test]], [classes[i] for i in predicted[test]])["macro_f1"]
        )
    best3 = np.argsort(-proba, axis=1)[:, :3]
    result = metrics(
        [classes[i] for i in y],
        [classes[i] for i in predicted],
        top3=[[classes[j] for j in row] for row in best3],
    )
    result["log_loss"] = round(float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, 1)))), 4)
    return CvResult(
        folds=folds,
        seed=seed,
        scores=scores,
        classes=classes,
        metrics=result,
        fold_macro_f1=fold_f1,
        seconds=time.perf_counter() - started,
    )
