"""A building layer onto the registry: reading the GeoJSON, ``linli buildings load`` (outlines
and positions matched by address, missing buildings created in their grid, all or nothing)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from conftest import Tree, square
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry
from linli.registry.building_files import read_building_file
from linli.registry.models import Building
from linli.registry.services import building_create

SEED = SystemActor("test:seed")


def outline(lon: float, lat: float, size: float = 0.0004) -> dict[str, Any]:
    return square(lon, lat, size)


def feature(geometry: dict[str, Any] | None, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(*features: dict[str, Any]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False).encode()


def test_an_outline_gives_a_position_inside_it_and_a_point_only_a_position() -> None:
    parsed = read_building_file(collection(
        feature(outline(120.2010, 30.2010), 地址="近江路8号1幢", 小区="近江家园", 层数="6", 建成年份="1998"),
        feature({"type": "Point", "coordinates": [120.2050, 30.2050]}, address="近江路8号2幢")))
    assert not parsed.problems
    first, second = parsed.rows
    assert 120.2010 < first.lon < 120.2014
    assert 30.2010 < first.lat < 30.2014
    assert first.footprint is not None
    assert first.footprint["type"] == "Polygon"
    assert (first.compound, first.floors, first.built_year) == ("近江家园", 6, 1998)
    assert (second.lon, second.lat, second.footprint) == (120.2050, 30.2050, None)


def test_bad_features_are_named_by_number_and_field() -> None:
    parsed = read_building_file(collection(
        feature(outline(120.2, 30.2)),                                                      # no address
        feature({"type": "Polygon", "coordinates": [[[120.2, 30.2], [120.3, 30.2], [120.3, 30.3]]]}, 地址="a"),
        feature(outline(120.2, 30.2), 地址="b", 层数="六"),
        feature({"type": "MultiPolygon", "coordinates": [outline(120.2, 30.2)["coordinates"],
                                                         outline(120.21, 30.2)["coordinates"]]}, 地址="c"),
        feature({"type": "Point", "coordinates": [2.35, 48.85]}, 地址="d")))
    assert [(p.where, p.field) for p in parsed.problems] == [
        ("第1个要素", "address"), ("第2个要素", "geometry"), ("第3个要素", "floors"), ("第4个要素", "geometry"),
        ("第5个要素", "geometry")]
    assert not parsed.rows
    assert read_building_file(b"[]").problems


def load(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("linli_buildings_load", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_the_layer_outlines_known_buildings_creates_missing_ones_and_is_idempotent(tree: Tree, tmp_path: Path) -> None:
    # given a building known by its point only, and a layer with its outline and a new building
    known = building_create(actor=SEED, grid=tree.grid_a1, name="1幢", address="近江路8号1幢", lon=120.2050, lat=30.2050)
    path = tmp_path / "buildings.geojson"
    path.write_bytes(collection(
        feature(outline(120.2010, 30.2010), 地址="近江路8号1幢", 层数=6),
        feature(outline(120.2030, 30.2110), 地址="婺江路3号2幢", 小区="婺江苑", 楼栋="2幢")))
    # when dry-run first, then loaded twice
    assert "would create 1, would change 1" in load(path, "--dry-run")
    assert not Building.objects.filter(address="婺江路3号2幢").exists()
    assert "created 1, changed 1, unchanged 0" in load(path)
    assert "created 0, changed 0, unchanged 2" in load(path)
    # then the known building has the outline, a position inside it and its floors
    known.refresh_from_db()
    assert known.footprint is not None
    assert known.footprint["coordinates"][0][0] == [120.2010, 30.2010]
    assert 120.2010 < known.lon < 120.2014
    assert known.floors == 6
    # and the new one sits in the grid its outline falls in, named as the file says
    new = Building.objects.get(address="婺江路3号2幢")
    assert (new.grid_id, new.name, new.compound) == (tree.grid_b1.pk, "2幢", "婺江苑")
    assert new.footprint is not None
    assert AuditEntry.objects.filter(action="building.outline", target_id=str(known.pk)).count() == 1


@pytest.mark.django_db
def test_one_bad_feature_and_nothing_is_written(tree: Tree, tmp_path: Path) -> None:
    # given a building the layer would move into another grid, and a building outside every grid
    building_create(actor=SEED, grid=tree.grid_a1, name="1幢", address="近江路8号1幢", lon=120.2050, lat=30.2050)
    path = tmp_path / "buildings.geojson"
    path.write_bytes(collection(
        feature(outline(120.2150, 30.2050), 地址="近江路8号1幢"),      # inside grid a2
        feature(outline(121.5, 31.2), 地址="外滩1号"),                 # in no grid
        feature(outline(120.2030, 30.2110), 地址="婺江路3号2幢")))     # fine alone
    # when / then
    err = StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("linli_buildings_load", str(path), stdout=StringIO(), stderr=err)
    assert "第1个要素: geometry" in err.getvalue()
    assert "第2个要素: geometry" in err.getvalue()
    assert not Building.objects.filter(address__in=["外滩1号", "婺江路3号2幢"]).exists()
    assert Building.objects.get(address="近江路8号1幢").footprint is None
