"""Personal data: authenticated encryption bound to the field, key rotation, masks."""

from __future__ import annotations

import base64

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from linli.core import pii

K1 = {"k1": b"\x01" * 32}
K2_THEN_K1 = {"k2": b"\x02" * 32, "k1": b"\x01" * 32}
ID_NUMBER = "330102199001011234"


def test_encrypted_value_decrypts_to_the_original():
    # given
    token = pii.encrypt(ID_NUMBER, field="person.id_number")
    # when
    plain = pii.decrypt(token, field="person.id_number")
    # then
    assert plain == ID_NUMBER
    assert ID_NUMBER not in token


def test_same_value_encrypts_differently_each_time():
    assert pii.encrypt(ID_NUMBER, field="f") != pii.encrypt(ID_NUMBER, field="f")


def test_ciphertext_moved_to_another_field_does_not_decrypt():
    # given a phone ciphertext copied into the ID-number column
    token = pii.encrypt("13812345678", field="person.phone")
    # when / then
    with pytest.raises(pii.PiiError, match="authentication"):
        pii.decrypt(token, field="person.id_number")


def test_tampered_ciphertext_does_not_decrypt():
    # given one flipped bit in the sealed payload
    key_id, _sep, payload = pii.encrypt(ID_NUMBER, field="f").partition("$")
    raw = bytearray(base64.urlsafe_b64decode(payload))
    raw[-1] ^= 0x01
    tampered = f"{key_id}${base64.urlsafe_b64encode(bytes(raw)).decode()}"
    # when / then
    with pytest.raises(pii.PiiError):
        pii.decrypt(tampered, field="f")


@pytest.mark.parametrize("garbage", ["", "k1", "k1$", "k1$not base64!", "k1$AAAA", "zz$AAAA"])
def test_malformed_token_raises_pii_error_not_a_crash(garbage):
    with pytest.raises(pii.PiiError):
        pii.decrypt(garbage, field="f")


def test_key_rotation_keeps_old_tokens_readable_and_seals_new_ones_with_the_new_key():
    # given a token written under k1
    with override_settings(LINLI_PII_KEYS=K1, LINLI_PII_CURRENT_KEY="k1"):
        old = pii.encrypt(ID_NUMBER, field="f")
    # when k2 becomes current and k1 stays configured
    with override_settings(LINLI_PII_KEYS=K2_THEN_K1, LINLI_PII_CURRENT_KEY="k2"):
        still_readable = pii.decrypt(old, field="f")
        new = pii.encrypt(ID_NUMBER, field="f")
        rotated = pii.reencrypt(old, field="f")
        # then
        assert still_readable == ID_NUMBER
        assert pii.key_id_of(new) == "k2"
        assert pii.key_id_of(rotated) == "k2"
        assert pii.needs_rotation(old)
        assert not pii.needs_rotation(rotated)
        assert pii.decrypt(rotated, field="f") == ID_NUMBER


def test_token_of_a_dropped_key_no_longer_decrypts():
    # given
    with override_settings(LINLI_PII_KEYS=K1, LINLI_PII_CURRENT_KEY="k1"):
        old = pii.encrypt(ID_NUMBER, field="f")
    # when k1 is removed from the configuration
    with override_settings(LINLI_PII_KEYS={"k2": b"\x02" * 32}, LINLI_PII_CURRENT_KEY="k2"), \
            pytest.raises(pii.PiiError, match="no key"):
        # then
        pii.decrypt(old, field="f")


def test_blind_index_is_stable_and_separated_per_field():
    assert pii.blind_index("13812345678", field="person.phone") == pii.blind_index(
        "13812345678", field="person.phone")
    assert pii.blind_index("13812345678", field="person.phone") != pii.blind_index(
        "13812345678", field="organisation.contact_phone")


def test_blind_index_depends_on_the_key():
    before = pii.blind_index("x", field="f")
    with override_settings(LINLI_BLIND_INDEX_KEY=b"\x09" * 32):
        assert pii.blind_index("x", field="f") != before


@pytest.mark.parametrize(("mask", "value", "shown"), [
    (pii.mask_id_number, "330102199001011234", "3301**********1234"),
    (pii.mask_id_number, "33010219900101123X", "3301**********123X"),
    (pii.mask_id_number, "12345678", "********"),
    (pii.mask_phone, "13812345678", "138****5678"),
    (pii.mask_phone, "057187654321", "********4321"),
    (pii.mask_phone, "110", "***"),
    (pii.mask_name, "王明", "王*"),
    (pii.mask_name, "王小明", "王**"),
    (pii.mask_name, "王", "王*"),
    (pii.mask_name, "", ""),
])
def test_masks_show_only_the_allowed_characters(mask, value, shown):
    assert mask(value) == shown


@given(st.text(min_size=0, max_size=40))
def test_id_mask_never_reveals_more_than_first_four_and_last_four(value):
    # when
    masked = pii.mask_id_number(value)
    # then: same length, at most 8 characters shown, each in its own place
    assert len(masked) == len(value)
    shown = [i for i, ch in enumerate(masked) if ch != "*"]
    assert len(shown) <= 8
    for i in shown:
        assert i < 4 or i >= len(value) - 4
        assert masked[i] == value[i]


@given(st.from_regex(r"\A[1-6][0-9]{16}[0-9X]\Z"))
def test_id_mask_of_an_eighteen_digit_number_hides_the_birth_date(value):
    masked = pii.mask_id_number(value)
    assert masked[4:14] == "*" * 10
    assert value[6:14] not in masked


@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"))
def test_phone_mask_hides_the_middle_four_digits(value):
    masked = pii.mask_phone(value)
    assert masked == value[:3] + "****" + value[-4:]
