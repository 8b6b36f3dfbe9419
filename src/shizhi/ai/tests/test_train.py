"""Training (训练) through the service: real predictions on texts the model never saw, cross-validation figures
that add up, the data fingerprint, and every kind of bad input refused with nothing stored."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from shizhi.ai import runtime, services
from shizhi.ai.datasets import LabelledTexts, fingerprint, read_labelled
from shizhi.ai.models import TrainedModel
from shizhi.ai.tests.factories import COLUMNS, FIXTURE, HELD_OUT, fixture_rows, messages, train
from shizhi.core.errors import ValidationFailed
from shizhi.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def state() -> tuple[int, int]:
    return TrainedModel.objects.count(), AuditEvent.objects.count()


def test_reading_the_fixture_uses_the_fallback_column_and_strips_padding() -> None:
    data = messages()
    assert len(data) == 100 and data.counts() == {"供水": 25, "路灯": 25, "噪音": 25, "教育": 25}
    _, rows = fixture_rows()
    only_concat = next(r for r in rows if not r[1])
    assert only_concat[3] in data.texts  # the row without title/detail: its text_concat
    padded = next(r for r in rows if r[1])
    assert f"{padded[1]} {padded[2].strip()}" in data.texts
    assert not any("\t" in t or "\n" in t for t in data.texts)


def test_trained_model_predicts_held_out_texts() -> None:
    result = train()
    model = result.model
    classifier = runtime.unpack(model)
    for text, label in HELD_OUT.items():
        best = classifier.top(text, 3)
        assert best[0][0] == label, (text, best)
        assert 0.0 <= best[2][1] <= best[1][1] <= best[0][1] <= 1.0
        assert abs(sum(p for _, p in classifier.top(text, 4)) - 1.0) < 1e-3
    water = classifier.top("供水管道爆裂，停水了", 3)
    assert water[0] == ("供水", water[0][1]) and water[0][1] > 0.5


def test_cross_validation_figures_are_present_and_consistent() -> None:
    model = train(folds=5).model
    cv = model.metrics["cv"]
    assert (cv["folds"], cv["rows"]) == (5, 100)
    assert 0.8 <= cv["macro_f1"] <= 1.0 and 0.8 <= cv["accuracy"] <= 1.0
    assert (model.macro_f1, model.accuracy) == (cv["macro_f1"], cv["accuracy"])
    assert cv["top3_accuracy"] >= cv["accuracy"]
    assert len(cv["macro_f1_folds"]) == 5
    assert [r["label"] for r in cv["per_class"]] == ["供水", "噪音", "教育", "路灯"]
    assert sum(r["support"] for r in cv["per_class"]) == 100
    matrix = cv["confusion"]["matrix"]
    assert sum(map(sum, matrix)) == 100 and [sum(row) for row in matrix] == [25, 25, 25, 25]
    correct = sum(matrix[i][i] for i in range(4))
    assert abs(correct / 100 - cv["accuracy"]) < 1e-9
    assert model.metrics["training"]["labels"] == {"供水": 25, "噪音": 25, "教育": 25, "路灯": 25}
    assert set(model.metrics["top_features"]) == {"供水", "噪音", "教育", "路灯"}
    assert model.params["spec"]["heads"][0]["kind"] == "nbsvm" and model.params["folds"] == 5
    assert model.cv_seconds is not None and model.train_seconds > 0


def test_fingerprint_is_the_sorted_normalised_rows() -> None:
    data = messages()
    model = train(data=data).model
    assert model.data_fingerprint == fingerprint(data.texts, data.labels)
    reversed_rows = fingerprint(data.texts[::-1], data.labels[::-1])
    assert reversed_rows == model.data_fingerprint
    changed = list(data.labels)
    changed[0] = "路灯" if changed[0] != "路灯" else "供水"
    assert fingerprint(data.texts, changed) != model.data_fingerprint


def test_training_without_cross_validation_still_calibrates() -> None:
    model = train(folds=0).model
    assert model.metrics["cv"] is None and model.macro_f1 is None
    assert model.metrics["training"]["probability_scales"][0] != 1.0


# ------------------------------------------------------------------------------------------------ refusals


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def refused(**read: Any) -> ValidationFailed:
    before = state()
    with pytest.raises(ValidationFailed) as info:
        data = read_labelled(**{**COLUMNS, **read}) if "path" in read else read.pop("data")
        train(data=data, **read.get("options", {}))
    assert state() == before
    return info.value


def test_missing_column_names_the_available_ones() -> None:
    error = refused(path=FIXTURE, label="标签")
    assert "标签" in error.message and "一级标签" in error.message and "留言主题" in error.message
    assert error.details["missing"] == ["标签"]
    assert error.details["available"] == ["留言编号", "留言主题", "留言详情", "text_concat", "一级标签"]


def test_empty_file_and_header_only_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert "文件为空" in refused(path=empty).message
    header_only = write_csv(tmp_path / "header.csv", ["留言主题", "留言详情", "text_concat", "一级标签"], [])
    assert "没有数据行" in refused(path=header_only).message
    blank = write_csv(
        tmp_path / "blank.csv", ["留言主题", "留言详情", "text_concat", "一级标签"], [["", "", "", "供水"]]
    )
    assert "没有同时有文本和标签的行" in refused(path=blank).message


def test_single_class_is_refused() -> None:
    data = messages()
    only = [i for i, label in enumerate(data.labels) if label == "供水"]
    one = LabelledTexts([data.texts[i] for i in only], [data.labels[i] for i in only], "x")
    assert "只有一个类别“供水”" in refused(data=one).message


def test_label_with_too_few_examples_for_cross_validation() -> None:
    data = messages()
    rare = LabelledTexts([*data.texts, "燃气管道有异味"], [*data.labels, "燃气"], "x")
    error = refused(data=rare)
    assert "“燃气”1条" in error.message and "--drop-rare" in error.message
    assert error.details == {"rare": {"燃气": 1}, "min_examples": 3}
    result = train(data=rare, drop_rare=True)
    assert result.data.dropped == {"燃气": 1} and "燃气" not in result.model.labels


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"pipeline": "no-such"}, "未知的算法"),
        ({"folds": 1}, "折数"),
        ({"task": "weather"}, "未知的任务"),
        ({"name": "latest"}, "不可用"),
        ({"name": "a b"}, "不可用"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], words: str) -> None:
    before = state()
    name = options.pop("name", "msg")
    with pytest.raises(ValidationFailed, match=words):
        services.model_train(actor=None, name=name, data=messages(), **{"task": "category", **options})
    assert state() == before


def test_a_name_belongs_to_one_task() -> None:
    train(name="shared")
    before = state()
    with pytest.raises(ValidationFailed, match="已用于任务"):
        train(name="shared", task="demand_type")
    assert state() == before
