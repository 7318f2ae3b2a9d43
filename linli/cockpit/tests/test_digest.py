"""The emergency list's first screen reads the registry's per-building digests.

Each test reads the list once (which builds and stores the digests), then writes through
one of the registry's writers — its services, fusion's bulk paths, ``bulk_create``, raw
SQL — and reads again: the digest must have gone stale and the answer must be the full
roster's (which reads every row) and the expected figures.
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.accounts.models import User
from linli.cockpit import selectors
from linli.cockpit.tests.conftest import SHAPE, Emergency, household
from linli.core.actors import SystemActor
from linli.core.bulk import bulk_insert
from linli.fusion.persist import persons_bulk_update
from linli.registry import services
from linli.registry.choices import TagKind
from linli.registry.models import BuildingDigest, Household, Person, PersonTag, Room
from linli.registry.services.digests import (
    DIGEST_VERSION,
    building_digests_refresh,
    stale_digest_building_ids,
)
from linli.registry.tasks import building_digests_refresh_task

pytestmark = pytest.mark.django_db
ACTOR = SystemActor("test:digest")


def _screen(em: Emergency, on: date | None = None) -> selectors.RosterPage:
    page = selectors.area_roster_page_for_user(user=em.users.street, shape=SHAPE, limit=50, on=on)
    full = selectors.area_roster_for_user(user=em.users.street, shape=SHAPE, on=on)
    assert (page.households, page.residents, page.vulnerable) == (
        len(full.households), full.residents, len(full.vulnerable))
    assert [h.household_id for h in page.page[:page.vulnerable]] == [h.household_id for h in full.vulnerable]
    assert [[m.person_id for m in h.members] for h in page.page[:page.vulnerable]] == [
        [m.person_id for m in h.members] for h in full.vulnerable]
    assert sorted(h.household_id for h in page.page) == sorted(h.household_id for h in full.households)
    return page


def _figures(page: selectors.RosterPage) -> tuple[int, int, int]:
    return page.households, page.residents, page.vulnerable


def _vulnerable(page: selectors.RosterPage) -> list[int]:
    return [h.household_id for h in page.page[:page.vulnerable]]


def _built(em: Emergency) -> None:
    """The first read stores a current digest for every building of the area."""
    _screen(em)
    rows = BuildingDigest.objects.filter(building_id__in=[em.b12.pk, em.b14.pk, em.b8.pk])
    assert len(rows) == 3
    assert all(r.built_stamp == r.stamp and r.version == DIGEST_VERSION for r in rows)


def test_a_current_digest_is_read_not_rebuilt(em: Emergency) -> None:
    _built(em)
    with CaptureQueriesContext(connection) as queries:
        page = _screen(em)
    digest_reads = [q["sql"] for q in queries.captured_queries if "registry_buildingdigest" in q["sql"]]
    # then one read of the digests and no write to them
    assert len(digest_reads) == 1
    assert digest_reads[0].lstrip().upper().startswith("SELECT")
    assert _figures(page) == (5, 8, 3)
    b12 = BuildingDigest.objects.get(building_id=em.b12.pk)
    assert (b12.households, b12.residents, b12.vulnerable) == (3, 6, 2)
    assert b12.by_kind == {TagKind.LIVING_ALONE_ELDER: 1, "child": 1}
    # the rows hold masked phones only
    phones = [m[2] for row in b12.vulnerable_rows for m in row[7]]
    assert phones
    assert all("****" in p for p in phones)


def test_a_warm_first_screen_is_three_statements(em: Emergency) -> None:
    """Each statement is a round trip on PostgreSQL: the scope's stamp, the box's buildings
    with their digests, the grid workers with their names."""
    _built(em)
    selectors.area_roster_screen_for_user(user=em.users.street, shape=SHAPE, limit=50)  # scope cached
    with CaptureQueriesContext(connection) as queries:
        screen = selectors.area_roster_screen_for_user(user=em.users.street, shape=SHAPE, limit=3)
    assert len(queries.captured_queries) == 3, [q["sql"] for q in queries.captured_queries]
    assert screen.worker_names  # the area's grids have their workers, by name
    assert all(isinstance(name, str) and name for name in screen.worker_names.values())


def test_a_resident_moving_in_through_the_registry_services_counts(em: Emergency) -> None:
    _built(em)
    # given a pregnant woman created into the couple's flat, tagged by the service
    couple_room = Room.objects.get(households=em.couple)
    person = services.person_create(actor=ACTOR, name="何静", id_number=None, phone=None,
                                    birth_date=date(1995, 3, 3), hukou="local", room=couple_room,
                                    household=em.couple)
    services.person_tag_add(actor=ACTOR, person=person, kind=TagKind.PREGNANT, source="卫健",
                            valid_from=date(2026, 1, 1))
    page = _screen(em)
    # then the couple's flat is vulnerable (pregnant ranks after the living-alone elder)
    assert _figures(page) == (5, 9, 4)
    assert _vulnerable(page) == [em.disabled.pk, em.elder.pk, em.couple.pk, em.family.pk]
    assert page.page[2].members[0].person_id == person.pk


def test_moving_out_and_dying_through_the_services(em: Emergency) -> None:
    _built(em)
    elder = Person.objects.get(household=em.elder)
    disabled = Person.objects.get(household=em.disabled)
    # given the elder living alone moves out of the area and the disabled resident dies
    services.person_move(actor=ACTOR, person=elder, room=Room.objects.get(households=em.outside))
    elder.refresh_from_db()
    elder.household = em.outside
    elder.save(update_fields=["household"])
    services.person_mark_deceased(actor=ACTOR, person=disabled, deceased_on=timezone.localdate())
    page = _screen(em)
    # then only the family with a child is left vulnerable; both flats stay, empty
    assert _figures(page) == (5, 6, 1)
    assert _vulnerable(page) == [em.family.pk]
    assert elder.pk not in [m.person_id for h in page.page for m in h.members]


def test_a_tag_gained_then_ended_through_the_services(em: Emergency) -> None:
    _built(em)
    head = Person.objects.get(household=em.wujiang)
    tag = services.person_tag_add(actor=ACTOR, person=head, kind=TagKind.BEDRIDDEN, source="卫健",
                                  valid_from=date(2025, 1, 1))
    page = _screen(em)
    assert _figures(page) == (5, 8, 4)
    assert _vulnerable(page)[0] == em.wujiang.pk  # bedridden comes first
    assert page.page[0].members[0].kinds == [TagKind.BEDRIDDEN]
    services.person_tag_end(actor=ACTOR, tag=tag, valid_to=timezone.localdate() - timedelta(days=1))
    page = _screen(em)
    assert _figures(page) == (5, 8, 3)
    assert em.wujiang.pk not in _vulnerable(page)


def test_fusion_bulk_updates_and_raw_sql_are_seen(em: Emergency) -> None:
    _built(em)
    elder = Person.objects.get(household=em.elder)
    # given fusion's bulk path records the elder's death and renames the disabled resident
    disabled = Person.objects.get(household=em.disabled)
    persons_bulk_update([(elder.pk, {"is_deceased": True, "deceased_on": timezone.localdate()}),
                         (disabled.pk, {"name": "赵明明"})], now=timezone.now())
    page = _screen(em)
    assert _figures(page) == (5, 7, 2)
    assert page.page[0].members[0].name == "赵明明"
    # and a raw SQL insert of a tag (the import's own path) makes the couple vulnerable
    husband = Person.objects.filter(household=em.couple).order_by("id").first()
    assert husband is not None
    today = timezone.localdate().isoformat()
    bulk_insert(PersonTag, ("created_at", "updated_at", "person_id", "kind", "source", "valid_from", "valid_to",
                            "note"), [(today, today, husband.pk, TagKind.SUBSISTENCE, "民政", "2020-01-01", None, "")])
    page = _screen(em)
    assert _figures(page) == (5, 7, 3)
    assert _vulnerable(page)[-1] == em.couple.pk  # 低保 ranks last
    # and a raw UPDATE with a cursor (no ORM at all) brings the elder back
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_person SET is_deceased = %s WHERE id = %s", [False, elder.pk])
    assert _figures(_screen(em)) == (5, 8, 4)


def test_bulk_create_deletes_and_room_changes_are_seen(em: Emergency) -> None:
    _built(em)
    # given a new flat with an old resident made by bulk_create, and the disabled resident's
    # household deleted
    new = household(em.b8, 2, "201", [])
    Person.objects.bulk_create([Person(name="郑老", birth_date=date(1930, 1, 1), building=em.b8, grid=em.b8.grid,
                                       room=new.room, household=new, phone_masked="138****0000")])
    person = Person.objects.get(name="郑老")
    PersonTag.objects.bulk_create([PersonTag(person=person, kind=TagKind.OLDEST_OLD, source="民政",
                                             valid_from=date(2020, 1, 1))])
    Household.objects.filter(pk=em.disabled.pk).delete()
    page = _screen(em)
    assert _figures(page) == (5, 8, 3)
    assert _vulnerable(page) == [em.elder.pk, new.pk, em.family.pk]
    # and the new flat's room renumbered to the fifth floor is shown there
    assert new.room_id is not None
    Room.objects.filter(pk=new.room_id).update(floor=5)
    page = _screen(em)
    assert next(h for h in page.page if h.household_id == new.pk).floor == 5


def test_a_new_day_rebuilds_a_child_who_grew_up(em: Emergency) -> None:
    # given the family's child turns 14 tomorrow
    child = Person.objects.get(name="李小宝")
    today = timezone.localdate()
    tomorrow = today + timedelta(days=1)
    child.birth_date = tomorrow.replace(year=tomorrow.year - 14) if (tomorrow.month, tomorrow.day) != (2, 29) \
        else date(tomorrow.year - 14, 3, 1)
    child.save(update_fields=["birth_date"])
    assert em.family.pk in _vulnerable(_screen(em, on=today))
    # then the next day's list, with no write in between, no longer ranks the family
    page = _screen(em, on=tomorrow)
    assert em.family.pk not in _vulnerable(page)
    assert _figures(page) == (5, 8, 2)


def test_another_streets_operator_gets_nothing_of_this_street(em: Emergency) -> None:
    _built(em)
    # the digests are per building, shared: the scope is applied to the buildings first
    page = selectors.area_roster_page_for_user(user=em.other_operator, shape=SHAPE, limit=50)
    assert [h.household_id for h in page.page] == [em.other_household.pk]
    assert _figures(page) == (1, 1, 1)
    assert [b.pk for b in page.buildings] == [em.other_building.pk]
    mine = selectors.area_roster_page_for_user(user=em.users.street, shape=SHAPE, limit=50)
    assert em.other_household.pk not in [h.household_id for h in mine.page]


def _answer(em: Emergency, user: User | None = None) -> dict[str, object]:
    client = Client()
    client.force_login(user or em.users.street)
    response = client.post(reverse("cockpit:roster-json") + "?limit=50", json.dumps({"shape": SHAPE}),
                           content_type="application/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    answer: dict[str, object] = json.loads(response.content)
    return answer


def _expected_rows(em: Emergency) -> list[list[object]]:
    """The rows as the answer built them from objects before the ready rows existed."""
    full = selectors.area_roster_for_user(user=em.users.street, shape=SHAPE)
    address = {b.building_id: b.address for b in full.buildings}
    # the vulnerable in priority order, then the others building (by address) → unit → room
    ordered = full.vulnerable + sorted((h for h in full.households if not h.vulnerable), key=lambda h: (
        address[h.building_id], h.building_id, h.unit_number, h.floor, h.room_number, h.number))
    return [[h.household_id, h.building_id, h.unit_number, h.floor, h.room_number, h.number, h.priority, h.kinds,
             [[m.person_id, m.name, m.phone_masked, m.kinds] for m in h.members]] for h in ordered]


def test_the_answer_joins_the_ready_rows_and_follows_a_member_change(em: Emergency) -> None:
    # given the digests built by a first answer
    assert _answer(em)["rows"] == _expected_rows(em)
    b14 = BuildingDigest.objects.get(building_id=em.b14.pk)
    assert b14.built_stamp == b14.stamp
    disabled = Person.objects.get(household=em.disabled)
    old_name = disabled.name
    assert old_name in b14.screen_rows
    # when the disabled resident is renamed (the trigger stamps the building stale)
    services.person_update(actor=ACTOR, person=disabled, name="钱新名")
    b14.refresh_from_db()
    assert b14.built_stamp != b14.stamp
    answer = _answer(em)
    # then the answer and the stored ready row carry the new name, phones still masked
    assert answer["rows"] == _expected_rows(em)
    rows = answer["rows"]
    assert isinstance(rows, list)
    assert rows[0][8][0][1] == "钱新名"
    b14.refresh_from_db()
    assert "钱新名" in b14.screen_rows
    assert old_name not in b14.screen_rows
    assert "13800" not in json.dumps(answer)


def test_the_json_answer_of_another_streets_operator_holds_nothing_of_this_street(em: Emergency) -> None:
    _built(em)
    answer = _answer(em, em.other_operator)
    rows = answer["rows"]
    assert isinstance(rows, list)
    assert [r[0] for r in rows] == [em.other_household.pk]
    assert (answer["households"], answer["residents"], answer["vulnerable"]) == (1, 1, 1)


def _digest_writes(em: Emergency, on: date | None = None) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        _screen(em, on=on)
    return [q["sql"] for q in queries.captured_queries
            if "registry_buildingdigest" in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")]


def test_the_worker_refresh_leaves_the_request_nothing_to_rebuild(em: Emergency) -> None:
    # given every digest missing (no read yet), then built by the worker's refresh
    assert stale_digest_building_ids(timezone.localdate())
    assert building_digests_refresh() >= 3
    assert stale_digest_building_ids(timezone.localdate()) == []
    # then the first screen rebuilds nothing
    assert _digest_writes(em) == []
    # and after a write the refresh rebuilds that building only, through the task as well
    disabled = Person.objects.get(household=em.disabled)
    services.person_update(actor=ACTOR, person=disabled, name="赵明明")
    assert stale_digest_building_ids(timezone.localdate()) == [em.b14.pk]
    building_digests_refresh_task.enqueue()  # immediate backend in tests
    assert stale_digest_building_ids(timezone.localdate()) == []
    assert _digest_writes(em) == []
    assert _screen(em).page[0].members[0].name == "赵明明"
    # and a new day makes every digest stale until the nightly run of the command
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert em.b14.pk in stale_digest_building_ids(tomorrow)
    out = io.StringIO()
    call_command("linli_digests_refresh", "--on", tomorrow.isoformat(), stdout=out)
    assert "building digest(s) rebuilt" in out.getvalue()
    assert stale_digest_building_ids(tomorrow) == []
    assert _digest_writes(em, on=tomorrow) == []
