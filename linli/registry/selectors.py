"""Reads of the registry, every one scoped by :func:`linli.accounts.selectors.scope_for`.

Objects outside the caller's areas raise :class:`NotFound`, exactly like missing ones.
Person search picks one indexed access path per kind of query (see
:func:`person_search_for_user`) so it stays fast over a million persons.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Permission
from linli.accounts.selectors import AreaScope, Principal, scope_for
from linli.core import pii
from linli.core.bulk import Among
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry
from linli.core.scoped_cache import scoped_cached
from linli.core.selectors import audit_entries_for_target
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.choices import SENSITIVE_TAGS, VULNERABLE_TAGS, TagKind
from linli.registry.models import (
    Building,
    Facility,
    Household,
    Organisation,
    Person,
    PersonTag,
    Room,
    Unit,
)
from linli.registry.text import PII_ID_NUMBER, PII_PHONE, natural_key
from linli.registry.validators import parse_id_number, parse_phone, to_half_width

PERSON_TARGET = "registry.person"
SEARCH_LIMIT_MAX = 200
# Paging stops this far in: by then the query should be more specific.
SEARCH_OFFSET_MAX = 10_000
# Address searches look at residents of at most this many matching buildings.
ADDRESS_BUILDINGS_MAX = 50
ELDER_AGE = 60


def registry_scope(user: Principal | None) -> AreaScope:
    """The caller's scope, refusing callers who may not read the registry at all."""
    scope = scope_for(user)
    if not scope.can(Permission.VIEW_REGISTRY):
        raise PermissionDenied(_("无权查看实有人口房屋"))
    return scope


# --- search ---------------------------------------------------------------------------------

_ADDRESS_MARKERS = re.compile(r"号|栋|幢|单元|室|路|弄|小区|号楼")
_CJK_NAME = re.compile(r"[\u3400-\u9fff\U00020000-\U0002ffff·]+")
_PINYIN = re.compile(r"[a-z]+")
_ID_LIKE = re.compile(r"\d{17}[\dX]|\d{15}")
# The last 4 or last 6 characters of an ID number or a phone ("尾号1234").
_SUFFIX_LIKE = re.compile(r"\d{3}[\dX]|\d{5}[\dX]")
_PHONE_LIKE = re.compile(r"\+?[\d\s\-()]{7,20}")
# "12-3-502", "12幢3单元502室", "3单元502", "12号楼".
_DASHED = re.compile(r"(\d+)-(\d+)-(\d+)")
_BUILDING_UNIT_ROOM = re.compile(
    r"(?:(\d+)\s*(?:幢|栋|号楼|座))?\s*(?:(\d+)\s*单元)?\s*(?:(\d+)\s*室?)?$",
)


@dataclass(frozen=True)
class AddressQuery:
    """An address fragment split into free text and, when given, building/unit/room numbers."""

    text: str
    building: str | None = None
    unit: int | None = None
    room: str | None = None


def parse_address_query(query: str) -> AddressQuery:
    """``望江路 12-3-502`` → text ``望江路``, building ``12``, unit 3, room ``502``."""
    dashed = _DASHED.search(query)
    if dashed:
        text = (query[: dashed.start()] + query[dashed.end():]).strip()
        return AddressQuery(text, dashed.group(1), int(dashed.group(2)), dashed.group(3))
    tail = _BUILDING_UNIT_ROOM.search(query)
    if tail and any(tail.groups()) and (tail.group(1) or tail.group(2)):
        text = query[: tail.start()].strip()
        unit = int(tail.group(2)) if tail.group(2) else None
        return AddressQuery(text, tail.group(1), unit, tail.group(3))
    return AddressQuery(query.strip())


def classify_query(query: str) -> str:
    """``id`` | ``phone`` | ``suffix`` | ``name`` | ``pinyin`` | ``address`` for a normalised query."""
    compact = query.replace(" ", "")
    if _ID_LIKE.fullmatch(compact.upper()):
        return "id"
    if _SUFFIX_LIKE.fullmatch(compact.upper()):
        return "suffix"
    # Before the address check: "138-1234-5678" also looks like "3-2-502". A phone-like
    # query that is not a valid phone is searched as an address by the caller.
    if _PHONE_LIKE.fullmatch(query) and sum(c.isdigit() for c in query) >= 7:
        return "phone"
    if _ADDRESS_MARKERS.search(query) or _DASHED.search(query):
        return "address"
    if _CJK_NAME.fullmatch(compact):
        return "name"
    if _PINYIN.fullmatch(compact.lower()):
        return "pinyin"
    return "address"


def _prefix_range(prefix: str) -> tuple[str, str]:
    """``[prefix, upper)`` covering every string starting with ``prefix`` in code-point order.

    Code-point order equals byte order in UTF-8, so this is right for SQLite's BINARY and
    PostgreSQL's C collation, and lets a plain B-tree index answer the prefix query.
    """
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


