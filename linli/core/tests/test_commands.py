"""The operator commands of core: ``linli_audit`` and ``linli_pii_rotate``."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import override_settings

from linli.core import pii
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry
from linli.core.services import audit_record, encrypted_columns, pii_keys_rotate
from linli.core.tests.guards import guards_lifted

OLD = {"k1": b"\x01" * 32}
NEW = {"k2": b"\x02" * 32, "k1": b"\x01" * 32}
# The registry's declaration (core may not import registry, so the test names it by label).
PERSON_PII = {"id_number_enc": "person.id_number", "phone_enc": "person.phone"}


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def append(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit_record(actor=SystemActor("test"), action="test.act", target_type="test",
                         target_id=i, reason=f"第{i}次")


@pytest.mark.django_db
def test_audit_verify_reports_an_intact_chain():
    append(4)
    assert run("linli_audit", "verify").strip() == "audit chain OK: 4 entries"


@pytest.mark.django_db
def test_audit_verify_fails_and_lists_problems_on_a_changed_row():
    # given
    append(4)
    with guards_lifted(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET action = 'forged' WHERE seq = 2")
    err = StringIO()
    # when / then
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("linli_audit", "verify", stdout=StringIO(), stderr=err)
    assert "entry 2: content changed" in err.getvalue()


@pytest.mark.django_db
def test_audit_tail_prints_the_newest_entries():
    append(30)
    lines = run("linli_audit", "tail", "-n", "5").splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("#26 ")
    assert lines[-1].startswith("#30 ")
    assert "test.act test:29" in lines[-1]


def _person_model(monkeypatch: pytest.MonkeyPatch) -> Any:
    person = apps.get_model("registry", "Person")
    # Until the registry declares it, declare it here with the same names.
    monkeypatch.setattr(person, "PII_FIELDS", getattr(person, "PII_FIELDS", PERSON_PII),
                        raising=False)
    return person


def _person(model, *, id_number: str, phone: str):
    return model.objects.create(
        name="王小明", name_pinyin="wangxiaoming", name_initials="wxm",
        id_number_enc=pii.encrypt(id_number, field="person.id_number"),
        phone_enc=pii.encrypt(phone, field="person.phone") if phone else "",
    )


@pytest.mark.django_db
def test_rotation_reencrypts_old_tokens_in_batches_and_audits_once(monkeypatch):
    # given three persons written under k1 (one without a phone)
    person = _person_model(monkeypatch)
    with override_settings(LINLI_PII_KEYS=OLD, LINLI_PII_CURRENT_KEY="k1"):
        rows = [_person(person, id_number=f"33010219900101{i:04d}", phone=p)
                for i, p in enumerate(["13812345678", "", "13912345678"])]
    audits_before = AuditEntry.objects.count()
    # when k2 becomes current and the command runs with batches of 2
    with override_settings(LINLI_PII_KEYS=NEW, LINLI_PII_CURRENT_KEY="k2"):
        out = run("linli_pii_rotate", "--batch-size", "2")
        # then every token is on k2 and still holds the same value
        for before in rows:
            after = person.objects.get(pk=before.pk)
            assert pii.key_id_of(after.id_number_enc) == "k2"
            assert pii.decrypt(after.id_number_enc, field="person.id_number") == pii.decrypt(
                before.id_number_enc, field="person.id_number")
            assert after.phone_enc == "" or pii.key_id_of(after.phone_enc) == "k2"
        assert "registry.Person.id_number_enc: 3 re-encrypted" in out
        assert "registry.Person.phone_enc: 2 re-encrypted" in out
        entry = AuditEntry.objects.order_by("-seq")[0]
        assert AuditEntry.objects.count() == audits_before + 1
        assert entry.action == "pii.rotate"
        assert "13812345678" not in entry.reason
        # and a second run has nothing to do and writes no audit entry
        assert "done: 0 value(s)" in run("linli_pii_rotate")
        assert AuditEntry.objects.count() == audits_before + 1


@pytest.mark.django_db
def test_rotation_refuses_a_token_that_fails_authentication(monkeypatch):
    # given a phone ciphertext pasted into the ID-number column
    person = _person_model(monkeypatch)
    with override_settings(LINLI_PII_KEYS=OLD, LINLI_PII_CURRENT_KEY="k1"):
        bad = _person(person, id_number="330102199001011234", phone="")
        person.objects.filter(pk=bad.pk).update(
            id_number_enc=pii.encrypt("13812345678", field="person.phone"))
    # when / then
    with override_settings(LINLI_PII_KEYS=NEW, LINLI_PII_CURRENT_KEY="k2"), \
            pytest.raises(CommandError, match="rotation stopped"):
        run("linli_pii_rotate")


@pytest.mark.django_db
def test_models_with_encrypted_columns_but_no_declaration_are_skipped(monkeypatch):
    # given
    person = _person_model(monkeypatch)
    monkeypatch.delattr(person, "PII_FIELDS")
    # when
    found, undeclared = encrypted_columns()
    report = pii_keys_rotate(actor=SystemActor("test"))
    # then
    assert person not in found
    assert "registry.Person" in undeclared
    assert "registry.Person" in report.skipped_models
