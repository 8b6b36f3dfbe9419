import pytest

from shizhi.core import geo
from shizhi.core.errors import ValidationFailed
from shizhi.core.selectors import locate_point
from shizhi.core.tests.factories import build_world, rect

DONUT = {
    "type": "Polygon",
    "coordinates": [
        [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
        [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]],
    ],
}


def test_point_in_polygon_respects_holes_and_multipolygons() -> None:
    assert geo.contains(DONUT, 1, 1)
    assert not geo.contains(DONUT, 5, 5)
    assert not geo.contains(DONUT, 11, 5)
    multi = {
        "type": "MultiPolygon",
        "coordinates": [rect(0, 0, 1, 1)["coordinates"], rect(5, 5, 6, 6)["coordinates"]],
    }
    assert geo.contains(multi, 5.5, 5.5) and geo.contains(multi, 0.5, 0.5) and not geo.contains(multi, 3, 3)


def test_centroid_bbox_and_area() -> None:
    assert geo.centroid(DONUT) == pytest.approx((5.0, 5.0))
    assert geo.bbox(DONUT) == (0, 0, 10, 10)
    square = rect(120.0, 30.0, 120.1, 30.1)
    # 0.1 degree of latitude is 11.12 km; of longitude at 30.05N, 9.63 km.
    assert geo.area_km2(square) == pytest.approx(11.12 * 9.63, rel=0.01)
    assert geo.distance_m(120.0, 30.0, 120.0, 30.1) == pytest.approx(11119.5, rel=0.001)


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "Point", "coordinates": [1, 2]},
        {"type": "Polygon", "coordinates": []},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, "a"], [1, 1], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]},
        "not a geometry",
    ],
)
def test_invalid_geometries_are_refused(bad: object) -> None:
    with pytest.raises(geo.GeometryError):
        geo.polygons_of(bad)  # type: ignore[arg-type]


@pytest.mark.django_db
class TestLocate:
    def test_each_quadrant_resolves_to_its_grid_and_ancestors(self) -> None:
        build_world()
        loc = locate_point(120.05, 30.02)  # urban district, south street, west community, south grid
        assert loc.grid is not None and loc.grid.code == "331202001001001"
        assert (loc.community.code, loc.street.code, loc.district.code, loc.city.code) == (
            "331202001001",
            "331202001000",
            "331202000000",
            "331200000000",
        )
        loc = locate_point(120.35, 30.18)  # county, north town, east village, north grid
        assert loc.grid.code == "331221102202002"
        assert loc.community.code == "331221102202" and loc.community.name == "临江北西村"
        assert loc.district.kind == "县"

    def test_a_point_outside_the_city_finds_nothing(self) -> None:
        build_world()
        loc = locate_point(121.0, 31.0)
        assert (loc.grid, loc.community, loc.street, loc.district, loc.city) == (None, None, None, None, None)

    def test_without_grids_the_deepest_area_is_found(self) -> None:
        world = build_world()
        from shizhi.core.models import Grid

        Grid.objects.filter(community=world.area("331202001001")).delete()
        loc = locate_point(120.05, 30.02)
        assert loc.grid is None
        assert loc.community.code == "331202001001" and loc.district.code == "331202000000"

    def test_bad_coordinates(self) -> None:
        with pytest.raises(ValidationFailed):
            locate_point(190.0, 30.0)
        with pytest.raises(ValidationFailed):
            locate_point(float("nan"), 30.0)


@pytest.mark.django_db
class TestPointIndex:
    """The in-memory index (core.spatial) follows every change of grids and areas at once."""

    def test_a_moved_grid_boundary_is_seen_by_the_next_lookup(self) -> None:
        from shizhi.core.models import Grid
        from shizhi.core.services import _geometry_fields

        build_world()
        assert locate_point(120.05, 30.02).grid.code == "331202001001001"
        grid = Grid.objects.get(code="331202001001001")
        for name, value in _geometry_fields(rect(0.0, 0.0, 0.1, 0.1)).items():
            setattr(grid, name, value)
        grid.save()
        loc = locate_point(120.05, 30.02)
        # Its neighbour does not cover the point either: the community is found by its own polygon.
        assert loc.grid is None or loc.grid.code != "331202001001001"
        assert loc.community.code == "331202001001"
        assert locate_point(0.05, 0.05).grid.code == "331202001001001"

    def test_a_new_grid_and_a_bulk_import_are_found(self) -> None:
        from shizhi.core import spatial
        from shizhi.core.models import Grid

        world = build_world()
        assert locate_point(121.0, 31.0).grid is None
        token = spatial.current_token()
        Grid.objects.create(
            code="331202001001099",
            name="飞地网格",
            community=world.area("331202001001"),
            path=world.area("331202001001").path,
            boundary=rect(121.0, 31.0, 121.1, 31.1),
            min_lng=121.0,
            min_lat=31.0,
            max_lng=121.1,
            max_lat=31.1,
        )
        assert spatial.current_token() != token
        loc = locate_point(121.05, 31.05)
        assert loc.grid.code == "331202001001099" and loc.street.code == "331202001000"

    def test_each_lookup_returns_its_own_instances(self) -> None:
        build_world()
        a, b = locate_point(120.05, 30.02), locate_point(120.05, 30.02)
        assert a.grid == b.grid and a.grid is not b.grid and a.city is not b.city
        a.city.name = "改了"
        assert locate_point(120.05, 30.02).city.name != "改了"
