"""What the 一件事 pages share: the permission gate, reading form values, the "more rows?" window, and the
words of the page scripts (static/onething/onething.js holds no Chinese: the words come through json_script)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext

from shizhi.cockpit.web import page_errors
from shizhi.core.models import User
from shizhi.core.permissions import has_perm

View = TypeVar("View", bound=Callable[..., HttpResponse])

PER_PAGE = 50


def staff_page(*permissions: str) -> Callable[[View], View]:
    """Signed in (else the login page), holding one of ``permissions`` (else 403), and an ``ApplicationError``
    from a selector or service shown as its error page (404, 403, 400)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def gate(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if permissions and not any(has_perm(request.user, p) for p in permissions):
                raise PermissionDenied(gettext("您没有打开此页面的权限"))
            return view(request, *args, **kwargs)

        return login_required(page_errors(gate))  # type: ignore[return-value]

    return decorate


def public_page(view: View) -> View:
    """Open without signing in (the service guide); errors shown as their pages."""
    return page_errors(view)


def actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return user


def next_url(request: HttpRequest, default: str) -> str:
    """Where to go after a form: the ``next`` field when it is a path on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def text(data: Any, name: str, limit: int = 4000) -> str:
    return str(data.get(name, "") or "")[:limit]


@dataclass
class Window:
    """One page of a long list without counting it: the rows, and whether there are more."""

    items: list[Any]
    page: int
    has_more: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def next_page(self) -> int:
        return self.page + 1

    @property
    def previous_page(self) -> int:
        return self.page - 1


def window(request: HttpRequest, qs: QuerySet[Any], per_page: int = PER_PAGE) -> Window:
    raw = request.GET.get("page", "1")
    page = int(raw) if raw.isdigit() and 0 < int(raw) <= 20_000 else 1
    start = (page - 1) * per_page
    rows = list(qs[start : start + per_page + 1])
    return Window(items=rows[:per_page], page=page, has_more=len(rows) > per_page)


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


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
