"""Historical cases from a sheet: columns recognised by their Chinese names (or mapped with ``--map``), each
row cleaned, parsed and matched to a category, problems reported as (row, column, message)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shizhi.core.errors import ValidationFailed
from shizhi.hotline.importers.tables import (
    Table,
    blank,
    clean_text,
    external_id,
    guess_demand_type,
    one_line,
    parse_moment,
    read_table,
)
from shizhi.hotline.importers.taxonomy import CategoryMatcher
from shizhi.hotline.models import Category
from shizhi.hotline.services.history import HistoryIn, Progress, RowError

# ------------------------------------------------------------------------------------------------ cases

# field -> the column names it is known by, in the order tried.
CASE_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("留言编号", "外部编号", "编号", "external_id"),
    "citizen_name": ("留言用户", "诉求人", "来电人", "姓名", "citizen_name"),
    "citizen_phone": ("联系电话", "电话", "手机", "citizen_phone"),
    "title": ("留言主题", "主题", "标题", "title"),
    "content": ("留言详情", "诉求内容", "详情", "内容", "content"),
    "text": ("text_concat", "留言全文", "全文", "text"),  # title and detail run together (train.csv)
    "received_at": ("留言时间", "受理时间", "来电时间", "received_at"),
    "category": ("一级标签", "一级分类", "诉求分类", "分类", "标签", "category"),
    "reply": ("答复意见", "答复内容", "回复内容", "reply"),
    "replied_at": ("答复时间", "回复时间", "replied_at"),
    "address": ("地址", "诉求地址", "address"),
    "demand_type": ("诉求类型", "demand_type"),
    "likes": ("点赞数", "likes"),
    "dislikes": ("反对数", "dislikes"),
}


def parse_map(text: str) -> dict[str, str]:
    """``title=留言主题,content=留言详情`` -> {"title": "留言主题", ...}; unknown fields are refused."""
    result: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in re.split(r"[,，]", text or ""))):
        key, sep, column = part.partition("=")
        key = key.strip()
        if not sep or key not in CASE_COLUMNS or not column.strip():
            raise ValidationFailed(
                f"列映射“{part}”不正确：应为 字段=列名，字段可选 {', '.join(CASE_COLUMNS)}",
                details={"map": part},
            )
        result[key] = column.strip()
    return result


@dataclass
class CaseOptions:
    channel: str = "web"
    default_category: Category | None = None
    default_received_at: dt.datetime | None = None
    mapping: dict[str, str] = field(default_factory=dict)


def _find_columns(table: Table, mapping: dict[str, str]) -> tuple[dict[str, int], list[RowError]]:
    index = {name: i for i, name in reversed(list(enumerate(table.header)))}
    columns: dict[str, int] = {}
    errors: list[RowError] = []
    for key, names in CASE_COLUMNS.items():
        if key in mapping:
            if mapping[key] in index:
                columns[key] = index[mapping[key]]
            else:
                errors.append(RowError(1, mapping[key], f"找不到列“{mapping[key]}”（{key}）"))
            continue
        for name in names:
            if name in index:
                columns[key] = index[name]
                break
    return columns, errors


def resolve_columns(table: Table, options: CaseOptions) -> tuple[dict[str, int], list[RowError]]:
    """Field -> column index: the --map entries, then the known names. Missing required columns are errors."""
    columns, errors = _find_columns(table, options.mapping)
    required = [
        ("title", "留言主题", "text" in columns),
        ("content", "留言详情", "text" in columns),
        ("received_at", "留言时间", options.default_received_at is not None),
        ("category", "一级标签", options.default_category is not None),
    ]
    for key, label, fallback in required:
        if key not in columns and not fallback and key not in options.mapping:
            errors.append(RowError(1, label, f"缺少“{label}”列（{key}）"))
    return columns, errors


def _cell(cells: list[Any], columns: dict[str, int], key: str) -> Any:
    i = columns.get(key)
    return cells[i] if i is not None and i < len(cells) else None


def _split_text(text: str) -> tuple[str, str]:
    """A title for a message known only as title+detail run together: its first sentence, at most 30 chars."""
    head = re.split(r"(?<=[。！？!?；;])|\n", text, maxsplit=1)[0].strip()
    return (head if len(head) <= 30 else head[:30]), text


def case_rows(
    table: Table, options: CaseOptions, *, progress: Progress | None = None, every: int = 1000
) -> tuple[list[HistoryIn], list[RowError]]:
    """The table's rows as cases to import, cleaned and parsed; problems as (row, column, message)."""
    columns, errors = resolve_columns(table, options)
    if errors:
        return [], errors
    matcher = CategoryMatcher()
    header = table.header
    result: list[HistoryIn] = []

    def cell(cells: list[Any], key: str) -> Any:
        return _cell(cells, columns, key)

    for done, (number, cells) in enumerate(table.rows, start=1):
        if progress is not None and (done % every == 0 or done == len(table.rows)):
            progress("读取", done, len(table.rows))
        row_errors: list[RowError] = []

        def fail(
            key: str, message: str, number: int = number, row_errors: list[RowError] = row_errors
        ) -> None:
            column = header[columns[key]] if key in columns else key
            row_errors.append(RowError(number, column, message))

        title, content = one_line(cell(cells, "title")), clean_text(cell(cells, "content"))
        if (not title or not content) and "text" in columns:
            derived_title, derived_content = _split_text(clean_text(cell(cells, "text")))
            title, content = title or derived_title, content or derived_content
        received_at = options.default_received_at
        if "received_at" in columns and not blank(cell(cells, "received_at")):
            try:
                received_at = parse_moment(cell(cells, "received_at"))
            except ValueError as exc:
                fail("received_at", str(exc))
        elif received_at is None:
            fail("received_at", "留言时间为空")
        category = options.default_category
        label = one_line(cell(cells, "category"))
        if label:
            try:
                category = matcher.match(label)
            except ValueError as exc:
                if options.default_category is None:
                    fail("category", str(exc))
        elif category is None:
            fail("category", "分类为空，且未指定 --default-category")
        reply = clean_text(cell(cells, "reply"))
        replied_at = None
        if reply:
            raw = cell(cells, "replied_at")
            try:
                replied_at = parse_moment(raw) if not blank(raw) else received_at
            except ValueError as exc:
                fail("replied_at", str(exc))
        extra = {k: one_line(cell(cells, k)) for k in ("likes", "dislikes") if not blank(cell(cells, k))}
        if row_errors or category is None or received_at is None:
            errors.extend(row_errors)
            continue
        result.append(
            HistoryIn(
                row=number,
                title=title,
                content=content,
                category=category,
                received_at=received_at,
                channel=options.channel,
                demand_type=one_line(cell(cells, "demand_type")) or guess_demand_type(title),
                citizen_name=one_line(cell(cells, "citizen_name")),
                citizen_phone=one_line(cell(cells, "citizen_phone")),
                address=one_line(cell(cells, "address")),
                external_id=external_id(cell(cells, "external_id")),
                reply=reply,
                replied_at=replied_at,
                data=extra,
            )
        )
    return result, errors


