"""The shared base map and the map picker in real Chromium, with no network beyond linli.

A grid worker's report form locates the phone and fills the address from the nearest
building; a click on another building's name on the picker's map moves the pin and the
address follows; nowhere does the page show coordinates. The case page's map then shows
the case among named buildings and the grid's name, with no tile server. On the cockpit a
click on a grid shows its figures, and a new device alarm reaches the map through the poll.
The grid page and the cockpit draw patrol tracks as a layer to switch off; the phone app's
track map asks a GCJ-02 tile service for the shifted position.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Geolocation, Page, Request, expect

from linli.accounts.models import Department, User
from linli.cases.models import Case, Category, DispatchRule
from linli.cases.taxonomy import taxonomy_load
from linli.cockpit.tests.conftest import em  # noqa: F401 -- the fixture, shared with the unit tests
from linli.cockpit.tests.test_drill import smoke_alarm
from linli.cockpit.tests.test_live import level_one_case, running_live
from linli.core.actors import SystemActor
from linli.devices.models import Alarm, Device
from linli.field.models import Patrol
from linli.field.services import patrol_record
from linli.geo.coords import wgs84_to_gcj02
from linli.geo.road_files import RoadRow
from linli.geo.services import roads_replace
from linli.registry.models import Building

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("screenshot"),
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "Linli-test-2026"  # the root conftest's make_user default
NEAR_12: Geolocation = {"longitude": 120.2051, "latitude": 30.2051}  # about 15 m from 望江花园12幢
COORDINATE = re.compile(r"\d{2,3}\.\d{4,}")
# Where the screenshot fixture leaves its pictures.
SCREENS_DIR = Path(__file__).resolve().parents[2] / ".test-data" / "screens"


def walk(
    worker: User,
    *,
    hours_ago: float = 1,
    at: Any = None,
    lat: float = 30.205,
    metres: float = 200,
) -> Patrol:
    """A finished patrol of ``worker``: a line east from (120.205, lat), a point a minute."""
    start = at or timezone.now() - timedelta(hours=hours_ago)
    t0 = int(start.timestamp())
    step = metres / 4 / 96_000  # degrees of longitude at 30°N
    return patrol_record(
        actor=worker,
        started_at=start,
        ended_at=start + timedelta(minutes=5),
        track=[[120.205 + i * step, lat, t0 + 60 * i] for i in range(5)],
    )


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The web-mercator tile (x, y) holding a point (the {x}/{y} of a tile URL)."""
    n = 2**zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def log_in(page: Page, base_url: str, user: User) -> None:
    page.goto(f"{base_url}/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(user.username)
    form.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(user.username)


def offline(page: Page, base_url: str, *, live_url: str = "") -> list[str]:
    """Refuses every request that leaves linli (a tile server, a CDN) and lists them. The
    cockpit's event stream (``linli live``, another port) is linli's own: let through to
    ``live_url`` when the test runs one, else refused unlisted (the card then polls)."""
    outside: list[str] = []

    def guard(route: Any, request: Request) -> None:
        if request.url.startswith(base_url) or request.url.startswith("data:") or (
                live_url and request.url.startswith(live_url)):
            route.continue_()
        elif "/live/cockpit/" in request.url:
            route.abort()
        else:
            outside.append(request.url)
            route.abort()

    page.route("**/*", guard)
    return outside


def test_picker_fills_the_address_and_the_case_map_names_the_place(
    live_server: Any,
    tree: Any,
    users: Any,
    browser_page: Page,
) -> None:
    # given two buildings of grid a1, about 170 m apart, and the seeded categories
    if not Category.objects.filter(code="0101").exists():
        taxonomy_load(Department, Category, DispatchRule)
    Building.objects.create(
        grid=tree.grid_a1,
        compound="望江花园",
        name="12幢",
        address="望江路12号望江花园12幢",
        lon=120.205,
        lat=30.205,
        floors=6,
    )
    Building.objects.create(
        grid=tree.grid_a1,
        compound="望江花园",
        name="14幢",
        address="望江路12号望江花园14幢",
        lon=120.2065,
        lat=30.2058,
        floors=6,
    )
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    outside = offline(page, live_server.url)
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation(NEAR_12)
    log_in(page, live_server.url, users.grid_worker_a1)

    # when the grid worker opens the report form (the phone's position is taken at once)
    page.goto(f"{live_server.url}/cases/new/")
    status = page.get_by_test_id("gps-status")
    # then the nearest building is named and its address written into the form
    expect(status).to_contain_text("望江花园12幢附近")
    expect(status).to_have_attribute("data-located", "true")
    expect(page.get_by_test_id("report-address")).to_have_value("望江路12号望江花园12幢")
    assert not COORDINATE.search(page.inner_text("body"))

    # when they click next to the other building's name on the picker's map
    picker = page.get_by_test_id("picker-map")
    label = picker.locator(".bldg-label", has_text="望江花园14幢")
    expect(label).to_be_visible()
    box = label.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] + 5)
    # then the pin moves there and the address follows
    expect(status).to_contain_text("望江花园14幢附近")
    expect(page.get_by_test_id("report-address")).to_have_value("望江路12号望江花园14幢")
    assert not COORDINATE.search(page.inner_text("body"))
    SCREENS_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS_DIR / "report-form-map-picker.png"), full_page=True)

    # when the report is sent
    page.get_by_test_id("report-category").select_option("0101")
    page.get_by_test_id("report-description").fill("14幢门口有一堆建筑垃圾")
    page.get_by_test_id("report-submit").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+/$"))
    case = Case.objects.get()
    assert case.address == "望江路12号望江花园14幢"
    assert case.lon is not None
    assert abs(case.lon - 120.2065) < 0.0003

    # then the case's map shows the case among named buildings and the grid's name, no tiles
    the_map = page.get_by_test_id("case-map")
    expect(the_map).to_have_attribute("data-basemap", "ready")
    expect(the_map.locator(".bldg-label", has_text="望江花园14幢")).to_be_visible()
    expect(the_map.locator(".bldg-label", has_text="望江花园12幢")).to_be_attached()
    expect(the_map.locator(".basemap-label-text", has_text="近江社区第1网格")).to_be_attached()
    expect(the_map.get_by_test_id("map-legend")).to_contain_text("楼栋")
    expect(the_map.locator(".leaflet-control-scale-line")).to_be_visible()
    expect(the_map.locator(".leaflet-tile")).to_have_count(0)
    expect(page.get_by_test_id("case-map-place")).to_contain_text("望江花园14幢附近")
    assert not COORDINATE.search(page.inner_text("body"))
    assert outside == []
    assert errors == []


