"""Who sees and does what: a department only its own unit's sub-tasks (404 otherwise), an applicant only their
own applications, the list office alone manages the list. Each refusal changes nothing."""

from __future__ import annotations

import pytest

from shizhi.core.errors import NotFound, PermissionDenied
from shizhi.core.models import Role
from shizhi.onething import selectors as sel
from shizhi.onething import services
from shizhi.onething.models import SubTaskStatus
from shizhi.onething.tests.factories import _user, apply, build_one_world, counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    w = build_one_world()
    w.publish_example()
    app = apply(w)
    return w, app


def test_department_sees_only_its_subtasks(setup) -> None:  # type: ignore[no-untyped-def]
    w, app = setup
    inbox_a = list(sel.subtask_inbox(actor=w.handlers["a"]))
    assert [(s.matter.code, s.unit.code) for s in inbox_a] == [("A", "a")]  # D is still waiting
    waiting = sel.subtask_inbox(actor=w.handlers["a"], statuses=[SubTaskStatus.WAITING])
    assert [s.matter.code for s in waiting] == ["D"]
    assert [s.matter.code for s in sel.subtask_inbox(actor=w.handlers["b"])] == ["B"]
    assert list(sel.subtask_inbox(actor=w.handlers["c"])) == []
    b = app.subtasks.get(matter__code="B")
    with pytest.raises(NotFound):
        sel.access_subtask(actor=w.handlers["a"], subtask_id=b.pk)
    assert sel.access_subtask(actor=w.handlers["b"], subtask_id=b.pk).pk == b.pk
    before = counts()
    for action in (
        lambda: services.subtask_accept(actor=w.handlers["a"], subtask=b),
        lambda: services.subtask_reject(actor=w.handlers["a"], subtask=b, reason="x"),
        lambda: services.promise_grant(actor=w.handlers["a"], subtask=b, material_key="lease"),
        lambda: services.subtask_accept(actor=w.citizen, subtask=b),
        lambda: services.subtask_accept(actor=w.supervisor, subtask=b),
    ):
        with pytest.raises(NotFound):
            action()
    assert counts() == before
    # a unit leader of the unit may act too
    leader = _user("leader_b", Role.UNIT_LEADER, w.units["b"])
    services.subtask_accept(actor=leader, subtask=b)


def test_inbox_needs_the_handle_permission(setup) -> None:  # type: ignore[no-untyped-def]
    w, _ = setup
    for actor in (w.citizen, w.office, w.supervisor, None):
        with pytest.raises(PermissionDenied):
            sel.subtask_inbox(actor=actor)


def test_applications_are_seen_by_their_applicant_and_supervisors(setup) -> None:  # type: ignore[no-untyped-def]
    w, app = setup
    assert sel.access_application(actor=w.citizen, application_id=app.pk).pk == app.pk
    assert sel.access_application(actor=w.supervisor, application_id=app.pk).pk == app.pk
    for actor in (w.other_citizen, w.handlers["a"], w.office):
        with pytest.raises(NotFound):
            sel.access_application(actor=actor, application_id=app.pk)
    assert list(sel.application_list(actor=w.other_citizen)) == []
    assert [a.pk for a in sel.application_list(actor=w.citizen)] == [app.pk]
    # an area-scoped supervisor sees applications in their district only
    other = _user("sup_other", Role.SUPERVISOR, area=w.district.parent)
    assert [a.pk for a in sel.application_list(actor=other)] == [app.pk]
    from shizhi.core import services as core_services
    from shizhi.core.models import Area

    core_services.areas_import(
        actor=None,
        rows=[
            core_services.AreaRow(
                code="331221000000",
                name="临江县",
                level=2,
                kind="县",
                urban_rural="rural",
                parent_code="331200000000",
            )
        ],
    )
    county = Area.objects.get(code="331221000000")
    narrow = _user("sup_county", Role.SUPERVISOR, area=county)
    assert list(sel.application_list(actor=narrow)) == []


def test_list_management_needs_the_list_office(setup) -> None:  # type: ignore[no-untyped-def]
    w, app = setup
    item = app.item
    for actor in (w.citizen, w.handlers["a"], w.supervisor):
        with pytest.raises(PermissionDenied):
            sel.managed_items(actor=actor)
        with pytest.raises(PermissionDenied):
            services.version_draft(actor=actor, item=item)
    assert len(sel.managed_items(actor=w.office)) == 1
    draft = services.version_draft(actor=w.office, item=item)
    # a draft is visible to the list office only
    assert sel.access_version(actor=w.office, code=item.code, number=draft.number).pk == draft.pk
    with pytest.raises(NotFound):
        sel.access_version(actor=w.citizen, code=item.code, number=draft.number)
    assert sel.access_version(actor=None, code=item.code, number=1).number == 1
