"""The demo city's 高效办成一件事 (演示数据), added to ``shizhi seed demo`` after the hotline:

1. the national reference list is seeded and published (``onething.seed.seed_reference``);
2. departments the list names but the demo city lacks (市税务局, 市残疾人联合会, ... and, at the small scale, most
   city departments) are added as units with a handler and a leader (demo password), and every item whose
   matters had no unit gets a new published version linking them (关联本市承办单位), through the list services;
3. every item has a roll-out plan in every district, at different stages (planned, piloting, online, fully
   online) with dated milestones; some are behind schedule or have overdue milestones, so the alerts show;
4. a year of applications per offered item and district (a few thousand at city scale, a few hundred at small
   scale), written in bulk but consistent: sub-tasks in dependency order with ready / accepted / finished times
   on the working-day calendar, events, materials (shared certificates and uploads), some 容缺 promises, ratings
   mostly 5 with some low ones and their reasons; most on time, some late, a few rejected or withdrawn; the most
   recent still open where their departments have not finished by now;
5. two applications filed through the real services by the demo citizen, waiting in the demo unit handler's
   inbox (市城市管理局: 城市道路挖掘占用许可 of 水电气网联合报装, 户外招牌设置备案 of 开办餐饮店).

The same seed on the same day gives the same rows. Nothing is done when applications already exist."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from shizhi.core import workcalendar
from shizhi.core.audit import audit_record
from shizhi.core.models import Area, AreaLevel, Role, Unit, UnitKind, User
from shizhi.core.services import ContactIn, RoleIn, UnitRow, units_import, users_import
from shizhi.demo import names
from shizhi.demo.registry import SeedOptions, SeedOutcome, extend_demo
from shizhi.demo.scales import CITY_CODE, CITY_NAME
from shizhi.onething import services
from shizhi.onething.content import MatterSpec, material_set, merged_form, spec_of, topological_order
from shizhi.onething.metrics import critical_path
from shizhi.onething.models import (
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationStatus,
    Channel,
    FieldType,
    ItemVersion,
    MaterialSource,
    Milestone,
    Promise,
    Rating,
    Rollout,
    RolloutState,
    Subject,
    SubTask,
    SubTaskStatus,
    VersionStatus,
)
from shizhi.onething.services.applications import BAD_REASONS, GOOD_REASONS

A = ApplicationStatus
S = SubTaskStatus

# Applications per month at full roll-out, per unit of item weight and district weight.
MONTHLY = {"small": 0.7, "city": 2.2}
# How often each item is applied for (relative): births, school entry and the social security card lead.
ITEM_WEIGHTS = {
    "GJ2024-01": 10,
    "GJ2024-02": 6,
    "GJ2024-03": 8,
    "GJ2024-04": 2,
    "GJ2024-05": 6,
    "GJ2024-06": 1,
    "GJ2024-07": 6,
    "GJ2024-08": 4,
    "GJ2024-09": 1,
    "GJ2024-10": 3,
    "GJ2024-11": 3,
    "GJ2024-12": 1,
    "GJ2024-13": 1,
}
DISTRICT_WEIGHTS = (1.0, 1.0, 0.8, 0.6, 0.5, 0.5)
PHASE_FACTOR: dict[str, float] = {
    RolloutState.PILOTING: 0.3,
    RolloutState.ONLINE: 0.8,
    RolloutState.FULLY_ONLINE: 1.0,
}
ONLINE_CHANNEL_SHARE: dict[str, float] = {
    RolloutState.PILOTING: 0.3,
    RolloutState.ONLINE: 0.55,
    RolloutState.FULLY_ONLINE: 0.8,
}
MILESTONES = (
    # title, the state whose target date it is tied to, days before that date
    ("制定实施方案", RolloutState.PILOTING, 45),
    ("系统对接与数据共享", RolloutState.PILOTING, 10),
    ("窗口人员培训", RolloutState.PILOTING, 0),
    ("全区推广上线", RolloutState.ONLINE, 0),
    ("全程网办验收", RolloutState.FULLY_ONLINE, 0),
)
ORDER = (RolloutState.PLANNED, RolloutState.PILOTING, RolloutState.ONLINE, RolloutState.FULLY_ONLINE)
TARGET_FIELD = {
    RolloutState.PILOTING: "target_pilot_date",
    RolloutState.ONLINE: "target_online_date",
    RolloutState.FULLY_ONLINE: "target_fully_online_date",
}

# Departments the reference list names that the demo city does not have (its units are the hotline's).
EXTRA_UNITS = (
    (
        "dept-cl",
        "市残疾人联合会",
        "市残联",
        UnitKind.SOCIAL_ORGANISATION,
        "残疾人证办理、残疾人权益保障和康复、就业等服务。",
    ),
    (
        "dept-gjj",
        "市住房公积金管理中心",
        "公积金中心",
        UnitKind.DEPARTMENT,
        "住房公积金归集、提取、贷款和单位登记变更。",
    ),
    (
        "dept-tyjr",
        "市退役军人事务局",
        "市退役军人局",
        UnitKind.DEPARTMENT,
        "退役军人移交安置、优待抚恤、就业创业和权益维护。",
    ),
    (
        "dept-tax",
        "国家税务总局临江市税务局",
        "市税务局",
        UnitKind.DEPARTMENT,
        "税费征收管理、纳税服务、税务登记和纳税信用评价。",
    ),
    (
        "dept-xf",
        "市消防救援支队",
        "市消防救援支队",
        UnitKind.DEPARTMENT,
        "火灾预防、消防监督检查和公众聚集场所营业前消防安全检查。",
    ),
    (
        "dept-fgw",
        "市发展和改革委员会",
        "市发改委",
        UnitKind.DEPARTMENT,
        "经济社会发展规划、社会信用体系建设和信用修复。",
    ),
    (
        "court-zy",
        "临江市中级人民法院",
        "市中院",
        UnitKind.DEPARTMENT,
        "审判工作，企业破产案件审理和破产管理人指定。",
    ),
)
# Reference department names that differ from the unit's name.
NAME_ALIASES = {
    "市税务局": "国家税务总局临江市税务局",
    "市中级人民法院": "临江市中级人民法院",
}
REJECT_REASONS = (
    "申请材料与实际情况不符，经核查不符合办理条件",
    "申请人不符合法定条件",
    "该事项已在外地办理",
)
LOW_COMMENTS = ("等了好几天才办好", "材料要求没有一次说清楚", "系统总是提示出错", "窗口排队时间太长")
GOOD_COMMENTS = ("一次就办好了，很方便", "不用跑腿，手机上就办完了", "工作人员很耐心", "")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CHARS_CREDIT = "0123456789ABCDEFGHJKLMNPQRTUWXY"
COMPANY_WORDS = (
    "瑞丰",
    "恒达",
    "江源",
    "新禾",
    "明德",
    "宏图",
    "嘉禾",
    "远航",
    "华盛",
    "金桥",
    "安泰",
    "康源",
)
COMPANY_KINDS = (
    "餐饮管理有限公司",
    "物流有限公司",
    "商贸有限公司",
    "科技有限公司",
    "建设工程有限公司",
    "食品店",
)


def register_demo() -> None:
    extend_demo(_extend)


def _extend(options: SeedOptions) -> SeedOutcome:
    report = seed_onething(scale=options.scale, seed=options.seed)
    return SeedOutcome(created=report.created, text=report.summary())


@dataclass
class OnethingReport:
    created: bool
    message: str
    counts: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    alerts: int = 0
    inbox: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.created:
            return self.message
        c = self.counts
        statuses = "，".join(f"{ApplicationStatus(s).label} {n:,}" for s, n in self.statuses.items())
        states = "，".join(f"{RolloutState(s).label} {n}" for s, n in self.states.items())
        return "\n".join(
            [
                self.message,
                f"  清单 {c['items']} 项已发布（新增承办单位 {c['units']} 个，关联单位后发布新版本 {c['relinked']} 项）",
                f"  推进计划 {c['rollouts']} 个（{states}），节点 {c['milestones']} 个，当前预警 {self.alerts} 条",
                f"  近一年申请 {c['applications']:,} 件：{statuses}；部门子任务 {c['subtasks']:,} 个，评价 {c['ratings']:,} 条",
                *(f"  待办演示：{line}" for line in self.inbox),
                "  办事指南 /onething/ ，部门收件箱 /onething/inbox/ ，常态化推进 /onething/promotion/",
                f"  用时 {self.seconds:.1f} 秒",
            ]
        )


def seed_onething(*, scale: str = "city", seed: int = 1, now: dt.datetime | None = None) -> OnethingReport:
    """Add the 一件事 demo to the demo city (see the module docstring), or do nothing when applications exist.
    Runs inside the caller's transaction (``shizhi seed demo`` is all or nothing)."""
    from shizhi.onething import promotion
    from shizhi.onething.seed import seed_reference

    started = time.perf_counter()
    if scale not in MONTHLY:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(MONTHLY)}")
    if Application.objects.exists() or Rollout.objects.exists():
        return OnethingReport(
            created=False, message="已有一件事申请或推进计划，未生成演示数据，未做任何改动。"
        )
    city = Area.objects.filter(code=CITY_CODE).first()
    if city is None:
        return OnethingReport(created=False, message="没有演示城市，未生成一件事演示数据。")
    now = now or timezone.now()
    rng = random.Random(seed * 7919 + 2024)
    seed_reference()
    new_units = _ensure_units(rng, city)
    relinked = _relink_units()
    versions = list(
        ItemVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .select_related("item")
        .prefetch_related("matters")
        .order_by("item__sort", "item__code")
    )
    districts = list(
        Area.objects.filter(level=AreaLevel.DISTRICT, path__startswith=city.path)
        .only("id", "code", "name", "path")
        .order_by("code")
    )
    today = now.astimezone(workcalendar.local_tz()).date()
    plans = _rollouts(rng, versions, districts, today)
    world = _World.load(versions)
    counts = _applications(rng, scale, plans, world, now)
    inbox = _live_applications(world, districts[0])
    audit_record(
        actor=None,
        action="onething.seed_demo",
        object_type="onething.application",
        changes={"applications": counts["applications"], "scale": scale, "seed": seed},
    )
    statuses = {s: n for s in ApplicationStatus.values if (n := Application.objects.filter(status=s).count())}
    states = {s: n for s in RolloutState.values if (n := Rollout.objects.filter(state=s).count())}
    return OnethingReport(
        created=True,
        message=f"已生成高效办成一件事演示数据（规模 {scale}，随机种子 {seed}）：",
        counts={
            "items": len(versions),
            "units": new_units,
            "relinked": relinked,
            "rollouts": Rollout.objects.count(),
            "milestones": Milestone.objects.count(),
            "applications": Application.objects.count(),
            "subtasks": SubTask.objects.count(),
            "ratings": Rating.objects.count(),
        },
        statuses=statuses,
        states=states,
        alerts=len(promotion.promotion_alerts(today)),
        inbox=inbox,
        seconds=time.perf_counter() - started,
    )