def test_grid_page_map_names_its_buildings(
    live_server: Any, tree: Any, users: Any, browser_page: Page
) -> None:
    Building.objects.create(
        grid=tree.grid_a1,
        compound="望江花园",
        name="12幢",
        address="望江路12号望江花园12幢",
        lon=120.205,
        lat=30.205,
        floors=6,
        footprint={"type": "Polygon", "coordinates": [[[120.2048, 30.2049], [120.2052, 30.2049], [120.2052, 30.2051],
                                                       [120.2048, 30.2051], [120.2048, 30.2049]]]},
    )
    # and 望江路 across the grid, as `linli roads load` or the demo writes it
    roads_replace(actor=SystemActor("test"), source="roads.geojson", roads=[
        RoadRow(name="望江路", geometry={"type": "LineString", "coordinates": [[120.2005, 30.2045], [120.2095, 30.2046]]})])
    page = browser_page
    outside = offline(page, live_server.url)
    log_in(page, live_server.url, users.grid_worker_a1)
    page.goto(f"{live_server.url}/grids/{tree.grid_a1.pk}/")
    the_map = page.get_by_test_id("grid-map")
    expect(the_map).to_have_attribute("data-basemap", "ready")
    expect(the_map.locator(".bldg-label", has_text="望江花园12幢")).to_be_attached()
    expect(the_map.locator(".basemap-label-text", has_text="近江社区第1网格")).to_be_attached()
    # the road is a line with its name drawn along it, the building's outline a light polygon
    expect(the_map.locator(".road-label span", has_text="望江路")).to_be_visible()
    expect(the_map.locator('path[stroke="#c3c8d0"]')).to_have_count(1)
    expect(the_map.locator('path[fill="#e4e7ec"]')).to_have_count(1)
    expect(page.get_by_test_id("map-legend")).to_contain_text("道路")
    expect(page.get_by_test_id("map-legend")).to_contain_text("楼栋轮廓")
    assert outside == []


