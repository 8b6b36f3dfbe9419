"""Helpers for the server-rendered pages of every module: turning domain refusals into HTTP answers,
pagination, and which front-end components (Leaflet, ECharts, htmx) are installed."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest

from shizhi.core.errors import ApplicationError, ErrorCode

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
