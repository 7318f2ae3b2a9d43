"""The key check: linli refuses to start with keys that cannot read its database (#24.4)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from linli.core import pii
from linli.core.actors import SystemActor
from linli.core.key_check import KeysRefusedError, judge, key_check_ensure
from linli.core.models import KeyCheck, KeyCheckKind
from linli.core.services import audit_record, pii_keys_rotate

K1 = b"\x01" * 32
K2 = b"\x02" * 32
OTHER = b"\x09" * 32
A1 = b"\x0a" * 32
BIDX = b"\x0b" * 32
PERSON_PII = {"id_number_enc": "person.id_number", "phone_enc": "person.phone"}


def keys(*, pii_keys: dict[str, bytes], bidx: bytes = BIDX, audit: dict[str, bytes] | None = None) -> Any:
    """Settings as a start with these keys would have them."""
    audit = audit or {"a1": A1}
    return override_settings(
        LINLI_PII_KEYS=pii_keys, LINLI_PII_CURRENT_KEY=next(iter(pii_keys)), LINLI_BLIND_INDEX_KEY=bidx,
        LINLI_AUDIT_KEYS=audit, LINLI_AUDIT_CURRENT_KEY=next(iter(audit)),
    )


@pytest.fixture(autouse=True)
def _secrets_file_of_this_test(tmp_path: Path) -> Iterator[None]:
    """The refusal names the secrets file (and would move one generated at this start): a
    test's own, never the test run's."""
    found = dataclasses.replace(settings.LINLI_SECRETS, path=tmp_path / "secrets.json",
                                sources=dict.fromkeys(("LINLI_PII_KEYS", "LINLI_BLIND_INDEX_KEY", "LINLI_AUDIT_KEYS"),
                                                      str(tmp_path / "secrets.json")),
                                generated=frozenset())
    with override_settings(LINLI_SECRETS=found):
        yield


@pytest.fixture
def first_start(db: None) -> None:
    """A database met for the first time: the checks recorded after the test run's migrate gone."""
    KeyCheck.objects.all().delete()


def person_with_phone(phone: str = "13812345678") -> Any:
    person = apps.get_model("registry", "Person")
    return person.objects.create(
        name="王小明", name_pinyin="wangxiaoming", name_initials="wxm",
        phone_enc=pii.encrypt(phone, field="person.phone"),
        phone_bidx=pii.blind_index(phone, field="person.phone"), phone_masked=pii.mask_phone(phone),
    )


def test_first_start_on_an_empty_database_records_a_check_per_key(first_start):
    # given / when
    with keys(pii_keys={"k1": K1}):
        recorded = key_check_ensure()
        again = key_check_ensure()
    # then one check per key, sealed with that key, and nothing the second time
    assert sorted(recorded) == ["audit:a1", "blind_index", "pii:k1"]
    assert again == []
    stored = {(row.kind, row.key_id): row.token for row in KeyCheck.objects.all()}
    assert set(stored) == {("pii", "k1"), ("blind_index", ""), ("audit", "a1")}
    assert stored[("pii", "k1")].startswith("k1$")


def test_the_migrate_of_the_test_database_recorded_the_checks_of_its_keys(db):
    # the post_migrate hook: the database never held data before its checks
    kinds = set(KeyCheck.objects.values_list("kind", flat=True))
    assert kinds == {"pii", "blind_index", "audit"}
    assert key_check_ensure() == []


def test_a_regenerated_secrets_file_over_a_populated_database_is_refused_with_what_to_restore(first_start, tmp_path):
    # given a database written with k1 / BIDX / a1
    with keys(pii_keys={"k1": K1}):
        key_check_ensure()
        person_with_phone()
        with transaction.atomic():
            audit_record(actor=SystemActor("test"), action="test.act", target_type="test")
    # when linli starts with fresh keys under the same ids (a lost secrets.json regenerated)
    with keys(pii_keys={"k1": OTHER}, bidx=OTHER, audit={"a1": OTHER}), \
            pytest.raises(KeysRefusedError) as refused:
        key_check_ensure()
    # then it says which keys are wrong, where they came from and what to restore where
    message = str(refused.value)
    assert message.startswith("linli refuses to start: the configured keys cannot read this database.")
    assert refused.value.problems == [
        "LINLI_PII_KEYS: key k1 is not the key that encrypted this database's personal data",
        ("LINLI_BLIND_INDEX_KEY: the configured key is not the key that built this database's search "
        "indexes of ID numbers and phones"),
        "LINLI_AUDIT_KEYS: key a1 is not the key that signed this database's audit chain",
    ]
    assert f"  LINLI_PII_KEYS: {tmp_path / 'secrets.json'}" in message
    assert f"the secrets.json from your key backup to {tmp_path / 'secrets.json'}" in message
    # and nothing was recorded for the wrong keys
    assert KeyCheck.objects.count() == 3


def test_keys_under_other_ids_are_refused_too(first_start):
    # given
    with keys(pii_keys={"k1": K1}):
        key_check_ensure()
    # when
    with keys(pii_keys={"k7": OTHER}), pytest.raises(KeysRefusedError) as refused:
        key_check_ensure()
    # then
    assert refused.value.problems == [
        ("LINLI_PII_KEYS: none of the configured keys (k7) encrypted this database's personal data; "
        "it was written with key(s) k1"),
    ]
    assert not KeyCheck.objects.filter(key_id="k7").exists()


