"""Text clean-up shared by training, evaluation and prediction, so that a message is the same string whichever
door it came in by: a CSV cell, an Excel cell (with ``_x000D_`` carriage-return escapes), or the intake form."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Excel's escaped carriage return, literal in exported cells.
_EXCEL_CR = re.compile(r"_x000[dD]_")
# Every kind of blank: ASCII whitespace, the ideographic space (全角空格), no-break spaces, zero-width marks.
_BLANKS = re.compile(r"[\s\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+")


def normalize_text(value: object) -> str:
    """One clean line: Excel escapes and control characters gone, runs of blanks collapsed to one space."""
    if value is None:
        return ""
    text = str(value)
    if not text:
        return ""
    text = _EXCEL_CR.sub(" ", text).replace("\x00", " ")
    return _BLANKS.sub(" ", text).strip()


def join_text(parts: Iterable[object]) -> str:
    """Several fields (title, content) as one text: each cleaned, empty ones left out, joined by a space."""
    return " ".join(p for p in (normalize_text(v) for v in parts) if p)
