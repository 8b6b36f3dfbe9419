"""Learning from the city's own cases (从工单学习): the labels are the categories, lead units and demand types
the cases carry — and where the operator overrode a suggestion, the label they chose. An override changes what
the next retraining learns; override rates per task are counted."""

from __future__ import annotations

from typing import Any

import pytest

from shizhi.ai import selectors as sel
from shizhi.ai import services
from shizhi.ai.models import Suggestion
from shizhi.ai.tests.factories import messages
from shizhi.core.errors import PermissionDenied, ValidationFailed
from shizhi.core.models import AuditEvent
from shizhi.hotline import services as hotline
from shizhi.hotline.models import Case
from shizhi.hotline.tests.factories import HotlineWorld, build_hotline_world, new_case

pytestmark = pytest.mark.django_db

# Where the fixture's messages were recorded: water complaints filed under 政策咨询 (ZC) by mistake.
RECORDED_AS = {"供水": "ZC", "路灯": "CX0101", "噪音": "HJ01", "教育": "ZC"}
WATER = "家里水龙头一滴水都没有，自来水公司也没通知停水"
PER_LABEL = 8


@pytest.fixture
def hw() -> HotlineWorld:
    return build_hotline_world()


def record_cases(hw: HotlineWorld) -> dict[str, list[Case]]:
    """PER_LABEL cases of each fixture label, recorded under RECORDED_AS, demand type by label."""
    data = messages()
    made: dict[str, list[Case]] = {label: [] for label in RECORDED_AS}
    for text, label in zip(data.texts, data.labels, strict=True):
        if len(made[label]) == PER_LABEL:
            continue
        demand = "inquiry" if label == "教育" else "complaint"
        made[label].append(
            new_case(hw, category=RECORDED_AS[label], title=text[:20], content=text, demand_type=demand)
        )
    return made


def test_training_data_from_cases_per_task_and_level(hw: HotlineWorld) -> None:
    record_cases(hw)
    leaf = sel.cases_training_data(task="category")
    assert leaf.counts() == {"ZC": 16, "CX0101": 8, "HJ01": 8}
    top = sel.cases_training_data(task="category", level=1)
    assert top.counts() == {"ZC": 16, "CX": 8, "HJ": 8}
    assert sel.cases_training_data(task="demand_type").counts() == {"complaint": 24, "inquiry": 8}
    with pytest.raises(ValidationFailed, match="没有可用于训练的工单") as info:
        sel.cases_training_data(task="unit")  # nothing dispatched yet: no lead unit, no label
    assert info.value.details["skipped"] == {"no_text": 0, "no_label": 32}
    with pytest.raises(ValidationFailed, match="层级"):
        sel.cases_training_data(task="unit", level=1)


def test_lead_unit_labels_come_from_the_current_lead_assignment(hw: HotlineWorld) -> None:
    made = record_cases(hw)
    dispatcher = hw.users["dispatcher"]
    for case in made["供水"][:4]:
        hotline.case_dispatch(actor=dispatcher, case=case, unit=hw.units["water"])
    for case in made["路灯"][:4]:
        hotline.case_dispatch(
            actor=dispatcher, case=case, unit=hw.units["cgj"], assist_units=[hw.units["water"]]
        )
    data = sel.cases_training_data(task="unit")
    assert data.counts() == {"water": 4, "cgj": 4}  # the assisting unit is not a label
    assert data.skipped["no_label"] == 24


def test_an_override_changes_what_a_retraining_learns(hw: HotlineWorld) -> None:
    made = record_cases(hw)
    first = services.model_train_from_cases(actor=None, task="category", folds=3).model
    assert (first.name, first.rows, first.source) == ("cases-category", 32, "cases:category")
    shown = services.suggest(WATER)["category"]
    assert shown[0][0] == "ZC"  # learned from the mis-filed cases
    operator = hw.users["operator"]
    for case in made["供水"]:
        suggestions = services.suggest(case.content)["category"]
        services.record_choice(
            case=case, task="category", suggestions=suggestions, chosen="CX0102", actor=operator
        )
    assert Suggestion.objects.filter(task="category", overridden=True).count() == PER_LABEL
    assert sel.cases_training_data(task="category").counts() == {"ZC": 8, "CX0102": 8, "CX0101": 8, "HJ01": 8}
    second = services.model_train_from_cases(actor=None, task="category", folds=3, activate=True).model
    assert second.version == 2 and "CX0102" in second.labels
    assert services.suggest(WATER)["category"][0][0] == "CX0102"
    assert first.data_fingerprint != second.data_fingerprint