# A search row shows the building's address and the grid's name; their outlines (JSON,
# the grid's a polygon of hundreds of points) were decoded for every row: 50 rows, 100
# json.loads a request (issue #15, "Load"). Deferred, they still load if someone reads them.
_SEARCH_DEFERRED = ("building__footprint", "grid__boundary")


def _by_ids(ids: list[int]) -> list[Person]:
    found = {p.pk: p for p in Person.objects.filter(pk__in=ids).select_related(
        "building", "room", "room__unit", "grid").defer(*_SEARCH_DEFERRED)}
    return [found[pk] for pk in ids if pk in found]


@dataclass(frozen=True, slots=True)
class PersonRow:
    """What a search result row shows of a person, read as plain values: building 50 persons
    with four related model instances each was about a third of a search's CPU (issue #15).
    ``building_id`` / ``room_id`` are None when the person has none."""

    pk: int
    name: str
    sex: str
    birth_date: date | None
    is_deceased: bool
    id_number_masked: str
    phone_masked: str
    building_id: int | None
    building_address: str | None
    room_id: int | None
    room_number: str | None
    unit_number: int | None
    grid_name: str | None


_ROW_FIELDS = ("pk", "name", "sex", "birth_date", "is_deceased", "id_number_masked", "phone_masked",
               "building_id", "building__address", "room_id", "room__number", "room__unit__number",
               "grid__name")


def person_rows_by_ids(ids: list[int]) -> list[PersonRow]:
    """The rows of these persons in the order of ``ids`` (missing ones left out). Not scoped:
    callers pass ids a scoped selector returned."""
    found = {row[0]: PersonRow(*row) for row in Person.objects.filter(pk__in=ids).values_list(*_ROW_FIELDS)}
    return [found[pk] for pk in ids if pk in found]


def _prefix_ids(scope: AreaScope, column: str, prefix: str, limit: int, offset: int = 0) -> list[int]:
    """Ids in key order from the (grid, key) index alone; rows are fetched afterwards.

    Sorting only (key, id) pairs read from the covering index keeps a common surname
    (王 ≈ 7 % of a street) cheap; joining first would read thousands of rows to keep 50.
    """
    low, high = _prefix_range(prefix)
    return list(
        Person.objects.filter(grid_id__in=sorted(scope.grid_ids),
                              **{f"{column}__gte": low, f"{column}__lt": high})
        .order_by(column, "id").values_list("id", flat=True)[offset:offset + limit],
    )


def _address_search(scope: AreaScope, query: str, limit: int, offset: int = 0) -> list[int]:
    parsed = parse_address_query(query)
    buildings = Building.objects.filter(grid_id__in=sorted(scope.grid_ids))
    if parsed.text:
        buildings = buildings.filter(
            Q(address__icontains=parsed.text) | Q(compound__icontains=parsed.text)
            | Q(name__icontains=parsed.text),
        )
    if parsed.building is not None:
        number = parsed.building
        variants = [number] + [number + s for s in ("幢", "栋", "号楼", "号", "座")]
        buildings = buildings.filter(name__in=variants)
    if not parsed.text and parsed.building is None:
        return []
    building_ids = list(buildings.order_by("address", "id").values_list("id", flat=True)
                        [:ADDRESS_BUILDINGS_MAX])
    if not building_ids:
        return []
    persons = Person.objects.filter(grid_id__in=sorted(scope.grid_ids), building_id__in=building_ids)
    if parsed.unit is not None or parsed.room is not None:
        rooms = Room.objects.filter(building_id__in=building_ids)
        if parsed.unit is not None:
            rooms = rooms.filter(unit__number=parsed.unit)
        if parsed.room is not None:
            rooms = rooms.filter(number=parsed.room)
        persons = persons.filter(room_id__in=list(rooms.values_list("id", flat=True)))
    # Ids first (index order, no sort), then the rows: see _prefix_ids.
    return list(persons.order_by("building_id", "id").values_list("id", flat=True)[offset:offset + limit])


def _exact_search(scope: AreaScope, column: str, bidx: str, limit: int, offset: int = 0) -> list[int]:
    return list(Person.objects.filter(grid_id__in=sorted(scope.grid_ids), **{column: bidx})
                .order_by("id").values_list("id", flat=True)[offset:offset + limit])


def _suffix_search(scope: AreaScope, text: str, limit: int, offset: int) -> list[int]:
    """Persons whose ID number or phone ends in ``text`` (4 or 6 characters): an equality
    lookup on the keyed suffix indexes, never a scan of decrypted values."""
    length = len(text)
    matches = Q(**{f"id_number_s{length}_bidx": pii.suffix_index(text, field=PII_ID_NUMBER, length=length)})
    if text[-1].isdigit():  # no phone ends in X
        matches |= Q(**{f"phone_s{length}_bidx": pii.suffix_index(text, field=PII_PHONE, length=length)})
    return list(Person.objects.filter(matches, grid_id__in=sorted(scope.grid_ids))
                .order_by("id").values_list("id", flat=True)[offset:offset + limit])


