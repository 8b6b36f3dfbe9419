"""``shizhi bench hotline --cases N``: the hotline's speed on N cases, each figure beside a bare SQL baseline.

1. Intake (受理): cases/s through ``case_create`` (one transaction each), through ``POST /api/v1/cases`` in
   process (django.test.Client) and against a real ``shizhi serve`` driven by keep-alive connections from
   threads; baseline: a plain INSERT of the same rows, one transaction each. Target >= 300 cases/s over HTTP.
2. The three rates (三率) per unit and month over 12 months; baseline: two hand-written GROUP BY queries.
   Target over 1,000,000 cases: <= 2 s on SQLite, <= 1 s on PostgreSQL.
3. The first page of the case list, unfiltered and with each filter, for a city-wide operator and a unit
   handler; baseline: a hand-written SELECT ... ORDER BY ... LIMIT 50. Target <= 100 ms.

The N cases do not go through ``case_create`` (a million would take an hour): :func:`generate_cases` writes
them in batches of 10,000 (executemany on SQLite, COPY on PostgreSQL) for the seeded demo city, with a year of
realistic history: categories, places, units and statuses drawn from plausible distributions, assignments,
replies and callback ratings filled consistently, the month columns set. Deadlines use an approximate
calendar (7 working days = 9 days): the rates and lists only need the flags to agree with the times.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import http.client
import itertools
import json
import math
import queue
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.test import Client

from shizhi.core import benchmarks
from shizhi.core import services as core_services
from shizhi.core.benchmarks import BenchContext, Sample, measure, ratio
from shizhi.core.models import Area, AreaLevel, Grid, Role, RoleAssignment, Unit, UnitKind, User
from shizhi.hotline import rates, services
from shizhi.hotline import selectors as sel
from shizhi.hotline.models import (
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Case,
    CaseNumber,
    CaseStatus,
    Category,
    Channel,
    DemandType,
    SlaKind,
)

BATCH = 10_000
PAGE = 50
HTTP_TARGET = 300.0  # cases/s over HTTP, one process, SQLite
RATES_TARGET = {"sqlite": 2.0, "postgresql": 1.0}  # seconds over 1,000,000 cases
LIST_TARGET = 0.100  # seconds over 1,000,000 cases
SEARCH_WORD = "噪音"  # the text filter: a word citizens use in about one case in ten

# --------------------------------------------------------------------------------------------------------------
# What citizens ask about: a compact taxonomy, who handles each topic, and what people say
# --------------------------------------------------------------------------------------------------------------

COMPLAINT = (
    (DemandType.COMPLAINT, 6),
    (DemandType.HELP, 2),
    (DemandType.REPORT, 1),
    (DemandType.SUGGESTION, 1),
)
HELP = ((DemandType.HELP, 6), (DemandType.COMPLAINT, 3), (DemandType.SUGGESTION, 1))
INQUIRY = ((DemandType.INQUIRY, 9), (DemandType.HELP, 1))


@dataclass(frozen=True)
class Topic:
    """A leaf category: how often it comes up, who handles it ("street" = the place's street office, 属地),
    and sentences citizens use ("{p}" is the place)."""

    code: str
    name: str
    parent: str
    weight: float
    unit: str
    titles: tuple[str, ...]
    facts: tuple[str, ...]
    demand: tuple[tuple[str, int], ...] = COMPLAINT
    sla_kind: str = SlaKind.GENERAL


GROUPS = (
    ("CX", "城乡建设", None),
    ("CX01", "市政设施", "CX"),
    ("CX02", "物业管理", "CX"),
    ("CX03", "违法建设", "CX"),
    ("HJ", "生态环境", None),
    ("HJ01", "噪声污染", "HJ"),
    ("HJ02", "大气污染", "HJ"),
    ("JT", "交通出行", None),
    ("SC", "市场监管", None),
    ("RS", "劳动社保", None),
    ("KW", "教育卫生", None),
    ("SD", "水电气", None),
    ("ZC", "政策咨询", None),
    ("SH", "社会治安与民生", None),
)
# fmt: off
TOPICS = (
    Topic("CX0101", "路灯", "CX01", 3, "dept-cgj", ("路灯不亮", "路灯损坏", "路灯白天常亮"), (
        "{p}附近有几盏路灯已经坏了一个多星期，晚上一片漆黑，老人和孩子出行很不安全",
        "{p}的路灯白天也一直亮着，晚上反而时亮时灭，浪费电又不安全")),
    Topic("CX0102", "道路破损", "CX01", 3, "dept-cgj", ("路面坑洼", "人行道破损"), (
        "{p}门口的人行道砖松动翘起，下雨天一踩就溅水，已经有老人在这里摔倒",
        "{p}的路面有一个大坑，电动车经过时很容易侧翻")),
    Topic("CX0103", "井盖缺失", "CX01", 1, "dept-cgj", ("井盖缺失", "井盖破损"), (
        "{p}路口的窨井盖缺失，只用几根树枝围着，晚上路过非常危险",)),
    Topic("CX0104", "排水不畅", "CX01", 2, "dept-swj", ("下水道堵塞", "路面积水"), (
        "{p}的雨水井堵了，每次下雨路面积水二三十厘米深，车辆和行人都过不去",
        "{p}的下水道反味严重，污水漫到路面上")),
    Topic("CX0201", "物业服务", "CX02", 5, "dept-zjj", ("物业不作为", "物业收费问题"), (
        "{p}小区物业收了物业费却不管事，垃圾几天没人清运，楼道灯坏了也没人修",
        "{p}小区物业擅自上涨停车费，也不公示收支情况，业主意见很大")),
    Topic("CX0202", "电梯故障", "CX02", 2, "dept-scjgj", ("电梯故障", "电梯困人"), (
        "{p}的电梯一个月坏了三次，上周还困了人，老人上下楼非常困难",)),
    Topic("CX0301", "违法建设", "CX03", 2, "street", ("违章搭建", "私搭乱建"), (
        "{p}楼顶有住户正在搭建彩钢棚，影响楼上住户采光和安全",
        "{p}一楼住户把院子围起来盖了房子，占用了公共绿地"), sla_kind=SlaKind.COMPLEX),
    Topic("HJ0101", "施工噪音", "HJ01", 4, "dept-cgj", ("夜间施工扰民", "工地噪音"), (
        "{p}附近的工地晚上十一点以后还在施工，噪音很大，严重影响附近居民休息",
        "{p}旁边的工地凌晨还在浇筑混凝土，噪音吵得孩子睡不着")),
    Topic("HJ0102", "生活噪音", "HJ01", 3, "street", ("广场舞扰民", "商铺噪音"), (
        "{p}楼下每天晚上跳广场舞，音响开得很大，噪音扰民",
        "{p}的沿街商铺用大喇叭循环播放促销广告，噪音从早到晚")),
    Topic("HJ0201", "餐饮油烟", "HJ02", 2, "dept-sthjj", ("油烟扰民", "油烟直排"), (
        "{p}沿街饭店的油烟没有经过净化直接排放，楼上住户都不敢开窗",)),
    Topic("HJ0202", "工地扬尘", "HJ02", 1, "dept-sthjj", ("扬尘污染",), (
        "{p}的工地没有覆盖裸土，渣土车进出也不冲洗，刮风时尘土飞扬",)),
    Topic("JT0101", "公交服务", "JT", 2, "pu-bus", ("公交晚点", "公交拒停"), (
        "{p}站的公交车经常晚点，早高峰要等二十多分钟，希望增加班次",)),
    Topic("JT0102", "出租车网约车", "JT", 1, "dept-jtysj", ("出租车拒载", "网约车绕路"), (
        "在{p}打车，出租车司机拒载还态度恶劣，已记下车牌号",)),
    Topic("JT0103", "违法停车", "JT", 3, "dept-gaj", ("占用消防通道", "乱停车"), (
        "{p}门口长期有车辆占用消防通道停放，万一发生火灾消防车进不来",)),
    Topic("SC0101", "消费维权", "SC", 4, "dept-scjgj", ("预付卡退费难", "商家虚假宣传"), (
        "{p}的健身房突然关门，预付卡里还有三千多元，老板联系不上",
        "在{p}的商店买的商品与宣传不符，商家拒绝退换")),
    Topic("SC0102", "食品安全", "SC", 2, "dept-scjgj", ("食品过期", "餐馆卫生差"), (
        "在{p}的超市买到过期的牛奶，商家只肯换不肯赔",)),
    Topic("RS0101", "拖欠工资", "RS", 3, "dept-rsj", ("拖欠工资", "讨要工资"), (
        "在{p}的工地干了三个月，老板一直拖欠工资，二十多个工人都没拿到钱",)),
    Topic("RS0102", "社保办理", "RS", 1, "dept-rsj", ("社保转移", "社保补缴"), (
        "在{p}附近的社保窗口办理社保转移，来回跑了三次还没办好",), HELP),
    Topic("KW0101", "入学报名", "KW", 2, "dept-jyj", ("入学报名", "学位分配"), (
        "住在{p}，孩子今年上小学，学区划分后报不上附近的学校", ), HELP),
    Topic("KW0102", "医疗服务", "KW", 2, "dept-wjw", ("看病难", "医院服务态度"), (
        "在{p}附近的医院看病，挂号排了三个小时，服务态度也不好",)),
    Topic("SD0101", "停水", "SD", 2, "pu-water", ("突然停水", "水压不足"), (
        "{p}从早上开始停水，没有接到任何通知，家里老人做饭都成问题",
        "{p}高楼层水压不足，一到用水高峰就没水"), HELP, SlaKind.UTILITY),
    Topic("SD0102", "停电", "SD", 2, "pu-power", ("频繁停电", "突然停电"), (
        "{p}这个月已经停了四次电，冰箱里的东西都坏了",), HELP, SlaKind.UTILITY),
    Topic("SD0103", "燃气", "SD", 1, "pu-gas", ("燃气异味", "燃气报装"), (
        "{p}楼道里有燃气味，担心管道泄漏，请尽快派人检查",), HELP, SlaKind.UTILITY),
    Topic("ZC0101", "户籍办理", "ZC", 3, "dept-gaj", ("落户咨询", "身份证办理"), (
        "住在{p}，想咨询孩子落户需要准备哪些材料，在哪里办理",), INQUIRY),
    Topic("ZC0102", "社保政策", "ZC", 3, "dept-rsj", ("医保报销咨询", "退休手续咨询"), (
        "住在{p}，想咨询异地就医的医保报销比例和办理流程",), INQUIRY),
    Topic("ZC0103", "住房公积金", "ZC", 2, "dept-zjj", ("公积金提取", "公积金贷款"), (
        "在{p}买了房子，想咨询公积金提取需要什么条件",), INQUIRY),
    Topic("SH0101", "治安隐患", "SH", 1, "dept-gaj", ("治安隐患", "可疑人员"), (
        "{p}附近晚上经常有人聚集喝酒闹事，居民很担心安全",), COMPLAINT),
    Topic("SH0102", "养老服务", "SH", 1, "dept-mzj", ("养老服务", "高龄补贴"), (
        "家住{p}，父亲八十多岁独居，想申请居家养老上门服务",), HELP),
    Topic("SH0103", "农村人居环境", "SH", 1, "street", ("垃圾清运不及时", "河道垃圾"), (
        "{p}村口的垃圾堆了好几天没人清运，天热臭气熏天",)),
)
ASKS = ("请相关部门尽快处理。", "希望有关部门尽快解决。", "请派人来现场看一下。",
        "之前已经反映过一次，到现在还没有解决，请尽快处理。", "麻烦尽快回复，谢谢。")
REPLIES = ("经现场核实，已安排人员处理，问题已解决，已电话告知诉求人。",
           "已联系相关责任单位整改，并将持续跟踪，处理结果已向诉求人说明。",
           "经调查，诉求人反映的情况属实，已依法责令整改，诉求人表示认可。",
           "已按政策口径向诉求人解答，诉求人表示清楚。")
ROADS = ("人民路", "解放路", "中山路", "新华路", "建设路", "文化路", "府前街", "江滨大道", "环城东路", "学院路", "和平路")
CHANNELS = ((Channel.PHONE, 60), (Channel.WECHAT, 15), (Channel.APP, 12), (Channel.WEB, 7), (Channel.GRID, 5),
            (Channel.OPEN311, 1))
# fmt: on
# Local time of day when calls come in (hours 0..23): busy mornings and afternoons, quiet nights.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 8, 9, 11, 11, 10, 9, 8, 7, 6, 4, 3, 2)


class Picker:
    """Weighted choice by bisection over cumulative weights (random.choices rebuilds them on every call)."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


# --------------------------------------------------------------------------------------------------------------
# The world: the demo city, the taxonomy, and the people who use the API
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Place:
    grid_id: int
    community_id: int
    street_id: int | None
    district_id: int | None
    area_path: str
    community: str
    points: list[tuple[float, float]]


@dataclass
class World:
    categories: dict[str, Category]
    places: list[Place]
    pick_place: Picker
    pick_topic: Picker
    unit_ids: dict[str, int]
    street_unit: dict[int, int]  # street area id -> street office unit id
    district_unit: dict[int, int]
    handler_of_unit: dict[int, int]  # unit id -> a handler's user id
    operator: User
    handler: User
    supervisor: User
    handler_unit: Unit
    busy_unit: Unit
    street: Area

    def unit_for(self, topic: Topic, place: Place) -> int | None:
        if topic.unit != "street" and topic.unit in self.unit_ids:
            return self.unit_ids[topic.unit]
        if place.street_id in self.street_unit:
            return self.street_unit[place.street_id]
        return self.district_unit.get(place.district_id or 0)


def _taxonomy() -> None:
    if Category.objects.filter(code=TOPICS[0].code).exists():
        return
    rows = [services.CategoryRow(code=c, name=n, parent_code=p) for c, n, p in GROUPS]
    rows += [
        services.CategoryRow(code=t.code, name=t.name, parent_code=t.parent, sla_kind=t.sla_kind)
        for t in TOPICS
    ]
    services.categories_import(actor=None, rows=rows)


def _points(grid: Grid, rng: random.Random) -> list[tuple[float, float]]:
    from shizhi.core import geo

    if not grid.boundary or grid.min_lng is None or grid.max_lng is None:
        return []
    assert grid.min_lat is not None and grid.max_lat is not None
    found = []
    for _ in range(40):
        lng = round(rng.uniform(grid.min_lng, grid.max_lng), 6)
        lat = round(rng.uniform(grid.min_lat, grid.max_lat), 6)
        if geo.contains(grid.boundary, lng, lat):
            found.append((lng, lat))
            if len(found) == 4:
                break
    return found


def build_world(scale: str, seed: int) -> World:
    """The demo city at ``scale`` (seeded once), the bench taxonomy, and the users the measurements act as."""
    from shizhi.demo.services import seed_demo

    seed_demo(scale=scale, seed=seed)
    _taxonomy()
    rng = random.Random(seed)
    areas = {a.pk: a for a in Area.objects.all()}
    places = []
    for grid in Grid.objects.order_by("code"):
        community = areas[grid.community_id]
        chain: list[int] = []
        node: Area | None = community
        while node is not None:
            chain.append(node.pk)
            node = areas.get(node.parent_id) if node.parent_id else None
        by_level = {areas[i].level: i for i in chain}
        points = _points(grid, rng)
        if points:
            places.append(
                Place(
                    grid.pk,
                    community.pk,
                    by_level.get(AreaLevel.STREET),
                    by_level.get(AreaLevel.DISTRICT),
                    community.path,
                    community.name,
                    points,
                )
            )
    if not places:
        raise benchmarks.BenchError("the demo city has no grids with boundaries")
    grid_households = dict(Grid.objects.values_list("id", "households"))
    units = list(Unit.objects.all())
    unit_ids = {u.code: u.pk for u in units}
    street_kinds = (UnitKind.STREET_OFFICE, UnitKind.TOWNSHIP_GOVERNMENT)
    street_unit = {u.area_id: u.pk for u in units if u.kind in street_kinds and u.area_id}
    district_unit = {u.area_id: u.pk for u in units if u.kind == UnitKind.DISTRICT_GOVERNMENT and u.area_id}
    handler_of_unit = dict(
        RoleAssignment.objects.filter(role=Role.UNIT_HANDLER, unit__isnull=False)
        .order_by("id")
        .values_list("unit_id", "user_id")
    )
    operator = _user_with(Role.OPERATOR)
    supervisor = _user_with(Role.SUPERVISOR)
    # The handler of the street office with the most households: a typical 属地 unit.
    street_households = Counter[int]()
    for p in places:
        if p.street_id:
            street_households[p.street_id] += grid_households.get(p.grid_id, 0) or 1
    street_id = next(s for s, _ in street_households.most_common() if s in street_unit)
    handler_unit = Unit.objects.get(pk=street_unit[street_id])
    handler = User.objects.get(pk=handler_of_unit[handler_unit.pk])
    busy = next((unit_ids[t.unit] for t in TOPICS if t.unit in unit_ids), handler_unit.pk)
    return World(
        categories={c.code: c for c in Category.objects.filter(code__in=[t.code for t in TOPICS])},
        places=places,
        pick_place=Picker(places, [grid_households.get(p.grid_id, 0) or 1 for p in places]),
        pick_topic=Picker(TOPICS, [t.weight for t in TOPICS]),
        unit_ids=unit_ids,
        street_unit=street_unit,
        district_unit=district_unit,
        handler_of_unit=handler_of_unit,
        operator=operator,
        handler=handler,
        supervisor=supervisor,
        handler_unit=handler_unit,
        busy_unit=Unit.objects.get(pk=busy),
        street=areas[street_id],
    )


def _user_with(role: str) -> User:
    ra = RoleAssignment.objects.filter(role=role, unit__isnull=True, area__isnull=True).order_by("id").first()
    if ra is None:
        raise benchmarks.BenchError(f"the demo city has no city-wide {role}")
    return User.objects.get(pk=ra.user_id)


# --------------------------------------------------------------------------------------------------------------
# Payloads: what one citizen says (for intake, and the text of the generated cases)
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Payload:
    topic: Topic
    place: Place
    channel: str
    demand_type: str
    title: str
    content: str
    citizen_name: str
    citizen_phone: str
    anonymous: bool
    address: str
    lng: float
    lat: float
    urgent: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "demand_type": self.demand_type,
            "category": self.topic.code,
            "title": self.title,
            "content": self.content,
            "citizen_name": self.citizen_name,
            "citizen_phone": self.citizen_phone,
            "anonymous": self.anonymous,
            "address": self.address,
            "lng": self.lng,
            "lat": self.lat,
            "urgency": "urgent" if self.urgent else "normal",
        }

    def case_in(self, world: World) -> services.CaseIn:
        return services.CaseIn(
            channel=self.channel,
            demand_type=self.demand_type,
            category=world.categories[self.topic.code],
            title=self.title,
            content=self.content,
            citizen_name=self.citizen_name,
            citizen_phone=self.citizen_phone,
            anonymous=self.anonymous,
            address=self.address,
            lng=self.lng,
            lat=self.lat,
            urgency="urgent" if self.urgent else "normal",
        )


