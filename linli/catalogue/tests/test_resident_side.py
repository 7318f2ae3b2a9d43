"""What the residents' portal asks of the catalogue: a correction that leaves masked values
as shown, the clerk's request and the decision document, windows of a resident's areas, and
a resident booking for the person their account is bound to (and no other)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import Tree
from linli.catalogue.choices import ApplicationAction as A
from linli.catalogue.choices import ApplicationStatus as S
from linli.catalogue.selectors import (
    application_correction_request,
    application_decision_document,
    window_list_for_areas,
    window_slots,
)
from linli.catalogue.services import (
    application_correct,
    application_submit,
    application_transition,
    appointment_book,
    window_create,
)
from linli.catalogue.tests.conftest import (
    ELDER_RULE,
    SEED,
    CatalogueUsers,
    ItemFactory,
    PersonFactory,
    valid_data,
)
from linli.core import pii
from linli.core.calendar import is_working_day
from linli.core.errors import NotFound, PermissionDenied

pytestmark = pytest.mark.django_db
HOURS = {str(d): [["08:30", "11:30"]] for d in range(1, 6)}


def test_a_correction_keeps_the_masked_values_as_shown_and_the_request_is_readable(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree
) -> None:
    version = publish(level="community")
    data = valid_data()
    app, _created = application_submit(
        actor=cat_users.resident,
        version=version,
        applicant=None,
        data=data,
        channel="online",
        community=tree.community_a,
    )
    clerk = cat_users.base.community_a
    app = application_transition(application=app, action=A.START_PRE_REVIEW, actor=clerk)
    assert application_correction_request(application=app) is None
    app = application_transition(
        application=app,
        action=A.RETURN_FOR_CORRECTION,
        actor=clerk,
        missing=["申请事由"],
        note="请写明事由",
    )
    request = application_correction_request(application=app)
    assert request is not None
    assert (request.missing, request.note) == (["申请事由"], "请写明事由")
    # when the applicant answers with the ID number and phone as the form showed them (masked)
    shown = {
        **data,
        "id_number": app.data["id_number"],
        "phone": app.data["phone"],
        "reason": "生活困难",
    }
    app = application_correct(actor=cat_users.resident, application=app, data=shown)
    # then the values the application held are kept, not the masks
    assert app.status == S.RESUBMITTED
    assert (
        pii.decrypt(app.data["id_number_enc"], field="application.id_number") == data["id_number"]
    )
    assert pii.decrypt(app.data["phone_enc"], field="application.phone") == data["phone"]
    assert application_correction_request(application=app) is None


def test_the_decision_document_exists_once_decided(
    cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory, tree: Tree
) -> None:
    version = publish(kind="instant", rules=ELDER_RULE)
    person = make_person()
    app, _created = application_submit(
        actor=cat_users.base.community_a,
        version=version,
        applicant=person,
        data={
            "name": person.name,
            "id_number": person.id_number_masked,
            "phone": person.phone_masked,
        },
        community=tree.community_a,
    )
    document = application_decision_document(application=app)
    assert document.approved
    assert document.by_rule
    assert document.applicant_id_masked == person.id_number_masked
    assert "申请人须年满80周岁" in document.conditions
    pending, _created = application_submit(
        actor=cat_users.resident,
        version=publish(),
        applicant=None,
        data=valid_data(),
        channel="online",
        community=tree.community_a,
    )
    with pytest.raises(NotFound):
        application_decision_document(application=pending)


def test_windows_of_the_residents_areas_and_booking_for_the_bound_person_only(
    cat_users: CatalogueUsers, make_person: PersonFactory, tree: Tree
) -> None:
    near = window_create(
        actor=SEED, code="WA", name="近江窗口", community=tree.community_a, opening_hours=HOURS
    )
    window_create(
        actor=SEED, code="WB", name="婺江窗口", community=tree.community_b, opening_hours=HOURS
    )
    assert [
        w.code for w in window_list_for_areas(area_ids=[tree.street.pk, tree.community_a.pk])
    ] == ["WA"]
    day = timezone.localdate() + timedelta(days=2)
    while not is_working_day(day):
        day += timedelta(days=1)
    start = window_slots(window=near, day=day)[0].start
    me, neighbour = make_person(name="张三"), make_person(name="李四", phone="13911112222")
    # a resident naming another person than their own is refused, as before
    with pytest.raises(PermissionDenied):
        appointment_book(
            actor=cat_users.resident,
            window=near,
            slot_start=start,
            person=neighbour,
            name="李四",
            phone="13911112222",
            bound_person=me,
        )
    booking = appointment_book(
        actor=cat_users.resident,
        window=near,
        slot_start=start,
        person=me,
        name="张三",
        phone="13812345678",
        bound_person=me,
    )
    assert (booking.person_id, booking.booked_by_id) == (me.pk, cat_users.resident.pk)
