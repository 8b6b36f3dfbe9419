"""Fixtures of the AI assistance tests: the in-process model cache starts empty in every test (the database
is rolled back between tests, so a model cached by one test must not answer in the next)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shizhi.ai import runtime


@pytest.fixture(autouse=True)
def _fresh_model_cache() -> Iterator[None]:
    runtime.clear()
    yield
    runtime.clear()