def labelled_messages(path: str | Path) -> list[tuple[str, str, str]]:
    """(label, title, content) of each row of a labelled message file (train.csv, 附件2), cleaned as an
    import cleans them; rows without a label or text are left out."""
    table = read_table(path)
    columns, _ = _find_columns(table, {})
    if "category" not in columns:
        raise ValidationFailed(f"{table.name} 没有分类列（一级标签/一级分类）", details={"file": str(path)})
    result = []
    for _, cells in table.rows:
        title, content = (
            one_line(_cell(cells, columns, "title")),
            clean_text(_cell(cells, columns, "content")),
        )
        if (not title or not content) and "text" in columns:
            derived_title, derived_content = _split_text(clean_text(_cell(cells, columns, "text")))
            title, content = title or derived_title, content or derived_content
        label = one_line(_cell(cells, columns, "category"))
        if label and title and len(content) >= 5:
            result.append((label, title[:100], content[:4000]))
    return result


def column_of(table: Table, options: CaseOptions, field_name: str) -> str:
    """The column header a service field came from, for the error report."""
    columns, _ = resolve_columns(table, options)
    if field_name in columns:
        return table.header[columns[field_name]]
    if field_name in ("title", "content") and "text" in columns:
        return table.header[columns["text"]]
    return field_name
