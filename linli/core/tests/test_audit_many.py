import pytest
from django.db import transaction

from linli.core.actors import SystemActor
from linli.core.models import AuditEntry
from linli.core.selectors import audit_chain_verify
from linli.core.services import audit_record, audit_record_many

pytestmark = pytest.mark.django_db

ACTOR = SystemActor("job:test")


def test_batch_entries_continue_the_chain_and_verify():
    # given one entry written the ordinary way
    with transaction.atomic():
        audit_record(actor=ACTOR, action="x.single", target_type="t", target_id=1)
    # when a batch of three follows
    with transaction.atomic():
        written = audit_record_many(actor=ACTOR, action="x.batch", target_type="t",
                                    targets=[(2, ["name"]), (3, ["phone", "name"]), (4, [])])
    # then they are appended in order and the whole chain verifies
    assert written == 3
    assert list(AuditEntry.objects.order_by("seq").values_list("target_id", flat=True)) == ["1", "2", "3", "4"]
    assert AuditEntry.objects.get(target_id="3").fields == ["name", "phone"]
    report = audit_chain_verify()
    assert report.ok, report.problems
    assert report.checked == 4


def test_batch_refuses_values_in_place_of_field_names():
    with transaction.atomic(), pytest.raises(ValueError, match="field names"):
        audit_record_many(actor=ACTOR, action="x", target_type="t", targets=[(1, ["13812345678"])])


def test_batch_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        audit_record_many(actor=ACTOR, action="x", target_type="t", targets=[(1, ["name"])])
