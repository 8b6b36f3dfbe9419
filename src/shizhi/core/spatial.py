"""In-memory point lookup (落点索引): which grid, community, street, district and city contain a point, without
a database round trip per lookup.

Every intake with coordinates, every sensor alert and every map click asks ``locate_point``. Reading candidate
grid polygons from the database each time cost about 2 ms and three queries; this index keeps the city's grids
and areas in memory, bucketed by a regular lattice of cells over their bounding boxes, and tests the candidates'
polygons with :mod:`shizhi.core.geo` (the same even-odd rule as before, holes respected).

Freshness: a one-row table (:class:`shizhi.core.models.GeoVersion`) holds a random token that changes, in the
same transaction, whenever an area or a grid is saved or deleted (model signals, connected in
``CoreConfig.ready``) or bulk-imported (the import services call :func:`bump`). Each lookup reads that token
(one indexed single-row read on a raw cursor) and rebuilds the index when it differs from the one it was built
from. A random token rather than a counter stays correct when a transaction is rolled back (tests do that all
the time): the old token comes back, and no later change can reuse it.

Each lookup returns new model instances built from the cached column values (boundary deferred), so callers
never share mutable objects across threads or requests.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from shizhi.core import geo
from shizhi.core.models import Area, AreaLevel, GeoVersion, Grid

CELLS = 96  # lattice cells per side over the city's bounding box


@dataclass(frozen=True)
class _Shape:
    """One polygon-bearing row: its bounding box, its boundary and the values to rebuild its instance."""

    pk: int
    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float
    boundary: dict[str, Any]
    values: tuple[Any, ...]

    def covers(self, lng: float, lat: float) -> bool:
        return (
            self.min_lng <= lng <= self.max_lng
            and self.min_lat <= lat <= self.max_lat
            and geo.contains(self.boundary, lng, lat)
        )


def _field_names(model: type[Area] | type[Grid]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname != "boundary"]


AREA_FIELDS = _field_names(Area)
GRID_FIELDS = _field_names(Grid)


def _instance(model: type[Any], names: Sequence[str], values: tuple[Any, ...]) -> Any:
    return model.from_db(connection.alias, list(names), list(values))


class PointIndex:
    """An immutable snapshot of the grids and areas, built from the database at one :class:`GeoVersion`."""

    def __init__(self, token: str | None, grids: Iterable[Grid], areas: Iterable[Area]) -> None:
        self.token = token
        self.grids = [self._shape(g, GRID_FIELDS) for g in grids if g.boundary and g.min_lng is not None]
        self.grids.sort(key=lambda s: s.values[GRID_FIELDS.index("code")])
        self.area_values: dict[int, tuple[Any, ...]] = {}
        self.area_parent: dict[int, int | None] = {}
        area_shapes: list[tuple[int, str, _Shape]] = []
        for a in areas:
            values = tuple(getattr(a, n) for n in AREA_FIELDS)
            self.area_values[a.pk] = values
            self.area_parent[a.pk] = a.parent_id
            if a.boundary and a.min_lng is not None:
                area_shapes.append((-a.level, a.code, self._shape(a, AREA_FIELDS)))
        # Deepest level first, then by code: the order the database query used.
        self.areas = [s for _, _, s in sorted(area_shapes, key=lambda t: (t[0], t[1]))]
        self._build_cells()

    @staticmethod
    def _shape(obj: Area | Grid, names: Sequence[str]) -> _Shape:
        assert obj.boundary is not None and obj.min_lng is not None
        assert obj.min_lat is not None and obj.max_lng is not None and obj.max_lat is not None
        return _Shape(
            pk=obj.pk,
            min_lng=obj.min_lng,
            min_lat=obj.min_lat,
            max_lng=obj.max_lng,
            max_lat=obj.max_lat,
            boundary=obj.boundary,
            values=tuple(getattr(obj, n) for n in names),
        )

    def _build_cells(self) -> None:
        self.cells: dict[tuple[int, int], list[_Shape]] = {}
        if not self.grids:
            self.x0 = self.y0 = 0.0
            self.dx = self.dy = 1.0
            return
        self.x0 = min(s.min_lng for s in self.grids)
        self.y0 = min(s.min_lat for s in self.grids)
        x1 = max(s.max_lng for s in self.grids)
        y1 = max(s.max_lat for s in self.grids)
        self.dx = max((x1 - self.x0) / CELLS, 1e-9)
        self.dy = max((y1 - self.y0) / CELLS, 1e-9)
        for s in self.grids:  # already in code order: each cell's list keeps it
            for i in range(self._ix(s.min_lng), self._ix(s.max_lng) + 1):
                for j in range(self._iy(s.min_lat), self._iy(s.max_lat) + 1):
                    self.cells.setdefault((i, j), []).append(s)

    def _ix(self, lng: float) -> int:
        return min(max(int((lng - self.x0) / self.dx), 0), CELLS - 1)

    def _iy(self, lat: float) -> int:
        return min(max(int((lat - self.y0) / self.dy), 0), CELLS - 1)

    def grid_at(self, lng: float, lat: float) -> _Shape | None:
        if not self.grids:
            return None
        for s in self.cells.get((self._ix(lng), self._iy(lat)), ()):
            if s.covers(lng, lat):
                return s
        return None

    def area_at(self, lng: float, lat: float) -> int | None:
        """The deepest area whose polygon contains the point (for points that no grid covers)."""
        for s in self.areas:
            if s.covers(lng, lat):
                return s.pk
        return None

    def grid(self, shape: _Shape) -> Grid:
        grid: Grid = _instance(Grid, GRID_FIELDS, shape.values)
        return grid

    def area_chain(self, area_id: int) -> list[Area]:
        """The area and its ancestors, city first, as new instances."""
        chain: list[Area] = []
        current: int | None = area_id
        while current is not None and current in self.area_values:
            chain.append(_instance(Area, AREA_FIELDS, self.area_values[current]))
            current = self.area_parent[current]
        return chain[::-1]


_lock = threading.Lock()
_index: PointIndex | None = None


def current_token() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {GeoVersion._meta.db_table} WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def bump() -> None:
    """Mark the areas and grids as changed (call inside the transaction that changed them)."""
    token = uuid.uuid4().hex
    if not GeoVersion.objects.filter(pk=1).update(token=token):
        GeoVersion.objects.update_or_create(pk=1, defaults={"token": token})


def index() -> PointIndex:
    """The index for the database's current areas and grids (rebuilt when they changed)."""
    global _index
    token = current_token()
    idx = _index
    if idx is not None and idx.token == token:
        return idx
    with _lock:
        idx = _index
        if idx is not None and idx.token == token:
            return idx
        idx = PointIndex(token, Grid.objects.all(), Area.objects.all())
        _index = idx
        return idx


def locate(lng: float, lat: float) -> tuple[Grid | None, dict[int, Area]]:
    """The grid covering the point (if any) and the areas containing it by level."""
    idx = index()
    shape = idx.grid_at(lng, lat)
    found: dict[int, Area] = {}
    if shape is not None:
        grid = idx.grid(shape)
        for a in idx.area_chain(grid.community_id):
            found[a.level] = a
        return grid, found
    area_id = idx.area_at(lng, lat)
    if area_id is not None:
        for a in idx.area_chain(area_id):
            found[a.level] = a
    return None, found


__all__ = ["AreaLevel", "PointIndex", "bump", "current_token", "index", "locate"]
