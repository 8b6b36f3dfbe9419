"""The similar-case search's speed (part of ``shizhi bench ai``): N open cases (default 100,000) and M resolved
cases with replies on the scratch database, then

- the cold build of both indexes (seconds, and memory: the index's own bytes and the process's RSS growth);
- ``similar_open_cases`` for a city-wide operator, for a street office's handler (unit scope), and without a
  location (text and time only), each query timed on its own: p50 / p90 / p99 / max; target p99 <= 50 ms;
- ``reply_suggestions``; the incremental refresh after new cases arrive; and, for comparison, the intake desk's
  first version (``hotline.page_selectors.similar_open_cases``: bigram sets of the street's latest 300 cases);
- how often a planted duplicate (an existing open case reworded, a few hundred metres away, a day later) comes
  back first and in the top five.

The cases are written in batches like ``hotline/bench.py`` does (its world, payloads and writer are reused): the
open ones received over the last ``--similar-days`` days, spread over the demo city's grids by households.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from shizhi.ai import similar
from shizhi.core.benchmarks import BenchContext, BenchError
from shizhi.core.models import User
from shizhi.hotline import bench as hb
from shizhi.hotline.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Case,
    CaseNumber,
    CaseStatus,
    SlaKind,
)

TARGET_MS = 50.0
OPEN_MIX = (
    (CaseStatus.RECEIVED, 10),
    (CaseStatus.DISPATCHED, 15),
    (CaseStatus.ACCEPTED, 15),
    (CaseStatus.IN_PROGRESS, 60),
)
REWORDS = (("已经", ""), ("一个多星期", "好几天"), ("非常", "很"), ("严重", "很"), ("附近", "旁边"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("similar cases (相似工单)")
    group.add_argument("--similar-cases", type=int, default=100_000, help="open cases (default 100000)")
    group.add_argument("--similar-resolved", type=int, default=50_000, help="resolved cases with replies")
    group.add_argument("--similar-queries", type=int, default=300, help="queries per measurement")
    group.add_argument("--similar-days", type=int, default=60, help="open cases arrive over this many days")
    group.add_argument(
        "--similar-texts",
        default="generated",
        choices=("generated", "teddy"),
        help="the cases' words: the hotline bench's payloads, or real messages and replies from ../shared "
        "(2020 Teddy Cup; longer and more varied, so a larger index)",
    )


def _option(ctx: BenchContext, name: str, default: Any) -> Any:
    value = ctx.options.get(name)
    return default if value is None else value


def _rss_mb() -> float:
    """The process's resident memory now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass(frozen=True)
class RealText:
    title: str
    content: str
    reply: str


def real_texts() -> list[RealText]:
    """Citizens' messages (and the government's replies, where there are) from the 2020 Teddy Cup data in
    ../shared (附件3: 4,326 messages; 附件4: 2,816 messages with replies); empty when it is not there."""
    from shizhi.ai import review, review_cli

    folder = review_cli.SHARED / "official"
    out: list[RealText] = []
    for name in ("附件3.csv", "附件4.csv"):
        if (folder / name).is_file():
            for r in review_cli.read_table(folder / name):
                title, content = review.clean(r.get("留言主题", "")), review.clean(r.get("留言详情", ""))
                if title and content:
                    out.append(RealText(title, content, review.clean(r.get("答复意见", ""))))
    return out


def _peak_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    import resource

    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


# --------------------------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------------------------