def _name_search(scope: AreaScope, text: str, limit: int, offset: int = 0) -> list[int]:
    key = text.replace(" ", "")
    ids = _prefix_ids(scope, "name", key, limit, offset)
    if ids or (offset and _prefix_ids(scope, "name", key, 1)):
        return ids
    # A bare compound name (金色新村) looks like a person's name: fall back to addresses.
    return _address_search(scope, text, limit, offset)


def _pinyin_search(scope: AreaScope, text: str, limit: int, offset: int = 0) -> list[int]:
    key = text.replace(" ", "").lower()
    # Initials first: "wxm" means 王小明 far more often than the start of a full spelling.
    # A page further on needs every id before it (the two lists overlap, so no offset here).
    ids = _prefix_ids(scope, "name_initials", key, offset + limit)
    if len(key) > 1:
        ids += _prefix_ids(scope, "name_pinyin", key, offset + limit)
    return list(dict.fromkeys(ids))[offset:offset + limit]


@dataclass(frozen=True)
class SearchPage:
    """One page of search results and whether another page follows."""

    items: list[Person]
    offset: int
    limit: int
    has_more: bool


@dataclass(frozen=True)
class SearchRowsPage:
    """One page of search results as :class:`PersonRow` (the search page's rows)."""

    items: list[PersonRow]
    offset: int
    limit: int
    has_more: bool


def person_search_page_for_user(*, user: Principal, query: str, limit: int = 50, offset: int = 0) -> SearchPage:
    """:func:`person_search_for_user` by pages: ``limit`` results from ``offset`` on, and
    whether more follow (one row more is read to know; no count of the whole result)."""
    limit = max(1, min(limit, SEARCH_LIMIT_MAX))
    offset = max(0, min(offset, SEARCH_OFFSET_MAX))
    found = person_search_for_user(user=user, query=query, limit=limit + 1, offset=offset)
    return SearchPage(items=found[:limit], offset=offset, limit=limit, has_more=len(found) > limit)


def person_search_rows_page_for_user(*, user: Principal, query: str, limit: int = 50,
                                     offset: int = 0) -> SearchRowsPage:
    """:func:`person_search_page_for_user` with rows instead of model instances, for pages
    that only list what a row shows."""
    limit = max(1, min(limit, SEARCH_LIMIT_MAX))
    offset = max(0, min(offset, SEARCH_OFFSET_MAX))
    found = person_rows_by_ids(_search_ids(user=user, query=query, limit=limit + 1, offset=offset))
    return SearchRowsPage(items=found[:limit], offset=offset, limit=limit, has_more=len(found) > limit)


def person_search_for_user(*, user: Principal, query: str, limit: int = 50, offset: int = 0) -> list[Person]:
    """Persons in the caller's grids matching a name, pinyin, ID number, phone or address.

    - full ID number (18 or 15 digits) or full phone: exact blind-index lookup;
    - 4 or 6 digits (the last may be X): ID numbers and phones ending so (suffix indexes);
    - Chinese characters: name prefix; ASCII letters: full-pinyin prefix or initials prefix;
    - anything else (or with 号/栋/幢/单元/室/路 …, ``3-2-502``): address fragment.

    Prefix searches are index range scans (grid, key); results come in key order, deceased
    persons included (callers mark them). A malformed ID number raises
    :class:`ValidationFailed` for field ``q`` with the reason.
    """
    return _by_ids(_search_ids(user=user, query=query, limit=limit, offset=offset))


def _search_ids(*, user: Principal, query: str, limit: int, offset: int) -> list[int]:
    """The ids :func:`person_search_for_user` finds, in result order."""
    scope = registry_scope(user)
    limit = max(1, min(limit, SEARCH_LIMIT_MAX + 1))
    offset = max(0, min(offset, SEARCH_OFFSET_MAX))
    text = " ".join(to_half_width(query).split())
    if not text or not scope.grid_ids:
        return []
    kind = classify_query(text)
    if kind == "id":
        # A typo in an ID number is worth a reason ("校验码错误"), not an empty list.
        number = parse_id_number(text, field="q").value
        return _exact_search(scope, "id_number_bidx", pii.blind_index(number, field=PII_ID_NUMBER), limit, offset)
    if kind == "phone":
        try:
            phone = parse_phone(text)
        except ValidationFailed:
            return _address_search(scope, text, limit, offset)
        return _exact_search(scope, "phone_bidx", pii.blind_index(phone, field=PII_PHONE), limit, offset)
    if kind == "suffix":
        return _suffix_search(scope, text.replace(" ", "").upper(), limit, offset)
    if kind == "name":
        return _name_search(scope, text, limit, offset)
    if kind == "pinyin":
        return _pinyin_search(scope, text, limit, offset)
    return _address_search(scope, text, limit, offset)


