"""Navigation (导航): each module registers its entries; a user sees only the modules that exist and that
their roles may open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    group: str | None = None  # the key of a NavGroup: shown inside that module's menu


@dataclass(frozen=True)
class NavGroup:
    """A module's menu (e.g. 接诉即办) in the top bar, holding that module's pages."""

    key: str
    label: str | Promise
    order: int = 100


_ITEMS: dict[str, NavItem] = {}
_GROUPS: dict[str, NavGroup] = {}


def register(item: NavItem) -> None:
    _ITEMS[item.key] = item


def register_group(group: NavGroup) -> None:
    _GROUPS[group.key] = group


def navigation_for(request: HttpRequest) -> list[dict[str, Any]]:
    """Top-bar entries the user may open; a module's pages come as one entry with ``children`` (a group with
    a single visible page collapses into that page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    top: list[tuple[tuple[int, str], dict[str, Any]]] = []
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in sorted(_ITEMS.values(), key=lambda i: (i.order, i.key)):
        if item.permission and not has_perm(user, item.permission):
            continue
        url = reverse(item.url_name)
        entry: dict[str, Any] = {
            "key": item.key,
            "label": str(item.label),
            "url": url,
            "active": request.path == url or (url != "/" and request.path.startswith(url)),
            "children": [],
        }
        if item.group and item.group in _GROUPS:
            grouped.setdefault(item.group, []).append(entry)
        else:
            top.append(((item.order, item.key), entry))
    for key, children in grouped.items():
        group = _GROUPS[key]
        if len(children) == 1:
            top.append(((group.order, key), children[0]))
            continue
        top.append(
            (
                (group.order, key),
                {
                    "key": key,
                    "label": str(group.label),
                    "url": children[0]["url"],
                    "active": any(c["active"] for c in children),
                    "children": children,
                },
            )
        )
    return [entry for _, entry in sorted(top, key=lambda pair: pair[0])]
