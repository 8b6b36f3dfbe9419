"""The classifiers' suggestions where the hotline works: the intake desk shows the likely category and demand
type while the operator types; the operator's final choices (and overrides) are recorded on saving, the
dispatcher's unit on dispatching, and an API client's on ``POST /api/v1/cases`` with ``ai_suggestions``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from shizhi.ai import runtime, similar
from shizhi.ai import services as ai_services
from shizhi.ai.datasets import LabelledTexts
from shizhi.ai.models import Suggestion
from shizhi.ai.tests.factories import messages
from shizhi.hotline.models import Case
from shizhi.hotline.tests.factories import IN_URBAN, HotlineWorld, build_hotline_world, new_case

pytestmark = pytest.mark.django_db

# The fixture's labels as this world's category codes, and as units that handle them.
CODES = {"供水": "CX0102", "路灯": "CX0101", "噪音": "HJ01", "教育": "ZC"}
UNITS = {"供水": "water", "路灯": "cgj", "噪音": "cgj", "教育": "jcq"}
WATER = {"title": "停水", "content": "家里水龙头一滴水都没有，自来水公司也没通知停水，已经一整天了"}


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    cache.clear()
    runtime.clear()
    similar.reset()
    yield
    runtime.clear()
    similar.reset()


@pytest.fixture
def hw() -> HotlineWorld:
    world = build_hotline_world()
    data = messages()
    for task, mapping in (("category", CODES), ("unit", UNITS)):
        labelled = LabelledTexts(data.texts, [mapping[label] for label in data.labels], f"{task}.csv")
        ai_services.model_train(
            actor=None, task=task, name=f"test-{task}", data=labelled, folds=0, activate=True
        )
    return world


def browser(hw: HotlineWorld, key: str) -> Client:
    client = Client()
    client.force_login(hw.users[key])
    return client


def test_the_desk_suggests_the_category_while_the_operator_types(hw: HotlineWorld) -> None:
    body = browser(hw, "operator").get("/hotline/intake/similar/", WATER).content.decode()
    assert "智能推荐" in body
    first = body.index('data-fill-field="category"')
    assert 'data-fill-value="CX0102"' in body[first : first + 120]  # 供水 first
    assert "临江市自来水有限公司" in body  # the unit model's first suggestion, by name
    # No model for the demand type: no such line. A citizen never sees the panel's suggestions.
    assert 'data-fill-field="demand_type"' not in body


def test_saving_records_the_choice_and_the_override(hw: HotlineWorld) -> None:
    form = {
        "token": "tok-ai-suggest-0001",
        "channel": "phone",
        "demand_type": "complaint",
        "urgency": "normal",
        "category": "CX0101",  # the operator chose 路灯 over the suggested 供水
        "citizen_name": "王五",
        "citizen_phone": "13600002222",
        "address": "幸福路12号",
        "lng": str(IN_URBAN[0]),
        "lat": str(IN_URBAN[1]),
        **WATER,
    }
    response = browser(hw, "operator").post("/hotline/intake/", form)
    assert response.status_code == 302
    case = Case.objects.get(citizen_phone="13600002222")
    row = Suggestion.objects.get(case=case, task="category")
    assert (row.top_label, row.chosen, row.overridden) == ("CX0102", "CX0101", True)
    assert row.suggestions[0][0] == "CX0102" and 0 < row.suggestions[0][1] <= 1
    assert not Suggestion.objects.filter(case=case, task="demand_type").exists()  # no model, nothing shown


def test_dispatching_records_the_unit_choice(hw: HotlineWorld) -> None:
    case = new_case(hw, category="CX0102", **WATER)
    response = browser(hw, "dispatcher").post(f"/hotline/cases/{case.pk}/do/dispatch/", {"unit": "water"})
    assert response.status_code == 302, response.content[:300]
    row = Suggestion.objects.get(case=case, task="unit")
    assert (row.top_label, row.chosen, row.overridden) == ("water", "water", False)


def test_the_api_records_what_its_client_showed(hw: HotlineWorld, api_as: Any) -> None:
    client = api_as(hw.users["operator"])
    shown = ai_services.suggest(f"{WATER['title']} {WATER['content']}", tasks=["category"])["category"]
    body = {
        "demand_type": "complaint",
        "category": "CX0102",
        "citizen_phone": "13600003333",
        "ai_suggestions": {"category": [[label, p] for label, p in shown]},
        **WATER,
    }
    response = client.post("/api/v1/cases", body)
    assert response.status_code == 201, response.content[:300]
    row = Suggestion.objects.get(case_id=response.json()["id"], task="category")
    assert (row.chosen, row.overridden) == ("CX0102", False)


@pytest.mark.parametrize(
    "bad",
    [
        {"category": [["CX0102", 1.5]]},  # not a probability
        {"category": [["", 0.5]]},  # no label
        {"unit": [["water", 0.5]]},  # units are recorded at dispatch, not at intake
        {"category": "CX0102"},
    ],
)
def test_bad_suggestions_are_refused_and_nothing_is_stored(hw: HotlineWorld, api_as: Any, bad: Any) -> None:
    client = api_as(hw.users["operator"])
    before = (Case.objects.count(), Suggestion.objects.count())
    body = {"demand_type": "complaint", "category": "CX0102", "citizen_phone": "13600004444", **WATER}
    response = client.post("/api/v1/cases", {**body, "ai_suggestions": bad})
    assert response.status_code == 422 and json.loads(response.content)["code"] == "validation_failed"
    assert (Case.objects.count(), Suggestion.objects.count()) == before
