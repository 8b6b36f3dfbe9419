"""The API (/api/v1/ai/...): suggestions for operators (403 for a citizen), the model registry and activation for
administrators only (audited; a refused request changes nothing)."""

from __future__ import annotations

from typing import Any

import pytest

from shizhi.ai.models import TrainedModel
from shizhi.ai.tests.factories import english_labels, train
from shizhi.core.models import AuditEvent, Role
from shizhi.core.tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def users() -> dict[str, Any]:
    return {
        "admin": make_user("admin", (Role.ADMIN, None, None)),
        "operator": make_user("operator", (Role.OPERATOR, None, None)),
        "dispatcher": make_user("dispatcher", (Role.DISPATCHER, None, None)),
        "citizen": make_user("citizen", (Role.CITIZEN, None, None)),
        "handler": make_user("supervisor", (Role.SUPERVISOR, None, None)),
    }


def state() -> tuple[list[tuple[int, bool]], int]:
    return list(
        TrainedModel.objects.order_by("id").values_list("id", "is_active")
    ), AuditEvent.objects.count()


def test_suggest_gives_top_three_per_task_with_probabilities(api_as: Any, users: dict[str, Any]) -> None:
    train()
    for who in ("operator", "dispatcher", "admin"):
        response = api_as(users[who]).post(
            "/api/v1/ai/suggest", {"title": "停水", "content": "家里水龙头一滴水都没有，也没通知停水"}
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"category", "unit", "demand_type"}
        labels = [item["label"] for item in body["category"]]
        assert len(labels) == 3 and labels[0] == "供水"
        assert body["category"][0]["name"] == "供水"  # a label from a file is shown as it is
        probabilities = [item["probability"] for item in body["category"]]
        assert probabilities == sorted(probabilities, reverse=True) and 0.5 < probabilities[0] <= 1
        assert body["unit"] == [] and body["demand_type"] == []


def test_suggest_is_refused_for_a_citizen_and_without_credentials(
    api_as: Any, anon: Any, users: dict[str, Any]
) -> None:
    train()
    payload = {"title": "停水", "content": "家里没水"}
    for who in ("citizen", "handler"):
        response = api_as(users[who]).post("/api/v1/ai/suggest", payload)
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert anon.post("/api/v1/ai/suggest", payload).status_code == 401


def test_suggest_validates_its_input(api_as: Any, users: dict[str, Any]) -> None:
    client = api_as(users["operator"])
    response = client.post("/api/v1/ai/suggest", {"title": " ", "content": "\n\t"})
    assert response.status_code == 422 and response.json()["details"] == {"field": "content"}
    response = client.post("/api/v1/ai/suggest", {"title": "x" * 101, "content": "停水"})
    assert response.status_code == 422 and response.json()["code"] == "validation_failed"
    response = client.post("/api/v1/ai/suggest", {"content": "停水", "k": 0})
    assert response.status_code == 422
    response = client.post("/api/v1/ai/suggest", {"content": "停水"})  # no model yet: empty lists
    assert response.status_code == 200 and response.json() == {"category": [], "unit": [], "demand_type": []}


def test_models_list_and_detail_for_administrators(api_as: Any, users: dict[str, Any]) -> None:
    v1 = train().model
    train(data=english_labels())
    response = api_as(users["admin"]).get("/api/v1/ai/models")
    assert response.status_code == 200
    rows = response.json()
    assert [(r["name"], r["version"], r["is_active"]) for r in rows] == [("msg", 2, False), ("msg", 1, True)]
    assert rows[1]["task_label"] == "诉求分类" and rows[1]["macro_f1"] == v1.macro_f1
    assert rows[1]["artifact_sha256"] == v1.artifact_sha256 and "artifact" not in rows[1]
    detail = api_as(users["admin"]).get(f"/api/v1/ai/models/{v1.pk}").json()
    assert detail["metrics"]["cv"]["folds"] == 3 and detail["params"]["pipeline"] == v1.pipeline
    assert api_as(users["admin"]).get("/api/v1/ai/models", {"task": "unit"}).json() == []
    assert api_as(users["admin"]).get("/api/v1/ai/models", {"task": "nope"}).status_code == 422
    for who in ("operator", "citizen"):
        assert api_as(users[who]).get("/api/v1/ai/models").status_code == 403
        assert api_as(users[who]).get(f"/api/v1/ai/models/{v1.pk}").status_code == 403


def test_activate_rolls_back_audited_and_refusals_change_nothing(api_as: Any, users: dict[str, Any]) -> None:
    v1 = train().model
    v2 = train(data=english_labels()).model
    clients = {who: api_as(users[who]) for who in ("operator", "citizen", "admin")}  # tokens are audited too
    before = state()
    for who in ("operator", "citizen"):
        response = clients[who].post(f"/api/v1/ai/models/{v2.pk}/activate")
        assert response.status_code == 403
    assert clients["admin"].post("/api/v1/ai/models/999999/activate").status_code == 404
    assert state() == before
    client = clients["admin"]
    response = client.post(f"/api/v1/ai/models/{v2.pk}/activate")
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert (
        client.post("/api/v1/ai/suggest", {"content": "家里水龙头一滴水都没有"}).json()["category"][0][
            "label"
        ]
        == "water"
    )
    event = AuditEvent.objects.filter(action="ai.model_activate").latest("id")
    assert event.actor == users["admin"] and event.origin == "api"
    assert event.changes["active_model"] == ["msg v1", "msg v2"]
    response = client.post(f"/api/v1/ai/models/{v1.pk}/activate")  # roll back
    assert response.json()["version"] == 1 and response.json()["is_active"] is True
    assert list(TrainedModel.objects.filter(is_active=True).values_list("pk", flat=True)) == [v1.pk]
