"""What the public may read of a case: property tests over generated notations.

Each strategy writes a real identifier or address the way people type them (separators,
prefixes, full-width digits, Chinese numerals) inside Chinese text; the property is that
the identifying digits never survive :func:`public_text` / :func:`public_address`.
"""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from linli.cases.disclosure import public_address, public_row, public_text

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True)
# Text around the number: Chinese words without digits, so any digit in the output comes
# from the number under test.
WORDS = st.sampled_from(["", "住户王红华 电话", "联系", "请回电", "身份证", "报修人", "。", ",", " ", "楼下"])
SEPARATORS = st.sampled_from(["", "-", " ", ".", " - ", "  ", "—", "－"])
FULL_WIDTH = str.maketrans("0123456789()+", "０１２３４５６７８９（）＋")


def _digits(text: str) -> str:
    return re.sub(r"[^\dX]", "", text.translate({v: k for k, v in FULL_WIDTH.items()}))


@st.composite
def mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """(notation, 11 digits): 138-1234-5678, 138 1234 5678, +86 13812345678, 0086 …"""
    number = "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    sep = draw(SEPARATORS)
    body = sep.join([number[:3], number[3:7], number[7:]])
    prefix = draw(st.sampled_from(["", "+86 ", "+86-", "+86", "0086 ", "0086-", "(+86)", "(+86) ", "86 "]))
    notation = prefix + body
    if draw(st.booleans()):
        notation = notation.translate(FULL_WIDTH)
    return notation, number


@st.composite
def landlines(draw: st.DrawFn) -> tuple[str, str]:
    """(notation, local number): 0571-87654321, (0571)87654321, +86 571 87654321 …"""
    area = draw(st.sampled_from(["010", "021", "0571", "0755", "0512", "0898"]))
    local = draw(st.sampled_from("23456789")) + draw(st.text("0123456789", min_size=6, max_size=7))
    if len(local) == 8 and draw(st.booleans()):
        shown = local[:4] + draw(SEPARATORS.filter(bool)) + local[4:]
    else:
        shown = local
    form = draw(st.sampled_from(["{a}-{l}", "({a}){l}", "({a}) {l}", "{a} {l}", "{a}{l}",
                                 "+86 {a1} {l}", "+86-{a1}-{l}", "0086 {a1} {l}", "（{a}）{l}",
                                 "{a}-{l}转8012", "{l}"]))
    return form.format(a=area, a1=area[1:], l=shown), local


def _id_number(draw: st.DrawFn, length: int) -> str:
    region = draw(st.sampled_from(["110105", "330102", "330106", "440305", "510104"]))
    birth = draw(st.sampled_from(["19490101", "19900101", "20051231", "19781108"]))
    if length == 15:
        return region + birth[2:] + draw(st.text("0123456789", min_size=3, max_size=3))
    return region + birth + draw(st.text("0123456789", min_size=3, max_size=3)) + draw(st.sampled_from("0123456789X"))


@st.composite
def id_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """(notation, digits): 18 or 15 digits cut into groups by spaces or dashes, or not at all."""
    number = _id_number(draw, draw(st.sampled_from([15, 18])))
    sep = draw(st.sampled_from(["", " ", "-", "  ", " - ", "—"]))
    style = draw(st.sampled_from(["fours", "6-8-4", "random"]))
    if style == "fours":
        groups = [number[i:i + 4] for i in range(0, len(number), 4)]
    elif style == "6-8-4":
        groups = [number[:6], number[6:-4], number[-4:]]
    else:
        cuts = sorted(draw(st.sets(st.integers(1, len(number) - 1), max_size=5)))
        groups = [number[a:b] for a, b in zip([0, *cuts], [*cuts, len(number)], strict=True)]
    return sep.join(groups), number


CN = "零一二三四五六七八九"


