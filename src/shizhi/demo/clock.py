"""The demo's clock (演示时钟): the moment every demo step stamps its rows with, so that the same seed gives the
same rows (``demo/tests/test_determinism.py``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator

from django.utils import timezone


@contextlib.contextmanager
def demo_clock(moment: dt.datetime) -> Iterator[None]:
    """While the demo is written, the clock stands at the demo's "now": every row it creates (through the real
    services, which ask ``timezone.now()``) is stamped with that moment, so the same seed run in the same hour
    gives the same rows. Model fields whose default is ``timezone.now`` are pointed at the stopped clock too."""
    from django.apps import apps

    original = timezone.now

    def stopped() -> dt.datetime:
        return moment

    fields = [
        f
        for model in apps.get_models()
        for f in model._meta.concrete_fields
        if getattr(f, "default", None) is original
    ]
    timezone.now = stopped
    for f in fields:
        f.default = stopped
        f.__dict__.pop("_get_default", None)
    try:
        yield
    finally:
        timezone.now = original
        for f in fields:
            f.default = original
            f.__dict__.pop("_get_default", None)


def demo_now() -> dt.datetime:
    """The demo's "now": ``SHIZHI_DEMO_NOW`` (ISO 8601) when set, else the start of the current hour (so that two
    seeds in the same hour write the same rows)."""
    raw = os.environ.get("SHIZHI_DEMO_NOW", "").strip()
    if raw:
        moment = dt.datetime.fromisoformat(raw)
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    now = timezone.now()
    return now.replace(minute=0, second=0, microsecond=0)
