"""Helpers for the server-rendered pages of every module: the permission gate, turning domain refusals into HTTP
answers, pagination (counted, or the "more rows?" window that never counts), reading form values, safe redirects,
and which front-end components (Leaflet, ECharts, htmx) are installed."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext

from shizhi.core.errors import ApplicationError, ErrorCode
from shizhi.core.models import User
from shizhi.core.permissions import has_perm

View = TypeVar("View", bound=Callable[..., HttpResponse])

PAGE_SIZE = 50

# Static paths (under static/vendor/, filled by scripts/build_assets.py) the templates check before loading.
VENDOR_FILES = {
    "leaflet": ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css"),
    "echarts": ("vendor/echarts/echarts.min.js",),
    "htmx": ("vendor/htmx/htmx.min.js",),
}


def vendor_assets() -> dict[str, bool]:
    """Which front-end components are installed (``make assets``); pages show a note for missing ones."""
    return {name: all(finders.find(path) for path in paths) for name, paths in VENDOR_FILES.items()}


def page_errors(view: View) -> View:
    """Render an ``ApplicationError`` from a selector or service as the matching error page: not found (or not
    visible) -> 404, not allowed -> 403 (with the message), invalid input -> 400."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ApplicationError as exc:
            if exc.code == ErrorCode.NOT_FOUND:
                raise Http404(exc.message) from exc
            if exc.code in (ErrorCode.PERMISSION_DENIED, ErrorCode.NOT_AUTHENTICATED):
                raise DjangoPermissionDenied(exc.message) from exc
            return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")

    return wrapper  # type: ignore[return-value]


def paginate(request: HttpRequest, items: QuerySet[Any], per_page: int = PAGE_SIZE) -> Page:
    """The requested page (``?page=N``) of a queryset; a page number out of range gives the nearest page."""
    paginator = Paginator(items, per_page)
    return paginator.get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current query string without ``page``, for the pagination links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def staff_page(*permissions: str) -> Callable[[View], View]:
    """Signed in (else the login page), holding one of ``permissions`` (else 403), and an ``ApplicationError``
    from a selector or service shown as its error page (404, 403, 400)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def gate(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if permissions and not any(has_perm(request.user, p) for p in permissions):
                raise DjangoPermissionDenied(gettext("您没有打开此页面的权限"))
            return view(request, *args, **kwargs)

        return login_required(page_errors(gate))  # type: ignore[return-value]

    return decorate


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


def window(request: HttpRequest, qs: QuerySet[Any], per_page: int = PAGE_SIZE) -> Window:
    raw = request.GET.get("page", "1")
    page = int(raw) if raw.isdigit() and 0 < int(raw) <= 20_000 else 1
    start = (page - 1) * per_page
    rows = list(qs[start : start + per_page + 1])
    return Window(items=rows[:per_page], page=page, has_more=len(rows) > per_page)