def test_a_database_of_an_earlier_linli_is_checked_against_its_data(first_start, monkeypatch):
    # given personal data written before key checks existed
    monkeypatch.setattr(apps.get_model("registry", "Person"), "PII_FIELDS", PERSON_PII, raising=False)
    with keys(pii_keys={"k1": K1}):
        person_with_phone()
    # when the next start has other keys, it cannot decrypt a sample: refused
    with keys(pii_keys={"k1": OTHER}), pytest.raises(KeysRefusedError) as refused:
        key_check_ensure()
    assert "cannot decrypt registry.Person.phone_enc (sealed with key k1)" in refused.value.problems[0]
    # and a wrong blind-index key alone is caught by the index beside the value
    with keys(pii_keys={"k1": K1}, bidx=OTHER), pytest.raises(KeysRefusedError) as refused:
        key_check_ensure()
    assert refused.value.problems == [
        ("LINLI_BLIND_INDEX_KEY: registry.Person.phone_bidx does not match: not the key that built this "
        "database's search indexes of ID numbers and phones"),
    ]
    # when the right keys come, they are recorded
    with keys(pii_keys={"k1": K1}):
        assert sorted(key_check_ensure()) == ["audit:a1", "blind_index", "pii:k1"]


def declare_every_encrypted_column(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fusion's provenance binds each value to the field its row names, which ``PII_FIELDS``
    cannot say, so the rotation skips it (and retires no key while it does); its table is
    empty here, so a declaration lets the rotation finish."""
    monkeypatch.setattr(apps.get_model("registry", "Person"), "PII_FIELDS", PERSON_PII, raising=False)
    monkeypatch.setattr(apps.get_model("fusion", "FieldProvenance"), "PII_FIELDS",
                        {"value_enc": "provenance.value"}, raising=False)


def test_rotation_keeps_the_check_valid_and_guards_the_old_key_until_it_finished(first_start, monkeypatch):
    # given data under k1
    declare_every_encrypted_column(monkeypatch)
    with keys(pii_keys={"k1": K1}):
        key_check_ensure()
        person = person_with_phone()
    # when k2 is put first: the start records it
    with keys(pii_keys={"k2": K2, "k1": K1}):
        assert key_check_ensure() == ["pii:k2"]
    # then dropping k1 before the rotation ran is refused: data still needs it
    with keys(pii_keys={"k2": K2}), pytest.raises(KeysRefusedError) as refused:
        key_check_ensure()
    assert refused.value.problems == [
        ("LINLI_PII_KEYS: key k1 still encrypts personal data but is not configured: keep it (after the "
        "current key) until `linli manage linli_pii_rotate` has finished"),
    ]
    # when the rotation runs to the end
    with keys(pii_keys={"k2": K2, "k1": K1}):
        report = pii_keys_rotate(actor=SystemActor("test"))
    assert report.retired == ["k1"]
    # then k2 alone starts, and reads the data
    with keys(pii_keys={"k2": K2}):
        assert key_check_ensure() == []
        person.refresh_from_db()
        assert pii.decrypt(person.phone_enc, field="person.phone") == "13812345678"


def test_a_rotation_that_skipped_a_model_retires_no_key(first_start, monkeypatch):
    # given a model whose encrypted column the rotation cannot reach
    monkeypatch.setattr(apps.get_model("registry", "Person"), "PII_FIELDS", PERSON_PII, raising=False)
    with keys(pii_keys={"k1": K1}):
        key_check_ensure()
    # when
    with keys(pii_keys={"k2": K2, "k1": K1}):
        key_check_ensure()
        report = pii_keys_rotate(actor=SystemActor("test"))
    # then k1 stays needed
    assert "fusion.FieldProvenance" in report.skipped_models
    assert report.retired == []
    with keys(pii_keys={"k2": K2}), pytest.raises(KeysRefusedError):
        key_check_ensure()


def test_the_generated_file_is_moved_aside_when_the_database_refuses_it(first_start, tmp_path):
    # given a database with checks, and a start that generated its whole secrets file
    with keys(pii_keys={"k1": K1}):
        key_check_ensure()
    generated = tmp_path / "secrets.json"
    generated.write_text('{"LINLI_PII_KEYS": "k1:x"}')
    found = dataclasses.replace(settings.LINLI_SECRETS, path=generated, generated=frozenset({"LINLI_PII_KEYS"}))
    # when
    with keys(pii_keys={"k1": OTHER}), override_settings(LINLI_SECRETS=found), \
            pytest.raises(KeysRefusedError) as refused:
        key_check_ensure()
    # then the fresh keys are out of the way, and the message says so
    assert not generated.exists()
    assert len(list(tmp_path.glob("secrets.json.rejected-*"))) == 1
    assert "This start generated LINLI_PII_KEYS because they were missing" in str(refused.value)


@pytest.mark.parametrize(("rows", "configured", "problems", "new"), [
    ({"k1": (True, False)}, ["k1"], 0, []),                       # the same key
    ({"k1": (False, False)}, ["k1"], 1, []),                      # same id, other key
    ({"k1": (True, False)}, ["k2", "k1"], 0, ["k2"]),             # a new key for rotation
    ({"k1": (True, False), "k2": (False, False)}, ["k2", "k1"], 1, []),  # one of two wrong
    ({"k1": (False, True), "k2": (True, False)}, ["k2"], 0, []),  # k1 retired by a rotation
    ({"k1": (False, False), "k2": (True, False)}, ["k2"], 1, []),  # k1 still seals data
    ({"k1": (True, False)}, ["k9"], 1, ["k9"]),                   # a stranger only
], ids=["same", "wrong", "rotation", "one-wrong", "retired", "still-needed", "stranger"])
def test_judge_per_kind(rows, configured, problems, new):
    # rows: the stored checks, key id -> (opens with the configured key of that id, retired)
    found, to_record = judge(KeyCheckKind.PII, rows=rows, configured=configured)
    assert len(found) == problems, found
    assert to_record == new
