"""GB 11643 ID numbers, GB 32100 credit codes and phones; stdnum is the independent oracle."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from linli.core.errors import ValidationFailed
from linli.registry.choices import Sex
from linli.registry.validators import (
    PROVINCE_CODES,
    check_birth_and_sex,
    id_number_check_char,
    parse_credit_code,
    parse_id_number,
    parse_phone,
    upgrade_id_number_15,
)

TODAY = date(2026, 6, 1)
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
digits17 = st.text(alphabet="0123456789", min_size=17, max_size=17)
birth_dates = st.dates(min_value=date(1890, 1, 1), max_value=TODAY)


@st.composite
def valid_id_numbers(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    first17 = (province + draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
               + draw(birth_dates).strftime("%Y%m%d")
               + draw(st.text(alphabet="0123456789", min_size=3, max_size=3)))
    return first17 + id_number_check_char(first17)


def reason_of(raw: str, **kwargs: object) -> str:
    with pytest.raises(ValidationFailed) as caught:
        parse_id_number(raw, today=TODAY, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == kwargs.get("field", "id_number")
    return caught.value.message


# --- ID numbers: tables ---------------------------------------------------------------------

def test_standard_example_is_valid_and_decoded():
    # when
    parsed = parse_id_number("11010519491231002X", today=TODAY)
    # then
    assert parsed.value == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == Sex.FEMALE
    assert parsed.area_code == "110105"
    assert not parsed.upgraded_from_15


@pytest.mark.parametrize("raw", [
    "11010519491231002x", " 110105 19491231 002X ", "１１０１０５１９４９１２３１００２Ｘ",
    "１１０１０５１９４９１２３１００２ｘ",
])
def test_id_number_is_normalised_from_spaces_full_width_and_lower_x(raw):
    assert parse_id_number(raw, today=TODAY).value == "11010519491231002X"


def test_fifteen_digit_number_is_upgraded_with_century_and_check_char():
    # given a legacy number: area 110105, born 1949-12-31, sequence 002
    legacy = "110105491231002"
    # when
    parsed = parse_id_number(legacy, today=TODAY)
    # then
    assert parsed.value == "11010519491231002X"
    assert parsed.upgraded_from_15
    assert upgrade_id_number_15(legacy) == "11010519491231002X"


@pytest.mark.parametrize(("raw", "reason"), [
    ("1101051949123100", "长度"),
    ("11010519491231002X1", "长度"),
    ("110105194912310021", "校验码"),
    ("11010519490231002X", "出生日期"),  # no 31 February
    ("110105202701010010", "出生日期"),  # in the future
    ("110105188912310010", "出生日期"),  # before 1890
    ("990105194912310020", "地区码"),
    ("000105194912310020", "地区码"),
    ("1101051949123100AX", "字符"),
    ("11010519491231002Y", "字符"),
    ("11010549123100A", "字符"),
])
def test_bad_id_numbers_are_refused_with_distinct_reasons(raw, reason):
    assert reason in reason_of(raw)


def test_refusal_names_the_given_field():
    assert "校验码" in reason_of("110105194912310021", field="head_id_number")


def test_retired_area_code_with_valid_province_is_accepted():
    # given 330103 (Hangzhou 下城区, merged in 2021) — still on real people's cards
    first17 = "33010319800101001"
    # when / then
    assert parse_id_number(first17 + id_number_check_char(first17), today=TODAY).area_code == "330103"


def test_odd_sequence_is_male():
    first17 = "33010219800101001"
    assert parse_id_number(first17 + id_number_check_char(first17), today=TODAY).sex == Sex.MALE


def test_given_birth_date_or_sex_contradicting_the_id_is_refused():
    parsed = parse_id_number("11010519491231002X", today=TODAY)
    check_birth_and_sex(parsed, birth_date=date(1949, 12, 31), sex="F")
    with pytest.raises(ValidationFailed) as wrong_birth:
        check_birth_and_sex(parsed, birth_date=date(1950, 1, 1), sex=None)
    with pytest.raises(ValidationFailed) as wrong_sex:
        check_birth_and_sex(parsed, birth_date=None, sex="M")
    assert wrong_birth.value.field == "birth_date"
    assert wrong_sex.value.field == "sex"


# --- ID numbers: properties against stdnum ---------------------------------------------------

@given(digits17)
def test_check_char_agrees_with_stdnum(first17):
    assert id_number_check_char(first17) == ric.calc_check_digit(first17 + "0")


@given(valid_id_numbers())
def test_numbers_built_with_our_check_char_pass_stdnum_checksum(number):
    assert parse_id_number(number, today=TODAY).value == number
    assert ric.calc_check_digit(number) == number[-1]


@given(valid_id_numbers(), st.integers(min_value=0, max_value=16), st.integers(1, 9))
def test_any_single_digit_change_is_refused(number, position, delta):
    # given one digit changed (dates may break too; either way it is refused)
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1:]
    # when / then
    with pytest.raises(ValidationFailed):
        parse_id_number(changed, today=TODAY)


@given(st.sampled_from(["110105", "330102", "440305", "510104"]),
       st.dates(min_value=date(1950, 1, 1), max_value=TODAY),
       st.text(alphabet="0123456789", min_size=3, max_size=3))
def test_we_accept_what_stdnum_fully_validates(area, born, sequence):
    # given a number completed with stdnum's own check digit
    first17 = f"{area}{born:%Y%m%d}{sequence}"
    number = first17 + ric.calc_check_digit(first17 + "0")
    assume(ric.is_valid(number))
    # when
    parsed = parse_id_number(number, today=TODAY)
    # then
    assert parsed.value == number
    assert parsed.birth_date == ric.get_birth_date(number) == born


# --- credit codes ----------------------------------------------------------------------------

def test_known_credit_code_is_valid_and_normalised():
    assert parse_credit_code("91110000600037341L") == "91110000600037341L"
    assert parse_credit_code(" ９１１１００００６０００３７３４１ｌ ") == "91110000600037341L"


@pytest.mark.parametrize(("raw", "reason"), [
    ("91110000600037341", "长度"),
    ("91110000600037341M", "校验码"),
    ("9111000060003734IL", "字符"),  # I is not in the alphabet
])
def test_bad_credit_codes_are_refused(raw, reason):
    with pytest.raises(ValidationFailed) as caught:
        parse_credit_code(raw, field="org_code")
    assert caught.value.field == "org_code"
    assert reason in caught.value.message


@given(st.text(alphabet="0123456789", min_size=8, max_size=8),
       st.text(alphabet=CREDIT_ALPHABET, min_size=10, max_size=10))
def test_credit_code_acceptance_agrees_with_stdnum(head, tail):
    # given a code in stdnum's domain (first 8 digits)
    code = head + tail
    # when
    try:
        ours = parse_credit_code(code) == code
    except ValidationFailed:
        ours = False
    # then
    assert ours == uscc.is_valid(code)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8),
       st.text(alphabet=CREDIT_ALPHABET, min_size=9, max_size=9))
def test_credit_code_with_stdnum_check_char_is_accepted(head, middle):
    first17 = head + middle
    code = first17 + uscc.calc_check_digit(first17)
    assert parse_credit_code(code) == code


# --- phones ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("13812345678", "13812345678"),
    ("+86 138-1234-5678", "13812345678"),
    ("0086 13812345678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"),
    ("0571-87654321", "057187654321"),
    ("(010) 5555 6666", "01055556666"),
    ("0898-1234567", "08981234567"),
])
def test_phones_are_normalised(raw, expected):
    assert parse_phone(raw) == expected


@pytest.mark.parametrize("raw", [
    "12812345678", "1381234567", "138123456789", "87654321", "0571-87654", "138abc45678", "",
])
def test_bad_phones_are_refused_naming_the_field(raw):
    with pytest.raises(ValidationFailed) as caught:
        parse_phone(raw, field="contact_phone")
    assert caught.value.field == "contact_phone"
