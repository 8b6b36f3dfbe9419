"""Small, dependency-free geometry for GeoJSON polygons in WGS84 lng/lat: bounding boxes, centroids,
areas and point-in-polygon (even-odd rule, holes respected). Enough for "which grid contains this point";
heavy GIS work (tiling the demo city) uses shapely."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

Ring = Sequence[Sequence[float]]
EARTH_RADIUS_KM = 6371.0088


class GeometryError(ValueError):
    pass


def polygons_of(geometry: dict[str, Any]) -> list[list[Ring]]:
    """The polygons (each a list of rings, outer first) of a Polygon or MultiPolygon geometry."""
    if not isinstance(geometry, dict):
        raise GeometryError("geometry must be a GeoJSON object")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    polygons: Any
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise GeometryError(f"expected Polygon or MultiPolygon, got {kind!r}")
    if not isinstance(polygons, list) or not polygons:
        raise GeometryError("polygon has no coordinates")
    for poly in polygons:
        if not isinstance(poly, list) or not poly:
            raise GeometryError("polygon has no rings")
        for ring in poly:
            if not isinstance(ring, list) or len(ring) < 4:
                raise GeometryError("a ring needs at least 4 positions (closed)")
            for pos in ring:
                if (
                    not isinstance(pos, list | tuple)
                    or len(pos) < 2
                    or not all(isinstance(c, int | float) and math.isfinite(c) for c in pos[:2])
                ):
                    raise GeometryError("a position must be [lng, lat] numbers")
                if not (-180 <= pos[0] <= 180 and -90 <= pos[1] <= 90):
                    raise GeometryError("lng must be in [-180, 180] and lat in [-90, 90]")
    return polygons


def validate_point(lng: float, lat: float) -> None:
    if not (math.isfinite(lng) and math.isfinite(lat)):
        raise GeometryError("coordinates must be finite numbers")
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise GeometryError("lng must be in [-180, 180] and lat in [-90, 90]")


def bbox(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for poly in polygons_of(geometry):
        for x, y, *_ in poly[0]:
            xs.append(x)
            ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)


def _ring_contains(ring: Ring, x: float, y: float) -> bool:
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def contains(geometry: dict[str, Any], lng: float, lat: float) -> bool:
    """True if the point lies inside the polygon (and not in one of its holes)."""
    for poly in polygons_of(geometry):
        if _ring_contains(poly[0], lng, lat) and not any(_ring_contains(h, lng, lat) for h in poly[1:]):
            return True
    return False


def _ring_area_centroid(ring: Ring) -> tuple[float, float, float]:
    a = cx = cy = 0.0
    for i in range(len(ring) - 1):
        x0, y0 = ring[i][0], ring[i][1]
        x1, y1 = ring[i + 1][0], ring[i + 1][1]
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    a /= 2
    if a == 0:
        return 0.0, ring[0][0], ring[0][1]
    return a, cx / (6 * a), cy / (6 * a)


def centroid(geometry: dict[str, Any]) -> tuple[float, float]:
    """Area-weighted centroid (in degrees; fine at city scale)."""
    total = sx = sy = 0.0
    for poly in polygons_of(geometry):
        for k, ring in enumerate(poly):
            a, cx, cy = _ring_area_centroid(ring)
            a = abs(a) * (1 if k == 0 else -1)
            total += a
            sx += cx * a
            sy += cy * a
    if total == 0:
        first = polygons_of(geometry)[0][0][0]
        return first[0], first[1]
    return sx / total, sy / total


def area_km2(geometry: dict[str, Any]) -> float:
    """Area on the sphere by an equirectangular projection at the centroid's latitude (good to <1% for a city)."""
    _, lat0 = centroid(geometry)
    kx = math.radians(1) * EARTH_RADIUS_KM * math.cos(math.radians(lat0))
    ky = math.radians(1) * EARTH_RADIUS_KM
    total = 0.0
    for poly in polygons_of(geometry):
        for k, ring in enumerate(poly):
            a, _, _ = _ring_area_centroid([(p[0] * kx, p[1] * ky) for p in ring])
            total += abs(a) if k == 0 else -abs(a)
    return total


def distance_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * 1000 * math.asin(math.sqrt(h))


def feature_collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}
