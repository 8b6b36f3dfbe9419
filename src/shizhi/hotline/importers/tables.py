"""Reading a sheet (CSV or XLSX) and cleaning what the exports put in it: ``_x000D_``, tab and space padding,
numbers that went through a float, times in the shapes people and Excel write them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils import timezone

from shizhi.core.errors import ValidationFailed
from shizhi.hotline.models import DemandType

# ------------------------------------------------------------------------------------------------ tables


@dataclass
class Table:
    """A sheet as read: the header and the data rows with the row number a spreadsheet shows (header = 1)."""

    header: list[str]
    rows: list[tuple[int, list[Any]]]
    name: str


def read_table(path: str | Path, *, sheet: str | None = None) -> Table:
    """The first (or the named) sheet of an XLSX file, or a CSV file. Refuses unknown formats and empty files."""
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed(f"文件不存在：{path}", details={"file": str(path)})
    suffix = path.suffix.lower()
    raw: Sequence[Sequence[Any]]
    if suffix in (".xlsx", ".xlsm"):
        raw = _read_xlsx(path, sheet)
    elif suffix in (".csv", ".txt"):
        raw = _read_csv(path)
    else:
        raise ValidationFailed(
            "只支持 CSV 和 XLSX 文件（.xls 请先另存为 .xlsx）", details={"file": str(path)}
        )
    numbered = [(i, list(r)) for i, r in enumerate(raw, start=1) if not all(blank(v) for v in r)]
    if not numbered:
        raise ValidationFailed("文件为空", details={"file": str(path)})
    header = [one_line(h) for h in numbered[0][1]]
    return Table(header=header, rows=numbered[1:], name=path.name)


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.replace("_x000D_", "").strip())


def _read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed("无法识别文件编码（请使用 UTF-8 或 GB18030）", details={"file": str(path)})
    # A row's number is the record's position: cells may hold line breaks, as in a spreadsheet.
    return list(csv.reader(io.StringIO(text, newline="")))


def _read_xlsx(path: Path, sheet: str | None) -> list[tuple[Any, ...]]:
    import openpyxl  # imported here: only imports need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException: all mean "not an xlsx"
        raise ValidationFailed(f"无法读取 XLSX 文件：{exc}", details={"file": str(path)}) from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ValidationFailed(
                f"工作表“{sheet}”不存在，可选：{'、'.join(book.sheetnames)}", details={"sheet": sheet}
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        return list(ws.iter_rows(values_only=True))
    finally:
        book.close()


# ------------------------------------------------------------------------------------------------ cleaning

_BOOK_TITLE = re.compile(r"<(?![a-zA-Z][a-zA-Z0-9-]*[\s/>])(?!/)(?!!)([^<>\n]{1,80})>")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _book_titles(text: str) -> str:
    """Citizens and offices write titles of documents in ASCII angle brackets: ``<A市新图>``. They are not
    markup (no tag name follows ``<``); turn them into 《》 so that the HTML check does not refuse them."""
    return _BOOK_TITLE.sub(lambda m: f"《{m[1]}》" if _CJK.search(m[1]) else m[0], text)


def clean_text(value: Any) -> str:
    """Multi-line text without export noise: ``_x000D_``, tabs and padding around lines, empty lines."""
    if value is None:
        return ""
    text = str(value).replace("_x000D_", "").replace("\r\n", "\n").replace("\r", "\n")
    lines = (re.sub(r"[ \t]+", " ", line).strip(" \t\u3000\xa0") for line in text.split("\n"))
    return _book_titles("\n".join(line for line in lines if line))


def one_line(value: Any) -> str:
    """A single-line value (title, name, label, number): all whitespace runs become one space."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = re.sub(r"[\s\u3000\xa0]+", " ", str(value).replace("_x000D_", " ")).strip()
    return _book_titles(text)


def external_id(value: Any) -> str:
    """``22687.0`` (a number that went through a float) is ``22687``."""
    text = one_line(value)
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


_MOMENT = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})[:：时](\d{1,2})分?(?:[:：](\d{1,2})(?:\.\d+)?|(\d{1,2})秒)?)?$"
)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def parse_moment(value: Any) -> dt.datetime:
    """A local (Asia/Shanghai) time as the exports write it: ``2019/2/28 11:25:29``, ``2019-02-28 11:25``,
    ``2019/2/28``, an Excel date cell, or an Excel serial number. Raises ValueError with a Chinese message."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, int | float) and 20000 < value < 80000:
        moment = _EXCEL_EPOCH + dt.timedelta(days=float(value))
    else:
        text = one_line(value)
        match = _MOMENT.match(text)
        if not match:
            raise ValueError(f"无法识别的时间“{text[:30]}”")
        y, mo, d, h, mi, s, s2 = (int(x) if x else 0 for x in match.groups())
        s = s or s2
        try:
            moment = dt.datetime(y, mo, d, h, mi, s)
        except ValueError as exc:
            raise ValueError(f"不存在的日期“{text[:30]}”") from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment.replace(microsecond=0), timezone.get_default_timezone())
    if moment.year < 1990 or moment > timezone.now() + dt.timedelta(days=1):
        raise ValueError(f"时间超出合理范围“{moment:%Y-%m-%d %H:%M}”")
    return moment


_DEMAND_WORDS = (
    (DemandType.PRAISE, ("表扬", "感谢", "点赞", "锦旗")),
    (DemandType.REPORT, ("举报",)),
    (DemandType.SUGGESTION, ("建议", "提议", "呼吁")),
    (DemandType.HELP, ("求助", "求救", "救助", "帮帮")),
    (DemandType.INQUIRY, ("咨询", "请问", "如何办理", "怎么办理", "能否", "可否", "是否可以", "政策")),
)


def guess_demand_type(title: str) -> str:
    """Message boards do not record the demand type (诉求类型); the title's wording tells it well enough."""
    for kind, words in _DEMAND_WORDS:
        if any(w in title for w in words):
            return str(kind)
    return str(DemandType.COMPLAINT)
