"""Reads for the web pages (驾驶舱页面): shaped for templates, built on the core selectors, no N+1 queries.

Pages of every module come here for what the shell needs (the signed-in user's roles, a month of the working
calendar) and the core pages for what ``shizhi.core.selectors`` does not shape for display.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext

from shizhi.core import selectors as core_selectors
from shizhi.core import workcalendar
from shizhi.core.models import Area, AreaLevel, AuditEvent, Grid, Role, UrbanRural, User
from shizhi.core.permissions import actor_scope
from shizhi.core.selectors import Actor

# ---------------------------------------- the shell


def shell_user(user: Actor) -> dict[str, Any] | None:
    """Name and role labels of the signed-in user, for the header (reuses the per-request scope cache)."""
    if user is None or not user.is_authenticated:
        return None
    roles = actor_scope(user).roles
    labels = [str(Role(r).label) for r in Role.values if r in roles]
    return {"name": str(user), "username": user.get_username(), "roles": labels}


# ---------------------------------------- home page


def population_by_district() -> dict[str, Any]:
    """Resident population per district, urban communities vs villages (城镇 / 乡村), for the home chart.

    Summed over communities and villages (the level where the statistics are collected), grouped by their
    district in one query."""
    districts = list(Area.objects.filter(level=AreaLevel.DISTRICT).order_by("code").values_list("id", "name"))
    sums: dict[tuple[int | None, str], int] = {}
    rows = (
        Area.objects.filter(level=AreaLevel.COMMUNITY)
        .values("parent__parent_id", "urban_rural")
        .annotate(people=Sum("population"))
        .values_list("parent__parent_id", "urban_rural", "people")
    )
    for district_id, urban_rural, people in rows:
        sums[(district_id, urban_rural)] = people or 0
    urban = [sums.get((pk, UrbanRural.URBAN), 0) for pk, _ in districts]
    rural = [sums.get((pk, UrbanRural.RURAL), 0) for pk, _ in districts]
    return {
        "districts": [name for _, name in districts],
        "urban": urban,
        "rural": rural,
        # Words the chart script shows, in the page's language ({n}: a formatted number).
        "labels": {
            "urban": str(UrbanRural.URBAN.label),
            "rural": str(UrbanRural.RURAL.label),
            "axis": pgettext("chart axis", "人"),
            "people": gettext("{n} 人"),
        },
        "rows": [
            {"id": pk, "name": name, "urban": u, "rural": r, "total": u + r}
            for (pk, name), u, r in zip(districts, urban, rural, strict=True)
        ],
    }


# ---------------------------------------- area pages


def _density(population: int, area_km2: float | None) -> float | None:
    if not area_km2:
        return None
    return round(population / area_km2, 1)


def area_page(*, actor: Actor, area_id: int) -> dict[str, Any]:
    """Everything the page of one area shows: ancestors, facts, children with counts, and its grids when it is
    a community or village. Raises NotFound / PermissionDenied like ``access_area``."""
    area = core_selectors.access_area(actor=actor, area_id=area_id)
    children = core_selectors.area_children_stats(area)
    grid_count = Grid.objects.filter(path__startswith=area.path).count()
    rows = []
    for item in children:
        child = item["area"]
        rows.append(
            {
                **item,
                "density": _density(child.population, child.area_km2),
            }
        )
    grids: list[Grid] = []
    if area.level == AreaLevel.COMMUNITY:
        grids = list(core_selectors.grid_list(actor=actor, community_id=area.pk))
    return {
        "area": area,
        "ancestors": core_selectors.area_ancestors(area),
        "children": rows,
        "child_level_label": str(AreaLevel(area.level + 1).label) if area.level < AreaLevel.COMMUNITY else "",
        "grid_count": grid_count,
        "grids": grids,
        "density": _density(area.population, area.area_km2),
        # Per child and grid: numbers the map colours by (population density), keyed by id.
        "map_stats": {
            "children": {
                str(r["area"].pk): {"density": r["density"], "area_km2": r["area"].area_km2} for r in rows
            },
            "grids": {
                str(g.pk): {"density": _density(g.population, g.area_km2), "area_km2": g.area_km2}
                for g in grids
            },
        },
    }


def city_list(*, actor: Actor) -> list[Area]:
    return list(core_selectors.area_list(actor=actor, level=AreaLevel.CITY))


# ---------------------------------------- units


def unit_page(*, actor: Actor, unit_id: int) -> dict[str, Any]:
    unit = core_selectors.access_unit(actor=actor, unit_id=unit_id)
    return {
        "unit": unit,
        "contacts": core_selectors.unit_contacts(actor, unit),
        "can_change": core_selectors.can_change_unit(actor, unit),
        "children": list(unit.children.filter(is_active=True).order_by("code").only("id", "name", "kind")),
    }


# ---------------------------------------- audit


def audit_filter_choices(*, actor: Actor) -> dict[str, list[str]]:
    """Distinct actions and object types among the events the actor may read, for the filter drop-downs."""
    qs = core_selectors.audit_list(actor=actor).order_by()
    return {
        "actions": sorted(set(qs.values_list("action", flat=True).distinct())),
        "object_types": sorted(set(qs.values_list("object_type", flat=True).distinct())),
    }


def audit_actor_id(username: str) -> int | None:
    """The id of the user with this username, for the audit filter (-1 when nobody has it: match nothing)."""
    if not username:
        return None
    pk = User.objects.filter(username=username).values_list("pk", flat=True).first()
    return pk if pk is not None else -1


def audit_change_rows(event: AuditEvent) -> list[tuple[str, str]]:
    """``changes`` as (field, "old → new") pairs for display."""
    rows = []
    for key, value in (event.changes or {}).items():
        if isinstance(value, list) and len(value) == 2:
            old, new = value
            rows.append((str(key), f"{_short(old)} → {_short(new)}"))
        else:
            rows.append((str(key), _short(value)))
    return rows


def _short(value: Any, limit: int = 80) -> str:
    text = "—" if value is None or value == "" else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------- calendar

# Column heads of the calendar, Monday first (lazy: each request shows them in its own language).
WEEKDAYS = [
    gettext_lazy("周一"),
    gettext_lazy("周二"),
    gettext_lazy("周三"),
    gettext_lazy("周四"),
    gettext_lazy("周五"),
    gettext_lazy("周六"),
    gettext_lazy("周日"),
]


def parse_month(raw: str | None, today: dt.date | None = None) -> tuple[int, int]:
    """``"2026-02"`` -> (2026, 2); anything else (or out of 2000..2100) -> the current month."""
    today = today or timezone.localdate()
    if raw:
        try:
            year_s, month_s = raw.split("-", 1)
            year, month = int(year_s), int(month_s)
            if 2000 <= year <= 2100 and 1 <= month <= 12:
                return year, month
        except ValueError:
            pass
    return today.year, today.month


def calendar_month(year: int, month: int, today: dt.date | None = None) -> dict[str, Any]:
    """A month of the working calendar as weeks (Monday first) of day cells, with the neighbouring months."""
    today = today or timezone.localdate()
    cells: list[dict[str, Any] | None] = [None] * dt.date(year, month, 1).weekday()
    workdays = holidays = 0
    for day, is_workday, name in workcalendar.month_days(year, month):
        weekend = day.weekday() >= 5
        if is_workday and weekend:
            kind = "makeup"  # 调休上班: a weekend day that is worked
        elif not is_workday and name:
            kind = "holiday"
        elif not is_workday:
            kind = "weekend"
        else:
            kind = "workday"
        workdays += is_workday
        holidays += kind == "holiday"
        cells.append(
            {"date": day, "is_workday": is_workday, "name": name, "kind": kind, "today": day == today}
        )
    cells += [None] * (-len(cells) % 7)
    weeks = [cells[i : i + 7] for i in range(0, len(cells), 7)]
    prev_year, prev_month = (year - 1, 12) if month == 1 else (year, month - 1)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return {
        "year": year,
        "month": month,
        "first_day": dt.date(year, month, 1),  # shown with YEAR_MONTH_FORMAT: 2026年2月 / February 2026
        "weeks": weeks,
        "weekdays": WEEKDAYS,
        "covers": workcalendar.covers(year),
        "workdays": workdays,
        "holidays": holidays,
        "days_in_month": calendar.monthrange(year, month)[1],
        "prev": f"{prev_year:04d}-{prev_month:02d}" if prev_year >= 2000 else None,
        "next": f"{next_year:04d}-{next_month:02d}" if next_year <= 2100 else None,
        "this_month": f"{today.year:04d}-{today.month:02d}",
    }
