"""Stable error codes and the one exception every service raises for a refusal the caller can act on.

The API turns an :class:`ApplicationError` into ``{"code", "message", "details"}`` with its HTTP status; pages
show the message. Codes are part of the interface: add new ones, never rename.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"  # 400: the request cannot be parsed (malformed JSON, bad query combination)
    VALIDATION_FAILED = "validation_failed"  # 422: well-formed, but a field is missing or invalid
    NOT_AUTHENTICATED = "not_authenticated"  # 401: no or bad credentials
    PERMISSION_DENIED = "permission_denied"  # 403: signed in, but not allowed
    NOT_FOUND = "not_found"  # 404: no such object, or not visible to this user
    CONFLICT = "conflict"  # 409: clashes with existing data (duplicate code, name taken)
    INVALID_STATE = "invalid_state"  # 409: not allowed in the object's current state
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
    SERVER_ERROR = "server_error"  # 500: a bug, never the caller's fault


STATUS_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.VALIDATION_FAILED: 422,
    ErrorCode.NOT_AUTHENTICATED: 401,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INVALID_STATE: 409,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.SERVER_ERROR: 500,
}


class ApplicationError(Exception):
    """A refusal with a stable code, a plain message (Chinese, for the person in front of the screen) and
    optional machine-readable details (for example ``{"field": "code"}``)."""

    code: ErrorCode = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, *, code: ErrorCode | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details = details or {}

    @property
    def status(self) -> int:
        return STATUS_BY_CODE[self.code]

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "details": self.details}


class ValidationFailed(ApplicationError):
    code = ErrorCode.VALIDATION_FAILED


class NotFound(ApplicationError):
    code = ErrorCode.NOT_FOUND

    def __init__(self, what: str = "对象", **kwargs: Any):
        super().__init__(f"{what}不存在或无权查看", **kwargs)


class PermissionDenied(ApplicationError):
    code = ErrorCode.PERMISSION_DENIED

    def __init__(self, message: str = "没有执行此操作的权限", **kwargs: Any):
        super().__init__(message, **kwargs)


class Conflict(ApplicationError):
    code = ErrorCode.CONFLICT


class InvalidState(ApplicationError):
    code = ErrorCode.INVALID_STATE
