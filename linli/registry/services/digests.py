"""The per-building emergency digests: read them, rebuilding the stale ones first.

A digest (:class:`~linli.registry.models.BuildingDigest`) is current when it was built under
the stamp its row holds now (the triggers of migration 0011 change the stamp on every write
to the building's persons, tags, households, rooms and units), for the day asked, by the
current rules (``DIGEST_VERSION``). Reading 260 such rows is what lets the emergency list
answer without walking an area's thousands of rooms, households, residents and tags.

Stamps are read before the data a rebuild reads, and a rebuilt digest is stored only where
the row still holds that stamp: a write that commits meanwhile leaves the row stale (newer
data under an older stamp is rebuilt at the next read; older data is never stored under a
newer stamp). Storing is best effort: if the row is locked by a long import, the answer
is still exact, only the next read rebuilds again.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from linli.core.bulk import array_literal
from linli.registry import workflow
from linli.registry.models import Building, BuildingDigest, Household, Person, PersonTag

# Change when the digest's contents or the ranking rules change: every digest is rebuilt.
DIGEST_VERSION = 2
# The columns of a household's ready-to-send row (``screen_rows``) and of each member in it.
SCREEN_COLUMNS = ("id", "building", "unit", "floor", "room", "number", "priority", "kinds", "members")
SCREEN_MEMBER_COLUMNS = ("id", "name", "phone", "kinds")
_STAMP_MAX = 2**62


@dataclass(frozen=True)
class Digest:
    """One building's emergency figures on a day; ``screen_rows`` as in the model.
    ``by_kind`` and ``vulnerable_rows`` are filled only on a digest rebuilt by this read
    (a current digest is read without them: the list needs the ready rows only)."""

    building_id: int
    households: int
    residents: int
    vulnerable: int
    screen_rows: str
    by_kind: dict[str, int] = field(default_factory=dict)
    vulnerable_rows: list[list[Any]] = field(default_factory=list)


def building_digests(building_ids: Sequence[int], on: date) -> dict[int, Digest]:
    """building id → its current digest for ``on``; stale or missing ones rebuilt (and
    stored) from the registry in a few set-wise reads over those buildings only."""
    ids = sorted(set(building_ids))
    if not ids:
        return {}
    return _current(ids, _rows(ids), on)


# The building columns ``building_digests_in_box`` returns, in this order.
BOX_COLUMNS = ("id", "address", "name", "lon", "lat", "grid_id")
_DIGEST_COLUMNS = ("stamp", "built_stamp", "built_on", "version", "households", "residents", "vulnerable",
                   "screen_rows")


def building_digests_in_box(box: tuple[float, float, float, float], on: date,
                            keep: Callable[[tuple[Any, ...]], bool]) -> tuple[list[tuple[Any, ...]], dict[int, Digest]]:
    """The buildings positioned in ``(west, south, east, north)`` that ``keep`` accepts (rows of
    ``BOX_COLUMNS``), and building id → their current digest for ``on``.

    The buildings and their digest rows in one statement (the box answered by the buildings'
    (lon, lat) index, each digest by its primary key): on PostgreSQL every statement is a
    round trip, and on a busy machine each one may wait for a core. A box building that
    ``keep`` refuses (outside the drawn polygon or the caller's scope) costs its digest's
    transfer only; its data is neither kept nor rebuilt."""
    west, south, east, north = box
    building = connection.ops.quote_name(Building._meta.db_table)
    digest = connection.ops.quote_name(BuildingDigest._meta.db_table)
    columns = ", ".join([*(f"b.{c}" for c in BOX_COLUMNS), *(f"d.{c}" for c in _DIGEST_COLUMNS)])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {building} b "  # noqa: S608 -- names only
                       f"LEFT JOIN {digest} d ON d.building_id = b.id "
                       "WHERE b.lon >= %s AND b.lon <= %s AND b.lat >= %s AND b.lat <= %s",
                       [west, east, south, north])
        rows = cursor.fetchall()
    width = len(BOX_COLUMNS)
    buildings, digest_rows = [], []
    for row in rows:
        if keep(row):
            buildings.append(row[:width])
            digest_rows.append((row[0], *row[width:]))
    return buildings, _current(sorted(b[0] for b in buildings), digest_rows, on)


def _current(ids: list[int], rows: list[tuple[Any, ...]], on: date) -> dict[int, Digest]:
    """The digests of ``ids`` from their rows (building id, then ``_DIGEST_COLUMNS``; a missing
    row, or one whose stamp is NULL from an outer join, was never stamped): current ones as
    they are, the others rebuilt and stored."""
    found: dict[int, Digest] = {}
    stale: dict[int, int | None] = {}  # building → the stamp the rebuild must be stored under
    day = on.isoformat()
    for pk, stamp, built_stamp, built_on, version, households, residents, vulnerable, screen_rows in rows:
        if stamp is not None and built_stamp == stamp and str(built_on) == day and version == DIGEST_VERSION:
            found[pk] = Digest(pk, households, residents, vulnerable, screen_rows)
        else:
            stale[pk] = stamp  # None: never stamped (no write since the triggers exist)
    for pk in ids:
        if pk not in found and pk not in stale:
            stale[pk] = None
    if stale:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Its planner prices these few thousand index probes above a parallel hash
                # join over every household of the district, 2–3× slower (docs/benchmarks.md).
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                    cursor.execute("SET LOCAL random_page_cost = 1.1")
            built = _build(sorted(stale), on)
            _store(built, stale, on)
        found.update(built)
    return found


REFRESH_BATCH = 500


def stale_digest_building_ids(on: date) -> list[int]:
    """Buildings whose digest is missing, or was built under another stamp, day or version."""
    current = BuildingDigest.objects.filter(built_stamp=F("stamp"), built_on=on, version=DIGEST_VERSION)
    return list(Building.objects.exclude(pk__in=current.values("building_id")).order_by("pk")
                .values_list("pk", flat=True))


def building_digests_refresh(*, on: date | None = None, batch: int = REFRESH_BATCH) -> int:
    """Rebuild every stale or missing digest, ``batch`` buildings at a time; returns how many.

    The worker's job (``linli.registry.tasks.building_digests_refresh_task``, after an import
    and on a timer; ``linli manage linli_digests_refresh``): after midnight every digest is
    stale by its day, so the first run of a day rebuilds them all and the command centre's
    first screen finds them current. Safe to overlap with readers and with itself: a rebuild
    is stored only under the stamp it read.
    """
    on = on or timezone.localdate()
    ids = stale_digest_building_ids(on)
    for start in range(0, len(ids), batch):
        building_digests(ids[start:start + batch], on)
    return len(ids)


def _rows(ids: list[int]) -> list[tuple[Any, ...]]:
    """The digest rows of some buildings with their ready rows as text: one parameter on
    PostgreSQL (an array), plain placeholders on SQLite; no ORM (preparing 260 ``IN`` values
    and decoding every JSON cell through the field cost ~40 % of a first screen's Python time)."""
    table = connection.ops.quote_name(BuildingDigest._meta.db_table)
    columns = ", ".join(("building_id", *_DIGEST_COLUMNS))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT {columns} FROM {table} "  # noqa: S608 -- names only
                           "WHERE building_id = ANY(%s::bigint[])", [array_literal(ids)])
        else:
            cursor.execute(f"SELECT {columns} FROM {table} "  # noqa: S608 -- names only
                           f"WHERE building_id IN ({', '.join(['%s'] * len(ids))})", ids)
        return list(cursor.fetchall())


