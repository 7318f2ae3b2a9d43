"""Care 0004's sweep change stamps for a registry bulk load (its row triggers are down)."""

from __future__ import annotations

from django.db import connection

from linli.care.models import SweepChange
from linli.registry.services.bulk_load import BulkLoaded


def sweep_changes_after_bulk_load(loaded: BulkLoaded) -> None:
    """Care 0004's change stamps for a registry bulk load, in one statement: the new persons,
    the persons of the new tags, and every member of a household a new person or household
    is in (its size is a fact of each member), as the row triggers would have marked them."""
    person, tag, household = (
        loaded.after(t) for t in ("registry_person", "registry_persontag", "registry_household")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SweepChange._meta.db_table} (person_id) SELECT id FROM ("  # noqa: S608 -- model meta
            "SELECT id FROM registry_person WHERE id > %s "
            "UNION SELECT person_id FROM registry_persontag WHERE id > %s "
            "UNION SELECT m.id FROM registry_person m WHERE m.household_id IN ("
            "SELECT household_id FROM registry_person WHERE id > %s UNION SELECT id FROM registry_household "
            "WHERE id > %s)) s ORDER BY id",
            [person, tag, person, household],
        )
