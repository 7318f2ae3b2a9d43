"""An offline map tile file served by linli itself (docs/cockpit.md#offline-tiles).

Two formats a deployment on an isolated intranet can copy onto the server:

- **PMTiles** (v3, one file, vector or raster): the browser reads it with HTTP Range requests
  (``pmtiles`` / ``protomaps-leaflet`` from npm), so the server only serves byte ranges; this
  module reads the 127-byte header to tell vector from raster and to refuse what is not one.
- **MBTiles** (an SQLite file of raster tiles, TMS rows): the server answers ``{z}/{x}/{y}``.

Reading is pure file access (no Django), so it is tested without a server.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PMTILES_MAGIC: Final = b"PMTiles"
PMTILES_HEADER_BYTES: Final = 127
# PMTiles v3 tile types (header byte 99): 1 MVT and 6 MLT are vector, the rest images.
_PMTILES_TYPES: Final = {1: ("vector", "application/vnd.mapbox-vector-tile"),
                         2: ("raster", "image/png"), 3: ("raster", "image/jpeg"),
                         4: ("raster", "image/webp"), 5: ("raster", "image/avif"),
                         6: ("vector", "application/vnd.maplibre-tile")}
_MBTILES_TYPES: Final = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
                         "webp": "image/webp"}


class TileArchiveError(ValueError):
    """The configured file is not a tile archive linli can serve (the message says why)."""


@dataclass(frozen=True)
class TileArchive:
    path: Path
    format: str  # "pmtiles" | "mbtiles"
    kind: str  # "vector" | "raster"
    content_type: str  # of one tile
    min_zoom: int
    max_zoom: int


def open_tile_archive(path: Path) -> TileArchive:
    """What the file at ``path`` holds, read from its header (PMTiles) or metadata (MBTiles)."""
    if not path.is_file():
        raise TileArchiveError(f"{path}: no such file")
    with path.open("rb") as handle:
        head = handle.read(PMTILES_HEADER_BYTES)
    if head.startswith(PMTILES_MAGIC):
        return _pmtiles(path, head)
    if head.startswith(b"SQLite format 3\x00"):
        return _mbtiles(path)
    raise TileArchiveError(f"{path}: neither a PMTiles nor an MBTiles file")


def _pmtiles(path: Path, head: bytes) -> TileArchive:
    if len(head) < PMTILES_HEADER_BYTES or head[7] != 3:
        raise TileArchiveError(f"{path}: only PMTiles version 3 is supported")
    kind, content_type = _PMTILES_TYPES.get(head[99], ("", ""))
    if not kind:
        raise TileArchiveError(f"{path}: unknown PMTiles tile type {head[99]}")
    return TileArchive(path, "pmtiles", kind, content_type, min_zoom=head[100], max_zoom=head[101])


def _connect(path: Path) -> sqlite3.Connection:
    # Read-only and immutable: the file is never written while linli serves it.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True,
                           check_same_thread=False)


def _mbtiles(path: Path) -> TileArchive:
    try:
        with _connect(path) as db:
            metadata = dict(db.execute("SELECT name, value FROM metadata").fetchall())
            zooms = db.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
    except sqlite3.Error as error:
        raise TileArchiveError(f"{path}: not an MBTiles file ({error})") from error
    image = str(metadata.get("format", "png")).lower()
    if image not in _MBTILES_TYPES:
        # Vector MBTiles need a server that cuts styles; linli serves raster MBTiles only.
        raise TileArchiveError(f"{path}: MBTiles of format {image!r}; use a raster MBTiles or a PMTiles file")
    return TileArchive(path, "mbtiles", "raster", _MBTILES_TYPES[image],
                       min_zoom=int(zooms[0] or 0), max_zoom=int(zooms[1] or 0))


def mbtiles_tile(archive: TileArchive, z: int, x: int, y: int) -> bytes | None:
    """The tile at XYZ ``z/x/y`` (MBTiles stores TMS rows: y counted from the south)."""
    if not (0 <= z <= 24 and 0 <= x < 2**z and 0 <= y < 2**z):
        return None
    with _connect(archive.path) as db:
        row = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, x, 2**z - 1 - y),
        ).fetchone()
    return bytes(row[0]) if row else None


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=START-END`` / ``bytes=START-`` / ``bytes=-SUFFIX`` → inclusive (start, end) within
    a file of ``size`` bytes; ``None`` when unsatisfiable or not a single range (RFC 9110 §14)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()):
        return None
    if not first:
        suffix = int(last)
        return (max(size - suffix, 0), size - 1) if suffix and size else None
    start = int(first)
    end = min(int(last), size - 1) if last.isdigit() else size - 1
    return (start, end) if start <= end and start < size else None

