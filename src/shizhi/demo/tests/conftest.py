from __future__ import annotations

import io

import pytest
from django.core.management import call_command


def run_seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def small_city(db: None) -> str:
    """The small demo city in the test database; returns what the command printed."""
    return run_seed("demo", "--scale", "small", "--seed", "3")
