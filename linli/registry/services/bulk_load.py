"""Bulk loads into the registry with the per-row triggers stood down, caught up once after.

Several migrations keep values by triggers on the registry's tables (registry 0012's digest
stamps, 0014's ``Household.living_members``, care 0004's sweep change stamps). On SQLite
those are row triggers: a seed of 74,000 residents ran them ~ a million times and took 5×
as long. Inside :func:`registry_bulk_load` the triggers that a *catch-up* stands in for are
dropped, the load writes, each catch-up computes its values set-based for the new rows, and
the triggers are created again: all in one transaction, so nobody sees the registry without
them or the values missing, and a load that fails leaves both as they were.

The triggers come back from the database's own catalogue (``sqlite_master.sql``,
``pg_get_triggerdef``): the migrations stay the one definition of each trigger, so the two
cannot drift. A trigger no catch-up claims stays in place and fires as usual.

For appending loads (the demo seed, benchmarks, imports into a quiet registry): the new rows
are those with ids above the largest of their table at entry. Rows the load updates or deletes
are not caught up. On PostgreSQL ``DROP TRIGGER`` locks the table until the commit: other
sessions wait for the load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction

# The tables a registry load writes (ids above the watermark are the new rows).
TABLES = (
    "registry_building",
    "registry_unit",
    "registry_room",
    "registry_household",
    "registry_person",
    "registry_persontag",
    "registry_organisation",
    "registry_facility",
)


@dataclass(frozen=True)
class BulkLoaded:
    """Where the new rows start: the largest id of each table before the load (0: empty)."""

    before: dict[str, int]

    def after(self, table: str) -> int:
        return self.before[table]


@dataclass(frozen=True)
class CatchUp:
    """Stands in for the triggers named ``prefix…`` during a load: ``run`` writes what they
    would have written for the new rows, with the triggers still down."""

    prefix: str
    run: Callable[[BulkLoaded], None]


def _living_members(loaded: BulkLoaded) -> None:
    # Recount the new households and those that gained a new member (0014's invariant).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_household SET living_members = s.n FROM ("
            "SELECT h.id, count(p.id) AS n FROM registry_household h "
            "LEFT JOIN registry_person p ON p.household_id = h.id AND NOT p.is_deceased "
            "WHERE h.id > %s OR h.id IN (SELECT household_id FROM registry_person WHERE id > %s) "
            "GROUP BY h.id) s WHERE registry_household.id = s.id AND registry_household.living_members <> s.n",
            [loaded.after("registry_household"), loaded.after("registry_person")],
        )


def _digest_stamps(loaded: BulkLoaded) -> None:
    # A new stamp (and a row) for every building a new row lies in, as 0012's triggers give.
    pg = connection.vendor == "postgresql"
    random, json = ("(random() * 9.0e18)::bigint", "::jsonb") if pg else ("random()", "")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO registry_buildingdigest (building_id, stamp, version, households, residents, "  # noqa: S608 -- constants only
            f"vulnerable, by_kind, vulnerable_rows) SELECT b, {random}, 0, 0, 0, 0, '{{}}'{json}, '[]'{json} "
            "FROM (SELECT building_id AS b FROM registry_person WHERE id > %s "
            "UNION SELECT building_id FROM registry_room WHERE id > %s "
            "UNION SELECT building_id FROM registry_unit WHERE id > %s "
            "UNION SELECT r.building_id FROM registry_household h JOIN registry_room r ON r.id = h.room_id "
            "WHERE h.id > %s "
            "UNION SELECT p.building_id FROM registry_persontag t JOIN registry_person p ON p.id = t.person_id "
            "WHERE t.id > %s) s WHERE b IS NOT NULL ORDER BY b "
            "ON CONFLICT (building_id) DO UPDATE SET stamp = excluded.stamp",
            [
                loaded.after(t)
                for t in (
                    "registry_person",
                    "registry_room",
                    "registry_unit",
                    "registry_household",
                    "registry_persontag",
                )
            ],
        )


# Registry's own first; apps above the registry append theirs (care's sweep stamps) in ready().
bulk_load_catch_ups: list[CatchUp] = [
    CatchUp("linli_living_members_", _living_members),
    CatchUp("linli_digest_", _digest_stamps),
]


def _triggers() -> list[tuple[str, str, str]]:
    """(name, table, CREATE statement) of every user trigger on the registry's tables."""
    marks = ", ".join("%s" for _ in TABLES)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' "  # noqa: S608 -- placeholders only
                f"AND tbl_name IN ({marks}) ORDER BY name",
                list(TABLES),
            )
        else:
            cursor.execute(
                f"SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "  # noqa: S608 -- placeholders only
                f"JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal "
                f"AND c.relname IN ({marks}) AND pg_table_is_visible(c.oid) ORDER BY t.tgname",
                list(TABLES),
            )
        return [(str(name), str(table), str(sql)) for name, table, sql in cursor.fetchall()]


@contextmanager
def registry_bulk_load() -> Iterator[BulkLoaded]:
    """One transaction in which writes to the registry's tables fire no claimed trigger; at the
    end the catch-ups fill in what those triggers keep and the triggers are back."""
    quote = connection.ops.quote_name
    with transaction.atomic():
        with connection.cursor() as cursor:
            before = {}
            for table in TABLES:
                cursor.execute(f"SELECT coalesce(max(id), 0) FROM {quote(table)}")  # noqa: S608 -- fixed names
                before[table] = int(cursor.fetchone()[0])
            catch_ups = list(bulk_load_catch_ups)
            down = [t for t in _triggers() if any(t[0].startswith(c.prefix) for c in catch_ups)]
            for name, table, _sql in down:
                cursor.execute(
                    f"DROP TRIGGER {quote(name)}"
                    + (f" ON {quote(table)}" if connection.vendor == "postgresql" else "")
                )
        loaded = BulkLoaded(before=before)
        yield loaded
        for catch_up in catch_ups:
            catch_up.run(loaded)
        with connection.cursor() as cursor:
            for _name, _table, sql in down:
                cursor.execute(sql)
