"""``shizhi bench hotline`` end to end on a tiny N: every figure is printed and written to JSON. No timing
assertions: speed is measured by the benchmark and reported, never asserted here."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.slow

LIST_FILTERS = ["none", "status", "category", "unit", "area", "date", "overdue", "text"]


def test_bench_hotline_prints_every_figure_and_writes_the_json(tmp_path: Path) -> None:
    out = io.StringIO()
    target = tmp_path / "bench.json"
    call_command(
        "bench",
        "hotline",
        "--cases",
        "300",
        "--scale",
        "small",
        "--repeat",
        "1",
        "--intake-cases",
        "10",
        "--threads",
        "2",
        "--json",
        str(target),
        stdout=out,
    )
    text = out.getvalue()
    assert "generate: 300 cases" in text
    for key in ("service", "http_client", "http_server", "sql"):
        assert f"intake {key}" in text
    assert "cases/s" in text and "skipped" not in text
    assert "  rates " in text and "SQL GROUP BY" in text
    for actor in ("operator", "handler"):
        for name in LIST_FILTERS:
            assert f"  {actor:<9} {name:<9} " in text
    assert "targets:" in text

    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["benchmark"] == "hotline"
    assert data["database"]["vendor"] == "sqlite"
    assert (data["requested_cases"], data["cases"], data["repeat"]) == (300, 300, 1)
    assert data["generate"]["cases"] == 300 and data["generate"]["assignments"] > 0
    assert set(data["intake"]) >= {"service", "http_client", "http_server", "sql"}
    for key in ("service", "http_client", "http_server"):
        assert set(data["intake"][key]) >= {"cases_per_s", "ms_per_case", "ratio_to_sql", "round_ms"}
    assert set(data["rates"]) >= {"months", "orm", "sql", "ratio_to_sql", "dispatched", "rated"}
    assert data["rates"]["dispatched"] > 0 and data["rates"]["rated"] > 0
    for actor in ("operator", "handler"):
        assert list(data["list"][actor]) == LIST_FILTERS
        for figures in data["list"][actor].values():
            assert set(figures) >= {"api", "orm", "sql", "ratio_to_sql", "rows"}
            assert set(figures["api"]) >= {"median_ms", "samples_ms"}
    assert isinstance(data["targets"], list)  # targets apply from 1,000,000 cases on, except HTTP intake


def test_bench_refuses_the_live_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    live = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    monkeypatch.setenv("SHIZHI_DATABASE_URL", live)
    with pytest.raises(CommandError, match="当前正在使用的数据库"):
        call_command("bench", "hotline", "--cases", "10", "--database-url", live)
    assert not (tmp_path / "live.sqlite3").exists()


def test_bench_refuses_a_database_it_did_not_make(tmp_path: Path) -> None:
    db = tmp_path / "someone-elses.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE precious (id INTEGER PRIMARY KEY)")
    with pytest.raises(CommandError, match="失败"):
        call_command(
            "bench", "hotline", "--cases", "10", "--database-url", f"sqlite:///{db}", stdout=io.StringIO()
        )
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["precious"]
