"""``Household.living_members``: filled once here, then kept by triggers.

Every insert, delete or update of a person (its household, its ``is_deceased``) moves the
count of the households it leaves and joins, whichever path wrote: services, fusion's bulk
loads, the demo seeder, raw SQL (the pattern of 0012's building digest). A household
inserted after its members (bulk loads defer foreign keys) counts them when it arrives; a
write of the column itself (an ORM ``save()`` of a household read earlier carries an old
value) is replaced by the count.

PostgreSQL: one statement-level trigger per event with transition tables, adding the net
change per household (``+ n``, so concurrent writers to one household both count); the
household's own row trigger tells the person trigger's update (trigger depth 2) from any
other write. SQLite: row triggers; its writers are serialised.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

_COUNT = ("(SELECT count(*) FROM registry_person p "
          "WHERE p.household_id = {id} AND NOT p.is_deceased)")


def _net(rows: str, sign: str) -> str:
    return f"SELECT household_id, {sign}1 AS n FROM {rows} WHERE household_id IS NOT NULL AND NOT is_deceased"


def _pg_move(*parts: str) -> str:
    return ("UPDATE registry_household h SET living_members = h.living_members + d.n "
            f"FROM (SELECT household_id, sum(n) AS n FROM ({' UNION ALL '.join(parts)}) s "
            "GROUP BY household_id) d WHERE h.id = d.household_id AND d.n <> 0;")


_PG = [
    f"""CREATE OR REPLACE FUNCTION linli_living_members_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {_pg_move(_net("new_rows", "+"))}
    ELSIF TG_OP = 'DELETE' THEN {_pg_move(_net("old_rows", "-"))}
    ELSE {_pg_move(_net("new_rows", "+"), _net("old_rows", "-"))}
    END IF;
    RETURN NULL;
END
$$""",
    *(f"CREATE TRIGGER linli_living_members_person_{name} AFTER {event} ON registry_person REFERENCING {rows} "
      "FOR EACH STATEMENT EXECUTE FUNCTION linli_living_members_person()"
      for name, event, rows in (("ins", "INSERT", "NEW TABLE AS new_rows"),
                                ("upd", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                                ("del", "DELETE", "OLD TABLE AS old_rows"))),
    """CREATE OR REPLACE FUNCTION linli_living_members_person_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registry_household SET living_members = 0 WHERE living_members <> 0;
    RETURN NULL;
END
$$""",
    "CREATE TRIGGER linli_living_members_person_trunc AFTER TRUNCATE ON registry_person "
    "FOR EACH STATEMENT EXECUTE FUNCTION linli_living_members_person_truncate()",
    f"""CREATE OR REPLACE FUNCTION linli_living_members_household() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR pg_trigger_depth() < 2 THEN
        NEW.living_members := {_COUNT.format(id="NEW.id")};
    END IF;
    RETURN NEW;
END
$$""",
    "CREATE TRIGGER linli_living_members_household BEFORE INSERT OR UPDATE ON registry_household "
    "FOR EACH ROW EXECUTE FUNCTION linli_living_members_household()",
]

_SQLITE_MOVE = "UPDATE registry_household SET living_members = living_members {sign} 1 WHERE id = {id};"
_SQLITE = [
    "CREATE TRIGGER linli_living_members_person_ins AFTER INSERT ON registry_person FOR EACH ROW "
    "WHEN NEW.household_id IS NOT NULL AND NOT NEW.is_deceased "
    f"BEGIN {_SQLITE_MOVE.format(sign='+', id='NEW.household_id')} END",
    "CREATE TRIGGER linli_living_members_person_del AFTER DELETE ON registry_person FOR EACH ROW "
    "WHEN OLD.household_id IS NOT NULL AND NOT OLD.is_deceased "
    f"BEGIN {_SQLITE_MOVE.format(sign='-', id='OLD.household_id')} END",
    "CREATE TRIGGER linli_living_members_person_upd AFTER UPDATE OF household_id, is_deceased ON registry_person "
    "FOR EACH ROW WHEN OLD.household_id IS NOT NEW.household_id OR OLD.is_deceased IS NOT NEW.is_deceased BEGIN "
    + _SQLITE_MOVE.format(sign="-", id="OLD.household_id AND NOT OLD.is_deceased")
    + _SQLITE_MOVE.format(sign="+", id="NEW.household_id AND NOT NEW.is_deceased") + " END",
    "CREATE TRIGGER linli_living_members_household_ins AFTER INSERT ON registry_household FOR EACH ROW "
    f"BEGIN UPDATE registry_household SET living_members = {_COUNT.format(id='NEW.id')} WHERE id = NEW.id; END",
    # Fires for the person triggers' updates too (SQLite cannot tell them apart): they agree
    # with the count, so the WHEN is false and nothing more is written.
    "CREATE TRIGGER linli_living_members_household_upd AFTER UPDATE OF living_members ON registry_household "
    f"FOR EACH ROW WHEN NEW.living_members IS NOT {_COUNT.format(id='NEW.id')} "
    f"BEGIN UPDATE registry_household SET living_members = {_COUNT.format(id='NEW.id')} WHERE id = NEW.id; END",
]

_DROPS_PG = [
    *(f"DROP TRIGGER IF EXISTS linli_living_members_person_{name} ON registry_person"
      for name in ("ins", "upd", "del", "trunc")),
    "DROP TRIGGER IF EXISTS linli_living_members_household ON registry_household",
    "DROP FUNCTION IF EXISTS linli_living_members_person()",
    "DROP FUNCTION IF EXISTS linli_living_members_person_truncate()",
    "DROP FUNCTION IF EXISTS linli_living_members_household()",
]
_DROPS_SQLITE = [f"DROP TRIGGER IF EXISTS linli_living_members_{name}"
                 for name in ("person_ins", "person_del", "person_upd", "household_ins", "household_upd")]


def backfill_and_create_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):  # pragma: no cover - linli runs on these two
        raise NotImplementedError(vendor)
    # SQLite: a count per household from the household_id index; PostgreSQL: one grouped pass.
    schema_editor.execute(
        f"UPDATE registry_household SET living_members = {_COUNT.format(id='registry_household.id')}"
        if vendor == "sqlite" else
        "UPDATE registry_household h SET living_members = s.n FROM (SELECT household_id, count(*) AS n "
        "FROM registry_person WHERE household_id IS NOT NULL AND NOT is_deceased GROUP BY household_id) s "
        "WHERE s.household_id = h.id")
    for statement in _PG if vendor == "postgresql" else _SQLITE:
        schema_editor.execute(statement)


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for statement in _DROPS_PG if schema_editor.connection.vendor == "postgresql" else _DROPS_SQLITE:
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0013_household_living_members"),
    ]

    operations = [
        migrations.RunPython(backfill_and_create_triggers, drop_triggers),
    ]