# ---------------------------------------------------------------------------------------------------- units


def _needed_departments() -> set[str]:
    names_: set[str] = set()
    for version in ItemVersion.objects.filter(status=VersionStatus.PUBLISHED).prefetch_related("matters"):
        for m in version.matters.all():
            if m.unit_id is None:
                names_.add(m.department_name)
        if version.lead_unit_id is None:
            names_.add(version.lead_department_name)
    return names_


def _unit_by_name() -> dict[str, Unit]:
    by_name: dict[str, Unit] = {}
    for u in Unit.objects.only("id", "code", "name", "short_name"):
        by_name.setdefault(u.name, u)
        if u.short_name:
            by_name.setdefault(u.short_name, u)
    for alias, name in NAME_ALIASES.items():
        if name in by_name:
            by_name[alias] = by_name[name]
    return by_name


def _ensure_units(rng: random.Random, city: Area) -> int:
    """Create the units the list's departments need and the demo city lacks, each with a handler and a leader
    who sign in with the demo password."""
    from shizhi.demo.services import DEMO_EPOCH, demo_password_hash
    from shizhi.demo.units import DEPARTMENTS, UTILITIES, mobile

    by_name = _unit_by_name()
    specs: dict[str, tuple[str, str, str, str, str]] = {}  # name -> (code, name, short name, kind, duties)
    for d in DEPARTMENTS:
        specs[d.name] = (d.code, d.name, d.short_name, str(UnitKind.DEPARTMENT), d.responsibilities)
    for d in UTILITIES:
        spec = (d.code, d.name, d.short_name, str(UnitKind.PUBLIC_UTILITY), d.responsibilities)
        specs[d.name] = specs[d.short_name] = spec
    for code, name, short, kind, duty in EXTRA_UNITS:
        specs[name] = specs[short] = (code, name, short, str(kind), duty)
    for alias, name in NAME_ALIASES.items():
        specs[alias] = specs[name]
    wanted: dict[str, tuple[str, str, str, str, str]] = {}
    for department in sorted(_needed_departments()):
        if department in by_name or department not in specs:
            continue
        spec = specs[department]
        if not Unit.objects.filter(code=spec[0]).exists():
            wanted[spec[0]] = spec
    if not wanted:
        return 0
    from shizhi.core.models import UnitContact

    used = set(User.objects.exclude(mobile="").values_list("mobile", flat=True))
    used |= set(UnitContact.objects.exclude(mobile="").values_list("mobile", flat=True))
    rows = [
        UnitRow(
            code=code,
            name=name,
            kind=kind,
            area_code=city.code,
            short_name=short,
            responsibilities=duty,
            phone=f"0576-8{rng.randint(1000000, 9999999)}",
            address=f"{CITY_NAME}市民大道1号市民中心",
            contacts=[
                ContactIn(
                    name=names.person_name(rng), title="联络员", mobile=mobile(rng, used), is_primary=True
                )
            ],
        )
        for code, name, short, kind, duty in wanted.values()
    ]
    units_import(actor=None, rows=rows, now=DEMO_EPOCH)
    units = {u.code: u for u in Unit.objects.filter(code__in=list(wanted))}
    password = demo_password_hash()
    users: list[tuple[User, Sequence[RoleIn]]] = []
    for code in wanted:
        for prefix, role in (("h", Role.UNIT_HANDLER), ("l", Role.UNIT_LEADER)):
            username = f"{prefix}-{code}"
            if User.objects.filter(username=username).exists():
                continue
            user = User(
                username=username,
                display_name=names.person_name(rng),
                mobile=mobile(rng, used),
                password=password,
                date_joined=DEMO_EPOCH,
            )
            users.append((user, [RoleIn(role=role, unit=units[code])]))
    users_import(actor=None, users=users)
    return len(wanted)


