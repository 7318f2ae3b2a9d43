"""Writes of the registry: places, households, persons, organisations, facilities, tags.

Every function is keyword-only, owns its transaction and writes an audit entry inside it
with field *names* only. Personal identifiers are validated, then stored encrypted, as a
blind index and masked (see :mod:`linli.registry.models`).

A user may write only inside their own grids and with ``EDIT_REGISTRY``; a target outside
them is refused as :class:`~linli.core.errors.NotFound`, like a read of it, before anything
is written. System actors (imports, demo seeding, fusion, commands) are trusted callers and
pass (:mod:`.guards`). The writes live in :mod:`.places`, :mod:`.persons` and :mod:`.export`.
"""

from linli.registry.services.export import (
    EXPORT_FIELDS,
    LIST_EXPORT_ROWS_MAX,
    PersonExport,
    PersonListExport,
    person_export,
    person_list_access_record,
    person_list_export,
    person_list_xlsx,
)
from linli.registry.services.guards import CHINA_LAT, CHINA_LON, validate_point
from linli.registry.services.persons import (
    ID_NUMBER_UNIQUE,
    PERSON,
    REVEAL_REASON_MIN,
    UNSET,
    _phone_columns,
    person_access_record,
    person_create,
    person_mark_deceased,
    person_move,
    person_place,
    person_reveal,
    person_search_by_id_record,
    person_tag_add,
    person_tag_end,
    person_update,
    sensitive_tags_shown_record,
)
from linli.registry.services.places import (
    BuildingLoadReport,
    building_create,
    buildings_load,
    facility_create,
    household_create,
    organisation_create,
    room_create,
    room_set_use,
    unit_create,
)

__all__ = [
    "CHINA_LAT",
    "CHINA_LON",
    "EXPORT_FIELDS",
    "ID_NUMBER_UNIQUE",
    "LIST_EXPORT_ROWS_MAX",
    "PERSON",
    "REVEAL_REASON_MIN",
    "UNSET",
    "BuildingLoadReport",
    "PersonExport",
    "PersonListExport",
    "_phone_columns",  # the fusion benchmark stores phones exactly as person_create does
    "building_create",
    "buildings_load",
    "facility_create",
    "household_create",
    "organisation_create",
    "person_access_record",
    "person_create",
    "person_export",
    "person_list_access_record",
    "person_list_export",
    "person_list_xlsx",
    "person_mark_deceased",
    "person_move",
    "person_place",
    "person_reveal",
    "person_search_by_id_record",
    "person_tag_add",
    "person_tag_end",
    "person_update",
    "room_create",
    "room_set_use",
    "sensitive_tags_shown_record",
    "unit_create",
    "validate_point",
]
