"""What the hotline pages share: the permission gate, form-value parsing, the "more rows?" window that avoids
counting millions of cases, and the idempotency token of the intake forms."""

from __future__ import annotations

import functools
import secrets
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
from shizhi.core.errors import ValidationFailed
from shizhi.core.models import User
from shizhi.core.permissions import has_perm

View = TypeVar("View", bound=Callable[..., HttpResponse])

PER_PAGE = 50


def staff_page(*permissions: str) -> Callable[[View], View]:
    """Signed in (else the login page), holding one of ``permissions`` (else 403), and an ``ApplicationError``
    from a selector or service shown as its error page."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def gate(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if permissions and not any(has_perm(request.user, p) for p in permissions):
                raise PermissionDenied(gettext("您没有打开此页面的权限"))
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


def int_field(data: Any, name: str, *, label: str, required: bool = True) -> int | None:
    raw = str(data.get(name, "") or "").strip()
    if not raw:
        if required:
            raise ValidationFailed(gettext("请填写%(label)s") % {"label": label}, details={"field": name})
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ValidationFailed(
            gettext("%(label)s须为整数") % {"label": label}, details={"field": name}
        ) from exc


def coordinates(data: Any) -> tuple[float | None, float | None]:
    """``lng``/``lat`` from a form (the map pin); both empty means no location."""
    raw_lng, raw_lat = str(data.get("lng", "") or "").strip(), str(data.get("lat", "") or "").strip()
    if not raw_lng and not raw_lat:
        return None, None
    try:
        return float(raw_lng), float(raw_lat)
    except ValueError as exc:
        raise ValidationFailed(gettext("经纬度格式不正确"), details={"field": "lng"}) from exc


def bool_field(data: Any, name: str) -> bool | None:
    """ "1"/"0" radio buttons: yes, no, or not answered."""
    raw = str(data.get(name, "") or "")
    return {"1": True, "0": False}.get(raw)


def new_token() -> str:
    """A form's idempotency token: the same submission sent twice creates one case."""
    return secrets.token_urlsafe(24)


def form_token(data: Any) -> str:
    raw = str(data.get("token", "") or "")
    return raw if 16 <= len(raw) <= 48 and raw.replace("-", "").replace("_", "").isalnum() else new_token()


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


def pin_labels() -> dict[str, str]:
    """The words of the pin map script (static/shizhi/hotline.js), in the page's language."""
    return {
        "pinned": gettext("已标注位置：经度 {lng}，纬度 {lat}"),
        "hint": gettext("点击地图标注位置（可选）"),
        "cleared": gettext("已清除位置"),
        "no_outline": gettext("暂无区划边界数据，仍可点击标注位置"),
        "failed": gettext("区划边界加载失败：{error}"),
        "point": gettext("诉求位置"),
    }