def _relink_units() -> int:
    """Publish a new version of every item whose matters (or lead) had no unit, linking the units that exist
    now by department name: what the list office does when departments join the platform."""
    by_name = _unit_by_name()
    relinked = 0
    for version in (
        ItemVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .select_related("item")
        .order_by("item__sort")
    ):
        matters = list(version.matters.order_by("sort", "id"))
        gaps = [m for m in matters if m.unit_id is None and m.department_name in by_name]
        lead_gap = version.lead_unit_id is None and version.lead_department_name in by_name
        if not gaps and not lead_gap:
            continue
        content: dict[str, Any] = {"matters": [], "change_note": "关联本市承办单位"}
        for m in matters:
            d = spec_of(m).as_dict()
            if d["unit_id"] is None and m.department_name in by_name:
                d["unit_id"] = by_name[m.department_name].pk
            content["matters"].append(d)
        if lead_gap:
            content["lead_unit_id"] = by_name[version.lead_department_name].pk
        draft = services.version_draft(actor=None, item=version.item, note="关联本市承办单位")
        services.version_update(actor=None, version=draft, content=content)
        services.version_submit(actor=None, version=draft)
        services.version_publish(actor=None, version=draft, note="关联本市承办单位")
        relinked += 1
    return relinked


# -------------------------------------------------------------------------------------------------- roll-out