def generate(
    world: hb.World,
    n: int,
    *,
    resolved: bool,
    days: int,
    seed: int,
    now: dt.datetime,
    write: Callable[[str], None],
    texts: list[RealText] | None = None,
) -> float:
    """Write ``n`` open (or resolved, with a reply) cases received over the last ``days`` days; seconds taken.
    With ``texts``, titles, contents and replies are drawn from those real messages instead of the payloads'."""
    if n <= 0:
        return 0.0
    started = time.perf_counter()
    rng = random.Random(seed * 104729 + n + (1 if resolved else 0))
    talker = hb.Talker(world, rng)
    writer = hb.Writer()
    T = writer.time
    statuses = hb.Picker([s for s, _ in OPEN_MIX], [w for _, w in OPEN_MIX])
    now_ts = now.timestamp()
    moments = hb._timestamps(rng, n, now_ts - days * hb.DAY, now_ts - 2 * hb.HOUR)
    counters = dict(CaseNumber.objects.values_list("day", "last"))
    next_id = (Case.objects.aggregate(m=Max("id"))["m"] or 0) + 1

    def month(ts: float) -> int:
        local = dt.datetime.fromtimestamp(ts, hb.LOCAL)
        return local.year * 100 + local.month

    for start in range(0, n, hb.BATCH):
        cases: list[tuple[Any, ...]] = []
        assignments: list[tuple[Any, ...]] = []
        for ts in moments[start : start + hb.BATCH]:
            cid, next_id = next_id, next_id + 1
            p = talker()
            real = rng.choice(texts) if texts else None
            if real is not None:
                p.title, p.content = real.title[:100], real.content[:4000]
            local = dt.datetime.fromtimestamp(ts, hb.LOCAL)
            counters[local.date()] = counters.get(local.date(), 0) + 1
            unit = world.unit_for(p.topic, p.place)
            sla = SlaKind.EMERGENCY if p.urgent else p.topic.sla_kind
            row: dict[str, Any] = dict.fromkeys(hb.CASE_FIELDS)
            row.update(
                id=cid,
                number=f"{local.date():%Y%m%d}{counters[local.date()]:05d}",
                channel=p.channel,
                demand_type=p.demand_type,
                category_id=world.categories[p.topic.code].pk,
                category_path=world.categories[p.topic.code].path,
                title=p.title,
                content=p.content,
                citizen_name=p.citizen_name,
                citizen_phone=p.citizen_phone,
                anonymous=p.anonymous,
                address=p.address,
                lng=p.lng,
                lat=p.lat,
                grid_id=p.place.grid_id,
                community_id=p.place.community_id,
                street_id=p.place.street_id,
                district_id=p.place.district_id,
                area_path=p.place.area_path,
                urgency="urgent" if p.urgent else "normal",
                sla_kind=sla,
                created_by_id=world.operator.pk,
                received_at=T(ts),
                received_month=month(ts),
                reply="",
                callback_note="",
                reopen_count=0,
                is_overdue=False,
                is_due_soon=False,
                flagged=False,
                external_id="",
                updated_at=T(ts),
            )
            # A case no unit could answer stays received (open), resolved or not: rare in the demo city.
            status = CaseStatus.RECEIVED if unit is None else CaseStatus.CLOSED if resolved else statuses(rng)
            if status != CaseStatus.RECEIVED and unit is not None:
                disp = ts + rng.uniform(300, 3 * hb.HOUR)
                accepted = disp + rng.uniform(600, 2 * hb.HOUR) if status != CaseStatus.DISPATCHED else None
                row.update(
                    lead_unit_id=unit,
                    dispatched_at=T(disp),
                    due_at=T(disp + hb.SLA_SECONDS[sla]),
                    is_overdue=not resolved and disp + hb.SLA_SECONDS[sla] < now_ts,
                )
                done = None
                if resolved:
                    replied = (accepted or disp) + rng.uniform(hb.HOUR, 5 * hb.DAY)
                    done = replied
                    reply = f"关于“{p.title}”的诉求：{rng.choice(hb.REPLIES)}"
                    if real is not None and real.reply:
                        reply = real.reply[:4000]
                    row.update(
                        replied_at=T(replied),
                        reply=reply,
                        replied_on_time=replied <= disp + hb.SLA_SECONDS[sla],
                        updated_at=T(replied),
                    )
                    if rng.random() < 0.8:
                        solved = rng.random() < 0.85
                        satisfaction = rng.choice((4, 5) if solved else (1, 2, 3))
                        closed = replied + rng.uniform(hb.HOUR, 2 * hb.DAY)
                        row.update(
                            closed_at=T(closed),
                            solved=solved,
                            satisfaction=satisfaction,
                            satisfied=satisfaction >= 4,
                            rated_at=T(closed),
                            rated_month=month(closed),
                            updated_at=T(closed),
                        )
                    else:
                        status = CaseStatus.REPLIED
                assignments.append(
                    (cid, unit, AssignmentRole.LEAD,
                     AssignmentStatus.DONE if done else (AssignmentStatus.DISPATCHED if accepted is None else AssignmentStatus.ACCEPTED),
                     T(disp), month(disp), T(disp + 2 * hb.HOUR), None if accepted is None else T(accepted),
                     None if accepted is None else accepted <= disp + 2 * hb.HOUR,
                     None if accepted is None else world.handler_of_unit.get(unit), None, "", "",
                     None if done is None else T(done), *writer.assign_extra)
                )  # fmt: skip
            row["status"] = status
            cases.append((*(row[f] for f in hb.CASE_FIELDS), *writer.case_extra))
        with transaction.atomic():
            writer.insert(Case._meta.db_table, writer.case_cols, cases)
            writer.insert(Assignment._meta.db_table, writer.assign_cols, assignments)
        done_n = start + len(cases)
        if done_n % (hb.BATCH * 5) == 0 or done_n == n:
            write(f"  generated {done_n:,} / {n:,} {'resolved' if resolved else 'open'} cases")
    with transaction.atomic():
        for day, last in counters.items():
            CaseNumber.objects.update_or_create(day=day, defaults={"last": last})
        if connection.vendor == "postgresql":
            from django.core.management.color import no_style

            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [Case, Assignment]):
                    cursor.execute(sql)
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------------------------


