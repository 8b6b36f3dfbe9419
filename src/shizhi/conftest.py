"""Shared pytest fixtures: a small, exact area tree, users with roles, and an API client with a token."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from shizhi.core import workcalendar


@pytest.fixture(autouse=True)
def _fresh_calendar_cache() -> Iterator[None]:
    # Overrides live in the database, which each test rolls back; the in-process cache must follow.
    workcalendar.clear_cache()
    yield
    workcalendar.clear_cache()


@pytest.fixture(autouse=True)
def _platform_language() -> Iterator[None]:
    # A request in English leaves English active in its thread (as in a server, where the next request sets its
    # own). Tests share threads: each starts, and leaves, in the platform's language.
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _device_stats_at_once(settings: Any) -> None:
    # The readings pipe writes device counters every second in a server; in tests every batch writes its own.
    settings.SHIZHI_SENSING_STATS_FLUSH = 0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2's million iterations are for attackers, not for a test suite that creates hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def require_service(name: str, host: str, port: int) -> None:
    """Skip when a server is not reachable, unless SHIZHI_REQUIRE_SERVICES=1 (CI), where it must fail."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        reason = f"{name} is not reachable at {host}:{port} ({exc})"
        if os.environ.get("SHIZHI_REQUIRE_SERVICES") == "1":
            pytest.fail(f"SHIZHI_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)


@dataclass
class JsonClient:
    """A test client that speaks JSON and authenticates with a bearer token (or not at all)."""

    token: str | None = None
    client: Client = field(default_factory=Client)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(path, params or {}, headers=self._headers())

    def _send(self, method: str, path: str, body: Any, raw: bool) -> Any:
        data = body if raw else json.dumps(body)
        return getattr(self.client, method)(
            path, data=data, content_type="application/json", headers=self._headers()
        )

    def post(self, path: str, body: Any = None, raw: bool = False) -> Any:
        return self._send("post", path, body if body is not None else {}, raw)

    def patch(self, path: str, body: Any = None, raw: bool = False) -> Any:
        return self._send("patch", path, body if body is not None else {}, raw)

    def put(self, path: str, body: Any = None, raw: bool = False) -> Any:
        return self._send("put", path, body if body is not None else {}, raw)

    def delete(self, path: str) -> Any:
        return self.client.delete(path, headers=self._headers())


@pytest.fixture
def anon() -> JsonClient:
    return JsonClient()


@pytest.fixture
def api_as(db: Any) -> Any:
    """``api_as(user)`` -> a JSON client authenticated with a fresh personal token of that user."""
    from shizhi.core import services

    def make(user: Any) -> JsonClient:
        _, raw = services.token_create(actor=user, user=user, name="test")
        return JsonClient(token=raw)

    return make