def test_grid_page_map_draws_the_weeks_patrol_tracks_as_a_layer_to_switch_off(
    live_server: Any, tree: Any, users: Any, browser_page: Page
) -> None:
    # given two patrols of grid a1's worker this week, one three weeks ago, one in grid b1
    walk(users.grid_worker_a1, hours_ago=2)
    walk(users.grid_worker_a1, hours_ago=50)
    walk(users.grid_worker_a1, hours_ago=24 * 21)
    walk(users.grid_worker_b1, hours_ago=2, lat=30.215)
    page = browser_page
    outside = offline(page, live_server.url)
    log_in(page, live_server.url, users.community_a)
    # when community a opens grid a1
    page.goto(f"{live_server.url}/grids/{tree.grid_a1.pk}/")
    the_map = page.get_by_test_id("grid-map")
    # then the week's two tracks are drawn, with the legend and a layer switch
    expect(the_map).to_have_attribute("data-tracks", "2")
    tracks = the_map.locator("path.patrol-track")
    expect(tracks).to_have_count(2)
    expect(the_map.get_by_test_id("map-legend")).to_contain_text("巡查轨迹(近 7 天)")
    switch = the_map.locator(".leaflet-control-layers-overlays label", has_text="巡查轨迹")
    switch.locator("input").uncheck()
    expect(tracks).to_have_count(0)
    switch.locator("input").check()
    expect(tracks).to_have_count(2)
    # and hovering a line names the worker
    tracks.first.hover(force=True)
    expect(the_map.locator(".leaflet-tooltip", has_text="gw_a1")).to_be_visible()
    assert outside == []


def test_cockpit_drills_into_a_grid_and_shows_live_alarms(
    live_server: Any,
    em: Any,  # noqa: F811 -- the imported fixture
    browser_page: Page,
) -> None:
    roads_replace(actor=SystemActor("test"), source="roads.geojson", roads=[
        RoadRow(name="望江路", geometry={"type": "LineString", "coordinates": [[120.2005, 30.2045], [120.2095, 30.2046]]})])
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    outside = offline(page, live_server.url)
    log_in(page, live_server.url, em.users.street)
    page.goto(f"{live_server.url}/cockpit/")
    the_map = page.get_by_test_id("cockpit-map")
    expect(page.get_by_test_id("live-alarms")).to_have_attribute("data-total", "0")
    # the base map's road lies under the cockpit's own layers, named
    expect(the_map.locator('path[stroke="#c3c8d0"]')).to_have_count(1)
    expect(the_map.locator(".road-label span", has_text="望江路")).to_be_attached()
    # when the operator clicks grid a1 (on its name, which lets the click through to the grid)
    name = the_map.locator(".basemap-label-text", has_text="近江社区第1网格")
    expect(name).to_be_visible()
    box = name.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] + 8)
    # then the grid's figures appear beside the map, counts only
    drill = page.get_by_test_id("grid-drill")
    expect(drill).to_contain_text("近江社区第1网格")
    expect(drill.get_by_test_id("drill-vulnerable")).to_have_text("2")
    expect(drill.get_by_test_id("drill-persons-link")).to_be_visible()
    # when a smoke detector in 望江路12号 raises an alarm
    device = Device.objects.create(
        kind="smoke", external_id="SMK-B1", grid=em.tree.grid_a1, building=em.b12
    )
    now = timezone.now()
    Alarm.objects.create(
        device=device,
        grid=em.tree.grid_a1,
        kind="smoke",
        level=1,
        summary="烟雾",
        raised_at=now,
        last_at=now,
    )
    # then the poll (no event stream in this test) brings it onto the map and the side card
    # without a reload
    expect(page.locator("#cockpit-alarms")).not_to_have_attribute("data-live", "open")
    expect(page.get_by_test_id("live-alarms")).to_have_attribute("data-total", "1", timeout=20_000)
    expect(the_map).to_have_attribute("data-alarms", "1")
    assert outside == []


def test_cockpit_gets_a_new_alarm_and_level_one_case_from_the_event_stream(
    live_server: Any,
    em: Any,  # noqa: F811 -- the imported fixture
    browser_page: Page,
    settings: Any,
) -> None:
    # given `linli live` serving event streams beside the web server, and the cockpit open
    with running_live() as (_server, port):
        settings.LINLI_LIVE_PORT = port
        page = browser_page
        page.set_viewport_size({"width": 1920, "height": 1080})
        outside = offline(page, live_server.url, live_url=f"http://localhost:{port}/live/")
        log_in(page, live_server.url, em.users.street)
        page.goto(f"{live_server.url}/cockpit/")
        card = page.locator("#cockpit-alarms")
        expect(card).to_have_attribute("data-live", "open")
        expect(page.get_by_test_id("live-alarms")).to_have_attribute("data-total", "0")
        # when a smoke detector in 望江路12号 raises an alarm and a level-1 case is reported
        alarm = smoke_alarm(em, building_id=em.b12.pk, grid_id=em.tree.grid_a1.pk)
        case = level_one_case(em, grid_id=em.tree.grid_a1.pk)
        # then the stream puts both on the screen (the card's poll is paused while it is open)
        expect(card.locator(f'[data-live-alarm="{alarm.pk}"]')).to_contain_text("烟雾报警", timeout=5_000)
        expect(page.get_by_test_id("live-cases").locator(f'[data-live-case="{case.pk}"]')).to_contain_text(
            "近江社区第1网格", timeout=5_000)
        expect(page.get_by_test_id("cockpit-map")).to_have_attribute("data-alarms", "1")
        expect(page.get_by_test_id("live-alarms")).to_have_attribute("data-total", "0")  # no poll since
        assert outside == []


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2**z
    rad = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(rad)) / math.pi) / 2 * n)


