"""Applications: fan-out into sub-tasks in dependency order (the rest in parallel), working-day deadlines,
容缺 promises and their deadlines, rejection, withdrawal and the rating (好差评)."""

from __future__ import annotations

import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from shizhi.core.errors import Conflict, InvalidState, NotFound, ValidationFailed
from shizhi.onething import selectors as sel
from shizhi.onething import services
from shizhi.onething.models import (
    Application,
    ApplicationStatus,
    MaterialSource,
    Promise,
    Rating,
    SubTask,
    SubTaskStatus,
)
from shizhi.onething.tests.factories import (
    PNG,
    apply,
    build_one_world,
    counts,
    good_uploads,
    upload,
)

pytestmark = pytest.mark.django_db
S = SubTaskStatus
A = ApplicationStatus
TZ = ZoneInfo("Asia/Shanghai")


def end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=TZ)


def statuses(app: Application) -> dict[str, str]:
    return dict(app.subtasks.values_list("matter__code", "status"))


def sub(app: Application, code: str) -> SubTask:
    return app.subtasks.select_related("matter", "unit", "application").get(matter__code=code)


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    w = build_one_world()
    w.publish_example()
    return w


def test_fan_out_respects_order_and_runs_the_rest_in_parallel(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    friday = dt.datetime(2025, 9, 26, 10, 0, tzinfo=TZ)  # before the 2025 National Day holiday
    with mock.patch("django.utils.timezone.now", return_value=friday):
        app = apply(w)
    app.refresh_from_db()
    assert app.number == "YJS2025092600001"
    assert app.status == A.SUBMITTED
    # 7 working days along the critical path B -> C: 9/28 (make-up Sunday), 9/29, 9/30, 10/9, 10/10, 10/11, 10/13
    assert app.due_at == end_of(dt.date(2025, 10, 13))
    assert statuses(app) == {"A": S.READY, "B": S.READY, "C": S.WAITING, "D": S.WAITING}
    assert sub(app, "A").due_at == end_of(dt.date(2025, 9, 29))  # 2 working days
    assert sub(app, "B").due_at == end_of(dt.date(2025, 9, 30))  # 3 working days
    assert sub(app, "C").due_at is None and sub(app, "D").due_at is None
    assert dict(app.materials.values_list("material_key", "source")) == {
        "id_card": MaterialSource.SHARED,
        "hukou_book": MaterialSource.SHARED,
        "photo": MaterialSource.UPLOAD,
        "lease": MaterialSource.UPLOAD,
        "cert_x": MaterialSource.UPLOAD,
    }
    assert app.fully_online is False  # C cannot be handled online

    with pytest.raises(InvalidState) as exc:
        services.subtask_accept(actor=w.handlers["c"], subtask=sub(app, "C"))
    assert exc.value.message == "前置事项尚未办结，暂不能受理"

    services.subtask_accept(actor=w.handlers["a"], subtask=sub(app, "A"))
    app.refresh_from_db()
    assert app.status == A.IN_PROGRESS
    monday = dt.datetime(2025, 9, 29, 9, 0, tzinfo=TZ)
    with mock.patch("django.utils.timezone.now", return_value=monday):
        services.subtask_complete(actor=w.handlers["a"], subtask=sub(app, "A"), result="已办结甲")
    # D needed only A: ready now, due 1 working day later; C still waits for B
    assert statuses(app) == {"A": S.DONE, "B": S.READY, "C": S.WAITING, "D": S.READY}
    assert sub(app, "D").ready_at == monday
    assert sub(app, "D").due_at == end_of(dt.date(2025, 9, 30))

    services.subtask_accept(actor=w.handlers["b"], subtask=sub(app, "B"))
    services.subtask_complete(actor=w.handlers["b"], subtask=sub(app, "B"), result="已办结乙")
    assert statuses(app) == {"A": S.DONE, "B": S.DONE, "C": S.READY, "D": S.READY}
    for code, handler in (("C", "c"), ("D", "a")):
        services.subtask_accept(actor=w.handlers[handler], subtask=sub(app, code))
        services.subtask_complete(actor=w.handlers[handler], subtask=sub(app, code), result=f"已办结{code}")
    app.refresh_from_db()
    assert app.status == A.COMPLETED
    assert app.finished_at is not None and app.on_time is False  # finished long after 2025-10-13
    assert app.result == "甲局：已办结甲；乙局：已办结乙；丙局：已办结C；甲局：已办结D"
    assert list(app.events.filter(action="status").values_list("data", flat=True)) == [
        {"status": [A.SUBMITTED, A.IN_PROGRESS]},
        {"status": [A.IN_PROGRESS, A.COMPLETED]},
    ]


def test_promise_at_filing_lets_work_start_and_blocks_completion(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    uploads = good_uploads()
    del uploads["photo"]
    friday = dt.datetime(2025, 9, 26, 10, 0, tzinfo=TZ)
    with mock.patch("django.utils.timezone.now", return_value=friday):
        app = apply(w, uploads=uploads, promised=["photo"])
    app.refresh_from_db()
    assert app.status == A.AWAITING_MATERIAL
    # the photo is needed by A and C: one promise on each, due in 5 working days (10/10)
    promises = list(Promise.objects.filter(subtask__application=app).order_by("subtask__sort"))
    assert [(p.subtask.matter.code, p.material_key, p.due_at) for p in promises] == [
        ("A", "photo", end_of(dt.date(2025, 10, 10))),
        ("C", "photo", end_of(dt.date(2025, 10, 10))),
    ]
    services.subtask_accept(actor=w.handlers["a"], subtask=sub(app, "A"))  # 容缺受理: work goes on
    app.refresh_from_db()
    assert app.status == A.AWAITING_MATERIAL
    before = counts()
    with (
        mock.patch("django.utils.timezone.now", return_value=dt.datetime(2025, 9, 29, 9, tzinfo=TZ)),
        pytest.raises(InvalidState) as exc,
    ):
        services.subtask_complete(actor=w.handlers["a"], subtask=sub(app, "A"), result="好")
    assert exc.value.details == {"promises": ["photo"], "overdue": []}
    assert counts() == before and sub(app, "A").status == S.IN_PROGRESS

    services.material_supply(
        actor=w.citizen, application=app, material_key="photo", upload=upload("p.png", PNG)
    )
    app.refresh_from_db()
    assert app.status == A.IN_PROGRESS
    assert Promise.objects.filter(subtask__application=app, supplied_at__isnull=True).count() == 0
    assert app.materials.get(material_key="photo").source == MaterialSource.UPLOAD
    services.subtask_complete(actor=w.handlers["a"], subtask=sub(app, "A"), result="好")
    with pytest.raises(Conflict):  # nothing left to supply
        services.material_supply(
            actor=w.citizen, application=app, material_key="photo", upload=upload("p.png", PNG)
        )


def test_department_promise_deadline_and_overdue(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    app = apply(w)
    b = sub(app, "B")
    services.subtask_accept(actor=w.handlers["b"], subtask=b)
    thursday = dt.datetime(2025, 9, 25, 16, 0, tzinfo=TZ)
    with mock.patch("django.utils.timezone.now", return_value=thursday):
        p = services.promise_grant(
            actor=w.handlers["b"], subtask=b, material_key="lease", days=3, note="复印件不清晰"
        )
    # 3 working days from Thursday 9/25: 9/26, 9/28 (make-up Sunday), 9/29
    assert p.due_at == end_of(dt.date(2025, 9, 29))
    assert p.granted_by == w.handlers["b"]
    app.refresh_from_db()
    assert app.status == A.AWAITING_MATERIAL
    assert p.is_overdue()  # today is long after 2025-09-29
    assert [x.pk for x in sel.overdue_promises(actor=w.handlers["b"])] == [p.pk]
    assert list(sel.overdue_promises(actor=w.handlers["a"])) == []
    before = counts()
    with pytest.raises(InvalidState) as exc:
        services.subtask_complete(actor=w.handlers["b"], subtask=sub(app, "B"), result="好")
    assert exc.value.details == {"promises": ["lease"], "overdue": ["租赁合同"]}
    assert "已超过补交期限" in exc.value.message
    with pytest.raises(Conflict):
        services.promise_grant(actor=w.handlers["b"], subtask=sub(app, "B"), material_key="lease")
    with pytest.raises(ValidationFailed):  # shared data is fetched, never asked for
        services.promise_grant(actor=w.handlers["b"], subtask=sub(app, "B"), material_key="hukou_book")
    with pytest.raises(ValidationFailed):
        services.promise_grant(actor=w.handlers["b"], subtask=sub(app, "B"), material_key="photo")  # not B's
    with pytest.raises(ValidationFailed):
        services.promise_grant(actor=w.handlers["b"], subtask=sub(app, "B"), material_key="lease", days=31)
    assert counts() == before


def test_reject_ends_the_application_and_cancels_the_rest(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    app = apply(w)
    services.subtask_accept(actor=w.handlers["a"], subtask=sub(app, "A"))
    services.subtask_reject(actor=w.handlers["b"], subtask=sub(app, "B"), reason="租赁合同已过期")
    app.refresh_from_db()
    assert app.status == A.REJECTED
    assert app.result == "乙局不予办理：租赁合同已过期"
    assert statuses(app) == {"A": S.CANCELLED, "B": S.REJECTED, "C": S.CANCELLED, "D": S.CANCELLED}
    with pytest.raises(InvalidState):
        services.subtask_complete(actor=w.handlers["a"], subtask=sub(app, "A"), result="x")
    rating = services.application_rate(actor=w.citizen, application=app, score=2, reasons=["结果不满意"])
    assert rating.score == 2


def test_withdraw(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    app = apply(w)
    with pytest.raises(NotFound):
        services.application_withdraw(actor=w.other_citizen, application=app)
    services.application_withdraw(actor=w.citizen, application=app, reason="不办了")
    app.refresh_from_db()
    assert app.status == A.WITHDRAWN and app.withdrawn_reason == "不办了"
    assert set(statuses(app).values()) == {S.CANCELLED}
    with pytest.raises(InvalidState):
        services.subtask_accept(actor=w.handlers["a"], subtask=sub(app, "A"))
    with pytest.raises(InvalidState):  # a withdrawn application is not rated
        services.application_rate(actor=w.citizen, application=app, score=5)


def _complete_all(w, app) -> None:  # type: ignore[no-untyped-def]
    for code, handler in (("A", "a"), ("B", "b"), ("C", "c"), ("D", "a")):
        services.subtask_accept(actor=w.handlers[handler], subtask=sub(app, code))
        services.subtask_complete(actor=w.handlers[handler], subtask=sub(app, code), result="办结")


def test_rating_once_after_the_end_with_reasons(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    app = apply(w)
    before = counts()
    with pytest.raises(InvalidState) as exc:
        services.application_rate(actor=w.citizen, application=app, score=5)
    assert exc.value.message == "申请办结后才能评价"
    _complete_all(w, app)
    before = counts()
    for kwargs, error in (
        ({"score": 6}, ValidationFailed),
        ({"score": 0}, ValidationFailed),
        ({"score": 1, "reasons": []}, ValidationFailed),  # a poor rating says why
        ({"score": 2, "reasons": ["一次办成"]}, ValidationFailed),
        ({"score": 5, "reasons": ["很好很好"]}, ValidationFailed),
    ):
        with pytest.raises(error):
            services.application_rate(actor=w.citizen, application=app, **kwargs)
    with pytest.raises(NotFound):  # someone else's application
        services.application_rate(actor=w.other_citizen, application=app, score=5)
    assert counts() == before
    r = services.application_rate(
        actor=w.citizen,
        application=app,
        score=5,
        reasons=["一次办成", "一次办成", "材料精简"],
        comment="很方便",
    )
    assert (r.score, r.reasons, r.comment, r.rated_by) == (5, ["一次办成", "材料精简"], "很方便", w.citizen)
    before = counts()
    with pytest.raises(Conflict):
        services.application_rate(actor=w.citizen, application=app, score=1, reasons=["办理时间长"])
    assert counts() == before
    assert Rating.objects.get(application=app).score == 5


def test_bad_input_is_refused_and_nothing_is_stored(world, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = world
    settings.MEDIA_ROOT = str(tmp_path)
    before = counts()
    cases = [
        ({"item_code": "NO-SUCH"}, NotFound, None),
        ({"form": {"name": "张三", "phone": "13800001111", "kind": "一类"}}, ValidationFailed, "form.id"),
        (
            {"uploads": {k: v for k, v in good_uploads().items() if k != "lease"}},
            ValidationFailed,
            "materials.lease",
        ),
        ({"uploads": {**good_uploads(), "lease": upload("lease.exe")}}, ValidationFailed, "materials.lease"),
        (
            {"uploads": {**good_uploads(), "lease": upload("lease.txt", b"hello")}},
            ValidationFailed,
            "materials.lease",
        ),
        (
            {"uploads": {**good_uploads(), "lease": upload("lease.pdf", PNG)}},
            ValidationFailed,
            "materials.lease",
        ),
        (
            {"uploads": {**good_uploads(), "lease": upload("lease.pdf", b"")}},
            ValidationFailed,
            "materials.lease",
        ),
        (
            {"uploads": {**good_uploads(), "lease": upload("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024))}},
            ValidationFailed,
            "materials.lease",
        ),
        ({"uploads": {**good_uploads(), "other": upload("o.pdf")}}, ValidationFailed, "materials.other"),
        (
            {"uploads": {k: v for k, v in good_uploads().items() if k != "lease"}, "promised": ["lease"]},
            ValidationFailed,
            "materials.lease",
        ),  # the lease cannot be promised
        ({"district_id": 999999}, ValidationFailed, "district_id"),
        ({"channel": "fax"}, ValidationFailed, "channel"),
        ({"applicant_phone": "12345"}, ValidationFailed, "applicant_phone"),
    ]
    for overrides, error, field in cases:
        with pytest.raises(error) as exc:
            apply(w, **overrides)
        if field is not None:
            assert exc.value.details["field"] == field, overrides
    assert counts() == before
    assert list(tmp_path.rglob("*.*")) == []  # no file was written either
    big = exc  # the last message is about the phone
    assert big.value.message == "联系电话应为11位手机号或带区号的固定电话"


def test_messages_of_file_refusals(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    with pytest.raises(ValidationFailed) as exc:
        apply(w, uploads={**good_uploads(), "lease": upload("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024))})
    assert exc.value.message == "“big.pdf”超过10MB"
    with pytest.raises(ValidationFailed) as exc:
        apply(w, uploads={**good_uploads(), "lease": upload("lease.exe")})
    assert exc.value.message == "“lease.exe”不是PDF、JPG或PNG文件"
    with pytest.raises(ValidationFailed) as exc:
        apply(w, uploads={**good_uploads(), "lease": upload("lease.pdf", PNG)})
    assert exc.value.message == "“lease.pdf”的内容与文件类型不符"
    with pytest.raises(ValidationFailed) as exc:
        apply(w, uploads={})
    assert exc.value.message == "请上传证件照片、租赁合同、资格证明"


def test_matter_without_unit_cannot_be_applied_for(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    content = w.example_content()
    content["matters"][3]["unit_id"] = None
    v = services.item_create(
        actor=w.office, code="T-2", subject="person", stage="birth", level="local", content=content
    )
    services.version_submit(actor=w.office, version=v)
    services.version_publish(actor=w.office, version=v)
    before = counts()
    with pytest.raises(InvalidState) as exc:
        apply(w, item_code="T-2")
    assert exc.value.details == {"matters": ["事项丁"]}
    assert counts() == before


def test_enterprise_application_needs_the_business(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    v = services.item_create(
        actor=w.office,
        code="E-1",
        subject="enterprise",
        stage="market_entry",
        level="local",
        content=w.example_content(),
    )
    services.version_submit(actor=w.office, version=v)
    services.version_publish(actor=w.office, version=v)
    with pytest.raises(ValidationFailed) as exc:
        apply(w, item_code="E-1")
    assert exc.value.details["field"] == "org_name"
    with pytest.raises(ValidationFailed) as exc:
        apply(w, item_code="E-1", org_name="某某餐饮有限公司", org_code="123")
    assert exc.value.details["field"] == "org_code"
    app = apply(w, item_code="E-1", org_name="某某餐饮有限公司", org_code="91331200MA2ABCDE1X")
    assert (app.subject, app.org_code) == ("enterprise", "91331200MA2ABCDE1X")


def test_applications_file_against_the_published_version(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    app = apply(w)
    v1 = app.version
    v2 = services.version_draft(actor=w.office, item=v1.item)
    services.version_update(actor=w.office, version=v2, content={"name": "新版"})
    services.version_submit(actor=w.office, version=v2)
    services.version_publish(actor=w.office, version=v2)
    app.refresh_from_db()
    assert app.version_id == v1.pk  # the filed application keeps its version
    assert apply(w).version_id == v2.pk
    assert timezone.now() > app.submitted_at
