"""The demo city as plain data (no database): names, codes, numbers and the GeoJSON size at city scale."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
import shapely
from shapely.geometry import Polygon

from shizhi.core.models import AreaLevel
from shizhi.demo import geography as g
from shizhi.demo import names
from shizhi.demo.city import Node, area_rows, build_city, grid_rows, split
from shizhi.demo.people import id_check_digit, id_number
from shizhi.demo.scales import SCALES


@pytest.fixture(scope="module")
def big_city() -> Node:
    return build_city(SCALES["city"], random.Random(1))


def test_city_scale_has_the_promised_size(big_city: Node) -> None:
    districts = big_city.children
    kinds = Counter(d.kind for d in districts)
    assert len(districts) == 6 and kinds["县"] >= 2
    streets = big_city.level_nodes(AreaLevel.STREET)
    communities = big_city.level_nodes(AreaLevel.COMMUNITY)
    grids = [grid for c in communities for grid in c.grids]
    assert 55 <= len(streets) <= 65
    assert 550 <= len(communities) <= 680
    assert 2700 <= len(grids) <= 3500
    assert 2_600_000 <= big_city.population <= 3_300_000
    assert {s.kind for s in streets} == {"街道", "镇", "乡"}
    assert {c.kind for c in communities} == {"社区", "村"}
    # Urban communities are 4,000-9,000 people, villages 800-3,000; about 2.6 people a household.
    for c in communities:
        low, high = (3000, 9000) if c.kind == "社区" else (800, 3200)
        assert low <= c.population <= high, c
        assert 2.2 <= c.population / c.households <= 3.2
    # The whole city's GeoJSON stays small enough to send to a browser.
    size = sum(len(json.dumps(r.boundary)) for r in area_rows(big_city)) + sum(
        len(json.dumps(r.boundary)) for r in grid_rows(big_city, {})
    )
    assert size < 15_000_000


def test_names_are_unique_within_their_parent_and_chinese(big_city: Node) -> None:
    for node in big_city.walk():
        child_names = [c.name for c in node.children]
        assert len(child_names) == len(set(child_names)), node.name
        grid_names = [grid.name for grid in node.grids]
        assert len(grid_names) == len(set(grid_names))
        assert all("\u4e00" <= ch <= "\u9fff" for ch in node.name)
        assert node.name.endswith(node.kind)


def test_the_same_seed_gives_the_same_city_and_another_seed_another() -> None:
    def fingerprint(seed: int) -> list[tuple[str, str, int, str]]:
        city = build_city(SCALES["small"], random.Random(seed))
        return [(r.code, r.name, r.population, json.dumps(r.boundary)) for r in area_rows(city)]

    assert fingerprint(11) == fingerprint(11)
    assert fingerprint(11) != fingerprint(12)


def test_split_adds_up_exactly() -> None:
    assert split(10, [1, 1, 1]) == [4, 3, 3]
    parts = split(7_531, [0.7, 1.3, 1.1, 0.9])
    assert sum(parts) == 7_531 and all(p > 0 for p in parts)


def test_identity_numbers_have_a_valid_check_digit() -> None:
    assert id_check_digit("11010519491231002") == "X"  # the example in GB 11643
    rng = random.Random(4)
    for _ in range(50):
        number = id_number(rng, "331202", female=rng.random() < 0.5)
        assert len(number) == 18 and number[:6] == "331202"
        assert number[17] == id_check_digit(number[:17])


def test_person_names_and_chinese_numbers() -> None:
    rng = random.Random(2)
    people = [names.person_name(rng) for _ in range(500)]
    assert all(2 <= len(p) <= 4 for p in people)
    assert Counter(p[0] for p in people).most_common(1)[0][0] in "王李张刘陈"
    assert [names.chinese_number(n) for n in (1, 10, 12, 20, 35)] == ["一", "十", "十二", "二十", "三十五"]


def test_tile_covers_a_concave_parent_with_one_piece_per_cell() -> None:
    # A U shape: the seed in the left arm is nearest to the top of the right arm too, so its Voronoi cell,
    # clipped to the U, falls into two pieces; the detached piece goes to a neighbour.
    u_shape = Polygon([(0, 0), (10, 0), (10, 10), (7, 10), (7, 3), (3, 3), (3, 10), (0, 10)])
    seeds = [(2.9, 6.0), (5.0, 1.0), (9.5, 1.0)]
    cells = g.tile(u_shape, seeds)
    assert all(isinstance(c, Polygon) for c in cells)
    assert all(g.contains(c, s) for c, s in zip(cells, seeds, strict=True))
    assert sum(c.area for c in cells) == pytest.approx(u_shape.area)
    assert shapely.union_all(cells).symmetric_difference(u_shape).area == pytest.approx(0, abs=1e-9)
    assert g.to_geojson(cells[0])["type"] == "Polygon"
