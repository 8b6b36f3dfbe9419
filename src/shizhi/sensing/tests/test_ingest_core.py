"""The pipe's fast path in C against its Python loop: the same rows, the same readings sent the careful way, the same
per-device counts, for every kind of record a body can hold."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from shizhi.sensing import ingest
from shizhi.sensing.ingest import EARLIEST, DeviceInfo, QuantityInfo, _Batch, _ts_cache, parse_time

NOW = 1_780_000_000


def _devices() -> dict[str, DeviceInfo]:
    out = {}
    for i in range(5):
        quantities = {
            "pm25": QuantityInfo(100 * i + 1, "pm25", 0.0, 2000.0, True),
            "temp": QuantityInfo(100 * i + 2, "temp", -50.0, 60.0, False),
        }
        out[f"dev-{i}"] = DeviceInfo(i + 1, f"dev-{i}", 1, "online", quantities)
    return out


class Record(Mapping[str, Any]):
    """A mapping that is not a dict (a CSV row reader could give one)."""

    def __init__(self, d: dict[str, Any]) -> None:
        self.d = d

    def __getitem__(self, k: str) -> Any:
        return self.d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self.d)

    def __len__(self) -> int:
        return len(self.d)


def _records(n: int, seed: int) -> list[Any]:
    rnd = random.Random(seed)
    times: list[Any] = [
        NOW - 60,
        (NOW - 120) * 1000,  # milliseconds
        "2026-05-01T08:00:00+08:00",
        "2026-05-01 08:00:00",
        "2026-05-01T00:00:00Z",
        "not a time",
        NOW + 10**6,  # the future
        EARLIEST - 1,  # too old
        10**30,
        -(10**30),
        1.5e9,  # a float time: the careful way
        True,
        None,
    ]
    values: list[Any] = [
        12.5,
        0,
        3,
        -7.25,
        1999.0,
        2001.0,  # out of pm25's range
        math.nan,
        math.inf,
        -math.inf,
        "12.5",
        True,
        None,
        10**400,
        2**1023,
        -(2**1024),
        55.0,
        61.0,  # out of temp's range
    ]
    out: list[Any] = []
    for _ in range(n):
        kind = rnd.random()
        r: dict[str, Any] = {
            "device": rnd.choice(["dev-0", "dev-1", "dev-2", "dev-3", "dev-4", "dev-9", 7]),
            "quantity": rnd.choice(["pm25", "temp", "pm25", "no2"]),
            "time": rnd.choice(times),
            "value": rnd.choice(values),
        }
        if kind < 0.05:
            del r[rnd.choice(list(r))]
        if kind < 0.02:
            out.append("a line that is not a reading")
        elif kind < 0.04:
            out.append([1, 2, 3])
        elif kind < 0.05:
            out.append(None)
        elif kind < 0.1:
            out.append(Record(r))
        elif kind < 0.11:
            out.append({**r, "device": ["unhashable"]})
        else:
            out.append(r)
    return out


def _run(items: list[Any], use_c: bool) -> tuple[Any, ...]:
    batch = _Batch(NOW + 300, None, None)
    devices = _devices()
    slow = batch.fast(items, devices) if use_c else batch.fast_python(items, devices)
    return slow, batch.rows, batch.watched, batch.devices


@pytest.mark.parametrize("seed", range(6))
def test_the_c_loop_decides_as_the_python_loop(seed: int) -> None:
    assert ingest._ingest_core is not None, "shizhi.sensing._ingest_core is not built: run `make install`"
    _ts_cache.clear()
    items = _records(3000, seed)
    c = _run(items, use_c=True)
    py = _run(items, use_c=False)
    assert c == py
    slow, rows, watched, devices = c
    assert rows and slow and watched and devices  # every branch was taken
    assert len(rows) + len(slow) == len(items)
    assert all(type(v) is float for _, _, _, v in rows)
    assert sum(st[0] for st in devices.values()) == len(rows)


def test_the_rows_of_well_formed_readings_and_their_device_counts() -> None:
    items = [
        {"device": "dev-1", "quantity": "pm25", "time": NOW - 120, "value": 35},
        {"device": "dev-1", "quantity": "temp", "time": "2026-05-01T08:00:00+08:00", "value": 21.5},
        {"device": "dev-1", "quantity": "pm25", "time": (NOW - 60) * 1000, "value": 36.0},
        {"device": "dev-2", "quantity": "pm25", "time": NOW - 60, "value": 2000.5},  # out of range
    ]
    slow, rows, watched, devices = _run(items, use_c=True)
    t = parse_time("2026-05-01T08:00:00+08:00")
    assert rows == [(2, 101, NOW - 120, 35.0), (2, 102, t, 21.5), (2, 101, NOW - 60, 36.0)]
    assert watched == [rows[0], rows[2]]
    assert slow == [3]
    assert devices == {2: [3, t, NOW - 60]}


def test_an_error_that_is_not_a_bad_record_is_raised_by_both() -> None:
    class Broken(Record):
        def __getitem__(self, k: str) -> Any:
            raise RuntimeError("the reader failed")

    items: list[Any] = [{"device": "dev-1", "quantity": "pm25", "time": NOW - 60, "value": 1.0}, Broken({})]
    for use_c in (True, False):
        with pytest.raises(RuntimeError, match="the reader failed"):
            _run(items, use_c=use_c)
