"""Navigation (导航): each module registers its entries; a user sees only the modules that exist and that
their roles may open."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise

from shizhi.core.permissions import has_perm


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise  # gettext_lazy(...): shown in each request's language
    url_name: str
    permission: str | None = None  # None: every signed-in user
    order: int = 100


_ITEMS: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _ITEMS[item.key] = item


def navigation_for(request: HttpRequest) -> list[dict[str, str | bool]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    out: list[dict[str, str | bool]] = []
    for item in sorted(_ITEMS.values(), key=lambda i: (i.order, i.key)):
        if item.permission and not has_perm(user, item.permission):
            continue
        url = reverse(item.url_name)
        out.append(
            {
                "key": item.key,
                "label": str(item.label),
                "url": url,
                "active": request.path == url or (url != "/" and request.path.startswith(url)),
            }
        )
    return out
