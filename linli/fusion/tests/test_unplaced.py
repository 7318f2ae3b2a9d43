"""Imported persons whose address finds no room (issue 16 item 3): they belong to the
import's area, count among its residents, wait in the 待落位 list of its clerks, and a clerk
places them into a room; another street sees nothing of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import Users
from linli.core.errors import NotFound, ValidationFailed
from linli.core.models import AuditEntry
from linli.fusion.models import Source
from linli.fusion.services import import_run
from linli.fusion.tests.test_services import (
    ID_WANG,
    MINZHENG_HEADER,
    SYSTEM,
    Street,
    make_id,
    street,  # noqa: F401 -- fixture
    write_csv,
)
from linli.fusion.tests.web_support import other_street_staff
from linli.registry import selectors
from linli.registry.models import Person
from linli.registry.services import person_place

ID_NOWHERE = make_id("33010219700707005")


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.LINLI_REGISTRY_COUNTS_SECONDS = 0


@pytest.fixture
def imported(street: Street, tmp_path: Path) -> Person:  # noqa: F811
    rows = [
        ["王芳", ID_WANG, "男", "1980-01-01", "13812345678", "江城花园3幢1单元101室", "", "", "", ""],
        ["赵无处", ID_NOWHERE, "男", "1970-07-07", "13700002222", "不存在小区99幢9单元909室", "", "", "", ""],
    ]
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    return Person.objects.get(name="赵无处")


def test_an_unresolved_address_leaves_the_person_in_the_imports_area(imported: Person, street: Street) -> None:  # noqa: F811
    assert imported.grid_id is None
    assert imported.area_id == street.tree.street.pk


def test_the_street_counts_them_and_every_clerk_of_the_street_sees_them(imported: Person, users: Users) -> None:
    before = Person.objects.filter(grid__isnull=False, is_deceased=False).count()
    assert selectors.registry_counts_for_user(user=users.street)["persons"] == before + 1
    assert selectors.registry_counts_for_user(user=users.street)["unplaced"] == 1
    for user in (users.street, users.community_a, users.community_b):
        assert list(selectors.person_unplaced_list_for_user(user=user)) == [imported]
    assert selectors.person_get_for_user(user=users.community_a, person_id=imported.pk) == imported


def test_another_street_sees_nothing(imported: Person, street: Street) -> None:  # noqa: F811
    stranger = other_street_staff(street.tree.district)
    assert list(selectors.person_unplaced_list_for_user(user=stranger)) == []
    assert selectors.registry_counts_for_user(user=stranger)["unplaced"] == 0
    with pytest.raises(NotFound):
        selectors.person_get_for_user(user=stranger, person_id=imported.pk)
    client = Client()
    client.force_login(stranger)
    assert client.get(reverse("web:person", args=[imported.pk])).status_code == 404
    response = client.post(reverse("web:person-place", args=[imported.pk]), {"address": "江城花园3幢1单元502"})
    assert response.status_code == 404


def test_a_clerk_places_the_person_into_a_room(imported: Person, users: Users, street: Street) -> None:  # noqa: F811
    client = Client()
    client.force_login(users.community_a)
    listing = client.get(reverse("web:unplaced"))
    assert listing.status_code == 200
    assert "赵无处" in listing.content.decode()
    bad = client.post(reverse("web:person-place", args=[imported.pk]), {"address": "江城花园3幢1单元909"})
    assert bad.status_code == 400
    assert "没有找到这个房屋" in bad.content.decode()
    done = client.post(reverse("web:person-place", args=[imported.pk]), {"address": "江城花园3幢1单元502"})
    assert done.status_code == 302
    imported.refresh_from_db()
    assert (imported.room_id, imported.grid_id, imported.area_id) == (
        street.room_a1_other.pk, street.tree.grid_a1.pk, None)
    assert AuditEntry.objects.filter(action="person.place", target_id=str(imported.pk)).count() == 1
    assert list(selectors.person_unplaced_list_for_user(user=users.community_a)) == []
    with pytest.raises(ValidationFailed):
        person_place(actor=users.community_a, person=imported, room=street.room_a1)


def test_a_clerk_cannot_place_into_another_communitys_room(imported: Person, users: Users, street: Street) -> None:  # noqa: F811
    with pytest.raises(NotFound):
        person_place(actor=users.community_a, person=imported, room=street.room_b1)


def test_the_home_page_links_the_unplaced_count(imported: Person, users: Users) -> None:
    client = Client()
    client.force_login(users.community_a)
    body = client.get(reverse("web:home")).content.decode()
    assert f'href="{reverse("web:unplaced")}"' in body
