"""Bad input to the hotline API: a clear error with a stable code, and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from shizhi.core.models import AuditEvent
from shizhi.hotline.models import Assignment, Case, CaseEvent, Extension, Supervision
from shizhi.hotline.tests.factories import build_hotline_world, new_case

pytestmark = pytest.mark.django_db

GOOD = {
    "demand_type": "complaint",
    "category": "CX0101",
    "title": "路灯不亮",
    "content": "幸福路12号门口路灯坏了一周。",
    "citizen_name": "张三",
    "citizen_phone": "13812341234",
    "lng": 120.05,
    "lat": 30.02,
}


def state() -> tuple[Any, ...]:
    return (
        list(
            Case.objects.order_by("id").values(
                "id", "status", "reply", "due_at", "lead_unit_id", "satisfaction"
            )
        ),
        Assignment.objects.count(),
        CaseEvent.objects.count(),
        Extension.objects.count(),
        Supervision.objects.count(),
        AuditEvent.objects.count(),
    )


def expect(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.content.decode()
    body = resp.json()
    assert body["code"] == code and body["message"]
    return body


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"title": None}, 422, "validation_failed", "title"),
        ({"content": None}, 422, "validation_failed", "content"),
        ({"category": None}, 422, "validation_failed", "category"),
        ({"demand_type": None}, 422, "validation_failed", "demand_type"),
        ({"title": ""}, 422, "validation_failed", "title"),
        ({"content": "短"}, 422, "validation_failed", "content"),
        ({"title": "长" * 101}, 422, "validation_failed", "title"),
        ({"content": "长" * 4001}, 422, "validation_failed", "content"),
        ({"content": "路灯坏了<script>alert(1)</script>"}, 422, "validation_failed", "content"),
        ({"title": "<b>路灯</b>"}, 422, "validation_failed", "title"),
        ({"category": "NOPE"}, 422, "validation_failed", "category"),
        ({"demand_type": "rant"}, 422, "validation_failed", "demand_type"),
        ({"channel": "fax"}, 422, "validation_failed", "channel"),
        ({"urgency": "panic"}, 422, "validation_failed", "urgency"),
        ({"lng": 200.0}, 422, "validation_failed", "lng"),
        ({"lat": "north"}, 422, "validation_failed", "lat"),
        ({"lng": 121.5, "lat": 31.2}, 422, "validation_failed", "lng"),  # outside the city
        ({"lat": None}, 422, "validation_failed", "lng"),  # only one coordinate
        ({"citizen_phone": "12345"}, 422, "validation_failed", "citizen_phone"),
        ({"citizen_phone": ""}, 422, "validation_failed", "citizen_phone"),
    ],
)
def test_bad_intake_changes_nothing(
    api_as: Any, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    hw = build_hotline_world()
    api = api_as(hw.users["operator"])
    body = {k: v for k, v in {**GOOD, **change}.items() if v is not None or k in ("lng",)}
    if change.get("lat", 0) is None:
        body.pop("lat", None)
    before = state()
    resp = expect(api.post("/api/v1/cases", body), status, code)
    assert field in str(resp["details"]) or field in resp["message"]
    assert state() == before


def test_duplicate_submission_is_refused(api_as: Any) -> None:
    hw = build_hotline_world()
    api = api_as(hw.users["operator"])
    first = api.post("/api/v1/cases", {**GOOD, "idempotency_key": "abc-1"})
    assert first.status_code == 201
    before = state()
    again = expect(api.post("/api/v1/cases", {**GOOD, "idempotency_key": "abc-1"}), 409, "conflict")
    assert again["details"]["number"] == first.json()["number"]
    # The same words from the same phone a minute later: the same request, not a new one.
    expect(api.post("/api/v1/cases", GOOD), 409, "conflict")
    assert state() == before


def test_who_may_record_a_case(api_as: Any, anon: Any) -> None:
    hw = build_hotline_world()
    handler, citizen = api_as(hw.users["h_cgj"]), api_as(hw.users["citizen"])
    before = state()
    expect(handler.post("/api/v1/cases", GOOD), 403, "permission_denied")
    expect(citizen.post("/api/v1/cases", GOOD), 403, "permission_denied")  # phone channel
    expect(anon.post("/api/v1/cases", GOOD), 401, "not_authenticated")
    assert state() == before
    mine = citizen.post("/api/v1/cases", {**GOOD, "channel": "app"})
    assert mine.status_code == 201
    assert Case.objects.get(number=mine.json()["number"]).citizen == hw.users["citizen"]


def test_bad_actions_change_nothing(api_as: Any) -> None:
    hw = build_hotline_world()
    case = new_case(hw)
    disp, handler, op = (
        api_as(hw.users["dispatcher"]),
        api_as(hw.users["h_cgj"]),
        api_as(hw.users["operator"]),
    )
    sup = api_as(hw.users["supervisor"])
    before = state()
    cid = case.pk
    expect(disp.post(f"/api/v1/cases/{cid}/dispatch", {}), 422, "validation_failed")
    expect(disp.post(f"/api/v1/cases/{cid}/dispatch", {"unit_id": 999999}), 404, "not_found")
    expect(
        disp.post(
            f"/api/v1/cases/{cid}/dispatch",
            {"unit_id": hw.units["cgj"].pk, "assist_unit_ids": [hw.units["cgj"].pk]},
        ),
        422,
        "validation_failed",
    )
    expect(
        disp.post(f"/api/v1/cases/{cid}/dispatch", {"unit_id": hw.units["cgj"].pk, "sla_kind": "forever"}),
        422,
        "validation_failed",
    )
    expect(disp.post("/api/v1/cases/999999/dispatch", {"unit_id": hw.units["cgj"].pk}), 404, "not_found")
    expect(handler.post(f"/api/v1/cases/{cid}/accept"), 404, "not_found")  # not dispatched to them: invisible
    expect(
        op.post(f"/api/v1/cases/{cid}/callback", {"reached": True, "solved": True, "satisfaction": 5}),
        409,
        "invalid_state",
    )
    expect(op.post(f"/api/v1/cases/{cid}/answer", {"reply": "好"}), 422, "validation_failed")
    expect(
        op.post(f"/api/v1/cases/{cid}/answer", {"reply": "请<script>x</script>"}), 422, "validation_failed"
    )
    expect(op.post(f"/api/v1/cases/{cid}/merge", {"master_id": cid}), 422, "validation_failed")
    assert state() == before
    disp.post(f"/api/v1/cases/{cid}/dispatch", {"unit_id": hw.units["cgj"].pk})
    handler.post(f"/api/v1/cases/{cid}/accept")
    before = state()
    expect(
        handler.post(f"/api/v1/cases/{cid}/reply", {"text": "已处理"}), 422, "validation_failed"
    )  # too short
    expect(handler.post(f"/api/v1/cases/{cid}/return", {"text": "不"}), 422, "validation_failed")
    expect(
        handler.post(f"/api/v1/cases/{cid}/extensions", {"working_days": 0, "reason": "需要时间协调"}),
        422,
        "validation_failed",
    )
    expect(
        handler.post(f"/api/v1/cases/{cid}/extensions", {"working_days": 30, "reason": "需要时间协调"}),
        422,
        "validation_failed",
    )
    expect(handler.post(f"/api/v1/cases/{cid}/accept"), 409, "invalid_state")
    expect(op.post(f"/api/v1/cases/{cid}/callback", {"reached": True}), 409, "invalid_state")
    expect(
        sup.post(f"/api/v1/cases/{cid}/supervise", {"note": "x", "kind": "loud"}), 422, "validation_failed"
    )
    expect(sup.post("/api/v1/extensions/99999/decide", {"approve": True}), 404, "not_found")
    assert state() == before


def test_callback_needs_a_complete_rating(api_as: Any) -> None:
    hw = build_hotline_world()
    op, handler = api_as(hw.users["operator"]), api_as(hw.users["h_cgj"])
    case = new_case(hw)
    api_as(hw.users["dispatcher"]).post(f"/api/v1/cases/{case.pk}/dispatch", {"unit_id": hw.units["cgj"].pk})
    handler.post(f"/api/v1/cases/{case.pk}/accept")
    handler.post(f"/api/v1/cases/{case.pk}/reply", {"text": "已更换灯泡，路灯恢复照明，联系人王工。"})
    before = state()
    expect(
        op.post(f"/api/v1/cases/{case.pk}/callback", {"reached": True, "solved": True}),
        422,
        "validation_failed",
    )
    expect(
        op.post(f"/api/v1/cases/{case.pk}/callback", {"reached": True, "solved": True, "satisfaction": 6}),
        422,
        "validation_failed",
    )
    expect(
        op.post(f"/api/v1/cases/{case.pk}/callback", {"reached": False}), 422, "validation_failed"
    )  # needs a note
    assert state() == before
    resp = op.post(f"/api/v1/cases/{case.pk}/callback", {"reached": False, "note": "三次未接通"})
    assert (
        resp.status_code == 200 and resp.json()["status"] == "closed" and resp.json()["satisfaction"] is None
    )


def test_public_endpoints_refuse_bad_input(anon: Any) -> None:
    hw = build_hotline_world()
    case = new_case(hw)
    before = state()
    expect(anon.post("/api/v1/public/cases", {**GOOD, "citizen_phone": ""}), 422, "validation_failed")
    expect(anon.post("/api/v1/public/cases", {**GOOD, "channel": "phone"}), 422, "validation_failed")
    expect(anon.get(f"/api/v1/public/cases/{case.number}", {"phone": "13000000000"}), 404, "not_found")
    expect(
        anon.post(
            f"/api/v1/public/cases/{case.number}/rate",
            {"phone": case.citizen_phone, "solved": True, "satisfaction": 5},
        ),
        409,
        "invalid_state",
    )
    expect(
        anon.post(
            f"/api/v1/public/cases/{case.number}/rate",
            {"phone": "13000000000", "solved": True, "satisfaction": 5},
        ),
        404,
        "not_found",
    )
    assert state() == before
    resp = anon.post("/api/v1/public/cases", GOOD)
    assert resp.status_code == 201 and resp.json()["status"] == "received"
    assert Case.objects.get(number=resp.json()["number"]).channel == "web"
