"""Detectors on live series: warning levels inline, anomalies and offline behind the pipe, restart-safe state."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from shizhi.hotline.models import Case
from shizhi.hotline.services.catalogue import CategoryRow, categories_import
from shizhi.sensing import detection, services
from shizhi.sensing.detection import AnomalyWatch, detect_pending, mark_offline
from shizhi.sensing.ingest import forget_catalogue, ingest_records
from shizhi.sensing.models import Device, DeviceStatus, DeviceType, SeriesState
from shizhi.sensing.tests.factories import T0, Site, build_site
from shizhi.warning.models import Alert, AlertEvent

pytestmark = pytest.mark.django_db

NOW = datetime.fromtimestamp(T0 + 86400 * 60, tz=UTC)  # "now" for the pipe: after every reading below


@pytest.fixture
def site() -> Site:
    detection.forget_facts()
    forget_catalogue()
    built = build_site()
    categories_import(actor=None, rows=[CategoryRow(code="flood", name="积水内涝")])
    DeviceType.objects.filter(code="water_level").update(case_category_code="flood")
    return built


def water(values: list[float], start: int = T0, step: int = 300) -> list[dict[str, object]]:
    return [
        {"device": "wl-001", "quantity": "level", "time": start + i * step, "value": v}
        for i, v in enumerate(values)
    ]


def ingest(records: list[dict[str, object]]) -> None:
    result = ingest_records(records, source="http", now=NOW)
    assert result.rejected == 0, result.errors


def levels(alert: Alert) -> list[tuple[str, int | None]]:
    return list(AlertEvent.objects.filter(alert=alert).order_by("id").values_list("kind", "level"))


# ------------------------------------------------------------------------------------------------ inline levels
def test_a_rising_water_level_raises_escalates_and_opens_a_case(site: Site) -> None:
    # water_level lines: blue 10, yellow 20, orange 30, red 50 cm (margin 2); case level: yellow (2)
    ingest(water([2, 4, 12, 15]))
    alert = Alert.objects.get()
    assert (alert.rule, alert.level, alert.status, alert.case_id) == ("threshold:level", 1, "raised", None)
    ingest(water([22, 31], start=T0 + 1200))
    alert.refresh_from_db()
    assert alert.level == 3 and alert.case_id is not None
    case = Case.objects.get(pk=alert.case_id)
    assert case.channel == "sensor"
    assert case.category.code == "flood"
    assert alert.status == "dispatched"
    assert Alert.objects.count() == 1  # one open alert per device and rule
    assert [k for k, _ in levels(alert)][:2] == ["raised", "escalated"]


def test_a_second_alert_of_the_same_incident_joins_the_open_case(site: Site) -> None:
    from shizhi.warning.services import alert_signal

    ingest(water([35]))  # orange: a case
    first = Alert.objects.get()
    at = datetime.fromtimestamp(T0 + 300, tz=UTC)
    second = alert_signal(
        device_id=site.water.pk,
        quantity_id=site.quantity(site.water, "level").pk,
        rule="anomaly:level",
        level=2,
        score=0.9,
        kind="jump",
        reason="sudden change",
        value=35.0,
        at=at,
    )
    assert second.pk != first.pk and second.case_id == first.case_id
    assert Case.objects.count() == 1 and second.status == "dispatched"


def test_a_frozen_sensor_is_reported(site: Site) -> None:
    values = [round(40 + (i * 7919 % 13) / 4 + (i * 104729 % 7) / 10, 2) for i in range(400)]
    values += [41.5] * 30  # the sensor freezes at an ordinary value
    ingest(
        [
            {"device": "air-001", "quantity": "no2", "time": T0 + i * 3600, "value": v}
            for i, v in enumerate(values)
        ]
    )
    detect_pending(now=NOW)
    alert = Alert.objects.get(rule="anomaly:no2")
    assert alert.value == 41.5
    assert alert.valid_from >= datetime.fromtimestamp(T0 + 400 * 3600, tz=UTC)


def test_hysteresis_and_clearing(site: Site) -> None:
    ingest(water([12]))  # blue
    ingest(water([9], start=T0 + 300))  # within the 2 cm margin of the blue line: still blue
    alert = Alert.objects.get()
    assert alert.status == "raised" and alert.valid_to is None
    ingest(water([7], start=T0 + 600))  # below 10 - 2: cleared; nobody acknowledged it, so it resolves itself
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolution == "cleared"
    assert alert.valid_to == datetime.fromtimestamp(T0 + 600, tz=UTC)
    ingest(water([13], start=T0 + 900))  # a new incident: a new alert
    assert Alert.objects.count() == 2


def test_level_state_survives_a_restart(site: Site) -> None:
    ingest(water([25]))  # yellow: the state is stored
    state = SeriesState.objects.get(device=site.water, detector="threshold")
    assert state.state["data"]["level"] == 2
    detection.forget_facts()  # a new process: the rule is rebuilt from the stored state
    ingest(water([19], start=T0 + 300))  # still yellow (margin 2): no new signal, no clearing
    alert = Alert.objects.get()
    assert alert.level == 2 and alert.valid_to is None
    assert [k for k, _ in levels(alert)].count("cleared") == 0


def test_readings_out_of_order_are_stored_but_not_scored(site: Site) -> None:
    ingest(water([5, 6], start=T0 + 3600))
    ingest(water([40], start=T0))  # an hour older than what the rule has seen
    assert Alert.objects.count() == 0


def test_maintenance_silences_the_rules(site: Site) -> None:
    services.device_set_status(actor=None, device=site.water, status=DeviceStatus.MAINTENANCE)
    ingest(water([60]))
    assert Alert.objects.count() == 0


# ------------------------------------------------------------------------------------------------ behind the pipe
def seasonal(n: int, first: int = 0, spike_at: int | None = None) -> list[dict[str, object]]:
    """Hourly NO2 with a daily cycle, readings ``first`` .. ``first + n - 1`` (hours after T0)."""
    out = []
    for i in range(first, first + n):
        v = 40 + 15 * math.sin(2 * math.pi * (i % 24) / 24) + (i * 7919 % 13) / 4
        if i == spike_at:
            v = 400.0
        out.append({"device": "air-001", "quantity": "no2", "time": T0 + i * 3600, "value": round(v, 2)})
    return out


def test_the_anomaly_detector_finds_a_spike_and_resumes_exactly(site: Site) -> None:
    ingest(seasonal(300))
    watch = AnomalyWatch()
    report = watch.run_once(now=NOW)
    assert report.readings == 300 + 0  # no2 is the only air quantity with readings
    assert not Alert.objects.filter(rule="anomaly:no2").exists()
    watch.checkpoint()
    # a new process resumes from the checkpoint and finds the spike in the next readings
    ingest(seasonal(40, 300, spike_at=320))
    report = AnomalyWatch().run_once(now=NOW)
    assert report.readings == 40 and report.anomalies >= 1
    alert = Alert.objects.get(rule="anomaly:no2")
    assert alert.value == 400.0
    assert alert.valid_from == datetime.fromtimestamp(T0 + 320 * 3600, tz=UTC)


def test_resumed_scores_equal_uninterrupted_scores(site: Site) -> None:
    ingest(seasonal(260, spike_at=240))
    one = AnomalyWatch()
    one.run_once(now=NOW)
    uninterrupted = one.series[(site.air.pk, site.quantity(site.air, "no2").pk)].detector.state()
    SeriesState.objects.all().delete()
    Alert.objects.all().delete()
    # the same readings scored in two runs with a checkpoint between them
    first = AnomalyWatch()
    key = (site.air.pk, site.quantity(site.air, "no2").pk)
    first._get(key, "hourly")
    series = first.series[key]
    from shizhi.sensing.models import Reading

    rows = list(
        Reading.objects.filter(device_id=key[0], quantity_id=key[1]).order_by("ts").values_list("ts", "value")
    )
    for t, v in rows[:130]:
        series.detector.update(t, v)
    series.last_ts, series.dirty = rows[129][0], True
    first.checkpoint()
    detect_pending(now=NOW)
    resumed = SeriesState.objects.get(device_id=key[0], quantity_id=key[1], detector="anomaly").state
    assert resumed == uninterrupted


def test_a_silent_device_goes_offline_and_comes_back(site: Site) -> None:
    ingest(water([3]))
    Device.objects.filter(pk=site.water.pk).update(last_seen_at=NOW - timedelta(hours=2))
    assert mark_offline(NOW) >= 1  # water level: 300 s interval, offline after 3 intervals
    site.water.refresh_from_db()
    assert site.water.status == "offline"
    alert = Alert.objects.get(device=site.water, rule="offline")
    assert alert.status == "raised"
    assert (
        mark_offline(NOW) == 0
        or not Alert.objects.filter(device=site.water, rule="offline").exclude(pk=alert.pk).exists()
    )
    ingest(water([4], start=T0 + 300))
    site.water.refresh_from_db()
    alert.refresh_from_db()
    assert site.water.status == "online"
    assert alert.status == "resolved" and alert.resolution == "cleared"


def test_detect_pending_round(site: Site) -> None:
    ingest(seasonal(30))
    report = detect_pending(now=NOW)
    assert report.series == 1 and report.readings == 30
    assert SeriesState.objects.filter(detector="anomaly").count() == 1
    again = detect_pending(now=NOW)
    assert again.readings == 0


def test_a_watch_keeps_at_most_max_series_in_memory_and_scores_alike(site: Site) -> None:
    ingest(seasonal(200))
    ingest(water([3 + (i % 7) / 10 for i in range(200)]))
    DeviceType.objects.filter(code="water_level").update(anomaly_profile="default")
    no2 = (site.air.pk, site.quantity(site.air, "no2").pk)
    level = (site.water.pk, site.quantity(site.water, "level").pk)
    alone = AnomalyWatch()
    alone.run_once(now=NOW)
    assert set(alone.series) == {no2, level}  # quantities without readings do not stay in memory
    SeriesState.objects.all().delete()

    small = AnomalyWatch(max_series=1)
    small.run_once(now=NOW)
    assert len(small.series) == 1
    rested = ({no2, level} - set(small.series)).pop()
    assert small.resting[rested] == alone.series[rested].last_ts
    assert SeriesState.objects.filter(device_id=rested[0], quantity_id=rested[1]).exists()
    small.run_once(now=NOW)  # nothing new: nothing is loaded back
    assert rested not in small.series

    # new readings for both: the rested series comes back from its checkpoint and scores as if it had stayed
    ingest(seasonal(30, 200, spike_at=215))
    ingest(water([3 + (i % 7) / 10 for i in range(200, 230)], start=T0 + 200 * 300))
    small.run_once(now=NOW)
    small.rest()
    small.checkpoint()
    states = {
        (d, q): st
        for d, q, st in SeriesState.objects.filter(detector="anomaly").values_list(
            "device_id", "quantity_id", "state"
        )
    }
    alone.run_once(now=NOW)
    assert set(states) == {no2, level}
    assert states == {k: s.detector.state() for k, s in alone.series.items()}
    assert states[no2]["data"]["n"] == 230


def test_workers_share_the_devices_and_score_as_one(site: Site) -> None:
    from shizhi.sensing.models import HourlyRollup

    ingest(seasonal(50))
    ingest(
        [
            {"device": "wl-001", "quantity": "level", "time": T0 + i * 300, "value": 3 + (i % 5) / 10}
            for i in range(60)
        ]
    )
    DeviceType.objects.filter(code="water_level").update(anomaly_profile="default")
    one = AnomalyWatch()
    one.run_once(now=NOW)
    alone = {k: s.detector.state() for k, s in one.series.items()}
    assert HourlyRollup.objects.exists()  # the round refreshed the rollups
    first = AnomalyWatch(partition=(0, 2), housekeeping=True)
    second = AnomalyWatch(partition=(1, 2), housekeeping=False)
    first.run_once(now=NOW)
    second.run_once(now=NOW)
    assert not set(first.series) & set(second.series)
    together = {k: s.detector.state() for w in (first, second) for k, s in w.series.items()}
    assert together == alone
