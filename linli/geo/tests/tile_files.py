"""Small tile archives written for tests: a PMTiles v3 file and an MBTiles file of PNG tiles."""

from __future__ import annotations

import sqlite3
import struct
import zlib
from pathlib import Path

from linli.geo.tile_archive import PMTILES_MAGIC


def png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A plain-colour PNG (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + bytes(rgb) * size
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def zxy_to_tile_id(z: int, x: int, y: int) -> int:
    """PMTiles' Hilbert tile id (the reference algorithm of the spec)."""
    acc: int = sum(4**i for i in range(z))
    n = 2**z
    d = 0
    s = n // 2
    while s > 0:
        rx = 1 if x & s else 0
        ry = 1 if y & s else 0
        d += s * s * ((3 * rx) ^ ry)
        if ry == 0:
            if rx == 1:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
        s //= 2
    return acc + d


def write_pmtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], *, tile_type: int = 2) -> Path:
    """A PMTiles v3 file of ``tiles`` (no compression, one root directory, no metadata)."""
    ordered = sorted((zxy_to_tile_id(*zxy), data) for zxy, data in tiles.items())
    offsets, blob = [], b""
    for _, data in ordered:
        offsets.append(len(blob))
        blob += data
    ids = [tile_id for tile_id, _ in ordered]
    directory = _varint(len(ordered))
    directory += b"".join(_varint(tile_id - (ids[i - 1] if i else 0)) for i, tile_id in enumerate(ids))
    directory += b"".join(_varint(1) for _ in ordered)
    directory += b"".join(_varint(len(data)) for _, data in ordered)
    directory += b"".join(_varint(offset + 1) for offset in offsets)
    zooms = [z for z, _, _ in tiles]
    root_offset = 127
    tile_offset = root_offset + len(directory)
    header = struct.pack(
        "<7sB11Q6B4iB2i",
        PMTILES_MAGIC, 3, root_offset, len(directory), tile_offset, 0, 0, 0, tile_offset, len(blob),
        len(ordered), len(ordered), len(ordered), 1, 1, 1, tile_type, min(zooms), max(zooms),
        -1800000000, -850000000, 1800000000, 850000000, min(zooms), 0, 0,
    )
    assert len(header) == 127
    path.write_bytes(header + directory + blob)
    return path


def write_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], *, image: str = "png") -> Path:
    """An MBTiles file of ``tiles`` given by XYZ ``(z, x, y)`` (stored as TMS rows)."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name text, value text)")
        db.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
        db.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "test"), ("format", image)])
        db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                       [(z, x, 2**z - 1 - y, data) for (z, x, y), data in tiles.items()])
    db.close()
    return path


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def land_mvt(layer: str = "earth", extent: int = 4096) -> bytes:
    """A Mapbox Vector Tile whose one layer is a polygon covering the whole tile."""
    def zigzag(value: int) -> int:
        return (value << 1) ^ (value >> 31)
    commands = [9, 0, 0, 26, zigzag(extent), 0, 0, zigzag(extent), zigzag(-extent), 0, 15]
    geometry = b"".join(_varint(c) for c in commands)
    feature = _varint(3 << 3) + _varint(3) + _field(4, geometry)  # type POLYGON, geometry
    body = _varint(15 << 3) + _varint(2) + _field(1, layer.encode()) + _field(2, feature)
    body += _varint(5 << 3) + _varint(extent)
    return _field(3, body)