@dataclass
class Plan:
    rollout: Rollout
    version: ItemVersion
    district_index: int
    # the day each state was reached (planned: never); applications follow them
    reached: dict[str, dt.date]
    struggling: bool = False


def _rollouts(
    rng: random.Random, versions: Sequence[ItemVersion], districts: Sequence[Area], today: dt.date
) -> list[Plan]:
    """A roll-out plan per item and district: the first districts further along, items of the first batch
    ahead of the others; one in six behind its next target date; a few struggling (late, poorly rated)."""
    govs = {u.code: u for u in Unit.objects.filter(code__startswith="gov-")}
    plans: list[Plan] = []
    rollouts: list[Rollout] = []
    milestones: list[Milestone] = []
    owner_names: dict[int, str] = {}
    for i, version in enumerate(versions):
        for j, district in enumerate(districts):
            score = 3.3 - 0.4 * j - 0.12 * i + rng.uniform(-0.7, 0.7)
            state = (
                RolloutState.FULLY_ONLINE
                if score >= 2.6
                else RolloutState.ONLINE
                if score >= 1.7
                else RolloutState.PILOTING
                if score >= 0.8
                else RolloutState.PLANNED
            )
            if state == RolloutState.FULLY_ONLINE and not all(m.online for m in version.matters.all()):
                state = RolloutState.ONLINE  # a matter that needs a window visit: not fully online anywhere
            rank = ORDER.index(state)
            # pilot 8-14 months ago, online 2-5 months later, fully online 2-5 months after that; the states
            # reached so far at least two weeks ago, the others planned ahead.
            reached: dict[str, dt.date] = {}
            targets: dict[str, dt.date] = {}
            day = today - dt.timedelta(days=rng.randint(240, 420))
            previous = day - dt.timedelta(days=30)
            for k, s in enumerate(ORDER[1:], start=1):
                if k > 1:
                    day = day + dt.timedelta(days=rng.randint(60, 150))
                if k <= rank:
                    latest = today - dt.timedelta(days=14 * (rank - k + 1))
                    day = max(min(day, latest), previous + dt.timedelta(days=7))
                    reached[s] = day
                    targets[s] = day + dt.timedelta(days=rng.randint(-20, 10))
                else:
                    day = max(
                        day, today + dt.timedelta(days=rng.randint(20, 90)), previous + dt.timedelta(days=30)
                    )
                    targets[s] = day
                previous = day
            behind = state != RolloutState.FULLY_ONLINE and rng.random() < 0.18
            if behind:
                nxt = ORDER[rank + 1]
                targets[nxt] = today - dt.timedelta(days=rng.randint(5, 45))
                for later in ORDER[rank + 2 :]:
                    targets[later] = max(targets[later], targets[nxt] + dt.timedelta(days=60))
            owner = govs.get(f"gov-{district.code[:6]}")
            changed = reached.get(state)
            rollout = Rollout(
                item=version.item,
                district=district,
                state=state,
                owner_unit=owner,
                target_pilot_date=targets[RolloutState.PILOTING],
                target_online_date=targets[RolloutState.ONLINE],
                target_fully_online_date=targets[RolloutState.FULLY_ONLINE],
                state_changed_at=_at(changed, 10) if changed else None,
                note="",
            )
            rollouts.append(rollout)
            plans.append(
                Plan(
                    rollout=rollout,
                    version=version,
                    district_index=j,
                    reached=reached,
                    struggling=j < 2 and rank >= 2 and rng.random() < 0.12,
                )
            )
            owner_names[len(rollouts) - 1] = names.person_name(rng)
    Rollout.objects.bulk_create(rollouts)
    for n, plan in enumerate(plans):
        r = plan.rollout
        for title, s, before in MILESTONES:
            due = getattr(r, TARGET_FIELD[s]) - dt.timedelta(days=before)
            done = plan.reached.get(s)
            done_at = None
            if done is not None:
                done_day = min(
                    done - dt.timedelta(days=before) + dt.timedelta(days=rng.randint(-6, 8)), today
                )
                done_at = _at(done_day, 16)
            milestones.append(
                Milestone(
                    rollout=r,
                    title=title,
                    due_date=due,
                    owner_name=owner_names[n],
                    owner_unit=r.owner_unit,
                    done_at=done_at,
                )
            )
    Milestone.objects.bulk_create(milestones)
    return plans


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=workcalendar.local_tz())


# ------------------------------------------------------------------------------------------- applications


@dataclass
class _Item:
    version: ItemVersion
    specs: list[MatterSpec]  # in dependency order
    matters: dict[str, Any]  # code -> Matter
    form: list[Any]
    materials: list[Any]
    days: int
    online: bool


