"""Registry writes: validation, encryption, denormalised scope columns, audit, reveal."""

from __future__ import annotations

from datetime import date

import pytest

from linli.core import pii
from linli.core.errors import ErrorCode, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry
from linli.registry import services
from linli.registry.choices import HukouStatus, OrganisationKind, TagKind
from linli.registry.models import Facility, Organisation, Person
from linli.registry.selectors import person_history
from linli.registry.tests.conftest import ACTOR
from linli.registry.text import PII_ID_NUMBER

pytestmark = pytest.mark.django_db


def test_person_is_stored_encrypted_indexed_masked_with_derived_birth_and_sex(registry):
    # given
    wang = Person.objects.get(pk=registry.wang.pk)
    # then
    assert "11010519491231002X" not in wang.id_number_enc
    assert pii.decrypt(wang.id_number_enc, field=PII_ID_NUMBER) == "11010519491231002X"
    assert wang.id_number_bidx == pii.blind_index("11010519491231002X", field=PII_ID_NUMBER)
    assert wang.id_number_masked == "1101**********002X"
    assert wang.phone_masked == "138****5678"
    assert (wang.birth_date, wang.sex) == (date(1949, 12, 31), "F")
    assert (wang.name_pinyin, wang.name_initials) == ("wangxiaoming", "wxm")
    assert (wang.grid_id, wang.building_id) == (registry.building_a.grid_id, registry.building_a.pk)


def test_household_head_is_set_from_the_head_relation(registry):
    assert registry.household_a101.head_id == registry.wang.pk


def test_legacy_id_number_is_stored_upgraded(registry):
    # when
    person = services.person_create(actor=ACTOR, name="赵一", id_number="110105491231011",
                                    phone=None, hukou=HukouStatus.LOCAL, room=registry.room_a102)
    # then
    assert pii.decrypt(person.id_number_enc, field=PII_ID_NUMBER) == "110105194912310118"


def test_duplicate_id_number_is_a_conflict_and_writes_nothing(registry):
    # given
    before = (Person.objects.count(), AuditEntry.objects.count())
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.person_create(actor=ACTOR, name="冒名", id_number="11010519491231002x",
                               phone=None, hukou=HukouStatus.LOCAL, room=registry.room_a102)
    # then
    assert (caught.value.field, caught.value.code) == ("id_number", ErrorCode.CONFLICT)
    assert (Person.objects.count(), AuditEntry.objects.count()) == before


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"birth_date": date(1950, 1, 1)}, "birth_date"),
    ({"sex": "F"}, "sex"),
    ({"id_number": "110105194912310110"}, "id_number"),
    ({"phone": "12345"}, "phone"),
    ({"name": "  "}, "name"),
])
def test_contradicting_or_malformed_input_is_refused_naming_the_field(registry, kwargs, field):
    # given a man born 1949-12-31 (sequence 011) unless a case overrides something
    values = {"name": "钱二", "id_number": "110105194912310118", "phone": None} | kwargs
    # when / then
    with pytest.raises(ValidationFailed) as caught:
        services.person_create(actor=ACTOR, hukou=HukouStatus.LOCAL, room=registry.room_a102,
                               **values)
    assert caught.value.field == field


def test_person_move_keeps_grid_and_building_in_step(registry):
    # when
    moved = services.person_move(actor=ACTOR, person=registry.wang, room=registry.room_b101)
    # then
    moved.refresh_from_db()
    assert (moved.grid_id, moved.building_id) == (registry.building_b.grid_id, registry.building_b.pk)


def test_person_update_rechecks_birth_date_against_stored_id(registry):
    with pytest.raises(ValidationFailed) as caught:
        services.person_update(actor=ACTOR, person=registry.wang, birth_date=date(1960, 1, 1))
    assert caught.value.field == "birth_date"


def test_person_update_changes_phone_and_audits_field_names_only(registry):
    # when
    services.person_update(actor=ACTOR, person=registry.wang, phone="13900002222")
    # then
    entry = AuditEntry.objects.filter(action="person.update").get()
    assert entry.fields == ["phone"]
    assert Person.objects.get(pk=registry.wang.pk).phone_masked == "139****2222"


def test_deceased_date_cannot_precede_birth(registry):
    with pytest.raises(ValidationFailed) as caught:
        services.person_mark_deceased(actor=ACTOR, person=registry.wang, deceased_on=date(1940, 1, 1))
    assert caught.value.field == "deceased_on"


