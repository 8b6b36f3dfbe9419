"""Who is acting on an API request: the token's user, else the session's user."""

from __future__ import annotations

from django.http import HttpRequest

from shizhi.core.models import User


def request_actor(request: HttpRequest) -> User:
    """The user behind an authenticated ninja request (``request.auth`` for tokens, ``request.user`` for
    sessions)."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, User) else request.user  # type: ignore[return-value]
