from typing import Any

import pytest

from shizhi.hotline.models import Case
from shizhi.hotline.tests.factories import build_hotline_world

pytestmark = pytest.mark.django_db


def test_api_walks_the_case_through_its_life(api_as: Any, anon: Any) -> None:
    hw = build_hotline_world()
    op, disp, handler = (
        api_as(hw.users["operator"]),
        api_as(hw.users["dispatcher"]),
        api_as(hw.users["h_cgj"]),
    )
    body = {
        "demand_type": "complaint",
        "category": "CX0101",
        "title": "路灯不亮",
        "content": "幸福路12号门口路灯坏了一周。",
        "citizen_name": "张三",
        "citizen_phone": "13812341234",
        "lng": 120.05,
        "lat": 30.02,
    }
    resp = op.post("/api/v1/cases", body)
    assert resp.status_code == 201, resp.content
    case = resp.json()
    assert case["street"]["name"] == "江城南街道" and case["citizen_phone"] == "13812341234"
    cid = case["id"]
    assert disp.get(f"/api/v1/cases/{cid}/suggestion").json()["unit"]["name"] == "临江市城市管理局"
    assert "dispatch" in disp.get(f"/api/v1/cases/{cid}").json()["allowed_actions"]
    resp = disp.post(f"/api/v1/cases/{cid}/dispatch", {"unit_id": hw.units["cgj"].pk})
    assert resp.status_code == 200 and resp.json()["status"] == "dispatched"
    inbox = handler.get("/api/v1/inbox").json()
    assert [i["case"]["number"] for i in inbox] == [case["number"]]
    assert handler.get(f"/api/v1/cases/{cid}").json()["allowed_actions"] == ["accept", "return"]
    assert handler.post(f"/api/v1/cases/{cid}/accept").json()["status"] == "accepted"
    assert (
        handler.post(f"/api/v1/cases/{cid}/reply", {"text": "已更换灯泡，路灯恢复照明。联系人王工。"}).json()[
            "status"
        ]
        == "replied"
    )
    public = anon.get(f"/api/v1/public/cases/{case['number']}", {"phone": "13812341234"})
    assert public.status_code == 200 and public.json()["can_rate"] is True
    assert anon.get(f"/api/v1/public/cases/{case['number']}", {"phone": "13800000000"}).status_code == 404
    resp = anon.post(
        f"/api/v1/public/cases/{case['number']}/rate",
        {"phone": "13812341234", "solved": True, "satisfaction": 4},
    )
    assert resp.status_code == 200 and resp.json()["status"] == "closed"
    assert Case.objects.get(pk=cid).satisfied is True
    # Another unit's handler cannot see it at all.
    assert api_as(hw.users["h_sthj"]).get(f"/api/v1/cases/{cid}").status_code == 404
    month = Case.objects.get(pk=cid).rated_month
    rates = api_as(hw.users["supervisor"]).get(
        "/api/v1/hotline/rates", {"group": "unit", "month_from": month}
    )
    row = next(r for r in rates.json() if r["name"] == "临江市城市管理局")
    assert (row["response_rate"], row["resolution_rate"], row["satisfaction_rate"]) == (100.0, 100.0, 100.0)


def test_case_list_pages_without_counting(api_as: Any) -> None:
    from shizhi.hotline.tests.factories import new_case

    hw = build_hotline_world()
    first, second = new_case(hw), new_case(hw)
    api = api_as(hw.users["operator"])
    page = api.get("/api/v1/cases", {"limit": 1}).json()
    assert [c["number"] for c in page["items"]] == [second.number] and page["has_more"] is True
    page = api.get("/api/v1/cases", {"limit": 1, "offset": 1}).json()
    assert [c["number"] for c in page["items"]] == [first.number] and page["has_more"] is False
    assert api.get("/api/v1/cases", {"status": "closed"}).json() == {
        "items": [],
        "limit": 50,
        "offset": 0,
        "has_more": False,
    }
