"""Put the demo year together: plan every case, add the duplicates neighbours report (merged into the first
report), run every life up to the demo's "now", make sure every case status is there (a small demo has only a
few cases in its last days), and hand the cases to the bulk writer."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from shizhi.hotline.demo import steps as st
from shizhi.hotline.demo import volume
from shizhi.hotline.demo.cases import Year, _minutes
from shizhi.hotline.demo.steps import Life
from shizhi.hotline.demo.volume import Seed
from shizhi.hotline.demo.world import World
from shizhi.hotline.models import CaseStatus, Channel
from shizhi.hotline.services.history import BulkCase

S = CaseStatus
DUPLICATE_SHARE = 0.03
# The open states a demo must show (closed is always there, merged is made separately).
OPEN_STATES = (S.RECEIVED, S.DISPATCHED, S.RETURNED, S.ACCEPTED, S.IN_PROGRESS, S.REPLIED)


def _reported_again(
    year: Year, master: Life, rng: random.Random, at: dt.datetime, merged_at: dt.datetime
) -> tuple[Life, st.Actor]:
    seed = master.seed
    dup_seed = Seed(at, seed.topic, seed.spot, volume.channel(rng, seed.topic), seed.demand)
    dup = year.new_case(dup_seed, rng, like=master)
    dup.seed, dup.master = dup_seed, master
    operator = year._pick(rng, year.world.operators)
    dup.at(at, S.RECEIVED, st.create, actor=operator, note=f"{Channel(dup.case.channel).label}受理")
    dup.at(merged_at, S.MERGED, st.merge, actor=operator, master=master)
    master.duplicates += 1
    return dup, operator


def duplicate(year: Year, master: Life, rng: random.Random, at: dt.datetime) -> Life | None:
    """A neighbour reports the same matter at ``at``; an operator merges it into ``master`` soon after, and it
    follows the master's reply."""
    merged_at = at + _minutes(rng, 5, 60)
    if master.status_at(merged_at) in (S.CLOSED, S.MERGED):
        return None  # too late: the first report is already closed
    dup, operator = _reported_again(year, master, rng, at, merged_at)
    master.insert(merged_at, st.merged_into, actor=operator, duplicate=dup)
    if master.reply_at is not None:
        followed = dup.at(max(master.reply_at, merged_at), S.REPLIED, st.follow, master=master)
        year._callback(dup, rng, followed, "good", final=True)
    return dup


def duplicates(year: Year, lives: Sequence[Life]) -> list[Life]:
    result = []
    for life in lives:
        if life.seed.demand not in ("complaint", "help", "report") or life.reply_at is None:
            continue
        rng = random.Random(f"{year.seed}:dup:{life.index}")
        if rng.random() >= DUPLICATE_SHARE:
            continue
        at = life.seed.at + _minutes(rng, 20, 36 * 60)
        if at <= year.end:
            dup = duplicate(year, life, rng, at)
            if dup is not None:
                result.append(dup)
    return result


def cover(year: Year, lives: list[Life], dups: list[Life]) -> None:
    """Re-plan recent cases so that every open state appears, stopping each at the state it lacks."""
    present = {life.case.status for life in [*lives, *dups]}
    month_ago = year.end - dt.timedelta(days=30)
    candidates = [
        i
        for i in range(len(lives) - 1, -1, -1)
        if lives[i].seed.at > month_ago and not lives[i].duplicates and lives[i].case.status == S.CLOSED
    ]
    for status in OPEN_STATES:
        if status in present:
            continue
        for i in list(candidates):
            fresh = year.plan(lives[i].seed, lives[i].index, force_return=status == S.RETURNED)
            if not any(s == status for _, _, s, _ in fresh.steps):
                continue
            fresh.run(year.end, stop_status=status)
            if fresh.case.status == status:
                lives[i] = fresh
                candidates.remove(i)
                present.add(status)
                break
    if S.MERGED not in present:
        # A report made again in the last hour, merged into a case still being handled.
        open_lives = [x for x in lives if x.case.status in (S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS)]
        if open_lives:
            master = open_lives[-1]
            rng = random.Random(f"{year.seed}:cover-merge")
            at = max(year.end - dt.timedelta(minutes=60), master.case.updated_at + dt.timedelta(minutes=1))
            merged_at = at + dt.timedelta(minutes=20)
            if merged_at <= year.end:
                dup, operator = _reported_again(year, master, rng, at, merged_at)
                dup.run(year.end)
                st.merged_into(master, merged_at, actor=operator, duplicate=dup)
                dups.append(dup)


def fill_numbers(items: Sequence[BulkCase]) -> None:
    """Merge entries name the other case by number, known only once the writer has numbered them."""
    for item in items:
        for event in item.events:
            for key in ("master", "duplicate"):
                other = event.data.get(key)
                if isinstance(other, Life):
                    event.data[key] = other.case.number
                    if event.action == "merged_follow":
                        event.note = other.case.number


def build(world: World, *, size: int, seed: int, end: dt.datetime) -> tuple[list[BulkCase], Year]:
    year = Year(world, size=size, seed=seed, end=end)
    lives = [year.plan(s, i) for i, s in enumerate(year.seeds())]
    dups = duplicates(year, lives)
    for life in [*lives, *dups]:
        life.run(year.end)
    cover(year, lives, dups)
    everything = [*lives, *dups]
    position = {id(life): i for i, life in enumerate(everything)}
    for dup in dups:
        if dup.master is not None and dup.case.status != S.RECEIVED:
            dup.item.master = position[id(dup.master)]
    return [life.item for life in everything], year
