"""The alerts API (/api/v1/alerts): list and detail in scope, the actions, rates, board and grid risk, and the
standard error shape with nothing changed on a refusal."""

from __future__ import annotations

from typing import Any

import pytest

from shizhi.hotline import services as hotline
from shizhi.hotline.models import Case, CaseStatus
from shizhi.warning.models import Alert, AlertStatus
from shizhi.warning.tests.alert_factories import AlertWorld, build_alert_world, signal
from shizhi.warning.tests.test_alerts import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def w() -> AlertWorld:
    return build_alert_world()


def error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.content
    body = resp.json()
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    return body


def test_list_and_detail_in_scope(w: AlertWorld, api_as: Any, anon: Any) -> None:
    water, air = signal(w, w.water, 3), signal(w, w.air, 2)
    op = api_as(w.users["operator"])
    page = op.get("/api/v1/alerts").json()
    assert [a["id"] for a in page["items"]] == [air.pk, water.pk] and page["has_more"] is False
    assert [a["id"] for a in op.get("/api/v1/alerts", {"level": 3}).json()["items"]] == [water.pk]
    assert [a["id"] for a in op.get("/api/v1/alerts", {"status": "raised"}).json()["items"]] == [air.pk]
    assert [a["id"] for a in op.get("/api/v1/alerts", {"rule": "threshold:"}).json()["items"]] == [
        air.pk,
        water.pk,
    ]
    assert op.get("/api/v1/alerts", {"rule": "anomaly:"}).json()["items"] == []
    error(op.get("/api/v1/alerts", {"status": "nope"}), 422, "validation_failed")
    error(op.get("/api/v1/alerts", {"since": "yesterday"}), 422, "validation_failed")

    detail = op.get(f"/api/v1/alerts/{water.pk}").json()
    case = Case.objects.get()
    assert detail["case"] == {
        "id": case.pk,
        "number": case.number,
        "status": "dispatched",
        "status_label": "已派单",
    }
    assert (detail["level"], detail["level_label"], detail["severity"], detail["category"]) == (
        3,
        "橙色预警",
        "high",
        "naturalDisaster",
    )
    assert detail["owner_unit"]["name"] == "临江市城市管理局" and detail["device_code"] == "wl-1"
    assert [(e["kind"], e["actor"]) for e in detail["events"]] == [
        ("raised", "系统"),
        ("case_opened", "系统"),
    ]

    # A unit handler of another unit: the alert does not exist for them.
    other = api_as(w.users["h_sthj"])
    assert [a["id"] for a in other.get("/api/v1/alerts").json()["items"]] == [air.pk]
    error(other.get(f"/api/v1/alerts/{water.pk}"), 404, "not_found")
    error(api_as(w.users["citizen"]).get("/api/v1/alerts"), 403, "permission_denied")
    error(anon.get("/api/v1/alerts"), 401, "not_authenticated")


def test_actions_through_the_api_and_refusals_change_nothing(w: AlertWorld, api_as: Any) -> None:
    alert = signal(w, w.water, 2)
    handler, other, leader = api_as(w.users["h_cgj"]), api_as(w.users["h_sthj"]), api_as(w.users["l_cgj"])
    base = f"/api/v1/alerts/{alert.pk}"

    before = state()
    error(other.post(f"{base}/acknowledge", {}), 404, "not_found")
    error(leader.post(f"{base}/acknowledge", {}), 403, "permission_denied")
    error(handler.post(f"{base}/resolve", {}), 422, "validation_failed")  # the note is required
    error(handler.post(f"{base}/false-alarm", {"reason": ""}), 422, "validation_failed")
    error(handler.post("/api/v1/alerts/999999/acknowledge", {}), 404, "not_found")
    assert state() == before

    body = handler.post(f"{base}/acknowledge", {"note": "已安排巡查"}).json()
    assert body["status"] == "acknowledged" and body["events"][-1]["note"] == "已安排巡查"
    before = state()
    refused = error(handler.post(f"{base}/acknowledge", {}), 409, "invalid_state")
    assert refused["details"]["status"] == "acknowledged"
    assert state() == before

    body = handler.post(f"{base}/dispatch", {"note": "请处置"}).json()
    case = Case.objects.get()
    assert body["status"] == "dispatched" and body["case"]["number"] == case.number
    assert case.lead_unit == w.units["cgj"] and case.status == CaseStatus.DISPATCHED

    # The unit answers the case: the alert is resolved, and then resolving by hand is refused.
    case = hotline.case_accept(actor=w.users["h_cgj"], case=case)
    hotline.case_reply(actor=w.users["h_cgj"], case=case, reply="已组织抽排，积水已退，水位恢复正常。")
    body = handler.get(base).json()
    assert (body["status"], body["resolution"]) == ("resolved", "case_closed")
    before = state()
    error(handler.post(f"{base}/resolve", {"note": "再次解除"}), 409, "invalid_state")
    assert state() == before

    # A resolved alert can still be found to have been a false alarm.
    body = handler.post(f"{base}/false-alarm", {"reason": "水尺被杂物遮挡"}).json()
    assert (body["status"], body["resolution"], body["resolution_note"]) == (
        "false_alarm",
        "false_alarm",
        "水尺被杂物遮挡",
    )
    assert Alert.objects.get().status == AlertStatus.FALSE_ALARM


def test_dispatch_without_a_category_is_refused_and_resolve_by_hand(w: AlertWorld, api_as: Any) -> None:
    alert = signal(w, w.air, 2)
    op = api_as(w.users["operator"])
    before = state()
    body = error(op.post(f"/api/v1/alerts/{alert.pk}/dispatch", {}), 422, "validation_failed")
    assert body["details"]["field"] == "category_code" and state() == before
    body = op.post(f"/api/v1/alerts/{alert.pk}/resolve", {"note": "已通知企业整改"}).json()
    assert (body["status"], body["resolution"], body["resolved_by"]) == ("resolved", "handled", "operator")


def test_rates_board_and_grid_risk(w: AlertWorld, api_as: Any) -> None:
    op = api_as(w.users["operator"])
    first = signal(w, w.water, 1)
    op.post(f"/api/v1/alerts/{first.pk}/false-alarm", {"reason": "传感器故障"})
    second = signal(w, w.water, 1, minutes=10)
    op.post(f"/api/v1/alerts/{second.pk}/resolve", {"note": "已处置"})
    signal(w, w.water, 2, minutes=20)

    rates = op.get("/api/v1/alerts/rates").json()
    assert rates["by_rule"] == [
        {
            "rule": "threshold:water_level",
            "device_type_id": None,
            "device_type": "",
            "closed": 2,
            "false_alarms": 1,
            "rate": 0.5,
        }
    ]
    assert [(r["device_type"], r["closed"]) for r in rates["by_device_type"]] == [("水位计", 2)]
    board = op.get("/api/v1/alerts/board").json()
    assert board["open_total"] == 1 and board["open_by_level"] == {"1": 0, "2": 1, "3": 0, "4": 0}
    assert board["by_status"]["false_alarm"] == 1 and board["by_status"]["resolved"] == 1
    risk = op.get("/api/v1/alerts/grid-risk").json()
    assert [(r["code"], r["open_total"], r["max_level"]) for r in risk] == [(w.water.grid.code, 1, 2)]
    error(api_as(w.users["citizen"]).get("/api/v1/alerts/rates"), 403, "permission_denied")
