from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def shell(request: HttpRequest) -> dict[str, Any]:
    """What every page of the shell needs: navigation, the signed-in user, the languages, which front-end
    components are installed, and the map settings."""
    from shizhi.cockpit.navigation import navigation_for
    from shizhi.cockpit.selectors import shell_user
    from shizhi.cockpit.web import vendor_assets

    shizhi = getattr(settings, "SHIZHI", {})
    return {
        "nav_items": navigation_for(request),
        "shell_user": shell_user(getattr(request, "user", None)),
        "vendor": vendor_assets(),
        "map_tiles": {
            "url": shizhi.get("MAP_TILE_URL", ""),
            "attribution": shizhi.get("MAP_TILE_ATTRIBUTION", ""),
        },
    }