def _build(building_ids: list[int], on: date) -> dict[int, Digest]:
    """The digests of some buildings, from their households, living residents and tags.

    A resident counts at their household's building when the person is registered in that
    same building (a member registered elsewhere is counted where they are registered, as
    the household lists show them)."""
    households: dict[int, list[Any]] = {}
    count: dict[int, int] = defaultdict(int)
    for row in (Household.objects.filter(room__building_id__in=building_ids).order_by()
                .values_list("id", "number", "room__number", "room__floor", "room__unit__number",
                             "room__building_id", "grid_id")):
        households[row[0]] = [*row, []]
        count[row[5]] += 1
    kinds: dict[int, set[str]] = defaultdict(set)
    for person_id, kind in (
        PersonTag.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on), valid_from__lte=on,
                                 person__building_id__in=building_ids, person__is_deceased=False,
                                 kind__in=workflow.EMERGENCY_TAGS)
        .order_by().values_list("person_id", "kind")
    ):
        kinds[person_id].add(kind)
    residents: dict[int, int] = defaultdict(int)
    by_kind: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for person_id, name, phone, birth, household_id, building_id in (
        Person.objects.filter(building_id__in=building_ids, is_deceased=False, household_id__isnull=False)
        .order_by("household_id", "id")
        .values_list("id", "name", "phone_masked", "birth_date", "household_id", "building_id")
    ):
        household = households.get(household_id)
        if household is None or household[5] != building_id:  # registered here, household elsewhere
            continue
        residents[building_id] += 1
        own = set(kinds.get(person_id, ()))
        if workflow.is_child(birth, on):
            own.add(workflow.CHILD)
        ranked = workflow.sorted_kinds(own)
        for kind in ranked:
            by_kind[building_id][kind] += 1
        household[7].append([person_id, name, phone, ranked])
    rows: dict[int, list[list[Any]]] = defaultdict(list)
    for pk, number, room, floor, unit, building_id, grid_id, members in households.values():
        priority = min((workflow.kind_rank(m[3][0]) for m in members if m[3]), default=workflow.NOT_VULNERABLE)
        if priority == workflow.NOT_VULNERABLE:
            continue
        members.sort(key=lambda m: workflow.household_priority(m[3]))  # stable: by id within a rank
        rows[building_id].append([pk, number, room, floor, unit, grid_id, priority, members])
    digests = {}
    for building_id in building_ids:
        vulnerable = sorted(rows.get(building_id, []), key=lambda r: (r[6], r[4], r[3], r[2], r[1]))
        digests[building_id] = Digest(building_id, count.get(building_id, 0), residents.get(building_id, 0),
                                      len(vulnerable), _screen_rows(building_id, vulnerable),
                                      dict(by_kind.get(building_id, {})), vulnerable)
    return digests