# --- not yet placed (待落位) ----------------------------------------------------------------


def residents_of(grids: list[int], areas: list[int], *, prefix: str = "") -> Q:
    """Persons of these grids, and the not-yet-placed persons of these areas: whom counts and
    lists of an area take in."""
    return Q(**{f"{prefix}grid_id__in": grids}) | Q(**{f"{prefix}grid__isnull": True, f"{prefix}area_id__in": areas})


def placement_pool(scope: AreaScope) -> list[int]:
    """Areas whose not-yet-placed persons the caller sees: their own areas and below, and the
    community and street above them — an import's unresolved addresses belong to the
    importing street, and any clerk of that street may place them."""
    if not scope.area_ids:
        return []
    paths = Area.objects.filter(Among("pk", scope.area_ids)).values_list("path", flat=True)
    above = {int(part) for path in paths for part in path.strip("/").split("/") if part}
    upper = Area.objects.filter(Among("pk", above - scope.area_ids),
                                level__in=(AreaLevel.STREET, AreaLevel.COMMUNITY)).values_list("pk", flat=True)
    return sorted(scope.area_ids | set(upper))


def person_unplaced_list_for_user(*, user: Principal) -> QuerySet[Person]:
    """Persons no room places yet (grid empty) in the caller's placement pool, oldest first:
    the community clerk's 待落位 list."""
    scope = registry_scope(user)
    return (Person.objects.filter(grid__isnull=True, is_deceased=False, area_id__in=placement_pool(scope))
            .select_related("area").order_by("area_id", "id"))


def room_find_for_user(*, user: Principal, address: str) -> Room:
    """The one room in the caller's grids an address names (``江景苑3幢1单元101``,
    ``望江路12号 1-101``); else :class:`ValidationFailed` for ``room`` saying what is missing."""
    scope = registry_scope(user)
    parsed = parse_address_query(" ".join(to_half_width(address).split()))
    if parsed.room is None or (not parsed.text and parsed.building is None):
        raise ValidationFailed("room", _("请写到室号,例如“江景苑3幢1单元101”或“望江路12号 1-101”"))
    buildings = Building.objects.filter(grid_id__in=sorted(scope.grid_ids))
    if parsed.text:
        buildings = buildings.filter(Q(address__icontains=parsed.text) | Q(compound__icontains=parsed.text))
    if parsed.building is not None:
        number = parsed.building
        buildings = buildings.filter(name__in=[number] + [number + s for s in ("幢", "栋", "号楼", "号", "座")])
    rooms = Room.objects.filter(building__in=buildings, number=parsed.room).select_related("building", "unit")
    if parsed.unit is not None:
        rooms = rooms.filter(unit__number=parsed.unit)
    found = list(rooms.order_by("id")[:2])
    if not found:
        raise ValidationFailed("room", _("您的辖区内没有找到这个房屋"))
    if len(found) > 1:
        raise ValidationFailed("room", _("这个地址对应多个房屋,请写全小区、楼栋和单元"))
    return found[0]


# --- details --------------------------------------------------------------------------------


def person_get_for_user(*, user: Principal, person_id: int) -> Person:
    """A person in the caller's grids, or a not-yet-placed one in their placement pool."""
    scope = registry_scope(user)
    person = (
        Person.objects.select_related("building", "room", "room__unit", "grid", "household", "area")
        .filter(Q(grid_id__in=sorted(scope.grid_ids))
                | Q(grid__isnull=True, area_id__in=placement_pool(scope)), pk=person_id).first()
    )
    if person is None:
        raise NotFound()
    return person


def household_get_for_user(*, user: Principal, household_id: int) -> Household:
    return _household_in(registry_scope(user), household_id)


def _household_in(scope: AreaScope, household_id: int) -> Household:
    household = (
        Household.objects.select_related("room", "room__unit", "room__building", "grid", "head")
        .filter(pk=household_id, grid_id__in=sorted(scope.grid_ids)).first()
    )
    if household is None:
        raise NotFound()
    return household


@dataclass(frozen=True)
class HouseholdView:
    """A household as one viewer may see it.

    Members outside the viewer's grids are only counted (``others``): no name, birth date,
    identifier, phone or tag of theirs leaves the selector, and ``head`` is ``None`` when
    the head lives in another area. HTML, API and any other reader use this, never
    ``household.members`` directly.
    """

    household: Household
    head: Person | None
    members: list[Person]
    tags: dict[int, list[PersonTag]]
    others: int


def _split_by_scope(persons: list[Person], scope: AreaScope) -> tuple[list[Person], int]:
    inside = [p for p in persons if p.grid_id in scope.grid_ids]
    return inside, len(persons) - len(inside)


