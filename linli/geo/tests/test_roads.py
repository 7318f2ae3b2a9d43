"""Roads of the base map: reading a road file, ``linli roads load``, roads in a box."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from linli.core.errors import ApplicationError
from linli.core.models import AuditEntry
from linli.geo.models import Road
from linli.geo.road_files import read_road_file
from linli.geo.selectors import roads_in_box
from linli.geo.workflow import line_bbox, validate_road_geometry


def feature(name: str | None, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": name} if name else {}, "geometry": geometry}


def line(*points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def collection(*features: dict[str, Any]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False).encode()


def test_pieces_of_one_road_become_one_line_set_and_unnamed_lanes_are_skipped() -> None:
    data = collection(
        feature("望江路", line((120.20, 30.20), (120.21, 30.20))),
        feature("望江路", line((120.21, 30.20), (120.22, 30.201))),
        feature(None, line((120.20, 30.20), (120.20, 30.21))),
        {"type": "Feature", "properties": {"名称": "近江路"}, "geometry": line((120.20, 30.21), (120.21, 30.21))},
    )
    # when
    parsed = read_road_file(data)
    # then
    assert parsed.problems == []
    assert parsed.skipped == 1
    roads = {r.name: r.geometry for r in parsed.rows}
    assert roads["望江路"]["type"] == "MultiLineString"
    assert len(roads["望江路"]["coordinates"]) == 2
    assert roads["近江路"] == line((120.20, 30.21), (120.21, 30.21))


@pytest.mark.parametrize(
    ("geometry", "words"),
    [
        ({"type": "Polygon", "coordinates": []}, "LineString"),
        (line((120.20, 30.20)), "2"),
        (line((120.20, 30.20), (10.0, 30.20)), "中国"),
        ({"type": "LineString", "coordinates": [[120.20, 30.20], ["x", 30.20]]}, "非数字"),
        ({"type": "MultiLineString", "coordinates": []}, "不能为空"),
    ],
)
def test_a_bad_line_is_refused_naming_the_geometry(geometry: dict[str, Any], words: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        validate_road_geometry(geometry)
    assert refused.value.field == "geometry"
    assert words in refused.value.message


def test_a_bad_feature_is_a_numbered_problem() -> None:
    parsed = read_road_file(collection(feature("望江路", line((120.20, 30.20))), feature("近江路", line((120.2, 30.2), (120.3, 30.2)))))
    assert [p.where for p in parsed.problems] == ["第1个要素"]
    assert read_road_file(b"{").problems
    assert read_road_file(b'{"type": "Feature"}').problems


def test_line_bbox_covers_every_part() -> None:
    assert line_bbox({"type": "MultiLineString", "coordinates": [[[1, 2], [3, 1]], [[0, 5], [2, 2]]]}) == (0, 1, 3, 5)


def load(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("linli_roads_load", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_loading_a_road_file_twice_leaves_the_same_roads_and_is_audited(tmp_path: Path) -> None:
    # given a road file
    path = tmp_path / "roads.geojson"
    path.write_bytes(collection(feature("望江路", line((120.20, 30.20), (120.21, 30.20))),
                                feature("近江路", line((120.20, 30.21), (120.21, 30.215)))))
    # when it is loaded twice (after a dry run that writes nothing)
    assert "would load 2" in load(path, "--dry-run")
    assert not Road.objects.exists()
    load(path)
    load(path)
    # then there are its two roads once, with their boxes, and two audit entries
    assert sorted(Road.objects.values_list("name", "source")) == [("望江路", "roads.geojson"), ("近江路", "roads.geojson")]
    assert Road.objects.get(name="近江路").max_lat == pytest.approx(30.215)
    assert AuditEntry.objects.filter(action="road.load").count() == 2
    # and roads in a box: a box around 望江路 only
    assert [r.name for r in roads_in_box(bbox=(120.19, 30.19, 120.22, 30.205), limit=10)] == ["望江路"]
    assert roads_in_box(bbox=(120.30, 30.30, 120.31, 30.31), limit=10) == []


@pytest.mark.django_db
def test_a_file_with_a_problem_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_bytes(collection(feature("望江路", line((120.20, 30.20), (120.21, 30.20))),
                                feature("近江路", {"type": "Point", "coordinates": [120.2, 30.2]})))
    with pytest.raises(CommandError):
        load(path)
    assert not Road.objects.exists()
