"""Attachments, the three rates in every grouping, the knowledge base search and the sweep command."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from shizhi.core.errors import PermissionDenied, ValidationFailed
from shizhi.hotline import rates, services
from shizhi.hotline.models import Assignment, Attachment, Case
from shizhi.hotline.tests.factories import IN_COUNTY, build_hotline_world, new_case

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
REPLY = "已安排人员现场处理，问题已解决。联系人：王工，电话0571-1234567。"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def upload(client: Client, token: str, case_id: int, name: str, data: bytes, content_type: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        f"/api/v1/cases/{case_id}/attachments",
        {"file": SimpleUploadedFile(name, data, content_type=content_type)},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_attachments_are_checked_before_anything_is_stored(api_as: Any) -> None:
    hw = build_hotline_world()
    case = new_case(hw)
    token = api_as(hw.users["operator"]).token
    client = Client()
    bad = [
        ("a.exe", b"MZ" + b"\x00" * 10, "application/octet-stream", "只能上传"),
        ("fake.png", b"#!/bin/sh\nrm -rf /", "image/png", "文件内容与类型不符"),
        ("empty.png", b"", "image/png", "空"),
    ]
    for name, data, ctype, words in bad:
        resp = upload(client, token, case.pk, name, data, ctype)
        assert resp.status_code == 422 and words in resp.json()["message"], resp.content
    assert Attachment.objects.count() == 0
    resp = upload(client, token, case.pk, "现场.png", PNG, "image/png")
    assert resp.status_code == 201 and resp.json()["size"] == len(PNG)
    assert Case.objects.get(pk=case.pk).events.filter(action="attach").count() == 1
    other = api_as(hw.users["h_sthj"]).token
    assert upload(client, other, case.pk, "x.png", PNG, "image/png").status_code == 404


def _close(hw: Any, case: Case, *, satisfaction: int, solved: bool, late_accept: bool = False) -> Case:
    case = services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units["cgj"])
    if late_accept:
        Assignment.objects.filter(case=case).update(
            accept_due_at=case.dispatched_at - dt.timedelta(minutes=1)
        )
    case = services.case_accept(actor=hw.users["h_cgj"], case=case)
    case = services.case_reply(actor=hw.users["h_cgj"], case=case, reply=REPLY)
    return services.case_callback(
        actor=hw.users["operator"], case=case, reached=True, solved=solved, satisfaction=satisfaction
    )


def test_rates_by_unit_district_city_month_and_range() -> None:
    hw = build_hotline_world()
    _close(hw, new_case(hw), satisfaction=5, solved=True)
    _close(hw, new_case(hw), satisfaction=4, solved=True, late_accept=True)
    _close(hw, new_case(hw, at=IN_COUNTY), satisfaction=2, solved=False)
    _close(hw, new_case(hw, at=IN_COUNTY), satisfaction=3, solved=True)
    services.case_dispatch(
        actor=hw.users["dispatcher"], case=new_case(hw), unit=hw.units["sthj"]
    )  # not accepted
    sup = hw.users["supervisor"]
    month = Case.objects.exclude(rated_month=None).values_list("rated_month", flat=True).first()
    period = rates.Period.months(month)
    by_unit = {r.name: r for r in rates.compute_rates(actor=sup, period=period, group="unit")}
    cgj, sthj = by_unit["临江市城市管理局"], by_unit["临江市生态环境局"]
    assert (cgj.dispatched, cgj.accepted_on_time, cgj.rated, cgj.solved, cgj.satisfied) == (4, 3, 4, 3, 2)
    assert (cgj.response_rate, cgj.resolution_rate, cgj.satisfaction_rate) == (0.75, 0.75, 0.5)
    # composite = 100 * (0.2 * 0.75 + 0.4 * 0.75 + 0.4 * 0.5)
    assert cgj.composite == 65.0
    assert (sthj.dispatched, sthj.accepted_on_time, sthj.rated, sthj.composite) == (1, 0, 0, None)
    by_district = {
        r.name: r.as_dict() for r in rates.compute_rates(actor=sup, period=period, group="district")
    }
    assert (
        by_district["江城区"]["satisfaction_rate"] == 100.0
        and by_district["临江县"]["satisfaction_rate"] == 0.0
    )
    city = rates.compute_rates(actor=sup, period=period, group="city")
    assert len(city) == 1 and (city[0].rated, city[0].dispatched) == (4, 5)
    monthly = rates.compute_rates(actor=sup, period=period, group="city", by_month=True)
    assert [r.extra["month"] for r in monthly] == [month]
    now = Case.objects.exclude(rated_at=None).first().rated_at
    ranged = rates.compute_rates(
        actor=sup,
        period=rates.Period.between(now - dt.timedelta(days=1), now + dt.timedelta(days=1)),
        group="city",
    )
    assert ranged[0].rated == 4
    empty = rates.compute_rates(
        actor=sup,
        period=rates.Period.between(now + dt.timedelta(days=1), now + dt.timedelta(days=2)),
        group="city",
    )
    assert empty == []
    ranking = rates.ranking(actor=sup, period=period)
    assert [(r["name"], r["rank"]) for r in ranking] == [("临江市城市管理局", 1), ("临江市生态环境局", None)]


def test_rates_need_the_right_and_a_sane_period(settings: Any) -> None:
    hw = build_hotline_world()
    with pytest.raises(PermissionDenied):
        rates.compute_rates(actor=hw.users["h_cgj"], period=rates.Period.months(202611))
    with pytest.raises(ValidationFailed):
        rates.Period.months(202613)
    with pytest.raises(ValidationFailed):
        rates.Period.months(202611, 202601)
    with pytest.raises(ValidationFailed):
        rates.compute_rates(actor=hw.users["supervisor"], period=rates.Period.months(202611), group="planet")
    settings.SHIZHI = {
        **settings.SHIZHI,
        "HOTLINE_RATE_WEIGHTS": {"response": 1, "resolution": 1, "satisfaction": 2},
    }
    r = rates.Rates(key=1, dispatched=4, accepted_on_time=2, rated=2, solved=2, satisfied=1)
    assert r.composite == 100 * (0.25 * 0.5 + 0.25 * 1.0 + 0.5 * 0.5)


def test_knowledge_search_finds_chinese_answers(api_as: Any) -> None:
    hw = build_hotline_world()
    services.knowledge_save(
        actor=None,
        title="灵活就业人员如何参加养老保险",
        keywords="社保 养老保险 灵活就业",
        answer="灵活就业人员可持身份证到户籍所在地社保经办机构办理参保登记，也可在网上办理。",
    )
    services.knowledge_save(
        actor=None,
        title="犬只登记办理流程",
        keywords="养犬 登记",
        answer="养犬人应在取得犬只后30日内到所在地公安派出所办理养犬登记。",
    )
    found = [a.title for _, a in services_search("我是灵活就业的，怎么交养老保险")]
    assert found[0] == "灵活就业人员如何参加养老保险"
    assert services_search("狗要登记吗 养犬")[0][1].title == "犬只登记办理流程"
    assert services_search("天气") == []
    resp = api_as(hw.users["operator"]).get("/api/v1/hotline/knowledge", {"q": "养老保险"})
    assert resp.status_code == 200 and resp.json()[0]["title"] == "灵活就业人员如何参加养老保险"
    with pytest.raises(PermissionDenied):
        services.knowledge_save(actor=hw.users["h_cgj"], title="x", answer="答复内容很长")


def services_search(q: str) -> list[Any]:
    from shizhi.hotline.selectors import knowledge_search

    return knowledge_search(q)


def test_sweep_command() -> None:
    hw = build_hotline_world()
    case = services.case_dispatch(actor=hw.users["dispatcher"], case=new_case(hw), unit=hw.units["cgj"])
    Case.objects.filter(pk=case.pk).update(due_at=case.dispatched_at - dt.timedelta(minutes=1))
    out = io.StringIO()
    call_command("hotline", "sweep", stdout=out)
    assert "新超期 1 件" in out.getvalue() and "新增督办 1 件" in out.getvalue()
    assert Case.objects.get(pk=case.pk).is_overdue


def test_attachment_upload_and_protected_download_on_the_case_page() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    hw = build_hotline_world()
    case = new_case(hw)
    operator = Client()
    operator.force_login(hw.users["operator"])
    url = f"/hotline/cases/{case.pk}/do/attach/"
    resp = operator.post(url, {"file": SimpleUploadedFile("x.png", b"not a png", content_type="image/png")})
    assert resp.status_code == 422 and "文件内容与类型不符" in resp.content.decode()
    assert Attachment.objects.count() == 0
    resp = operator.post(url, {"file": SimpleUploadedFile("现场照片.png", PNG, content_type="image/png")})
    assert resp.status_code == 302
    attachment = Attachment.objects.get()
    page = operator.get(f"/hotline/cases/{case.pk}/").content.decode()
    link = f"/hotline/cases/{case.pk}/files/{attachment.pk}/"
    assert "现场照片.png" in page and link in page
    download = operator.get(link)
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    outsider = Client()
    outsider.force_login(hw.users["h_sthj"])
    assert outsider.get(link).status_code == 404
