"""The hotline pages (接诉即办) through the browser's interface: who may open which page, and each page's writes
going through the services with the exact result, or refused with the message and nothing changed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shizhi.hotline import page_selectors, services
from shizhi.hotline.models import (
    AssignmentStatus,
    Case,
    CaseEvent,
    CaseStatus,
    DispatchRule,
    Extension,
    ExtensionStatus,
    KnowledgeArticle,
    Supervision,
)
from shizhi.hotline.tests.factories import IN_COUNTY, IN_URBAN, HotlineWorld, build_hotline_world, new_case

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TOKEN = "tok-abcdefghijklmnopqrstuvwx"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()  # the portal's per-address post counter and the cached district outlines


@pytest.fixture
def hw() -> HotlineWorld:
    return build_hotline_world()


def browser(hw: HotlineWorld, key: str | None) -> Client:
    client = Client()
    if key:
        client.force_login(hw.users[key])
    return client


def html(response: Any) -> str:
    return response.content.decode("utf-8")


def messages_of(body: str) -> list[str]:
    block = re.search(r'<ul class="messages">(.*?)</ul>', body, re.S)
    return re.findall(r"<li[^>]*>(.*?)</li>", block.group(1), re.S) if block else []


def replied_case(hw: HotlineWorld, **over: Any) -> Case:
    u = hw.users
    case = new_case(hw, **over)
    case = services.case_dispatch(actor=u["dispatcher"], case=case, unit=hw.units["cgj"])
    case = services.case_accept(actor=u["h_cgj"], case=case)
    return services.case_reply(actor=u["h_cgj"], case=case, reply="已更换灯泡，路灯恢复照明。联系人王工。")


# ------------------------------------------------------------------------------ who may open what


PAGES = [
    # path (case:N is the case's id), allowed user, text on the page, refused user (None: anonymous -> login)
    ("/hotline/intake/", "operator", "受理台", "h_cgj"),
    ("/hotline/intake/", "grid", "受理台", "citizen"),
    ("/hotline/intake/similar/", "operator", "相似工单", "h_cgj"),
    ("/hotline/dispatch/", "dispatcher", "派单台", "operator"),
    ("/hotline/inbox/", "h_cgj", "待办工单", "dispatcher"),
    ("/hotline/board/", "supervisor", "督办考核", "operator"),
    ("/hotline/board/", "l_cgj", "承办单位排名", "h_cgj"),
    ("/hotline/cases/", "operator", "本人权限范围内的工单", "steward"),
    ("/hotline/cases/", "citizen", "我的诉求", "member"),
    ("/hotline/cases/case/", "operator", "办理记录", "steward"),
    ("/hotline/knowledge/", "h_cgj", "知识库", "citizen"),
    ("/hotline/knowledge/new/", "operator", "新增知识库条目", "h_cgj"),
    ("/hotline/catalogue/", "dispatcher", "新增派单规则", "citizen"),
    ("/hotline/catalogue/", "h_cgj", "派单规则", "steward"),
]


@pytest.mark.parametrize(("path", "allowed", "text", "refused"), PAGES)
def test_each_page_opens_for_its_roles_and_refuses_others(
    hw: HotlineWorld, path: str, allowed: str, text: str, refused: str
) -> None:
    case = new_case(hw)
    path = path.replace("/case/", f"/{case.pk}/")
    response = browser(hw, allowed).get(path)
    assert response.status_code == 200
    assert text in html(response)
    if refused in hw.users:
        response = browser(hw, refused).get(path)
        assert response.status_code == 403
        assert "无权访问" in html(response)
    response = browser(hw, None).get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/hotline/")


def test_catalogue_page_offers_changes_only_to_who_may_make_them(hw: HotlineWorld) -> None:
    body = html(browser(hw, "h_cgj").get("/hotline/catalogue/"))
    assert "临江市城市管理局" in body and "新增派单规则" not in body and "删除" not in body


def test_a_case_outside_the_scope_does_not_exist(hw: HotlineWorld) -> None:
    case = new_case(hw)
    services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units["cgj"])
    assert browser(hw, "h_sthj").get(f"/hotline/cases/{case.pk}/").status_code == 404
    response = browser(hw, "h_sthj").post(f"/hotline/cases/{case.pk}/do/accept/")
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.DISPATCHED


def test_the_citizen_portal_needs_no_sign_in(hw: HotlineWorld) -> None:
    for path, text in (
        ("/hotline/portal/", "12345 市民诉求"),
        ("/hotline/portal/track/", "查询办理进度"),
    ):
        response = Client().get(path)
        assert response.status_code == 200 and text in html(response)
    body = html(Client().get("/hotline/portal/"))
    assert '<optgroup label="城乡建设">' in body and '<option value="CX0101"' in body
    assert 'name="token"' in body and 'name="anonymous"' not in body


def test_portal_map_outlines_are_public_and_hold_names_only(hw: HotlineWorld) -> None:
    response = Client().get("/hotline/portal/districts.geojson")
    assert response.status_code == 200
    data = response.json()
    assert [f["properties"] for f in data["features"]] == [
        {"id": hw.world.area("331202000000").pk, "name": "江城区"},
        {"id": hw.world.area("331221000000").pk, "name": "临江县"},
    ]
    assert data["features"][0]["geometry"]["type"] == "Polygon"


def test_navigation_shows_each_role_its_hotline_pages(hw: HotlineWorld) -> None:
    def nav(key: str) -> list[str]:
        body = html(browser(hw, key).get("/hotline/knowledge/" if key != "citizen" else "/hotline/cases/"))
        block = re.search(r'<nav class="mainnav"[^>]*>(.*?)</nav>', body, re.S)
        assert block
        return re.findall(r"<a [^>]*>([^<]+)</a>", block.group(1))

    operator = nav("operator")
    assert [
        x for x in operator if x in ("受理", "派单", "待办", "工单", "督办考核", "知识库", "派单目录")
    ] == [
        "受理",
        "工单",
        "知识库",
    ]
    assert [x for x in nav("dispatcher") if x in ("受理", "派单", "工单", "督办考核", "派单目录")] == [
        "受理",
        "派单",
        "工单",
        "督办考核",
        "派单目录",
    ]
    assert [x for x in nav("h_cgj") if x in ("受理", "派单", "待办", "工单", "督办考核")] == ["待办", "工单"]
    citizen = nav("citizen")
    assert "我的诉求" in citizen and "我要反映" in citizen and "工单" not in citizen


# ------------------------------------------------------------------------------ the citizen portal


def portal_form(**over: Any) -> dict[str, str]:
    return {
        "token": TOKEN,
        "demand_type": "complaint",
        "category": "CX0101",
        "title": "小区门口路灯不亮",
        "content": "幸福路12号小区东门的路灯坏了一周，晚上很黑。",
        "citizen_name": "李四",
        "citizen_phone": "139 1234 5678",
        "address": "幸福路12号东门",
        "lng": str(IN_URBAN[0]),
        "lat": str(IN_URBAN[1]),
        **over,
    }


def test_portal_submission_creates_the_case_and_shows_its_number(hw: HotlineWorld) -> None:
    client = Client()
    response = client.post("/hotline/portal/", portal_form())
    assert response.status_code == 302 and response["Location"] == "/hotline/portal/done/"
    case = Case.objects.select_related("category", "street").get()
    assert (
        case.channel,
        case.demand_type,
        case.category.code,
        case.title,
        case.content,
        case.citizen_name,
        case.citizen_phone,
        case.address,
        case.lng,
        case.lat,
        case.street.code if case.street else None,
        case.anonymous,
        case.citizen,
        case.created_by,
        case.status,
        case.idempotency_key,
    ) == (
        "web",
        "complaint",
        "CX0101",
        "小区门口路灯不亮",
        "幸福路12号小区东门的路灯坏了一周，晚上很黑。",
        "李四",
        "13912345678",
        "幸福路12号东门",
        120.05,
        30.02,
        "331202001000",
        False,
        None,
        None,
        CaseStatus.RECEIVED,
        TOKEN,
    )
    body = html(client.get("/hotline/portal/done/"))
    assert f'<p class="case-number" id="case-number">{case.number}</p>' in body


def test_portal_double_submission_creates_one_case(hw: HotlineWorld) -> None:
    client = Client()
    first = client.post("/hotline/portal/", portal_form())
    second = client.post("/hotline/portal/", portal_form())
    assert first["Location"] == second["Location"] == "/hotline/portal/done/"
    assert Case.objects.count() == 1
    number = Case.objects.get().number
    assert f">{number}</p>" in html(client.get("/hotline/portal/done/"))
    # Someone else replaying the token with another phone learns nothing about the first case.
    other = Client().post("/hotline/portal/", portal_form(citizen_phone="13700000000"))
    assert other.status_code == 200 and number not in html(other)
    assert Case.objects.count() == 1


def test_portal_requires_a_phone_and_keeps_what_was_typed(hw: HotlineWorld) -> None:
    response = Client().post("/hotline/portal/", portal_form(citizen_phone="", anonymous="1"))
    assert response.status_code == 200
    body = html(response)
    assert messages_of(body) == ["请留下手机号，用于查询进度和回访"]
    assert "幸福路12号小区东门的路灯坏了一周，晚上很黑。</textarea>" in body
    assert f'name="token" value="{TOKEN}"' in body
    assert Case.objects.count() == 0


def test_a_signed_in_citizen_finds_the_request_under_my_requests(hw: HotlineWorld) -> None:
    client = browser(hw, "citizen")
    client.post("/hotline/portal/", portal_form())
    case = Case.objects.get()
    assert case.citizen == hw.users["citizen"]
    body = html(client.get("/hotline/cases/"))
    assert case.number in body and "我的诉求" in body


def test_tracking_needs_the_number_and_the_right_phone(hw: HotlineWorld) -> None:
    case = new_case(hw)
    client = Client()
    response = client.post("/hotline/portal/track/", {"number": case.number, "phone": "13800000000"})
    assert response.status_code == 200
    body = html(response)
    assert messages_of(body) == ["未找到该工单，请核对工单编号和提交时填写的手机号"]
    assert case.title not in body
    assert "hotline_track" not in client.session
    spaced = f"{case.citizen_phone[:3]} {case.citizen_phone[3:7]} {case.citizen_phone[7:]}"
    response = client.post("/hotline/portal/track/", {"number": case.number, "phone": spaced})
    assert response.status_code == 302
    body = html(client.get("/hotline/portal/track/"))
    assert case.title in body and "已受理" in body and "您的诉求已受理" in body


def test_tracking_shows_progress_in_plain_words_and_the_reply_without_staff_names(hw: HotlineWorld) -> None:
    case = replied_case(hw)
    client = Client()
    client.post("/hotline/portal/track/", {"number": case.number, "phone": case.citizen_phone})
    body = html(client.get("/hotline/portal/track/"))
    steps = re.findall(r"<strong>([^<]+)</strong>", body.split('<ol class="timeline">')[1].split("</ol>")[0])
    assert steps == ["您的诉求已受理", "已转交承办单位办理", "承办单位已接收", "承办单位已答复"]
    assert "已更换灯泡，路灯恢复照明。联系人王工。" in body
    assert "评价办理结果" in body
    for staff in ("operator", "dispatcher", "h_cgj"):
        assert staff not in body


def test_the_portal_slows_down_a_script(hw: HotlineWorld) -> None:
    client = Client()
    statuses = [
        client.post("/hotline/portal/track/", {"number": "2026000000001", "phone": "13800000000"}).status_code
        for _ in range(31)
    ]
    assert statuses == [200] * 30 + [429]
    assert "操作过于频繁" in html(client.post("/hotline/portal/track/", {"number": "1", "phone": "1"}))
    assert (
        Client(REMOTE_ADDR="10.0.0.9")
        .post("/hotline/portal/track/", {"number": "1", "phone": "1"})
        .status_code
        == 200
    )


def test_citizen_rating_closes_the_case(hw: HotlineWorld) -> None:
    case = replied_case(hw)
    client = Client()
    client.post("/hotline/portal/track/", {"number": case.number, "phone": case.citizen_phone})
    response = client.post(
        "/hotline/portal/track/rate/", {"solved": "1", "satisfaction": "4", "note": "很及时"}
    )
    assert response.status_code == 302 and response["Location"] == "/hotline/portal/track/"
    case.refresh_from_db()
    assert (case.status, case.solved, case.satisfaction, case.satisfied, case.callback_note) == (
        CaseStatus.CLOSED,
        True,
        4,
        True,
        "很及时",
    )
    event = case.events.get(action="callback")
    assert event.data["by_citizen"] is True
    body = html(client.get("/hotline/portal/track/"))
    assert "感谢您的评价！" in body and "评价办理结果" not in body


def test_rating_without_proving_the_phone_or_with_bad_stars_changes_nothing(hw: HotlineWorld) -> None:
    case = replied_case(hw)
    response = Client().post("/hotline/portal/track/rate/", {"solved": "1", "satisfaction": "5"})
    assert response.status_code == 302
    client = Client()
    client.post("/hotline/portal/track/", {"number": case.number, "phone": case.citizen_phone})
    client.post("/hotline/portal/track/rate/", {"solved": "1", "satisfaction": "7"})
    assert messages_of(html(client.get("/hotline/portal/track/"))) == ["满意度须为1到5"]
    case.refresh_from_db()
    assert (case.status, case.solved, case.satisfaction) == (CaseStatus.REPLIED, None, None)


# ------------------------------------------------------------------------------ intake desk


def intake_form(**over: Any) -> dict[str, str]:
    return {
        "token": TOKEN,
        "channel": "phone",
        "demand_type": "complaint",
        "urgency": "normal",
        "category": "CX0101",
        "title": "路灯不亮",
        "content": "幸福路12号门口的路灯坏了，晚上看不见路。",
        "citizen_name": "王五",
        "citizen_phone": "13600001111",
        "address": "幸福路12号",
        "lng": str(IN_URBAN[0]),
        "lat": str(IN_URBAN[1]),
        **over,
    }


def test_intake_creates_the_case_and_opens_it_with_the_catalogue_suggestion(hw: HotlineWorld) -> None:
    client = browser(hw, "operator")
    response = client.post("/hotline/intake/", intake_form())
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/hotline/cases/{case.pk}/"
    assert (
        case.channel,
        case.citizen_phone,
        case.created_by,
        case.status,
        case.grid.code if case.grid else None,
    ) == (
        "phone",
        "13600001111",
        hw.users["operator"],
        CaseStatus.RECEIVED,
        "331202001001001",
    )
    body = html(client.get(response["Location"]))
    assert f"已受理，工单编号 {case.number}" in body
    suggestion = re.search(r'<section class="card suggestion-card">(.*?)</section>', body, re.S)
    assert suggestion and "<strong>临江市城市管理局</strong>" in suggestion.group(1)
    assert client.post("/hotline/intake/", intake_form()).status_code == 302  # the same token again
    assert Case.objects.count() == 1


def test_intake_refusal_keeps_the_form(hw: HotlineWorld) -> None:
    response = browser(hw, "operator").post("/hotline/intake/", intake_form(content="太短"))
    assert response.status_code == 200
    body = html(response)
    assert messages_of(body) == ["诉求内容至少5个字"]
    assert 'value="路灯不亮"' in body and 'value="13600001111"' in body
    assert Case.objects.count() == 0


def test_similar_cases_finds_the_same_caller_and_like_words_in_the_same_street(hw: HotlineWorld) -> None:
    same_phone = new_case(
        hw,
        title="楼道堆放杂物",
        content="三单元楼道里堆满了杂物，存在消防隐患。",
        at=IN_COUNTY,
        citizen_phone="13812341234",
    )
    same_street = new_case(hw, citizen_phone="13900001234")  # 路灯不亮, in the urban street
    elsewhere = new_case(hw, citizen_phone="13900005678", at=IN_COUNTY)  # same words, other street
    closed = replied_case(hw, citizen_phone="13812341234", content="另一盏路灯也坏了，请一并修理好。")
    services.case_callback(actor=hw.users["operator"], case=closed, reached=True, solved=True, satisfaction=5)
    response = browser(hw, "operator").get(
        "/hotline/intake/similar/",
        {
            "citizen_phone": "13812341234",
            "title": "路灯坏了",
            "content": "幸福路12号门口的路灯已经坏了一周",
            "lng": IN_URBAN[0],
            "lat": IN_URBAN[1],
        },
    )
    assert response.status_code == 200
    body = html(response)
    numbers = re.findall(r'target="_blank" rel="noopener">(\d+)</a>', body)
    assert numbers == [same_phone.number, same_street.number]
    assert elsewhere.number not in body and closed.number not in body
    assert "同一来电号码" in body and "内容相似" in body and "定位：江城南街道" in body


def test_an_inquiry_can_be_answered_at_once_from_the_knowledge_base(hw: HotlineWorld) -> None:
    article = services.knowledge_save(
        actor=None,
        title="新生儿如何办理社保卡",
        answer="新生儿社保卡可在出生登记时一并申请，携带户口簿到社区服务中心办理，约15个工作日制卡。",
        keywords="社保卡 新生儿",
    )
    client = browser(hw, "operator")
    panel = html(
        client.get(
            "/hotline/intake/similar/",
            {"demand_type": "inquiry", "title": "新生儿社保卡怎么办", "citizen_phone": "13600001111"},
        )
    )
    assert "新生儿如何办理社保卡" in panel and f'name="answer_article" value="{article.pk}"' in panel
    response = client.post(
        "/hotline/intake/",
        intake_form(
            demand_type="inquiry", category="ZC", title="新生儿社保卡怎么办", answer_article=str(article.pk)
        ),
    )
    case = Case.objects.get()
    assert response["Location"] == f"/hotline/cases/{case.pk}/"
    assert (case.status, case.reply, case.knowledge_article) == (CaseStatus.REPLIED, article.answer, article)
    assert KnowledgeArticle.objects.get(pk=article.pk).times_used == 1


def test_the_intake_check_button_works_without_scripts(hw: HotlineWorld) -> None:
    existing = new_case(hw, citizen_phone="13600001111")
    response = browser(hw, "operator").post("/hotline/intake/", intake_form(action="check", title=""))
    assert response.status_code == 200
    body = html(response)
    assert existing.number in body and "同一来电号码" in body
    assert Case.objects.count() == 1


# ------------------------------------------------------------------------------ dispatch queue


def test_dispatch_queue_preselects_the_catalogue_and_dispatches(hw: HotlineWorld) -> None:
    older = new_case(hw)
    newer = new_case(hw, category="HJ01", title="夜间施工噪声", citizen_phone="13600002222")
    client = browser(hw, "dispatcher")
    body = html(client.get("/hotline/dispatch/"))
    rows = re.findall(
        r'action="/hotline/cases/(\d+)/do/dispatch/".*?name="unit"[^>]*value="([^"]*)"', body, re.S
    )
    assert rows == [(str(older.pk), "临江市城市管理局"), (str(newer.pk), "江城区南街道办事处")]
    response = client.post(
        f"/hotline/cases/{older.pk}/do/dispatch/",
        {"unit": "临江市城市管理局", "assist": "临江市生态环境局", "next": "/hotline/dispatch/"},
    )
    assert response.status_code == 302 and response["Location"] == "/hotline/dispatch/"
    older.refresh_from_db()
    assert (older.status, older.lead_unit) == (CaseStatus.DISPATCHED, hw.units["cgj"])
    assert sorted(older.assignments.values_list("unit__code", "role")) == [
        ("cgj", "lead"),
        ("sthj", "assist"),
    ]
    body = html(client.get("/hotline/dispatch/"))
    assert "工单 " + older.number + " 已派至 临江市城市管理局" in body
    assert f"/hotline/cases/{older.pk}/do/dispatch/" not in body


def test_batched_suggestions_match_the_service(hw: HotlineWorld) -> None:
    cases = [
        new_case(hw, category="CX0101"),
        new_case(hw, category="CX0102", citizen_phone="13600000001"),
        new_case(hw, category="HJ01", citizen_phone="13600000002"),
        new_case(hw, category="HJ01", at=IN_COUNTY, citizen_phone="13600000003"),
        new_case(hw, category="ZC", at=IN_COUNTY, citizen_phone="13600000004"),
        new_case(hw, category="ZC", at=None, citizen_phone="13600000005"),
    ]
    batched = page_selectors.suggestions_for(cases)
    for case in cases:
        one = services.suggest_unit(case)
        assert (batched[case.pk].unit, batched[case.pk].rule, batched[case.pk].reason) == (
            one.unit,
            one.rule,
            one.reason,
        )


def test_dispatcher_reviews_a_return_and_decides_an_extension(hw: HotlineWorld) -> None:
    u = hw.users
    returned = new_case(hw)
    services.case_dispatch(actor=u["dispatcher"], case=returned, unit=hw.units["sthj"])
    services.case_return(actor=u["h_sthj"], case=returned, reason="路灯不属于生态环境局职责")
    extended = new_case(hw, citizen_phone="13600003333")
    services.case_dispatch(actor=u["dispatcher"], case=extended, unit=hw.units["cgj"])
    services.case_accept(actor=u["h_cgj"], case=extended)
    ext = services.case_request_extension(
        actor=u["h_cgj"], case=extended, working_days=3, reason="需要协调电力部门"
    )
    client = browser(hw, "dispatcher")
    body = html(client.get("/hotline/dispatch/"))
    assert "路灯不属于生态环境局职责" in body and "需要协调电力部门" in body
    client.post(
        f"/hotline/cases/{returned.pk}/do/review_return/",
        {"approve": "1", "unit": "临江市城市管理局", "next": "/hotline/dispatch/"},
    )
    returned.refresh_from_db()
    assert (returned.status, returned.lead_unit) == (CaseStatus.DISPATCHED, hw.units["cgj"])
    due = Case.objects.get(pk=extended.pk).due_at
    client.post(
        f"/hotline/cases/{extended.pk}/do/decide_extension/",
        {"extension": str(ext.pk), "approve": "1", "next": "/hotline/dispatch/"},
    )
    ext.refresh_from_db()
    assert ext.status == ExtensionStatus.APPROVED and ext.old_due_at == due
    assert Case.objects.get(pk=extended.pk).due_at == ext.new_due_at


def test_dispatcher_merges_a_duplicate_by_number(hw: HotlineWorld) -> None:
    master = new_case(hw)
    duplicate = new_case(hw, citizen_phone="13600004444")
    response = browser(hw, "dispatcher").post(
        "/hotline/dispatch/merge/", {"duplicate": duplicate.number, "master": master.number}
    )
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into) == (CaseStatus.MERGED, master)


# ------------------------------------------------------------------------------ unit inbox


def test_unit_accepts_and_replies_through_the_inbox(hw: HotlineWorld) -> None:
    case = new_case(hw)
    services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units["cgj"])
    client = browser(hw, "h_cgj")
    body = html(client.get("/hotline/inbox/"))
    assert case.number in body and f"/hotline/cases/{case.pk}/do/accept/" in body
    response = client.post(f"/hotline/cases/{case.pk}/do/accept/", {"next": "/hotline/inbox/"})
    assert response.status_code == 302 and response["Location"] == "/hotline/inbox/"
    body = html(client.get("/hotline/inbox/"))
    assert f"已签收工单 {case.number}" in body and f"/hotline/cases/{case.pk}/do/reply/" in body
    reply = "已安排维修人员更换灯泡，经现场查看路灯已恢复照明。"
    response = client.post(f"/hotline/cases/{case.pk}/do/reply/", {"reply": reply, "next": "/hotline/inbox/"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.reply, case.replied_on_time) == (CaseStatus.REPLIED, reply, True)
    assert case.assignments.get().status == AssignmentStatus.DONE
    assert case.number not in html(client.get("/hotline/inbox/"))


def test_inbox_marks_a_late_acceptance(hw: HotlineWorld) -> None:
    case = new_case(hw)
    services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units["cgj"])
    case.assignments.update(accept_due_at=case.received_at)  # the deadline has passed
    body = html(browser(hw, "h_cgj").get("/hotline/inbox/"))
    assert '<span class="nowrap overdue">' in body and "已超期" in body


# ------------------------------------------------------------------------------ supervisor board


def test_board_shows_the_three_rates_of_a_small_month(hw: HotlineWorld) -> None:
    u = hw.users
    happy = replied_case(hw)
    services.case_callback(actor=u["operator"], case=happy, reached=True, solved=True, satisfaction=5)
    unhappy = replied_case(hw, citizen_phone="13600005555")
    services.case_callback(actor=u["operator"], case=unhappy, reached=True, solved=False, satisfaction=2)
    late = new_case(hw, citizen_phone="13600006666")
    late = services.case_dispatch(actor=u["dispatcher"], case=late, unit=hw.units["cgj"])
    late.assignments.update(accept_due_at=late.received_at)
    services.case_accept(actor=u["h_cgj"], case=late)  # after its acceptance deadline
    body = html(browser(hw, "supervisor").get("/hotline/board/"))
    rates = dict(re.findall(r'data-rate="(\w+)">([^<]+)</div>', body))
    # 2 of 3 assignments accepted in time; 1 of 2 rated cases solved and satisfied; 0.2, 0.4, 0.4 weights.
    assert rates == {"response": "66.7%", "resolution": "50.0%", "satisfaction": "50.0%", "composite": "53.3"}
    assert "按时签收 2 / 派单 3" in body
    ranking = re.search(r'<section class="card" id="units">(.*?)</section>', body, re.S)
    assert ranking
    cells = re.findall(r"<td[^>]*>(.*?)</td>", ranking.group(1), re.S)
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in cells[:8]] == [
        "1",
        "临江市城市管理局",
        "3",
        "66.7%",
        "2",
        "50.0%",
        "50.0%",
        "53.3",
    ]
    assert '"response": [' in body and "board-charts" in body


def test_board_lists_overdue_cases_and_supervises_them(hw: HotlineWorld) -> None:
    case = new_case(hw)
    case = services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units["cgj"])
    services.sla_sweep(now=case.due_at.replace(year=case.due_at.year + 1))
    client = browser(hw, "supervisor")
    body = html(client.get("/hotline/board/"))
    overdue = re.search(r'<section class="card" id="overdue">(.*?)</section>', body, re.S)
    assert overdue and case.number in overdue.group(1)
    response = client.post(
        f"/hotline/cases/{case.pk}/do/supervise/",
        {"kind": "flagged", "note": "请今日内处理", "next": "/hotline/board/"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.flagged is True
    assert sorted(Supervision.objects.filter(case=case).values_list("kind", "note")) == [
        ("flagged", "请今日内处理"),
        ("overdue", "超过办理期限，系统自动督办"),
    ]


# ------------------------------------------------------------------------------ cases


def test_case_list_filters_and_pages_without_counting(hw: HotlineWorld) -> None:
    light = new_case(hw)
    noise = new_case(hw, category="HJ01", title="夜间施工噪声", citizen_phone="13600007777", at=IN_COUNTY)
    client = browser(hw, "operator")
    body = html(client.get("/hotline/cases/", {"category": "HJ"}))
    assert noise.number in body and light.number not in body
    county = hw.world.area("331221000000").pk
    body = html(client.get("/hotline/cases/", {"area": county}))
    assert noise.number in body and light.number not in body
    body = html(client.get("/hotline/cases/", {"q": "噪声", "status": "received"}))
    assert noise.number in body and light.number not in body
    body = html(client.get("/hotline/cases/", {"q": "噪声", "status": "dispatched"}))
    assert noise.number not in body and "没有符合条件的工单" in body
    body = html(client.get("/hotline/cases/", {"category": "NOPE"}))
    assert messages_of(body) == ["诉求分类不存在"] and "没有符合条件的工单" in body
    for i in range(51):
        new_case(hw, citizen_phone=f"1360001{i:04d}")
    body = html(client.get("/hotline/cases/"))
    assert 'rel="next"' in body and "第 1 页" in body and "共 53 条" not in body


def test_case_list_is_one_query_per_page_whatever_its_length(hw: HotlineWorld) -> None:
    client = browser(hw, "operator")
    new_case(hw)
    client.get("/hotline/cases/")  # warm the session and scope caches
    with CaptureQueriesContext(connection) as few:
        client.get("/hotline/cases/")
    for i in range(10):
        new_case(hw, citizen_phone=f"1360002{i:04d}", at=IN_COUNTY if i % 2 else IN_URBAN)
    with CaptureQueriesContext(connection) as many:
        client.get("/hotline/cases/")
    assert len(many) == len(few)


@pytest.mark.parametrize(
    ("path", "user"), [("/hotline/dispatch/", "dispatcher"), ("/hotline/inbox/", "h_cgj")]
)
def test_work_lists_do_not_query_per_row(hw: HotlineWorld, path: str, user: str) -> None:
    def fill(n: int, offset: int) -> None:
        for i in range(n):
            case = new_case(hw, citizen_phone=f"1360003{offset + i:04d}", at=IN_COUNTY if i % 2 else IN_URBAN)
            if user == "h_cgj":
                services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units["cgj"])

    client = browser(hw, user)
    fill(1, 0)
    client.get(path)
    with CaptureQueriesContext(connection) as few:
        client.get(path)
    fill(8, 100)
    with CaptureQueriesContext(connection) as many:
        client.get(path)
    assert len(many) == len(few)


def test_case_page_shows_the_case_to_staff_with_masking_rules(hw: HotlineWorld, monkeypatch: Any) -> None:
    # The map is drawn only when the front-end components are installed (make assets); pretend they are.
    monkeypatch.setattr("shizhi.cockpit.web.finders.find", lambda path: f"/fake/{path}")
    case = new_case(hw)
    body = html(browser(hw, "operator").get(f"/hotline/cases/{case.pk}/"))
    assert case.citizen_phone in body and "张三" in body and "幸福路12号门口的路灯已经坏了一周" in body
    assert 'data-point="120.050000,30.020000"' in body and 'id="case-grid"' in body
    assert "直接答复" in body and "合并到主工单" in body
    member_view = html(browser(hw, "grid").get(f"/hotline/cases/{case.pk}/"))
    assert case.citizen_phone in member_view  # grid workers see contact details (core.view_pii)


def test_every_action_form_on_the_case_page_posts_to_its_service(hw: HotlineWorld) -> None:
    case = new_case(hw)
    body = html(browser(hw, "admin").get(f"/hotline/cases/{case.pk}/"))
    actions = re.findall(rf'action="/hotline/cases/{case.pk}/do/([a-z_]+)/"', body)
    assert actions == ["answer_directly", "dispatch", "supervise", "merge", "link", "attach"]


def test_bad_input_shows_the_error_keeps_the_text_and_changes_nothing(hw: HotlineWorld) -> None:
    case = new_case(hw)
    services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units["cgj"])
    services.case_accept(actor=hw.users["h_cgj"], case=case)
    client = browser(hw, "h_cgj")
    events = CaseEvent.objects.filter(case=case).count()
    response = client.post(
        f"/hotline/cases/{case.pk}/do/reply/", {"reply": "修好了", "next": "/hotline/inbox/"}
    )
    assert response.status_code == 422
    body = html(response)
    assert messages_of(body) == ["答复内容至少10个字"]
    assert ">修好了</textarea>" in body and 'href="/hotline/inbox/">返回</a>' in body
    response = client.post(
        f"/hotline/cases/{case.pk}/do/request_extension/", {"working_days": "99", "reason": "等待材料"}
    )
    assert response.status_code == 422 and messages_of(html(response)) == ["延长天数须在1到15个工作日之间"]
    response = client.post(
        f"/hotline/cases/{case.pk}/do/request_extension/", {"working_days": "三", "reason": "等待材料"}
    )
    assert messages_of(html(response)) == ["延长工作日须为整数"]
    case.refresh_from_db()
    assert (case.status, case.reply, case.replied_at) == (CaseStatus.ACCEPTED, "", None)
    assert CaseEvent.objects.filter(case=case).count() == events
    assert Extension.objects.count() == 0


def test_an_action_without_the_right_is_refused_on_the_case_page(hw: HotlineWorld) -> None:
    case = new_case(hw)
    response = browser(hw, "operator").post(
        f"/hotline/cases/{case.pk}/do/dispatch/", {"unit": "临江市城市管理局"}
    )
    assert response.status_code == 403
    assert messages_of(html(response)) == ["没有“派单”的权限"]
    case.refresh_from_db()
    assert case.status == CaseStatus.RECEIVED and not case.assignments.exists()


def test_dispatch_to_an_unknown_unit_changes_nothing(hw: HotlineWorld) -> None:
    case = new_case(hw)
    response = browser(hw, "dispatcher").post(
        f"/hotline/cases/{case.pk}/do/dispatch/", {"unit": "不存在的局", "assist": ""}
    )
    assert response.status_code == 422
    body = html(response)
    assert messages_of(body) == ["找不到承办单位：不存在的局"] and 'value="不存在的局"' in body
    case.refresh_from_db()
    assert case.status == CaseStatus.RECEIVED and not case.assignments.exists()


def test_callback_and_reopen_from_the_case_page(hw: HotlineWorld) -> None:
    case = replied_case(hw)
    client = browser(hw, "operator")
    response = client.post(f"/hotline/cases/{case.pk}/do/callback/", {"reached": "1", "solved": "0"})
    assert response.status_code == 422 and messages_of(html(response)) == ["回访须记录是否解决和满意度"]
    assert Case.objects.get(pk=case.pk).status == CaseStatus.REPLIED
    client.post(
        f"/hotline/cases/{case.pk}/do/callback/", {"reached": "1", "solved": "0", "satisfaction": "2"}
    )
    case.refresh_from_db()
    assert (case.status, case.solved, case.satisfaction, case.satisfied) == (
        CaseStatus.CLOSED,
        False,
        2,
        False,
    )
    client.post(f"/hotline/cases/{case.pk}/do/reopen/", {"reason": "市民反映路灯仍然不亮"})
    case.refresh_from_db()
    assert (case.status, case.reopen_count, case.solved) == (CaseStatus.DISPATCHED, 1, None)


def test_a_signed_in_citizen_rates_their_own_reply(hw: HotlineWorld) -> None:
    case = replied_case(hw, actor="citizen", channel="web", citizen_phone="13900000009")
    client = browser(hw, "citizen")
    body = html(client.get(f"/hotline/cases/{case.pk}/"))
    assert "评价办理结果" in body and "h_cgj" not in body  # the citizen's timeline has no staff names
    client.post(f"/hotline/cases/{case.pk}/do/citizen_rate/", {"solved": "1", "satisfaction": "5"})
    case.refresh_from_db()
    assert (case.status, case.satisfaction) == (CaseStatus.CLOSED, 5)


# ------------------------------------------------------------------------------ knowledge base and catalogue


def test_knowledge_base_search_and_edit(hw: HotlineWorld) -> None:
    client = browser(hw, "operator")
    response = client.post(
        "/hotline/knowledge/new/",
        {
            "title": "居住证办理",
            "answer": "持身份证和居住登记凭证到派出所办理，5个工作日内发证。",
            "is_published": "1",
        },
    )
    article = KnowledgeArticle.objects.get()
    assert response.status_code == 302 and (article.title, article.is_published) == ("居住证办理", True)
    assert "知识库条目“居住证办理”已保存" in html(client.get(response["Location"]))
    body = html(browser(hw, "h_cgj").get("/hotline/knowledge/", {"q": "怎么办居住证"}))
    assert "居住证办理" in body and "持身份证和居住登记凭证" in body and "编辑" not in body
    response = client.post(f"/hotline/knowledge/{article.pk}/edit/", {"title": "", "answer": "太短"})
    assert response.status_code == 200 and messages_of(html(response)) == ["标题不能为空"]
    assert KnowledgeArticle.objects.get().title == "居住证办理"


def test_catalogue_rules_are_added_and_deleted_by_who_may(hw: HotlineWorld) -> None:
    client = browser(hw, "dispatcher")
    before = DispatchRule.objects.count()
    response = client.post(
        "/hotline/catalogue/rules/", {"category": "ZC", "unit": "临江市城市管理局", "note": "试行"}
    )
    assert response.status_code == 302
    rule = DispatchRule.objects.get(category__code="ZC")
    assert (rule.unit, rule.area, rule.target, rule.note) == (hw.units["cgj"], None, "unit", "试行")
    response = client.post("/hotline/catalogue/rules/", {"category": "ZC", "unit": "临江市城市管理局"})
    assert "该分类在该区域已有派单规则" in html(client.get("/hotline/catalogue/"))
    assert browser(hw, "h_cgj").post(f"/hotline/catalogue/rules/{rule.pk}/delete/").status_code == 403
    client.post(f"/hotline/catalogue/rules/{rule.pk}/delete/")
    assert DispatchRule.objects.count() == before


# ------------------------------------------------------------------------------ English


def test_intake_page_in_english(hw: HotlineWorld) -> None:
    client = browser(hw, "operator")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = html(client.get("/hotline/intake/"))
    assert '<html lang="en">' in body
    assert "<h1>Intake desk</h1>" in body
    for label in (
        '<label for="i-channel">Channel</label>',
        '<label for="i-demand">Request type</label>',
        '<label for="i-phone">Caller phone</label>',
        '<label for="i-category">Category</label>',
        '<label for="i-content">Request details</label>',
        ">Save and register</button>",
        ">Similar cases</h2>",
    ):
        assert label in body, label
    assert '<option value="phone" selected>Phone</option>' in body


def test_hotline_templates_have_no_untranslated_chinese() -> None:
    cjk = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
    translated = re.compile(
        r"{%\s*translate\b.*?%}|{%\s*blocktranslate\b.*?%}.*?{%\s*endblocktranslate\s*%}|"
        r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}",
        re.S,
    )
    leftover = {
        p.name: [
            line.strip() for line in translated.sub("", p.read_text("utf-8")).splitlines() if cjk.search(line)
        ]
        for p in sorted(TEMPLATES.rglob("*.html"))
    }
    assert {name: lines for name, lines in leftover.items() if lines} == {}
