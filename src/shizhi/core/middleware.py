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


_API_PREFIX = "/api/"
_PLAIN_ERRORS = {
    404: ("not_found", "接口不存在"),
    405: ("method_not_allowed", "该接口不支持此请求方法"),
    403: ("permission_denied", "没有执行此操作的权限"),
    400: ("bad_request", "请求无法解析"),
    500: ("server_error", "服务器内部错误，已记录，请稍后重试"),
}


class ApiErrorShapeMiddleware:
    """Give errors that never reached the API's handlers (unknown path, wrong method, CSRF failure, request
    too large) the same JSON shape ``{"code", "message", "details"}`` as the API's own errors."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(_API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        code, message = _PLAIN_ERRORS.get(response.status_code, ("bad_request", "请求失败"))
        from django.http import JsonResponse

        shaped = JsonResponse({"code": code, "message": message, "details": {}}, status=response.status_code)
        if response.has_header("Allow"):
            shaped["Allow"] = response["Allow"]
        return shaped
