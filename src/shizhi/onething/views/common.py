"""What the 一件事 pages share: the permission gate, reading form values, the "more rows?" window, and the
words of the page scripts (static/onething/onething.js holds no Chinese: the words come through json_script)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.http import HttpResponse
from django.utils.translation import gettext

from shizhi.cockpit.web import (
    Window,
    actor,
    next_url,
    page_errors,
    query_without_page,
    staff_page,
    text,
    window,
)

View = TypeVar("View", bound=Callable[..., HttpResponse])

PER_PAGE = 50

__all__ = [
    "Window",
    "actor",
    "next_url",
    "query_without_page",
    "staff_page",
    "text",
    "window",
]


def public_page(view: View) -> View:
    """Open without signing in (the service guide); errors shown as their pages."""
    return page_errors(view)


def chart_words() -> dict[str, str]:
    """The words of the page charts (onething.js), in the page's language."""
    return {
        "before": gettext("合并前"),
        "after": gettext("合并后"),
        "steps": gettext("环节"),
        "materials": gettext("材料"),
        "time_days": gettext("时限(工作日)"),
        "trips": gettext("跑动次数"),
        "fields": gettext("填表字段"),
        "volume": gettext("受理量（件）"),
        "pieces": gettext("{n} 件"),
        "on_time_rate": gettext("按时办结率"),
        "rating": gettext("平均评价"),
        "online_share": gettext("全程网办占比"),
        "percent_axis": gettext("百分比"),
        "score_axis": gettext("分"),
        "no_data": gettext("暂无数据"),
    }
