"""The vectorised column normalisers give exactly what the per-value reference functions give."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import opencc
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.fusion.match.compare import _id_distance_level, id_distance_levels
from linli.fusion.normalise import columns
from linli.fusion.normalise.values import fast_pinyin_keys, normalise_phone, simplified
from linli.fusion.readers import ReadResult, raw_columns, raw_rows
from linli.registry.text import pinyin_keys

TODAY = date(2025, 6, 1)

# Characters and pieces that sit on the edges of the rules: full-width forms, Python-only
# whitespace (\x1c), other scripts' digits, brackets, dots, dashes, numerals, prefixes.
_CHARS = list("0123456789０１２３-/.年月日 T:　\t\x1c\xa0\n()（）[]【】·•.。_~～—+#号幢栋楼单元室房座区县市"
              "省街道镇乡社居委会路巷弄大小园校营场一二三十两〇零王芳劉德華國乾阿依木先生XxAaEe²٣")
_TOKENS = ["杭州市", "上城区", "望江街道", "南星社区", "社区居委会", "新疆维吾尔自治区", "杭州市场", "幸福里",
           "江城路88号", "解放路1号楼", "12幢", "十二栋", "3单元", "2-", "502室", "0502", "1-2-301", "1950-03-05",
           "19500305", "50-3-5", " 00:00:00", "T08:30", "18327", "1950年3月5日", "+86 138-1234-5678", "0086",
           "0571-87654321", "330106198311120971", "330106831112097", "3.30106E+17", "劉德華", "阿依·木拉提"]


def _cells() -> st.SearchStrategy[list[str | None]]:
    cell = st.one_of(
        st.none(),
        st.lists(st.sampled_from(_CHARS), max_size=10).map("".join),
        st.lists(st.sampled_from(_TOKENS + _CHARS), max_size=6).map("".join),
    )
    return st.lists(cell, min_size=1, max_size=25)


def _phone_struct(value: object) -> dict[str, Any]:
    result = normalise_phone(value)
    return {"v": result.value, "e": None if result.error == "empty" else result.error}


_KINDS = {
    "name": (columns.name_frame, columns._name_struct),
    "address": (columns.address_frame, columns._address_struct),
    "date": (lambda s: columns.date_frame(s, TODAY), lambda v: columns._date_struct(v, TODAY)),
    "phone": (columns.phone_frame, _phone_struct),
    "id_number": (lambda s: columns.id_frame(s, TODAY), lambda v: columns._id_struct(v, TODAY)),
}


def _assert_same(kind: str, cells: list[str | None]) -> None:
    bulk, one = _KINDS[kind]
    got = bulk(pl.Series("c", cells, dtype=pl.String))
    want = [one(c) for c in cells]
    for i, expected in enumerate(want):
        row = {k: got[k][i] for k in expected}
        assert row == expected, (kind, cells[i])


@pytest.mark.parametrize("kind", list(_KINDS))
@settings(max_examples=60, deadline=None)
@given(cells=_cells())
def test_bulk_normalisers_agree_with_the_reference_functions(kind, cells):
    # given any column of awkward cells / when normalised in bulk / then every row is what the
    # per-value reference function says
    _assert_same(kind, cells)


@pytest.mark.parametrize(("kind", "cells"), [
    ("address", ["杭州市场路1号2幢3单元401室", "南星社区居委会", "XX社区居委会3幢", "小区12幢1单元", "营区12幢",
                 "江城路88号", "江城路88号楼3单元", "幸福里十十幢十十单元0室", "幸福里〇幢", "幸福里٣幢1单元2室",
                 "幸福里１２栋２单元５０２", "幸福里\n1幢", "國泰花園1幢2單元3室", "-幸福里,1#2-301", "12-3-502",
                 "清禾路12号3栋2单元502室", "清禾路12-3-502", "清禾路12-3-2-502", "杭州市清禾路12号-3-2-0502",
                 "清禾路１２号三栋二单元502室", "清禾路12号3栋", "清禾路12号"]),
    ("date", ["1950-3-5", "1950-03-05 00:00:00", "0000-01-01", "1950-02-30", "50.3.5", "05/03/05", "18327",
              "18327.0", "60001", "0", "19500305.00", "1950年3月5日 ", "１９５０－０３－０５", "1950\x1c-3-5",
              "٣٣٣٣-1-1", "1889-12-31", "2030-01-01", "195003"]),
    ("name", ["王芳", "·王芳·", "··", "王芳(已故)", "王 芳", "劉德華", "Wang Fang", "王芳2", "王芳\u0301", "Ⅱ世"]),
    ("phone", ["+86 138-1234-5678", "86 13812345678", "0086-13812345678", "0571-8765 4321", "87654321",
               "１３８１２３４５６７８", "138l2345678", "+86", "", "（0571）87654321",
               "13812345678/13987654321", "0571-87654321，13812345678", "87654321/无", "/"]),
])
def test_bulk_normalisers_agree_on_edge_cases(kind, cells):
    _assert_same(kind, cells)


def test_a_date_column_of_date_values_takes_the_reference_path():
    # given cells read as dates by a spreadsheet reader / when normalised / then range-checked
    got = columns.date_frame(pl.Series([date(1950, 3, 5), date(1850, 1, 1), None]), TODAY)
    assert got["v"].to_list() == [date(1950, 3, 5), None, None]
    assert got["e"].to_list() == [None, "date_range", None]


@pytest.mark.parametrize("name", [
    "王芳", "欧阳娜娜", "单于飞", "长孙无忌", "重庆", "长乐", "朝阳", "阿依·木拉提", "乐乐", "曾参", "解放军", "行长", "银行",
    "王a", "王芳2", "", "·",
])
def test_fast_pinyin_keys_read_names_like_pypinyin(name):
    # given a name, plain or holding a dictionary phrase / then the keys are pypinyin's own
    assert fast_pinyin_keys(name) == pinyin_keys.__wrapped__(name)


@settings(deadline=None)
@given(st.text(alphabet="王李张长乐重庆朝阳单于解放银行曾参欧阳行都会·", max_size=6))
def test_fast_pinyin_keys_agree_with_pypinyin_on_any_name(name):
    assert fast_pinyin_keys(name) == pinyin_keys.__wrapped__(name)


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(
    ["劉德華", "國", "乾隆", "乾燥", "头发", "頭髮", "12", "A", " ", "\n", "幸福里", "後", "后"]), max_size=5).map("".join)),
    min_size=1, max_size=20))
def test_simplified_in_bulk_is_opencc_on_each_text(cells):
    got = columns.simplified_series(pl.Series(cells, dtype=pl.String)).to_list()
    assert got == [None if c is None else simplified(c) for c in cells]


def test_opencc_dictionary_keys_hold_no_ascii(tmp_path):
    # simplified_series converts non-ASCII runs separately, which is exact only while no key
    # of the t2s dictionaries contains an ASCII character.
    base = Path(opencc.__file__).parent / "clib"
    tool = base / "bin" / "opencc_dict"
    if not tool.exists():
        pytest.skip("opencc_dict is not shipped with this OpenCC build")
    config = json.loads((base / "share" / "opencc" / "t2s.json").read_text("utf-8"))
    files = [config["normalization"][0]["dict"]["file"]] if "normalization" in config else []
    for step in config["conversion_chain"]:
        files += [d["file"] for d in step["dict"].get("dicts", [step["dict"]])]
    for name in files:
        out = tmp_path / f"{name}.txt"
        command = [str(tool), "-i", str(base / "share" / "opencc" / name), "-o", str(out), "-f", "ocd2", "-t", "text"]
        subprocess.run(command, check=True, capture_output=True,  # noqa: S603 - OpenCC's own tool and files
                       env={"LD_LIBRARY_PATH": str(base / "lib64")})
        keys = [line.split("\t")[0] for line in out.read_text("utf-8").splitlines()]
        assert keys
        assert not [k for k in keys if any(ord(c) < 0x80 for c in k)], name


def test_raw_rows_hash_the_json_of_the_non_empty_cells():
    # given rows with quotes, backslashes, control characters, Chinese and empty cells
    frame = pl.DataFrame({
        "姓名": ["王芳", 'a"b\\c', "", None],
        "备注": ["x\ny\t\x01", "\u2028", "√", "z"],
        "__row": [2, 3, 4, 5], "__sheet": ["", "", "", ""],
    })
    read = ReadResult(frame=frame, format="csv", encoding="utf-8", delimiter=",", sheets=[], columns=["姓名", "备注"],
                      size=0, sha256="")
    # when hashed / then each row is its dict of non-empty cells and the SHA-256 of its sorted JSON
    rows, hashes = raw_rows(read)
    expected = [{k: v for k, v in zip(["姓名", "备注"], values, strict=True) if v}
                for values in frame.select("姓名", "备注").iter_rows()]
    assert rows == expected
    assert hashes == [hashlib.sha256(json.dumps(r, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
                      for r in expected]
    # and as columns (what an import keeps): the same cells, nulls for the empty ones, same hashes
    columns, column_hashes = raw_columns(read)
    assert column_hashes == hashes
    assert [{k: v for k, v in row.items() if v is not None} for row in columns.iter_rows(named=True)] == expected


@settings(deadline=None)
@given(st.lists(st.tuples(
    st.one_of(st.none(), st.text(alphabet="0123456789X", min_size=0, max_size=20)),
    st.one_of(st.none(), st.text(alphabet="0123456789X٣", min_size=0, max_size=20))), min_size=1, max_size=30))
def test_id_distance_levels_in_bulk_agree_with_the_pairwise_rule(pairs):
    left, right = [a for a, _b in pairs], [b for _a, b in pairs]
    got = id_distance_levels(pl.Series(left, dtype=pl.String), pl.Series(right, dtype=pl.String)).to_list()
    assert got == [_id_distance_level(a, b) for a, b in pairs]
