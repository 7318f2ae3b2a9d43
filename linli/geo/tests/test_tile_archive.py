"""Reading an offline tile file: PMTiles headers, MBTiles rows, and HTTP byte ranges."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.geo.tests.tile_files import png, write_mbtiles, write_pmtiles
from linli.geo.tile_archive import TileArchiveError, byte_range, mbtiles_tile, open_tile_archive

RED, BLUE = png((200, 0, 0), 4), png((0, 0, 200), 4)


def test_a_raster_pmtiles_file_is_told_from_its_header(tmp_path: Path) -> None:
    archive = open_tile_archive(write_pmtiles(tmp_path / "a.pmtiles", {(3, 6, 3): RED, (4, 13, 6): BLUE}))
    assert (archive.format, archive.kind, archive.content_type) == ("pmtiles", "raster", "image/png")
    assert (archive.min_zoom, archive.max_zoom) == (3, 4)


def test_a_vector_pmtiles_file_is_vector(tmp_path: Path) -> None:
    archive = open_tile_archive(write_pmtiles(tmp_path / "v.pmtiles", {(0, 0, 0): b"\x1a\x00"}, tile_type=1))
    assert archive.kind == "vector"


@pytest.mark.parametrize(("content", "says"), [
    (b"", "neither a PMTiles"), (b"<html>not a map</html>", "neither a PMTiles"),
    (b"PMTiles\x02" + b"\x00" * 119, "version 3"),
    (b"PMTiles\x03" + b"\x00" * 91 + b"\x09" + b"\x00" * 27, "unknown PMTiles tile type 9"),
])
def test_a_file_that_is_no_tile_archive_says_why(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "x.pmtiles"
    path.write_bytes(content)
    with pytest.raises(TileArchiveError, match=says):
        open_tile_archive(path)


def test_a_missing_file_and_a_vector_mbtiles_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TileArchiveError, match="no such file"):
        open_tile_archive(tmp_path / "none.mbtiles")
    with pytest.raises(TileArchiveError, match="'pbf'"):
        open_tile_archive(write_mbtiles(tmp_path / "v.mbtiles", {(0, 0, 0): b"x"}, image="pbf"))


def test_mbtiles_rows_are_counted_from_the_south(tmp_path: Path) -> None:
    # given XYZ tiles stored as MBTiles (TMS rows) / when read back by XYZ / then the same tiles
    archive = open_tile_archive(write_mbtiles(tmp_path / "r.mbtiles", {(2, 1, 0): RED, (2, 1, 3): BLUE}))
    assert (archive.format, archive.kind, archive.min_zoom, archive.max_zoom) == ("mbtiles", "raster", 2, 2)
    assert mbtiles_tile(archive, 2, 1, 0) == RED
    assert mbtiles_tile(archive, 2, 1, 3) == BLUE
    assert mbtiles_tile(archive, 2, 1, 1) is None
    assert mbtiles_tile(archive, 2, 4, 0) is None  # outside the zoom level


@pytest.mark.parametrize(("header", "span"), [
    ("bytes=0-126", (0, 126)), ("bytes=100-", (100, 999)), ("bytes=-10", (990, 999)),
    ("bytes=990-5000", (990, 999)), ("bytes=1000-", None), ("bytes=5-4", None), ("bytes=-0", None),
    ("bytes=0-1,5-6", None), ("items=0-1", None), ("bytes=a-b", None), ("bytes=-", None), ("", None),
])
def test_byte_ranges(header: str, span: tuple[int, int] | None) -> None:
    assert byte_range(header, 1000) == span


@given(st.integers(0, 5000), st.integers(0, 5000), st.integers(1, 4000))
def test_a_satisfiable_range_stays_inside_the_file(start: int, end: int, size: int) -> None:
    span = byte_range(f"bytes={start}-{end}", size)
    if span is not None:
        assert 0 <= span[0] <= span[1] < size
        assert span[0] == start
    else:
        assert start > end or start >= size
