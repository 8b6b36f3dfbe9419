"""Before/after metrics on the worked example (docs/onething.md): exact numbers, worked out by hand."""

from __future__ import annotations

import pytest

from shizhi.core.errors import ValidationFailed
from shizhi.onething.content import material_set, merged_form, parse_matters, validate_form
from shizhi.onething.metrics import compute, critical_path, start_offsets
from shizhi.onething.tests.factories import ID_NUMBER, example_matters


class _Unit:
    def __init__(self, pk: int) -> None:
        self.pk = pk


UNITS = {"a": _Unit(1), "b": _Unit(2), "c": _Unit(3)}


def specs():  # type: ignore[no-untyped-def]
    return parse_matters(example_matters(UNITS))  # type: ignore[arg-type]


def test_worked_example_exact_numbers() -> None:
    m = compute(specs()).as_dict()
    assert m["matters"] == 4
    # steps: 3+4+2+2 = 11 before; the longest single matter (B, 4) after
    assert m["steps"] == {"before": 11, "after": 4, "saved": 7, "percent": 63.6}
    # materials: 2+3+3+1 = 9 before; one set = id_card, photo, hukou_book, lease, cert_x = 5, minus the
    # 2 shared ones (id_card, hukou_book) = 3 to submit
    assert m["materials"] == {"before": 9, "after": 3, "saved": 6, "percent": 66.7}
    assert m["shared_materials"] == 2
    # promised days: 2+3+4+1 = 10 in a row; critical path B(3) -> C(4) = 7
    assert m["time_days"] == {"before": 10, "after": 7, "saved": 3, "percent": 30.0}
    # statutory days: 5+10+5+3 = 23; critical path B(10) -> C(5) = 15
    assert m["statutory_days"] == {"before": 23, "after": 15, "saved": 8, "percent": 34.8}
    # trips: 2+1+1+1 = 5; C cannot be done online, so one visit remains
    assert m["trips"] == {"before": 5, "after": 1, "saved": 4, "percent": 80.0}
    # forms: 4 matters with fields -> 1 merged form; fields 3+3+3+1 = 10 -> name, id, phone, address, kind = 5
    assert m["forms"] == {"before": 4, "after": 1, "saved": 3, "percent": 75.0}
    assert m["fields"] == {"before": 10, "after": 5, "saved": 5, "percent": 50.0}
    assert m["fully_online"] is False


def test_critical_path_and_start_offsets() -> None:
    s = specs()
    assert critical_path(s) == (7, ["B", "C"])
    assert critical_path(s, statutory=True) == (15, ["B", "C"])
    # A and B start at once; D after A (2 days); C after the later of A and B (3 days)
    assert start_offsets(s) == {"A": 0, "B": 0, "C": 3, "D": 2}


def test_all_online_means_no_trip_and_empty_is_zero() -> None:
    raw = example_matters(UNITS)  # type: ignore[arg-type]
    raw[2]["online"] = True
    m = compute(parse_matters(raw))
    assert (m.trips.before, m.trips.after, m.trips.percent) == (5, 0, 100.0)
    assert m.fully_online is True
    empty = compute([])
    assert empty.steps.as_dict() == {"before": 0, "after": 0, "saved": 0, "percent": 0.0}
    assert empty.trips.after == 0 and empty.forms.after == 0


def test_merged_form_and_material_set() -> None:
    s = specs()
    form = merged_form(s)
    assert [(f.key, f.required) for f in form] == [
        ("name", True),
        ("id", True),
        ("phone", True),
        ("address", False),
        ("kind", True),
    ]
    entries = {e.spec.key: e for e in material_set(s)}
    assert list(entries) == ["id_card", "photo", "hukou_book", "lease", "cert_x"]
    assert entries["id_card"].matter_codes == ("A", "B", "C")
    assert [k for k, e in entries.items() if not e.to_submit] == ["id_card", "hukou_book"]
    assert entries["photo"].spec.promisable is True
    assert entries["lease"].spec.promisable is False


def test_form_validation_names_the_field() -> None:
    form = merged_form(specs())
    ok = validate_form(
        form, {"name": " 张三 ", "id": ID_NUMBER.lower(), "phone": "13800001111", "kind": "一类"}
    )
    assert ok == {"name": "张三", "id": ID_NUMBER, "phone": "13800001111", "kind": "一类"}
    with pytest.raises(ValidationFailed) as exc:
        validate_form(form, {"name": "张三", "phone": "13800001111"})
    assert exc.value.details == {"field": "form.id", "missing": ["id", "kind"]}
    with pytest.raises(ValidationFailed) as exc:
        validate_form(
            form, {"name": "张三", "id": "110105194912310021", "phone": "13800001111", "kind": "一类"}
        )
    assert exc.value.details["field"] == "form.id"
    with pytest.raises(ValidationFailed) as exc:
        validate_form(form, {"name": "张三", "id": ID_NUMBER, "phone": "13800001111", "kind": "三类"})
    assert exc.value.details["field"] == "form.kind"
    with pytest.raises(ValidationFailed) as exc:
        validate_form(form, {"name": "张三", "id": ID_NUMBER, "phone": "1380000", "kind": "一类", "x": 1})
    assert exc.value.details["unknown"] == ["x"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r[2].update(depends_on=["Z"]), "matters.2.depends_on"),
        (lambda r: r[0].update(depends_on=["C"]), "matters"),  # A -> C -> A: a cycle
        (lambda r: r[1].update(code="A"), "matters"),
        (lambda r: r[0]["fields"].append({"key": "name", "label": "x", "type": "text"}), "matters.0.fields"),
        (
            lambda r: r[3]["fields"].append({"key": "phone", "label": "电话", "type": "text"}),
            "matters.3.fields",
        ),
        (lambda r: r[0].update(promised_days=9), "matters.0.promised_days"),
        (lambda r: r[0]["materials"].append({"key": "Bad Key", "name": "x"}), "matters.0.materials.2.key"),
        (lambda r: r[1]["materials"].append({"key": "photo", "name": "另一张照片"}), "matters.1.materials"),
    ],
)
def test_bad_matters_are_refused_with_the_field(change, field) -> None:  # type: ignore[no-untyped-def]
    raw = example_matters(UNITS)  # type: ignore[arg-type]
    change(raw)
    with pytest.raises(ValidationFailed) as exc:
        parse_matters(raw)
    assert exc.value.details["field"] == field
