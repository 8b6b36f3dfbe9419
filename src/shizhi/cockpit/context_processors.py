from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def shell(request: HttpRequest) -> dict[str, Any]:
    from shizhi.cockpit.navigation import navigation_for

    return {"nav_items": navigation_for(request)}
