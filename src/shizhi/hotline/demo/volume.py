"""How many cases, when, what and where (演示工单的分布): the seasons of each matter, the week (Mondays busiest,
weekends and public holidays quiet), the hours (office hours; noise in the evening), places by population,
and the channels and demand types people use."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from itertools import accumulate

from shizhi.hotline.demo.clock import Clock
from shizhi.hotline.demo.taxonomy import DEMAND_PROFILES, SEASONS, STREET, TOPICS, Topic
from shizhi.hotline.demo.world import Spot, World

WEEKDAY = (1.15, 1.05, 1.0, 1.0, 0.95, 0.7, 0.65)
HOURS_DAY = (0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.5, 1.2, 2.5, 4, 4.2, 3.5, 2.2, 2.8, 3.8, 3.8, 3.5, 2.8, 2.2, 2.3, 2.4, 2, 1.4, 0.8)  # fmt: skip
HOURS_EVENING = (1.5, 1, 0.5, 0.2, 0.1, 0.1, 0.3, 0.6, 0.8, 1, 1, 1, 1, 1, 1, 1, 1, 1.2, 1.5, 2, 3, 4, 4.5, 3)


@dataclass
class Seed:
    at: dt.datetime
    topic: Topic
    spot: Spot
    channel: str
    demand: str


def seeds(
    world: World, clock: Clock, rng: random.Random, *, start: dt.datetime, end: dt.datetime, size: int
) -> list[Seed]:
    """When, what and where each case of the year is, in time order."""
    months = [list(accumulate(t.weight * SEASONS[t.season][m] for t in TOPICS)) for m in range(12)]
    days = [start.date() + dt.timedelta(days=i) for i in range((end.date() - start.date()).days + 1)]

    def day_factor(d: dt.date) -> float:
        holiday = not clock.is_workday(d) and d.weekday() < 5
        return 0.6 if holiday else (1.0 if clock.is_workday(d) and d.weekday() >= 5 else WEEKDAY[d.weekday()])

    mass = [day_factor(d) * months[d.month - 1][-1] for d in days]
    total = sum(mass)
    spots = {
        kind: [s for s in world.spots if kind == "any" or s.rural == (kind == "rural")] or world.spots
        for kind in ("any", "urban", "rural")
    }
    spot_weights = {k: list(accumulate(s.population or 1 for s in v)) for k, v in spots.items()}
    hours_day, hours_evening = list(accumulate(HOURS_DAY)), list(accumulate(HOURS_EVENING))
    result = []
    for d, m in zip(days, mass, strict=True):
        for _ in range(int(size * m / total + rng.random())):
            topic = rng.choices(TOPICS, cum_weights=months[d.month - 1])[0]
            hour = rng.choices(range(24), cum_weights=hours_evening if topic.evening else hours_day)[0]
            at = dt.datetime.combine(d, dt.time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=clock.tz)
            if at > end:
                continue
            spot = rng.choices(spots[topic.where], cum_weights=spot_weights[topic.where])[0]
            result.append(Seed(at, topic, spot, channel(rng, topic), demand(rng, topic)))
    result.sort(key=lambda s: s.at)
    return result


def channel(rng: random.Random, topic: Topic) -> str:
    weights = {"phone": 60, "wechat": 12, "app": 8, "web": 8, "open311": 2, "proactive": 1}
    if topic.to == STREET:
        weights["grid"] = 6
    if topic.sensor:
        weights["sensor"] = 4
    return rng.choices(list(weights), list(weights.values()))[0]


def demand(rng: random.Random, topic: Topic) -> str:
    profile = DEMAND_PROFILES[topic.demand]
    return rng.choices(list(profile), list(profile.values()))[0]
