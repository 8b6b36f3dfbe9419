"""The demo city's boundaries tile it: children cover their parent without overlaps, and any point in the
city lies in exactly one grid, which ``locate_point`` finds together with its ancestors."""

from __future__ import annotations

import random

import pytest
import shapely
from shapely.geometry import shape

from shizhi.core import geo
from shizhi.core.models import Area, AreaLevel, Grid
from shizhi.core.selectors import locate_point

pytestmark = pytest.mark.django_db


def test_children_cover_their_parent_without_overlaps(small_city: str) -> None:
    for area in Area.objects.all():
        parent = shape(area.boundary)
        assert parent.is_valid
        if area.level < AreaLevel.COMMUNITY:
            children = [shape(c.boundary) for c in area.children.all()]
        else:
            children = [shape(g.boundary) for g in area.grids.all()]
        assert children and all(c.is_valid and not c.is_empty for c in children)
        union = shapely.union_all(children)
        # Covered: the union is the parent; no overlaps: the areas add up to the parent's.
        assert union.area == pytest.approx(parent.area, rel=0.005)
        assert sum(c.area for c in children) == pytest.approx(parent.area, rel=0.005)
        assert shapely.difference(union, parent).area < parent.area * 0.001
        assert area.area_km2 and area.area_km2 > 0


def test_stored_geometry_is_rounded_and_closed(small_city: str) -> None:
    for grid in Grid.objects.all():
        for polygon in geo.polygons_of(grid.boundary):
            for ring in polygon:
                assert ring[0] == ring[-1]
                assert all(round(c, 6) == c for point in ring for c in point)


def test_random_points_fall_in_exactly_one_grid_and_its_ancestors(small_city: str) -> None:
    city = Area.objects.get(level=AreaLevel.CITY)
    grids = list(Grid.objects.all())
    rng = random.Random(42)
    tested = 0
    while tested < 120:
        lng = rng.uniform(city.min_lng, city.max_lng)
        lat = rng.uniform(city.min_lat, city.max_lat)
        if not geo.contains(city.boundary, lng, lat):
            assert locate_point(lng, lat).grid is None
            continue
        tested += 1
        holders = [g for g in grids if geo.contains(g.boundary, lng, lat)]
        assert len(holders) == 1, (lng, lat, [g.code for g in holders])
        loc = locate_point(lng, lat)
        assert loc.grid == holders[0]
        assert loc.community is not None and loc.community.id == holders[0].community_id
        assert loc.street == loc.community.parent and loc.district == loc.street.parent and loc.city == city
        assert geo.contains(loc.district.boundary, lng, lat) and geo.contains(loc.street.boundary, lng, lat)
