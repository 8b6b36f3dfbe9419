"""``shizhi ai``: train (CSV with a fallback column, XLSX with export noise, or the cases), predict, models,
activate (roll back), evaluate with a JSON report, compare; every bad input exits non-zero with the reason and
stores nothing; the ``review`` subcommand appears when its module is there."""

from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from shizhi.ai.datasets import read_labelled
from shizhi.ai.management.commands.ai import review_module
from shizhi.ai.models import TrainedModel
from shizhi.ai.tests.factories import FIXTURE, HELD_OUT, fixture_rows, messages, write_xlsx
from shizhi.core.models import AuditEvent

pytestmark = pytest.mark.django_db

DATA = ["--text", "留言主题,留言详情", "--fallback-text", "text_concat", "--label", "一级标签"]


def ai(*args: Any) -> str:
    out = io.StringIO()
    call_command("ai", *[str(a) for a in args], stdout=out, stderr=io.StringIO())
    return out.getvalue()


def refused(*args: Any) -> str:
    before = (TrainedModel.objects.count(), AuditEvent.objects.count())
    with pytest.raises(CommandError) as info:
        ai(*args)
    assert (TrainedModel.objects.count(), AuditEvent.objects.count()) == before
    return str(info.value)


def noisy_xlsx(tmp_path: Path) -> Path:
    header, rows = fixture_rows()
    return write_xlsx(tmp_path / "messages.xlsx", header, rows)


def test_train_predict_models_round_trip(tmp_path: Path) -> None:
    report = tmp_path / "train.json"
    out = ai("train", "--data", FIXTURE, *DATA, "--name", "msgs", "--folds", 3, "--json", report)
    assert "模型 msgs 版本 1（诉求分类，nbsvm-char12-df5）：100 行，4 个类别" in out
    assert (
        "3 折分层交叉验证" in out and "宏平均F1 macro-F1" in out and "混淆矩阵" in out and "；已启用" in out
    )
    figures = json.loads(report.read_text(encoding="utf-8"))
    assert figures["model"] == {"id": TrainedModel.objects.get().pk, "name": "msgs", "version": 1}
    assert figures["cv"]["rows"] == 100 and 0.8 <= figures["cv"]["macro_f1"] <= 1.0
    for text, label in HELD_OUT.items():
        lines = ai("predict", "--model", "latest", text).splitlines()
        assert len(lines) == 3 and lines[0].split("\t")[0] == label
        assert 0.5 < float(lines[0].split("\t")[1]) <= 1.0
    assert len(ai("predict", "--model", "msgs", "-k", 2, "停水").splitlines()) == 2
    listing = ai("models")
    assert "* category     msgs" in listing and "nbsvm-char12-df5" in listing


def test_xlsx_with_export_noise_reads_like_the_csv(tmp_path: Path) -> None:
    xlsx = noisy_xlsx(tmp_path)
    from_xlsx = read_labelled(xlsx, text="留言主题,留言详情", fallback_text="text_concat", label="一级标签")
    assert from_xlsx.texts == messages().texts and from_xlsx.labels == messages().labels
    assert not any("_x000D_" in t or "\t" in t for t in from_xlsx.texts)
    out = ai("train", "--data", xlsx, *DATA, "--name", "from-xlsx", "--folds", 3)
    assert "模型 from-xlsx 版本 1" in out
    assert TrainedModel.objects.get(name="from-xlsx").data_fingerprint == messages().fingerprint()


def test_evaluate_prints_and_writes_the_figures(tmp_path: Path) -> None:
    ai("train", "--data", FIXTURE, *DATA, "--name", "msgs", "--folds", 0)
    report = tmp_path / "eval.json"
    out = ai("evaluate", "--model", "msgs", "--data", noisy_xlsx(tmp_path), *DATA, "--json", report)
    assert "模型 msgs 版本 1 在 messages.xlsx 上：" in out and "precision  recall" in out
    figures = json.loads(report.read_text(encoding="utf-8"))
    assert figures["rows"] == 100 and figures["accuracy"] == 1.0 and figures["macro_f1"] == 1.0
    assert [r["label"] for r in figures["per_class"]] == ["供水", "噪音", "教育", "路灯"]
    assert figures["confusion"]["matrix"] == [[25, 0, 0, 0], [0, 25, 0, 0], [0, 0, 25, 0], [0, 0, 0, 25]]
    assert figures["model"]["name"] == "msgs" and figures["unknown_labels"] == []


def test_evaluate_counts_labels_the_model_does_not_know(tmp_path: Path) -> None:
    ai("train", "--data", FIXTURE, *DATA, "--name", "msgs", "--folds", 0)
    other = tmp_path / "other.csv"
    other.write_text("标题,类别\n天然气管道漏气有异味,燃气\n小区停水三天了,供水\n", encoding="utf-8")
    report = tmp_path / "eval.json"
    out = ai(
        "evaluate",
        "--model",
        "latest",
        "--data",
        other,
        "--text",
        "标题",
        "--label",
        "类别",
        "--json",
        report,
    )
    assert "模型不认识的标签（全部计为错误）：燃气" in out
    figures = json.loads(report.read_text(encoding="utf-8"))
    assert figures["rows"] == 2 and figures["accuracy"] == 0.5 and figures["unknown_labels"] == ["燃气"]


