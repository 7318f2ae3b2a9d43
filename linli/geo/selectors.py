"""Reads of the geo app: the area tree and the process-wide grid locator.

These are building blocks below the accounts layer, so they do not scope by user: callers
that answer a person (web, API) go through ``linli.accounts.selectors.scope_for`` first.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.db.models import Count, Max, QuerySet, Sum

from linli.geo.choices import AreaLevel
from linli.geo.locator import GridLocator
from linli.geo.models import Area, Road
from linli.geo.tile_archive import TileArchive, TileArchiveError, open_tile_archive


def area_descendants(*, area: Area) -> QuerySet[Area]:
    """Every area below ``area`` (not ``area`` itself): one indexed prefix query on ``path``."""
    return Area.objects.filter(path__startswith=area.path).exclude(pk=area.pk)


def area_ancestors(*, area: Area) -> list[Area]:
    """The areas above ``area``, root first (empty for a district)."""
    ids = [int(part) for part in area.path.strip("/").split("/") if part]
    ids = [pk for pk in ids if pk != area.pk]
    by_id = Area.objects.in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def _grids() -> QuerySet[Area]:
    return Area.objects.filter(level=AreaLevel.GRID, boundary__isnull=False)


@dataclass(frozen=True)
class _Stamp:
    """What identifies the set of grid boundaries cheaply: changes whenever a grid is added,
    removed or saved (``updated_at`` is ``auto_now``)."""

    count: int
    id_sum: int
    last_update: datetime | None


_lock = threading.Lock()
_cached: tuple[_Stamp, GridLocator] | None = None


def _stamp() -> _Stamp:
    row = _grids().aggregate(count=Count("id"), id_sum=Sum("id"), last_update=Max("updated_at"))
    return _Stamp(int(row["count"] or 0), int(row["id_sum"] or 0), row["last_update"])


def grid_locator() -> GridLocator:
    """The locator over all grids with a boundary, shared by the process.

    Costs one aggregate query per call to check staleness; rebuilt (a few hundred ms for a
    district) when a grid was added, removed or saved since. Take it once per request or
    job, then call ``locate``/``locate_many`` as often as needed. Bulk ``QuerySet.update``
    does not touch ``updated_at``: call :func:`grid_locator_reset` after one.
    """
    global _cached  # one locator per process is the point
    stamp = _stamp()
    cached = _cached
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with _lock:
        cached = _cached
        if cached is not None and cached[0] == stamp:
            return cached[1]
        rows = _grids().values_list("pk", "code", "boundary")
        locator = GridLocator([(pk, code, b) for pk, code, b in rows if b is not None])
        _cached = (stamp, locator)
        return locator


def grid_locator_current() -> GridLocator | None:
    """The locator built last in this process, without the staleness query (``None`` before
    the first build or after a reset): for callers that know by their own stamp that no
    grid changed since they last called :func:`grid_locator`."""
    cached = _cached
    return cached[1] if cached is not None else None


def grid_locator_reset() -> None:
    """Forget the cached locator (after bulk updates that bypass ``updated_at``)."""
    global _cached
    with _lock:
        _cached = None


_archives: dict[str, TileArchive | None] = {}


def tile_archive_configured(path: str) -> TileArchive | None:
    """The offline tile file at ``path`` (setting ``LINLI_MAP_TILES_FILE``), read once per
    process; ``None`` when unset or unreadable (logged: maps then draw the registry alone)."""
    if not path:
        return None
    if path not in _archives:
        try:
            _archives[path] = open_tile_archive(Path(path))
        except TileArchiveError as error:
            logging.getLogger(__name__).warning("map tiles file not served: %s", error)
            _archives[path] = None
    return _archives[path]


def roads_in_box(*, bbox: tuple[float, float, float, float], limit: int) -> list[Road]:
    """Roads whose bounding box meets ``bbox`` (west, south, east, north), at most ``limit``
    (+1, so the caller can tell there were more). Roads carry no personal data; callers
    still bound the box to the areas a person may see."""
    west, south, east, north = bbox
    return list(
        Road.objects.filter(min_lon__lte=east, max_lon__gte=west, min_lat__lte=north, max_lat__gte=south)
        .order_by("name", "id")
        .only("id", "name", "geometry")[: limit + 1]
    )