@dataclass
class _World:
    items: dict[int, _Item]  # version id ->
    handlers: dict[int, int]  # unit id -> a handler's user id
    citizens: list[User]

    @classmethod
    def load(cls, versions: Sequence[ItemVersion]) -> _World:
        items = {}
        for v in versions:
            matters = {m.code: m for m in v.matters.all()}
            specs = topological_order(
                [spec_of(m) for m in sorted(matters.values(), key=lambda m: (m.sort, m.pk))]
            )
            items[v.pk] = _Item(
                version=v,
                specs=specs,
                matters=matters,
                form=merged_form(specs),
                materials=material_set(specs),
                days=critical_path(specs)[0],
                online=all(s.online for s in specs),
            )
        handlers: dict[int, int] = {}
        for user_id, unit_id in (
            User.objects.filter(
                role_assignments__role=Role.UNIT_HANDLER, role_assignments__unit__isnull=False
            )
            .order_by("id")
            .values_list("id", "role_assignments__unit_id")
        ):
            handlers.setdefault(unit_id, user_id)
        citizens = list(User.objects.filter(role_assignments__role=Role.CITIZEN).order_by("id")[:5])
        return cls(items=items, handlers=handlers, citizens=citizens)


class _Calendar:
    """Working-day arithmetic on dates, cached (a few thousand applications ask the same days)."""

    def __init__(self) -> None:
        self._next: dict[dt.date, dt.date] = {}

    def next_workday(self, day: dt.date) -> dt.date:
        if day not in self._next:
            self._next[day] = workcalendar.next_workday(day)
        return self._next[day]

    def add(self, day: dt.date, n: int) -> dt.date:
        for _ in range(n):
            day = self.next_workday(day)
        return day

    def is_workday(self, day: dt.date) -> bool:
        return self.next_workday(day - dt.timedelta(days=1)) == day


def _local(moment: dt.datetime) -> dt.date:
    return moment.astimezone(workcalendar.local_tz()).date()


def _deadline(cal: _Calendar, start: dt.datetime, days: int) -> dt.datetime:
    """As ``workcalendar.add_working_days``: 24:00 of the n-th working day after the start day."""
    day = cal.add(_local(start), days)
    return dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=workcalendar.local_tz())


def _work_time(rng: random.Random, day: dt.date, after: dt.datetime | None = None) -> dt.datetime:
    moment = _at(day, rng.randint(9, 16), rng.randint(0, 59))
    if after is not None and moment <= after:
        moment = after + dt.timedelta(minutes=rng.randint(20, 180))
    return moment


def _credit_code(rng: random.Random, region: str) -> str:
    return "91" + region[:6] + "".join(rng.choice(CHARS_CREDIT) for _ in range(10))


