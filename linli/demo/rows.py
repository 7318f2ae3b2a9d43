"""Plain rows produced by the generator, already carrying the database ids they will get.

Personal identifiers are plaintext here; :mod:`linli.demo.services` encrypts them on the way
into the database. Dates are ``datetime.date``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shapely.geometry import Polygon


@dataclass(slots=True)
class IdCounters:
    """The next free id per table; ids are assigned up front so foreign keys need no reads."""

    area: int = 1
    building: int = 1
    unit: int = 1
    room: int = 1
    household: int = 1
    person: int = 1
    tag: int = 1
    organisation: int = 1
    facility: int = 1

    def take(self, table: str) -> int:
        value: int = getattr(self, table)
        setattr(self, table, value + 1)
        return value


@dataclass(slots=True)
class AreaRow:
    """One node of the area tree with its GeoJSON boundary."""

    id: int
    level: int
    code: str
    name: str
    parent_id: int | None
    path: str
    boundary: dict[str, Any]
    centroid_lon: float
    centroid_lat: float


@dataclass(slots=True)
class GridPlan:
    """A grid to fill: its area row, polygon, community and how many residents it gets."""

    area: AreaRow
    polygon: Polygon
    community_index: int
    seq_in_community: int
    seq: int
    residents: int


@dataclass(slots=True)
class BuildingRow:
    """A building (楼栋) of a compound, with its kind (``old``/``mid``/``new``)."""

    id: int
    grid_id: int
    compound: str
    name: str
    address: str
    lon: float
    lat: float
    floors: int
    built_year: int
    kind: str
    street_side: bool
    road: str
    footprint: dict[str, Any] | None = None  # GeoJSON Polygon: the outline on the base map


@dataclass(slots=True)
class UnitRow:
    """An entrance (单元)."""

    id: int
    building_id: int
    number: int


@dataclass(slots=True)
class RoomRow:
    """A room (房屋); ``area_m2`` is a decimal string such as ``"65.50"``."""

    id: int
    unit_id: int
    building_id: int
    floor: int
    number: str
    use: str
    area_m2: str


@dataclass(slots=True)
class HouseholdRow:
    """A household (户) in a room."""

    id: int
    number: str
    room_id: int | None
    grid_id: int
    head_id: int | None


@dataclass(slots=True)
class PersonRow:
    """A resident with plaintext identifiers (empty strings when there are none)."""

    id: int
    name: str
    id_number: str
    birth_date: date
    sex: str
    phone: str
    hukou: str
    ethnicity: str
    room_id: int | None
    building_id: int | None
    grid_id: int
    household_id: int | None
    relation: str
    is_deceased: bool = False
    deceased_on: date | None = None


@dataclass(slots=True)
class TagRow:
    """A key-population tag with its source and validity."""

    id: int
    person_id: int
    kind: str
    source: str
    valid_from: date
    valid_to: date | None = None
    note: str = ""


@dataclass(slots=True)
class OrganisationRow:
    """An organisation; ``contact_phone`` is plaintext."""

    id: int
    kind: str
    name: str
    credit_code: str
    grid_id: int
    building_id: int | None
    address: str
    lon: float
    lat: float
    contact_name: str
    contact_phone: str
    employees: int | None


@dataclass(slots=True)
class FacilityRow:
    """A facility with a point."""

    id: int
    kind: str
    code: str
    name: str
    grid_id: int
    building_id: int | None
    lon: float
    lat: float
    in_service: bool = True


@dataclass(slots=True)
class GridBatch:
    """Everything generated for one grid: written in one transaction."""

    grid: GridPlan
    buildings: list[BuildingRow] = field(default_factory=list)
    units: list[UnitRow] = field(default_factory=list)
    rooms: list[RoomRow] = field(default_factory=list)
    households: list[HouseholdRow] = field(default_factory=list)
    persons: list[PersonRow] = field(default_factory=list)
    tags: list[TagRow] = field(default_factory=list)
    organisations: list[OrganisationRow] = field(default_factory=list)
    facilities: list[FacilityRow] = field(default_factory=list)