def test_activate_rolls_back_to_a_version() -> None:
    ai("train", "--data", FIXTURE, *DATA, "--name", "msgs", "--folds", 0)
    out = ai("train", "--data", FIXTURE, *DATA, "--name", "msgs", "--folds", 0, "--activate")
    assert "模型 msgs 版本 2" in out and "；已启用" in out
    assert "模型 msgs 版本 1（诉求分类）已启用" in ai("activate", "msgs", "--version", 1)
    assert list(TrainedModel.objects.filter(is_active=True).values_list("version", flat=True)) == [1]
    assert "本来就是启用中的版本" in ai("activate", "msgs", "--version", 1)
    event = AuditEvent.objects.filter(action="ai.model_activate").latest("id")
    assert event.origin == "cli" and event.changes["active_model"] == ["msgs v2", "msgs v1"]
    assert "模型“msgs”版本 3 不存在；模型库中的模型：msgs" in refused("activate", "msgs", "--version", 3)


def test_bad_input_exits_with_the_reason(tmp_path: Path) -> None:
    message = refused("train", "--data", FIXTURE, "--text", "标题", "--label", "一级标签")
    assert "文件中没有列：标题；可用的列：留言编号、留言主题、留言详情、text_concat、一级标签" in message
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert "文件为空" in refused("train", "--data", empty, *DATA)
    assert "文件不存在" in refused("train", "--data", tmp_path / "missing.csv", *DATA)
    one = tmp_path / "one.csv"
    one.write_text("留言主题,一级标签\n停水了,供水\n水压低,供水\n", encoding="utf-8")
    assert "只有一个类别“供水”" in refused(
        "train", "--data", one, "--text", "留言主题", "--label", "一级标签"
    )
    rare = tmp_path / "rare.csv"
    header, rows = fixture_rows()
    with rare.open("w", encoding="utf-8") as fh:
        fh.write(",".join(header) + "\n")
        fh.write("".join(f'{r[0]},"{r[1]}","{r[2]}","{r[3]}",{r[4]}\n' for r in rows))
        fh.write("9999,燃气漏气,楼道里有燃气味,,燃气\n")
    message = refused("train", "--data", rare, *DATA)
    assert "样本太少，无法做5折交叉验证：“燃气”1条" in message and "--drop-rare" in message
    assert "模型“nope”不存在" in refused("predict", "--model", "nope", "停水")
    assert "尚未训练任何模型" in refused("predict", "--model", "latest", "停水")
    assert "请用 --data 指定训练文件" in refused("train", *DATA)
    assert "缺少参数：--label" in refused("train", "--data", FIXTURE, "--text", "留言主题")
    assert "没有可用于训练的工单" in refused("train", "--from-cases", "--task", "unit")
    assert "未知的算法" in refused("train", "--data", FIXTURE, *DATA, "--pipeline", "magic")
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    assert ".xls 请先另存为 .xlsx" in refused("train", "--data", xls, *DATA)


def test_train_from_cases() -> None:
    from shizhi.hotline.tests.factories import build_hotline_world, new_case

    hw = build_hotline_world()
    data = messages()
    for i, (text, label) in enumerate(zip(data.texts, data.labels, strict=True)):
        if i % 3 == 0:
            new_case(
                hw, title=text[:20], content=text, demand_type="inquiry" if label == "教育" else "complaint"
            )
    out = ai("train", "--from-cases", "--task", "demand_type", "--folds", 3)
    assert "模型 cases-demand_type 版本 1（诉求类型，nbsvm-char12-df5）：34 行，2 个类别" in out
    assert TrainedModel.objects.get().source == "cases:demand_type"


def test_compare_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    report = tmp_path / "compare.json"
    out = ai(
        "compare",
        "--data",
        FIXTURE,
        *DATA,
        "--pipelines",
        "svm-char13,nbsvm-char12-df5",
        "--folds",
        3,
        "--seeds",
        "0,1",
        "--json",
        report,
    )
    assert "svm-char13" in out and "最佳：" in out
    results = json.loads(report.read_text(encoding="utf-8"))["results"]
    assert [r["pipeline"] for r in results] == ["svm-char13", "nbsvm-char12-df5"]
    assert all(len(r["macro_f1_per_seed"]) == 2 and 0.8 <= r["macro_f1"] <= 1 for r in results)
    assert TrainedModel.objects.count() == 0  # comparing stores nothing
    assert "未知的算法" in refused("compare", "--data", FIXTURE, *DATA, "--pipelines", "magic")


# ------------------------------------------------------------------------------------------------ review hook


def test_review_subcommand_runs_the_other_module(monkeypatch: Any) -> None:
    calls: list[tuple[dict[str, Any], Any]] = []
    fake = types.ModuleType("shizhi.ai.review_cli")
    fake.add_arguments = lambda parser: parser.add_argument("--reply", required=True)  # type: ignore[attr-defined]
    fake.handle = lambda options, stdout: calls.append((options, stdout)) or stdout.write("reviewed")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "shizhi.ai.review_cli", fake)
    out = ai("review", "--reply", "已处理")
    assert out.strip() == "reviewed" and calls[0][0]["reply"] == "已处理"


def test_without_the_review_module_the_command_still_works(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "shizhi.ai.review_cli", None)  # import fails: module not there
    assert review_module() is None
    assert "模型库为空" in ai("models")
    with pytest.raises(CommandError):
        ai("review", "--reply", "x")
