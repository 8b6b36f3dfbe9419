"""List versioning: draft -> review -> published -> superseded / withdrawn; a published version never changes;
the change log and the diff between versions."""

from __future__ import annotations

import pytest

from shizhi.core.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import AuditEvent
from shizhi.onething import selectors as sel
from shizhi.onething import services
from shizhi.onething.diff import diff_versions
from shizhi.onething.models import ChangeAction, ItemVersion, VersionStatus
from shizhi.onething.tests.factories import build_one_world, counts, version_state

pytestmark = pytest.mark.django_db


def test_lifecycle_and_change_log() -> None:
    w = build_one_world()
    v1 = services.item_create(
        actor=w.office,
        code="T-1",
        subject="person",
        stage="birth",
        level="local",
        content=w.example_content(),
    )
    assert (v1.number, v1.status, v1.matters.count()) == (1, VersionStatus.DRAFT, 4)
    assert sel.published_items() == []  # a draft is not on the public list
    services.version_submit(actor=w.office, version=v1, note="请审核")
    services.version_publish(actor=w.office, version=v1)
    assert [v.number for v in sel.published_items()] == [1]

    v2 = services.version_draft(actor=w.office, item=v1.item, note="调整时限")
    assert (v2.number, v2.status, v2.matters.count()) == (2, VersionStatus.DRAFT, 4)
    services.version_update(actor=w.office, version=v2, content={"summary": "新简介"})
    services.version_submit(actor=w.office, version=v2)
    services.version_return(actor=w.office, version=v2, note="材料清单不全")
    services.version_submit(actor=w.office, version=v2)
    services.version_publish(actor=w.office, version=v2)

    v1.refresh_from_db()
    assert v1.status == VersionStatus.SUPERSEDED
    assert sel.published_item("T-1").number == 2
    log = list(
        v1.item.changes.order_by("created_at", "id").values_list("action", "version__number", "actor_label")
    )
    assert log == [
        (ChangeAction.CREATE, 1, "office"),
        (ChangeAction.SUBMIT, 1, "office"),
        (ChangeAction.PUBLISH, 1, "office"),
        (ChangeAction.DRAFT, 2, "office"),
        (ChangeAction.UPDATE, 2, "office"),
        (ChangeAction.SUBMIT, 2, "office"),
        (ChangeAction.RETURN, 2, "office"),
        (ChangeAction.SUBMIT, 2, "office"),
        (ChangeAction.WITHDRAW, 1, "office"),  # superseded
        (ChangeAction.PUBLISH, 2, "office"),
    ]
    update = v1.item.changes.get(action=ChangeAction.UPDATE)
    assert update.changes == {"summary": ["用于测试的示例", "新简介"]}
    assert AuditEvent.objects.filter(action="onething.version.publish").count() == 2

    services.version_withdraw(actor=w.office, version=v2, note="停止提供")
    assert sel.published_items() == []
    with pytest.raises(NotFound):
        sel.published_item("T-1")


def test_published_version_never_changes() -> None:
    w = build_one_world()
    v1 = w.publish_example()
    frozen = version_state(v1)
    before = counts()
    for attempt in (
        lambda: services.version_update(actor=w.office, version=v1, content={"name": "改名"}),
        lambda: services.version_update(actor=w.office, version=v1, content={"matters": []}),
        lambda: services.version_submit(actor=w.office, version=v1),
        lambda: services.version_publish(actor=w.office, version=v1),
        lambda: services.version_return(actor=w.office, version=v1, note="x"),
    ):
        with pytest.raises(InvalidState):
            attempt()
    assert counts() == before
    # A new version is drafted, changed and published: the old one keeps every value.
    v2 = services.version_draft(actor=w.office, item=v1.item)
    matters = w.example_content()["matters"]
    matters[0]["promised_days"] = 1
    services.version_update(actor=w.office, version=v2, content={"name": "新名称", "matters": matters})
    services.version_submit(actor=w.office, version=v2)
    services.version_publish(actor=w.office, version=v2)
    after = version_state(v1)
    assert after["matters"] == frozen["matters"]
    assert {k: v for k, v in after["fields"].items() if k != "status"} == {
        k: v for k, v in frozen["fields"].items() if k != "status"
    }
    assert after["fields"]["status"] == VersionStatus.SUPERSEDED