def _active_tags_of(persons: list[Person], on: date) -> dict[int, list[PersonTag]]:
    tags: dict[int, list[PersonTag]] = defaultdict(list)
    if persons:
        for tag in PersonTag.objects.filter(_active_tags(on), person__in=persons).order_by("kind", "id"):
            tags[tag.person_id].append(tag)
    return dict(tags)


def household_view_for_user(
    *, user: Principal, household_id: int, on: date | None = None,
) -> HouseholdView:
    """The household (scoped like any read), its members in the viewer's grids with their
    active tags (head first, then by birth date) and the count of the others."""
    scope = registry_scope(user)
    household = _household_in(scope, household_id)
    everyone = list(household.members.select_related("room").order_by("birth_date", "id"))
    members, others = _split_by_scope(sorted(everyone, key=lambda p: p.relation != "head"), scope)
    head = household.head if household.head is not None and household.head.grid_id in scope.grid_ids else None
    return HouseholdView(household=household, head=head, members=members,
                         tags=_active_tags_of(members, on or timezone.localdate()), others=others)


def room_residents_for_user(*, user: Principal, room: Room) -> tuple[list[Person], int]:
    """Residents of a room in the viewer's grids, and how many others live there (counted only)."""
    return _split_by_scope(list(room.residents.order_by("id")), registry_scope(user))


def building_list_for_user(
    *, user: Principal, grid_id: int | None = None, query: str = "",
) -> QuerySet[Building]:
    scope = registry_scope(user)
    grids = sorted(scope.grid_ids) if grid_id is None else [g for g in [grid_id] if g in scope.grid_ids]
    rows = Building.objects.filter(grid_id__in=grids).select_related("grid")
    text = query.strip()
    if text:
        rows = rows.filter(Q(address__icontains=text) | Q(compound__icontains=text)
                           | Q(name__icontains=text))
    return rows.order_by("address", "id")


def building_page_in_natural_order(
    rows: QuerySet[Building], *, limit: int, offset: int,
) -> tuple[int, list[Building]]:
    """One page of buildings by address with numbers compared as numbers (1幢 < 2幢 < 10幢).
    SQL sorts text, so the selection's ids and addresses (a street holds a few thousand
    buildings) are sorted here and only the page's rows are read."""
    keyed = sorted(rows.values_list("id", "address"), key=lambda row: (natural_key(row[1]), row[0]))
    ids = [pk for pk, _address in keyed[offset: offset + limit]]
    by_id = rows.in_bulk(ids)
    return len(keyed), [by_id[pk] for pk in ids]


def building_get_for_user(*, user: Principal, building_id: int) -> Building:
    return _building_in(registry_scope(user), building_id)


def _building_in(scope: AreaScope, building_id: int) -> Building:
    building = Building.objects.select_related("grid").filter(
        pk=building_id, grid_id__in=sorted(scope.grid_ids),
    ).first()
    if building is None:
        raise NotFound()
    return building


def building_units(*, building: Building) -> list[Unit]:
    """Units in order with their rooms prefetched (floor, number): two queries."""
    rooms = Prefetch("rooms", queryset=Room.objects.order_by("floor", "number"))
    return list(building.units.prefetch_related(rooms).order_by("number"))


def room_get_for_user(*, user: Principal, room_id: int) -> Room:
    scope = registry_scope(user)
    room = Room.objects.select_related("unit", "building", "building__grid").filter(
        pk=room_id, building__grid_id__in=sorted(scope.grid_ids),
    ).first()
    if room is None:
        raise NotFound()
    return room


def organisation_list_for_user(
    *, user: Principal, grid_id: int | None = None,
) -> QuerySet[Organisation]:
    scope = registry_scope(user)
    grids = sorted(scope.grid_ids) if grid_id is None else [g for g in [grid_id] if g in scope.grid_ids]
    return Organisation.objects.filter(grid_id__in=grids).select_related("grid").order_by("name", "id")


def facility_list_for_user(
    *, user: Principal, grid_id: int | None = None, kind: str | None = None,
) -> QuerySet[Facility]:
    scope = registry_scope(user)
    grids = sorted(scope.grid_ids) if grid_id is None else [g for g in [grid_id] if g in scope.grid_ids]
    rows = Facility.objects.filter(grid_id__in=grids).select_related("grid")
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("code")


def area_list_for_user(*, user: Principal) -> QuerySet[Area]:
    """The caller's areas and everything under them (not their ancestors)."""
    scope = registry_scope(user)
    return Area.objects.filter(pk__in=sorted(scope.area_ids)).order_by("path")


def area_get_for_user(*, user: Principal, area_id: int) -> Area:
    scope = registry_scope(user)
    if area_id not in scope.area_ids:
        raise NotFound()
    return Area.objects.get(pk=area_id)


