"""The 一件事 API end to end: the public list with metrics, version management, applications as JSON and
multipart, the department inbox and its actions, the rating; bad input answers with a clear error and leaves
everything as it was."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from shizhi.core import services as core_services
from shizhi.onething.models import Application, ApplicationStatus
from shizhi.onething.tests.factories import JPG, PDF, PNG, build_one_world, counts, good_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():  # type: ignore[no-untyped-def]
    world = build_one_world()
    world.publish_example()
    return world


def token_of(user) -> str:  # type: ignore[no-untyped-def]
    return core_services.token_create(actor=user, user=user, name="t")[1]


def multipart(token: str, data: dict, files: dict[str, tuple[str, bytes]]):  # type: ignore[no-untyped-def]
    body = {"data": json.dumps(data)}
    body.update({k: SimpleUploadedFile(name, content) for k, (name, content) in files.items()})
    return Client().post(
        "/api/v1/onething/applications/multipart", body, headers={"Authorization": f"Bearer {token}"}
    )


GOOD_FILES = {"photo": ("p.png", PNG), "lease": ("l.pdf", PDF), "cert_x": ("c.jpg", JPG)}


def test_public_list_with_metrics_and_guide(w, anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/api/v1/onething/items")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 1
    item = body["items"][0]
    assert (item["code"], item["name"], item["version"], item["stage_label"]) == (
        "T-1",
        "示例一件事",
        1,
        "出生",
    )
    assert item["metrics"]["materials"] == {"before": 9, "after": 3, "saved": 6, "percent": 66.7}
    assert item["metrics"]["time_days"] == {"before": 10, "after": 7, "saved": 3, "percent": 30.0}
    guide = anon.get("/api/v1/onething/items/T-1").json()
    assert [m["key"] for m in guide["form"]] == ["name", "id", "phone", "address", "kind"]
    assert [(m["key"], m["to_submit"]) for m in guide["materials"]] == [
        ("id_card", False),
        ("photo", True),
        ("hukou_book", False),
        ("lease", True),
        ("cert_x", True),
    ]
    assert guide["critical_path"] == ["B", "C"]
    assert [m["starts_after_days"] for m in guide["matters"]] == [0, 0, 3, 2]
    r = anon.get("/api/v1/onething/items/NOPE")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert anon.get("/api/v1/onething/items", {"q": "示例"}).json()["count"] == 1
    assert anon.get("/api/v1/onething/items", {"stage": "x"}).status_code == 422


def test_version_management_routes(w, api_as) -> None:  # type: ignore[no-untyped-def]
    office = api_as(w.office)
    r = office.post("/api/v1/onething/manage/items/T-1/versions", {"note": "修订"})
    assert r.status_code == 201 and r.json()["version"] == 2 and r.json()["status"] == "draft"
    r = office.patch("/api/v1/onething/manage/items/T-1/versions/2", {"content": {"name": "新名称"}})
    assert r.status_code == 200 and r.json()["name"] == "新名称"
    before = counts()
    r = office.patch("/api/v1/onething/manage/items/T-1/versions/1", {"content": {"name": "改已发布"}})
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert counts() == before
    assert (
        office.post("/api/v1/onething/manage/items/T-1/versions/2/submit", {}).json()["status"] == "in_review"
    )
    assert (
        office.post("/api/v1/onething/manage/items/T-1/versions/2/publish", {}).json()["status"]
        == "published"
    )
    d = office.get("/api/v1/onething/manage/items/T-1/diff", {"from": 1, "to": 2}).json()
    assert d["fields"] == {"name": ["示例一件事", "新名称"]}
    log = office.get("/api/v1/onething/manage/items/T-1/changes").json()
    assert [c["action"] for c in log][:2] == ["publish", "withdraw"]
    citizen = api_as(w.citizen)
    r = citizen.post("/api/v1/onething/manage/items/T-1/versions", {})
    assert r.status_code == 403
    r = citizen.get("/api/v1/onething/manage/items")
    assert r.status_code == 403


def test_application_flow_over_the_api(w, api_as) -> None:  # type: ignore[no-untyped-def]
    data = {"item_code": "T-1", "form": good_form(), "district_id": w.district.pk}
    r = multipart(token_of(w.citizen), data, GOOD_FILES)
    assert r.status_code == 201, r.content
    app = r.json()
    assert app["status"] == "submitted" and app["status_label"] == "已提交"
    assert [p["status"] for p in app["progress"]] == ["ready", "ready", "waiting", "waiting"]
    assert sorted(m["material_key"] for m in app["materials"]) == [
        "cert_x",
        "hukou_book",
        "id_card",
        "lease",
        "photo",
    ]
    citizen, other = api_as(w.citizen), api_as(w.other_citizen)
    assert other.get(f"/api/v1/onething/applications/{app['id']}").status_code == 404

    handler_a, handler_b = api_as(w.handlers["a"]), api_as(w.handlers["b"])
    inbox = handler_a.get("/api/v1/onething/subtasks").json()
    assert [s["matter_code"] for s in inbox] == ["A"]
    a_id = inbox[0]["id"]
    b_id = handler_b.get("/api/v1/onething/subtasks").json()[0]["id"]
    # another department's part does not exist for unit a
    before = counts()
    assert handler_a.get(f"/api/v1/onething/subtasks/{b_id}").status_code == 404
    assert handler_a.post(f"/api/v1/onething/subtasks/{b_id}/accept", {}).status_code == 404
    assert citizen.get("/api/v1/onething/subtasks").status_code == 403
    assert counts() == before
    detail = handler_a.get(f"/api/v1/onething/subtasks/{a_id}").json()
    assert detail["form_data"] == {"name": "张三", "id": good_form()["id"], "phone": "13800001111"}
    assert [(m["key"], m["handed_in"]) for m in detail["materials"]] == [("id_card", True), ("photo", True)]

    assert handler_a.post(f"/api/v1/onething/subtasks/{a_id}/accept", {}).json()["status"] == "in_progress"
    r = handler_b.post(f"/api/v1/onething/subtasks/{b_id}/accept", {})
    r = handler_b.post(f"/api/v1/onething/subtasks/{b_id}/promises", {"material_key": "lease", "days": 3})
    assert r.status_code == 201 and r.json()["material_name"] == "租赁合同"
    view = citizen.get(f"/api/v1/onething/applications/{app['id']}").json()
    assert view["status"] == "awaiting_material"
    r = citizen.client.post(
        f"/api/v1/onething/applications/{app['id']}/materials/lease",
        {"file": SimpleUploadedFile("new.pdf", PDF)},
        headers={"Authorization": f"Bearer {citizen.token}"},
    )
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    assert (
        handler_a.post(f"/api/v1/onething/subtasks/{a_id}/complete", {"result": "办好了"}).status_code == 200
    )
    assert (
        handler_b.post(f"/api/v1/onething/subtasks/{b_id}/complete", {"result": "办好了"}).status_code == 200
    )
    r = citizen.post(f"/api/v1/onething/applications/{app['id']}/rating", {"score": 5})
    assert r.status_code == 409 and r.json()["message"] == "申请办结后才能评价"
    for handler, code in ((api_as(w.handlers["c"]), "C"), (handler_a, "D")):
        sid = handler.get("/api/v1/onething/subtasks").json()[0]["id"]
        handler.post(f"/api/v1/onething/subtasks/{sid}/accept", {})
        handler.post(f"/api/v1/onething/subtasks/{sid}/complete", {"result": f"{code}好了"})
    view = citizen.get(f"/api/v1/onething/applications/{app['id']}").json()
    assert view["status"] == "completed" and view["can_rate"] is True
    r = citizen.post(
        f"/api/v1/onething/applications/{app['id']}/rating", {"score": 4, "reasons": ["办理快捷"]}
    )
    assert r.status_code == 201 and r.json()["score_label"] == "满意"
    r = citizen.post(f"/api/v1/onething/applications/{app['id']}/rating", {"score": 4})
    assert r.status_code == 409
    # the supervisor sees it (supervisors may see personal data: core.view_pii)
    sup = api_as(w.supervisor).get(f"/api/v1/onething/applications/{app['id']}").json()
    assert (sup["status"], sup["applicant_phone"]) == ("completed", "13800001111")


def test_bad_input_over_the_api_changes_nothing(w, api_as) -> None:  # type: ignore[no-untyped-def]
    citizen = api_as(w.citizen)
    token = token_of(w.citizen)
    before = counts()
    r = citizen.post("/api/v1/onething/applications", {"item_code": "NOPE", "form": good_form()})
    assert r.status_code == 404 and r.json()["message"] == "一件事不存在或无权查看"
    r = citizen.post("/api/v1/onething/applications", {"item_code": "T-1", "form": {"name": "张三"}})
    assert r.status_code == 422
    assert r.json()["details"] == {"field": "form.id", "missing": ["id", "phone", "kind"]}
    r = citizen.post("/api/v1/onething/applications", {"item_code": "T-1", "form": good_form()})
    assert r.status_code == 422 and r.json()["details"]["missing"] == ["photo", "lease", "cert_x"]
    r = citizen.post("/api/v1/onething/applications", {"form": good_form()})
    assert r.status_code == 422  # item_code is required
    data = {"item_code": "T-1", "form": good_form()}
    r = multipart(token, data, {**GOOD_FILES, "lease": ("l.docx", b"PK\x03\x04")})
    assert r.status_code == 422 and r.json()["details"]["field"] == "materials.lease"
    r = multipart(token, data, {**GOOD_FILES, "lease": ("l.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024))})
    assert r.status_code == 422 and r.json()["details"]["max_bytes"] == 10 * 1024 * 1024
    r = multipart(token, data, {**GOOD_FILES, "photo": ("p.png", JPG)})
    assert r.status_code == 422 and r.json()["message"] == "“p.png”的内容与文件类型不符"
    r = Client().post(
        "/api/v1/onething/applications/multipart",
        {"data": "{not json"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 422 and r.json()["details"]["field"] == "data"
    assert counts() == before
    assert Application.objects.count() == 0
    r = multipart(token, data, GOOD_FILES)
    assert r.status_code == 201
    assert Application.objects.get().status == ApplicationStatus.SUBMITTED


def test_rollout_routes(w, api_as) -> None:  # type: ignore[no-untyped-def]
    office = api_as(w.office)
    body = {"item_code": "T-1", "district_id": w.district.pk, "target_online_date": "2026-06-30"}
    r = office.put("/api/v1/onething/rollouts", body)
    assert r.status_code == 200 and r.json()["state"] == "planned"
    rid = r.json()["id"]
    r = office.post(f"/api/v1/onething/rollouts/{rid}/state", {"state": "piloting"})
    assert r.json()["state_label"] == "试点中"
    r = office.post(f"/api/v1/onething/rollouts/{rid}/state", {"state": "piloting"})
    assert r.status_code == 409
    r = office.post(
        f"/api/v1/onething/rollouts/{rid}/milestones",
        {"title": "窗口培训", "due_date": "2026-05-01", "owner_name": "王五"},
    )
    assert r.status_code == 201
    mid = r.json()["milestones"][0]["id"]
    assert office.post(f"/api/v1/onething/milestones/{mid}/complete", {}).json()["milestones"][0]["done_at"]
    assert office.post(f"/api/v1/onething/milestones/{mid}/complete", {}).status_code == 409
    assert api_as(w.citizen).get("/api/v1/onething/rollouts").status_code == 403
    assert api_as(w.supervisor).put("/api/v1/onething/rollouts", body).status_code == 403
    r = office.put("/api/v1/onething/rollouts", {**body, "target_on_time_rate": 1.5})
    assert r.status_code == 422
