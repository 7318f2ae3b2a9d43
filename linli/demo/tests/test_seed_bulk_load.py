"""The seed's bulk load keeps what the registry's triggers keep, exactly as they would have.

The seeder writes the street inside ``registry_bulk_load``: the per-row triggers are down and
catch-ups compute household member counts, digest stamps and sweep change stamps once at the
end. The same seed with the triggers firing row by row is the reference."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from linli.care.models import SweepChange
from linli.core.actors import SystemActor
from linli.demo import services as demo_services
from linli.demo.services import demo_seed
from linli.registry.models import BuildingDigest, Household, Person
from linli.registry.services.bulk_load import TABLES, registry_bulk_load

pytestmark = pytest.mark.django_db(transaction=False)

ACTOR = SystemActor("command:seed")


def _triggers() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute(
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"
            )
        return {(str(name), str(sql)) for name, sql in cursor.fetchall()}


def _kept() -> dict[str, object]:
    """What the triggers maintain (stamps are random: which rows carry one)."""
    digests = BuildingDigest.objects.values_list(
        "building_id", "version", "residents", "built_stamp"
    )
    return {
        "living_members": dict(Household.objects.values_list("pk", "living_members")),
        "digests": set(digests),
        "stamped": BuildingDigest.objects.exclude(stamp=0).count(),
        "sweep_changes": set(SweepChange.objects.values_list("person_id", flat=True)),
    }


@contextmanager
def _row_by_row() -> Iterator[None]:
    with transaction.atomic():
        yield None


def _seed_kept(monkeypatch: pytest.MonkeyPatch, *, bulk: bool) -> dict[str, object]:
    with transaction.atomic():
        with monkeypatch.context() as patch:
            if not bulk:
                patch.setattr(demo_services, "registry_bulk_load", _row_by_row)
            demo_seed(actor=ACTOR, residents=600, seed=11, analyze=False)
        kept = _kept()
        transaction.set_rollback(True)
    return kept


def test_bulk_seed_keeps_what_the_triggers_keep(monkeypatch):
    # given the triggers on the registry before
    triggers = _triggers()
    # when the same street is seeded with the triggers firing row by row, and in bulk
    by_row = _seed_kept(monkeypatch, bulk=False)
    bulk = _seed_kept(monkeypatch, bulk=True)
    # then the bulk load's catch-ups wrote the same values and stamps
    assert set(by_row["living_members"].values()) - {0}  # type: ignore[attr-defined]
    assert bulk == by_row
    assert bulk["stamped"] == len(bulk["digests"])  # type: ignore[arg-type]
    # and every trigger is back as it was
    assert _triggers() == triggers


def test_writes_after_a_bulk_load_fire_the_triggers():
    # given a seeded street (bulk) and a living member of a household
    demo_seed(actor=ACTOR, residents=300, seed=3, analyze=False)
    person = (
        Person.objects.filter(household__isnull=False, is_deceased=False).order_by("pk").first()
    )
    assert person is not None
    assert person.household_id is not None
    assert person.building_id is not None
    living = Household.objects.get(pk=person.household_id).living_members
    stamp = BuildingDigest.objects.get(building_id=person.building_id).stamp
    SweepChange.objects.all().delete()
    # when one person's death is recorded by an ordinary write
    Person.objects.filter(pk=person.pk).update(is_deceased=True)
    # then the triggers kept the count, the building's stamp and the sweep's change
    assert Household.objects.get(pk=person.household_id).living_members == living - 1
    assert BuildingDigest.objects.get(building_id=person.building_id).stamp != stamp
    assert SweepChange.objects.filter(person_id=person.pk).exists()


def test_a_failed_bulk_load_leaves_the_triggers_in_place():
    # given the triggers on the registry's tables
    triggers = _triggers()

    # when a bulk load fails half-way
    def fail() -> None:
        with registry_bulk_load() as loaded:
            assert set(loaded.before) == set(TABLES)
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        fail()
    # then its drops were rolled back with it
    assert _triggers() == triggers