def person_export_for_user(*, user: Principal, grid_id: int) -> tuple[Area, QuerySet[Person]]:
    """A grid and its persons (masked columns only) for an export; needs ``EXPORT_REGISTRY``.

    The permission is checked before the grid, so a user without it learns nothing about
    which grids exist; a grid outside the caller's scope is :class:`NotFound`.
    """
    scope = registry_scope(user)
    if not scope.can(Permission.EXPORT_REGISTRY):
        raise PermissionDenied(_("无权导出名单"))
    if grid_id not in scope.grid_ids:
        raise NotFound()
    grid = Area.objects.get(pk=grid_id)
    persons = (
        Person.objects.filter(grid_id=grid_id)
        .select_related("building", "room", "room__unit")
        # Ciphertexts stay in the database: an export holds masked values only.
        .only("name", "sex", "birth_date", "id_number_masked", "phone_masked", "hukou",
              "ethnicity", "relation", "is_deceased", "grid", "building", "building__address",
              "room", "room__number", "room__unit", "room__unit__number")
        .order_by("building__address", "room_id", "id")
    )
    return grid, persons


@dataclass(frozen=True)
class PersonFilter:
    """Filters of the key-population list (重点人群名单): tag kind, grid, age range in years."""

    tag: str = ""
    grid_id: int | None = None
    age_min: int | None = None
    age_max: int | None = None


AGE_MAX = 130


def _years_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)


def age_on(birth: date, on: date) -> int:
    """Whole years from ``birth`` to ``on`` (born on 29 February: a year older on 1 March)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def parse_person_filter(
    *, tag: str = "", grid_id: int | None = None, age_min: int | None = None, age_max: int | None = None,
) -> PersonFilter:
    """Check the filters; a bad one raises :class:`ValidationFailed` naming the field."""
    tag = tag.strip()
    if tag and tag not in TagKind.values:
        raise ValidationFailed("tag", _("未知的重点人群类别:%(tag)s") % {"tag": tag})
    for name, value in (("age_min", age_min), ("age_max", age_max)):
        if value is not None and not 0 <= value <= AGE_MAX:
            raise ValidationFailed(name, _("年龄应在 0 到 %(max)d 岁之间") % {"max": AGE_MAX})
    if age_min is not None and age_max is not None and age_min > age_max:
        raise ValidationFailed("age_max", _("最大年龄不能小于最小年龄"))
    return PersonFilter(tag=tag, grid_id=grid_id, age_min=age_min, age_max=age_max)


def person_list_for_user(
    *, user: Principal, filters: PersonFilter, on: date | None = None,
) -> QuerySet[Person]:
    """Living persons in the caller's grids (and, without a grid filter, the not-yet-placed
    ones of their areas) matching ``filters``, in walking order (grid, building, room): the
    list behind the home page's tiles.

    A grid outside the caller's scope gives an empty list, like any grid they cannot see.
    A tag counts while it is valid on ``on`` (today), as the tiles count it.
    """
    scope = registry_scope(user)
    on = on or timezone.localdate()
    if filters.grid_id is None:
        rows = Person.objects.filter(residents_of(sorted(scope.grid_ids), sorted(scope.area_ids)), is_deceased=False)
    else:
        grids = [filters.grid_id] if filters.grid_id in scope.grid_ids else []
        rows = Person.objects.filter(grid_id__in=grids, is_deceased=False)
    if filters.tag:
        tagged = PersonTag.objects.filter(_active_tags(on), person_id=OuterRef("pk"), kind=filters.tag)
        rows = rows.filter(Exists(tagged))
    if filters.age_min is not None:
        # Aged at least N: born on or before this day N years ago.
        rows = rows.filter(birth_date__lte=_years_before(on, filters.age_min))
    if filters.age_max is not None:
        # Aged at most N: not yet N + 1, i.e. born after this day N + 1 years ago.
        rows = rows.filter(birth_date__gt=_years_before(on, filters.age_max + 1))
    return rows.select_related("building", "room", "room__unit", "grid").order_by(
        "grid__path", "building__address", "room__unit__number", "room__number", "id")


def _active_tags(on: date) -> Q:
    return Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on))


def person_tags_active(*, person: Person, on: date | None = None) -> list[PersonTag]:
    on = on or timezone.localdate()
    return list(PersonTag.objects.filter(_active_tags(on), person=person).order_by("kind", "id"))


def person_history(*, person: Person, limit: int | None = None) -> list[AuditEntry]:
    """The person's audit entries, newest first; ``limit``: only that many, cut by the
    database (every view of a sensitive person adds one: the list only grows)."""
    entries = audit_entries_for_target(target_type=PERSON_TARGET, target_id=str(person.pk)).order_by("-seq")
    return list(entries if limit is None else entries[:limit])


# --- building chart (楼栋图) -----------------------------------------------------------------


@dataclass(frozen=True)
class ChartCell:
    """One room on the chart."""

    room_id: int
    number: str
    floor: int
    use: str
    residents: int
    tag_kinds: tuple[str, ...]
    vulnerable: bool
    household_ids: tuple[int, ...]
    # Residents registered in grids outside the viewer's scope: a count, nothing else.
    other_residents: int = 0


@dataclass(frozen=True)
class ChartFloor:
    floor: int
    cells: tuple[ChartCell, ...]


@dataclass(frozen=True)
class ChartUnit:
    unit_id: int
    number: int
    floors: tuple[ChartFloor, ...]


@dataclass(frozen=True)
class BuildingChart:
    """Units side by side; each unit's floors from top to bottom, rooms left to right."""

    building: Building
    units: tuple[ChartUnit, ...]
    floors: tuple[int, ...]
    rooms: int = 0
    residents: int = 0
    use_counts: dict[str, int] = field(default_factory=dict)
    # Person id → sensitive tag kinds the chart shows for them: the caller logs the access.
    sensitive_tags: dict[int, tuple[str, ...]] = field(default_factory=dict)


