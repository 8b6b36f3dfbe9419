"""Open311 GeoReport v2 at /open311/v2/, driven by a client written from the spec alone: format extensions,
form-encoded POSTs, the XML element names, the error list. Every refused request leaves no case behind."""

from __future__ import annotations

import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from shizhi.core.models import AuditEvent
from shizhi.hotline import open311_data, services
from shizhi.hotline.models import Case, CaseStatus, Open311Key, Open311Request
from shizhi.hotline.services.open311keys import open311_key_create
from shizhi.hotline.tests.factories import IN_URBAN, HotlineWorld, build_hotline_world, new_case

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]


class Open311Client:
    """What an Open311 client knows: the endpoint, ``resource.format``, form-encoded POSTs with api_key."""

    def __init__(self, http: Client | None = None, base: str = "/open311/v2/") -> None:
        self.http = http or Client()
        self.base = base

    def get(self, resource: str, fmt: str = "json", **params: str) -> HttpResponse:
        return self.http.get(f"{self.base}{resource}.{fmt}", params)

    def post(self, fmt: str = "json", **params: Any) -> HttpResponse:
        return self.http.post(f"{self.base}requests.{fmt}", params)


def parse(response: HttpResponse) -> Any:
    """JSON as data; XML as its root element (after checking the declaration and the content type)."""
    content_type = response["Content-Type"]
    if content_type == "application/json; charset=utf-8":
        return json.loads(response.content)
    assert content_type == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def xml_rows(root: ET.Element, root_tag: str, item_tag: str) -> list[dict[str, str | None]]:
    assert root.tag == root_tag
    assert all(child.tag == item_tag for child in root)
    return [{field.tag: field.text for field in item} for item in root]


def assert_error(response: HttpResponse, status: int, fmt: str = "json", contains: str = "") -> str:
    """The spec's error shape; returns the description."""
    assert response.status_code == status, response.content.decode()
    body = parse(response)
    if fmt == "json":
        assert isinstance(body, list) and len(body) == 1
        assert set(body[0]) == {"code", "description"}
        assert body[0]["code"] == status
        description = body[0]["description"]
    else:
        [error] = xml_rows(body, "errors", "error")
        assert list(error) == ["code", "description"]
        assert error["code"] == str(status)
        description = error["description"] or ""
    assert contains in description
    return str(description)


@pytest.fixture
def hw() -> HotlineWorld:
    return build_hotline_world()