def _form_data(
    rng: random.Random, form: Sequence[Any], applicant: str, phone: str, id_number: str, day: dt.date
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in form:
        if not f.required and rng.random() < 0.5:
            continue
        if f.type == FieldType.CHOICE and f.options:
            data[f.key] = rng.choice(list(f.options))
        elif f.type == FieldType.BOOLEAN:
            data[f.key] = rng.random() < 0.5
        elif f.type == FieldType.DATE:
            data[f.key] = (day - dt.timedelta(days=rng.randint(1, 40))).isoformat()
        elif f.type == FieldType.NUMBER:
            data[f.key] = rng.randint(1, 50)
        elif f.type == FieldType.PHONE:
            data[f.key] = phone
        elif f.type == FieldType.ID_NUMBER:
            data[f.key] = id_number
        elif f.type == FieldType.CREDIT_CODE:
            data[f.key] = _credit_code(rng, "331202")
        elif "name" in f.key:
            data[f.key] = applicant if f.key in ("applicant_name", "name") else names.person_name(rng)
        elif "address" in f.key:
            data[f.key] = (
                f"{CITY_NAME}{rng.choice(('人民路', '解放路', '中山路', '江滨大道'))}{rng.randint(1, 300)}号"
            )
        else:
            data[f.key] = f"{f.label}（演示）"
    return data


def _score(rng: random.Random, on_time: bool, struggling: bool) -> int:
    if struggling:
        weights = (6, 6, 14, 30, 44) if on_time else (12, 14, 24, 28, 22)
    else:
        weights = (1, 2, 4, 18, 75) if on_time else (6, 10, 18, 30, 36)
    return rng.choices((1, 2, 3, 4, 5), weights=weights)[0]


def _applications(
    rng: random.Random, scale: str, plans: Sequence[Plan], world: _World, now: dt.datetime
) -> dict[str, int]:
    """A year of applications up to ``now`` for every offered item in every district, in bulk."""
    from shizhi.demo.people import id_number

    cal = _Calendar()
    today = _local(now)
    start = today - dt.timedelta(days=365)
    k = MONTHLY[scale]
    drafts: list[dict[str, Any]] = []
    for plan in plans:
        if plan.rollout.state == RolloutState.PLANNED:
            continue
        item = world.items[plan.version.pk]
        weight = (
            ITEM_WEIGHTS.get(plan.version.item.code, 2)
            * DISTRICT_WEIGHTS[min(plan.district_index, len(DISTRICT_WEIGHTS) - 1)]
        )
        phases = sorted(((d, s) for s, d in plan.reached.items()), key=lambda p: p[0])
        day = max(start, phases[0][0])
        while day <= today:
            phase = max((s for d, s in phases if d <= day), key=ORDER.index)
            daily = k * weight * PHASE_FACTOR[phase] / 30.4
            n = int(daily) + (rng.random() < daily - int(daily))
            for _ in range(n):
                drafts.append({"plan": plan, "item": item, "day": day, "phase": phase})
            day += dt.timedelta(days=1)
    drafts.sort(key=lambda d: d["day"])

    applications: list[Application] = []
    extras: list[dict[str, Any]] = []
    daily_seq: dict[dt.date, int] = {}
    for d in drafts:
        plan, item, day = d["plan"], d["item"], d["day"]
        online = rng.random() < ONLINE_CHANNEL_SHARE[d["phase"]]
        if not online and not cal.is_workday(day):
            day = cal.next_workday(day)
        submitted = _at(day, rng.randint(7, 22), rng.randint(0, 59)) if online else _work_time(rng, day)
        if submitted >= now:
            continue
        seq = daily_seq.get(_local(submitted), 0) + 1
        daily_seq[_local(submitted)] = seq
        district = plan.rollout.district
        female = rng.random() < 0.5
        applicant = names.person_name(rng, female)
        phone = f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}"
        ident = id_number(rng, district.code[:6], female)
        citizen = world.citizens[0] if world.citizens and rng.random() < 0.004 else None
        if citizen is not None:
            applicant, phone = citizen.display_name or applicant, citizen.mobile or phone
        enterprise = item.version.item.subject == Subject.ENTERPRISE
        app = Application(
            number=f"YJS{_local(submitted):%Y%m%d}{seq:05d}",
            item=item.version.item,
            version=item.version,
            applicant=citizen,
            applicant_name=applicant,
            applicant_phone=phone,
            org_name=f"{CITY_NAME[:2]}{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_KINDS)}"
            if enterprise
            else "",
            org_code=_credit_code(rng, district.code) if enterprise else "",
            subject=item.version.item.subject,
            channel=Channel.ONLINE if online else Channel.WINDOW,
            district=district,
            area_path=district.path,
            form_data=_form_data(rng, item.form, applicant, phone, ident, day),
            fully_online=online and item.online,
            submitted_at=submitted,
            due_at=_deadline(cal, submitted, item.days),
        )
        extras.append(_simulate(rng, cal, app, item, plan, now, world.handlers))
        applications.append(app)
    Application.objects.bulk_create(applications, batch_size=500)
    subtasks: list[SubTask] = []
    for app, extra in zip(applications, extras, strict=True):
        for st in extra["subtasks"]:
            st.application = app
            subtasks.append(st)
    SubTask.objects.bulk_create(subtasks, batch_size=1000)
    events: list[ApplicationEvent] = []
    promises: list[Promise] = []
    materials: list[ApplicationMaterial] = []
    ratings: list[Rating] = []
    for app, extra in zip(applications, extras, strict=True):
        for e in extra["events"]:
            events.append(ApplicationEvent(application=app, **e))
        for p in extra["promises"]:
            promises.append(Promise(**p))
        for m in extra["materials"]:
            materials.append(ApplicationMaterial(application=app, **m))
        if extra["rating"] is not None:
            ratings.append(Rating(application=app, **extra["rating"]))
    ApplicationEvent.objects.bulk_create(events, batch_size=2000)
    Promise.objects.bulk_create(promises, batch_size=1000)
    ApplicationMaterial.objects.bulk_create(materials, batch_size=2000)
    Rating.objects.bulk_create(ratings, batch_size=1000)
    return {"applications": len(applications), "subtasks": len(subtasks)}


