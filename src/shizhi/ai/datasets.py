"""Training and evaluation data (训练数据): labelled texts from a CSV/XLSX file as it is, checked before anything
is trained or stored — missing columns (naming the ones there are), an empty file, a single class, a label with
too few examples for cross-validation."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shizhi.ai.text import join_text, normalize_text
from shizhi.core.errors import ValidationFailed
from shizhi.hotline.importers.tables import one_line, read_table


@dataclass
class LabelledTexts:
    """Texts with their labels, where they came from, and what was left out on the way."""

    texts: list[str]
    labels: list[str]
    source: str
    columns: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows
    dropped: dict[str, int] = field(default_factory=dict)  # rare label -> examples left out

    def __len__(self) -> int:
        return len(self.texts)

    def counts(self) -> Counter[str]:
        return Counter(self.labels)

    def fingerprint(self) -> str:
        return fingerprint(self.texts, self.labels)


def fingerprint(texts: Sequence[str], labels: Sequence[str]) -> str:
    """SHA-256 of the normalised (label, text) rows in sorted order: the same data, in any order, gives the
    same fingerprint."""
    digest = hashlib.sha256()
    for label, text in sorted(zip(labels, texts, strict=True)):
        digest.update(label.encode("utf-8"))
        digest.update(b"\t")
        digest.update(text.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def split_columns(value: str | Sequence[str] | None) -> list[str]:
    """``"留言主题,留言详情"`` (or a list) -> the column names, cleaned; also splits on the Chinese comma."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        out.extend(p for p in (one_line(x) for x in item.replace("，", ",").split(",")) if p)
    return out


def read_labelled(
    path: str | Path,
    *,
    text: str | Sequence[str],
    label: str,
    fallback_text: str | Sequence[str] | None = None,
    sheet: str | None = None,
) -> LabelledTexts:
    """Labelled texts from a CSV or XLSX file: the ``text`` columns joined (or the ``fallback_text`` columns
    where those are all empty), the ``label`` column. Rows without text or label are skipped and counted."""
    text_columns = split_columns(text)
    fallback_columns = split_columns(fallback_text)
    label_column = one_line(label)
    if not text_columns:
        raise ValidationFailed("请指定文本列（--text）", details={"field": "text"})
    if not label_column:
        raise ValidationFailed("请指定标签列（--label）", details={"field": "label"})
    table = read_table(path, sheet=sheet)
    available = [h for h in table.header if h]
    missing = [c for c in [*text_columns, *fallback_columns, label_column] if c not in table.header]
    if missing:
        raise ValidationFailed(
            f"文件中没有列：{'、'.join(missing)}；可用的列：{'、'.join(available) or '（无）'}",
            details={"missing": missing, "available": available, "file": table.name},
        )
    if not table.rows:
        raise ValidationFailed(f"文件“{table.name}”只有表头，没有数据行", details={"file": table.name})
    position = {name: table.header.index(name) for name in table.header}

    def cell(row: list[Any], column: str) -> Any:
        i = position[column]
        return row[i] if i < len(row) else None

    texts, labels = [], []
    skipped: Counter[str] = Counter()
    for _, row in table.rows:
        body = join_text(cell(row, c) for c in text_columns)
        if not body and fallback_columns:
            body = join_text(cell(row, c) for c in fallback_columns)
        tag = normalize_text(one_line(cell(row, label_column)))
        if not body:
            skipped["no_text"] += 1
        elif not tag:
            skipped["no_label"] += 1
        else:
            texts.append(body)
            labels.append(tag)
    if not texts:
        raise ValidationFailed(
            f"文件“{table.name}”中没有同时有文本和标签的行",
            details={"file": table.name, "skipped": dict(skipped)},
        )
    return LabelledTexts(
        texts=texts,
        labels=labels,
        source=table.name,
        columns={"text": text_columns, "fallback_text": fallback_columns, "label": label_column},
        skipped=dict(skipped),
    )


def check_trainable(data: LabelledTexts, *, folds: int, drop_rare: bool = False) -> LabelledTexts:
    """Refuse data a classifier cannot be trained and cross-validated on; with ``drop_rare``, leave out the
    labels with fewer examples than ``folds`` instead of refusing (and say which)."""
    counts = data.counts()
    if len(counts) < 2:
        only = next(iter(counts), "")
        raise ValidationFailed(
            f"只有一个类别“{only}”：分类器至少需要两个类别", details={"labels": dict(counts)}
        )
    need = folds if folds >= 2 else 1
    rare = {label: n for label, n in sorted(counts.items()) if n < need}
    if rare and not drop_rare:
        listed = "、".join(f"“{label}”{n}条" for label, n in list(rare.items())[:10])
        more = f"等{len(rare)}个类别" if len(rare) > 10 else ""
        raise ValidationFailed(
            f"样本太少，无法做{folds}折交叉验证：{listed}{more}（每个类别至少需要{need}条）。"
            "请补充样本，或加 --drop-rare 去掉这些类别",
            details={"rare": rare, "min_examples": need},
        )
    if rare:
        keep = [i for i, label in enumerate(data.labels) if label not in rare]
        data = LabelledTexts(
            texts=[data.texts[i] for i in keep],
            labels=[data.labels[i] for i in keep],
            source=data.source,
            columns=data.columns,
            skipped=data.skipped,
            dropped=rare,
        )
        if len(data.counts()) < 2:
            raise ValidationFailed(
                "去掉样本太少的类别后，剩下的类别不足两个", details={"rare": rare, "min_examples": need}
            )
    return data
