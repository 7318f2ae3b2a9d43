# ruff: noqa: F811 -- the street fixture is imported and used as a parameter
"""Issue 17, cause 5: an address that finds no room in the place registry is kept as
evidence (the ``address`` provenance of the person) and matched on by the next import, so a
list with only name, sex and address links to the person an earlier list created; two
people of that name at that address go to review, never one of them by guess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import Users
from linli.core.errors import NotFound
from linli.core.models import AuditEntry
from linli.fusion.models import FieldProvenance, MatchReview, Source
from linli.fusion.pipeline import registry_keys
from linli.fusion.selectors import place_proposals_for_user
from linli.fusion.services import import_run, place_proposal_accept, source_save
from linli.fusion.tests.test_services import (
    MINZHENG_HEADER,
    SYSTEM,
    Street,
    make_id,
    street,  # noqa: F401 -- fixture
    write_csv,
)
from linli.fusion.tests.web_support import other_street_staff
from linli.registry.models import Building, Person

ID_ZHAO = make_id("33010219700707005")
ID_QIAN = make_id("33010219720303006")
ID_QIAN2 = make_id("33010219880808007")

# A list with only name, sex and address (the kind of list cause 1 was about).
ADDRESS_ONLY = {
    "code": "anquan_xuncha",
    "department": "其他",
    "format": "csv",
    "columns": {"姓名": "name", "性别": "sex", "住址": "address"},
}


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def _first_list(street: Street, tmp_path: Path, rows: list[list[str]]) -> None:
    import_run(
        actor=SYSTEM,
        area=street.tree.street,
        source=Source.objects.get(code="minzheng"),
        dry_run=False,
        file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows),
    )


def _address_only(
    tmp_path: Path, rows: list[list[str]], street: Street, *, dry_run: bool = False
) -> Any:
    source = source_save(actor=SYSTEM, definition=ADDRESS_ONLY)
    return import_run(
        actor=SYSTEM,
        area=street.tree.street,
        source=source,
        dry_run=dry_run,
        file_path=write_csv(tmp_path / "xc.csv", ["姓名", "性别", "住址"], rows),
    )


def _row(name: str, id_number: str, sex: str, address: str) -> list[str]:
    return [name, id_number, sex, "", "", address, "", "", "", ""]


def test_an_unknown_address_is_kept_as_the_persons_evidence(street: Street, tmp_path: Path) -> None:
    # given an empty corner of the place registry / when a list states an address there
    _first_list(
        street, tmp_path, [_row("赵无处", ID_ZHAO, "男", "杭州市上城区清禾路12号3栋2单元502室")]
    )
    # then the person is unplaced and keeps the normalised address, matched on by the keys
    zhao = Person.objects.get(name="赵无处")
    assert zhao.room_id is None
    kept = FieldProvenance.objects.get(person=zhao, field="address")
    assert (kept.value, kept.won) == ("清禾路12号3幢2单元502室", True)
    keys = registry_keys().filter(person_id=zhao.pk).row(0, named=True)
    assert (keys["building_key"], keys["unit"], keys["room"]) == ("清禾路12号|3", "2", "502")


@pytest.mark.parametrize(
    "address", ["清禾路12-3-2-502", "清禾路12号3幢2单元502", "上城区清禾路１２号三栋二单元0502室"]
)
def test_name_sex_and_address_link_to_the_person_an_earlier_list_created(
    street: Street, tmp_path: Path, address: str
) -> None:
    # given a person created unplaced by an earlier list
    _first_list(street, tmp_path, [_row("赵无处", ID_ZHAO, "男", "清禾路12号3栋2单元502室")])
    persons = Person.objects.count()
    # when a list with only name, sex and address names them in another notation
    report = _address_only(tmp_path, [["赵无处", "男", address]], street)
    # then the row links to that person, nobody is created
    assert report.new_persons == 0
    assert sum(report.matched.values()) == 1
    assert Person.objects.count() == persons


def test_two_of_that_name_at_that_address_go_to_review(street: Street, tmp_path: Path) -> None:
    # given two unplaced persons of one name at one unknown address (father and son)
    _first_list(
        street,
        tmp_path,
        [
            _row("钱进", ID_QIAN, "男", "清禾苑5幢1单元301室"),
            _row("钱进", ID_QIAN2, "男", "清禾苑5幢1单元301室"),
        ],
    )
    persons = Person.objects.count()
    # when a name + sex + address row names one of them
    report = _address_only(tmp_path, [["钱进", "男", "清禾苑5-1-301"]], street)
    # then it is neither linked by guess nor created: a person decides
    assert report.review == 1
    assert report.new_persons == 0
    assert sum(report.matched.values()) == 0
    assert Person.objects.count() == persons
    assert MatchReview.objects.filter(record__source__code="anquan_xuncha").count() == 1


def test_another_person_at_the_address_is_not_taken_for_them(
    street: Street, tmp_path: Path
) -> None:
    # given an unplaced person / when another name at that address comes in
    _first_list(street, tmp_path, [_row("赵无处", ID_ZHAO, "男", "清禾路12号3栋2单元502室")])
    report = _address_only(tmp_path, [["孙丽", "女", "清禾路12-3-2-502"]], street)
    # then a new person, kept at that address too
    assert report.new_persons == 1
    sun = Person.objects.get(name="孙丽")
    assert (
        FieldProvenance.objects.get(person=sun, field="address").value == "清禾路12号3幢2单元502室"
    )


# --- proposals to the place registry ----------------------------------------------------------


@pytest.fixture
def waiting(street: Street, tmp_path: Path) -> list[Person]:
    _first_list(
        street,
        tmp_path,
        [
            _row("赵无处", ID_ZHAO, "男", "清禾路12号3栋2单元502室"),
            _row("钱进", ID_QIAN, "男", "清禾路12-3-2-601"),
            _row("孙北", ID_QIAN2, "男", "不知道哪里"),
        ],
    )
    return list(Person.objects.filter(name__in=["赵无处", "钱进"]).order_by("name"))


def test_the_unknown_building_is_proposed_with_its_rooms_and_persons(
    waiting: list[Person], users: Users
) -> None:
    # given two persons waiting at two rooms of one unknown building (and one unparseable address)
    # when the community clerk looks at the proposals
    proposals = place_proposals_for_user(user=users.community_a)
    # then one building, two rooms, each with its person
    assert [(p.key, p.label, p.building_id, p.persons) for p in proposals] == [
        ("清禾路12号|3", "清禾路12号3幢", None, 2)
    ]
    rooms = {(r.unit, r.room): set(r.person_ids) for r in proposals[0].rooms}
    by_name = {p.name: p.pk for p in waiting}
    assert rooms == {("2", "502"): {by_name["赵无处"]}, ("2", "601"): {by_name["钱进"]}}


def test_a_clerk_accepts_a_proposal_and_the_persons_are_placed(
    waiting: list[Person], users: Users, street: Street, tmp_path: Path
) -> None:
    # given the proposals page of the community clerk
    client = Client()
    client.force_login(users.community_a)
    page = client.get(reverse("fusion:places"))
    assert page.status_code == 200
    assert "清禾路12号3幢" in page.content.decode()
    # when they accept it into their grid (the grid's centre as position)
    done = client.post(
        reverse("fusion:places"), {"key": "清禾路12号|3", "grid": street.tree.grid_a1.pk}
    )
    # then building, unit and rooms exist, the persons are placed, each step audited
    assert done.status_code == 302
    building = Building.objects.get(compound="清禾路12号", name="3幢")
    assert (building.grid_id, building.floors) == (street.tree.grid_a1.pk, 6)
    for person in waiting:
        person.refresh_from_db()
        assert person.grid_id == street.tree.grid_a1.pk
        assert person.room is not None
        assert person.room.building_id == building.pk
    assert AuditEntry.objects.filter(action="person.place").count() == 2
    assert AuditEntry.objects.filter(action="room.create").count() == 2
    assert place_proposals_for_user(user=users.community_a) == []
    # and a later name + sex + address list links through the room
    report = _address_only(tmp_path, [["赵无处", "男", "清禾路12号3幢2单元502"]], street)
    assert (report.new_persons, sum(report.matched.values())) == (0, 1)


def test_another_street_sees_no_proposal_and_cannot_accept_it(
    waiting: list[Person], street: Street
) -> None:
    stranger = other_street_staff(street.tree.district)
    assert place_proposals_for_user(user=stranger) == []
    with pytest.raises(NotFound):
        place_proposal_accept(actor=stranger, key="清禾路12号|3", grid_id=street.tree.grid_a1.pk)
    assert not Building.objects.filter(compound="清禾路12号").exists()


def test_a_clerk_cannot_build_into_another_communitys_grid(
    waiting: list[Person], users: Users, street: Street
) -> None:
    client = Client()
    client.force_login(users.community_a)
    response = client.post(
        reverse("fusion:places"), {"key": "清禾路12号|3", "grid": street.tree.grid_b1.pk}
    )
    assert response.status_code in (400, 404)
    assert not Building.objects.filter(compound="清禾路12号").exists()
    assert all(p.grid_id is None for p in Person.objects.filter(pk__in=[w.pk for w in waiting]))
