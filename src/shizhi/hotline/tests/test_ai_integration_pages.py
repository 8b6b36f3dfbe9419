"""AI assistance on the hotline pages: similar cases with their reasons and one-click merge on the intake desk
(受理台) and the case page, reply suggestions (答复参考) for the unit writing the reply, and the reply review
(答复质量) before a reply goes out. Every write goes through the services; a refusal changes nothing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from shizhi.ai import similar
from shizhi.core import geo
from shizhi.core.models import AuditEvent
from shizhi.hotline import services
from shizhi.hotline.models import Case, CaseEvent, CaseStatus
from shizhi.hotline.tests.factories import IN_COUNTY, IN_URBAN, HotlineWorld, build_hotline_world, new_case

pytestmark = pytest.mark.django_db

TOKEN = "tok-aiintegration-abcdefghij"
LAMP_TITLE = "路灯不亮"
LAMP = "幸福路12号门口的路灯已经坏了一周，晚上一片漆黑，老人出行很不安全，请尽快修理。"
TYPED = {"title": "路灯坏了", "content": "幸福路12号门口路灯坏了好几天，晚上漆黑一片，请派人修理。"}
# About 300 m east of IN_URBAN, in the same grid (331202001001001).
NEARBY = (IN_URBAN[0] + 0.003, IN_URBAN[1] + 0.0005)
WEAK_REPLY = "已处理，谢谢您的关注和支持。"
GOOD_REPLY = (
    "您好！您反映的幸福路12号门口路灯不亮的问题，我局于5月10日安排维修人员到现场核实，经检查为灯泡损坏，"
    "已于当日更换灯泡，目前路灯已恢复正常照明。如有疑问，请联系市城市管理局，联系电话0571-88886666。"
)


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    cache.clear()
    similar.reset()  # the in-process similar-case index must not outlive the rolled-back test data
    yield
    similar.reset()


@pytest.fixture
def hw() -> HotlineWorld:
    return build_hotline_world()


def browser(hw: HotlineWorld, key: str) -> Client:
    client = Client()
    client.force_login(hw.users[key])
    return client


def html(response: Any) -> str:
    return response.content.decode("utf-8")


def messages_of(body: str) -> list[str]:
    block = re.search(r'<ul class="messages">(.*?)</ul>', body, re.S)
    return (
        [re.sub(r"\s+", " ", m).strip() for m in re.findall(r"<li[^>]*>(.*?)</li>", block.group(1), re.S)]
        if block
        else []
    )


def section(body: str, pattern: str) -> str:
    found = re.search(pattern, body, re.S)
    return found.group(1) if found else ""


def ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def intake_form(**over: Any) -> dict[str, str]:
    return {
        "token": TOKEN,
        "channel": "phone",
        "demand_type": "complaint",
        "urgency": "normal",
        "category": "CX0101",
        "citizen_name": "王五",
        "citizen_phone": "13600001111",
        "address": "幸福路12号",
        "lng": str(IN_URBAN[0]),
        "lat": str(IN_URBAN[1]),
        **TYPED,
        **over,
    }


def accepted(hw: HotlineWorld, **over: Any) -> Case:
    case = new_case(hw, **over)
    services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units["cgj"])
    return services.case_accept(actor=hw.users["h_cgj"], case=case)


def state(*cases: Case) -> tuple[Any, ...]:
    return (
        list(
            Case.objects.filter(pk__in=[c.pk for c in cases])
            .order_by("id")
            .values("id", "status", "reply", "replied_at", "merged_into_id", "lead_unit_id")
        ),
        Case.objects.count(),
        CaseEvent.objects.count(),
        AuditEvent.objects.count(),
    )


# ------------------------------------------------------------------------------ intake desk


def test_desk_lists_a_duplicate_in_the_same_grid_with_its_reasons(hw: HotlineWorld) -> None:
    duplicate = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(2))
    far = new_case(hw, title=LAMP_TITLE, content=LAMP, at=IN_COUNTY, received_at=ago(2))
    old = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(45))
    body = html(
        browser(hw, "operator").get(
            "/hotline/intake/similar/", {**TYPED, "lng": IN_URBAN[0], "lat": IN_URBAN[1]}
        )
    )
    numbers = re.findall(r'target="_blank" rel="noopener">(\d+)</a>', body)
    assert numbers == [duplicate.number]
    assert far.number not in body and old.number not in body
    reasons = re.findall(
        r'<span class="tag[^"]*">([^<]+)</span>', section(body, r'similar-reasons">(.*?)</div>')
    )
    metres = round(geo.distance_m(*IN_URBAN, *NEARBY))
    assert reasons[:3] == ["同一网格", f"相距 {metres} 米", "2 天前"]
    assert re.fullmatch(r"内容相似 \d{2}%", reasons[3]) and reasons[4].startswith("共同关键词：")
    assert "幸福路12号门口" in reasons[4]
    help_text = html(browser(hw, "operator").get("/hotline/intake/"))
    assert "30天内同一来电号码，或同一网格、1公里内内容相近的未办结工单" in help_text


@pytest.mark.parametrize(("user", "may_merge"), [("operator", True), ("dispatcher", True), ("grid", False)])
def test_the_merge_button_is_offered_only_to_who_may_merge(
    hw: HotlineWorld, user: str, may_merge: bool
) -> None:
    duplicate = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(1))
    body = html(
        browser(hw, user).get("/hotline/intake/similar/", {**TYPED, "lng": IN_URBAN[0], "lat": IN_URBAN[1]})
    )
    assert duplicate.number in body  # everyone who records requests sees the duplicate
    button = f'form="intake-form" class="btn secondary small-btn" name="merge_into" value="{duplicate.pk}"'
    assert (button in body) is may_merge


def test_the_check_button_without_scripts_shows_the_merge_buttons(hw: HotlineWorld) -> None:
    duplicate = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(1))
    response = browser(hw, "operator").post("/hotline/intake/", intake_form(action="check"))
    body = html(response)
    assert response.status_code == 200 and duplicate.number in body
    assert f'name="merge_into" value="{duplicate.pk}"' in body and "同一网格" in body
    assert Case.objects.count() == 1


def test_saving_with_merge_into_records_the_case_and_merges_it(hw: HotlineWorld) -> None:
    master = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(1))
    client = browser(hw, "operator")
    response = client.post("/hotline/intake/", intake_form(merge_into=str(master.pk)))
    case = Case.objects.exclude(pk=master.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/hotline/cases/{case.pk}/"
    assert (case.status, case.merged_into, case.created_by) == (
        CaseStatus.MERGED,
        master,
        hw.users["operator"],
    )
    assert list(case.related.all()) == [master]
    assert list(case.events.order_by("id").values_list("action", "status_to")) == [
        ("create", CaseStatus.RECEIVED),
        ("merge", CaseStatus.MERGED),
    ]
    assert case.events.get(action="merge").data == {"master": master.number}
    merge_on_master = master.events.get(action="merge")
    assert merge_on_master.data == {"duplicate": case.number} and "重复" in merge_on_master.note
    master.refresh_from_db()
    assert master.status == CaseStatus.RECEIVED
    body = html(client.get(response["Location"]))
    assert messages_of(body) == [
        f"已受理，工单编号 {case.number}",
        f"工单 {case.number} 已合并到 {master.number}",
    ]
    # The same form sent again (same token) creates and merges nothing more.
    client.post("/hotline/intake/", intake_form(merge_into=str(master.pk)))
    assert Case.objects.count() == 2 and CaseEvent.objects.filter(action="merge").count() == 2


def test_a_merge_the_service_refuses_leaves_the_new_case_recorded_and_says_so(hw: HotlineWorld) -> None:
    master = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(1))
    before = master.events.count()
    # A grid worker records requests but may not merge (hotline.merge): the case stays received.
    client = browser(hw, "grid")
    response = client.post("/hotline/intake/", intake_form(merge_into=str(master.pk)))
    case = Case.objects.exclude(pk=master.pk).get()
    assert response["Location"] == f"/hotline/cases/{case.pk}/"
    assert (case.status, case.merged_into) == (CaseStatus.RECEIVED, None)
    assert list(case.events.values_list("action", flat=True)) == ["create"]
    assert master.events.count() == before
    assert messages_of(html(client.get(response["Location"]))) == [
        f"已受理，工单编号 {case.number}",
        f"工单 {case.number} 已受理，但未能合并到 {master.number}：没有“合并”的权限",
    ]


def test_a_master_merged_meanwhile_refuses_the_merge_but_keeps_the_case(hw: HotlineWorld) -> None:
    master = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(1))
    other = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(3))
    services.case_merge(
        actor=hw.users["dispatcher"], master=other, duplicate=master
    )  # after the panel showed it
    client = browser(hw, "operator")
    response = client.post("/hotline/intake/", intake_form(merge_into=str(master.pk)))
    case = Case.objects.exclude(pk__in=[master.pk, other.pk]).get()
    assert (case.status, case.merged_into) == (CaseStatus.RECEIVED, None)
    assert messages_of(html(client.get(response["Location"])))[1] == (
        f"工单 {case.number} 已受理，但未能合并到 {master.number}：主工单已合并或已办结，不能作为合并目标"
    )


@pytest.mark.parametrize("target", ["invisible", "missing", "garbage"])
def test_merging_into_a_case_that_cannot_be_seen_records_nothing(hw: HotlineWorld, target: str) -> None:
    hidden = new_case(hw, at=IN_COUNTY)  # outside the grid worker's area
    raw = {"invisible": str(hidden.pk), "missing": "999999", "garbage": "12x"}[target]
    before = state(hidden)
    response = browser(hw, "grid").post("/hotline/intake/", intake_form(merge_into=raw))
    assert response.status_code == 200
    body = html(response)
    assert messages_of(body) == ["要合并到的工单不存在" if target == "garbage" else "工单不存在或无权查看"]
    assert 'value="路灯坏了"' in body  # the typed request is kept
    assert state(hidden) == before


# ------------------------------------------------------------------------------ case page


def test_case_page_lists_similar_open_cases_and_merges_with_one_click(hw: HotlineWorld) -> None:
    this = new_case(hw, title="路灯坏了", content=TYPED["content"], at=IN_URBAN)
    master = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(1))
    unrelated = new_case(
        hw, title="楼道堆放杂物", content="三单元楼道里堆满了杂物，存在消防隐患，请物业清理。"
    )
    client = browser(hw, "operator")
    body = html(client.get(f"/hotline/cases/{this.pk}/"))
    panel = section(body, r'<section class="card" id="similar-cases">(.*?)</section>')
    assert re.findall(r'target="_blank" rel="noopener">(\d+)</a>', panel) == [master.number]
    assert unrelated.number not in panel and "同一网格" in panel and "1 天前" in panel
    assert re.search(r"内容相似 \d{2}%", panel)
    form = f'action="/hotline/cases/{this.pk}/do/merge/"'
    assert form in panel and f'name="master" value="{master.number}"' in panel
    response = client.post(f"/hotline/cases/{this.pk}/do/merge/", {"master": master.number})
    assert response.status_code == 302
    this.refresh_from_db()
    assert (this.status, this.merged_into) == (CaseStatus.MERGED, master)
    # A merged case lists no similar cases any more.
    assert 'id="similar-cases"' not in html(client.get(f"/hotline/cases/{this.pk}/"))


def test_similar_cases_show_without_merge_buttons_once_the_case_cannot_be_merged(hw: HotlineWorld) -> None:
    this = accepted(hw, title="路灯坏了", content=TYPED["content"])
    master = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(1))
    panel = section(
        html(browser(hw, "operator").get(f"/hotline/cases/{this.pk}/")),
        r'<section class="card" id="similar-cases">(.*?)</section>',
    )
    assert master.number in panel and "/do/merge/" not in panel


@pytest.mark.parametrize("user", ["supervisor", "h_cgj", "citizen"])
def test_no_similar_cases_section_for_who_may_not_merge(hw: HotlineWorld, user: str) -> None:
    this = new_case(hw, actor="citizen", channel="web", citizen_phone="13900000009")
    services.case_dispatch(actor=hw.users["dispatcher"], case=this, unit=hw.units["cgj"])
    new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(1))
    response = browser(hw, user).get(f"/hotline/cases/{this.pk}/")
    assert response.status_code == 200
    body = html(response)
    assert 'id="similar-cases"' not in body and "相似工单" not in body


def resolved(hw: HotlineWorld, reply: str, **over: Any) -> Case:
    case = accepted(hw, **over)
    case = services.case_reply(actor=hw.users["h_cgj"], case=case, reply=reply)
    return services.case_callback(
        actor=hw.users["operator"], case=case, reached=True, solved=True, satisfaction=5
    )


def test_the_unit_writing_the_reply_gets_reply_suggestions(hw: HotlineWorld) -> None:
    earlier = resolved(hw, GOOD_REPLY, title=LAMP_TITLE, content=LAMP)
    this = accepted(hw, title="路灯坏了", content=TYPED["content"])
    body = html(browser(hw, "h_cgj").get(f"/hotline/cases/{this.pk}/"))
    block = section(body, r'<section class="reply-suggestions"[^>]*>(.*?)</section>')
    assert "答复参考" in block and earlier.number in block
    assert f'id="reply-source-{earlier.pk}">{GOOD_REPLY}</div>' in block
    assert "临江市城市管理局" in block and earlier.replied_at is not None
    assert timezone.localtime(earlier.replied_at).strftime("%Y-%m-%d") in block
    assert "同一分类" in block and "回访满意" in block
    button = f'data-copy-reply="a-reply" data-copy-source="reply-source-{earlier.pk}"'
    assert button in block and 'id="a-reply"' in body  # the button fills the reply form's textarea
    # The unit's reply form is where they belong: nobody else gets them.
    for user in ("operator", "supervisor"):
        assert "答复参考" not in html(browser(hw, user).get(f"/hotline/cases/{this.pk}/"))


def test_a_citizen_sees_no_assistance_on_their_own_case(hw: HotlineWorld) -> None:
    resolved(hw, GOOD_REPLY, title=LAMP_TITLE, content=LAMP)
    new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(1))
    own = new_case(hw, actor="citizen", channel="web", citizen_phone="13900000009", title="路灯坏了")
    body = html(browser(hw, "citizen").get(f"/hotline/cases/{own.pk}/"))
    for words in ("相似工单", "答复参考", "答复质量", "检查答复"):
        assert words not in body


# ------------------------------------------------------------------------------ reply review


def test_a_weak_reply_is_refused_with_the_review_and_nothing_changes(hw: HotlineWorld) -> None:
    case = accepted(hw)
    before = state(case)
    response = browser(hw, "h_cgj").post(
        f"/hotline/cases/{case.pk}/do/reply/", {"reply": WEAK_REPLY, "next": "/hotline/inbox/"}
    )
    assert response.status_code == 422
    body = html(response)
    assert messages_of(body) == [
        "答复质量检查未通过（相关性、完整性），答复尚未发出。请修改答复，或核对后勾选“答复已核对，仍然提交”。"
    ]
    review = section(body, r'<section class="reply-review flagged"[^>]*>(.*?)</section>')
    assert re.findall(r'<li data-dimension="(\w+)">', review) == [
        "relevance",
        "completeness",
        "interpretability",
    ]
    assert len(re.findall(r"<meter ", review)) == 3 and review.count("偏低") == 2
    assert "缺少：办理单位、办理措施、办理结果、办理时间、联系方式" in review
    assert f">{WEAK_REPLY}</textarea>" in body
    assert '<input type="checkbox" name="confirm_review" value="1">' in body
    assert state(case) == before


def test_the_same_reply_goes_out_once_confirmed(hw: HotlineWorld) -> None:
    case = accepted(hw)
    response = browser(hw, "h_cgj").post(
        f"/hotline/cases/{case.pk}/do/reply/", {"reply": WEAK_REPLY, "confirm_review": "1"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.reply) == (CaseStatus.REPLIED, WEAK_REPLY)
    assert case.events.filter(action="reply").count() == 1


def test_a_good_reply_goes_out_at_once(hw: HotlineWorld) -> None:
    case = accepted(hw)
    client = browser(hw, "h_cgj")
    response = client.post(
        f"/hotline/cases/{case.pk}/do/reply/", {"reply": GOOD_REPLY, "next": "/hotline/inbox/"}
    )
    assert response.status_code == 302 and response["Location"] == "/hotline/inbox/"
    case.refresh_from_db()
    assert (case.status, case.reply) == (CaseStatus.REPLIED, GOOD_REPLY)
    assert "已答复市民" in messages_of(html(client.get("/hotline/inbox/")))


def test_a_reply_the_service_refuses_keeps_the_service_message(hw: HotlineWorld) -> None:
    case = new_case(hw)
    services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units["cgj"])  # not accepted yet
    before = state(case)
    response = browser(hw, "h_cgj").post(f"/hotline/cases/{case.pk}/do/reply/", {"reply": WEAK_REPLY})
    assert response.status_code == 422
    assert messages_of(html(response)) == ["本单位的承办状态为“待签收”，不能执行此操作"]
    assert state(case) == before


@pytest.mark.parametrize(("reply", "ok"), [(WEAK_REPLY, False), (GOOD_REPLY, True)])
def test_check_shows_the_review_without_sending(hw: HotlineWorld, reply: str, ok: bool) -> None:
    case = accepted(hw)
    before = state(case)
    response = browser(hw, "h_cgj").post(
        f"/hotline/cases/{case.pk}/do/reply/", {"reply": reply, "check": "1"}
    )
    assert response.status_code == 200
    body = html(response)
    assert f">{reply}</textarea>" in body and "<meter " in body
    if ok:
        assert messages_of(body) == ["答复质量检查未发现问题，可以提交"]
        assert "未发现问题" in body and 'name="confirm_review"' not in body
    else:
        assert messages_of(body) == ["答复质量检查发现需要改进之处，请见答复框上方的说明"]
        assert 'class="reply-review flagged"' in body and 'name="confirm_review"' in body
    assert state(case) == before


def test_check_is_refused_to_who_may_not_reply(hw: HotlineWorld) -> None:
    case = accepted(hw)
    before = state(case)
    response = browser(hw, "operator").post(
        f"/hotline/cases/{case.pk}/do/reply/", {"reply": GOOD_REPLY, "check": "1"}
    )
    assert response.status_code == 403
    assert messages_of(html(response)) == ["当前不能答复此工单"]
    assert state(case) == before


def test_the_reply_form_offers_the_check_button(hw: HotlineWorld) -> None:
    case = accepted(hw)
    body = html(browser(hw, "h_cgj").get(f"/hotline/cases/{case.pk}/"))
    form = section(body, rf'(<form method="post" action="/hotline/cases/{case.pk}/do/reply/".*?</form>)')
    assert 'name="check" value="1" formnovalidate>检查答复</button>' in form
    assert "confirm_review" not in form  # offered only once a review found something