class Talker:
    """Makes payloads; repeat callers (about one call in seven) come from a pool of regular numbers."""

    def __init__(self, world: World, rng: random.Random) -> None:
        from shizhi.demo import names

        self.world, self.rng = world, rng
        self.person_name = names.person_name
        self.pick_channel = Picker([c for c, _ in CHANNELS], [w for _, w in CHANNELS])
        self.pickers = {t.code: Picker([d for d, _ in t.demand], [w for _, w in t.demand]) for t in TOPICS}
        self.regulars = [self.phone() for _ in range(5000)]

    def phone(self) -> str:
        return f"1{self.rng.choice('3578')}{self.rng.randrange(10**9):09d}"

    def __call__(self) -> Payload:
        rng, world = self.rng, self.world
        topic: Topic = world.pick_topic(rng)
        place: Place = world.pick_place(rng)
        address = f"{place.community}{rng.choice(ROADS)}{rng.randint(1, 300)}号"
        lng, lat = rng.choice(place.points)
        anonymous = rng.random() < 0.03
        return Payload(
            topic=topic,
            place=place,
            channel=self.pick_channel(rng),
            demand_type=self.pickers[topic.code](rng),
            title=rng.choice(topic.titles),
            content=rng.choice(topic.facts).format(p=address) + "，" + rng.choice(ASKS),
            citizen_name="" if anonymous else self.person_name(rng),
            citizen_phone=rng.choice(self.regulars) if rng.random() < 0.15 else self.phone(),
            anonymous=anonymous,
            address=address,
            lng=lng,
            lat=lat,
            urgent=rng.random() < 0.02,
        )


