"""``shizhi bench <name> [--database-url URL] [--keep] [--json FILE] [--repeat R] ...``: run a benchmark on a
scratch database and print its figures (medians of R repetitions, with ratios to bare SQL baselines).

Benchmarks register themselves in :mod:`shizhi.core.benchmarks` (``shizhi bench hotline``, later ``ai``,
``ingest`` ...)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shizhi.core import benchmarks


class Command(BaseCommand):
    help = "性能基准测试：在临时数据库上生成数据并测量（shizhi bench hotline --cases 1000000）"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="benchmark", required=True, metavar="NAME")
        for name, bench in sorted(benchmarks.discover().items()):
            p = sub.add_parser(name, help=bench.help, description=bench.help)
            benchmarks.add_common_arguments(p)
            bench.add_arguments(p)

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["benchmark"]
        if options["repeat"] < 1:
            raise CommandError("--repeat 至少为 1")
        if options.get("json"):
            options["json"] = str(Path(options["json"]).resolve())
        url = options["database_url"]
        if url and url.split(":", 1)[0] not in {"sqlite", "postgres", "postgresql", "pgsql"}:
            raise CommandError("--database-url 须为 sqlite:/// 或 postgres:// 地址")
        if url and _same_database(url):
            raise CommandError("--database-url 不能是当前正在使用的数据库；请使用单独的临时数据库")
        if benchmarks.inside_scratch():
            raise CommandError("already inside a benchmark's scratch database")
        with benchmarks.scratch_location(url, options["keep"]) as (scratch_url, folder, made_here):
            code = benchmarks.run_child(
                name, options, url=scratch_url, folder=folder, made_here=made_here, stdout=self.stdout
            )
        if code != 0:
            raise CommandError(f"基准测试 {name} 失败（退出码 {code}）")


def _same_database(url: str) -> bool:
    """Is ``url`` the database this installation runs on?"""
    import dj_database_url

    if url == os.environ.get("SHIZHI_DATABASE_URL"):
        return True
    mine, other = settings.DATABASES["default"], dj_database_url.parse(url)
    if mine["ENGINE"] != other["ENGINE"]:
        return False
    if "sqlite" in str(other["ENGINE"]):
        return Path(str(mine["NAME"])).resolve() == Path(str(other["NAME"])).resolve()
    return all(str(mine.get(k) or "") == str(other.get(k) or "") for k in ("NAME", "HOST", "PORT"))
