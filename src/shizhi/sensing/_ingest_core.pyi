# The readings pipe's fast path (_ingest_core.c); see ingest._Batch.fast.
from typing import Any

def fast(
    items: list[Any],
    devices: dict[str, Any],
    tcache: dict[Any, int | None],
    parse_time: Any,
    latest_ok: int,
    earliest: int,
    rows: list[Any],
    watched: list[Any],
    per_device: dict[int, list[int]],
) -> list[int]: ...