def test_an_offline_pmtiles_file_draws_under_the_grid_map(
    live_server: Any, tree: Any, users: Any, browser_page: Page, tmp_path: Path, settings: Any
) -> None:
    # given a raster PMTiles file covering the grid at every street zoom, as the only background
    from linli.geo.tests.tile_files import png, write_pmtiles

    tiles = {}
    for z in range(12, 20):
        (x0, y0), (x1, y1) = _tile_xy(120.195, 30.215, z), _tile_xy(120.215, 30.195, z)
        tiles.update({(z, x, y): png((90, 160, 90), 8) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)})
    settings.LINLI_MAP_TILE_URL = ""
    settings.LINLI_MAP_TILES_FILE = str(write_pmtiles(tmp_path / "street.pmtiles", tiles))
    Building.objects.create(grid=tree.grid_a1, compound="望江花园", name="12幢",
                            address="望江路12号望江花园12幢", lon=120.205, lat=30.205, floors=6)
    page = browser_page
    outside = offline(page, live_server.url)
    ranges: list[str] = []
    page.on("request", lambda r: ranges.append(r.headers.get("range", "")) if "tiles.pmtiles" in r.url else None)
    log_in(page, live_server.url, users.grid_worker_a1)
    # when the grid page opens
    page.goto(f"{live_server.url}/grids/{tree.grid_a1.pk}/")
    the_map = page.get_by_test_id("grid-map")
    expect(the_map).to_have_attribute("data-basemap", "ready")
    # then tiles come out of the file by range requests, drawn under the buildings' names
    expect(the_map.locator(".leaflet-tile-pane img[src^='blob:']").first).to_be_visible()
    expect(the_map.locator(".bldg-label", has_text="望江花园12幢")).to_be_attached()
    assert ranges
    assert all(r.startswith("bytes=") for r in ranges)
    assert "basemap-plain" not in (the_map.get_attribute("class") or "")
    assert outside == []


