"""The text classifier (文本分类器): feature blocks (``features``) and one or more linear heads over them.

Every candidate we compare is linear in the features (linear SVM, NB-SVM, logistic regression, SGD, complement
naive Bayes), so a fitted model is just arrays: per head a weight matrix ``W`` (features x classes), a bias and a
probability scale. Probabilities are a softmax of ``scale * (X W + b)`` whose one scale per head is fitted on
out-of-fold scores (temperature scaling: the ranking of the labels is the model's, the numbers are calibrated);
an ensemble averages its heads' probabilities. The arrays are saved as an ``.npz`` archive loaded with
``allow_pickle=False``: a stored model can never execute code when it is read back.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar

from shizhi.ai.features import FeatureBlock, make_block

FORMAT = "shizhi.ai.text-classifier/1"


class ArtifactError(ValueError):
    """A stored model that is not one of ours, or damaged."""


# ------------------------------------------------------------------------------------------------------------
# Heads: each returns W (features x classes) and b (classes), for labels 0..k-1
# ------------------------------------------------------------------------------------------------------------


def _expand(
    coef: np.ndarray, intercept: np.ndarray, seen: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weights for all k classes from an estimator fitted on the classes ``seen`` (a fold may lack one);
    a binary estimator's single row becomes two opposite columns."""
    coef = np.atleast_2d(coef)
    intercept = np.atleast_1d(intercept)
    if coef.shape[0] == 1 and len(seen) == 2:
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weights = np.zeros((coef.shape[1], k), dtype=np.float64)
    bias = np.full(k, -1e3, dtype=np.float64)  # a class the estimator never saw is never chosen
    for row, cls in enumerate(seen):
        weights[:, int(cls)] = coef[row]
        bias[int(cls)] = intercept[row] if len(intercept) > row else 0.0
    return weights, bias


