"""The triggers several migrations put on the registry's tables are all there after migrating.

On SQLite, Django adds a NOT NULL column with a default by rebuilding the table, and a rebuilt
table has lost its triggers: registry 0013 (``Household.living_members``) did that once and
silently dropped the digest stamps (0012) and the care sweep's stamps (care 0004) from
``registry_household``. Whatever migrations come later, these must survive."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

# table → trigger name prefixes that must each have at least one trigger on it
EXPECTED = {
    "registry_household": ("linli_digest_", "linli_sweep_", "linli_living_members_"),
    "registry_person": ("linli_digest_", "linli_sweep_", "linli_living_members_"),
    "registry_persontag": ("linli_digest_", "linli_sweep_"),
    "registry_room": ("linli_digest_",),
    "registry_unit": ("linli_digest_",),
}


def _triggers(table: str) -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                           [table])
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_every_stamp_trigger_is_on_the_table(table: str) -> None:
    names = _triggers(table)
    missing = [prefix for prefix in EXPECTED[table] if not any(n.startswith(prefix) for n in names)]
    assert not missing, f"{table} lacks {missing}; has {sorted(names)}"
