"""Where the current change comes from (web, api, cli, task) and the client's IP, for audit events.

Set once per request by :class:`shizhi.core.middleware.RequestContextMiddleware` and per command by the CLI,
so that service functions need not pass the request around."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class ChangeContext:
    origin: str = "system"
    ip: str | None = None


_current: ContextVar[ChangeContext] = ContextVar("shizhi_change_context", default=ChangeContext())  # noqa: B039 (frozen)


def current() -> ChangeContext:
    return _current.get()


@contextlib.contextmanager
def change_context(*, origin: str, ip: str | None = None) -> Iterator[ChangeContext]:
    ctx = ChangeContext(origin=origin, ip=ip)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
