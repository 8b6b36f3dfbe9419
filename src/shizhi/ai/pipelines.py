"""The candidate pipelines (候选模型), compared by cross-validation with ``shizhi ai compare``; the winner is the
default of ``shizhi ai train``. The comparison on the 泰迪杯 messages is in docs/ai.md.

Each is a JSON spec for :class:`shizhi.ai.classifier.TextClassifier`: feature blocks and linear heads."""

from __future__ import annotations

import copy
from typing import Any

CHAR13 = {"kind": "char", "ngram": [1, 3], "min_df": 1}
CHAR24 = {"kind": "char", "ngram": [2, 4], "min_df": 1}
CHAR12_DF5 = {"kind": "char", "ngram": [1, 2], "min_df": 5}
CHAR13_DF5 = {"kind": "char", "ngram": [1, 3], "min_df": 5}
WORDS_DF2 = {"kind": "words", "min_df": 2}

CANDIDATES: dict[str, dict[str, Any]] = {
    # The reference: plain TF-IDF over character 1-3-grams + linear SVM.
    "svm-char13": {"features": [CHAR13], "heads": [{"kind": "svm", "C": 1.0}]},
    "svm-char24": {"features": [CHAR24], "heads": [{"kind": "svm", "C": 1.0}]},
    "svm-char12-df5": {"features": [CHAR12_DF5], "heads": [{"kind": "svm", "C": 1.0}]},
    "svm-char13-words": {"features": [CHAR13, WORDS_DF2], "heads": [{"kind": "svm", "C": 1.0}]},
    "lr-char12-df5": {"features": [CHAR12_DF5], "heads": [{"kind": "lr", "C": 10.0}]},
    "sgd-char13": {"features": [CHAR13], "heads": [{"kind": "sgd", "alpha": 2e-5}]},
    "cnb-char12-df5": {"features": [CHAR12_DF5], "heads": [{"kind": "cnb", "alpha": 0.1}]},
    "nbsvm-char13-df5": {"features": [CHAR13_DF5], "heads": [{"kind": "nbsvm", "C": 1.0}]},
    # The winner: NB-SVM over character 1-2-grams seen in >= 5 messages.
    "nbsvm-char12-df5": {"features": [CHAR12_DF5], "heads": [{"kind": "nbsvm", "C": 1.0}]},
    "nbsvm-char12-df5-words": {"features": [CHAR12_DF5, WORDS_DF2], "heads": [{"kind": "nbsvm", "C": 1.0}]},
    # An ensemble: NB-SVM and linear SVM averaged (probabilities).
    "ensemble-nbsvm-svm": {
        "features": [CHAR12_DF5],
        "heads": [{"kind": "nbsvm", "C": 1.0}, {"kind": "svm", "C": 1.0}],
    },
}

DEFAULT_PIPELINE = "nbsvm-char12-df5"


def spec_for(name: str) -> dict[str, Any]:
    """A copy of a candidate's spec (KeyError for an unknown name)."""
    return copy.deepcopy(CANDIDATES[name])
