"""Seeding into the database: encryption at rest, refusal, idempotent demo, accounts, audit."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.db.models import Count, Q

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment, User
from linli.core import pii
from linli.core.actors import SystemActor
from linli.core.errors import ApplicationError
from linli.core.models import AuditEntry
from linli.demo.accounts import DEMO_PASSWORD
from linli.demo.generator import StreetGenerator, plan_street
from linli.demo.rows import IdCounters
from linli.demo.selectors import demo_accounts
from linli.demo.services import demo_seed, demo_seed_if_empty
from linli.geo.choices import AreaLevel
from linli.geo.measure import geometry_bbox
from linli.geo.models import Area, Road
from linli.registry.models import Building, Facility, Household, Person, PersonTag, Room
from linli.registry.text import PII_ID_NUMBER, PII_PHONE

ACTOR = SystemActor("command:seed")



@pytest.fixture
def seeded(db):
    return demo_seed(actor=ACTOR, residents=400, seed=5, analyze=False)


def test_seed_writes_the_residents_asked_for(seeded):
    assert Person.objects.count() == 400
    assert Household.objects.filter(head__isnull=False).count() == Household.objects.count()
    assert Area.objects.filter(level=AreaLevel.GRID).count() == 37
    assert Room.objects.exists()
    assert PersonTag.objects.exists()
    assert Facility.objects.filter(kind="camera").exists()


def test_seeded_households_count_their_living_members(seeded):
    # given the seeder's bulk load (households, then persons, some of them deceased)
    counted = dict(Household.objects.annotate(n=Count("members", filter=Q(members__is_deceased=False)))
                   .values_list("pk", "n"))
    # then each household's kept count is its living members, as care's household size reads it
    assert dict(Household.objects.values_list("pk", "living_members")) == counted
    assert set(counted.values()) - {0}


def test_seeded_persons_match_the_generator(seeded):
    # given: the generator alone, same seed and size
    ids = IdCounters()
    batch = next(StreetGenerator(plan_street(seed=5, residents=400, ids=ids), ids=ids).grid_batches())
    expected = batch.persons[0]
    # when
    stored = Person.objects.order_by("id").first()
    # then
    assert stored is not None
    assert stored.name == expected.name
    assert pii.decrypt(stored.id_number_enc, field=PII_ID_NUMBER) == expected.id_number


def test_identifiers_are_stored_encrypted_with_blind_index_and_mask(seeded):
    # given
    person = Person.objects.exclude(id_number_enc="").exclude(phone_enc="").order_by("id").first()
    assert person is not None
    # when
    id_number = pii.decrypt(person.id_number_enc, field=PII_ID_NUMBER)
    phone = pii.decrypt(person.phone_enc, field=PII_PHONE)
    # then
    assert id_number not in person.id_number_enc
    assert phone not in person.phone_enc
    assert person.id_number_bidx == pii.blind_index(id_number, field=PII_ID_NUMBER)
    assert person.phone_bidx == pii.blind_index(phone, field=PII_PHONE)
    assert person.id_number_masked == pii.mask_id_number(id_number)
    assert person.phone_masked == pii.mask_phone(phone)
    assert Person.objects.filter(id_number_bidx=person.id_number_bidx).count() == 1


def test_no_plaintext_id_number_is_stored_anywhere_in_person_rows(seeded):
    for row in Person.objects.exclude(id_number_enc="").values()[:200]:
        plain = pii.decrypt(row["id_number_enc"], field=PII_ID_NUMBER)
        assert all(plain not in str(value) for value in row.values())


def test_seed_refuses_a_registry_with_persons(seeded):
    with pytest.raises(ApplicationError) as refused:
        demo_seed(actor=ACTOR, residents=100, seed=6, analyze=False)
    assert refused.value.code == "conflict"
    assert Person.objects.count() == 400


def test_seed_command_refuses_with_a_clear_message(seeded):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="空库"):
        call_command("linli_seed", "--residents", "10", "--seed", "1")


def test_one_audit_entry_records_the_whole_run_and_one_each_transaction(seeded):
    entries = AuditEntry.objects.filter(action="demo.seed")
    assert entries.count() == 1
    entry = entries.get()
    assert entry.target_type == "geo.area"
    assert entry.target_id == str(seeded.street_id)
    assert entry.actor_label == "command:seed"
    # the area tree and every grid's batch were audited in their own transaction
    grid_ids = {str(pk) for pk in Area.objects.filter(level=AreaLevel.GRID).values_list("pk", flat=True)}
    batches = AuditEntry.objects.filter(action="demo.seed_grid")
    assert set(batches.values_list("target_id", flat=True)) == grid_ids
    assert AuditEntry.objects.filter(action="demo.seed_areas").count() == 1
    assert AuditEntry.objects.filter(action="road.load", target_id="demo").count() == 1
    assert AuditEntry.objects.count() == 3 + len(grid_ids)
    assert {e.actor_label for e in AuditEntry.objects.all()} == {"command:seed"}


def test_every_grid_has_a_primary_grid_worker(seeded):
    grids = Area.objects.filter(level=AreaLevel.GRID)
    for grid in grids:
        primary = AreaAssignment.objects.filter(area=grid, kind=AssignmentKind.PRIMARY).select_related("user")
        assert primary.count() == 1
        assert primary.get().user.role == Role.GRID_WORKER
    assert AreaAssignment.objects.filter(kind=AssignmentKind.BACKUP).count() >= 30


def test_there_is_a_demo_account_for_every_role_with_the_shared_password(seeded):
    # when
    accounts = demo_accounts(one_per_role=True)
    # then
    assert {a.role for a in accounts} == set(Role.values)
    user = User.objects.get(username="gw_01")
    assert check_password(DEMO_PASSWORD, user.password)
    # one hash for all: argon2 ran once
    assert User.objects.filter(username__startswith="gw_").values("password").distinct().count() == 1


def test_seed_if_empty_twice_creates_nothing_new(db):
    # given
    first = demo_seed_if_empty(actor=ACTOR, residents=300, seed=9)
    counts = (Area.objects.count(), Person.objects.count(), User.objects.count(), AuditEntry.objects.count())
    # when
    second = demo_seed_if_empty(actor=ACTOR, residents=300, seed=9)
    # then
    assert first is not None
    assert second is None
    assert (Area.objects.count(), Person.objects.count(), User.objects.count(),
            AuditEntry.objects.count()) == counts


def test_seed_if_empty_command_reuses_existing_data(seeded, capsys):
    call_command("linli_demo_seed_if_empty")
    out = capsys.readouterr().out
    assert "reusing" in out
    assert "gw_01" in out
    assert DEMO_PASSWORD in out
    assert Person.objects.count() == 400


def test_street_only_writes_areas_and_accounts_but_no_people(db):
    report = demo_seed(actor=ACTOR, residents=500, seed=1, street_only=True, analyze=False)
    assert report.residents == 0
    assert Area.objects.count() == report.counts["areas"]
    assert not Person.objects.exists()
    assert User.objects.filter(username="gw_37").exists()


def test_the_demo_street_has_its_address_roads_and_building_outlines(seeded):
    # the roads are named as the addresses are, and lie on the street's map
    roads = dict(Road.objects.values_list("name", "geometry"))
    assert "望江路" in roads
    assert seeded.counts["roads"] == len(roads) >= 20
    used = {b.address.removeprefix("杭州市上城区").split("号")[0].rstrip("0123456789")
            for b in Building.objects.all()}
    assert used <= set(roads)
    street = Area.objects.get(pk=seeded.street_id)
    box = geometry_bbox(street.boundary)
    assert box is not None
    for geometry in roads.values():
        parts = [geometry["coordinates"]] if geometry["type"] == "LineString" else geometry["coordinates"]
        assert all(box[0] - 1e-6 <= lon <= box[2] + 1e-6 and box[1] - 1e-6 <= lat <= box[3] + 1e-6
                   for part in parts for lon, lat in part)
    # every building has an outline around its point, a few tens of metres across
    for building in Building.objects.all():
        outline = building.footprint
        assert outline is not None
        ring = outline["coordinates"][0]
        assert outline["type"] == "Polygon"
        assert ring[0] == ring[-1]
        assert len(ring) == 5
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        assert min(lons) < building.lon < max(lons)
        assert min(lats) < building.lat < max(lats)
        assert 0.00005 < max(lons) - min(lons) < 0.002