def building_chart(*, user: Principal, building_id: int, on: date | None = None) -> BuildingChart:
    """The 楼栋图 of a building in a constant number of queries (six, whatever its size).

    A building in scope may house persons registered in another grid: they are counted per
    room (``other_residents``) and their tags and households are left out.
    """
    scope = registry_scope(user)
    building = _building_in(scope, building_id)
    on = on or timezone.localdate()
    grids = sorted(scope.grid_ids)
    units = list(building.units.order_by("number"))
    rooms = list(Room.objects.filter(building=building).order_by("unit_id", "-floor", "number"))
    residents: dict[int, int] = defaultdict(int)
    others: dict[int, int] = defaultdict(int)
    for room_id, grid_id, n in (
        Person.objects.filter(building=building, is_deceased=False, room__isnull=False)
        .values("room_id", "grid_id").annotate(n=Count("id")).values_list("room_id", "grid_id", "n")
    ):
        (residents if grid_id in scope.grid_ids else others)[room_id] += n
    kinds: dict[int, set[str]] = defaultdict(set)
    sensitive: dict[int, set[str]] = defaultdict(set)
    for room_id, person_id, kind in (
        PersonTag.objects.filter(_active_tags(on), person__building=building, person__grid_id__in=grids,
                                 person__is_deceased=False, person__room__isnull=False)
        .values_list("person__room_id", "person_id", "kind").distinct()
    ):
        kinds[room_id].add(kind)
        if kind in SENSITIVE_TAGS:
            sensitive[person_id].add(kind)
    households: dict[int, list[int]] = defaultdict(list)
    for room_id, household_id in (
        Household.objects.filter(room__building=building, grid_id__in=grids).order_by("id")
        .values_list("room_id", "id")
    ):
        households[room_id].append(household_id)
    by_unit: dict[int, dict[int, list[ChartCell]]] = defaultdict(lambda: defaultdict(list))
    use_counts: dict[str, int] = defaultdict(int)
    for room in rooms:
        tag_kinds = tuple(sorted(kinds.get(room.pk, ())))
        by_unit[room.unit_id][room.floor].append(ChartCell(
            room_id=room.pk, number=room.number, floor=room.floor, use=room.use,
            residents=residents.get(room.pk, 0), tag_kinds=tag_kinds,
            vulnerable=any(k in VULNERABLE_TAGS for k in tag_kinds),
            household_ids=tuple(households.get(room.pk, ())),
            other_residents=others.get(room.pk, 0),
        ))
        use_counts[room.use] += 1
    chart_units = tuple(
        ChartUnit(unit_id=u.pk, number=u.number, floors=tuple(
            ChartFloor(floor=f, cells=tuple(cells))
            for f, cells in sorted(by_unit[u.pk].items(), reverse=True)
        ))
        for u in units
    )
    all_floors = tuple(sorted({r.floor for r in rooms}, reverse=True))
    return BuildingChart(building=building, units=chart_units, floors=all_floors, rooms=len(rooms),
                         residents=sum(residents.values()), use_counts=dict(use_counts),
                         sensitive_tags={pk: tuple(sorted(k)) for pk, k in sensitive.items()})


# --- dashboard counts -----------------------------------------------------------------------


