"""Two fresh databases seeded in separate processes (with different hash seeds) hold identical rows."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The audit events record the real time of seeding; sessions and applied migrations are not the demo's; the
# geometry version is a random token by design (core.spatial); a trained model records when and how long it
# trained (its demo predictions are tested in ai/tests).
DEMO_NOW = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0).isoformat()
SKIPPED_TABLES = {
    "core_auditevent",
    "django_session",
    "django_migrations",
    "core_geoversion",
    "ai_trainedmodel",
}


def seed_fresh_database(folder: Path, seed: int, hash_seed: str) -> dict[str, list[tuple[object, ...]]]:
    folder.mkdir()
    database = folder / "db.sqlite3"
    env = {
        **os.environ,
        "SHIZHI_DATABASE_URL": f"sqlite:///{database}",
        "SHIZHI_DATA_DIR": str(folder),
        "PYTHONHASHSEED": hash_seed,
        "DJANGO_SETTINGS_MODULE": "shizhi.config.settings",
        # the demo's "now" (else the start of the current hour: two seeds across an hour boundary would differ)
        "SHIZHI_DEMO_NOW": DEMO_NOW,
    }
    for command in (["migrate", "-v0"], ["seed", "demo", "--scale", "small", "--seed", str(seed)]):
        subprocess.run([sys.executable, "-m", "shizhi", *command], env=env, check=True, capture_output=True)
    with sqlite3.connect(database) as connection:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            table: _rows(connection, table)
            for table in sorted(tables)
            if table not in SKIPPED_TABLES and not table.startswith("sqlite_")
        }


def _rows(connection: sqlite3.Connection, table: str) -> list[Any]:
    try:
        return connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
    except sqlite3.OperationalError:  # a WITHOUT ROWID table (sensing readings): in primary-key order
        return connection.execute(f'SELECT * FROM "{table}"').fetchall()


@pytest.mark.slow
def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    first = seed_fresh_database(tmp_path / "a", seed=7, hash_seed="1")
    second = seed_fresh_database(tmp_path / "b", seed=7, hash_seed="2")
    assert len(first["core_area"]) == 23 and len(first["core_user"]) > 50
    assert first.keys() == second.keys()
    for table in first:
        assert first[table] == second[table], table
    other = seed_fresh_database(tmp_path / "c", seed=8, hash_seed="1")
    assert other["core_area"] != first["core_area"]
    assert other["core_user"] != first["core_user"]
