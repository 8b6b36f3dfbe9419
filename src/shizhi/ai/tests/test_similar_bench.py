"""The similar-case benchmark end to end on a tiny N (speed is measured by ``shizhi bench ai``, never here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shizhi.ai import similar, similar_bench
from shizhi.core.benchmarks import BenchContext
from shizhi.hotline.models import OPEN_STATUSES, Assignment, Case

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_the_benchmark_generates_the_cases_and_reports_every_figure(tmp_path: Path) -> None:
    similar.reset()
    lines: list[str] = []
    options = {
        "similar_cases": 300,
        "similar_resolved": 120,
        "similar_queries": 12,
        "similar_days": 30,
        "scale": "small",
        "seed": 3,
    }
    result = similar_bench.run(
        BenchContext(options=options, database_url="sqlite", write=lines.append, scratch_dir=tmp_path)
    )
    # 300 open cases, then 3 more arrive before the refresh is timed.
    assert result["cases"]["open"] == 300
    assert Case.objects.filter(status__in=OPEN_STATUSES).count() == 303
    assert result["cases"]["resolved_with_reply"] == 120
    assert Assignment.objects.filter(case__status__in=OPEN_STATUSES).exists()
    assert result["build"]["open"]["cases"] == 300 and result["build"]["resolved"]["cases"] == 120
    assert result["build"]["open"]["index_mb"] > 0
    for key in ("operator", "handler", "without_place", "reply_suggestions", "previous_version"):
        figures = result["queries"][key]
        assert figures["n"] >= 4 and 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert result["queries"]["first_query_after_new_cases"]["new_cases"] == 3
    quality = result["quality"]["located"]
    assert quality["planted"] == 6 and 0 <= quality["recall_at_1"] <= quality["recall_at_5"] <= 1
    assert result["targets"][0]["name"] == "similar_open_cases_p99"
    text = "\n".join(lines)
    assert "cold build open" in text and "planted duplicates" in text and "previous version" in text
