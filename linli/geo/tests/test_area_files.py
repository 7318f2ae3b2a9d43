"""Reading area files as districts send them: national codes, level words, row numbers."""

from __future__ import annotations

import json

import pytest

from linli.geo.area_files import national_code, read_area_file, row_level
from linli.geo.choices import AreaLevel


@pytest.mark.parametrize(("raw", "code"), [
    ("330102000000", "330102"), ("330102001000", "330102001"), ("330102001001", "330102001001"),
    ("330102", "330102"), (" 330102001 ", "330102001"), ("330102001001001", "330102001001001"),
])
def test_national_twelve_digit_codes_become_the_level_codes(raw: str, code: str) -> None:
    assert national_code(raw) == code


@pytest.mark.parametrize(("value", "code", "level"), [
    ("区", "330102", AreaLevel.DISTRICT), ("街道", "330102001", AreaLevel.STREET),
    ("乡镇", "330102001", AreaLevel.STREET), ("村", "330102001001", AreaLevel.COMMUNITY),
    ("Grid", "330102001001001", AreaLevel.GRID), ("4", "330102001001901", AreaLevel.ZONE),
    ("", "330102001", AreaLevel.STREET), (None, "330102001001", AreaLevel.COMMUNITY),
])
def test_levels_come_as_numbers_words_or_from_the_code_length(value: str | None, code: str, level: AreaLevel) -> None:
    assert row_level(value, code) == level


def test_a_fifteen_digit_code_without_a_level_is_refused_naming_the_level() -> None:
    with pytest.raises(Exception, match="层级") as refused:
        row_level("", "330102001001001")
    assert getattr(refused.value, "field", None) == "level"


def test_csv_in_gbk_with_chinese_headers_reads_like_utf8() -> None:
    # given
    text = "编码,名称,上级编码,层级\n330102000000,上城区,,区\n330102001000,望江街道,330102000000,街道\n"
    # when
    file = read_area_file(name="areas.csv", data=text.encode("gbk"))
    # then
    assert file.problems == []
    assert [(r.code, r.name, r.parent_code, r.level) for r in file.rows] == [
        ("330102", "上城区", "", AreaLevel.DISTRICT), ("330102001", "望江街道", "330102", AreaLevel.STREET)]


def test_bad_csv_rows_are_named_by_their_line_and_field_and_the_good_ones_kept() -> None:
    # given a row without a name, one with an unknown level and one with an open polygon
    open_ring = json.dumps({"type": "Polygon", "coordinates": [[[120.2, 30.2], [120.21, 30.2], [120.21, 30.21],
                                                                [120.2, 30.21]]]})
    text = ("code,name,parent_code,level,boundary\n"
            "330102,上城区,,区,\n"
            "330102001,,330102,街道,\n"
            "330102002,清波街道,330102,城区,\n"
            f"330102003,湖滨街道,330102,街道,\"{open_ring.replace(chr(34), chr(34) * 2)}\"\n")
    # when
    file = read_area_file(name="areas.csv", data=text.encode())
    # then
    assert [r.code for r in file.rows] == ["330102"]
    assert [(p.where, p.field) for p in file.problems] == [("第3行", "name"), ("第4行", "level"), ("第5行", "boundary")]
    assert "未闭合" in file.problems[2].message


def test_geojson_features_are_named_by_their_number() -> None:
    # given
    document = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "330102", "name": "上城区", "level": 1}, "geometry": None},
        {"type": "Feature", "properties": {"code": "330102001", "level": 2},
         "geometry": {"type": "Point", "coordinates": [120.2, 30.2]}},
    ]}
    # when
    file = read_area_file(name="areas.geojson", data=json.dumps(document).encode())
    # then
    assert [r.code for r in file.rows] == ["330102"]
    assert [(p.where, p.field) for p in file.problems] == [("第2个要素", "name")]


def test_a_file_that_is_not_a_feature_collection_is_refused_as_a_whole() -> None:
    file = read_area_file(name="areas.geojson", data=b'{"type": "Feature"}')
    assert file.rows == []
    assert "FeatureCollection" in file.problems[0].message


def test_a_csv_without_a_code_column_is_refused_naming_the_header() -> None:
    file = read_area_file(name="areas.csv", data="名称,层级\n上城区,区\n".encode())
    assert [(p.where, p.field) for p in file.problems] == [("表头", "code")]
