"""The offline tile file served by linli (docs/cockpit.md#offline-tiles): PMTiles by HTTP
Range, MBTiles by tile; signed-in users only; pages point their maps at it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from conftest import Tree, Users
from linli.accounts.models import User
from linli.geo.tests.tile_files import png, write_mbtiles, write_pmtiles

pytestmark = pytest.mark.django_db
RED = png((200, 0, 0), 4)


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def pmtiles(tmp_path: Path, settings) -> bytes:
    path = write_pmtiles(tmp_path / "street.pmtiles", {(14, 13660, 6744): RED, (15, 27321, 13489): RED})
    settings.LINLI_MAP_TILE_URL = ""
    settings.LINLI_MAP_TILES_FILE = str(path)
    return path.read_bytes()


def test_the_pmtiles_file_is_served_by_range(pmtiles: bytes, users: Users) -> None:
    client = as_user(users.grid_worker_a1)
    head = client.get("/map/tiles.pmtiles", HTTP_RANGE="bytes=0-126")
    assert head.status_code == 206
    assert body(head) == pmtiles[:127]
    assert head["Content-Range"] == f"bytes 0-126/{len(pmtiles)}"
    assert head["Content-Length"] == "127"
    assert head["Accept-Ranges"] == "bytes"
    # tiles hold no personal data: cacheable, unlike every other signed-in response
    assert head["Cache-Control"] == "private, max-age=86400"
    tail = client.get("/map/tiles.pmtiles", HTTP_RANGE="bytes=-4")
    assert body(tail) == pmtiles[-4:]
    whole = client.get("/map/tiles.pmtiles")
    assert (whole.status_code, body(whole)) == (200, pmtiles)


def test_an_unsatisfiable_range_is_416_and_a_changed_file_is_sent_whole(pmtiles: bytes, users: Users) -> None:
    client = as_user(users.street)
    refused = client.get("/map/tiles.pmtiles", HTTP_RANGE=f"bytes={len(pmtiles)}-")
    assert refused.status_code == 416
    assert refused["Content-Range"] == f"bytes */{len(pmtiles)}"
    stale = client.get("/map/tiles.pmtiles", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"old"')
    assert (stale.status_code, body(stale)) == (200, pmtiles)


def test_tiles_need_a_signed_in_user(pmtiles: bytes) -> None:
    assert Client().get("/map/tiles.pmtiles", HTTP_RANGE="bytes=0-126").status_code == 403


def test_no_file_configured_is_404_and_the_map_stays_plain(users: Users, tree: Tree, settings) -> None:
    settings.LINLI_MAP_TILE_URL = ""
    settings.LINLI_MAP_TILES_FILE = ""
    client = as_user(users.grid_worker_a1)
    assert client.get("/map/tiles.pmtiles").status_code == 404
    page = client.get(f"/grids/{tree.grid_a1.pk}/").content.decode()
    assert 'data-tile-archive=""' in page
    assert "pmtiles.js" not in page
    assert "protomaps-leaflet.js" not in page


def test_pages_point_their_maps_at_the_pmtiles_file(pmtiles: bytes, users: Users, tree: Tree) -> None:
    page = as_user(users.grid_worker_a1).get(f"/grids/{tree.grid_a1.pk}/").content.decode()
    assert 'data-tile-archive="/map/tiles.pmtiles" data-tile-archive-kind="raster"' in page
    assert "vendor/pmtiles/pmtiles" in page


def test_a_vector_file_loads_the_vector_renderer(tmp_path: Path, users: Users, tree: Tree, settings) -> None:
    settings.LINLI_MAP_TILE_URL = ""
    settings.LINLI_MAP_TILES_FILE = str(write_pmtiles(tmp_path / "v.pmtiles", {(0, 0, 0): b"\x1a\x00"}, tile_type=1))
    page = as_user(users.street).get("/cockpit/").content.decode()
    assert 'data-tile-archive-kind="vector"' in page
    assert "vendor/protomaps-leaflet/protomaps-leaflet" in page


def test_an_intranet_tile_service_wins_over_the_file(pmtiles: bytes, users: Users, tree: Tree, settings) -> None:
    settings.LINLI_MAP_TILE_URL = "/tiles/{z}/{x}/{y}.png"
    page = as_user(users.grid_worker_a1).get(f"/grids/{tree.grid_a1.pk}/").content.decode()
    assert 'data-tile-url="/tiles/{z}/{x}/{y}.png"' in page
    assert 'data-tile-archive=""' in page


def test_mbtiles_are_served_tile_by_tile(tmp_path: Path, users: Users, tree: Tree, settings) -> None:
    settings.LINLI_MAP_TILE_URL = ""
    settings.LINLI_MAP_TILES_FILE = str(write_mbtiles(tmp_path / "r.mbtiles", {(14, 13660, 6744): RED}))
    client = as_user(users.grid_worker_a1)
    found = client.get("/map/tiles/14/13660/6744")
    assert (found.status_code, found["Content-Type"], found.content) == (200, "image/png", RED)
    assert found["Cache-Control"] == "private, max-age=86400"
    assert client.get("/map/tiles/14/13660/6745").status_code == 404
    assert Client().get("/map/tiles/14/13660/6744").status_code == 403
    page = client.get(f"/grids/{tree.grid_a1.pk}/").content.decode()
    assert 'data-tile-url="/map/tiles/{z}/{x}/{y}"' in page


def test_a_broken_file_is_a_startup_warning(tmp_path: Path, settings) -> None:
    from linli.ops.checks import TILES_FILE_CHECK_ID, tiles_file_messages

    broken = tmp_path / "broken.pmtiles"
    broken.write_bytes(b"not a map")
    [message] = tiles_file_messages(str(broken))
    assert message.id == TILES_FILE_CHECK_ID
    assert "neither a PMTiles nor an MBTiles" in message.msg
    assert tiles_file_messages("") == []