def test_override_rates_per_task_and_model(hw: HotlineWorld) -> None:
    made = record_cases(hw)
    model = services.model_train_from_cases(actor=None, task="category", folds=3).model
    operator = hw.users["operator"]
    cases = made["路灯"][:3] + made["供水"][:1]
    for case in cases:
        suggestions = services.suggest(case.content)["category"]
        chosen = "CX0102" if case in made["供水"] else suggestions[0][0]
        services.record_choice(
            case=case, task="category", suggestions=suggestions, chosen=chosen, actor=operator
        )
    services.record_choice(
        case=cases[0], task="unit", suggestions=[], chosen="cgj", actor=operator
    )  # no model
    rates = sel.override_rates()
    assert rates["category"] == {"suggested": 4, "overridden": 1, "rate": 0.25}
    assert rates["unit"] == {"suggested": 0, "overridden": 0, "rate": None}
    assert sel.override_rates(task="category", model=model) == {"category": rates["category"]}
    row = Suggestion.objects.get(case=cases[3], task="category")
    assert (row.top_label, row.chosen, row.overridden, row.model_id) == ("ZC", "CX0102", True, model.pk)
    assert row.actor == operator and row.suggestions[0][0] == "ZC"
    assert AuditEvent.objects.filter(action="ai.choice_record").count() == 5


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"task": "weather"}, ValidationFailed),
        ({"chosen": "  "}, ValidationFailed),
        ({"suggestions": [("ZC",)]}, ValidationFailed),
        ({"suggestions": [("ZC", 1.5)]}, ValidationFailed),
        ({"suggestions": [("", 0.5)]}, ValidationFailed),
        ({"actor": "citizen"}, PermissionDenied),
    ],
)
def test_record_choice_refuses_bad_input_and_stores_nothing(
    hw: HotlineWorld, change: dict[str, Any], error: type[Exception]
) -> None:
    case = new_case(hw)
    args: dict[str, Any] = {
        "case": case,
        "task": "category",
        "suggestions": [("CX0101", 0.8), ("ZC", 0.1)],
        "chosen": "CX0101",
        "actor": hw.users["operator"],
        **change,
    }
    if args["actor"] == "citizen":
        args["actor"] = hw.users["citizen"]
    before = (Suggestion.objects.count(), AuditEvent.objects.count())
    with pytest.raises(error):
        services.record_choice(**args)
    assert (Suggestion.objects.count(), AuditEvent.objects.count()) == before


def test_record_choice_accepts_the_api_shape_and_keeps_a_matching_choice(hw: HotlineWorld) -> None:
    case = new_case(hw)
    row = services.record_choice(
        case=case,
        task="demand_type",
        suggestions=[{"label": "complaint", "probability": 0.7}, {"label": "help", "probability": 0.2}],
        chosen="complaint",
        actor=None,
    )
    assert (row.top_label, row.overridden, row.suggestions) == (
        "complaint",
        False,
        [["complaint", 0.7], ["help", 0.2]],
    )


def test_a_choice_recorded_as_a_category_name_trains_as_its_code(hw: HotlineWorld) -> None:
    made = record_cases(hw)
    case = made["供水"][0]
    services.record_choice(
        case=case, task="category", suggestions=[("政策咨询", 0.6)], chosen="供水", actor=hw.users["operator"]
    )
    assert sel.cases_training_data(task="category").counts()["CX0102"] == 1
    assert sel.cases_training_data(task="category", level=1).counts() == {"ZC": 15, "CX": 9, "HJ": 8}
