"""Registry write guards: a user writes only inside their grids and with EDIT_REGISTRY; the
database keeps one person per ID number even when the services' early check is raced."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from linli.core.errors import ErrorCode, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry
from linli.registry import services
from linli.registry.choices import HukouStatus, OrganisationKind, RoomUse, TagKind
from linli.registry.models import (
    Building,
    Facility,
    Household,
    Organisation,
    Person,
    PersonTag,
    Room,
    Unit,
)
from linli.registry.tests.conftest import ACTOR, id_number

pytestmark = pytest.mark.django_db

NEW_ID = id_number("33010219800101005")


def _snapshot(registry: Any) -> tuple[Any, ...]:
    """Everything a refused write could have touched."""
    counts = tuple(model.objects.count() for model in (
        Building, Unit, Room, Household, Person, PersonTag, Organisation, Facility, AuditEntry))
    wang = Person.objects.get(pk=registry.wang.pk)
    return (
        counts,
        (wang.name, wang.phone_bidx, wang.room_id, wang.household_id, wang.is_deceased),
        Room.objects.get(pk=registry.room_a101.pk).use,
        tuple(PersonTag.objects.order_by("pk").values_list("valid_to", flat=True)),
    )


# Each write aimed at grid a1 (community a); the callers below belong to community b.
WRITES: dict[str, Callable[[Any, Any, Any], object]] = {
    "building_create": lambda actor, tree, reg: services.building_create(
        actor=actor, grid=tree.grid_a1, name="9幢", address="望江路100号江景苑9幢", lon=120.205, lat=30.205),
    "unit_create": lambda actor, tree, reg: services.unit_create(
        actor=actor, building=reg.building_a, number=9),
    "room_create": lambda actor, tree, reg: services.room_create(
        actor=actor, unit=reg.room_a101.unit, floor=3, number="301"),
    "room_set_use": lambda actor, tree, reg: services.room_set_use(
        actor=actor, room=reg.room_a101, use=RoomUse.RENTED),
    "household_create": lambda actor, tree, reg: services.household_create(
        actor=actor, number="H-A102", room=reg.room_a102),
    "person_create": lambda actor, tree, reg: services.person_create(
        actor=actor, name="赵六", id_number=NEW_ID, phone=None, hukou=HukouStatus.LOCAL, room=reg.room_a102),
    "person_update": lambda actor, tree, reg: services.person_update(
        actor=actor, person=reg.wang, name="王大明", phone="13900002222"),
    "person_move": lambda actor, tree, reg: services.person_move(
        actor=actor, person=reg.wang, room=reg.room_b101),
    "person_mark_deceased": lambda actor, tree, reg: services.person_mark_deceased(
        actor=actor, person=reg.wang, deceased_on=date(2024, 1, 1)),
    "person_tag_add": lambda actor, tree, reg: services.person_tag_add(
        actor=actor, person=reg.wang, kind=TagKind.LIVING_ALONE_ELDER, source="民政", valid_from=date(2024, 1, 1)),
    "person_tag_end": lambda actor, tree, reg: services.person_tag_end(
        actor=actor, tag=reg.li.tags.get(kind=TagKind.DISABLED), valid_to=date(2024, 1, 1)),
    "organisation_create": lambda actor, tree, reg: services.organisation_create(
        actor=actor, kind=OrganisationKind.ENTERPRISE, name="某公司", grid=tree.grid_a1),
    "facility_create": lambda actor, tree, reg: services.facility_create(
        actor=actor, kind="hydrant", code="XF-9", name="消防栓", lon=120.205, lat=30.205, grid=tree.grid_a1),
}


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("who", ["grid_worker_b1", "community_b"])
def test_user_of_another_area_is_refused_and_nothing_is_written(registry, tree, users, write, who):
    # given a user whose grids do not include grid a1
    before = _snapshot(registry)
    # when
    with pytest.raises(NotFound) as caught:
        WRITES[write](getattr(users, who), tree, registry)
    # then the refusal says what is out of reach, and nothing changed
    assert caught.value.code == ErrorCode.NOT_FOUND
    assert "不在您的管辖范围内" in caught.value.message
    assert _snapshot(registry) == before


@pytest.mark.parametrize("write", sorted(set(WRITES) - {"person_move"}))
def test_user_of_the_area_may_write_and_is_audited_as_themselves(registry, tree, users, write):
    # when community a's staff write inside their community
    WRITES[write](users.community_a, tree, registry)
    # then the write happened under their name
    assert AuditEntry.objects.order_by("-pk")[0].actor_label == users.community_a.username


def test_grid_worker_cannot_pull_a_person_of_another_grid_into_their_own(registry, users):
    # given 王小明 lives in grid a1; the worker of grid b1 owns room b101
    before = _snapshot(registry)
    # when
    with pytest.raises(NotFound) as caught:
        services.person_move(actor=users.grid_worker_b1, person=registry.wang, room=registry.room_b101)
    # then
    assert "人员" in caught.value.message
    assert _snapshot(registry) == before


def test_person_cannot_be_attached_to_a_household_of_another_grid(registry, users):
    # given a household in grid b1
    other = services.household_create(actor=ACTOR, number="H-B101", room=registry.room_b101)
    before = _snapshot(registry)
    # when the worker of grid a1 puts 王小明 into it
    with pytest.raises(NotFound) as caught:
        services.person_update(actor=users.grid_worker_a1, person=registry.wang, household=other)
    # then
    assert "户" in caught.value.message
    assert _snapshot(registry) == before


def test_user_without_edit_permission_is_denied_even_inside_their_scope(registry, tree, users):
    # given the auditor, assigned to the whole district but without EDIT_REGISTRY
    before = _snapshot(registry)
    # when / then
    with pytest.raises(PermissionDenied):
        WRITES["person_create"](users.auditor, tree, registry)
    assert _snapshot(registry) == before


def test_user_must_place_a_new_person_somewhere(registry, users):
    with pytest.raises(ValidationFailed) as caught:
        services.person_create(actor=users.district_admin, name="赵六", id_number=NEW_ID, phone=None,
                               hukou=HukouStatus.LOCAL)
    assert caught.value.field == "grid"
    assert not Person.objects.filter(name="赵六").exists()


def test_a_non_grid_area_in_scope_is_refused_as_not_a_grid(tree, users):
    # given community a is in its staff's scope, but buildings belong to grids
    with pytest.raises(ValidationFailed) as caught:
        services.building_create(actor=users.community_a, grid=tree.community_a, name="1幢",
                                 address="某路1号", lon=120.2, lat=30.2)
    assert caught.value.field == "grid"


# --- one person per ID number -----------------------------------------------------------------


def test_database_refuses_a_second_person_with_the_same_id_number(registry):
    # given 王小明's blind index, written straight to the table as a bulk path would
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(name="冒名", name_pinyin="maoming", name_initials="mm",
                              id_number_bidx=registry.wang.id_number_bidx)


def test_persons_without_an_id_number_are_not_compared(registry):
    # when two persons without an ID number are registered
    for name in ("无证甲", "无证乙"):
        services.person_create(actor=ACTOR, name=name, id_number=None, phone=None,
                               hukou=HukouStatus.LOCAL, room=registry.room_a102)
    # then both are kept (everyone else in the fixture has an ID number)
    assert Person.objects.filter(id_number_bidx="").count() == 2


def test_a_raced_duplicate_on_create_is_refused_naming_the_field(registry, monkeypatch):
    # given the early check misses the clash, as when two requests run at once
    monkeypatch.setattr("linli.registry.services.persons._id_number_taken", lambda bidx, *, exclude_pk: False)
    before = _snapshot(registry)
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.person_create(actor=ACTOR, name="冒名", id_number="11010519491231002X", phone=None,
                               hukou=HukouStatus.LOCAL, room=registry.room_a102)
    # then the database's refusal reads like the early check's, and nothing is written
    assert (caught.value.field, caught.value.code) == ("id_number", ErrorCode.CONFLICT)
    assert _snapshot(registry) == before


def test_a_raced_duplicate_on_update_is_refused_naming_the_field(registry, monkeypatch):
    # given
    monkeypatch.setattr("linli.registry.services.persons._id_number_taken", lambda bidx, *, exclude_pk: False)
    fang_before = Person.objects.get(pk=registry.fang.pk).id_number_bidx
    # when 王芳 is given 王小明's ID number
    with pytest.raises(ValidationFailed) as caught:
        services.person_update(actor=ACTOR, person=registry.fang, id_number="11010519491231002X",
                               sex="F", birth_date=date(1949, 12, 31))
    # then
    assert (caught.value.field, caught.value.code) == ("id_number", ErrorCode.CONFLICT)
    assert Person.objects.get(pk=registry.fang.pk).id_number_bidx == fang_before
