"""``shizhi bench ai`` end to end on generated texts: every figure is printed and written to JSON. No timing
assertions: speed is measured by the benchmark and reported, never asserted here."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from shizhi.ai.bench import generated_texts

pytestmark = pytest.mark.slow


def test_generated_texts_are_labelled_by_first_level_category() -> None:
    texts, labels = generated_texts(50)
    assert len(texts) == len(labels) == 50 and all(texts)
    assert set(labels) <= {
        "城乡建设",
        "生态环境",
        "交通出行",
        "市场监管",
        "劳动社保",
        "教育卫生",
        "水电气",
        "政策咨询",
        "社会治安与民生",
    }


def test_bench_ai_prints_every_figure_and_writes_the_json(tmp_path: Path) -> None:
    out = io.StringIO()
    target = tmp_path / "bench.json"
    call_command(
        "bench",
        "ai",
        "--generated",
        "--texts",
        "300",
        "--single",
        "50",
        "--repeat",
        "1",
        "--skip",
        "similar",
        "--json",
        str(target),
        stdout=out,
    )
    text = out.getvalue()
    for words in (
        "train on 300 texts",
        "5-fold stratified CV",
        "memory:",
        "one text (50 texts",
        "batch: 300 texts",
        "targets:",
    ):
        assert words in text
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["benchmark"] == "ai" and data["data"] == "generated" and data["texts"] == 300
    assert data["train"]["median_s"] > 0 and data["train"]["labels"] >= 5
    assert (
        data["single"]["suggest_p50_ms"] > 0
        and data["single"]["suggest_p99_ms"] >= data["single"]["suggest_p50_ms"]
    )
    assert data["batch"]["texts_per_s"] > 0
    assert data["memory"]["artifact_kb"] > 0 and data["memory"]["fresh_process_rss_after_mb"] > 0
    assert 0 < data["cv"]["macro_f1"] <= 1
    assert {t["name"] for t in data["targets"]} == {"train", "single_p50", "batch"}
    assert "similar" not in data
