"""The hotline's part of the demo city (演示数据), registered from ``HotlineConfig.ready`` as the seed dataset
``hotline``: ``shizhi seed hotline [--scale small|city] [--seed N]`` seeds the demo city first (or leaves the
existing one alone), then adds the demo taxonomy (merged by name with any existing one), the dispatch
catalogue, the knowledge base and the last twelve months of cases (up to the evening before the day it runs, so
the dashboards show the current month): about 50,000 at city scale, 300 at small scale. ``shizhi seed demo``
runs it too, after the city.

Real messages instead of generated ones: pass the folder of the 泰迪杯 data (``train.csv``) as
``shizhi seed demo --messages PATH`` (``SeedOptions.messages``) or ``SHIZHI_DEMO_MESSAGES``."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from shizhi.core.audit import audit_record
from shizhi.core.errors import ValidationFailed
from shizhi.core.models import Area, AreaLevel, Unit
from shizhi.demo.registry import Dataset, SeedOptions, SeedOutcome, extend_demo, register
from shizhi.demo.scales import CITY_CODE
from shizhi.hotline import rates
from shizhi.hotline.demo.cases import SIZES
from shizhi.hotline.demo.knowledge import ARTICLES
from shizhi.hotline.demo.taxonomy import STREET, TOPICS, topic_paths
from shizhi.hotline.demo.world import load_world
from shizhi.hotline.demo.year import build, fill_numbers
from shizhi.hotline.importers import plan_taxonomy
from shizhi.hotline.messages import assign_real_messages, read_real_messages
from shizhi.hotline.models import Case, CaseStatus, Category, DispatchRule, KnowledgeArticle
from shizhi.hotline.services import categories_import, dispatch_rule_create, knowledge_save
from shizhi.hotline.services.history import cases_bulk_write

DATASET = "hotline"


def register_demo() -> None:
    register(
        Dataset(
            DATASET,
            "演示城市的接诉即办数据：诉求分类、派单目录、知识库和近一年工单（没有演示城市时先生成城市）",
            _run,
        )
    )
    extend_demo(_extend)


def _extend(options: SeedOptions) -> SeedOutcome:
    """``shizhi seed demo``: after the city, its year of hotline cases."""
    report = seed_hotline(scale=options.scale, seed=options.seed, messages=_messages(options))
    return SeedOutcome(created=report.created, text=report.summary())


def _messages(options: SeedOptions) -> str | None:
    return options.messages or os.environ.get("SHIZHI_DEMO_MESSAGES") or None


def _run(options: SeedOptions) -> SeedOutcome:
    from shizhi.demo.services import demo_logins, format_logins, seed_demo

    city = seed_demo(scale=options.scale, seed=options.seed)
    report = seed_hotline(scale=options.scale, seed=options.seed, messages=_messages(options))
    text = "\n\n".join([city.summary(), report.summary(), format_logins(demo_logins())])
    return SeedOutcome(created=city.created or report.created, text=text)


@dataclass
class HotlineReport:
    created: bool
    message: str
    counts: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    rates: dict[str, float | None] = field(default_factory=dict)
    seconds: float = 0.0
    period: str = ""

    def summary(self) -> str:
        if not self.created:
            return self.message
        c = self.counts
        statuses = "，".join(f"{CaseStatus(s).label} {n:,}" for s, n in self.statuses.items())
        r = self.rates
        return "\n".join(
            [
                self.message,
                f"  诉求分类 {c['categories']} 个（新增 {c['new_categories']}），派单目录 {c['rules']} 条，知识库 {c['articles']} 条",
                f"  近一年（{self.period}）工单 {c['cases']:,} 件：{statuses}",
                f"  近一年三率：响应率 {r['response_rate']}%，解决率 {r['resolution_rate']}%，满意率 {r['satisfaction_rate']}%",
                f"  用时 {self.seconds:.1f} 秒",
            ]
        )


def demo_end(until: dt.date | None = None) -> dt.datetime:
    """The demo's "now": 17:30 on the day before ``until`` (default: today), local time."""
    from shizhi.core import workcalendar

    tz = workcalendar.local_tz()
    day = until or timezone.now().astimezone(tz).date()
    return dt.datetime.combine(day - dt.timedelta(days=1), dt.time(17, 30), tzinfo=tz)


