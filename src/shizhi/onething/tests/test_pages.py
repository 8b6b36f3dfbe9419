"""The 一件事 pages: who may open what (200 / 302 to login / 403 / 404), the guide's plain-words search, an
application filed through the page reaching the departments' inboxes and going through, list management, and the
promotion pages with the XLSX download."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from shizhi.core.models import Role
from shizhi.onething.models import (
    Application,
    ApplicationStatus,
    ItemVersion,
    Rollout,
    RolloutState,
    SubTask,
    SubTaskStatus,
    VersionStatus,
)
from shizhi.onething.tests.factories import (
    ID_NUMBER,
    JPG,
    PDF,
    PNG,
    OneWorld,
    _user,
    build_one_world,
    counts,
    upload,
)


@pytest.fixture
def world(db: Any) -> OneWorld:
    w = build_one_world()
    w.publish_example("T-1")
    return w


def client_for(user: Any = None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def apply_through_page(world: OneWorld, **extra: Any) -> Any:
    data = {
        "applicant_name": "张三",
        "applicant_phone": "13800001111",
        "district_id": str(world.district.pk),
        "f_name": "张三",
        "f_id": ID_NUMBER,
        "f_phone": "13800001111",
        "f_kind": "一类",
        "m_lease": upload("lease.pdf", PDF),
        "m_cert_x": upload("cert.jpg", JPG),
        "promise": ["photo"],
        **extra,
    }
    return client_for(world.citizen).post("/onething/items/T-1/apply/", data)


# -------------------------------------------------------------------------------------------------- the guide


def test_guide_and_item_pages_are_open_to_everyone(world: OneWorld) -> None:
    anon = client_for()
    page = anon.get("/onething/")
    assert page.status_code == 200
    assert "示例一件事" in page.content.decode()
    item = anon.get("/onething/items/T-1/")
    html = item.content.decode()
    assert item.status_code == 200
    for words in ("一次告知", "居民身份证", "免提交", "可容缺", "测试依据", "事项丙", "减材料"):
        assert words in html, words
    assert 'id="ot-compare"' in html
    assert anon.get("/onething/items/NOPE/").status_code == 404


def test_unpublished_items_are_not_in_the_guide(world: OneWorld) -> None:
    from shizhi.onething import services

    services.item_create(
        actor=world.office,
        code="D-1",
        subject="person",
        stage="birth",
        level="local",
        content={"name": "草稿里的一件事", "lead_department_name": "甲局"},
    )
    assert "草稿里的一件事" not in client_for().get("/onething/").content.decode()
    assert client_for().get("/onething/items/D-1/").status_code == 404
    assert client_for(world.citizen).get("/onething/items/D-1/").status_code == 404


def test_plain_words_search_finds_the_newborn_item(db: Any) -> None:
    from shizhi.onething.seed import seed_reference

    build_one_world()
    seed_reference()
    page = client_for().get("/onething/", {"q": "孩子出生要办什么"})
    assert page.status_code == 200
    html = page.content.decode()
    results = html.split('id="results"', 1)[1]
    first = results.split("</article>", 1)[0]
    assert "新生儿出生一件事" in first
    assert "企业破产信息核查一件事" not in results


# ---------------------------------------------------------------------------------------- applying and inboxes


def test_apply_needs_signing_in(world: OneWorld) -> None:
    response = client_for().get("/onething/items/T-1/apply/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    page = client_for(world.citizen).get("/onething/items/T-1/apply/")
    assert page.status_code == 200
    html = page.content.decode()
    for name in ('name="f_id"', 'name="f_kind"', 'name="m_lease"', 'name="promise" value="photo"'):
        assert name in html, name
    assert 'name="m_id_card"' not in html  # 免提交: never uploaded


def test_an_application_through_the_page_reaches_the_inboxes_and_goes_through(world: OneWorld) -> None:
    response = apply_through_page(world)
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/onething/applications/{application.pk}/"
    assert application.applicant == world.citizen
    assert application.status == ApplicationStatus.AWAITING_MATERIAL  # the promised photo
    status_page = client_for(world.citizen).get(response["Location"])
    html = status_page.content.decode()
    assert status_page.status_code == 200
    assert application.number in html and "待补交材料" in html and "证件照片" in html
    # The departments whose matters start at once see it; 丙 waits for 甲 and 乙.
    handler_a, handler_c = client_for(world.handlers["a"]), client_for(world.handlers["c"])
    assert application.number in handler_a.get("/onething/inbox/").content.decode()
    assert application.number not in handler_c.get("/onething/inbox/").content.decode()
    assert application.number in handler_c.get("/onething/inbox/", {"tab": "waiting"}).content.decode()
    # 甲 accepts A through the page.
    a_task = SubTask.objects.get(application=application, matter__code="A")
    accepted = handler_a.post(f"/onething/subtasks/{a_task.pk}/do/accept/", {"next": "/onething/inbox/"})
    assert accepted.status_code == 302 and accepted["Location"] == "/onething/inbox/"
    a_task.refresh_from_db()
    assert a_task.status == SubTaskStatus.IN_PROGRESS and a_task.handler == world.handlers["a"]
    # 丙 cannot act on 甲's part: it does not exist for it.
    before = counts()
    assert handler_c.post(f"/onething/subtasks/{a_task.pk}/do/complete/", {"result": "x"}).status_code == 404
    assert handler_c.get(f"/onething/subtasks/{a_task.pk}/").status_code == 404
    assert counts() == before
    # Completing A while the promised photo is missing is refused with the reason, nothing changes.
    handler_a.post(f"/onething/subtasks/{a_task.pk}/do/complete/", {"result": "已办结"})
    a_task.refresh_from_db()
    assert a_task.status == SubTaskStatus.IN_PROGRESS
    # The applicant hands in the photo from the status page; then A can be completed.
    supplied = client_for(world.citizen).post(
        f"/onething/applications/{application.pk}/do/supply/",
        {"material_key": "photo", "file": upload("photo.png", PNG)},
    )
    assert supplied.status_code == 302
    handler_a.post(f"/onething/subtasks/{a_task.pk}/do/complete/", {"result": "已核发"})
    a_task.refresh_from_db()
    assert a_task.status == SubTaskStatus.DONE
    detail = client_for(world.handlers["a"]).get(f"/onething/subtasks/{a_task.pk}/")
    assert detail.status_code == 200 and "已核发" in detail.content.decode()
    # The handler downloads a material its matter needs.
    photo = client_for(world.handlers["a"]).get(f"/onething/subtasks/{a_task.pk}/files/photo/")
    assert photo.status_code == 200 and photo.content == PNG


def test_application_pages_are_scoped(world: OneWorld) -> None:
    apply_through_page(world)
    application = Application.objects.get()
    url = f"/onething/applications/{application.pk}/"
    assert client_for(world.other_citizen).get(url).status_code == 404
    assert client_for(world.supervisor).get(url).status_code == 200
    assert client_for().get(url).status_code == 302
    mine = client_for(world.citizen).get("/onething/applications/")
    assert mine.status_code == 200 and application.number in mine.content.decode()
    assert (
        application.number
        not in client_for(world.other_citizen).get("/onething/applications/").content.decode()
    )
    everyone = client_for(world.supervisor).get("/onething/applications/", {"scope": "all"})
    assert application.number in everyone.content.decode()
    before = counts()
    assert (
        client_for(world.other_citizen)
        .post(f"/onething/applications/{application.pk}/do/withdraw/")
        .status_code
        == 404
    )
    assert counts() == before


def test_rating_after_the_application_ended(world: OneWorld) -> None:
    from shizhi.onething import services

    apply_through_page(world, m_photo=upload("photo.png", PNG), promise=[])
    application = Application.objects.get()
    for code, unit in (("A", "a"), ("B", "b"), ("D", "a"), ("C", "c")):
        st = SubTask.objects.get(application=application, matter__code=code)
        services.subtask_accept(actor=world.handlers[unit], subtask=st)
        services.subtask_complete(actor=world.handlers[unit], subtask=st, result=f"{code}已办结")
    page = client_for(world.citizen).get(f"/onething/applications/{application.pk}/")
    assert "提交评价" in page.content.decode()
    refused = client_for(world.citizen).post(
        f"/onething/applications/{application.pk}/do/rate/", {"score": "1"}
    )
    assert refused.status_code == 302 and not hasattr(Application.objects.get(), "rating")
    client_for(world.citizen).post(
        f"/onething/applications/{application.pk}/do/rate/", {"score": "2", "reasons": ["办理时间长"]}
    )
    application.refresh_from_db()
    assert application.rating.score == 2 and application.rating.reasons == ["办理时间长"]


def test_inbox_is_for_departments(world: OneWorld) -> None:
    assert client_for(world.citizen).get("/onething/inbox/").status_code == 403
    assert client_for(world.office).get("/onething/inbox/").status_code == 403
    assert client_for(world.handlers["b"]).get("/onething/inbox/").status_code == 200
    assert client_for().get("/onething/inbox/").status_code == 302


# ---------------------------------------------------------------------------------------------- list office


def test_list_management_pages(world: OneWorld) -> None:
    office = client_for(world.office)
    assert office.get("/onething/manage/").status_code == 200
    for user in (world.citizen, world.handlers["a"], world.supervisor):
        assert client_for(user).get("/onething/manage/").status_code == 403
        assert client_for(user).get("/onething/manage/T-1/").status_code == 403
    page = office.get("/onething/manage/T-1/")
    assert page.status_code == 200 and "起草新版本" in page.content.decode()
    # a new draft, edited through the form, submitted, published; then the two versions side by side
    created = office.post("/onething/manage/T-1/draft/", {"note": "调整时限"})
    assert created.status_code == 302 and created["Location"] == "/onething/manage/T-1/v2/"
    edit = office.get("/onething/manage/T-1/v2/")
    assert edit.status_code == 200
    draft = ItemVersion.objects.get(item__code="T-1", number=2)
    form = {
        "name": "示例一件事（修订）",
        "lead_department_name": "甲局",
        "supporting_departments": "乙局、丙局",
        "summary": "修订后的简介",
        "keywords": "示例",
        "legal_basis": "测试依据",
        "change_note": "调整时限",
        "matters": edit.context["values"]["matters"].replace('"promised_days": 4', '"promised_days": 3'),
    }
    saved = office.post("/onething/manage/T-1/v2/", form)
    assert saved.status_code == 302
    draft.refresh_from_db()
    assert draft.name == "示例一件事（修订）" and draft.supporting_departments == ["乙局", "丙局"]
    assert draft.matters.get(code="C").promised_days == 3
    # bad JSON: refused, the draft unchanged
    before = counts()
    bad = office.post("/onething/manage/T-1/v2/", {**form, "name": "坏的", "matters": "[{"})
    assert bad.status_code == 200 and "JSON" in bad.content.decode()
    assert counts() == before and ItemVersion.objects.get(pk=draft.pk).name == "示例一件事（修订）"
    office.post("/onething/manage/T-1/v2/do/submit/")
    office.post("/onething/manage/T-1/v2/do/publish/")
    draft.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED
    diff = office.get("/onething/manage/T-1/diff/", {"a": "1", "b": "2"})
    html = diff.content.decode()
    assert diff.status_code == 200
    assert "示例一件事（修订）" in html and "promised_days" in html and "修订后的简介" in html
    # a published version is read-only: posting to it changes nothing
    before = counts()
    office.post("/onething/manage/T-1/v2/", {**form, "name": "不应改变"})
    assert counts() == before and ItemVersion.objects.get(pk=draft.pk).name == "示例一件事（修订）"
    assert office.get("/onething/manage/NOPE/").status_code == 404


def test_new_item_through_the_page(world: OneWorld) -> None:
    office = client_for(world.office)
    response = office.post(
        "/onething/manage/new/",
        {
            "code": "LJ-1",
            "name": "本地特色一件事",
            "lead_department_name": "甲局",
            "subject": "person",
            "stage": "living",
            "level": "local",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/onething/manage/LJ-1/v1/"
    assert ItemVersion.objects.get(item__code="LJ-1").status == VersionStatus.DRAFT
    before = counts()
    assert client_for(world.citizen).post("/onething/manage/new/", {"code": "X-1"}).status_code == 403
    assert counts() == before


# ------------------------------------------------------------------------------------------------- promotion


def test_promotion_pages(world: OneWorld) -> None:
    item = ItemVersion.objects.get(item__code="T-1").item
    rollout = Rollout.objects.create(
        item=item,
        district=world.district,
        state=RolloutState.PILOTING,
        target_online_date=dt.date(2020, 1, 1),
    )
    apply_through_page(world)
    supervisor = client_for(world.supervisor)
    board = supervisor.get("/onething/promotion/")
    html = board.content.decode()
    assert board.status_code == 200
    assert "试点中" in html and "进度滞后" in html and 'id="ot-charts"' in html
    assert supervisor.get(f"/onething/promotion/rollouts/{rollout.pk}/").status_code == 200
    today = dt.date.today()
    report = supervisor.get("/onething/promotion/report/", {"district": world.district.pk})
    assert report.status_code == 200 and "推进月报" in report.content.decode()
    xlsx = supervisor.get(
        "/onething/promotion/report.xlsx", {"district": world.district.pk, "month": f"{today:%Y-%m}"}
    )
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.content))
    rows = list(wb["月报"].iter_rows(min_row=4, values_only=True))
    assert [r[0] for r in rows] == ["T-1", "合计"]
    for user in (world.citizen, world.handlers["a"]):
        assert client_for(user).get("/onething/promotion/").status_code == 403
        assert client_for(user).get("/onething/promotion/report/").status_code == 403
    # the list office manages roll-outs; a supervisor only sees them
    before = counts()
    refused = supervisor.post(f"/onething/promotion/rollouts/{rollout.pk}/do/state/", {"state": "online"})
    assert refused.status_code == 403 and counts() == before
    office = client_for(world.office)
    office.post(f"/onething/promotion/rollouts/{rollout.pk}/do/state/", {"state": "online"})
    office.post(
        f"/onething/promotion/rollouts/{rollout.pk}/do/milestone/",
        {"title": "系统对接", "due_date": "2026-12-31", "owner_name": "王芳"},
    )
    rollout.refresh_from_db()
    assert rollout.state == RolloutState.ONLINE
    assert list(rollout.milestones.values_list("title", flat=True)) == ["系统对接"]


def test_promotion_pages_follow_the_district_scope(world: OneWorld) -> None:
    from shizhi.onething.tests.test_promotion import second_district

    county = second_district()
    item = ItemVersion.objects.get(item__code="T-1").item
    rollout = Rollout.objects.create(item=item, district=world.district, state=RolloutState.ONLINE)
    county_supervisor = _user("sup_county", Role.SUPERVISOR, area=county)
    c = client_for(county_supervisor)
    assert c.get("/onething/promotion/").status_code == 200
    assert c.get(f"/onething/promotion/rollouts/{rollout.pk}/").status_code == 404
    assert c.get("/onething/promotion/report/", {"district": world.district.pk}).status_code == 404
    assert c.get("/onething/promotion/report.xlsx", {"district": world.district.pk}).status_code == 404


def test_promotion_api(world: OneWorld, api_as: Any) -> None:
    from shizhi.onething.tests.test_promotion import second_district

    county = second_district()
    item = ItemVersion.objects.get(item__code="T-1").item
    Rollout.objects.create(
        item=item, district=world.district, state=RolloutState.PLANNED, target_pilot_date=dt.date(2020, 1, 1)
    )
    sup = api_as(world.supervisor)
    board = sup.get("/api/v1/onething/promotion/dashboard")
    assert board.status_code == 200
    assert board.json()["items"][0]["states"][str(world.district.pk)] == "planned"
    alerts = sup.get("/api/v1/onething/promotion/alerts", {"district_id": world.district.pk})
    assert [a["kind"] for a in alerts.json()] == ["behind_schedule"]
    perf = sup.get(
        "/api/v1/onething/promotion/performance",
        {"item": "T-1", "district_id": world.district.pk, "start": "2026-01-01", "end": "2026-02-01"},
    )
    assert perf.status_code == 200 and perf.json()["received"] == 0
    report = sup.get(
        "/api/v1/onething/promotion/report", {"district_id": world.district.pk, "year": 2026, "month": 3}
    )
    assert report.status_code == 200 and report.json()["rows"][0]["item"]["code"] == "T-1"
    xlsx = sup.get(
        "/api/v1/onething/promotion/report.xlsx", {"district_id": world.district.pk, "year": 2026, "month": 3}
    )
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert api_as(world.citizen).get("/api/v1/onething/promotion/alerts").status_code == 403
    county_sup = api_as(_user("sup_county", Role.SUPERVISOR, area=county))
    assert (
        county_sup.get(
            "/api/v1/onething/promotion/report", {"district_id": world.district.pk, "year": 2026, "month": 3}
        ).status_code
        == 404
    )
    assert county_sup.get("/api/v1/onething/promotion/alerts").json() == []


def test_a_refused_application_stores_nothing(world: OneWorld) -> None:
    before = counts()
    response = apply_through_page(world, f_id="123", promise=[])
    assert response.status_code == 200
    html = response.content.decode()
    assert "has-error" in html
    assert counts() == before
    missing = apply_through_page(world, m_cert_x="", f_kind="")
    assert missing.status_code == 200 and counts() == before


def test_promise_and_reject_through_the_inbox(world: OneWorld) -> None:
    apply_through_page(world, m_photo=upload("photo.png", PNG), promise=[])
    application = Application.objects.get()
    b_task = SubTask.objects.get(application=application, matter__code="B")
    handler_b = client_for(world.handlers["b"])
    page = handler_b.get("/onething/inbox/")
    assert 'value="lease"' in page.content.decode()  # 租赁合同 may be accepted without (容缺)
    handler_b.post(f"/onething/subtasks/{b_task.pk}/do/promise/", {"material_key": "lease", "days": "3"})
    application.refresh_from_db()
    assert b_task.promises.get().material_key == "lease"
    assert application.status == ApplicationStatus.AWAITING_MATERIAL
    # a shared certificate cannot be promised: refused, nothing changes
    before = counts()
    handler_b.post(f"/onething/subtasks/{b_task.pk}/do/promise/", {"material_key": "id_card", "days": "3"})
    assert counts() == before
    handler_b.post(f"/onething/subtasks/{b_task.pk}/do/reject/", {"reason": "不符合办理条件"})
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert set(application.subtasks.values_list("status", flat=True)) == {"rejected", "cancelled"}
    status_page = client_for(world.citizen).get(f"/onething/applications/{application.pk}/")
    assert "不符合办理条件" in status_page.content.decode()
