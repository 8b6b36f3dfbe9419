"""The demo step (``shizhi seed demo``'s 一件事 part) on the small city: the list published with every matter
linked to a unit, roll-outs at different stages with alerts, a year of consistent applications, and applications
waiting in the demo handler's inbox."""

from __future__ import annotations

from typing import Any

from django.test import Client

from shizhi.core.models import User
from shizhi.demo.services import seed_demo
from shizhi.onething import promotion
from shizhi.onething.demo_data import seed_onething
from shizhi.onething.models import (
    Application,
    ApplicationStatus,
    ItemVersion,
    Matter,
    Rating,
    Rollout,
    SubTask,
    SubTaskStatus,
    VersionStatus,
)


def test_demo_on_the_small_city(db: Any) -> None:
    seed_demo(scale="small", seed=1)
    report = seed_onething(scale="small", seed=1)
    assert report.created, report.message
    text = report.summary()
    assert "已生成高效办成一件事演示数据" in text and "h-dept-cgj" in text

    published = ItemVersion.objects.filter(status=VersionStatus.PUBLISHED)
    assert published.count() == 13
    assert not Matter.objects.filter(version__status=VersionStatus.PUBLISHED, unit__isnull=True).exists()
    assert len(set(Rollout.objects.values_list("state", flat=True))) >= 3
    assert promotion.promotion_alerts(), "the demo shows alerts"

    apps = Application.objects.all()
    assert apps.count() > 200
    statuses = set(apps.values_list("status", flat=True))
    assert {ApplicationStatus.COMPLETED, ApplicationStatus.IN_PROGRESS} <= statuses
    # consistent: a completed application ended when its last department finished, on time by its promise
    for app in apps.filter(status=ApplicationStatus.COMPLETED).prefetch_related("subtasks")[:200]:
        finished = [st.finished_at for st in app.subtasks.all()]
        assert all(st.status == SubTaskStatus.DONE for st in app.subtasks.all())
        assert app.finished_at == max(f for f in finished if f is not None)
        assert app.on_time == (app.finished_at <= app.due_at)
    assert not Rating.objects.filter(score__lte=2, reasons=[]).exists()
    ratings = list(Rating.objects.values_list("score", flat=True))
    assert ratings.count(5) > len(ratings) / 2 and min(ratings) == 1

    # the demo handler of 市城市管理局 has work waiting, and sees it on the page
    handler = User.objects.get(username="h-dept-cgj")
    waiting = SubTask.objects.filter(unit__code="dept-cgj", status=SubTaskStatus.READY)
    assert waiting.exists()
    client = Client()
    client.force_login(handler)
    page = client.get("/onething/inbox/")
    assert page.status_code == 200
    assert waiting.first().application.number in page.content.decode()  # type: ignore[union-attr]

    again = seed_onething(scale="small", seed=1)
    assert not again.created and Application.objects.count() == apps.count()