def seed_hotline(
    *, scale: str = "city", seed: int = 1, messages: str | None = None, until: dt.date | None = None
) -> HotlineReport:
    """Add the hotline demo to the demo city, or do nothing when cases exist. All or nothing. The same seed and
    the same ``until`` day give the same rows."""
    if scale not in SIZES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SIZES)}")
    started = time.perf_counter()
    with transaction.atomic():
        if not Area.objects.filter(code=CITY_CODE).exists():
            raise ValidationFailed("请先生成演示城市（shizhi seed demo）")
        if Case.objects.exists():
            return HotlineReport(created=False, message="已有工单，未生成演示工单，未做任何改动。")
        pools = assign_real_messages(read_real_messages(messages), TOPICS) if messages else {}
        categories, new_categories = _taxonomy()
        rules = _dispatch_rules(categories)
        articles = _knowledge(categories)
        world = load_world(categories, articles, pools)
        items, year_ = build(world, size=SIZES[scale], seed=seed, end=demo_end(until))
        cases_bulk_write(items, numbered=fill_numbers)
        used = Counter(item.case.knowledge_article_id for item in items if item.case.knowledge_article_id)
        for article_id, n in sorted(used.items()):
            KnowledgeArticle.objects.filter(pk=article_id).update(times_used=n)
        statuses = Counter(item.case.status for item in items)
        audit_record(
            actor=None,
            action="case.seed_demo",
            object_type="hotline.case",
            changes={"cases": len(items), "scale": scale, "seed": seed, "real_messages": bool(pools)},
        )
        year = year_rates(year_.start, year_.end)
    source = "真实留言" if pools else "生成的留言"
    return HotlineReport(
        created=True,
        message=f"已生成演示工单（规模 {scale}，随机种子 {seed}，{source}）：",
        counts={
            "categories": len(categories),
            "new_categories": new_categories,
            "rules": rules,
            "articles": len(ARTICLES),
            "cases": len(items),
        },
        statuses={s: statuses[s] for s in CaseStatus.values if statuses[s]},
        rates={k: v for k, v in year.as_dict().items() if k.endswith("_rate")},
        seconds=time.perf_counter() - started,
        period=f"{year_.start:%Y-%m-%d}至{year_.end:%Y-%m-%d}",
    )


def year_rates(start: dt.datetime, end: dt.datetime) -> rates.Rates:
    """The demo year's three rates for the whole city."""
    rows = rates.compute_rates(
        actor=None, period=rates.Period.between(start, end + dt.timedelta(minutes=1)), group="city"
    )
    return rows[0] if rows else rates.Rates(key=None, name="全市")


# ---------------------------------------------------------------------------------------------- catalogue


def _epoch() -> object:
    from shizhi.demo.services import DEMO_EPOCH

    return DEMO_EPOCH


def _taxonomy() -> tuple[dict[tuple[str, ...], Category], int]:
    """The demo taxonomy, merged by name with whatever is there: existing nodes are kept."""
    plan = plan_taxonomy(topic_paths())
    keywords = {t.path: t.keywords for t in TOPICS}
    by_code = {code: path for path, code in plan.codes.items()}
    for row in plan.rows:
        row.keywords = keywords.get(by_code[row.code], "")
    categories_import(actor=None, rows=plan.rows)
    stored = {c.code: c for c in Category.objects.filter(code__in=plan.codes.values())}
    return {path: stored[code] for path, code in plan.codes.items()}, len(plan.rows)


def _dispatch_rules(categories: dict[tuple[str, ...], Category]) -> int:
    """The dispatch catalogue (派单目录): local matters to the street office (属地), departmental matters to the
    department, water/power/gas to the utility; municipal facilities in counties to the county government.
    Units the city does not have (small scale) get no rule: the district government takes those cases."""
    units = {u.code: u for u in Unit.objects.filter(is_active=True)}
    counties = list(
        Area.objects.filter(level=AreaLevel.DISTRICT, kind="县", path__startswith=f"/{CITY_CODE}/")
    )
    created = []
    for topic in TOPICS:
        category = categories[topic.path]
        if not topic.to or DispatchRule.objects.filter(category=category).exists():
            continue
        if topic.to == STREET:
            created.append(
                dispatch_rule_create(actor=None, category=category, to_street=True, note="属地街道乡镇办理")
            )
        elif topic.to in units:
            created.append(dispatch_rule_create(actor=None, category=category, unit=units[topic.to]))
        if topic.county_to_government:
            for county in counties:
                government = units.get(f"gov-{county.code[:6]}")
                if government is not None:
                    created.append(
                        dispatch_rule_create(
                            actor=None,
                            category=category,
                            area=county,
                            unit=government,
                            note="县域由县政府办理",
                        )
                    )
    DispatchRule.objects.filter(pk__in=[r.pk for r in created]).update(created_at=_epoch())
    return len(created)


def _knowledge(categories: dict[tuple[str, ...], Category]) -> dict[tuple[str, ...], list[tuple[int, str]]]:
    result: dict[tuple[str, ...], list[tuple[int, str]]] = {}
    made = []
    for a in ARTICLES:
        article = KnowledgeArticle.objects.filter(title=a.title).first()
        if article is None:
            article = knowledge_save(
                actor=None,
                title=a.title,
                question=a.question,
                answer=a.answer,
                category=categories[a.path],
                keywords=a.keywords,
                source=a.source,
            )
            made.append(article.pk)
        result.setdefault(a.path, []).append((article.pk, article.answer))
    KnowledgeArticle.objects.filter(pk__in=made).update(created_at=_epoch(), updated_at=_epoch())
    return result
