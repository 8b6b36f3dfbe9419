"""Benchmarks (``shizhi bench <name>``): speed targets are measured on a scratch database and reported, never
asserted in timed unit tests.

An app adds a benchmark by calling :func:`register` from its ``bench`` module (found by
:func:`discover`, like ``admin.py``), e.g. ``shizhi bench hotline``; later ``shizhi bench ai`` or ``shizhi bench
ingest``. Every benchmark runs in a child process whose settings point at a scratch database: a temporary
SQLite file by default, or ``--database-url`` (PostgreSQL). A scratch database is either empty or one that a
benchmark created before (it carries a marker table); anything else is refused, so a benchmark cannot write
into a real installation. Without ``--keep`` the scratch data is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRATCH_ENV = "SHIZHI_BENCH_SCRATCH"  # set in the child process: the scratch database URL it runs on
JOB_ENV = "SHIZHI_BENCH_JOB"  # the benchmark's name and options, as JSON, for the child
TEMP_ENV = "SHIZHI_BENCH_TEMP"  # "1": the parent made the scratch database and deletes it itself
MARKER_TABLE = "shizhi_bench_marker"


class BenchError(RuntimeError):
    """A benchmark cannot run (wrong database, missing tool); the message says why."""


@dataclass
class BenchContext:
    """What a benchmark's ``run`` gets: its options, a line printer, and the scratch database's URL."""

    options: dict[str, Any]
    database_url: str
    write: Callable[[str], None]
    scratch_dir: Path

    @property
    def repeat(self) -> int:
        return int(self.options.get("repeat") or 5)


@dataclass(frozen=True)
class Benchmark:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[BenchContext], dict[str, Any]]  # prints its figures and returns them for --json


BENCHMARKS: dict[str, Benchmark] = {}


def register(benchmark: Benchmark) -> None:
    existing = BENCHMARKS.get(benchmark.name)
    if existing is not None and existing.run is not benchmark.run:
        raise ValueError(f"benchmark {benchmark.name!r} is already registered")
    BENCHMARKS[benchmark.name] = benchmark


def discover() -> dict[str, Benchmark]:
    """Import every installed app's ``bench`` module, which registers its benchmarks."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("bench")
    return BENCHMARKS


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        help="scratch database (e.g. postgres://postgres@127.0.0.1:5432/shizhi_bench); "
        "default: a temporary SQLite file under the system temp folder",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch database (and reuse it next time)"
    )
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per figure; medians are printed")


# --------------------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    """Seconds of several repetitions of one measurement."""

    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    def as_dict(self, per: int = 1) -> dict[str, Any]:
        d: dict[str, Any] = {
            "median_ms": round(1000 * self.median, 3),
            "min_ms": round(1000 * min(self.seconds), 3),
            "max_ms": round(1000 * max(self.seconds), 3),
            "samples_ms": [round(1000 * s, 3) for s in self.seconds],
        }
        if per > 1:
            d["per_second"] = round(per / self.median, 1)
        return d


def measure(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> Sample:
    """Run ``fn`` ``warmup`` times unmeasured (caches, query plans), then ``repeat`` times measured."""
    for _ in range(warmup):
        fn()
    sample = Sample()
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        sample.seconds.append(time.perf_counter() - started)
    return sample


def ratio(ours: float, baseline: float) -> float | None:
    return round(ours / baseline, 2) if baseline > 0 else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


# --------------------------------------------------------------------------------------------------------------
# The scratch database (in the child process)
# --------------------------------------------------------------------------------------------------------------


def masked_url(url: str) -> str:
    """The URL without its password, for printing."""
    if "://" not in url or "@" not in url.split("://", 1)[1]:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


def database_info() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
        else:
            cursor.execute("SHOW server_version")
        version = str(cursor.fetchone()[0])
    return {"vendor": connection.vendor, "version": version}


def environment() -> dict[str, Any]:
    import platform

    import django

    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def claim_scratch_database() -> bool:
    """Refuse a database that holds anything but an earlier benchmark's data; mark an empty one.
    Returns True when the database was empty."""
    from django.db import connection

    tables = set(connection.introspection.table_names())
    if not tables:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {MARKER_TABLE} (name VARCHAR(64) PRIMARY KEY, value VARCHAR(255))")
            cursor.execute(
                f"INSERT INTO {MARKER_TABLE} (name, value) VALUES (%s, %s)", ["created", str(time.time())]
            )
        return True
    if MARKER_TABLE not in tables:
        raise BenchError(
            "the database is not empty and was not made by `shizhi bench`: refusing to write into it "
            "(give an empty scratch database, e.g. CREATE DATABASE shizhi_bench)"
        )
    return False


def drop_scratch_database() -> None:
    """Drop every table of a (claimed) scratch database."""
    from django.db import connection

    tables = connection.introspection.table_names()
    if MARKER_TABLE not in tables:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "DROP TABLE IF EXISTS " + ", ".join(connection.ops.quote_name(t) for t in tables) + " CASCADE"
            )
        else:
            cursor.execute("PRAGMA foreign_keys=OFF")
            for t in tables:
                cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(t)}")
            cursor.execute("VACUUM")