def _screen_rows(building_id: int, vulnerable: list[list[Any]]) -> str:
    """The ready rows of a building's ranked vulnerable households (model ``screen_rows``).

    JSON escapes every control character inside a string, so a row never holds a tab or a
    newline of its own: the request splits the lines and the first two tabs only."""
    lines = []
    for pk, number, room, floor, unit, grid_id, priority, members in vulnerable:
        kinds = workflow.sorted_kinds(k for m in members for k in m[3])
        row = [pk, building_id, unit, floor, room, number, priority, kinds, members]
        lines.append(f"{priority}\t{grid_id}\t{json.dumps(row, ensure_ascii=False, separators=(',', ':'))}")
    return "\n".join(lines)


def _store(built: dict[int, Digest], stamps: dict[int, int | None], on: date) -> None:
    """Keep the rebuilt digests where the stamp has not moved since it was read.

    One statement for all of them (a rebuild after an import may cover every building of
    the area: 260 single-row UPDATEs cost ~4 s of round trips on a loaded PostgreSQL)."""
    table = connection.ops.quote_name(BuildingDigest._meta.db_table)
    updates = [(pk, stamps[pk], d.households, d.residents, d.vulnerable, json.dumps(d.by_kind, ensure_ascii=False),
                json.dumps(d.vulnerable_rows, ensure_ascii=False), d.screen_rows)
               for pk, d in built.items() if stamps[pk] is not None]
    fresh = []
    for pk, digest in built.items():
        if stamps[pk] is None:
            new = secrets.randbelow(_STAMP_MAX)
            fresh.append(BuildingDigest(
                building_id=pk, stamp=new, built_stamp=new, built_on=on, version=DIGEST_VERSION,
                households=digest.households, residents=digest.residents, vulnerable=digest.vulnerable,
                by_kind=digest.by_kind, vulnerable_rows=digest.vulnerable_rows, screen_rows=digest.screen_rows))
    set_columns = ("built_stamp = v.stamp, built_on = %s, version = %s, households = v.households, "
                   "residents = v.residents, vulnerable = v.vulnerable, by_kind = {kinds}, vulnerable_rows = {rows}, "
                   "screen_rows = v.screen")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL lock_timeout = '200ms'")  # never queue a read behind a long import
                if updates:
                    values = ", ".join(
                        ["(%s::bigint, %s::bigint, %s::int, %s::int, %s::int, %s::text, %s::text, %s::text)"]
                        * len(updates))
                    cursor.execute(
                        f"UPDATE {table} d SET "  # noqa: S608 -- table name and placeholders only
                        + set_columns.format(kinds="v.kinds::jsonb", rows="v.rows::jsonb")
                        + f" FROM (VALUES {values}) AS v (id, stamp, households, residents, vulnerable, kinds, rows, screen) "
                        "WHERE d.building_id = v.id AND d.stamp = v.stamp",
                        [on, DIGEST_VERSION, *(cell for row in updates for cell in row)])
            elif updates:
                cursor.executemany(
                    f"UPDATE {table} SET built_stamp = %s, built_on = %s, version = %s, households = %s, "  # noqa: S608
                    "residents = %s, vulnerable = %s, by_kind = %s, vulnerable_rows = %s, screen_rows = %s "
                    "WHERE building_id = %s AND stamp = %s",
                    [(stamp, on.isoformat(), DIGEST_VERSION, h, r, v, kinds, rows, screen, pk, stamp)
                     for pk, stamp, h, r, v, kinds, rows, screen in updates])
            # A row a writer inserted meanwhile wins: its stamp is newer than this rebuild.
            BuildingDigest.objects.bulk_create(fresh, ignore_conflicts=True)
    except DatabaseError:  # locked by a writer: the answer stands, the next read rebuilds
        return
