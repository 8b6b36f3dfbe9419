"""AI assistance in the hotline API: similar cases of a request being typed and of a case, reply suggestions, and
the reply review. Each route's answer, and its refusals in the platform's error shape with nothing changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from shizhi.ai import similar
from shizhi.core.models import AuditEvent
from shizhi.hotline import services
from shizhi.hotline.models import Case, CaseEvent, CaseStatus
from shizhi.hotline.tests.factories import IN_COUNTY, IN_URBAN, HotlineWorld, build_hotline_world, new_case

pytestmark = pytest.mark.django_db

LAMP_TITLE = "路灯不亮"
LAMP = "幸福路12号门口的路灯已经坏了一周，晚上一片漆黑，老人出行很不安全，请尽快修理。"
TYPED = {"title": "路灯坏了", "content": "幸福路12号门口路灯坏了好几天，晚上漆黑一片，请派人修理。"}
NEARBY = (IN_URBAN[0] + 0.003, IN_URBAN[1] + 0.0005)  # about 300 m away, same grid
WEAK_REPLY = "已处理，谢谢您的关注和支持。"
GOOD_REPLY = (
    "您好！您反映的幸福路12号门口路灯不亮的问题，我局于5月10日安排维修人员到现场核实，经检查为灯泡损坏，"
    "已于当日更换灯泡，目前路灯已恢复正常照明。如有疑问，请联系市城市管理局，联系电话0571-88886666。"
)
SIMILAR_KEYS = {
    "case_id",
    "number",
    "title",
    "status",
    "score",
    "rank",
    "distance_m",
    "days",
    "same_grid",
    "same_phone",
    "shared_words",
    "reasons",
}


@pytest.fixture(autouse=True)
def _fresh_index() -> Iterator[None]:
    similar.reset()
    yield
    similar.reset()


@pytest.fixture
def hw() -> HotlineWorld:
    return build_hotline_world()


def ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def accepted(hw: HotlineWorld, **over: Any) -> Case:
    case = new_case(hw, **over)
    services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units["cgj"])
    return services.case_accept(actor=hw.users["h_cgj"], case=case)


def resolved(hw: HotlineWorld, reply: str, **over: Any) -> Case:
    case = services.case_reply(actor=hw.users["h_cgj"], case=accepted(hw, **over), reply=reply)
    return services.case_callback(
        actor=hw.users["operator"], case=case, reached=True, solved=True, satisfaction=5
    )


def state() -> tuple[Any, ...]:
    return (
        list(Case.objects.order_by("id").values("id", "status", "reply", "merged_into_id", "lead_unit_id")),
        CaseEvent.objects.count(),
        AuditEvent.objects.count(),
    )


def clients(hw: HotlineWorld, api_as: Any, *users: str) -> dict[str, Any]:
    """API clients made before the state is taken (a new token is an audited change)."""
    return {u: api_as(hw.users[u]) for u in users}


def expect(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.content.decode()
    body = resp.json()
    assert body["code"] == code and body["message"] and isinstance(body["details"], dict)
    return body


# ------------------------------------------------------------------------------ POST /cases/similar


def test_similar_for_a_request_being_typed(hw: HotlineWorld, api_as: Any) -> None:
    duplicate = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(2))
    same_caller = new_case(
        hw,
        title="楼道堆放杂物",
        content="三单元楼道里堆满了杂物。",
        at=IN_COUNTY,
        citizen_phone="13812340000",
    )
    new_case(hw, title=LAMP_TITLE, content=LAMP, at=IN_COUNTY, received_at=ago(2))  # far away
    api = api_as(hw.users["operator"])
    before = state()
    resp = api.post(
        "/api/v1/cases/similar",
        {**TYPED, "lng": IN_URBAN[0], "lat": IN_URBAN[1], "phone": "138 1234 0000", "limit": 5},
    )
    assert resp.status_code == 200, resp.content.decode()
    found = resp.json()
    assert [f["number"] for f in found] == [same_caller.number, duplicate.number]
    assert all(set(f) == SIMILAR_KEYS for f in found)
    first, second = found
    assert first["same_phone"] is True and first["reasons"][0] == "同一来电号码"
    assert (second["case_id"], second["status"], second["same_grid"], second["same_phone"]) == (
        duplicate.pk,
        CaseStatus.RECEIVED,
        True,
        False,
    )
    assert 250 <= second["distance_m"] <= 350 and round(second["days"]) == 2
    assert second["reasons"][:3] == ["同一网格", f"相距 {second['distance_m']} 米", "2 天前"]
    assert 0.3 <= second["score"] <= 1 and "幸福路12号门口" in "".join(second["shared_words"])
    assert state() == before


def test_similar_for_a_request_is_scoped_to_what_the_actor_sees(hw: HotlineWorld, api_as: Any) -> None:
    new_case(hw, title=LAMP_TITLE, content=LAMP, at=IN_COUNTY, received_at=ago(1))
    body = {**TYPED, "lng": IN_COUNTY[0], "lat": IN_COUNTY[1]}
    assert len(api_as(hw.users["operator"]).post("/api/v1/cases/similar", body).json()) == 1
    # The grid worker's area is the urban community: the county case does not exist for them.
    assert api_as(hw.users["grid"]).post("/api/v1/cases/similar", body).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "", "content": " "}, "content"),
        ({**TYPED, "lng": 120.05}, "lng"),
        ({**TYPED, "lng": 200.0, "lat": 30.0}, "lng"),
        ({**TYPED, "limit": 0}, "limit"),
        ({**TYPED, "limit": 21}, "limit"),
        ({**TYPED, "title": "长" * 101}, "title"),
        ({**TYPED, "phone": "1" * 21}, "phone"),
    ],
)
def test_similar_for_a_request_refuses_bad_input(
    hw: HotlineWorld, api_as: Any, body: dict[str, Any], field: str
) -> None:
    api = api_as(hw.users["operator"])
    before = state()
    resp = expect(api.post("/api/v1/cases/similar", body), 422, "validation_failed")
    fields = [e["field"] for e in resp["details"].get("errors", [])] or [resp["details"].get("field")]
    assert field in fields
    assert state() == before


def test_similar_for_a_request_needs_a_token_and_the_intake_right(
    hw: HotlineWorld, api_as: Any, anon: Any
) -> None:
    api = clients(hw, api_as, "h_cgj", "supervisor", "citizen", "grid")
    before = state()
    expect(anon.post("/api/v1/cases/similar", TYPED), 401, "not_authenticated")
    for user in ("h_cgj", "supervisor", "citizen"):
        expect(api[user].post("/api/v1/cases/similar", TYPED), 403, "permission_denied")
    assert api["grid"].post("/api/v1/cases/similar", TYPED).status_code == 200
    assert state() == before


# ------------------------------------------------------------------------------ GET /cases/{id}/similar


def test_similar_of_a_case_excludes_itself(hw: HotlineWorld, api_as: Any) -> None:
    this = new_case(hw, **TYPED)
    duplicate = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(1))
    resp = api_as(hw.users["operator"]).get(f"/api/v1/cases/{this.pk}/similar")
    assert resp.status_code == 200
    found = resp.json()
    assert [f["case_id"] for f in found] == [duplicate.pk]
    assert found[0]["reasons"][0] == "同一网格" and "1 天前" in found[0]["reasons"]
    # Seen from the duplicate, this case was received a day later.
    back = api_as(hw.users["operator"]).get(f"/api/v1/cases/{duplicate.pk}/similar").json()
    assert [f["case_id"] for f in back] == [this.pk] and "1 天后" in back[0]["reasons"]
    assert (
        api_as(hw.users["operator"]).get(f"/api/v1/cases/{this.pk}/similar", {"limit": 1}).status_code == 200
    )


def test_similar_of_a_case_refusals(hw: HotlineWorld, api_as: Any, anon: Any) -> None:
    own = new_case(hw, actor="citizen", channel="web", citizen_phone="13900000009")
    county = new_case(hw, at=IN_COUNTY)
    api = clients(hw, api_as, "citizen", "grid", "operator")
    before = state()
    expect(anon.get(f"/api/v1/cases/{own.pk}/similar"), 401, "not_authenticated")
    expect(api["citizen"].get(f"/api/v1/cases/{own.pk}/similar"), 403, "permission_denied")
    expect(api["grid"].get(f"/api/v1/cases/{county.pk}/similar"), 404, "not_found")
    expect(api["operator"].get("/api/v1/cases/999999/similar"), 404, "not_found")
    expect(api["operator"].get(f"/api/v1/cases/{own.pk}/similar", {"limit": 0}), 422, "validation_failed")
    assert state() == before


# ------------------------------------------------------------------------------ GET /cases/{id}/reply-suggestions


def test_reply_suggestions_of_a_case(hw: HotlineWorld, api_as: Any) -> None:
    earlier = resolved(hw, GOOD_REPLY, title=LAMP_TITLE, content=LAMP)
    this = accepted(hw, **TYPED)
    resp = api_as(hw.users["h_cgj"]).get(f"/api/v1/cases/{this.pk}/reply-suggestions")
    assert resp.status_code == 200
    found = resp.json()
    assert [f["case_id"] for f in found] == [earlier.pk]
    first = found[0]
    assert (first["number"], first["reply"], first["unit"], first["same_category"]) == (
        earlier.number,
        GOOD_REPLY,
        "临江市城市管理局",
        True,
    )
    assert first["replied_at"] and "同一分类" in first["reasons"] and "回访满意" in first["reasons"]
    # The case itself, once replied, is never its own suggestion.
    services.case_reply(actor=hw.users["h_cgj"], case=this, reply=GOOD_REPLY)
    own = api_as(hw.users["h_cgj"]).get(f"/api/v1/cases/{this.pk}/reply-suggestions").json()
    assert this.pk not in [f["case_id"] for f in own]


def test_reply_suggestions_refusals(hw: HotlineWorld, api_as: Any, anon: Any) -> None:
    resolved(hw, GOOD_REPLY, title=LAMP_TITLE, content=LAMP)
    this = accepted(hw, actor="citizen", channel="web", citizen_phone="13900000009")
    api = clients(hw, api_as, "citizen", "h_sthj", "h_cgj")
    before = state()
    path = f"/api/v1/cases/{this.pk}/reply-suggestions"
    expect(anon.get(path), 401, "not_authenticated")
    expect(api["citizen"].get(path), 403, "permission_denied")
    expect(api["h_sthj"].get(path), 404, "not_found")  # another unit's case
    expect(api["h_cgj"].get(path, {"limit": 11}), 422, "validation_failed")
    assert state() == before


# ------------------------------------------------------------------------------ POST /cases/{id}/reply-review


def test_reply_review_scores_a_reply_without_sending_it(hw: HotlineWorld, api_as: Any) -> None:
    case = accepted(hw)
    api, dispatcher = api_as(hw.users["h_cgj"]), api_as(hw.users["dispatcher"])
    before = state()
    weak = api.post(f"/api/v1/cases/{case.pk}/reply-review", {"text": WEAK_REPLY}).json()
    assert (weak["ok"], weak["flags"]) == (False, ["relevance", "completeness"])
    assert set(weak["scores"]) == {"relevance", "completeness", "interpretability"}
    assert weak["missing"] == ["handler", "action", "result", "time", "contact"]
    missing = [r for r in weak["reasons"] if (r["dimension"], r["code"]) == ("completeness", "missing")]
    assert [r["message"] for r in missing] == ["缺少：办理单位、办理措施、办理结果、办理时间、联系方式"]
    good = api.post(f"/api/v1/cases/{case.pk}/reply-review", {"text": GOOD_REPLY}).json()
    assert (good["ok"], good["flags"], good["missing"]) == (True, [], [])
    assert good["overall"] > weak["overall"] and good["scores"]["completeness"] == 1.0
    # The dispatcher may review too (staff who see the case); nothing is sent either way.
    reviewed = dispatcher.post(f"/api/v1/cases/{case.pk}/reply-review", {"text": GOOD_REPLY})
    assert reviewed.status_code == 200 and reviewed.json()["scores"] == good["scores"]
    assert state() == before


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        ({"text": "   "}, False),
        ({}, False),
        ({"text": "长" * 4001}, False),
        ({"text": 5}, False),
        ("{", True),
    ],
)
def test_reply_review_refuses_bad_input(hw: HotlineWorld, api_as: Any, body: Any, raw: bool) -> None:
    case = accepted(hw)
    api = api_as(hw.users["h_cgj"])
    before = state()
    resp = api.post(f"/api/v1/cases/{case.pk}/reply-review", body, raw=raw)
    if raw:
        expect(resp, 400, "bad_request")
    else:
        expect(resp, 422, "validation_failed")
    assert state() == before


def test_reply_review_refusals(hw: HotlineWorld, api_as: Any, anon: Any) -> None:
    own = accepted(hw, actor="citizen", channel="web", citizen_phone="13900000009")
    api = clients(hw, api_as, "citizen", "h_sthj", "h_cgj")
    before = state()
    path = f"/api/v1/cases/{own.pk}/reply-review"
    expect(anon.post(path, {"text": GOOD_REPLY}), 401, "not_authenticated")
    expect(api["citizen"].post(path, {"text": GOOD_REPLY}), 403, "permission_denied")
    expect(api["h_sthj"].post(path, {"text": GOOD_REPLY}), 404, "not_found")
    expect(api["h_cgj"].post("/api/v1/cases/999999/reply-review", {"text": GOOD_REPLY}), 404, "not_found")
    assert state() == before