def _chinese(n: int, *, spelled: bool) -> str:
    """二 / 十二 for a building or unit; 五零二 (digit by digit) for a room."""
    if spelled or n < 10:
        return "".join(CN[int(d)] for d in str(n))
    return ("" if n < 20 else CN[n // 10]) + "十" + ("" if n % 10 == 0 else CN[n % 10])


@st.composite
def rooms(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    """(notation, building as kept, forbidden parts): 3-2-502, 3幢2单元502室, 二幢三单元五零二室 …"""
    building = draw(st.integers(1, 39))
    unit = draw(st.integers(1, 6))
    room = draw(st.integers(1, 33)) * 100 + draw(st.integers(1, 4))
    sp = draw(st.sampled_from(["", " "]))
    marker = draw(st.sampled_from(["幢", "栋", "号楼", "座"]))
    forms = [
        (f"{building}-{unit}-{room}", f"{building}幢"),
        (f"{building}{sp}-{sp}{unit}{sp}-{sp}{room}室", f"{building}幢"),
        (f"{building}{marker}{sp}{unit}单元{sp}{room}室", f"{building}{marker}"),
        (f"{building}{marker}{unit}单元{room}", f"{building}{marker}"),
        (f"{building}{marker}{unit}-{room}", f"{building}{marker}"),
        (f"{building}{marker}{sp}{unit}{sp}-{sp}{room}室", f"{building}{marker}"),
        (f"{building}{marker}{room}室", f"{building}{marker}"),
        (f"{building}{marker}{room // 100}楼{room}", f"{building}{marker}"),
        (f"{building}号{unit}单元{room}室", f"{building}号"),
    ]
    notation, kept = draw(st.sampled_from(forms))
    forbidden = [str(room), f"{unit}单元"]
    if draw(st.booleans()):  # Chinese numerals: 二幢三单元五零二室
        b, u, r = _chinese(building, spelled=False), _chinese(unit, spelled=False), _chinese(room, spelled=True)
        notation, kept = f"{b}{marker}{u}单元{r}室", f"{b}{marker}"
        forbidden = [r, f"{u}单元"]
    elif draw(st.booleans()):
        notation = notation.translate(FULL_WIDTH)
    return notation, kept, forbidden


@SETTINGS
@given(mobiles(), WORDS, WORDS)
@example(("138-1234-5678", "13812345678"), "住户王红华 电话", "")
@example(("+86 13812345678", "13812345678"), "", "")
def test_mobile_numbers_never_survive(mobile: tuple[str, str], before: str, after: str) -> None:
    notation, number = mobile
    out = public_text(f"{before}{notation}{after}")
    # the prefix and the middle four digits are gone, the rest reads as before
    assert out == f"{before}{number[:3]}****{number[-4:]}{after}".strip()


@SETTINGS
@given(landlines(), WORDS, WORDS)
@example(("0571-87654321", "87654321"), "电话", "")
@example(("(0571)87654321", "87654321"), "", "")
def test_landline_numbers_never_survive(landline: tuple[str, str], before: str, after: str) -> None:
    notation, local = landline
    out = public_text(f"{before}{notation}{after}")
    assert local not in _digits(out)
    assert local[-4:] not in out


@SETTINGS
@given(id_numbers(), WORDS, WORDS)
@example(("3301 0219 9001 0112 37", "330102199001011237"), "身份证", "")
def test_id_numbers_with_any_separators_never_survive(id_number: tuple[str, str], before: str, after: str) -> None:
    notation, number = id_number
    out = public_text(f"{before}{notation}{after}")
    assert number not in _digits(out)
    # the birth date (digits 7-14 of 18, 7-12 of 15) is never shown
    birth = number[6:14] if len(number) == 18 else number[6:12]
    assert birth not in _digits(out)


@SETTINGS
@given(rooms(), st.sampled_from(["钱塘小区 ", "望江路88号钱塘小区", "江景苑", ""]), WORDS)
@example(("3-2-502", "3幢", ["502", "2单元"]), "钱塘小区 ", "")
@example(("二幢三单元五零二室", "二幢", ["五零二", "三单元"]), "钱塘小区", "")
@example(("3栋2-502", "3栋", ["502", "2单元"]), "", "")
def test_address_is_cut_to_the_building_in_any_notation(
    room: tuple[str, str, list[str]], compound: str, after: str,
) -> None:
    notation, kept, forbidden = room
    address = public_address(compound + notation)
    text = public_text(f"{compound}{notation}{after}漏水")
    for out in (address, text):
        for part in forbidden:
            assert part not in out
        assert "室" not in out
        assert "单元" not in out
    assert address == (compound + kept).strip()
    assert kept in text


@SETTINGS
@given(mobiles(), id_numbers(), rooms())
def test_a_description_with_everything_keeps_nothing_identifying(
    mobile: tuple[str, str], id_number: tuple[str, str], room: tuple[str, str, list[str]],
) -> None:
    text = f"住户王红华 电话 {mobile[0]} 身份证 {id_number[0]} 住钱塘小区{room[0]}"
    out = public_text(text)
    assert mobile[1] not in _digits(out)
    assert id_number[1] not in _digits(out)
    assert "单元" not in out
    assert "室" not in out


def test_the_issue_example_is_masked_exactly() -> None:
    text = "住户王红华 电话 138-1234-5678 身份证 3301 0219 9001 0112 37"
    assert public_text(text) == "住户王红华 电话 138****5678 身份证 3301**********1237"
    assert public_address("钱塘小区 3-2-502") == "钱塘小区 3幢"
    assert public_address("望江路88号3幢2单元502室") == "望江路88号3幢"


def test_ordinary_text_dates_case_numbers_and_small_numbers_are_kept() -> None:
    for text in ("路灯不亮,已有3天。", "2026-12-07 下午发现", "2026-12-07 10:30 发现", "已与 AJ-20261207-0001 合并处理。",
                 "望江路100号门口", "共12户受影响", "约50米长的围挡"):
        assert public_text(text) == text


def test_public_row_masks_every_text_field_but_the_kept_ones() -> None:
    row = {"service_request_id": "AJ-20261207-0001", "description": "电话13812345678",
           "status_notes": "回电 0571-87654321", "address": "钱塘小区3-2-502", "lat": 30.2}
    out = public_row(row, keep=["service_request_id"])
    assert out == {"service_request_id": "AJ-20261207-0001", "description": "电话138****5678",
                   "status_notes": "回电 0571-********", "address": "钱塘小区3幢", "lat": 30.2}
