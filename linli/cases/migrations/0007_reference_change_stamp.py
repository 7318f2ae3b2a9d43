"""Triggers that set the ``cases.reference`` change stamp whenever the reference data that
intake and transitions cache per process is written: categories, departments, dispatch
rules, areas, area assignments, and the users' role and active flag. A last-login update
does not change it. Before, the staleness check counted and summed those tables on every
call (41 ms a call with 100,000 resident accounts and their assignments)."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

TOPIC = "cases.reference"
# table → the columns whose update matters (None: any column)
TABLES: dict[str, tuple[str, ...] | None] = {
    "cases_category": None,
    "cases_department": None,
    "cases_dispatchrule": None,
    "geo_area": None,
    "accounts_areaassignment": None,
    "accounts_user": ("role", "is_active"),
}

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION linli_change_stamp_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO core_changestamp (topic, generation)
    VALUES (TG_ARGV[0], (random() * 9.0e18)::bigint)
    ON CONFLICT (topic) DO UPDATE SET generation = excluded.generation;
    RETURN NULL;
END
$$
"""


def _pg(table: str, columns: tuple[str, ...] | None) -> list[str]:
    # One row write per statement, not per row: a bulk load sets it once.
    call = f"FOR EACH STATEMENT EXECUTE FUNCTION linli_change_stamp_set('{TOPIC}')"
    if columns is None:
        return [f"CREATE TRIGGER linli_stamp_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} {call}"]
    return [
        f"CREATE TRIGGER linli_stamp_{table} AFTER INSERT OR DELETE OR TRUNCATE ON {table} {call}",
        f"CREATE TRIGGER linli_stamp_{table}_upd AFTER UPDATE OF {', '.join(columns)} ON {table} {call}",
    ]


def _sqlite(table: str, columns: tuple[str, ...] | None) -> list[str]:
    # SQLite has row triggers only; its writers are serialised anyway.
    body = (f"BEGIN INSERT INTO core_changestamp (topic, generation) VALUES ('{TOPIC}', random()) "
            "ON CONFLICT (topic) DO UPDATE SET generation = excluded.generation; END")
    update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
    return [f"CREATE TRIGGER linli_stamp_{table}_{name} AFTER {event} ON {table} FOR EACH ROW {body}"
            for name, event in (("ins", "INSERT"), ("upd", update), ("del", "DELETE"))]


def _drops(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS linli_stamp_{table}{suffix} ON {table}"
                for table in TABLES for suffix in ("", "_upd")] + ["DROP FUNCTION IF EXISTS linli_change_stamp_set()"]
    return [f"DROP TRIGGER IF EXISTS linli_stamp_{table}_{name}" for table in TABLES for name in ("ins", "upd", "del")]


def create_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [_PG_FUNCTION] + [s for table, columns in TABLES.items() for s in _pg(table, columns)]
    elif vendor == "sqlite":
        statements = [s for table, columns in TABLES.items() for s in _sqlite(table, columns)]
    else:  # pragma: no cover - linli runs on these two
        raise NotImplementedError(vendor)
    for statement in statements:
        schema_editor.execute(statement)
    stamp = apps.get_model("core", "ChangeStamp")
    stamp.objects.using(schema_editor.connection.alias).update_or_create(topic=TOPIC, defaults={"generation": 1})


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for statement in _drops(schema_editor.connection.vendor):
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0006_grid_breakdowns_from_daily"),
        ("core", "0002_changestamp"),
        ("geo", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
    ]