# --------------------------------------------------------------------------------------------------------------
# Parent and child processes
# --------------------------------------------------------------------------------------------------------------


def inside_scratch() -> bool:
    return bool(os.environ.get(SCRATCH_ENV))


def _json_safe(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if isinstance(v, str | int | float | bool | type(None))}


@contextmanager
def scratch_location(database_url: str | None, keep: bool) -> Iterator[tuple[str, Path, bool]]:
    """(database URL, data folder, made here) for the child; removes what it made unless ``keep``."""
    folder = Path(tempfile.mkdtemp(prefix="shizhi-bench-"))
    made_here = database_url is None
    url = database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    try:
        yield url, folder, made_here
    finally:
        # The folder holds the temporary SQLite file (kept with --keep) or only the child's secret key.
        if not (keep and made_here):
            shutil.rmtree(folder, ignore_errors=True)


def run_child(
    name: str, options: dict[str, Any], *, url: str, folder: Path, made_here: bool, stdout: Any
) -> int:
    """Run benchmark ``name`` in a child process on the scratch database; relay its output line by line."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shizhi.config.settings",
        "SHIZHI_DATABASE_URL": url,
        "SHIZHI_DATA_DIR": str(folder),
        "SHIZHI_PROFILE": "embedded",
        "SHIZHI_DEBUG": "0",  # DEBUG would keep every query in memory and slow everything down
        SCRATCH_ENV: url,
        JOB_ENV: json.dumps({"name": name, "options": _json_safe(options)}),
        TEMP_ENV: "1" if made_here else "0",
        "PYTHONUNBUFFERED": "1",
    }
    code = "from shizhi.core.benchmarks import child_main; child_main()"
    with subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True, encoding="utf-8"
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            stdout.write(line)
            stdout.flush()
        return proc.wait()


def child_main() -> None:
    """Entry point of the child process: set up Django on the scratch database and run one benchmark."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    job = json.loads(os.environ[JOB_ENV])
    options: dict[str, Any] = job["options"]
    benchmark = discover()[job["name"]]

    def write(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    url = os.environ[SCRATCH_ENV]
    try:
        claim_scratch_database()
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        write(f"scratch database: {masked_url(url)} (migrated in {time.perf_counter() - started:.1f} s)")
        context = BenchContext(
            options=options,
            database_url=url,
            write=write,
            scratch_dir=Path(os.environ.get("SHIZHI_DATA_DIR", tempfile.gettempdir())),
        )
        result = benchmark.run(context)
        result = {
            "benchmark": benchmark.name,
            "database": {**database_info(), "url": masked_url(url)},
            "environment": environment(),
            **result,
        }
        if options.get("json"):
            Path(options["json"]).write_text(
                json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
            )
            write(f"figures written to {options['json']}")
        if options.get("keep"):
            write(f"scratch database kept: --database-url {masked_url(url)}")
        elif os.environ.get(TEMP_ENV) != "1":
            drop_scratch_database()
            write("scratch database emptied (use --keep to keep it)")
    except BenchError as exc:
        sys.stderr.write(f"shizhi bench: {exc}\n")
        raise SystemExit(2) from exc
    finally:
        connection.close()
