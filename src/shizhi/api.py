"""The JSON API under /api/v1/: one NinjaAPI, routers per app, one error shape for every failure.

Every error is ``{"code": <stable code>, "message": <plain words>, "details": {...}}`` with its HTTP status:
400 unparseable, 401 not signed in, 403 not allowed, 404 not found (or not visible), 409 conflict, 422 invalid.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer, SessionAuth

from shizhi.core.errors import STATUS_BY_CODE, ApplicationError, ErrorCode
from shizhi.core.models import User
from shizhi.core.services import token_authenticate

log = logging.getLogger("shizhi.api")


class TokenAuth(HttpBearer):
    """``Authorization: Bearer shz_...``: a personal API token (stored hashed)."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class BrowserSessionAuth(SessionAuth):
    """The signed-in browser session, CSRF-checked. A request without a session cookie has nothing a forged
    request could ride on: it skips the CSRF check and, without a token either, gets 401 (not a CSRF 403)."""

    def _get_key(self, request: HttpRequest) -> str | None:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)


class Utf8JSONRenderer(JSONRenderer):
    """JSON with Chinese text as UTF-8 rather than \\u escapes: readable in curl and a third smaller."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=Utf8JSONRenderer(),
    title="市治 Shizhi API",
    version="1",
    description="市域社会治理平台接口。认证：会话(浏览器登录)或 `Authorization: Bearer <令牌>`。"
    " 错误统一为 `{code, message, details}`。",
    auth=[TokenAuth(), BrowserSessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
)


def error_response(
    request: HttpRequest,
    code: ErrorCode,
    message: str,
    details: dict[str, Any] | None = None,
    status: int | None = None,
) -> HttpResponse:
    return api.create_response(
        request,
        {"code": str(code), "message": message, "details": details or {}},
        status=status or STATUS_BY_CODE[code],
    )


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return error_response(request, exc.code, exc.message, exc.details, exc.status)


def _clean_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "payload")]
        out.append({"field": ".".join(loc), "message": str(e.get("msg", "")), "type": str(e.get("type", ""))})
    return out


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = _clean_errors(list(exc.errors))
    if any(e["type"] == "json_invalid" for e in errors):
        return error_response(request, ErrorCode.BAD_REQUEST, "请求体不是有效的JSON", {"errors": errors})
    first = errors[0] if errors else {"field": "", "message": ""}
    message = f"请求数据不合法：{first['field'] or '请求'} {first['message']}".strip()
    return error_response(request, ErrorCode.VALIDATION_FAILED, message, {"errors": errors})


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, ErrorCode.NOT_AUTHENTICATED, "请先登录，或提供有效的接口令牌")


@api.exception_handler(AuthorizationError)
def _authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return error_response(request, ErrorCode.PERMISSION_DENIED, "没有执行此操作的权限")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, ErrorCode.NOT_FOUND, "请求的对象不存在")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {
        400: ErrorCode.BAD_REQUEST,
        401: ErrorCode.NOT_AUTHENTICATED,
        403: ErrorCode.PERMISSION_DENIED,
        404: ErrorCode.NOT_FOUND,
        405: ErrorCode.METHOD_NOT_ALLOWED,
        409: ErrorCode.CONFLICT,
        422: ErrorCode.VALIDATION_FAILED,
    }.get(exc.status_code, ErrorCode.BAD_REQUEST)
    if exc.status_code == 403 and "CSRF" in str(exc.message):
        return error_response(
            request, ErrorCode.PERMISSION_DENIED, "CSRF校验失败：浏览器会话写操作需带CSRF令牌", status=403
        )
    return error_response(request, code, str(exc.message), status=exc.status_code)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unhandled error in %s %s", request.method, request.path)
    return error_response(request, ErrorCode.SERVER_ERROR, "服务器内部错误，已记录，请稍后重试")


def _register_routers() -> None:
    from shizhi.ai.api import router as ai_router
    from shizhi.core.api import router as core_router
    from shizhi.hotline.api import public_router as hotline_public_router
    from shizhi.hotline.api import router as hotline_router
    from shizhi.onething.api import router as onething_router
    from shizhi.onething.promotion_api import router as onething_promotion_router
    from shizhi.sensing.api import router as sensing_router
    from shizhi.warning.api import router as warning_router

    api.add_router("/", core_router)
    api.add_router("/", hotline_router)
    api.add_router("/", hotline_public_router)
    api.add_router("/", ai_router)
    api.add_router("/", warning_router)
    api.add_router("/", sensing_router)
    api.add_router("/", onething_router)
    api.add_router("/", onething_promotion_router)


_register_routers()
