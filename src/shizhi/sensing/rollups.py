"""Hourly rollups (小时汇总): min / mean / max per series and hour, for the charts.

Kept like a continuous aggregate: hours before a device's ``rollup_from`` are materialised in
:class:`HourlyRollup`; from ``rollup_from`` on, a chart computes them from the readings at query time
(:func:`hourly`), so a chart is always exact and the readings pipe writes no rollup rows. :func:`rollup_refresh`
(run by ``shizhi sensing detect`` every round, and after bulk loads) materialises the hours up to the newest
reading and moves ``rollup_from`` forward. A reading that arrives late (older than what its series already has)
moves ``rollup_from`` back to its hour, so that hour is recomputed. Every refresh recomputes whole hours from the
stored readings (``GROUP BY``), so duplicates, races and late data can never make a rollup wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

from shizhi.sensing.models import Device, HourlyRollup, Reading

HOUR = 3600


def _t(model: type) -> str:
    return str(model._meta.db_table)  # type: ignore[attr-defined]


def note_late(device_hours: dict[int, int]) -> None:
    """Readings older than their series' newest were stored: recompute from their hour on (inside the pipe's
    transaction; rare)."""
    table = _t(Device)
    lo = "min" if connection.vendor == "sqlite" else "LEAST"
    with connection.cursor() as cur:
        cur.executemany(
            f"UPDATE {table} SET rollup_from = {lo}(COALESCE(rollup_from, %s), %s) WHERE id = %s",
            [(h, h, d) for d, h in device_hours.items()],
        )


def rollup_refresh(*, device_ids: list[int] | None = None) -> int:
    """Materialise every device's hours from ``rollup_from`` to its newest reading. Returns the hours written."""
    from shizhi.sensing.ingest import DEVICE_STATS

    DEVICE_STATS.flush()  # this process's newest seconds, if any are pending
    qs = Device.objects.filter(last_reading_ts__isnull=False)
    if device_ids is not None:
        qs = qs.filter(id__in=device_ids)
    written = 0
    rt, t, dt = _t(HourlyRollup), _t(Reading), _t(Device)
    for dev_id, start, newest in qs.values_list("id", "rollup_from", "last_reading_ts"):
        if newest is None or (start is not None and newest < start):
            continue
        with transaction.atomic(), connection.cursor() as cur:
            begin = start
            if begin is None:
                cur.execute(f"SELECT MIN(ts) FROM {t} WHERE device_id = %s", [dev_id])
                first = cur.fetchone()[0]
                if first is None:
                    continue
                begin = first - first % HOUR
            cur.execute(f"DELETE FROM {rt} WHERE device_id = %s AND hour >= %s", [dev_id, begin])
            cur.execute(
                f"INSERT INTO {rt} (device_id, quantity_id, hour, n, total, vmin, vmax)"
                f" SELECT device_id, quantity_id, ts - (ts %% {HOUR}), COUNT(*), SUM(value), MIN(value), MAX(value)"
                f" FROM {t} WHERE device_id = %s AND ts >= %s GROUP BY device_id, quantity_id, ts - (ts %% {HOUR})",
                [dev_id, begin],
            )
            written += max(cur.rowcount, 0)
            # The newest hour may still grow: it stays open (recomputed next time). A late reading that moved
            # rollup_from meanwhile makes this update miss, and the next refresh starts from there.
            cur.execute(
                f"UPDATE {dt} SET rollup_from = %s WHERE id = %s AND "
                + ("rollup_from IS NULL" if start is None else "rollup_from = %s"),
                [newest - newest % HOUR, dev_id] + ([] if start is None else [start]),
            )
    return written


@dataclass(frozen=True)
class HourPoint:
    hour: int
    n: int
    mean: float
    vmin: float
    vmax: float


def hourly(*, device: Device, quantity_id: int, start: int, end: int, limit: int = 20_000) -> list[HourPoint]:
    """Hourly min/mean/max of one series in [start, end): materialised hours, then the open ones computed from
    the readings."""
    device.refresh_from_db(fields=["rollup_from"])
    split = device.rollup_from if device.rollup_from is not None else start - start % HOUR
    out = [
        HourPoint(h, n, total / n, lo, hi)
        for h, n, total, lo, hi in HourlyRollup.objects.filter(
            device=device, quantity_id=quantity_id, hour__gte=start - start % HOUR, hour__lt=min(end, split)
        )
        .order_by("hour")
        .values_list("hour", "n", "total", "vmin", "vmax")[:limit]
    ]
    if end > split:
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT ts - (ts %% {HOUR}), COUNT(*), SUM(value), MIN(value), MAX(value) FROM {_t(Reading)}"
                " WHERE device_id = %s AND quantity_id = %s AND ts >= %s AND ts < %s"
                f" GROUP BY ts - (ts %% {HOUR}) ORDER BY 1",
                [device.pk, quantity_id, max(split, start - start % HOUR), end],
            )
            out += [HourPoint(h, n, total / n, lo, hi) for h, n, total, lo, hi in cur.fetchall()]
    return out[:limit]