def test_reveal_by_community_staff_returns_value_and_audits_reason(registry, users):
    # when
    value = services.person_reveal(actor=users.community_a, person=registry.wang, field="id_number",
                                   reason="核实低保申请材料")
    # then
    assert value == "11010519491231002X"
    entry = AuditEntry.objects.get(action="person.reveal")
    assert (entry.fields, entry.reason, entry.actor_id) == (["id_number"], "核实低保申请材料",
                                                            users.community_a.pk)


def test_reveal_without_permission_is_denied_and_not_audited(registry, users):
    with pytest.raises(PermissionDenied):
        services.person_reveal(actor=users.grid_worker_a1, person=registry.wang, field="phone",
                               reason="上门走访核实")
    assert not AuditEntry.objects.filter(action="person.reveal").exists()


def test_reveal_outside_scope_is_not_found(registry, users):
    with pytest.raises(NotFound):
        services.person_reveal(actor=users.community_b, person=registry.wang, field="phone",
                               reason="上门走访核实")


def test_reveal_needs_a_reason_of_four_characters(registry, users):
    with pytest.raises(ValidationFailed) as caught:
        services.person_reveal(actor=users.community_a, person=registry.wang, field="phone",
                               reason=" 看看 ")
    assert caught.value.field == "reason"


def test_opening_a_person_with_sensitive_tags_is_logged_and_others_are_not(registry, users):
    # when
    logged_li = services.person_access_record(actor=users.grid_worker_a1, person=registry.li)
    logged_wang = services.person_access_record(actor=users.grid_worker_a1, person=registry.wang)
    # then
    assert (logged_li, logged_wang) == (True, False)
    assert person_history(person=registry.li)[0].action == "person.view_sensitive"


def test_ended_tag_is_no_longer_sensitive(registry, users):
    # given
    for tag in registry.li.tags.all():
        services.person_tag_end(actor=ACTOR, tag=tag, valid_to=date(2021, 1, 1))
    # then
    assert not services.person_access_record(actor=users.grid_worker_a1, person=registry.li)


def test_tag_end_before_start_is_refused(registry):
    tag = registry.li.tags.get(kind=TagKind.DISABLED)
    with pytest.raises(ValidationFailed):
        services.person_tag_end(actor=ACTOR, tag=tag, valid_to=date(2019, 1, 1))


def test_organisation_credit_code_is_validated_and_normalised(tree):
    org = services.organisation_create(actor=ACTOR, kind=OrganisationKind.ENTERPRISE, name="某公司",
                                       grid=tree.grid_a1, credit_code="91110000600037341l")
    assert Organisation.objects.get(pk=org.pk).credit_code == "91110000600037341L"
    with pytest.raises(ValidationFailed) as caught:
        services.organisation_create(actor=ACTOR, kind=OrganisationKind.ENTERPRISE, name="另一公司",
                                     grid=tree.grid_a1, credit_code="91110000600037341M")
    assert caught.value.field == "credit_code"


@pytest.mark.parametrize(("lon", "lat", "field"), [
    (float("nan"), 30.2, "lon"), (120.2, float("inf"), "lat"), (100.0, 60.0, "lat"),
    (0.0, 0.0, "lon"), (200.0, 30.0, "lon"),
])
def test_facility_with_bad_coordinates_is_refused_naming_lon_or_lat(tree, lon, lat, field):
    with pytest.raises(ValidationFailed) as caught:
        services.facility_create(actor=ACTOR, kind="hydrant", code="XF-1", name="消防栓",
                                 lon=lon, lat=lat, grid=tree.grid_a1)
    assert caught.value.field == field
    assert not Facility.objects.exists()


def test_building_needs_a_grid_not_a_community(tree):
    with pytest.raises(ValidationFailed) as caught:
        services.building_create(actor=ACTOR, grid=tree.community_a, name="1幢", address="某路1号",
                                 lon=120.2, lat=30.2)
    assert caught.value.field == "grid"


def test_facility_without_grid_is_placed_in_the_grid_containing_it(tree):
    # when: (120.205, 30.215) lies inside grid b1's square
    facility = services.facility_create(actor=ACTOR, kind="aed", code="AED-9", name="AED",
                                        lon=120.205, lat=30.215)
    # then
    assert facility.grid_id == tree.grid_b1.pk


def test_facility_outside_every_grid_needs_an_explicit_grid(tree):
    with pytest.raises(ValidationFailed) as caught:
        services.facility_create(actor=ACTOR, kind="aed", code="AED-9", name="AED",
                                 lon=110.0, lat=35.0)
    assert caught.value.field == "grid"