def test_a_vector_pmtiles_file_is_drawn_by_the_vector_renderer(
    live_server: Any, tree: Any, users: Any, browser_page: Page, tmp_path: Path, settings: Any
) -> None:
    # given a vector PMTiles file (Protomaps basemap schema: an "earth" layer) over the grid
    from linli.geo.tests.tile_files import land_mvt, write_pmtiles

    tiles = {}
    for z in range(10, 16):  # protomaps-leaflet overzooms the last data zoom (15)
        (x0, y0), (x1, y1) = _tile_xy(120.195, 30.215, z), _tile_xy(120.215, 30.195, z)
        tiles.update({(z, x, y): land_mvt() for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)})
    settings.LINLI_MAP_TILE_URL = ""
    settings.LINLI_MAP_TILES_FILE = str(write_pmtiles(tmp_path / "street.pmtiles", tiles, tile_type=1))
    Building.objects.create(grid=tree.grid_a1, compound="望江花园", name="12幢",
                            address="望江路12号望江花园12幢", lon=120.205, lat=30.205, floors=6)
    page = browser_page
    outside = offline(page, live_server.url)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, users.grid_worker_a1)
    page.goto(f"{live_server.url}/grids/{tree.grid_a1.pk}/")
    the_map = page.get_by_test_id("grid-map")
    expect(the_map).to_have_attribute("data-basemap", "ready")
    # then the renderer draws canvas tiles (the land filled) under the buildings' names
    expect(the_map.locator(".leaflet-tile-pane canvas").first).to_be_attached()
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('[data-testid=grid-map] .leaflet-tile-pane canvas'))
               .some(c => { const d = c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data;
                            return d[3] > 0; })""")
    expect(the_map.locator(".bldg-label", has_text="望江花园12幢")).to_be_attached()
    assert errors == []
    assert outside == []
def test_cockpit_draws_todays_patrol_tracks_of_its_street_only(
    live_server: Any,
    em: Any,  # noqa: F811 -- the imported fixture
    browser_page: Page,
) -> None:
    # given a patrol in grid a1 today, one yesterday, and one of another street's worker today
    walk(em.users.grid_worker_a1, hours_ago=0.1)
    yesterday = timezone.localtime().replace(hour=0, minute=0) - timedelta(hours=6)
    walk(em.users.grid_worker_a1, at=yesterday)
    walk(em.other_worker, hours_ago=0.1)
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    outside = offline(page, live_server.url)
    log_in(page, live_server.url, em.users.street)
    page.goto(f"{live_server.url}/cockpit/")
    the_map = page.get_by_test_id("cockpit-map")
    # then today's track of its own street is on the map, as a layer among the others
    expect(the_map).to_have_attribute("data-tracks", "1")
    expect(the_map.locator("path.patrol-track")).to_have_count(1)
    switch = the_map.locator(".leaflet-control-layers-overlays label", has_text="今日巡查轨迹")
    switch.locator("input").uncheck()
    expect(the_map.locator("path.patrol-track")).to_have_count(0)
    assert outside == []


def test_field_track_map_shifts_to_gcj02_tiles(
    live_server: Any, tree: Any, users: Any, browser_page: Page, settings: Any
) -> None:
    # given a GCJ-02 tile service (高德 style) and a short patrol at a WGS-84 point
    settings.LINLI_MAP_TILE_URL = (
        f"{live_server.url}/static/field/icon-192.png?tile={{z}}/{{x}}/{{y}}"
    )
    settings.LINLI_MAP_TILE_CRS = "gcj02"
    patrol = walk(users.grid_worker_a1, hours_ago=1, metres=20)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    tiles: list[str] = []
    page.on(
        "request", lambda r: tiles.append(r.url.split("tile=")[1]) if "tile=" in r.url else None
    )
    log_in(page, live_server.url, users.grid_worker_a1)
    # when the worker opens the patrol's map
    page.goto(f"{live_server.url}/field/patrols/{patrol.pk}/")
    expect(page.get_by_test_id("patrol-map").locator(".leaflet-overlay-pane path")).to_have_count(1)
    expect(
        page.get_by_test_id("patrol-map").locator("img.leaflet-tile-loaded").first
    ).to_be_attached()
    # then the tiles asked for are those under the shifted (GCJ-02) position, about 500 m
    # from where the WGS-84 coordinates would fall
    lon, lat = patrol.track[0][0], patrol.track[0][1]
    zoom = int(tiles[0].split("/")[0])
    shifted = tile_of(*wgs84_to_gcj02(lon, lat), zoom)
    assert shifted in {tuple(int(v) for v in t.split("/")[1:]) for t in tiles}
    assert tile_of(lon, lat, zoom) not in {tuple(int(v) for v in t.split("/")[1:]) for t in tiles}


def test_field_report_map_shows_the_phone_on_gcj02_tiles_and_keeps_wgs84(
    live_server: Any, tree: Any, users: Any, browser_page: Page, settings: Any
) -> None:
    # given a GCJ-02 tile service and a phone at a WGS-84 position
    settings.LINLI_MAP_TILE_URL = (
        f"{live_server.url}/static/field/icon-192.png?tile={{z}}/{{x}}/{{y}}"
    )
    settings.LINLI_MAP_TILE_CRS = "gcj02"
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation(NEAR_12)
    tiles: list[tuple[int, ...]] = []
    page.on(
        "request",
        lambda r: (
            tiles.append(tuple(int(v) for v in r.url.split("tile=")[1].split("/")))
            if "tile=" in r.url
            else None
        ),
    )
    log_in(page, live_server.url, users.grid_worker_a1)
    # when the worker takes the phone's position on the report form
    page.goto(f"{live_server.url}/field/report/")
    page.get_by_test_id("locate").click()
    expect(
        page.get_by_test_id("report-map").locator("img.leaflet-tile-loaded").first
    ).to_be_attached()
    # then the form keeps the WGS-84 position the phone gave
    lon = float(page.locator("[data-position=lon]").input_value())
    lat = float(page.locator("[data-position=lat]").input_value())
    assert (lon, lat) == pytest.approx((NEAR_12["longitude"], NEAR_12["latitude"]), abs=1e-6)
    # and the map shows it where GCJ-02 tiles have that place, not 500 m off
    zoom = tiles[0][0]
    at = {t[1:] for t in tiles if t[0] == zoom}
    assert tile_of(*wgs84_to_gcj02(lon, lat), zoom) in at
    assert tile_of(lon, lat, zoom) not in at
