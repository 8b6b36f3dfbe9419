"""Test data for the classifiers: 100 short messages over four categories (fixtures/classifier_messages.csv,
invented, in the 泰迪杯 format: title, padded detail, text_concat, label; every fifth row has only text_concat),
texts that are not in it, and an XLSX writer that adds the exports' noise."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from shizhi.ai import services
from shizhi.ai.datasets import LabelledTexts, read_labelled

FIXTURE = Path(__file__).parent / "fixtures" / "classifier_messages.csv"
COLUMNS = {"text": "留言主题,留言详情", "fallback_text": "text_concat", "label": "一级标签"}

# Messages the models never saw, with the category a person would give them.
HELD_OUT = {
    "家里水龙头一滴水都没有，自来水公司也没通知停水": "供水",
    "小区门口的路灯坏了好几天，晚上黑漆漆的看不见路": "路灯",
    "楼下工地半夜还在施工，机器声音吵得全家睡不着": "噪音",
    "孩子明年上小学，想问一下学区划分和报名要带什么材料": "教育",
}


def messages() -> LabelledTexts:
    return read_labelled(FIXTURE, **COLUMNS)


ENGLISH = {"供水": "water", "路灯": "lights", "噪音": "noise", "教育": "schools"}


def english_labels() -> LabelledTexts:
    """The same messages with other labels: a second model whose answers are told apart from the first's."""
    data = messages()
    return LabelledTexts(data.texts, [ENGLISH[label] for label in data.labels], "english.csv")


def fixture_rows() -> tuple[list[str], list[list[str]]]:
    with FIXTURE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def train(
    name: str = "msg", *, task: str = "category", data: LabelledTexts | None = None, **options: Any
) -> Any:
    """A small model (3-fold CV) through the service, as the command line trains it."""
    options.setdefault("folds", 3)
    return services.model_train(actor=None, task=task, name=name, data=data or messages(), **options)


def write_xlsx(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    """An XLSX file as the government exports write them: ``_x000D_`` escapes and tab padding in the cells."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(
            [f"_x000D_\n\t\t{v}_x000D_\n\t" if isinstance(v, str) and len(v) > 12 else v for v in row]
        )
    book.save(path)
    return path
