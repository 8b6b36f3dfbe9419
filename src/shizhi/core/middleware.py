from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from shizhi.core.context import change_context


def client_ip(request: HttpRequest) -> str | None:
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


class RequestContextMiddleware:
    """Marks every change made while serving a request with its origin (web or api) and client IP."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = "api" if request.path.startswith(("/api/", "/open311/")) else "web"
        with change_context(origin=origin, ip=client_ip(request)):
            return self.get_response(request)