def _simulate(
    rng: random.Random,
    cal: _Calendar,
    app: Application,
    item: _Item,
    plan: Plan,
    now: dt.datetime,
    handlers: dict[int, int],
) -> dict[str, Any]:
    """The life of one application up to ``now``: its sub-tasks, events, materials, promises and rating. Sets
    the application's status, finished time, on-time flag and result."""
    submitted = app.submitted_at
    late_p = 0.1 if plan.struggling else 0.012  # per sub-task
    fate = rng.random()
    withdraw = fate < 0.01
    reject_at = rng.randrange(len(item.specs)) if 0.01 <= fate < 0.03 else None
    events: list[dict[str, Any]] = [
        {
            "action": "submit",
            "created_at": submitted,
            "actor": app.applicant,
            "data": {"item": item.version.item.code},
        }
    ]
    finish: dict[str, dt.datetime | None] = {}
    subtasks: list[SubTask] = []
    promise_rows: list[dict[str, Any]] = []
    stop: dt.datetime | None = None  # when the application ended early (withdrawn / rejected)
    if withdraw:
        stop = submitted + dt.timedelta(hours=rng.randint(2, 40))
        if stop >= now:
            stop, withdraw = None, False
    promisable = [e.spec for e in item.materials if e.to_submit and e.spec.promisable]
    promised = promisable[0] if promisable and rng.random() < 0.1 else None
    supplied = _work_time(rng, cal.add(_local(submitted), rng.randint(1, 4)), submitted) if promised else None
    rejected_st: SubTask | None = None
    for i, spec in enumerate(item.specs):
        matter = item.matters[spec.code]
        deps = [finish.get(c) for c in spec.depends_on]
        st = SubTask(
            matter=matter, unit_id=matter.unit_id, department_name=matter.department_name, sort=matter.sort
        )
        subtasks.append(st)
        if any(x is None for x in deps):
            if stop is None:
                st.status = S.WAITING
            else:
                st.status, st.finished_at = S.CANCELLED, stop
            finish[spec.code] = None
            continue
        ready = max([submitted, *[x for x in deps if x is not None]])
        if stop is not None and ready >= stop:
            st.status, st.finished_at = S.CANCELLED, stop
            finish[spec.code] = None
            continue
        st.ready_at = ready
        st.due_at = _deadline(cal, ready, spec.promised_days)
        accepted = ready + dt.timedelta(minutes=rng.randint(15, 60 * 20))
        if rng.random() < late_p:
            days = spec.promised_days + rng.randint(1, 3)
        else:
            days = rng.choice(range(0, spec.promised_days + 1)) if spec.promised_days else 0
            days = min(days, rng.randint(0, spec.promised_days)) if spec.promised_days else 0
        done = _work_time(rng, cal.add(_local(accepted), days), accepted)
        needs_promise = promised is not None and any(m.key == promised.key for m in spec.materials)
        if needs_promise and supplied is not None and done < supplied:
            done = supplied + dt.timedelta(hours=rng.randint(1, 20))
        if needs_promise and promised is not None:
            promise_rows.append(
                {
                    "subtask": st,
                    "material_key": promised.key,
                    "material_name": promised.name,
                    "due_at": _deadline(cal, submitted, services.DEFAULT_PROMISE_DAYS),
                    "granted_at": submitted,
                    "supplied_at": supplied if supplied is not None and supplied <= now else None,
                    "note": "申请时承诺补交",
                }
            )
        handler_id = handlers.get(matter.unit_id) if matter.unit_id is not None else None
        if stop is not None and accepted >= stop:
            st.status, st.finished_at = S.CANCELLED, stop
            finish[spec.code] = None
            continue
        if accepted > now:
            st.status = S.READY
            finish[spec.code] = None
            continue
        st.accepted_at = accepted
        st.handler_id = handler_id
        events.append(
            {
                "action": "accept",
                "subtask": st,
                "unit_id": matter.unit_id,
                "actor_id": handler_id,
                "created_at": accepted,
            }
        )
        if reject_at == i and stop is None:
            reject_time = done if done <= now else None
            if reject_time is not None:
                reason = rng.choice(REJECT_REASONS)
                st.status, st.finished_at, st.result = S.REJECTED, reject_time, reason
                rejected_st = st
                stop = reject_time
                events.append(
                    {
                        "action": "reject",
                        "subtask": st,
                        "unit_id": matter.unit_id,
                        "actor_id": handler_id,
                        "note": reason,
                        "created_at": reject_time,
                    }
                )
                finish[spec.code] = None
                continue
        if stop is not None and done >= stop:
            st.status, st.finished_at = S.CANCELLED, stop
            finish[spec.code] = None
            continue
        if done > now:
            st.status = S.IN_PROGRESS
            finish[spec.code] = None
            continue
        st.status, st.finished_at = S.DONE, done
        st.result = f"{spec.name}已办结"
        finish[spec.code] = done
        events.append(
            {
                "action": "complete",
                "subtask": st,
                "unit_id": matter.unit_id,
                "actor_id": handler_id,
                "note": st.result,
                "created_at": done,
            }
        )
    # A rejection cancels every other part that had not finished by then (parallel ones included).
    if rejected_st is not None and stop is not None:
        for st in subtasks:
            if st is rejected_st:
                continue
            if st.status in (S.WAITING, S.READY, S.IN_PROGRESS) or (
                st.status == S.DONE and st.finished_at is not None and st.finished_at > stop
            ):
                st.status, st.finished_at, st.result = S.CANCELLED, stop, ""
                if st.accepted_at is not None and st.accepted_at > stop:
                    st.accepted_at = None
        cut = stop
        events = [
            e
            for e in events
            if not (
                e.get("subtask") is not None and e["subtask"].status == S.CANCELLED and e["created_at"] > cut
            )
        ]
    statuses = [st.status for st in subtasks]
    pending = sum(
        1
        for p in promise_rows
        if p["supplied_at"] is None and p["subtask"].status in (S.WAITING, S.READY, S.IN_PROGRESS)
    )
    status = services.derive_status(statuses, pending_promises=pending, withdrawn=withdraw)
    app.status = status
    if status == A.WITHDRAWN and stop is not None:
        for st in subtasks:
            if st.status in (S.WAITING, S.READY, S.IN_PROGRESS):
                st.status, st.finished_at = S.CANCELLED, stop
        app.finished_at = stop
        app.withdrawn_reason = "信息填写有误，重新申请"
        events.append(
            {"action": "withdraw", "created_at": stop, "actor": app.applicant, "note": app.withdrawn_reason}
        )
    elif status == A.COMPLETED:
        app.finished_at = max(st.finished_at for st in subtasks if st.finished_at is not None)
        app.on_time = app.finished_at <= app.due_at
        app.result = "；".join(f"{st.department_name}：{st.result}" for st in subtasks if st.result)
    elif status == A.REJECTED and rejected_st is not None:
        app.finished_at = rejected_st.finished_at
        app.on_time = app.finished_at is not None and app.finished_at <= app.due_at
        app.result = f"{rejected_st.department_name}不予办理：{rejected_st.result}"
    if app.finished_at is not None and status in (A.COMPLETED, A.REJECTED):
        events.append(
            {"action": "status", "created_at": app.finished_at, "data": {"status": [A.IN_PROGRESS, status]}}
        )
    rating = None
    if app.finished_at is not None and status in (A.COMPLETED, A.REJECTED) and rng.random() < 0.82:
        rated = app.finished_at + dt.timedelta(hours=rng.randint(1, 72))
        if rated <= now:
            score = _score(rng, bool(app.on_time) and status == A.COMPLETED, plan.struggling)
            if score >= 4:
                reasons = rng.sample(GOOD_REASONS, rng.randint(1, 2))
                comment = rng.choice(GOOD_COMMENTS)
            elif score == 3:
                reasons = rng.sample(BAD_REASONS, 1) if rng.random() < 0.5 else []
                comment = ""
            else:
                reasons = rng.sample(BAD_REASONS, rng.randint(1, 2))
                comment = rng.choice(LOW_COMMENTS)
            rating = {
                "score": score,
                "reasons": reasons,
                "comment": comment,
                "rated_by": app.applicant,
                "created_at": rated,
            }
            events.append(
                {
                    "action": "rate",
                    "created_at": rated,
                    "actor": app.applicant,
                    "data": {"score": score, "reasons": reasons},
                }
            )
    materials = []
    for e in item.materials:
        if not e.to_submit:
            materials.append(
                {
                    "material_key": e.spec.key,
                    "name": e.spec.name,
                    "source": MaterialSource.SHARED,
                    "created_at": submitted,
                }
            )
        elif promised is not None and e.spec.key == promised.key:
            if supplied is not None and supplied <= now:
                materials.append(_upload_row(rng, e.spec, supplied))
        elif e.spec.required or rng.random() < 0.4:
            materials.append(_upload_row(rng, e.spec, submitted))
    for e in events:
        e.setdefault("note", "")
        e.setdefault("data", {})
    return {
        "subtasks": subtasks,
        "events": events,
        "promises": promise_rows,
        "materials": materials,
        "rating": rating,
    }