def _percentiles(seconds: list[float]) -> dict[str, Any]:
    ms = sorted(1000 * s for s in seconds)
    if not ms:
        return {"n": 0}

    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, max(0, math.ceil(p * len(ms)) - 1))], 2)

    return {
        "n": len(ms),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(ms[-1], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def _timed(
    fn: Callable[[dict[str, Any]], Any], queries: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[Any]]:
    fn(queries[0])  # warm-up: imports, query plans
    seconds, results = [], []
    for q in queries:
        started = time.perf_counter()
        results.append(fn(q))
        seconds.append(time.perf_counter() - started)
    return _percentiles(seconds), results


def _reword(text: str, rng: random.Random) -> str:
    for old, new in REWORDS:
        if old in text and rng.random() < 0.7:
            text = text.replace(old, new)
    # Callers rarely repeat the closing request word for word.
    head = text.split("，")
    if len(head) > 2 and rng.random() < 0.5:
        head = head[:-1]
    return "，".join(head) + rng.choice(hb.ASKS)


def workload(
    world: hb.World,
    n: int,
    seed: int,
    now: dt.datetime,
    street_id: int | None = None,
    texts: list[RealText] | None = None,
) -> tuple[list[dict[str, Any]], list[int | None]]:
    """``n`` queries: every other one a planted duplicate of an open case (reworded, up to ~300 m away, up to
    2 days later), the others new requests. Returns the queries and the planted originals (None: new)."""
    rng = random.Random(seed)
    talker = hb.Talker(world, rng)
    pool = Case.objects.filter(status__in=OPEN_STATUSES)
    if street_id is not None:
        pool = pool.filter(street_id=street_id)
    ids = list(pool.order_by("-id").values_list("id", flat=True)[:20_000])
    if not ids:
        raise BenchError("no open cases to plant duplicates of")
    queries: list[dict[str, Any]] = []
    originals: list[int | None] = []
    for i in range(n):
        if i % 2 == 0:
            case = Case.objects.get(pk=rng.choice(ids))
            angle, radius = rng.uniform(0, 2 * math.pi), rng.uniform(0, 300)
            lat = (case.lat or 0) + radius * math.sin(angle) / 110_574
            lng = (case.lng or 0) + radius * math.cos(angle) / (111_320 * math.cos(math.radians(lat)))
            at = min(case.received_at + dt.timedelta(days=rng.uniform(0, 2)), now)
            queries.append(
                {"title": case.title, "content": _reword(case.content, rng), "lng": lng, "lat": lat, "at": at}
            )
            originals.append(case.pk)
        else:
            p = talker()
            if texts:
                real = rng.choice(texts)
                p.title, p.content = real.title[:100], real.content
            if street_id is not None:
                places = [pl for pl in world.places if pl.street_id == street_id] or world.places
                place = rng.choice(places)
                p.lng, p.lat = rng.choice(place.points)
            queries.append({"title": p.title, "content": p.content, "lng": p.lng, "lat": p.lat, "at": now})
            originals.append(None)
    return queries, originals


def _recall(results: list[list[similar.SimilarCase]], originals: list[int | None]) -> dict[str, Any]:
    planted = [(r, o) for r, o in zip(results, originals, strict=True) if o is not None]
    if not planted:
        return {}
    first = sum(1 for r, o in planted if r and r[0].case.pk == o)
    top5 = sum(1 for r, o in planted if o in [s.case.pk for s in r[:5]])
    return {
        "planted": len(planted),
        "recall_at_1": round(first / len(planted), 3),
        "recall_at_5": round(top5 / len(planted), 3),
        "mean_results_new_requests": round(
            statistics.fmean(len(r) for r, o in zip(results, originals, strict=True) if o is None), 2
        ),
    }


def _line(write: Callable[[str], None], label: str, d: dict[str, Any], target: bool = True) -> None:
    mark = ""
    if target:
        mark = f"  target p99 <= {TARGET_MS:.0f} ms: {'OK' if d['p99_ms'] <= TARGET_MS else 'MISSED'}"
    write(
        f"  {label:<34} p50 {d['p50_ms']:>7.2f}  p90 {d['p90_ms']:>7.2f}  p99 {d['p99_ms']:>7.2f}  "
        f"max {d['max_ms']:>7.2f} ms  (n={d['n']}){mark}"
    )


def run(ctx: BenchContext) -> dict[str, Any]:
    write = ctx.write
    n_open = int(_option(ctx, "similar_cases", 100_000))
    n_resolved = int(_option(ctx, "similar_resolved", 50_000))
    n_queries = max(2, int(_option(ctx, "similar_queries", 300)))
    days = int(_option(ctx, "similar_days", 60))
    seed = int(_option(ctx, "seed", 1))
    scale = str(_option(ctx, "scale", "city"))
    texts = real_texts() if _option(ctx, "similar_texts", "generated") == "teddy" else None
    if texts is not None and not texts:
        raise BenchError("--similar-texts teddy: no messages found in ../shared/data/teddy2020/official")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result: dict[str, Any] = {
        "open_cases_requested": n_open,
        "resolved_cases_requested": n_resolved,
        "texts": f"teddy2020 ({len(texts)} real messages)" if texts else "generated (hotline bench payloads)",
    }

    started = time.perf_counter()
    world = hb.build_world(scale, seed)
    write(
        f"similar: demo city ({scale}), {len(world.places)} grids; built in {time.perf_counter() - started:.1f} s"
    )
    have_open = Case.objects.filter(status__in=OPEN_STATUSES).count()
    have_resolved = Case.objects.filter(status__in=similar.RESOLVED_STATUSES).exclude(reply="").count()
    gen_open = generate(
        world, n_open - have_open, resolved=False, days=days, seed=seed, now=now, write=write, texts=texts
    )
    gen_resolved = generate(
        world,
        n_resolved - have_resolved,
        resolved=True,
        days=365,
        seed=seed,
        now=now,
        write=write,
        texts=texts,
    )
    # VACUUM cannot run inside a transaction (a test's): the planner's statistics are the bench's concern.
    if connection.vendor == "postgresql" and (gen_open or gen_resolved) and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    counts = {
        "open": Case.objects.filter(status__in=OPEN_STATUSES).count(),
        "resolved_with_reply": Case.objects.filter(status__in=similar.RESOLVED_STATUSES)
        .exclude(reply="")
        .count(),
        "all": Case.objects.count(),
    }
    result["generate_seconds"] = {"open": round(gen_open, 1), "resolved": round(gen_resolved, 1)}
    result["cases"] = counts
    write(
        f"similar: {counts['open']:,} open cases, {counts['resolved_with_reply']:,} resolved with a reply "
        f"({counts['all']:,} in all) on {connection.vendor}; texts: {result['texts']}"
    )

    # Cold builds.
    similar.reset()
    gc.collect()
    peak0 = _peak_mb()
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    index = similar.open_index()
    open_build = time.perf_counter() - t0
    gc.collect()
    rss1 = _rss_mb()
    peak1 = _peak_mb()
    t0 = time.perf_counter()
    rindex = similar.resolved_index()
    resolved_build = time.perf_counter() - t0
    gc.collect()
    rss2 = _rss_mb()
    result["build"] = {
        "open": {
            "cases": index.size,
            "seconds": round(open_build, 2),
            "index_mb": round(index.nbytes() / 2**20, 1),
            "rss_growth_mb": round(rss1 - rss0, 1),
            # How far the build pushed the process's peak (0 when an earlier step peaked higher).
            "peak_rss_growth_mb": round(max(0.0, peak1 - max(peak0, rss0)), 1),
            "vocabulary": int(index.vocab.keys.size),
            "nonzeros": int(index.matrix.nnz),
        },
        "resolved": {
            "cases": rindex.size,
            "seconds": round(resolved_build, 2),
            "index_mb": round(rindex.nbytes() / 2**20, 1),
            "rss_growth_mb": round(rss2 - rss1, 1),
        },
    }
    for kind, d in result["build"].items():
        write(
            f"  cold build {kind:<9} {d['cases']:>8,} cases in {d['seconds']:>6.2f} s, index {d['index_mb']:.1f} MB, "
            f"RSS +{d['rss_growth_mb']:.1f} MB"
            + (f" (peak +{d['peak_rss_growth_mb']:.1f} MB)" if "peak_rss_growth_mb" in d else "")
        )

    operator = User.objects.get(pk=world.operator.pk)
    handler = User.objects.get(pk=world.handler.pk)
    queries, originals = workload(world, n_queries, seed + 11, now, texts=texts)
    street_queries, _ = workload(world, n_queries, seed + 13, now, street_id=world.street.pk, texts=texts)

    def ours(actor: User, located: bool = True) -> Callable[[dict[str, Any]], Any]:
        def fn(q: dict[str, Any]) -> Any:
            kw = dict(q) if located else {**q, "lng": None, "lat": None}
            return similar.similar_open_cases(actor=actor, **kw)

        return fn

    measured: dict[str, Any] = {}
    write(f"== similar_open_cases over {index.size:,} open cases (each query timed; ms) ==")
    measured["operator"], results = _timed(ours(operator), queries)
    _line(write, "operator (city-wide), located", measured["operator"])
    quality = _recall(results, originals)
    measured["handler"], _ = _timed(ours(handler), street_queries)
    _line(write, f"handler ({world.handler_unit.name})", measured["handler"])
    measured["without_place"], results_np = _timed(ours(operator, located=False), queries)
    _line(write, "operator, no location (text+time)", measured["without_place"])
    quality_np = _recall(results_np, originals)

    def suggest(q: dict[str, Any]) -> Any:
        return similar.reply_suggestions(actor=operator, title=q["title"], content=q["content"])

    measured["reply_suggestions"], _ = _timed(suggest, queries)
    _line(write, f"reply_suggestions ({rindex.size:,} resolved)", measured["reply_suggestions"])

    # New cases arrive: the next query adds them to the index.
    more = max(1, min(100, n_open // 100))
    generate(world, more, resolved=False, days=1, seed=seed + 17, now=now, write=lambda _: None)
    t0 = time.perf_counter()
    similar.similar_open_cases(actor=operator, **queries[1])
    refresh = time.perf_counter() - t0
    measured["first_query_after_new_cases"] = {"new_cases": more, "ms": round(1000 * refresh, 2)}
    write(f"  first query after {more} new cases (added incrementally): {1000 * refresh:.2f} ms")

    # The intake desk's first version, for comparison.
    from shizhi.hotline import page_selectors

    def old(q: dict[str, Any]) -> Any:
        return page_selectors.similar_open_cases(
            actor=operator, title=q["title"], content=q["content"], lng=q["lng"], lat=q["lat"], now=q["at"]
        )

    measured["previous_version"], _ = _timed(old, queries[: max(2, n_queries // 3)])
    _line(write, "previous version (page_selectors)", measured["previous_version"], target=False)

    result["queries"] = measured
    result["quality"] = {"located": quality, "without_place": quality_np}
    write(
        f"  planted duplicates: found first {quality['recall_at_1']:.0%}, in the top five "
        f"{quality['recall_at_5']:.0%} (located); without a location {quality_np['recall_at_1']:.0%} / "
        f"{quality_np['recall_at_5']:.0%}"
    )
    met = n_open < 100_000 or measured["operator"]["p99_ms"] <= TARGET_MS
    result["targets"] = [
        {
            "name": "similar_open_cases_p99",
            "value_ms": measured["operator"]["p99_ms"],
            "target_ms": TARGET_MS,
            "at_open_cases": index.size,
            "met": met,
        }
    ]
    similar.reset()
    return result