def test_diff_shows_what_changed() -> None:
    w = build_one_world()
    v1 = w.publish_example()
    v2 = services.version_draft(actor=w.office, item=v1.item)
    matters = w.example_content()["matters"]
    matters[0]["promised_days"] = 1  # A: 2 -> 1
    matters[1]["materials"] = [m for m in matters[1]["materials"] if m["key"] != "lease"]  # B drops the lease
    matters[1]["fields"][2]["required"] = True  # address becomes required
    del matters[3]  # D removed
    matters.append(
        {
            "code": "E",
            "name": "事项戊",
            "department_name": "乙局",
            "unit_id": w.units["b"].pk,
            "materials": [{"key": "deed", "name": "产权证明"}],
            "fields": [{"key": "area", "label": "面积", "type": "number"}],
            "depends_on": ["B"],
        }
    )
    services.version_update(
        actor=w.office, version=v2, content={"name": "示例一件事（修订）", "matters": matters}
    )
    d = diff_versions(v1, v2)
    assert d["from"] == 1 and d["to"] == 2
    assert d["fields"] == {"name": ["示例一件事", "示例一件事（修订）"]}
    assert d["matters"]["added"] == ["E"]
    assert d["matters"]["removed"] == ["D"]
    assert d["matters"]["changed"] == {
        "A": {"promised_days": [2, 1]},
        "B": {
            "materials": {"removed": ["lease"]},
            "fields": {"changed": {"address": {"required": [False, True]}}},
        },
    }
    assert d["materials"] == {"added": ["deed"], "removed": ["lease"]}
    assert d["form"] == {"added": ["area"], "changed": {"address": {"required": [False, True]}}}
    # the same diff was written to the change log of the update
    logged = v1.item.changes.get(action=ChangeAction.UPDATE).changes
    assert logged["matters"]["added"] == ["E"] and logged["matters"]["removed"] == ["D"]
    assert diff_versions(v1, v1)["matters"] == {"added": [], "removed": [], "changed": {}}


def test_refusals_change_nothing() -> None:
    w = build_one_world()
    v1 = w.publish_example()
    before = counts()
    with pytest.raises(PermissionDenied):
        services.version_draft(actor=w.citizen, item=v1.item)
    with pytest.raises(PermissionDenied):
        services.item_create(
            actor=w.handlers["a"], code="X", subject="person", stage="birth", level="local", content={}
        )
    with pytest.raises(Conflict):
        services.item_create(
            actor=w.office,
            code="T-1",
            subject="person",
            stage="birth",
            level="local",
            content=w.example_content(),
        )
    with pytest.raises(ValidationFailed) as exc:
        services.item_create(
            actor=w.office,
            code="T-2",
            subject="person",
            stage="market_entry",
            level="local",
            content=w.example_content(),
        )
    assert exc.value.details["field"] == "stage"
    with pytest.raises(ValidationFailed) as exc:
        services.item_create(
            actor=w.office,
            code="T-2",
            subject="person",
            stage="birth",
            level="national",
            content=w.example_content(),
        )
    assert exc.value.details["field"] == "batch"
    with pytest.raises(ValidationFailed) as exc:
        services.item_create(
            actor=w.office, code="T-2", subject="person", stage="birth", level="local", content={"name": "x"}
        )
    assert exc.value.details["field"] == "lead_department_name"
    v2 = services.version_draft(actor=w.office, item=v1.item)
    before = counts()
    with pytest.raises(Conflict):
        services.version_draft(actor=w.office, item=v1.item)  # one unpublished version at a time
    with pytest.raises(ValidationFailed):
        services.version_update(actor=w.office, version=v2, content={"matters": [{"code": "A"}]})
    with pytest.raises(ValidationFailed):
        services.version_update(actor=w.office, version=v2, content={"colour": "red"})
    with pytest.raises(ValidationFailed):
        services.version_return(actor=w.office, version=v2, note="")
    with pytest.raises(InvalidState):
        services.version_publish(actor=w.office, version=v2)  # not reviewed
    assert counts() == before
    services.version_update(actor=w.office, version=v2, content={"matters": []})
    with pytest.raises(ValidationFailed):
        services.version_submit(actor=w.office, version=v2)  # no matters
    assert ItemVersion.objects.get(pk=v2.pk).status == VersionStatus.DRAFT


def test_update_that_changes_nothing_writes_nothing() -> None:
    w = build_one_world()
    v1 = w.publish_example()
    v2 = services.version_draft(actor=w.office, item=v1.item)
    before = counts()
    services.version_update(
        actor=w.office, version=v2, content={"name": "示例一件事", "matters": w.example_content()["matters"]}
    )
    assert counts() == before
