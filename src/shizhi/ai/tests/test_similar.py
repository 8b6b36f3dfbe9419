"""Similar cases (相似工单) and reply suggestions (答复参考) on a crafted little city: the test city's urban grid
331202001001001 lies at lng 120.0-120.1, lat 30.0-30.05 (about 9.6 km x 5.5 km)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from shizhi.ai import similar
from shizhi.hotline import services
from shizhi.hotline.models import Case
from shizhi.hotline.tests.factories import IN_COUNTY, IN_URBAN, HotlineWorld, build_hotline_world, new_case

pytestmark = pytest.mark.django_db

LAMP_TITLE = "路灯不亮"
LAMP = "幸福路12号门口的路灯已经坏了一周，晚上一片漆黑，老人出行很不安全，请尽快修理。"
# About 300 m east of IN_URBAN, same grid.
NEARBY = (IN_URBAN[0] + 0.003, IN_URBAN[1] + 0.0005)


@pytest.fixture(autouse=True)
def _fresh_index() -> Iterator[None]:
    similar.reset()
    yield
    similar.reset()


@pytest.fixture
def hw() -> HotlineWorld:
    return build_hotline_world()


def ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def dispatched(hw: HotlineWorld, unit: str = "cgj", **over: Any) -> Case:
    case = new_case(hw, **over)
    return services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units[unit])


def resolved(hw: HotlineWorld, reply: str, *, satisfied: bool = True, **over: Any) -> Case:
    u = hw.users
    case = dispatched(hw, **over)
    case = services.case_accept(actor=u["h_cgj"], case=case)
    case = services.case_reply(actor=u["h_cgj"], case=case, reply=reply)
    return services.case_callback(
        actor=u["operator"], case=case, reached=True, solved=satisfied, satisfaction=5 if satisfied else 2
    )


def query(hw: HotlineWorld, who: str = "operator", **over: Any) -> list[similar.SimilarCase]:
    args: dict[str, Any] = {
        "title": "路灯坏了",
        "content": "幸福路12号门口路灯坏了好几天，晚上漆黑一片，请派人修理。",
        "lng": IN_URBAN[0],
        "lat": IN_URBAN[1],
    }
    args.update(over)
    return similar.similar_open_cases(actor=hw.users[who], **args)


def test_the_duplicate_in_the_same_grid_yesterday_ranks_first_with_its_reasons(hw: HotlineWorld) -> None:
    duplicate = new_case(hw, title=LAMP_TITLE, content=LAMP, at=NEARBY, received_at=ago(1))
    older = new_case(hw, title=LAMP_TITLE, content=LAMP, at=IN_URBAN, received_at=ago(20))
    other_matter = new_case(
        hw,
        title="楼道堆放杂物",
        content="三单元楼道里堆满了杂物，存在消防隐患，请物业清理。",
        received_at=ago(1),
    )
    far = new_case(hw, title=LAMP_TITLE, content=LAMP, at=IN_COUNTY, received_at=ago(1))
    old = new_case(hw, title=LAMP_TITLE, content=LAMP, at=IN_URBAN, received_at=ago(60))

    found = query(hw)

    assert [s.case.pk for s in found] == [duplicate.pk, older.pk]
    first = found[0]
    grid = hw.world.grids["331202001001001"]
    assert duplicate.grid_id == grid.pk and first.same_grid
    assert first.distance_m is not None and 250 <= first.distance_m <= 350
    assert round(first.days) == 1 and not first.same_phone
    assert 0.3 <= first.score < 1.0 and first.rank > found[1].rank
    assert first.shared_words[0] == "幸福路12号门口"
    assert first.reasons[:3] == ["同一网格", f"相距 {first.distance_m} 米", "1 天前"]
    assert first.reasons[3] == f"内容相似 {first.percent}%"
    assert first.reasons[4].startswith("共同关键词：")
    assert found[1].reasons[:3] == ["同一网格", f"相距 {found[1].distance_m} 米", "20 天前"]
    shown = {s.case.pk for s in found}
    assert not shown & {other_matter.pk, far.pk, old.pk}


def test_the_settings_move_the_limits(hw: HotlineWorld, settings: Any) -> None:
    far = new_case(hw, title=LAMP_TITLE, content=LAMP, at=IN_COUNTY, received_at=ago(1))
    old = new_case(hw, title=LAMP_TITLE, content=LAMP, at=IN_URBAN, received_at=ago(60))
    assert query(hw) == []
    settings.SHIZHI = {**settings.SHIZHI, "AI_SIMILAR": {"max_distance_m": 40_000, "max_days": 90}}
    found = query(hw)
    assert [s.case.pk for s in found] == [old.pk, far.pk]  # the older one is in the same grid
    assert found[1].distance_m is not None and 30_000 < found[1].distance_m < 40_000
    assert found[1].reasons[0] == f"相距 {found[1].distance_m / 1000:.1f} 公里"


def test_a_case_outside_the_actors_scope_is_not_shown(hw: HotlineWorld) -> None:
    mine = dispatched(hw, "cgj", title=LAMP_TITLE, content=LAMP, received_at=ago(2))
    theirs = dispatched(hw, "sthj", title=LAMP_TITLE, content=LAMP, received_at=ago(1))
    assert [s.case.pk for s in query(hw, "operator")] == [theirs.pk, mine.pk]
    assert [s.case.pk for s in query(hw, "h_cgj")] == [mine.pk]
    assert [s.case.pk for s in query(hw, "h_sthj")] == [theirs.pk]
    # The index still holds both: being out of one actor's scope is not being closed.
    assert [s.case.pk for s in query(hw, "operator")] == [theirs.pk, mine.pk]


def test_closed_and_merged_cases_leave_the_list(hw: HotlineWorld) -> None:
    master = dispatched(hw, title=LAMP_TITLE, content=LAMP, received_at=ago(2))
    duplicate = new_case(hw, title=LAMP_TITLE, content=LAMP, received_at=ago(1))
    assert {s.case.pk for s in query(hw)} == {master.pk, duplicate.pk}
    services.case_merge(actor=hw.users["operator"], master=master, duplicate=duplicate)
    assert [s.case.pk for s in query(hw)] == [master.pk]
    index = similar.open_index()
    position = index.position(duplicate.pk)
    assert position is not None and not index.alive[position]  # a city-wide reader found it gone
    u = hw.users
    services.case_accept(actor=u["h_cgj"], case=master)
    services.case_reply(actor=u["h_cgj"], case=master, reply="已更换灯泡，路灯恢复照明。")
    assert query(hw) == []


def test_a_case_created_after_the_index_was_built_is_found(hw: HotlineWorld) -> None:
    first = new_case(hw, title=LAMP_TITLE, content=LAMP, received_at=ago(3))
    assert [s.case.pk for s in query(hw)] == [first.pk]
    built = similar.open_index()
    later = new_case(hw, title="路灯坏了", content=LAMP, at=NEARBY, received_at=ago(0.5))
    assert [s.case.pk for s in query(hw)] == [later.pk, first.pk]
    index = similar.open_index()
    assert index.built == built.built and len(index.extra) == 1  # added, not rebuilt


def test_a_different_database_behind_the_index_rebuilds_it(hw: HotlineWorld) -> None:
    first = new_case(hw, title=LAMP_TITLE, content=LAMP, received_at=ago(3))
    query(hw)
    built = similar.open_index().built
    # As after a rolled-back test or a restored backup: the same ids now hold other cases.
    Case.objects.filter(pk=first.pk).update(title="楼道堆放杂物", content="三单元楼道里堆满了杂物。")
    assert query(hw) == []
    assert similar.open_index().built != built


def test_the_periodic_rebuild_picks_up_a_reopened_case(hw: HotlineWorld, settings: Any) -> None:
    case = resolved(hw, "已更换灯泡，路灯恢复照明。", satisfied=False, title=LAMP_TITLE, content=LAMP)
    assert query(hw) == []
    services.case_reopen(actor=hw.users["operator"], case=case, reason="回访不满意，路灯仍不亮")
    assert query(hw) == []  # reopening is not seen until the next rebuild
    settings.SHIZHI = {**settings.SHIZHI, "AI_SIMILAR": {"index_ttl_s": 0, "background_rebuild": False}}
    assert [s.case.pk for s in query(hw)] == [case.pk]


def test_the_same_caller_comes_first_whatever_the_words(hw: HotlineWorld) -> None:
    caller = new_case(
        hw,
        title="楼道堆放杂物",
        content="三单元楼道里堆满了杂物。",
        citizen_phone="13812341234",
        at=IN_COUNTY,
    )
    lamp = new_case(hw, title=LAMP_TITLE, content=LAMP)
    found = query(hw, phone="138 1234 1234")
    assert [s.case.pk for s in found] == [caller.pk, lamp.pk]
    assert found[0].same_phone and found[0].reasons[0] == "同一来电号码" and found[0].score < 0.3


def test_without_a_place_only_close_wording_counts(hw: HotlineWorld) -> None:
    same = new_case(hw, title=LAMP_TITLE, content=LAMP, at=IN_COUNTY)
    new_case(hw, title="路灯白天常亮", content="学院路的路灯白天也一直亮着，浪费电。", at=IN_URBAN)
    found = query(hw, title=LAMP_TITLE, content=LAMP.replace("一周", "两周"), lng=None, lat=None)
    assert [s.case.pk for s in found] == [same.pk]
    assert found[0].score > 0.9 and found[0].distance_m is None and not found[0].same_grid


def test_the_case_itself_is_excluded_and_a_grid_alone_is_a_place(hw: HotlineWorld) -> None:
    case = new_case(hw, title=LAMP_TITLE, content=LAMP)
    twin = new_case(hw, title=LAMP_TITLE, content=LAMP, at=None)
    grid = hw.world.grids["331202001001001"]
    Case.objects.filter(pk=twin.pk).update(grid=grid)
    found = similar.similar_open_cases(
        actor=hw.users["operator"],
        title=case.title,
        content=case.content,
        grid_id=case.grid_id,
        at=case.received_at,
        exclude_case_id=case.pk,
    )
    assert [s.case.pk for s in found] == [twin.pk]
    assert found[0].same_grid and found[0].distance_m is None and found[0].reasons[0] == "同一网格"


def test_resolved_cases_give_reply_suggestions(hw: HotlineWorld) -> None:
    good = "经现场核查，已于3月5日更换损坏的灯泡，路灯已恢复照明。如有问题请联系城管局，电话0576-88001234。"
    resolved(hw, good, title=LAMP_TITLE, content=LAMP)
    resolved(hw, good, title="路灯坏了", content="幸福路门口的路灯坏了，晚上很黑。")  # the same reply: once
    unhappy = resolved(
        hw,
        "已转交相关部门处理。",
        satisfied=False,
        title="路灯不亮",
        content="幸福路的路灯坏了一周，请修理。",
    )
    resolved(hw, "已联系物业清理三单元楼道杂物。", title="楼道堆放杂物", content="三单元楼道里堆满了杂物。")
    open_case = new_case(hw, title=LAMP_TITLE, content=LAMP)  # open: no reply to offer

    found = similar.reply_suggestions(
        actor=hw.users["operator"],
        title="路灯坏了",
        content="幸福路12号的路灯不亮了，晚上太黑。",
        category_id=hw.categories["CX01"].pk,
    )

    assert [s.reply for s in found] == [good, unhappy.reply]
    assert found[0].same_category and "同一分类" in found[0].reasons and "回访满意" in found[0].reasons
    assert "回访不满意" in found[1].reasons and found[1].rank < found[0].rank
    assert open_case.pk not in {s.case.pk for s in found}
    assert found[0].as_dict()["reply"] == good and found[0].as_dict()["unit"] == "临江市城市管理局"
    # A unit sees suggestions from its own cases only.
    assert similar.reply_suggestions(actor=hw.users["h_sthj"], title="路灯坏了", content="路灯不亮") == []


def test_shared_words_skip_phrases_that_say_nothing() -> None:
    words = similar.shared_words(
        "幸福路12号门口的路灯已经坏了一周，请尽快处理。", "幸福路12号门口路灯坏了，请尽快处理"
    )
    assert words[0] == "幸福路12号门口"
    assert "请尽快处理" not in words and "尽快处理" not in words
    assert similar.shared_words("路灯不亮", "楼道堆放杂物") == []


def test_no_cases_at_all_is_an_empty_answer(hw: HotlineWorld) -> None:
    assert query(hw) == []
    assert similar.reply_suggestions(actor=hw.users["operator"], title="路灯", content="路灯坏了") == []
    assert similar.open_index().size == 0


@pytest.mark.django_db(transaction=True)
def test_an_expired_index_is_rebuilt_in_the_background_outside_a_transaction(settings: Any) -> None:
    import time

    hw = build_hotline_world()
    case = resolved(hw, "已更换灯泡，路灯恢复照明。", satisfied=False, title=LAMP_TITLE, content=LAMP)
    assert query(hw) == []
    services.case_reopen(actor=hw.users["operator"], case=case, reason="回访不满意，路灯仍不亮")
    settings.SHIZHI = {**settings.SHIZHI, "AI_SIMILAR": {"index_ttl_s": 0, "background_rebuild": True}}
    before = similar.open_index().built
    holder = similar._HOLDERS["open"]
    deadline = time.monotonic() + 30
    while (
        holder.rebuilding or holder.index is None or holder.index.built == before
    ) and time.monotonic() < deadline:
        time.sleep(0.05)
    settings.SHIZHI = {**settings.SHIZHI, "AI_SIMILAR": {}}
    assert [s.case.pk for s in query(hw)] == [case.pk]
