"""The hotline's demo year at small scale: ``shizhi seed hotline``, what it holds, that the three rates come
out plausible, that the same seed gives the same cases, and that the seasons show."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

from shizhi.core.models import AuditEvent
from shizhi.demo.services import seed_demo
from shizhi.hotline import importers, messages, services, sla
from shizhi.hotline.demo.clock import Clock
from shizhi.hotline.demo.taxonomy import TOPICS, topic_paths
from shizhi.hotline.demo_data import seed_hotline, year_rates
from shizhi.hotline.models import (
    Assignment,
    AssignmentStatus,
    Case,
    CaseEvent,
    CaseStatus,
    Category,
    DispatchRule,
    KnowledgeArticle,
    SlaKind,
    Supervision,
)

pytestmark = pytest.mark.django_db
TEDDY = Path(__file__).resolve().parents[5] / "shared" / "data" / "teddy2020"


@pytest.fixture
def demo_year() -> str:
    out = io.StringIO()
    call_command("seed", "hotline", "--scale", "small", "--seed", "3", stdout=out)
    return out.getvalue()


def test_the_demo_year_holds_every_state_and_plausible_rates(demo_year: str) -> None:
    assert (
        "已生成演示城市" in demo_year and "已生成演示工单（规模 small，随机种子 3，生成的留言）" in demo_year
    )
    assert Category.objects.count() == len(topic_paths()) == 81
    assert KnowledgeArticle.objects.count() == 32 and DispatchRule.objects.count() >= 20
    cases = Case.objects.count()
    assert 280 <= cases <= 340
    statuses = Counter(Case.objects.values_list("status", flat=True))
    assert set(statuses) == set(CaseStatus.values)
    assert statuses[CaseStatus.CLOSED] > 0.9 * cases
    from shizhi.hotline.demo_data import demo_end

    end = demo_end()
    window = Case.objects.filter(received_at__gt=end - dt.timedelta(days=366), received_at__lte=end)
    assert window.count() == cases
    assert Case.objects.filter(status=CaseStatus.MERGED, merged_into__isnull=False).exists()
    assert Case.objects.filter(
        knowledge_article__isnull=False, lead_unit__isnull=True
    ).exists()  # answered at once
    assert Case.objects.filter(reopen_count=1).exists()
    assert Case.objects.filter(replied_on_time=False, is_overdue=True).exists()
    assert Supervision.objects.filter(resolved_at__isnull=False).exists()
    assert Assignment.objects.filter(status=AssignmentStatus.WITHDRAWN).exists()  # returned, re-dispatched
    assert Assignment.objects.filter(accepted_on_time=False).exists()
    assert {c.satisfaction for c in Case.objects.filter(satisfaction__isnull=False)} == {1, 2, 3, 4, 5}
    rates = year_rates(end - dt.timedelta(days=366), end)
    assert 0.75 <= (rates.response_rate or 0) <= 0.97
    assert 0.75 <= (rates.resolution_rate or 0) <= 0.97
    assert 0.75 <= (rates.satisfaction_rate or 0) <= 0.97
    assert "近一年三率：响应率" in demo_year
    # One audit event for the whole batch of cases; every case has its timeline.
    assert AuditEvent.objects.filter(action="case.seed_demo").count() == 1
    assert CaseEvent.objects.filter(action="create").count() == cases
    # Numbers follow the day and the order of receipt.
    first = Case.objects.order_by("received_at", "id").first()
    assert first is not None and first.number == f"{first.received_at.astimezone(Clock().tz):%Y%m%d}00001"


def test_dispatch_follows_the_catalogue_and_texts_read_well(demo_year: str) -> None:
    dispatched = Case.objects.filter(assignments__isnull=False).exclude(events__action="return").distinct()
    for case in dispatched.order_by("id")[:60]:
        first = case.assignments.order_by("id").first()
        assert first is not None and services.suggest_unit(case).unit == first.unit
    case = Case.objects.filter(status=CaseStatus.CLOSED, channel="phone", lead_unit__isnull=False).first()
    assert case is not None and case.street is not None and case.community is not None
    assert case.citizen_name and len(case.citizen_phone) == 11 and case.lng and case.lat
    assert (
        case.community.name in case.content
        or case.street.name in case.content
        or case.address in case.content
    )
    assert case.number in "".join(
        CaseEvent.objects.filter(action="create", case=case).values_list("case__number", flat=True)
    )
    replies = list(Case.objects.exclude(reply="").values_list("reply", flat=True))
    assert any("电话" in r and "收悉" in r for r in replies)  # complete replies: who, what, contact
    assert any(r in messages.WEAK_REPLIES for r in replies)  # and some weak ones
    merged = Case.objects.filter(merged_into__isnull=False).first()
    assert merged is not None
    event = merged.events.get(action="merge")
    assert event.data["master"] == merged.merged_into.number  # type: ignore[union-attr]


def test_the_seasons_show(demo_year: str) -> None:
    def count(season: str, months: set[int]) -> int:
        names = {t.path[-1] for t in TOPICS if t.season == season}
        return sum(
            1
            for c in Case.objects.filter(category__name__in=names).values_list("received_at", flat=True)
            if c.astimezone(Clock().tz).month in months
        )

    assert count("summer", {7, 8}) > 1.5 * count("summer", {3, 4})
    assert count("heating", {6, 7, 8}) == 0
    by_weekday = Counter(
        c.astimezone(Clock().tz).weekday() for c in Case.objects.values_list("received_at", flat=True)
    )
    assert by_weekday[0] > by_weekday[6]


def test_same_seed_same_cases_and_a_rerun_changes_nothing() -> None:
    seed_demo(scale="small", seed=5)

    def one_run(seed: int) -> list[tuple[str, str, str, str]]:
        with transaction.atomic():
            seed_hotline(scale="small", seed=seed)
            rows = list(Case.objects.order_by("number").values_list("number", "title", "status", "reply"))
            transaction.set_rollback(True)
        return rows

    first, second, other = one_run(5), one_run(5), one_run(6)
    assert first == second and len(first) > 250
    assert first != other
    seed_hotline(scale="small", seed=5)
    report = seed_hotline(scale="small", seed=5)
    assert not report.created and "未做任何改动" in report.summary()
    assert Case.objects.count() == len(first)


def test_the_fast_clock_agrees_with_the_time_limits() -> None:
    clock, rng = Clock(), random.Random(1)
    start = dt.datetime(2025, 1, 1, tzinfo=clock.tz)
    for _ in range(200):
        moment = start + dt.timedelta(minutes=rng.randrange(365 * 24 * 60))
        assert clock.accept_due(moment, urgent=False) == sla.accept_due(moment, urgent=False)
        assert clock.accept_due(moment, urgent=True) == sla.accept_due(moment, urgent=True)
        for kind in SlaKind.values:
            assert clock.handling_due(moment, kind) == sla.handling_due(moment, kind)


def test_every_topic_has_messages_and_replies() -> None:
    rng = random.Random(2)
    place = messages.make_place(
        rng, district="江城区", street="长安街道", community="荷花花园社区", rural=False
    )
    responder = messages.Responder("市城市管理局", "0576-81234567", "王芳（办公室主任）", "李强")
    for topic in TOPICS:
        for demand in ("complaint", "inquiry", "suggestion", "praise", "report"):
            title, content, index = messages.citizen_message(rng, topic, place, dt.date(2025, 7, 1), demand)
            assert 0 < len(title) <= 100 and len(content) >= 10 and "{" not in content
            reply = messages.reply_text(rng, topic=topic, issue=topic.issues[index], title=title,
                                        received=dt.date(2025, 7, 1), replied=dt.datetime(2025, 7, 3, 10),
                                        responder=responder, quality="good")  # fmt: skip
            assert "0576-81234567" in reply and "王芳" in reply and topic.issues[index].done in reply


@pytest.mark.skipif(not TEDDY.is_dir(), reason="the challenge data (../shared/data/teddy2020) is not here")
def test_real_messages_from_the_challenge_data() -> None:
    seed_demo(scale="small", seed=1)
    report = seed_hotline(scale="small", seed=1, messages=str(TEDDY))
    assert "真实留言" in report.message
    real = {title for _, title, _ in importers.labelled_messages(TEDDY / "train.csv")}
    titles = list(Case.objects.values_list("title", flat=True))
    assert sum(t in real for t in titles) > 0.6 * len(titles)
