"""``shizhi bench ingest`` end to end at a tiny size, so that it cannot rot. No timing assertions: the figures are
measured and reported by the benchmark itself."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from shizhi.sensing.mqtt import Broker


def _mqtt_reachable() -> bool:
    import socket

    b = Broker.from_url(os.environ.get("SHIZHI_MQTT_URL", "mqtt://127.0.0.1:1883"))
    try:
        with socket.create_connection((b.host, b.port), timeout=2):
            return True
    except OSError:
        return os.environ.get("SHIZHI_REQUIRE_SERVICES") == "1"  # CI: the MQTT part must run (and fail)


def test_bench_ingest_measures_every_way_in_and_writes_the_figures(tmp_path: Path) -> None:
    target = tmp_path / "ingest.json"
    out = io.StringIO()
    args = ["--readings", "700", "--devices", "6", "--batch", "300", "--message", "20", "--repeat", "1"]
    args += ["--anomaly-series", "2", "--anomaly-days", "2", "--reference-readings", "1500"]
    with_mqtt = _mqtt_reachable()
    if not with_mqtt:
        args += ["--skip", "mqtt"]
    call_command("bench", "ingest", *args, "--profile", "--json", str(target), stdout=out)
    text = out.getvalue()
    assert "fleet: 6 devices, 31 series, 700 readings per round" in text
    for label in (
        "(a) bare executemany",
        "(b) ingest_records, detectors off",
        "django.test.Client",
        "waitress",
    ):
        assert label in text
    assert "(d) ingest_records, detectors on" in text and "cProfile of one round of (b)" in text

    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["benchmark"] == "ingest" and data["readings"] == 700 and data["series"] == 31
    for part in ("bare", "pipe", "client", "server", "detect"):
        assert data[part]["readings_per_s"] > 0 and len(data[part]["samples_ms"]) == 1
    assert data["pipe"]["ratio_to_bare"] > 0
    names = {t["name"] for t in data["targets"]}
    assert {"pipe_vs_bare", "detectors_on", "every_detector_end_to_end"} <= names
    a = data["anomaly"]
    assert (a["series"], a["days"], a["readings"]) == (2, 2, 2 * 2 * 1440)
    assert a["compiled"] and a["reference_readings"] == 1500 and a["core_vs_reference"] > 0
    assert a["rollup_hours"] == 2 * 49  # two days of minutes from mid-hour on touch 49 hours per series
    assert a["anomalies"] >= 2  # each series floods once (30 cm for five minutes)
    assert "(g) all three, one after another, one core" in text
    assert len(data["load_average"]) == 3
    if with_mqtt:
        m = data["mqtt"]
        assert (m["stored"], m["accepted"], m["lost"]) == (700, 700, 0)
        assert m["messages"] == 37  # 5 air stations x 6 quantities and a gauge, 20 readings a message
        assert "mqtt" in names and "lost 0" in text


def test_bench_ingest_refuses_an_unknown_part() -> None:
    with pytest.raises(CommandError):
        call_command("bench", "ingest", "--readings", "10", "--skip", "nothing", stdout=io.StringIO())
