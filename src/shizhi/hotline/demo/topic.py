"""What the demo taxonomy (:mod:`shizhi.hotline.demo.taxonomy`) is made of: topics (a category with its
share of the year's cases, season, handling unit, the matters citizens raise and the policy basis of
replies), the seasons and the mixes of demand types."""

from __future__ import annotations

from dataclasses import dataclass

STREET = "street"  # dispatched to the street office or township government of the case's street (属地)


@dataclass(frozen=True)
class Issue:
    """One matter citizens raise: a short form for titles, what happened, what it causes, what they ask,
    and what the unit did about it (for replies)."""

    short: str
    what: str
    impact: str
    ask: str
    done: str


@dataclass(frozen=True)
class Topic:
    path: tuple[str, ...]
    weight: float  # share of the year's cases (relative)
    to: str  # unit code, STREET, or "" (no dispatch rule: answered by the hotline itself)
    issues: tuple[Issue, ...]
    keywords: str = ""
    season: str = "flat"
    demand: str = "complaint"  # a profile in DEMAND_PROFILES
    where: str = "any"  # any, urban, rural
    evening: bool = False  # reported mostly in the evening and at night (noise)
    county_to_government: bool = False  # in counties (县) the county government handles it
    basis: str = ""  # the law or policy a reply cites
    sensor: bool = False  # can be raised by a sensor alarm
    refusal: tuple[str, str] | None = None  # (why it cannot be done, what the citizen can do instead)


# Month multipliers, January first.
SEASONS: dict[str, tuple[float, ...]] = {
    "flat": (1,) * 12,
    "summer": (0.5, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 2.0, 1.3, 0.9, 0.6, 0.5),
    "winter": (1.8, 1.6, 1.1, 0.7, 0.5, 0.4, 0.4, 0.4, 0.5, 0.8, 1.2, 1.7),
    "heating": (2.6, 2.0, 0.6, 0.05, 0, 0, 0, 0, 0, 0.1, 1.3, 2.5),
    "rain": (0.5, 0.6, 0.9, 1.0, 1.3, 2.2, 2.0, 1.8, 1.3, 0.7, 0.5, 0.4),
    "school": (0.6, 0.8, 0.9, 0.9, 1.3, 1.7, 1.9, 2.1, 1.5, 0.7, 0.6, 0.5),
    "wages": (2.2, 1.7, 0.8, 0.7, 0.7, 0.8, 0.8, 0.8, 0.8, 0.9, 1.2, 2.0),
    "autumn": (1.0, 0.8, 0.8, 0.6, 0.9, 1.1, 0.6, 0.5, 0.8, 1.6, 1.6, 1.2),
    "shopping": (1.3, 1.4, 0.9, 0.8, 0.9, 1.0, 0.9, 0.8, 0.9, 1.0, 1.5, 1.2),
}
# Demand types (诉求类型) by profile, as weights.
DEMAND_PROFILES: dict[str, dict[str, float]] = {
    "complaint": {"complaint": 0.6, "help": 0.22, "report": 0.06, "inquiry": 0.07, "suggestion": 0.05},
    "help": {"help": 0.6, "complaint": 0.3, "inquiry": 0.1},
    "report": {"report": 0.55, "complaint": 0.45},
    "inquiry": {"inquiry": 0.8, "help": 0.12, "complaint": 0.08},
    "suggestion": {"suggestion": 0.85, "complaint": 0.15},
    "praise": {"praise": 1.0},
}


def issue(short: str, what: str, impact: str, ask: str, done: str) -> Issue:
    return Issue(short, what, impact, ask, done)