def _fit_svm(x: Any, y: np.ndarray, k: int, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.svm import LinearSVC

    model = LinearSVC(C=p.get("C", 1.0), class_weight=p.get("class_weight"), max_iter=5000, random_state=seed)
    model.fit(x, y)
    return _expand(model.coef_, model.intercept_, model.classes_, k)


def _fit_lr(x: Any, y: np.ndarray, k: int, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=p.get("C", 10.0), max_iter=p.get("max_iter", 300), random_state=seed)
    model.fit(x, y)
    return _expand(model.coef_, model.intercept_, model.classes_, k)


def _fit_sgd(x: Any, y: np.ndarray, k: int, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import SGDClassifier

    model = SGDClassifier(
        loss=p.get("loss", "modified_huber"),
        alpha=p.get("alpha", 2e-5),
        max_iter=50,
        tol=1e-4,
        random_state=seed,
    )
    model.fit(x, y)
    return _expand(model.coef_, model.intercept_, model.classes_, k)


def _fit_cnb(x: Any, y: np.ndarray, k: int, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.naive_bayes import ComplementNB

    model = ComplementNB(alpha=p.get("alpha", 0.3))
    model.fit(x, y)
    return _expand(model.feature_log_prob_, np.zeros(len(model.classes_)), model.classes_, k)


def _fit_nbsvm(x: Any, y: np.ndarray, k: int, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """NB-SVM (Wang & Manning 2012), one-vs-rest: each class's SVM sees the features scaled by their naive-Bayes
    log-count ratio for that class, so words typical of a class count more. Folded back into plain weights."""
    from sklearn.svm import LinearSVC

    alpha = p.get("alpha", 1.0)
    present = x.copy()
    present.data[:] = 1.0
    weights = np.zeros((x.shape[1], k), dtype=np.float64)
    bias = np.full(k, -1e3, dtype=np.float64)
    for cls in range(k):
        mine = y == cls
        if not mine.any():
            continue
        pos = alpha + np.asarray(present[mine].sum(axis=0)).ravel()
        neg = alpha + np.asarray(present[~mine].sum(axis=0)).ravel()
        ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
        if mine.all():
            bias[cls] = 0.0
            continue
        svm = LinearSVC(C=p.get("C", 1.0), max_iter=5000, random_state=seed)
        svm.fit(x.multiply(ratio).tocsr(), mine.astype(np.int64))
        weights[:, cls] = ratio * svm.coef_[0]
        bias[cls] = svm.intercept_[0]
    return weights, bias


HEADS = {"svm": _fit_svm, "lr": _fit_lr, "sgd": _fit_sgd, "cnb": _fit_cnb, "nbsvm": _fit_nbsvm}


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    result: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return result


def fit_scale(scores: np.ndarray, y: np.ndarray) -> float:
    """The probability scale (1 / temperature) that minimises the log-loss of softmax(scale * scores)."""
    if len(y) == 0 or scores.shape[0] != len(y) or scores.shape[1] < 2:
        return 1.0  # nothing to calibrate on (e.g. a label with one example: no internal split)
    rows = np.arange(len(y))

    def loss(log_scale: float) -> float:
        z = scores * np.exp(log_scale)
        z = z - z.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(z).sum(axis=1))
        return float(np.mean(log_norm - z[rows, y]))

    result = minimize_scalar(loss, bounds=(np.log(1e-3), np.log(1e3)), method="bounded")
    return float(np.exp(result.x))


# ------------------------------------------------------------------------------------------------------------
# The classifier
# ------------------------------------------------------------------------------------------------------------


class TextClassifier:
    """``TextClassifier(spec).fit(texts, labels)``; ``predict_proba``, ``top``; ``to_bytes`` / ``from_bytes``.

    ``spec`` = ``{"features": [block params...], "heads": [{"kind": "nbsvm", "C": 1.0}, ...]}``
    (see :mod:`shizhi.ai.pipelines`)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = json.loads(json.dumps(spec))  # a private, JSON-clean copy
        if not self.spec.get("features") or not self.spec.get("heads"):
            raise ValueError("a classifier needs at least one feature block and one head")
        for head in self.spec["heads"]:
            if head["kind"] not in HEADS:
                raise ValueError(f"unknown head {head['kind']!r}")
        self.blocks: list[FeatureBlock] = [make_block(p) for p in self.spec["features"]]
        self.classes: list[str] = []
        self.weights: list[np.ndarray] = []  # per head, features x classes (float32)
        self.biases: list[np.ndarray] = []
        self.scales: list[float] = []

    # -- features ------------------------------------------------------------------------------------------
    def _stack(self, parts: list[Any]) -> Any:
        return parts[0] if len(parts) == 1 else sp.hstack(parts, format="csr")

    def features(self, texts: Sequence[str]) -> Any:
        return self._stack([b.transform(texts) for b in self.blocks])

    @property
    def n_features(self) -> int:
        return sum(b.size for b in self.blocks)

    # -- fitting -------------------------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        classes: Sequence[str] | None = None,
        calibration_scores: list[np.ndarray] | None = None,
        calibration_folds: int = 3,
        seed: int = 0,
    ) -> TextClassifier:
        """Fit on ``texts``/``labels``. Probability scales come from ``calibration_scores`` (out-of-fold scores
        per head, e.g. from cross-validation), else from an internal ``calibration_folds``-fold split, else 1."""
        self.classes = sorted(set(classes if classes is not None else labels))
        index = {c: i for i, c in enumerate(self.classes)}
        y = np.array([index[label] for label in labels], dtype=np.int64)
        x = self._stack([b.fit_transform(texts) for b in self.blocks])
        self.weights, self.biases = [], []
        for head in self.spec["heads"]:
            w, b = self._fit_head(head, x, y, seed)
            self.weights.append(w.astype(np.float32))
            self.biases.append(b)
        if calibration_scores is not None:
            self.scales = [fit_scale(s, y) for s in calibration_scores]
        elif calibration_folds >= 2:
            self.scales = [fit_scale(s, y) for s in self._internal_scores(x, y, calibration_folds, seed)]
        else:
            self.scales = [1.0] * len(self.weights)
        return self

    def _fit_head(
        self, head: dict[str, Any], x: Any, y: np.ndarray, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        params = {k: v for k, v in head.items() if k != "kind"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on tiny training sets
            return HEADS[head["kind"]](x, y, len(self.classes), params, seed)

    def _internal_scores(self, x: Any, y: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
        """Out-of-fold raw scores per head on the already computed features (for the probability scales)."""
        from sklearn.model_selection import StratifiedKFold

        counts = np.bincount(y, minlength=len(self.classes))
        folds = min(folds, int(counts.min()))
        scores = [np.zeros((len(y), len(self.classes))) for _ in self.spec["heads"]]
        if folds < 2:
            return [s[:0] for s in scores]
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for train, test in splitter.split(np.zeros(len(y)), y):
            for h, head in enumerate(self.spec["heads"]):
                w, b = self._fit_head(head, x[train], y[train], seed)
                scores[h][test] = x[test] @ w + b
        return scores

    # -- predicting ----------------------------------------------------------------------------------------
    def raw_scores(self, x: Any) -> list[np.ndarray]:
        # Same dtype on both sides: float64 features times float32 weights would copy the whole weight matrix
        # to float64 on every call (milliseconds for a large vocabulary).
        x = x.astype(np.float32)
        return [
            np.asarray(x @ w, dtype=np.float64) + b for w, b in zip(self.weights, self.biases, strict=True)
        ]

    def proba_from_scores(self, scores: list[np.ndarray]) -> np.ndarray:
        probs = [softmax(s * scale) for s, scale in zip(scores, self.scales, strict=True)]
        return probs[0] if len(probs) == 1 else np.mean(probs, axis=0)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.proba_from_scores(self.raw_scores(self.features(texts)))

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.classes[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def top(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable labels of one text, with their probabilities."""
        return self.top_many([text], k)[0]

    def top_many(self, texts: Sequence[str], k: int = 3) -> list[list[tuple[str, float]]]:
        probs = self.predict_proba(texts)
        k = min(k, len(self.classes))
        best = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return [
            [(self.classes[j], round(float(row[j]), 4)) for j in order]
            for row, order in zip(probs, best, strict=True)
        ]

    def top_features(self, n: int = 8) -> dict[str, list[str]]:
        """Per class, the features that speak most for it (first head): what the model learned, for people."""
        out: dict[str, list[str]] = {}
        if not self.weights:
            return out
        weights = self.weights[0]
        offsets = np.cumsum([0] + [b.size for b in self.blocks])
        for c, label in enumerate(self.classes):
            names = []
            for col in np.argsort(-weights[:, c])[:n]:
                block = int(np.searchsorted(offsets, col, side="right") - 1)
                names.extend(self.blocks[block].names([int(col - offsets[block])]))
            out[label] = names
        return out

    # -- storing -------------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        meta = {
            "format": FORMAT,
            "spec": self.spec,
            "min_df_used": [b.min_df_used for b in self.blocks],
            "scales": self.scales,
        }
        arrays: dict[str, np.ndarray] = {
            "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
            "classes": np.array(self.classes, dtype=str),
        }
        for i, block in enumerate(self.blocks):
            for key, value in block.state().items():
                arrays[f"f{i}_{key}"] = value
        for h, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"h{h}_weights"] = w
            arrays[f"h{h}_bias"] = b
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TextClassifier:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        except (ValueError, OSError, KeyError, UnicodeDecodeError, EOFError) as exc:
            raise ArtifactError(f"not a stored text classifier: {exc}") from exc
        if meta.get("format") != FORMAT:
            raise ArtifactError(f"unknown model format {meta.get('format')!r}")
        model = cls(meta["spec"])
        model.classes = [str(c) for c in arrays["classes"].tolist()]
        for i, block in enumerate(model.blocks):
            prefix = f"f{i}_"
            block.load_state({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
            block.min_df_used = int(meta["min_df_used"][i])
        heads = len(model.spec["heads"])
        model.weights = [arrays[f"h{h}_weights"].astype(np.float32) for h in range(heads)]
        model.biases = [arrays[f"h{h}_bias"].astype(np.float64) for h in range(heads)]
        model.scales = [float(s) for s in meta["scales"]]
        if any(w.shape != (model.n_features, len(model.classes)) for w in model.weights):
            raise ArtifactError("weights do not match the features and classes")
        return model
