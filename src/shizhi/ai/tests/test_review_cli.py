"""``shizhi ai review`` through its handler (the ``shizhi ai`` command registers it as a subcommand), on crafted
fixtures (fixtures/review_replies.csv: eleven made-up messages and replies; fixtures/review_labels.csv: labels
written by hand for them, one row without labels, one label for a message that has no reply), and on the real
labelled replies when ../shared is there."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from scipy.stats import spearmanr

from shizhi.ai import review_cli
from shizhi.ai.review import review_reply

FIXTURES = Path(__file__).parent / "fixtures"
REPLIES = FIXTURES / "review_replies.csv"
LABELS = FIXTURES / "review_labels.csv"


def run(*args: str) -> str:
    parser = argparse.ArgumentParser()
    review_cli.add_arguments(parser)
    out = io.StringIO()
    review_cli.handle(vars(parser.parse_args(list(args))), out)
    return out.getvalue()


def test_one_reply_is_scored_with_its_reasons() -> None:
    text = run(
        "--title",
        "路灯不亮",
        "--text",
        "幸福路的路灯坏了一周",
        "--reply",
        "您好，您反映的问题已转交相关部门处理。",
    )
    lines = text.splitlines()
    assert lines[0].startswith("relevance         相关性   0.00  <- weak")
    assert "    - 缺少：办理单位、办理措施、办理结果、办理时间、联系方式" in lines
    assert lines[-1] == "overall           0.20  flagged: relevance, completeness"


def test_one_reply_as_json() -> None:
    data = json.loads(run("--title", "路灯不亮", "--reply", "路灯不予维修。", "--json", "-"))
    assert data["refusal"] is True and data["scores"]["interpretability"] == 0.1
    assert "interpretability" in data["flags"] and data["ok"] is False
    assert {"dimension", "code", "message"} == set(data["reasons"][0])


def test_evaluate_prints_the_table_and_writes_the_json(tmp_path: Path) -> None:
    target = tmp_path / "agreement.json"
    text = run("--evaluate", "--replies", str(REPLIES), "--annotations", str(LABELS), "--json", str(target))
    assert "10 replies scored of 11" in text  # the labelled ones
    assert "review_labels.csv" in text and f"written to {target}" in text
    data = json.loads(target.read_text(encoding="utf-8"))
    per = data["files"]["review_labels.csv"]
    assert set(per) == {"completeness", "interpretability"}
    for dim in per:
        # Ten labelled rows with replies; the label of message 999 has no reply to score.
        assert per[dim]["n"] == 10 and per[dim]["missing_replies"] == 1
        assert per[dim]["labels"] == {"0": 4, "1": 6}
        assert "calibrated" not in per[dim]  # five rows a half: too few to calibrate on
    # The figures are the scores' own: recompute them here.
    import csv

    rows = {r["留言编号"]: r for r in csv.DictReader(REPLIES.open(encoding="utf-8"))}
    labels = {r["留言编号"]: r for r in csv.DictReader(LABELS.open(encoding="utf-8"))}
    keys = sorted((k for k in labels if k in rows and labels[k]["完整性指标"]), key=int)
    scores = [
        review_reply(
            message_title=rows[k]["留言主题"], message_content=rows[k]["留言详情"], reply=rows[k]["答复意见"]
        )
        for k in keys
    ]
    for dim, column in (("completeness", "完整性指标"), ("interpretability", "可解释性指标")):
        rho = spearmanr([s.scores[dim] for s in scores], [float(labels[k][column]) for k in keys])[0]
        assert per[dim]["spearman"] == pytest.approx(rho, abs=1e-4)
        flagged_as_bad = sum(
            (dim in s.flags) == (labels[k][column] == "0") for s, k in zip(scores, keys, strict=True)
        )
        assert per[dim]["accuracy"] == pytest.approx(flagged_as_bad / len(keys), abs=1e-4)
    assert data["flagged_share"]["completeness"] == pytest.approx(
        sum("completeness" in s.flags for s in scores) / len(scores), abs=1e-4
    )


def test_evaluate_refuses_bad_files(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="file not found"):
        run("--evaluate", "--replies", str(tmp_path / "none.csv"), "--annotations", str(LABELS))
    unlabelled = tmp_path / "plain.csv"
    unlabelled.write_text("留言编号,备注\n101,x\n", encoding="utf-8")
    with pytest.raises(CommandError, match="no label column"):
        run("--evaluate", "--replies", str(REPLIES), "--annotations", str(unlabelled))
    with pytest.raises(CommandError, match="--reply"):
        run("--title", "路灯")


def test_xlsx_files_are_read_like_csv(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["留言编号", "留言主题", "留言详情", "答复意见"])
    sheet.append([7, "路灯不亮", "幸福路的路灯坏了", "已转交相关部门。"])
    path = tmp_path / "replies.xlsx"
    book.save(path)
    messages = review_cli.load_replies(path)
    assert list(messages) == ["7"] and messages["7"].reply == "已转交相关部门。"


SHARED = review_cli.SHARED


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED / "official" / "附件4.csv").is_file(), reason="../shared/data/teddy2020 is not there"
)
def test_agreement_with_the_teams_labels_on_real_replies() -> None:
    """The levels measured on 2,816 real replies (docs/ai.md): positive and far from chance, nothing more."""
    rollbear = SHARED / "annotations" / "rollbear_sheet_4_labeled.csv"
    syucry = SHARED / "annotations" / "syucryingstar_附件4_人工标注_可解释性.csv"
    result: dict[str, Any] = review_cli.evaluate(SHARED / "official" / "附件4.csv", [rollbear, syucry])
    assert result["scored"] == 2816
    rb = result["files"][rollbear.name]
    assert rb["completeness"]["n"] == 100 and rb["interpretability"]["n"] == 100
    assert rb["completeness"]["spearman"] > 0.4 and rb["completeness"]["spearman_p"] < 1e-4
    assert rb["interpretability"]["spearman"] > 0.4 and rb["interpretability"]["spearman_p"] < 1e-4
    sy = result["files"][syucry.name]["interpretability"]
    assert sy["n"] == 2816 and sy["spearman"] > 0.2 and sy["auc"] > 0.7
    # The two teams agree with each other no better than chance on the rows both labelled.
    pair = result["annotators"][f"{rollbear.name} vs {syucry.name}: interpretability"]
    assert pair["n"] == 100 and abs(pair["kappa"]) < 0.1