# --------------------------------------------------------------------------------------------------------------
# The generator: N cases with a year of history, in batches, without the service layer
# --------------------------------------------------------------------------------------------------------------

LOCAL = ZoneInfo(settings.TIME_ZONE)
HOUR = 3600.0
DAY = 86400.0
SLA_SECONDS: dict[str, float] = {
    SlaKind.GENERAL: 9 * DAY,  # 7 working days
    SlaKind.COMPLEX: 21 * DAY,  # 15 working days
    SlaKind.UTILITY: 24 * HOUR,
    SlaKind.EMERGENCY: 2 * HOUR,
}


def _words(text: str) -> list[str]:
    return text.split()


CASE_FIELDS = _words(
    "id number channel demand_type category_id category_path title content citizen_name citizen_phone "
    "citizen_id anonymous address lng lat grid_id community_id street_id district_id area_path urgency sla_kind "
    "status lead_unit_id created_by_id received_at received_month rated_month dispatched_at due_at "
    "feedback_due_at replied_at reply replied_on_time closed_at solved satisfaction satisfied rated_at "
    "callback_note reopen_count is_overdue is_due_soon flagged merged_into_id knowledge_article_id "
    "idempotency_key external_id updated_at"
)
ASSIGNMENT_FIELDS = _words(
    "case_id unit_id role status dispatched_at dispatched_month accept_due_at accepted_at accepted_on_time "
    "handler_id returned_at return_reason note done_at"
)
_SATISFACTION_SOLVED = Picker((5, 4, 3, 2, 1), (60, 27, 8, 3, 2))
_SATISFACTION_UNSOLVED = Picker((1, 2, 3, 4, 5), (30, 25, 30, 10, 5))


