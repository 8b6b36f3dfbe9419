"""Plausible geography for the demo city, with shapely: an irregular outline, tiled level by level into
Voronoi cells clipped to their parent, so that the children of every area cover it without gaps or overlaps.

All clipping is done on a 1e-6 degree precision grid (about 0.1 m), the precision of the stored GeoJSON, so
that neighbours share exactly the same vertices and rounding the output changes nothing."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any, TypeAlias

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

GRID = 1e-6  # degrees; coordinates are stored with 6 decimals
KM_PER_DEG_LAT = 110.574
Shape: TypeAlias = Polygon | MultiPolygon
XY: TypeAlias = tuple[float, float]


def km_per_deg_lng(lat: float) -> float:
    return 111.320 * math.cos(math.radians(lat))


def offset(origin: XY, east_km: float, north_km: float) -> XY:
    """The point ``east_km`` east and ``north_km`` north of ``origin`` (lng, lat)."""
    return origin[0] + east_km / km_per_deg_lng(origin[1]), origin[1] + north_km / KM_PER_DEG_LAT


def polar(origin: XY, radius_km: float, angle: float) -> XY:
    return offset(origin, radius_km * math.cos(angle), radius_km * math.sin(angle))


def blob(
    rng: random.Random,
    centre: XY,
    radius_km: float,
    roughness: float,
    vertices: int = 360,
    tolerance_m: float = 80,
) -> Polygon:
    """An irregular, natural-looking closed outline: a circle whose radius is modulated by a few random
    harmonics (large bays and bulges) and many small ones (a wiggly border), then simplified."""
    harmonics = [
        (k, rng.uniform(0, 2 * math.pi), roughness * rng.uniform(0.4, 1.0) / k**1.2) for k in range(2, 40)
    ]
    scale = 1.0 / max(1.0, sum(a for _, _, a in harmonics) / 0.6)  # keep the radius positive
    points = []
    for i in range(vertices):
        angle = 2 * math.pi * i / vertices
        r = radius_km * (1 + scale * sum(a * math.sin(k * angle + phase) for k, phase, a in harmonics))
        points.append(polar(centre, r, angle))
    outline = Polygon(points).simplify(tolerance_m / 1000 / KM_PER_DEG_LAT)
    return polygonal(shapely.set_precision(shapely.make_valid(outline), GRID))


def polygonal(geometry: BaseGeometry) -> Shape:
    """The polygon parts of a geometry (an intersection may also yield points and lines), as one shape."""
    parts: list[Polygon] = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, MultiPolygon):
            parts.extend(part.geoms)
        elif isinstance(part, Polygon) and not part.is_empty:
            parts.append(part)
    if not parts:
        raise ValueError("geometry has no polygon parts")
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def sample_points(rng: random.Random, shape: Shape, n: int) -> list[XY]:
    """``n`` uniformly random points inside ``shape`` (rejection sampling in its bounding box)."""
    min_x, min_y, max_x, max_y = shape.bounds
    shapely.prepare(shape)
    points: list[XY] = []
    while len(points) < n:
        batch = [
            (rng.uniform(min_x, max_x), rng.uniform(min_y, max_y))
            for _ in range(max(16, 2 * (n - len(points))))
        ]
        inside = shapely.contains_xy(shape, [p[0] for p in batch], [p[1] for p in batch])
        points.extend(p for p, ok in zip(batch, inside, strict=True) if ok)
    return points[:n]


def _voronoi(shape: Shape, seeds: Sequence[XY]) -> list[Polygon]:
    cells = shapely.voronoi_polygons(shapely.multipoints(list(seeds)), extend_to=shape, ordered=True)
    return list(shapely.get_parts(cells))


def relax(shape: Shape, seeds: Sequence[XY], iterations: int, fixed: Sequence[int] = ()) -> list[XY]:
    """Lloyd relaxation: move each seed (except the ``fixed`` ones) to the centroid of its cell, so that the
    cells come out evenly sized and round rather than random splinters."""
    points = list(seeds)
    if len(points) < 2:
        return points
    keep = set(fixed)
    shapely.prepare(shape)
    for _ in range(iterations):
        moved = []
        for i, (point, cell) in enumerate(zip(points, _voronoi(shape, points), strict=True)):
            piece = cell.intersection(shape)
            if i in keep or piece.is_empty:
                moved.append(point)
                continue
            c = piece.centroid
            if not shape.contains(c):
                c = piece.point_on_surface()
            moved.append((c.x, c.y))
        points = moved
    return points


def tile(shape: Shape, seeds: Sequence[XY]) -> list[Shape]:
    """Split ``shape`` into one cell per seed (in seed order): Voronoi cells clipped to the shape.

    Detached slivers (a cell clipped by a concave border may fall into pieces) go to the neighbour that
    shares the longest edge with them, so that every cell is one piece where the parent is."""
    if len(seeds) == 1:
        return [shape]
    cells = [polygonal(shapely.intersection(c, shape, grid_size=GRID)) for c in _voronoi(shape, seeds)]
    for i in range(len(cells)):
        cell = cells[i]
        if not isinstance(cell, MultiPolygon):
            continue
        parts = sorted(cell.geoms, key=lambda p: -p.area)
        cells[i] = parts[0]
        for fragment in parts[1:]:
            shared = [
                (shapely.length(shapely.intersection(fragment.boundary, other.boundary)), j)
                for j, other in enumerate(cells)
                if j != i
            ]
            length, j = max(shared)
            if length <= 0:  # the parent itself is in pieces: keep the fragment where it is
                cells[i] = polygonal(shapely.union(cells[i], fragment, grid_size=GRID))
                continue
            cells[j] = polygonal(shapely.union(cells[j], fragment, grid_size=GRID))
    return cells


def nearest(points: Sequence[XY], target: XY) -> list[int]:
    """Indices of ``points`` from nearest to farthest from ``target``."""
    return sorted(range(len(points)), key=lambda i: (math.dist(points[i], target), i))


def inside_point(shape: Shape) -> XY:
    """A point inside the shape, near its middle."""
    c = shape.centroid
    if not shape.contains(c):
        c = shape.point_on_surface()
    return c.x, c.y


def to_geojson(shape: Shape) -> dict[str, Any]:
    """GeoJSON (RFC 7946: counter-clockwise outer rings) with coordinates rounded to 6 decimals."""

    def rings(polygon: Polygon) -> list[list[list[float]]]:
        polygon = orient(polygon, sign=1.0)
        return [
            [[round(x, 6), round(y, 6)] for x, y in ring.coords]
            for ring in (polygon.exterior, *polygon.interiors)
        ]

    if isinstance(shape, Polygon):
        return {"type": "Polygon", "coordinates": rings(shape)}
    return {"type": "MultiPolygon", "coordinates": [rings(p) for p in shape.geoms]}


def contains(shape: Shape, point: XY) -> bool:
    return bool(shape.contains(Point(point)))