def registry_counts_for_user(*, user: Principal, on: date | None = None, scope: AreaScope | None = None
                             ) -> dict[str, int]:
    """Headline counts for the caller's area; tagged persons as ``tag:<kind>``.

    Kept for ``LINLI_REGISTRY_COUNTS_SECONDS`` (0: never) per scope (the exact set of areas)
    and day in Django's cache (``core.scoped_cache``): for a street or a district they count
    every person, room and tag in scope (120 ms for a street of 74,000 residents on SQLite),
    and people come back to the home page all day. Counts on the home page may so be that
    many seconds old; a user of other areas never gets these. ``scope``: the caller's, when
    already read (``registry_scope(user)``).
    """
    scope = scope if scope is not None else registry_scope(user)
    on = on or timezone.localdate()
    grids = sorted(scope.grid_ids)
    areas = sorted(scope.area_ids)
    # The placement pool follows from the areas (their paths): read only on a miss, not on
    # every hit (the cockpit's figures, issue 21).
    counts = scoped_cached(
        "registry.counts", scope=(tuple(areas), tuple(grids)), params=(on,),
        seconds=settings.LINLI_REGISTRY_COUNTS_SECONDS,
        compute=lambda: _registry_counts(grids, on, areas, placement_pool(scope)))
    return dict(counts)


def _registry_counts(grids: list[int], on: date, areas: list[int], pool: list[int]) -> dict[str, int]:
    # Not-yet-placed persons of the caller's own areas count as residents (they live here,
    # the room is what is missing); the wider pool is counted apart, as work to do.
    alive = Person.objects.filter(residents_of(grids, areas), is_deceased=False)
    try:
        elder_born_by = on.replace(year=on.year - ELDER_AGE)
    except ValueError:  # 29 February
        elder_born_by = on.replace(year=on.year - ELDER_AGE, day=28)
    counts = {
        "persons": alive.count(),
        "households": Household.objects.filter(grid_id__in=grids).count(),
        "buildings": Building.objects.filter(grid_id__in=grids).count(),
        "rooms": Room.objects.filter(building__grid_id__in=grids).count(),
        "organisations": Organisation.objects.filter(grid_id__in=grids).count(),
        "facilities": Facility.objects.filter(grid_id__in=grids).count(),
        "elders": alive.filter(birth_date__lte=elder_born_by).count(),
        "unplaced": Person.objects.filter(grid__isnull=True, is_deceased=False, area_id__in=pool).count(),
    }
    tagged = (
        PersonTag.objects.filter(_active_tags(on), residents_of(grids, areas, prefix="person__"),
                                 person__is_deceased=False)
        .values("kind").annotate(n=Count("person_id", distinct=True)).values_list("kind", "n")
    )
    counts |= {f"tag:{kind}": n for kind, n in tagged}
    return counts


# --- residents' portal: place pickers and self-registration matching ---------------------------
# The portal (a higher layer) shows a resident the places of a community to pick their own
# room, and asks whether the answers they gave match a person living there. Neither read
# returns anything about persons: the pickers list places only, the match returns the one
# matching person to the service that binds the account (never to a page).


def community_buildings(*, community_id: int) -> QuerySet[Building]:
    """Buildings in the grids under a community (for the room picker; places only)."""
    grids = Area.objects.filter(path__contains=f"/{community_id}/", level=AreaLevel.GRID).values("pk")
    return Building.objects.filter(grid_id__in=grids).order_by("compound", "name", "id")


def building_unit_list(*, building_id: int) -> list[Unit]:
    return list(Unit.objects.filter(building_id=building_id).order_by("number"))


def unit_room_list(*, unit_id: int) -> list[Room]:
    return list(Room.objects.filter(unit_id=unit_id).order_by("floor", "number"))


def room_of_community(*, community_id: int, room_id: int) -> Room:
    """The room if it lies in the community, else NotFound (the two are not told apart)."""
    room = Room.objects.select_related("unit", "building", "building__grid").filter(
        pk=room_id, building__grid__path__contains=f"/{community_id}/").first()
    if room is None:
        raise NotFound()
    return room


def id_suffix_index(suffix: str) -> str:
    """The keyed index of an ID number's last 4 characters (what a registration keeps)."""
    return pii.suffix_index(suffix.strip().upper(), field=PII_ID_NUMBER, length=4)


def resident_match(*, room_id: int, name: str, phone: str = "", id_suffix_bidx: str = "") -> Person | None:
    """The living person of the room with this exact name whose phone, or whose ID number's
    last 4 characters (given as :func:`id_suffix_index`), equal the ones given: equality on
    the blind and suffix indexes, never a decryption. None when nobody (or more than one
    person) matches."""
    name = name.strip()
    if not name or not (phone or id_suffix_bidx):
        return None
    either = Q(pk__in=[])
    if phone:
        either |= Q(phone_bidx=pii.blind_index(phone, field=PII_PHONE))
    if id_suffix_bidx:
        either |= Q(id_number_s4_bidx=id_suffix_bidx)
    found = list(Person.objects.filter(either, room_id=room_id, name=name, is_deceased=False)
                 .select_related("household")[:2])
    return found[0] if len(found) == 1 else None


def household_members(*, household_id: int) -> list[Person]:
    """Members of one household (the caller has established that it is the viewer's own)."""
    return list(Person.objects.filter(household_id=household_id, is_deceased=False).order_by("id"))