def _upload_row(rng: random.Random, spec: Any, at: dt.datetime) -> dict[str, Any]:
    ext = rng.choice((".pdf", ".jpg"))
    return {
        "material_key": spec.key,
        "name": spec.name,
        "source": MaterialSource.UPLOAD,
        "original_name": f"{spec.name}{ext}",
        "content_type": "application/pdf" if ext == ".pdf" else "image/jpeg",
        "size": rng.randint(80_000, 2_000_000),
        "created_at": at,
    }


# ------------------------------------------------------------------------------------ live applications


def _live_applications(world: _World, district: Area) -> list[str]:
    """Two applications filed through the services by the demo citizen, now in the demo handler's inbox
    (市城市管理局): 水电气网联合报装 (its 城市道路挖掘占用许可 starts at once) and 开办餐饮店 (户外招牌设置备案 after the
    business licence, which 市市场监督管理局 issues here)."""
    lines: list[str] = []
    citizen = world.citizens[0] if world.citizens else None
    for code in ("GJ2024-11", "GJ2024-10"):
        version = ItemVersion.objects.filter(item__code=code, status=VersionStatus.PUBLISHED).first()
        if version is None or not Rollout.objects.filter(item=version.item, district=district).exists():
            continue
        item = world.items.get(version.pk)
        if item is None or any(m.unit_id is None for m in item.matters.values()):
            continue
        rng = random.Random(code)
        form = _form_data(rng, item.form, "演示申请人", "13800000000", "11010519491231002X", dt.date.today())
        uploads = {
            e.spec.key: SimpleUploadedFile(f"{e.spec.key}.pdf", PDF, content_type="application/pdf")
            for e in item.materials
            if e.to_submit and e.spec.required
        }
        application = services.application_submit(
            actor=citizen,
            data=services.ApplicationIn(
                item_code=code,
                form=form,
                applicant_name=(citizen.display_name if citizen else "") or "演示申请人",
                applicant_phone=(citizen.mobile if citizen else "") or "13800000000",
                org_name=f"{CITY_NAME[:2]}瑞丰餐饮管理有限公司",
                org_code=_credit_code(rng, district.code),
                district_id=district.pk,
                uploads=uploads,
            ),
        )
        # The other departments move their parts along, as they would: the business licence (开办餐饮店) is
        # issued, which frees the rest; every other part that may start is accepted.
        for _ in range(2):
            for st in (
                application.subtasks.select_related("unit", "matter")
                .filter(status=S.READY)
                .exclude(unit__code="dept-cgj")
            ):
                handler = User.objects.filter(pk=world.handlers.get(st.unit_id or 0, 0)).first()
                if handler is None:
                    continue
                services.subtask_accept(actor=handler, subtask=st)
                if code == "GJ2024-10" and not st.matter.depends_on:
                    services.subtask_complete(actor=handler, subtask=st, result="已核发营业执照")
        waiting = application.subtasks.filter(unit__code="dept-cgj", status=S.READY).first()
        if waiting is not None:
            lines.append(
                f"{application.number} {version.name}：{waiting.matter.name} 在市城市管理局收件箱（h-dept-cgj）"
            )
    return lines