@pytest.fixture
def api_key(hw: HotlineWorld) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("open311", "key", "create", "市民通App", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("o311_") and "请立即保存" in err.getvalue()
    return raw


@pytest.fixture
def o311() -> Open311Client:
    return Open311Client()


def streetlight(raw_key: str, /, **over: Any) -> dict[str, Any]:
    params = {
        "api_key": raw_key,
        "jurisdiction_id": "linjiang.gov.cn",
        "service_code": "CX0101",
        "lat": str(IN_URBAN[1]),
        "long": str(IN_URBAN[0]),
        "address_string": "幸福路12号门口",
        "description": "幸福路12号门口的路灯一直不亮，晚上很黑，请尽快修理。",
        "first_name": "三",
        "last_name": "张",
        "phone": "13812341234",
        "email": "zhangsan@example.com",
        "device_id": "device-42",
        "media_url": "https://img.example.com/lamp.jpg",
    }
    params.update(over)
    return {k: v for k, v in params.items() if v is not None}


def nothing_created() -> tuple[int, int, int]:
    return Case.objects.count(), Open311Request.objects.count(), AuditEvent.objects.count()


# --------------------------------------------------------------------------------------------- discovery, services


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery_names_the_spec_and_this_endpoint(hw: HotlineWorld, o311: Open311Client, fmt: str) -> None:
    response = o311.get("discovery", fmt)
    assert response.status_code == 200
    body = parse(response)
    if fmt == "json":
        assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
        [endpoint] = body["endpoints"]
        assert endpoint == {
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": "http://testserver/open311/v2",
            "changeset": body["changeset"],
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }
    else:
        assert body.tag == "discovery"
        assert [c.tag for c in body] == ["changeset", "contact", "key_service", "endpoints"]
        endpoints = body.find("endpoints")
        assert endpoints is not None
        [endpoint] = list(endpoints)
        assert endpoint.tag == "endpoint"
        assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint.findtext("url") == "http://testserver/open311/v2"
        assert endpoint.findtext("type") == "production"
        assert [f.text for f in endpoint.iter("format")] == ["text/xml", "application/json"]


def test_service_list_in_json_and_xml(hw: HotlineWorld, o311: Open311Client) -> None:
    services.category_update(actor=None, category=hw.categories["CX0101"], keywords="路灯,照明")
    services.category_update(actor=None, category=hw.categories["HJ01"], is_active=False)
    listed = parse(o311.get("services", "json"))
    assert [s["service_code"] for s in listed] == ["CX", "CX01", "CX0101", "CX0102", "HJ", "ZC"]
    lamp = next(s for s in listed if s["service_code"] == "CX0101")
    assert lamp == {
        "service_code": "CX0101",
        "service_name": "路灯",
        "description": "城乡建设 / 市政设施 / 路灯",
        "metadata": False,
        "type": "realtime",
        "keywords": "路灯,照明",
        "group": "城乡建设",
    }
    rows = xml_rows(parse(o311.get("services", "xml")), "services", "service")
    assert [list(r) for r in rows] == [SERVICE_FIELDS] * 6
    assert rows[2] == {**lamp, "metadata": "false"}
    assert rows[4]["group"] == "环境保护" and rows[4]["service_code"] == "HJ"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_definition_has_no_attributes(hw: HotlineWorld, o311: Open311Client, fmt: str) -> None:
    response = o311.get("services/CX0101", fmt)
    assert response.status_code == 200
    body = parse(response)
    if fmt == "json":
        assert body == {"service_code": "CX0101", "attributes": []}
    else:
        assert body.tag == "service_definition"
        assert body.findtext("service_code") == "CX0101"
        assert [c.tag for c in body] == ["service_code", "attributes"] and len(body.find("attributes")) == 0
    assert_error(o311.get("services/NOPE", fmt), 404, fmt, "NOPE")


# --------------------------------------------------------------------------------------------- POST and read back


def test_post_a_request_and_read_it_back(hw: HotlineWorld, api_key: str, o311: Open311Client) -> None:
    response = o311.post("json", **streetlight(api_key))
    assert response.status_code == 200
    [created] = parse(response)
    assert list(created) == ["service_request_id", "service_notice", "account_id"]
    assert created["account_id"] is None and "诉求已受理" in created["service_notice"]
    number = created["service_request_id"]
    case = Case.objects.get(number=number)
    assert (case.channel, case.demand_type, case.category.code, case.status) == (
        "open311",
        "complaint",
        "CX0101",
        CaseStatus.RECEIVED,
    )
    assert (case.citizen_name, case.citizen_phone, case.anonymous) == ("张三", "13812341234", False)
    assert case.title == "幸福路12号门口的路灯一直不亮，晚上很黑，请尽快修理。"[:30]
    assert case.content.endswith("\n\n图片：https://img.example.com/lamp.jpg")
    assert (case.lng, case.lat, case.address, case.external_id) == (
        120.05,
        30.02,
        "幸福路12号门口",
        "device-42",
    )
    assert case.street is not None and case.street.code == "331202001000"
    submission = case.open311
    assert (submission.key.name, submission.media_url, submission.device_id) == (
        "市民通App",
        "https://img.example.com/lamp.jpg",
        "device-42",
    )
    assert AuditEvent.objects.filter(action="open311.request", object_id=str(case.pk)).count() == 1
    assert Open311Key.objects.get().last_used_at is not None

    [row] = parse(o311.get(f"requests/{number}", "json"))
    assert list(row) == REQUEST_FIELDS
    assert row["service_request_id"] == number
    assert (row["status"], row["status_notes"], row["service_code"], row["service_name"]) == (
        "open",
        "已受理",
        "CX0101",
        "路灯",
    )
    assert row["description"] == case.content
    assert (row["address"], row["lat"], row["long"]) == ("幸福路12号门口", 30.02, 120.05)
    assert (row["address_id"], row["zipcode"], row["agency_responsible"], row["expected_datetime"]) == (
        None,
        None,
        None,
        None,
    )
    assert row["media_url"] == "https://img.example.com/lamp.jpg"
    requested = dt.datetime.fromisoformat(row["requested_datetime"])
    assert row["requested_datetime"].endswith("+08:00") and requested == case.received_at.replace(
        microsecond=0
    )
    assert row["service_notice"] == f"按“一般（7个工作日）”时限办理，可凭工单编号{number}查询办理进度"

    [xml_row] = xml_rows(parse(o311.get(f"requests/{number}", "xml")), "service_requests", "request")
    assert list(xml_row) == REQUEST_FIELDS
    assert xml_row == {
        **row,
        "lat": "30.02",
        "long": "120.05",
        "status_notes": "已受理",
        "address_id": None,
        "zipcode": None,
        "agency_responsible": None,
        "expected_datetime": None,
    }


def test_post_answers_in_xml_and_takes_a_json_body(
    hw: HotlineWorld, api_key: str, o311: Open311Client
) -> None:
    response = o311.post("xml", **streetlight(api_key))
    assert response.status_code == 200
    [created] = xml_rows(parse(response), "service_requests", "request")
    assert list(created) == ["service_request_id", "service_notice", "account_id"]
    assert (
        created["account_id"] is None and Case.objects.filter(number=created["service_request_id"]).exists()
    )

    body = streetlight(api_key, service_code="ZC", phone=None, first_name=None, last_name=None, lat=None)
    body.pop("long")
    body["description"] = "请问新生儿落户需要准备哪些材料？"
    response = o311.http.post("/open311/v2/requests.json", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    case = Case.objects.get(number=parse(response)[0]["service_request_id"])
    assert (case.demand_type, case.anonymous, case.citizen_phone, case.lng) == ("inquiry", True, "", None)


def test_post_is_csrf_exempt(hw: HotlineWorld, api_key: str) -> None:
    strict = Open311Client(Client(enforce_csrf_checks=True))
    assert strict.post("json", **streetlight(api_key)).status_code == 200


def test_a_submission_without_description_uses_the_service_name(
    hw: HotlineWorld, api_key: str, o311: Open311Client
) -> None:
    response = o311.post("json", **streetlight(api_key, description=None, media_url=None))
    case = Case.objects.get(number=parse(response)[0]["service_request_id"])
    assert (case.title, case.content) == ("路灯", "城乡建设 / 市政设施 / 路灯（通过Open311提交，未填写描述）")


# --------------------------------------------------------------------------------------------- errors


ERROR_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("no key", {"api_key": None}, 403, "api_key was not provided"),
    ("bad key", {"api_key": "o311_not-a-real-key"}, 403, "api_key is invalid"),
    ("personal token", {"api_key": "shz_abc"}, 403, "api_key is invalid"),
    ("no service_code", {"service_code": None}, 400, "service_code was not provided"),
    ("unknown service_code", {"service_code": "XX99"}, 400, "service_code XX99 was not found"),
    ("no location", {"lat": None, "long": None, "address_string": None}, 400, "location is required"),
    (
        "address_id only",
        {"lat": None, "long": None, "address_string": None, "address_id": "A1"},
        400,
        "address_id",
    ),
    ("lat without long", {"long": None}, 400, "lat and long"),
    ("bad coordinate", {"lat": "north"}, 400, "lat is not a number"),
    ("nan coordinate", {"long": "nan"}, 400, "long is not a finite number"),
    ("coordinate out of range", {"lat": "95"}, 400, "坐标无效"),
    ("outside the city", {"lat": "39.9", "long": "116.4"}, 400, "坐标不在本市范围内"),
    ("bad phone", {"phone": "12345"}, 400, "phone: 联系电话格式不正确"),
    ("too short", {"description": "灯坏", "media_url": None}, 400, "description: 诉求内容至少5个字"),
    ("html", {"description": "<script>alert(1)</script>路灯坏了很久"}, 400, "description:"),
    ("bad media_url", {"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ("long name", {"first_name": "三" * 40}, 400, "first_name/last_name"),
]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("label", "over", "status", "contains"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_refused_submissions_create_nothing(
    hw: HotlineWorld,
    api_key: str,
    o311: Open311Client,
    fmt: str,
    label: str,
    over: dict[str, Any],
    status: int,
    contains: str,
) -> None:
    before = nothing_created()
    assert_error(o311.post(fmt, **streetlight(api_key, **over)), status, fmt, contains)
    assert nothing_created() == before


def test_inactive_service_and_revoked_key_are_refused(
    hw: HotlineWorld, api_key: str, o311: Open311Client
) -> None:
    services.category_update(actor=None, category=hw.categories["CX0101"], is_active=False)
    before = nothing_created()
    assert_error(o311.post("json", **streetlight(api_key)), 400, contains="service_code CX0101 was not found")
    key = Open311Key.objects.get()
    call_command("open311", "key", "revoke", str(key.pk), stdout=io.StringIO())
    services.category_update(actor=None, category=hw.categories["CX0101"], is_active=True)
    before = nothing_created()
    assert_error(o311.post("xml", **streetlight(api_key)), 403, "xml", "revoked")
    assert nothing_created() == before


def test_a_repeated_submission_is_refused_with_a_description(
    hw: HotlineWorld, api_key: str, o311: Open311Client
) -> None:
    assert o311.post("json", **streetlight(api_key)).status_code == 200
    before = nothing_created()
    first = Case.objects.get().number
    assert_error(
        o311.post("json", **streetlight(api_key)),
        400,
        contains=f"重复提交：相同内容的诉求刚刚已受理（工单编号{first}）",
    )
    assert nothing_created() == before


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '{"service_code": ["CX0101"]}'])
def test_a_bad_json_body_is_refused(hw: HotlineWorld, api_key: str, o311: Open311Client, body: str) -> None:
    before = nothing_created()
    response = o311.http.post("/open311/v2/requests.json", body, content_type="application/json")
    assert_error(response, 400)
    assert nothing_created() == before


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_ids_formats_paths_and_methods(hw: HotlineWorld, o311: Open311Client, fmt: str) -> None:
    assert_error(o311.get("requests/2026010100001", fmt), 404, fmt, "2026010100001 was not found")
    assert_error(o311.get("tokens/nope", fmt), 404, fmt, "token nope was not found")
    assert_error(o311.http.get(f"/open311/v2/whatever.{fmt}"), 404, fmt)
    response = o311.http.put(f"/open311/v2/requests.{fmt}")
    assert_error(response, 405, fmt)
    assert response["Allow"] == "GET, HEAD, POST"
    assert_error(o311.http.post(f"/open311/v2/services.{fmt}"), 405, fmt)


@pytest.mark.parametrize(
    "resource", ["services", "requests", "discovery", "requests/1", "services/CX", "tokens/1"]
)
def test_an_unsupported_format_is_a_404(hw: HotlineWorld, o311: Open311Client, resource: str) -> None:
    assert_error(o311.get(resource, "html"), 404, "xml", "format html is not supported")
    assert_error(o311.http.get(f"/open311/v2/{resource}"), 404, "xml")  # no extension at all


# --------------------------------------------------------------------------------------------- GET requests


def test_requests_filters(hw: HotlineWorld, o311: Open311Client) -> None:
    u = hw.users
    now = timezone.now()
    lamp = new_case(hw)
    water = new_case(
        hw, category="CX0102", citizen_phone="13900001111", content="小区停水一整天了，什么时候恢复供水？"
    )
    noise = new_case(
        hw, category="HJ01", citizen_phone="13900002222", content="工地夜间施工噪声很大，影响休息。"
    )
    old = new_case(hw, received_at=now - dt.timedelta(days=120), citizen_phone="13900003333")
    report = new_case(
        hw, demand_type="report", citizen_phone="13900004444", content="举报某餐馆违规排放油烟。"
    )
    services.case_dispatch(actor=u["dispatcher"], case=lamp, unit=hw.units["cgj"])
    services.case_accept(actor=u["h_cgj"], case=lamp)
    services.case_reply(actor=u["h_cgj"], case=lamp, reply="已于今日更换灯泡，经现场检查路灯恢复正常。")

    def numbers(**params: str) -> list[str]:
        response = o311.get("requests", "json", **params)
        assert response.status_code == 200, response.content
        return [r["service_request_id"] for r in parse(response)]

    recent = [noise.number, water.number, lamp.number]  # newest first; no report, nothing older than 90 days
    assert numbers() == recent
    assert numbers(status="open") == [noise.number, water.number]
    assert numbers(status="closed") == [lamp.number]
    assert numbers(status="open,closed") == recent
    assert numbers(service_code="CX0102,HJ01") == [noise.number, water.number]
    assert numbers(service_code="CX") == []  # a service is one category, not its subtree
    assert numbers(service_request_id=f"{lamp.number},{old.number},{report.number}") == [
        lamp.number,
        old.number,
    ]
    window = {
        "start_date": (now - dt.timedelta(days=150)).astimezone(SHANGHAI).isoformat(timespec="seconds"),
        "end_date": (now - dt.timedelta(days=100)).astimezone(SHANGHAI).isoformat(timespec="seconds"),
    }
    assert numbers(**window) == [old.number]
    assert numbers(start_date=(now - dt.timedelta(days=130)).strftime("%Y-%m-%dT%H:%M:%SZ")) == [old.number]
    assert numbers(end_date=(now - dt.timedelta(days=1)).astimezone(SHANGHAI).date().isoformat()) == []
    # an unencoded "+" of the offset arrives as a space
    plus_as_space = (now + dt.timedelta(minutes=1)).astimezone(SHANGHAI).isoformat(timespec="seconds")
    assert numbers(end_date=plus_as_space.replace("+", " ")) == recent

    closed = parse(o311.get(f"requests/{lamp.number}", "json"))[0]
    lamp.refresh_from_db()
    assert (closed["status"], closed["status_notes"]) == (
        "closed",
        "已于今日更换灯泡，经现场检查路灯恢复正常。",
    )
    assert closed["agency_responsible"] == hw.units["cgj"].name
    assert closed["expected_datetime"] == lamp.due_at.astimezone(SHANGHAI).isoformat(timespec="seconds")
    assert closed["updated_datetime"] == lamp.updated_at.astimezone(SHANGHAI).isoformat(timespec="seconds")
    assert_error(o311.get(f"requests/{report.number}", "json"), 404)


def test_merged_requests_are_closed_and_point_to_their_master(hw: HotlineWorld, o311: Open311Client) -> None:
    master = new_case(hw)
    duplicate = new_case(hw, citizen_phone="13900005555")
    services.case_merge(actor=hw.users["operator"], master=master, duplicate=duplicate)
    [row] = parse(o311.get(f"requests/{duplicate.number}", "json"))
    assert (row["status"], row["status_notes"]) == ("closed", f"与工单{master.number}为同一诉求，已合并办理")


def test_at_most_1000_requests(
    hw: HotlineWorld, o311: Open311Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(open311_data, "MAX_RESULTS", 2)
    made = [new_case(hw, citizen_phone=f"1390000{i:04d}") for i in range(3)]
    assert [r["service_request_id"] for r in parse(o311.get("requests"))] == [made[2].number, made[1].number]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("params", "contains"),
    [
        ({"start_date": "yesterday"}, "start_date is not a W3C date-time"),
        ({"end_date": "2026-13-40T00:00:00Z"}, "end_date is not a W3C date-time"),
        ({"start_date": "2026-06-01", "end_date": "2026-05-01"}, "end_date is before start_date"),
        ({"start_date": "2026-01-01", "end_date": "2026-06-01"}, "may not span more than 90 days"),
        ({"status": "pending"}, "status must be open or closed"),
    ],
)
def test_bad_request_filters(
    hw: HotlineWorld, o311: Open311Client, fmt: str, params: dict[str, str], contains: str
) -> None:
    assert_error(o311.get("requests", fmt, **params), 400, fmt, contains)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_token_is_the_request_id(hw: HotlineWorld, api_key: str, o311: Open311Client, fmt: str) -> None:
    number = parse(o311.post("json", **streetlight(api_key)))[0]["service_request_id"]
    body = parse(o311.get(f"tokens/{number}", fmt))
    expected = {"service_request_id": number, "token": number}
    if fmt == "json":
        assert body == [expected]
    else:
        assert xml_rows(body, "service_requests", "request") == [expected]


def test_the_citizen_s_name_and_phone_never_appear(
    hw: HotlineWorld, api_key: str, o311: Open311Client
) -> None:
    number = parse(
        o311.post("json", **streetlight(api_key, description="我是张三，电话13812341234，路灯坏了。"))
    )[0]["service_request_id"]
    phone_case = new_case(
        hw,
        citizen_name="李四",
        citizen_phone="13700001234",
        content="李四反映：楼下路灯不亮，回电13700001234或者 +86 137 0000 1234。身份证330102199001011234。",
        address="李四家门口",
    )
    u = hw.users
    services.case_dispatch(actor=u["dispatcher"], case=phone_case, unit=hw.units["cgj"])
    services.case_accept(actor=u["h_cgj"], case=phone_case)
    services.case_reply(
        actor=u["h_cgj"], case=phone_case, reply="李四您好，已电话13700001234联系并修复路灯。"
    )
    bodies = [
        o311.get(resource, fmt).content.decode()
        for fmt in ("json", "xml")
        for resource in (
            "requests",
            f"requests/{number}",
            f"requests/{phone_case.number}",
            f"tokens/{number}",
        )
    ]
    for body in bodies:
        for secret in ("13812341234", "张三", "13700001234", "李四", "137 0000 1234", "199001011234"):
            assert secret not in body
    [row] = parse(o311.get(f"requests/{phone_case.number}"))
    assert (
        row["description"]
        == "李*反映：楼下路灯不亮，回电137****1234或者 137****1234。身份证330***********1234。"
    )
    assert row["status_notes"] == "李*您好，已电话137****1234联系并修复路灯。"
    assert row["address"] == "李*家门口"


def test_xml_escapes_text_and_drops_what_xml_cannot_carry(
    hw: HotlineWorld, api_key: str, o311: Open311Client
) -> None:
    text = "路灯 <不亮> & “闪烁” ]]> 已经三天\x01了"
    number = parse(o311.post("json", **streetlight(api_key, description=text, media_url=None)))[0][
        "service_request_id"
    ]
    [row] = xml_rows(parse(o311.get(f"requests/{number}", "xml")), "service_requests", "request")
    assert row["description"] == "路灯 <不亮> & “闪烁” ]]> 已经三天了"
    assert parse(o311.get(f"requests/{number}", "json"))[0]["description"] == text


# --------------------------------------------------------------------------------------------- keys


def test_key_commands_store_only_a_digest_and_leave_an_audit_trail(hw: HotlineWorld) -> None:
    out = io.StringIO()
    call_command("open311", "key", "create", "FixMyStreet", stdout=out, stderr=io.StringIO())
    raw = out.getvalue().strip()
    key = Open311Key.objects.get()
    assert raw not in (key.digest, key.prefix) and raw.startswith(key.prefix) and len(key.digest) == 64
    assert not Open311Key.objects.filter(digest=raw).exists()
    listing = io.StringIO()
    call_command("open311", "key", "list", stdout=listing)
    assert listing.getvalue() == f"{key.pk}\t{key.prefix}…\tFixMyStreet\t有效\t-\n"
    assert raw not in listing.getvalue()
    call_command("open311", "key", "revoke", str(key.pk), stdout=io.StringIO())
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert list(
        AuditEvent.objects.filter(object_type="hotline.open311key")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["open311_key.create", "open311_key.revoke"]
    with pytest.raises(CommandError, match="已被撤销"):
        call_command("open311", "key", "revoke", str(key.pk), stdout=io.StringIO())
    with pytest.raises(CommandError, match="不存在"):
        call_command("open311", "key", "revoke", "999", stdout=io.StringIO())
    with pytest.raises(CommandError, match="不能为空"):
        call_command("open311", "key", "create", "  ", stdout=io.StringIO())


def test_only_an_admin_may_issue_keys(hw: HotlineWorld) -> None:
    from shizhi.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        open311_key_create(actor=hw.users["operator"], name="x")
    key, raw = open311_key_create(actor=hw.users["admin"], name="x")
    assert key.prefix == raw[:11] and Open311Key.objects.count() == 1