def month_window(now: dt.datetime, months: int = 12) -> tuple[int, int, dt.datetime]:
    """(first month, this month, start of the first month): ``months`` local months ending with this one."""
    local = now.astimezone(LOCAL)
    index = local.year * 12 + local.month - 1 - (months - 1)
    year, month = divmod(index, 12)
    start = dt.datetime(year, month + 1, 1, tzinfo=LOCAL)
    return year * 100 + month + 1, local.year * 100 + local.month, start


def _columns(model: Any, names: list[str]) -> tuple[list[str], list[Any]]:
    """The table's columns in our order, plus any column a later migration added, with its default."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    extra = [f for name, f in fields.items() if name not in names and name != "id"]
    for f in extra:
        if not f.has_default() and not f.null:
            raise benchmarks.BenchError(f"generator does not know how to fill {model.__name__}.{f.attname}")
    return [fields[n].column for n in names] + [f.column for f in extra], [f.get_default() for f in extra]


class Writer:
    """Inserts rows fast: executemany on SQLite, COPY on PostgreSQL. Times are adapted once per value."""

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self.case_cols, self.case_extra = _columns(Case, CASE_FIELDS)
        self.assign_cols, self.assign_extra = _columns(Assignment, ASSIGNMENT_FIELDS)
        if self.pg:
            self.time: Callable[[float], Any] = lambda ts: dt.datetime.fromtimestamp(ts, dt.UTC)
        else:
            # What Django stores in SQLite: naive UTC text.
            self.time = lambda ts: dt.datetime.fromtimestamp(ts, dt.UTC).replace(tzinfo=None).isoformat(" ")

    def insert(self, table: str, cols: list[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.pg:
            with connection.cursor() as cursor:
                raw = cursor.cursor
                with raw.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            connection.ensure_connection()
            connection.connection.executemany(sql, rows)


@dataclass
class Generated:
    cases: int = 0
    assignments: int = 0
    seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)


def _timestamps(rng: random.Random, n: int, start: float, end: float) -> list[float]:
    """``n`` sorted moments in [start, end): weekdays busier than weekends, days busier than nights."""
    days = max(1, int((end - start) // DAY))
    hour = Picker(range(24), HOUR_WEIGHTS)
    out: list[float] = []
    while len(out) < n:
        day = rng.randrange(days)
        ts = start + day * DAY + hour(rng) * HOUR + rng.random() * HOUR
        weekday = dt.datetime.fromtimestamp(ts, LOCAL).weekday()
        if ts < end and (weekday < 5 or rng.random() < 0.7):
            out.append(ts)
    out.sort()
    return out


def generate_cases(
    world: World, n: int, *, seed: int, now: dt.datetime, write: Callable[[str], None]
) -> Generated:
    """Add ``n`` cases received over the 12 months before ``now``, in batches of :data:`BATCH`."""
    rng = random.Random(seed * 7919 + n)
    talker = Talker(world, rng)
    writer = Writer()
    result = Generated()
    started = time.perf_counter()
    _, _, first = month_window(now)
    now_ts = now.timestamp()
    moments = _timestamps(rng, n, first.timestamp(), now_ts - 2 * HOUR)
    counters = dict(CaseNumber.objects.values_list("day", "last"))
    next_id = (Case.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    first_id = next_id
    all_units = list(world.unit_ids.values())
    T = writer.time

    def month(ts: float) -> int:
        local = dt.datetime.fromtimestamp(ts, LOCAL)
        return local.year * 100 + local.month

    def accepted(disp: float) -> float:
        """When a unit accepts (签收): usually within the 2-hour limit, sometimes much later."""
        return disp + min(rng.lognormvariate(math.log(40 * 60), 1.0), 3 * DAY)

    def assignment(
        case_id: int, unit: int, role: str, disp: float, accept: float | None, done: float | None
    ) -> tuple[Any, ...]:
        """One unit's part: dispatched at ``disp``, accepted at ``accept`` (None: not yet), done at ``done``."""
        if accept is None:
            status, accepted_at, on_time, handler = AssignmentStatus.DISPATCHED, None, None, None
        else:
            status, accepted_at = AssignmentStatus.ACCEPTED, T(accept)
            on_time, handler = accept <= disp + 2 * HOUR, world.handler_of_unit.get(unit)
        if done is not None and accept is not None:
            status = AssignmentStatus.DONE
        note = (
            "已配合主办单位现场核查。"
            if role == AssignmentRole.ASSIST and status == AssignmentStatus.DONE
            else ""
        )
        return (case_id, unit, role, status, T(disp), month(disp), T(disp + 2 * HOUR), accepted_at, on_time,
                handler, None, "", note, T(done) if done is not None and status == AssignmentStatus.DONE else None,
                *writer.assign_extra)  # fmt: skip

    def withdrawn(case_id: int, unit: int, disp: float) -> tuple[Any, ...]:
        """A wrong dispatch, sent back and approved: the unit's part leaves the response rate."""
        return (case_id, unit, AssignmentRole.LEAD, AssignmentStatus.WITHDRAWN, T(disp), month(disp),
                T(disp + 2 * HOUR), None, None, None, T(disp + HOUR), "不属于本单位职责范围，请改派。", "", None,
                *writer.assign_extra)  # fmt: skip

    for batch_start in range(0, n, BATCH):
        case_rows: list[tuple[Any, ...]] = []
        assign_rows: list[tuple[Any, ...]] = []
        for ts in moments[batch_start : batch_start + BATCH]:
            cid = next_id
            next_id += 1
            p = talker()
            topic = p.topic
            local = dt.datetime.fromtimestamp(ts, LOCAL)
            day = local.date()
            counters[day] = counters.get(day, 0) + 1
            sla = SlaKind.EMERGENCY if p.urgent else topic.sla_kind
            status = CaseStatus.RECEIVED
            lead = dispatched = due = feedback_due = replied = on_time = closed = None
            solved = satisfaction = satisfied = rated = rated_month = merged_into = None
            reply_text, overdue, due_soon, updated = "", False, False, ts
            unit = world.unit_for(topic, p.place)
            roll = rng.random()
            if roll < 0.007 and cid > first_id:
                status, merged_into = CaseStatus.MERGED, rng.randint(max(first_id, cid - 500), cid - 1)
                updated = ts + HOUR
            elif topic.demand is INQUIRY and roll < 0.6:
                # Answered at once from the knowledge base (直接答复), then called back.
                replied, on_time, status = ts + rng.uniform(60, 900), True, CaseStatus.REPLIED
                reply_text, updated = REPLIES[-1], replied
            elif unit is not None:
                disp = ts + min(rng.expovariate(1 / (1.5 * HOUR)), 2 * DAY) + 300
                if disp <= now_ts and rng.random() < 0.03:
                    assign_rows.append(withdrawn(cid, rng.choice(all_units), disp))
                    disp += 2 * HOUR + rng.uniform(0, 4 * HOUR)
                if disp <= now_ts:
                    lead, dispatched, status, updated = unit, disp, CaseStatus.DISPATCHED, disp
                    due = disp + SLA_SECONDS[sla]
                    feedback_due = disp + 2 * HOUR if p.urgent else None
                    accept: float | None = accepted(disp)
                    took = min(rng.lognormvariate(math.log(SLA_SECONDS[sla] / 3), 0.8), 60 * DAY)
                    reply_at: float | None = max(disp + took, (accept or 0) + 600)
                    if accept is not None and accept > now_ts:
                        accept = reply_at = None
                    elif reply_at is not None and reply_at > now_ts:
                        reply_at = None
                    assign_rows.append(assignment(cid, unit, AssignmentRole.LEAD, disp, accept, reply_at))
                    other = rng.choice(all_units)
                    if rng.random() < 0.08 and other != unit:
                        helper = accepted(disp)
                        assign_rows.append(
                            assignment(
                                cid,
                                other,
                                AssignmentRole.ASSIST,
                                disp,
                                helper if helper <= now_ts else None,
                                reply_at,
                            )
                        )
                    if accept is None:
                        pass  # waiting for the unit to accept
                    elif reply_at is None:
                        status = CaseStatus.IN_PROGRESS if rng.random() < 0.7 else CaseStatus.ACCEPTED
                        overdue, due_soon = now_ts > due, now_ts <= due < now_ts + DAY
                    else:
                        status, replied = CaseStatus.REPLIED, reply_at
                        on_time, overdue = reply_at <= due, reply_at > due
                        reply_text, updated = rng.choice(REPLIES[:3]), reply_at
            if replied is not None:
                callback = replied + rng.uniform(2 * HOUR, 3 * DAY)
                if callback <= now_ts and rng.random() < 0.97:
                    status, closed, updated = CaseStatus.CLOSED, callback, callback
                    if rng.random() < 0.88:  # reached on the phone; the others close unrated
                        solved = rng.random() < 0.82
                        satisfaction = (_SATISFACTION_SOLVED if solved else _SATISFACTION_UNSOLVED)(rng)
                        satisfied, rated, rated_month = satisfaction >= 4, callback, month(callback)
            result.statuses[status] += 1
            category = world.categories[topic.code]
            case_rows.append((
                cid, f"{day:%Y%m%d}{counters[day]:05d}", p.channel, p.demand_type, category.pk, category.path,
                p.title, p.content, p.citizen_name, p.citizen_phone, None, p.anonymous, p.address, p.lng, p.lat,
                p.place.grid_id, p.place.community_id, p.place.street_id, p.place.district_id, p.place.area_path,
                "urgent" if p.urgent else "normal", sla, status, lead, world.operator.pk, T(ts),
                local.year * 100 + local.month, rated_month, None if dispatched is None else T(dispatched),
                None if due is None else T(due), None if feedback_due is None else T(feedback_due),
                None if replied is None else T(replied), reply_text, on_time, None if closed is None else T(closed),
                solved, satisfaction, satisfied, None if rated is None else T(rated), "", 0, overdue, due_soon,
                rng.random() < 0.01, merged_into, None, None, "", T(updated), *writer.case_extra,
            ))  # fmt: skip
        with transaction.atomic():
            writer.insert(Case._meta.db_table, writer.case_cols, case_rows)
            writer.insert(Assignment._meta.db_table, writer.assign_cols, assign_rows)
        result.cases += len(case_rows)
        result.assignments += len(assign_rows)
        done = batch_start + len(case_rows)
        if done % (BATCH * 10) == 0 or done == n:
            elapsed = time.perf_counter() - started
            write(f"  generated {done:,} / {n:,} cases ({done / elapsed:,.0f} cases/s)")
    with transaction.atomic():
        for day, last in counters.items():
            CaseNumber.objects.update_or_create(day=day, defaults={"last": last})
        if connection.vendor == "postgresql":
            from django.core.management.color import no_style

            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [Case, Assignment]):
                    cursor.execute(sql)
    result.seconds = time.perf_counter() - started
    return result


