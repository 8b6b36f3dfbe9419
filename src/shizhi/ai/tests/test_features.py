"""The pieces under the classifier: text clean-up, the numpy TF-IDF (exactly scikit-learn's), the id table,
jieba words, and the stored artifact (npz, no pickle), which is refused when it is not ours."""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from shizhi.ai.classifier import ArtifactError, TextClassifier
from shizhi.ai.features import CharNgrams, IdTable, Words, min_df_for, words
from shizhi.ai.pipelines import spec_for
from shizhi.ai.tests.factories import HELD_OUT, messages
from shizhi.ai.text import join_text, normalize_text


def test_normalize_text_strips_export_noise() -> None:
    assert normalize_text("_x000D_\n\t\t\t停水了 \u3000\u3000三天_x000D_\n\t") == "停水了 三天"
    assert normalize_text(None) == "" and normalize_text("  \n\t ") == ""
    assert join_text(["  标题 ", None, "\n\t内容\r\n"]) == "标题 内容"


@pytest.mark.parametrize(("ngram", "min_df"), [((1, 3), 1), ((1, 2), 2), ((2, 4), 1)])
def test_char_ngrams_equal_scikit_learn_tfidf(ngram: tuple[int, int], min_df: int, monkeypatch: Any) -> None:
    # The floor applies as given (not lowered for a small corpus), to compare it with scikit-learn's.
    monkeypatch.setattr("shizhi.ai.features.min_df_for", lambda n_docs, wanted: wanted)
    texts = [normalize_text(t) for t in messages().texts]
    train, test = texts[:70], texts[70:]
    ours = CharNgrams(ngram=ngram, min_df=min_df)
    a_train, a_test = ours.fit_transform(train), ours.transform(test)
    ref = TfidfVectorizer(analyzer="char", ngram_range=ngram, min_df=min_df)
    b_train, b_test = ref.fit_transform(train), ref.transform(test)
    assert a_train.shape == b_train.shape
    order = [ref.vocabulary_[name] for name in ours.names(range(ours.size))]
    assert np.abs(a_train - b_train[:, order]).max() < 1e-12
    assert np.abs(a_test - b_test[:, order]).max() < 1e-12


def test_char_ngrams_leave_out_unknown_characters_and_empty_texts() -> None:
    block = CharNgrams(ngram=(1, 2))
    block.fit_transform(["停水", "路灯"])
    matrix = block.transform(["停电", "", "😀😀"])
    assert sorted(block.names(matrix[0].indices)) == ["停"]
    assert matrix[1].nnz == 0 and matrix[2].nnz == 0
    assert abs(np.linalg.norm(matrix[0].toarray()) - 1.0) < 1e-12


def test_min_df_shrinks_on_small_corpora() -> None:
    assert (min_df_for(100, 5), min_df_for(600, 5), min_df_for(2788, 5)) == (1, 3, 5)


def test_id_table_finds_every_id_and_nothing_else() -> None:
    ids = np.unique(np.random.default_rng(1).integers(0, 10**12, 5000))
    table = IdTable(ids)
    assert (table.lookup(ids) == np.arange(len(ids))).all()
    assert (table.lookup(ids + 10**12) == -1).all()
    assert len(IdTable(np.zeros(0, dtype=np.int64)).lookup(ids)) == len(ids)


def test_jieba_words_offline() -> None:
    assert words("小区停水三天了") == ["小区", "停水", "三天", "了"]
    block = Words(min_df=1)
    block.fit_transform(["小区停水", "路灯坏了"])
    restored = Words()
    restored.load_state(block.state())
    assert sorted(restored.names(restored.transform(["小区路灯"])[0].indices)) == ["小区", "路灯"]


def test_artifact_round_trip_gives_the_same_probabilities() -> None:
    data = messages()
    model = TextClassifier(spec_for("ensemble-nbsvm-svm")).fit(data.texts, data.labels)
    again = TextClassifier.from_bytes(model.to_bytes())
    texts = list(HELD_OUT)
    assert again.classes == ["供水", "噪音", "教育", "路灯"]
    assert np.allclose(model.predict_proba(texts), again.predict_proba(texts))
    assert again.predict(texts) == list(HELD_OUT.values())


def test_a_pickle_or_a_foreign_npz_is_not_loaded() -> None:
    with pytest.raises(ArtifactError):
        TextClassifier.from_bytes(pickle.dumps({"weights": [1, 2]}))
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(b'{"format": "other/1"}', dtype=np.uint8))
    with pytest.raises(ArtifactError, match="unknown model format"):
        TextClassifier.from_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array([object()], dtype=object))
    with pytest.raises(ArtifactError):
        TextClassifier.from_bytes(buffer.getvalue())
