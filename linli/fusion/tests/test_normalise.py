"""Normalisers: tables of what departments really write, and properties over generated values."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.fusion.mapping import parse_source_definition
from linli.fusion.normalise import (
    REASONS,
    building_key,
    chinese_number,
    half_width,
    normalise_address,
    normalise_date,
    normalise_frame,
    normalise_grade,
    normalise_id_number,
    normalise_name,
    normalise_phone,
    normalise_sex,
    normalise_yes_no,
    reason_message,
    records_from_frame,
)
from linli.registry.validators import id_number_check_char

TODAY = date(2025, 6, 1)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# --- text and names ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("王芳", "王芳"),
    ("王 芳", "王芳"),
    ("王\u3000芳 ", "王芳"),
    ("劉德華", "刘德华"),
    ("張偉", "张伟"),
    ("阿依•木拉提", "阿依·木拉提"),
    ("阿依・木拉提", "阿依·木拉提"),
    ("王芳(已故)", "王芳"),
    ("王芳（户主）", "王芳"),
    ("李先生", "李先生"),
    ("", None),
    ("   ", None),
    (None, None),
    ("123", None),
])
def test_names_are_cleaned_but_keep_titles_and_minority_dots(raw, expected):
    # given a name cell as a department wrote it / when normalised / then
    assert normalise_name(raw) == expected


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E)))
def test_full_width_ascii_becomes_half_width(text):
    # given ASCII text written in full-width characters
    wide = full_width(text)
    # when converted / then it is the ASCII text again, and converting twice changes nothing
    assert half_width(wide) == text
    assert half_width(half_width(wide)) == text


@given(st.text(alphabet="王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤 ·•", max_size=8))
def test_name_normalisation_is_idempotent(text):
    # given any name-like text / when normalised twice / then the second pass changes nothing
    once = normalise_name(text)
    assert once is None or normalise_name(once) == once


# --- ID numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value", "valid", "error"), [
    ("330106198311120971", "330106198311120971", True, None),
    (" 3301 0619 8311 1209 71 ", "330106198311120971", True, None),
    ("３３０１０６１９８３１１１２０９７１", "330106198311120971", True, None),
    ("330106831112097", "330106198311120971", True, None),  # legacy 15 digits upgraded
    ("11010519491231002x", "11010519491231002X", True, None),  # lower-case x
    ("330106198311120917", "330106198311120917", False, "id_checksum"),  # transposed digits
    ("330106198311130971", "330106198311130971", False, "id_checksum"),  # one digit typo
    ("990106198311120971", "990106198311120971", False, "id_area"),
    ("330106198313120971", "330106198313120971", False, "id_birth"),
    ("3301061983111209", None, False, "id_length"),
    ("33010619831112097A", None, False, "id_chars"),
    ("", None, False, "empty"),
    (None, None, False, "empty"),
])
def test_id_numbers_are_cleaned_upgraded_and_checked(raw, value, valid, error):
    # given an ID cell / when normalised
    result = normalise_id_number(raw, today=TODAY)
    # then the cleaned value is kept (even when invalid, as typo evidence) with its verdict
    assert (result.value, result.valid, result.error) == (value, valid, error)


def _ids() -> st.SearchStrategy[str]:
    born = st.dates(min_value=date(1920, 1, 1), max_value=date(1999, 12, 31))
    return st.builds(
        lambda area, b, seq: (lambda body: body + id_number_check_char(body))(f"{area}{b:%Y%m%d}{seq:03d}"),
        st.sampled_from(["330102", "330106", "110105", "440305", "510104"]), born, st.integers(0, 999),
    )


@given(_ids())
def test_a_valid_id_survives_any_formatting(id_number):
    # given a valid ID written wide, spaced, or with a lower-case x / when normalised / then it is that ID
    for raw in (id_number, full_width(id_number), f" {id_number[:6]} {id_number[6:14]} {id_number[14:]} ",
                id_number.lower()):
        result = normalise_id_number(raw, today=TODAY)
        assert (result.value, result.valid) == (id_number, True)


@given(_ids())
def test_a_legacy_id_upgrades_to_its_18_digit_form(id_number):
    # given the 15-digit form of an ID of someone born in the 1900s
    legacy = id_number[:6] + id_number[8:17]
    # when normalised / then it is the 18-digit number, marked as upgraded
    result = normalise_id_number(legacy, today=TODAY)
    assert (result.value, result.valid, result.upgraded) == (id_number, True, True)


@given(_ids(), st.integers(0, 17), st.integers(1, 9))
def test_any_single_character_typo_is_caught_by_the_checksum(id_number, position, shift):
    # given a valid ID with one character changed
    alphabet = "0123456789X" if position == 17 else "0123456789"
    old = alphabet.index(id_number[position])
    typo = id_number[:position] + alphabet[(old + shift) % len(alphabet)] + id_number[position + 1:]
    # when normalised / then it is kept but not valid
    result = normalise_id_number(typo, today=TODAY)
    assert result.valid is False
    assert result.value is None or result.value == typo


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "19500305", "1950-3-5", "1950-03-05", "1950/03/05", "1950/3/5", "1950.3.5", "1950年3月5日",
    "1950年03月05日", "50-3-5", "500305", "18327", "18327.0", 18327, 18327.0, 19500305, "1950-03-05 00:00:00",
    "１９５０－０３－０５", date(1950, 3, 5),
])
def test_dates_in_every_departmental_format_read_the_same(raw):
    # given one birth date as departments write it / when normalised / then it is 5 March 1950
    assert normalise_date(raw, today=TODAY).value == date(1950, 3, 5)


@pytest.mark.parametrize(("raw", "expected"), [
    ("05-3-5", date(2005, 3, 5)),  # two-digit years are never in the future
    ("25-1-1", date(2025, 1, 1)),
    ("26-1-1", date(1926, 1, 1)),
])
def test_two_digit_years_take_the_latest_century_not_in_the_future(raw, expected):
    assert normalise_date(raw, today=TODAY).value == expected


@pytest.mark.parametrize(("raw", "error"), [
    ("", "empty"), (None, "empty"), ("不详", "date_format"), ("1950-2-30", "date_format"),
    ("2030-01-01", "date_range"), ("1850-01-01", "date_range"), ("3/5", "date_format"), ("0", "date_format"),
])
def test_unreadable_dates_are_none_with_a_reason(raw, error):
    result = normalise_date(raw, today=TODAY)
    assert (result.value, result.error) == (None, error)


@given(st.dates(min_value=date(1900, 3, 1), max_value=TODAY))
def test_every_rendering_of_a_date_reads_back(day):
    # given a date rendered in each format departments use, including the Excel serial
    serial = (day - date(1899, 12, 30)).days
    renderings = [f"{day:%Y%m%d}", f"{day.year}-{day.month}-{day.day}", f"{day:%Y/%m/%d}",
                  f"{day.year}.{day.month}.{day.day}", f"{day.year}年{day.month}月{day.day}日", str(serial),
                  float(serial), day]
    # when normalised / then each reads back as the date
    for raw in renderings:
        assert normalise_date(raw, today=TODAY).value == day, raw


# --- sex, phone, yes/no, grade ------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("男", "M"), ("女", "F"), ("M", "M"), ("f", "F"), ("1", "M"), ("2", "F"), ("男性", "M"), (" 女 ", "F"),
    ("Ｍ", "M"), ("未知", None), ("", None),
])
def test_sex_codes(raw, expected):
    assert normalise_sex(raw).value == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678"), ("0086 13812345678", "13812345678"),
    ("138 1234 5678", "13812345678"), ("１３８１２３４５６７８", "13812345678"), ("8613812345678", "13812345678"),
    ("0571-87654321", "057187654321"), ("(0571)8765 4321", "057187654321"), ("010-5555 5555", "01055555555"),
    ("87654321", None), ("1381234567", None), ("无", None), ("", None),
])
def test_phones_mobile_and_landline_with_area_code(raw, expected):
    assert normalise_phone(raw).value == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("13812345678/13987654321", "13812345678"), ("0571-87654321，13812345678", "13812345678"),
    ("0571-87654321;010-55555555", "057187654321"), ("无、13812345678", "13812345678"),
    ("138 1234 5678 或 0571 8765 4321", "13812345678"), ("８７６５４３２１／13812345678", "13812345678"),
])
def test_a_cell_of_several_numbers_gives_its_first_mobile(raw, expected):
    # given a contact cell holding two numbers / when normalised / then one usable number, no error
    parsed = normalise_phone(raw)
    assert (parsed.value, parsed.error) == (expected, None)


def test_a_cell_of_several_bad_numbers_keeps_the_first_error():
    assert normalise_phone("87654321/无").error == "phone_format"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
       st.sampled_from(["{}", "+86{}", "+86 {}", "0086{}", "{0}-{1}-{2}", "{0} {1} {2}"]), st.booleans())
def test_a_mobile_survives_any_decoration(mobile, template, wide):
    # given a mobile number decorated as people type it
    raw = template.format(mobile) if "{}" in template else template.format(mobile[:3], mobile[3:7], mobile[7:])
    raw = full_width(raw) if wide else raw
    # when normalised / then it is the 11 digits
    assert normalise_phone(raw).value == mobile


def test_yes_no_and_grades():
    assert [normalise_yes_no(v).value for v in ("是", "否", "Y", "0", "√", "", "也许")] == [
        True, False, True, False, True, None, None]
    assert [normalise_grade(v).value for v in ("一级", "2级", "3", "Ⅳ", "四", "五级", "")] == [1, 2, 3, 4, 4, None, None]
    assert [chinese_number(v) for v in ("三", "十", "十二", "二十", "二十五", "12", "百")] == [3, 10, 12, 20, 25, 12, None]


# --- addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "江城花园3幢2单元502室",
    "江城花园3栋2单元502",
    "江城花园3号楼2单元502室",
    "江城花园3座2单元502号",
    "江城花园3#2单元502",
    "江城花园3-2-502",
    "江城花园 3 - 2 - 0502",
    "江城花园三幢二单元502室",
    "江城花园3幢2-502",
    "江城花园３幢２单元５０２室",
    "上城区江城花园3幢2单元502室",
    "杭州市上城区江城花园3-2-502",
    "浙江省杭州市上城区望江街道江城花园3幢2单元502室",
    "望江街道望江社区江城花园3幢2单元502室",
    "望江路88号江城花园3幢2单元502室",
    "杭州市上城区望江路88号江城花园3幢2单元502室",
    # issue 17, cause 5: ordinals, a floor before the room, a bracketed note, dash variants,
    # spaces, zero padding, 房
    "江城花园第3幢2单元502室",
    "江城花园第三幢第二单元502室",
    "江城花园3幢2单元5楼502室",
    "江城花园3栋2单元5层0502",
    "江城花园3幢2单元502室(东)",
    "江城花园3幢2单元502室（西户）",
    "江城花园3—2—502",
    "江城花园3－2－502",
    "江城花园 3 幢 2 单元 502 室",
    "江城花园3幢02单元0502",
    "江城花园3幢2单元502房",
    "江城花园3栋2-502",
    "江城花园三号楼二单元502室",
])
def test_address_variants_parse_to_one_key(raw):
    # given one flat written the ways departments write it / when normalised
    address = normalise_address(raw)
    # then the compound, building, unit and room agree
    assert (address.building_key, address.unit, address.room) == ("江城花园|3", "2", "502")
    assert address.norm == "江城花园3幢2单元502室"


@pytest.mark.parametrize(("raw", "notation"), [
    ("清禾路12号3栋2单元502室", "road + door number + building + unit + room"),
    ("清禾路12号3幢2单元502", "幢, no 室"),
    ("清禾路12号3号楼2单元502室", "号楼"),
    ("清禾路12-3-2-502", "dashed door-building-unit-room"),
    ("清禾路12号-3-2-502", "dashed after 号"),
    ("清禾路１２号３栋２单元５０２室", "full-width digits"),
    ("清禾路12号三栋二单元502室", "Chinese numerals"),
    ("杭州市上城区清禾路12号3栋2单元0502室", "city + district prefix, zero-padded room"),
    ("浙江省杭州市上城区望江街道清禾路12号3栋2单元502室", "province … street prefix"),
])
def test_door_numbered_address_notations_parse_to_one_key(raw, notation):
    # given (issue 17, cause 4) a flat in building 3 under door number 清禾路12号, written as
    # departments write it / when normalised / then one key: compound = road + door number
    address = normalise_address(raw)
    assert (address.building_key, address.unit, address.room) == ("清禾路12号|3", "2", "502"), notation
    assert address.norm == "清禾路12号3幢2单元502室"


def test_dashed_road_form_without_unit_is_door_building_room():
    # given 清禾路12-3-502 (no unit) / then door 12, building 3, room 502 — not compound 清禾路, building 12
    address = normalise_address("清禾路12-3-502")
    assert (address.building_key, address.unit, address.room) == ("清禾路12号|3", "", "502")


@pytest.mark.parametrize(("raw", "key", "unit", "room"), [
    ("望江小区12幢3单元502室", "望江小区|12", "3", "502"),  # 小区 is not a district
    ("上城区望江小区12-3-502", "望江小区|12", "3", "502"),
    ("南宋御街里1幢1单元101室", "南宋御街里|1", "1", "101"),  # 街 inside a compound name
    ("杭州市上城区建国南路209号幸福里1幢", "幸福里|1", "", ""),  # building only
    ("12-3-502", "", "3", "502"),  # no compound: no building key
    ("上城区紫花埠路12号", "", "", ""),  # a door number on a road, no building
    ("", "", "", ""),
])
def test_address_edge_cases(raw, key, unit, room):
    address = normalise_address(raw)
    assert (address.building_key, address.unit, address.room) == (key, unit, room)


@given(st.sampled_from(["幸福里", "江城花园", "望江小区", "近江东园二期", "景和苑"]), st.integers(1, 40),
       st.integers(1, 6), st.integers(1, 33), st.integers(1, 4), st.sampled_from(["", "杭州市上城区", "上城区望江街道"]))
def test_every_address_style_gives_the_registry_key(compound, building, unit, floor, door, prefix):
    # given a flat and the key the registry stores for its building
    room = f"{floor}{door:02d}"
    expected = building_key(compound, f"{building}幢")
    styles = [f"{compound}{building}幢{unit}单元{room}室", f"{compound}{building}-{unit}-{room}",
              f"{compound}{building}栋{unit}单元{room}", f"{compound}{building}号楼{unit}单元{room}室"]
    # when each style is normalised / then it has the same key, unit and room
    for raw in styles:
        address = normalise_address(prefix + raw)
        assert (address.building_key, address.unit, address.room) == (expected, str(unit), room)


# --- bulk ---------------------------------------------------------------------------------------


def test_frame_normalisation_matches_the_per_record_functions_and_lists_rejected_cells():
    # given a small export and its definition
    definition = parse_source_definition({
        "code": "minzheng", "department": "民政",
        "columns": {"姓名": "name", "身份证号": "id_number", "出生日期": "birth_date", "性别": "sex",
                    "联系电话": "phone", "现住址": "address", "残疾等级": "disability_grade"},
    })
    raw = pl.DataFrame({
        "姓名": ["劉德華", "王 芳", ""],
        "身份证号": ["330106831112097", "", "1234"],
        "出生日期": ["", "1983-11-12", "不详"],
        "性别": ["", "女", "男"],
        "联系电话": ["+86 138 1234 5678", "", "12"],
        "现住址": ["上城区江城花园3-2-502", "江城花园3幢2单元502室", ""],
        "残疾等级": ["二级", "", "九级"],
        "备注": ["x", "y", "z"],
    })
    # when normalised in bulk
    frame = normalise_frame(raw, definition, today=TODAY)
    # then the values are those of the per-record functions, birth/sex come from a valid ID
    first = frame.row(0, named=True)
    assert first["name"] == "刘德华"
    assert first["name_pinyin"] == "liudehua"
    assert first["surname_pinyin"] == "liu"
    assert (first["id_number"], first["id_valid"], first["id_upgraded"]) == ("330106198311120971", True, True)
    assert (first["birth_date"], first["sex"]) == (date(1983, 11, 12), "M")
    assert (first["building_key"], first["unit"], first["room"]) == ("江城花园|3", "2", "502")
    assert first["disability_grade"] == 2
    assert first["errors"] == []
    assert frame["row_number"].to_list() == [1, 2, 3]
    assert "备注" not in frame.columns
    # and every rejected cell is listed with its column and reason; empty cells are not errors
    third = frame.row(2, named=True)
    assert {(e["column"], e["code"]) for e in third["errors"]} == {
        ("身份证号", "id_length"), ("出生日期", "date_format"), ("联系电话", "phone_format"),
        ("残疾等级", "grade_invalid")}
    assert frame.row(1, named=True)["errors"] == []


def test_records_carry_fields_errors_and_a_stable_raw_hash():
    definition = parse_source_definition({"code": "t", "department": "民政",
                                          "columns": {"姓名": "name", "电话": "phone"}})
    raw = pl.DataFrame({"姓名": ["王芳", "王芳"], "电话": ["12", "12"]})
    records = records_from_frame(normalise_frame(raw, definition, today=TODAY), raw, source_code="t")
    assert records[0].fields["name"] == "王芳"
    assert records[0].errors == (("电话", "phone_format"),)
    assert records[0].raw_hash == records[1].raw_hash
    assert len(records[0].raw_hash) == 64


def test_separate_building_unit_room_columns_compose_an_address():
    definition = parse_source_definition({
        "code": "zongzhi", "department": "综治",
        "columns": {"姓名": "name", "小区": "address", "楼栋": "building", "单元": "unit", "室号": "room"},
    })
    raw = pl.DataFrame({"姓名": ["王芳"], "小区": ["江城花园"], "楼栋": ["3"], "单元": ["2"], "室号": ["502"]})
    frame = normalise_frame(raw, definition, today=TODAY)
    assert frame.select("building_key", "unit", "room").row(0) == ("江城花园|3", "2", "502")


def test_excel_numbers_read_as_dates_and_ids_keep_their_digits():
    definition = parse_source_definition({
        "code": "canlian", "department": "残联", "format": "xlsx",
        "columns": {"姓名": "name", "出生年月": "birth_date", "手机": "phone"},
    })
    raw = pl.DataFrame({"姓名": ["王芳", "李四"], "出生年月": [18327.0, 19500305.0], "手机": [13812345678.0, None]})
    frame = normalise_frame(raw, definition, today=TODAY)
    assert frame["birth_date"].to_list() == [date(1950, 3, 5), date(1950, 3, 5)]
    assert frame["phone"].to_list() == ["13812345678", None]


def test_every_reason_code_has_a_chinese_message():
    for code in REASONS:
        message = reason_message(code)
        assert message
        assert message != code