# --------------------------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------------------------


def _sql(query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def _token(user: User) -> str:
    _, raw = core_services.token_create(actor=user, user=user, name="bench")
    return raw


def _revoke_bench_tokens() -> None:
    from shizhi.core.models import ApiToken

    for t in ApiToken.objects.filter(name="bench", revoked_at__isnull=True).select_related("user"):
        core_services.token_revoke(actor=t.user, token=t)


@dataclass
class Throughput:
    label: str
    per_round: int
    sample: Sample = field(default_factory=Sample)
    note: str = ""
    skipped: str = ""

    @property
    def per_second(self) -> float:
        return self.per_round / self.sample.median if self.sample.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        if self.skipped:
            return {"skipped": self.skipped}
        return {
            "cases_per_s": round(self.per_second, 1),
            "ms_per_case": round(1000 * self.sample.median / self.per_round, 3),
            "cases_per_round": self.per_round,
            "round_ms": self.sample.as_dict(),
            "note": self.note,
        }


def _rounds(fn: Callable[[int], None], rounds: int, per_round: int, label: str) -> Throughput:
    result = Throughput(label, per_round)
    for r in range(rounds):
        started = time.perf_counter()
        fn(r)
        result.sample.seconds.append(time.perf_counter() - started)
    return result


class ServerDriver:
    """``shizhi serve`` in a subprocess, fed by threads over keep-alive connections."""

    def __init__(self, ctx: BenchContext, token: str, threads: int) -> None:
        self.port = benchmarks.free_port()
        self.log = ctx.scratch_dir / "serve.log"
        self.token, self.threads = token, threads
        self.reconnects = 0
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "shizhi", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not benchmarks.wait_for_port(self.port, 60, alive=lambda: self.proc.poll() is None):
            self.stop()
            tail = self.log.read_text(errors="replace")[-500:]
            raise benchmarks.BenchError(f"shizhi serve did not start: {tail}")

    def post_all(self, bodies: list[bytes]) -> None:
        work: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        for b in bodies:
            work.put(b)
        for _ in range(self.threads):
            work.put(None)
        errors: list[str] = []
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

        def worker() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            while (body := work.get()) is not None:
                conn.request("POST", "/api/v1/cases", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 201:
                    errors.append(f"{resp.status} {data[:200]!r}")
                if resp.will_close:
                    conn.close()
                    self.reconnects += 1
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            conn.close()

        pool = [threading.Thread(target=worker) for _ in range(self.threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        if errors:
            raise benchmarks.BenchError(f"{len(errors)} requests failed, e.g. {errors[0]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def bench_intake(ctx: BenchContext, world: World, per_round: int, rounds: int) -> dict[str, Any]:
    rng = random.Random(4242)
    talker = Talker(world, rng)
    first_new = (Case.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    token = _token(world.operator)
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    out: dict[str, Throughput] = {}
    operator = User.objects.get(pk=world.operator.pk)

    # 1. The service function, one transaction per case.
    batches = [[talker() for _ in range(per_round)] for _ in range(rounds + 1)]
    services.case_create(actor=operator, data=batches[0][0].case_in(world))  # warm-up
    created: list[int] = []

    def service_round(r: int) -> None:
        for p in batches[r + 1]:
            created.append(services.case_create(actor=operator, data=p.case_in(world)).pk)

    out["service"] = _rounds(service_round, rounds, per_round, "service case_create")

    # 2. HTTP through django.test.Client (the whole Django stack, no socket).
    bodies = [
        [json.dumps(talker().as_json(), ensure_ascii=False) for _ in range(per_round)] for _ in range(rounds)
    ]

    def client_round(r: int) -> None:
        for body in bodies[r]:
            resp = client.post("/api/v1/cases", body, content_type="application/json", **auth)  # type: ignore[arg-type]
            if resp.status_code != 201:
                raise benchmarks.BenchError(f"POST /api/v1/cases: {resp.status_code} {resp.content[:300]!r}")

    client.post("/api/v1/cases", json.dumps(talker().as_json()), content_type="application/json", **auth)  # type: ignore[arg-type]
    out["http_client"] = _rounds(client_round, rounds, per_round, "HTTP django.test.Client")

    # 3. HTTP against a real server, concurrent keep-alive connections.
    threads = int(ctx.options.get("threads") or 4)
    server_label = f"HTTP shizhi serve ({threads} threads, keep-alive)"
    if ctx.options.get("no_server"):
        out["http_server"] = Throughput(server_label, per_round, skipped="--no-server")
    else:
        connection.close()  # the server process writes too; let go of the file between rounds
        try:
            driver = ServerDriver(ctx, token, threads)
        except benchmarks.BenchError as exc:
            out["http_server"] = Throughput(server_label, per_round, skipped=str(exc))
        else:
            try:
                raw = [[json.dumps(talker().as_json(), ensure_ascii=False).encode() for _ in range(per_round)]
                       for _ in range(rounds + 1)]  # fmt: skip
                driver.post_all(raw[0][: max(threads * 5, 20)])  # warm-up: imports, connections, plans
                out["http_server"] = _rounds(
                    lambda r: driver.post_all(raw[r + 1]), rounds, per_round, server_label
                )
                out["http_server"].note = f"{driver.reconnects} reconnects"
            finally:
                driver.stop()

    # 4. Baseline: the rows case_create wrote, inserted again by plain INSERTs, one transaction each.
    cols = [str(f.column) for f in Case._meta.concrete_fields if f.column != "id"]
    table = Case._meta.db_table
    rows = _sql(f"SELECT {', '.join(cols)} FROM {table} WHERE id IN ({', '.join(map(str, created))})")
    number_at, key_at = cols.index("number"), cols.index("idempotency_key")
    copies = []
    for i, row in enumerate(rows):
        values = list(row)
        values[number_at], values[key_at] = f"B{i:013d}", None
        copies.append(tuple(values))
    connection.ensure_connection()
    raw_conn = connection.connection
    placeholder = "%s" if connection.vendor == "postgresql" else "?"
    insert = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([placeholder] * len(cols))})"
    cursor = raw_conn.cursor()
    chunks = [copies[i * per_round : (i + 1) * per_round] for i in range(rounds)]

    def sql_round(r: int) -> None:
        for values in chunks[r]:
            cursor.execute(insert, values)  # autocommit: one transaction per row
            if connection.vendor == "sqlite" and raw_conn.in_transaction:
                raw_conn.commit()

    out["sql"] = _rounds(sql_round, rounds, per_round, "SQL INSERT (same rows)")
    cursor.close()
    # Leave the data set as it was: N generated cases.
    Case.objects.filter(id__gte=first_new).delete()
    _revoke_bench_tokens()
    baseline = out["sql"].sample.median
    result: dict[str, Any] = {}
    for key, t in out.items():
        d = t.as_dict()
        if not t.skipped and key != "sql":
            d["ratio_to_sql"] = ratio(t.sample.median, baseline)
        result[key] = d
    result["labels"] = {k: t.label for k, t in out.items()}
    return result


def bench_rates(world: World, months: tuple[int, int], repeat: int) -> dict[str, Any]:
    first, last = months
    supervisor = User.objects.get(pk=world.supervisor.pk)
    period = rates.Period.months(first, last)
    out: list[rates.Rates] = []

    def orm() -> None:
        out[:] = rates.compute_rates(actor=supervisor, period=period, group="unit", by_month=True)

    a, c = Assignment._meta.db_table, Case._meta.db_table
    baseline: list[list[tuple[Any, ...]]] = []

    def sql() -> None:
        baseline[:] = [
            _sql(
                f"SELECT unit_id, dispatched_month, COUNT(*), SUM(CASE WHEN accepted_on_time THEN 1 ELSE 0 END) "
                f"FROM {a} WHERE status <> %s AND dispatched_month >= %s AND dispatched_month <= %s "
                f"GROUP BY unit_id, dispatched_month",
                [AssignmentStatus.WITHDRAWN, first, last],
            ),
            _sql(
                f"SELECT lead_unit_id, rated_month, COUNT(*), SUM(CASE WHEN solved THEN 1 ELSE 0 END), "
                f"SUM(CASE WHEN satisfied THEN 1 ELSE 0 END) FROM {c} "
                f"WHERE solved IS NOT NULL AND rated_month >= %s AND rated_month <= %s "
                f"GROUP BY lead_unit_id, rated_month",
                [first, last],
            ),
        ]

    orm_sample = measure(orm, repeat)
    sql_sample = measure(sql, repeat)
    totals = (sum(r.dispatched for r in out), sum(r.rated for r in out))
    sql_totals = (sum(r[2] for r in baseline[0]), sum(r[2] for r in baseline[1]))
    if totals != sql_totals:
        raise benchmarks.BenchError(f"compute_rates and the SQL baseline disagree: {totals} != {sql_totals}")
    return {
        "months": [first, last],
        "rows": len(out),
        "dispatched": totals[0],
        "rated": totals[1],
        "orm": orm_sample.as_dict(),
        "sql": sql_sample.as_dict(),
        "ratio_to_sql": ratio(orm_sample.median, sql_sample.median),
    }


@dataclass
class ListCase:
    name: str
    params: dict[str, str]
    where: list[str]
    args: list[Any]


def list_cases_for(world: World, actor: str, now: dt.datetime) -> list[ListCase]:
    """The filters of the list screen, each with its hand-written SQL condition."""
    unit = world.handler_unit if actor == "handler" else world.busy_unit
    category = Category.objects.get(code=TOPICS[0].parent[:2])
    local = now.astimezone(LOCAL)
    month_index = local.year * 12 + local.month - 1 - 6
    since = dt.datetime(month_index // 12, month_index % 12 + 1, 1, tzinfo=LOCAL)
    until = dt.datetime((month_index + 1) // 12, (month_index + 1) % 12 + 1, 1, tzinfo=LOCAL)
    adapt = connection.ops.adapt_datetimefield_value
    assigned = (
        f"EXISTS (SELECT 1 FROM {Assignment._meta.db_table} a WHERE a.case_id = c.id AND a.unit_id = %s "
        "AND a.status <> 'withdrawn')"
    )
    like = f"%{SEARCH_WORD}%"
    return [
        ListCase("none", {}, [], []),
        ListCase("status", {"status": "in_progress"}, ["c.status = %s"], ["in_progress"]),
        ListCase("category", {"category": category.code}, ["c.category_path LIKE %s"], [category.path + "%"]),
        ListCase("unit", {"unit": str(unit.pk)}, [assigned], [unit.pk]),
        ListCase("area", {"area": str(world.street.pk)}, ["c.area_path LIKE %s"], [world.street.path + "%"]),
        ListCase(
            "date",
            {"since": since.isoformat(), "until": until.isoformat()},
            ["c.received_at >= %s", "c.received_at < %s"],
            [adapt(since), adapt(until)],
        ),
        ListCase("overdue", {"overdue": "true"}, ["c.is_overdue"], []),
        ListCase(
            "text",
            {"text": SEARCH_WORD},
            ["(c.title LIKE %s OR c.content LIKE %s OR c.number = %s)"],
            [like, like, SEARCH_WORD],
        ),
    ]


def _list_sql(handler_unit: int | None, lc: ListCase) -> tuple[str, list[Any]]:
    """The hand-written first page: the same columns the API shows, the same conditions, ORDER BY, LIMIT."""
    c, cat, unit, area = (
        Case._meta.db_table,
        Category._meta.db_table,
        Unit._meta.db_table,
        Area._meta.db_table,
    )
    where, args = list(lc.where), list(lc.args)
    if handler_unit is not None and not (lc.name == "unit" and lc.args == [handler_unit]):
        where.insert(
            0,
            f"EXISTS (SELECT 1 FROM {Assignment._meta.db_table} a WHERE a.case_id = c.id AND a.unit_id = %s "
            "AND a.status <> 'withdrawn')",
        )
        args.insert(0, handler_unit)
    query = (
        "SELECT c.id, c.number, c.channel, c.demand_type, c.title, c.status, c.urgency, c.received_at, c.due_at, "
        "c.is_overdue, c.is_due_soon, c.flagged, c.address, c.lng, c.lat, cat.code, cat.full_name, u.id, u.name, "
        f"s.id, s.name FROM {c} c JOIN {cat} cat ON cat.id = c.category_id "
        f"LEFT JOIN {unit} u ON u.id = c.lead_unit_id LEFT JOIN {area} s ON s.id = c.street_id"
    )
    query += (
        " WHERE " + " AND ".join(where) if where else ""
    ) + f" ORDER BY c.received_at DESC, c.id DESC LIMIT {PAGE}"
    return query, args


def _list_one(
    client: Client, token: str, actor: User, lc: ListCase, sql: tuple[str, list[Any]], repeat: int
) -> dict[str, Any]:
    """One filter for one actor: the API page, the selector's queries alone, and the bare SELECT."""
    api_ids: list[int] = []
    sql_ids: list[int] = []
    params = {**lc.params, "limit": str(PAGE)}
    filters = sel.CaseFilters(
        status=lc.params.get("status"),
        category=lc.params.get("category"),
        unit=int(lc.params["unit"]) if "unit" in lc.params else None,
        area=int(lc.params["area"]) if "area" in lc.params else None,
        since=dt.datetime.fromisoformat(lc.params["since"]) if "since" in lc.params else None,
        until=dt.datetime.fromisoformat(lc.params["until"]) if "until" in lc.params else None,
        overdue=True if "overdue" in lc.params else None,
        text=lc.params.get("text"),
    )

    def api() -> None:
        resp = client.get("/api/v1/cases", params, HTTP_AUTHORIZATION=f"Bearer {token}")
        if resp.status_code != 200:
            raise benchmarks.BenchError(
                f"GET /api/v1/cases {params}: {resp.status_code} {resp.content[:200]!r}"
            )
        api_ids[:] = [item["id"] for item in resp.json()["items"]]

    def orm() -> None:
        # The selector's page as one query: the page and one more row (is there a next page?).
        list(sel.case_list(actor=actor, filters=filters).select_related("street")[: PAGE + 1])

    def bare() -> None:
        sql_ids[:] = [r[0] for r in _sql(*sql)]

    api_s, orm_s, sql_s = measure(api, repeat), measure(orm, repeat), measure(bare, repeat)
    if api_ids != sql_ids:
        raise benchmarks.BenchError(f"list {lc.name}: the API and the SQL baseline return different rows")
    return {
        "params": lc.params,
        "rows": len(api_ids),
        "api": api_s.as_dict(),
        "orm": orm_s.as_dict(),
        "sql": sql_s.as_dict(),
        "ratio_to_sql": ratio(api_s.median, sql_s.median),
    }


def bench_list(
    world: World, repeat: int, now: dt.datetime, report: Callable[[str, str, dict[str, Any]], None]
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    client = Client()
    for actor_name, user in (("operator", world.operator), ("handler", world.handler)):
        token = _token(user)
        actor = User.objects.get(pk=user.pk)
        scope = world.handler_unit.pk if actor_name == "handler" else None
        results[actor_name] = {}
        for lc in list_cases_for(world, actor_name, now):
            figures = _list_one(client, token, actor, lc, _list_sql(scope, lc), repeat)
            results[actor_name][lc.name] = figures
            report(actor_name, lc.name, figures)
    _revoke_bench_tokens()
    return results


# --------------------------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", type=int, required=True, help="how many cases to generate (e.g. 1000000)")
    parser.add_argument("--scale", default="city", choices=("small", "city"), help="demo city (default city)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--intake-cases", type=int, default=None, help="cases per intake round (default min(N, 500))"
    )
    parser.add_argument("--threads", type=int, default=4, help="client threads against shizhi serve")
    parser.add_argument("--no-server", action="store_true", help="skip the real-server intake measurement")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: intake, rates, list")


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:,.1f} ms"


def _mark(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def run(ctx: BenchContext) -> dict[str, Any]:
    opts = ctx.options
    n, repeat, write = int(opts["cases"]), ctx.repeat, ctx.write
    if n < 1:
        raise benchmarks.BenchError("--cases must be at least 1")
    skip = {s.strip() for s in str(opts.get("skip") or "").split(",") if s.strip()}
    vendor = connection.vendor
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    started = time.perf_counter()
    world = build_world(opts.get("scale") or "city", int(opts.get("seed") or 1))
    write(
        f"world: demo city ({opts.get('scale') or 'city'}): {len(world.places)} grids, {len(world.unit_ids)} units, "
        f"{len(TOPICS)} topics; built in {time.perf_counter() - started:.1f} s"
    )
    have = Case.objects.count()
    result: dict[str, Any] = {"requested_cases": n, "repeat": repeat, "targets": []}
    if have < n:
        write(f"generating {n - have:,} cases ({have:,} already there) ...")
        gen = generate_cases(world, n - have, seed=int(opts.get("seed") or 1), now=now, write=write)
        if vendor == "postgresql":
            # What autovacuum does soon after a bulk load: statistics for the planner and the visibility map
            # that lets index-only scans skip the table. SQLite gets no ANALYZE: Shizhi never runs one.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        write(
            f"generate: {gen.cases:,} cases + {gen.assignments:,} assignments in {gen.seconds:.1f} s "
            f"({gen.cases / gen.seconds:,.0f} cases/s)"
        )
        result["generate"] = {
            "cases": gen.cases,
            "assignments": gen.assignments,
            "seconds": round(gen.seconds, 2),
            "cases_per_s": round(gen.cases / gen.seconds, 1),
            "statuses": dict(gen.statuses),
        }
    else:
        write(f"generate: reusing {have:,} cases already in the scratch database")
        result["generate"] = {"reused": have}
    result["cases"] = Case.objects.count()
    result["assignments"] = Assignment.objects.count()
    write(
        f"data: {result['cases']:,} cases, {result['assignments']:,} assignments on {vendor}; "
        f"medians of {repeat} repetitions"
    )
    targets: list[dict[str, Any]] = result["targets"]

    if "intake" not in skip:
        per_round = int(opts.get("intake_cases") or min(n, 500))
        write(f"== intake: {repeat} rounds x {per_round} cases, one transaction each ==")
        intake = bench_intake(ctx, world, per_round, repeat)
        result["intake"] = intake
        for key in ("service", "http_client", "http_server", "sql"):
            d, label = intake[key], intake["labels"][key]
            if "skipped" in d:
                write(f"  intake {key:<12} {label}: skipped ({d['skipped']})")
                continue
            line = f"  intake {key:<12} {d['cases_per_s']:>9,.1f} cases/s  {d['ms_per_case']:>7.2f} ms/case"
            if key != "sql":
                line += f"  {d['ratio_to_sql']:>6.2f}x the SQL time"
            if key == "http_server":
                ok = d["cases_per_s"] >= HTTP_TARGET
                targets.append({"name": "intake_http_server", "value": d["cases_per_s"], "target": f">= {HTTP_TARGET}", "met": ok})  # fmt: skip
                line += f"  target >= {HTTP_TARGET:.0f}: {_mark(ok)}"
            write(f"{line}   [{label}{', ' + d['note'] if d.get('note') else ''}]")

    if "rates" not in skip:
        first, last, _ = month_window(now)
        write(f"== three rates: compute_rates(group=unit, by_month=True), months {first}..{last} ==")
        r = bench_rates(world, (first, last), repeat)
        result["rates"] = r
        limit = RATES_TARGET.get(vendor, 2.0)
        ok = r["orm"]["median_ms"] <= 1000 * limit
        if n >= 1_000_000:
            targets.append(
                {"name": "rates", "value_ms": r["orm"]["median_ms"], "target_ms": 1000 * limit, "met": ok}
            )
        write(
            f"  rates        {r['orm']['median_ms']:>10,.1f} ms  SQL GROUP BY {r['sql']['median_ms']:,.1f} ms  "
            f"ratio {r['ratio_to_sql']}  ({r['rows']} unit-months, {r['dispatched']:,} assignments, "
            f"{r['rated']:,} ratings)  target <= {limit:.0f} s at 1M: {_mark(ok)}"
        )

    if "list" not in skip:
        write(f"== case list: first page of GET /api/v1/cases (limit {PAGE}), median ms ==")
        write(
            "  API = the whole request (django.test.Client); ORM = case_list's page as one query "
            f"({PAGE + 1} rows); SQL = a hand-written SELECT ... ORDER BY ... LIMIT {PAGE}; ratio = API / SQL"
        )
        write(
            f"  {'actor':<9} {'filter':<9} {'API':>9} {'ORM':>9} {'SQL':>9} {'ratio':>7} {'rows':>5}  target"
        )

        def report(actor_name: str, name: str, d: dict[str, Any]) -> None:
            ok = d["api"]["median_ms"] <= 1000 * LIST_TARGET
            if n >= 1_000_000:
                targets.append({"name": f"list_{actor_name}_{name}", "value_ms": d["api"]["median_ms"], "target_ms": 100, "met": ok})  # fmt: skip
            write(
                f"  {actor_name:<9} {name:<9} {d['api']['median_ms']:>9.1f} {d['orm']['median_ms']:>9.1f} "
                f"{d['sql']['median_ms']:>9.1f} {d['ratio_to_sql'] or 0:>7.2f} {d['rows']:>5}  "
                f"<= 100 ms: {_mark(ok)}"
            )

        result["list"] = bench_list(world, repeat, now, report)

    missed = [t["name"] for t in targets if not t["met"]]
    write(
        f"targets: {len(targets) - len(missed)} of {len(targets)} met"
        + (f"; missed: {', '.join(missed)}" if missed else "")
    )
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


benchmarks.register(
    benchmarks.Benchmark(
        name="hotline",
        help="接诉即办：受理吞吐、三率统计和工单列表（在 N 条生成的工单上，与手写 SQL 对比）",
        add_arguments=add_arguments,
        run=run,
    )
)
