"""API output and input schemas of the registry. Personal identifiers appear masked only."""

from __future__ import annotations

from datetime import date
from typing import Any, Generic, Literal, TypeVar

from ninja import Schema
from pydantic import Field

T = TypeVar("T")


class Page(Schema, Generic[T]):
    """One page of a list: ``count`` is the total in scope, ``items`` at most ``limit``."""

    count: int
    limit: int
    offset: int
    items: list[T]


class PersonPage(Page[T]):
    """A page of persons. For a search (``q``) ``count`` is the results up to the end of this
    page (searches are not counted in full) and ``has_more`` says whether another follows;
    for a filtered list ``count`` is the total and ``has_more`` follows from it."""

    has_more: bool = False


class AreaOut(Schema):
    id: int
    level: int
    code: str
    name: str
    parent_id: int | None
    centroid_lon: float | None
    centroid_lat: float | None


class AreaDetailOut(AreaOut):
    boundary: dict[str, Any] | None


class BuildingOut(Schema):
    id: int
    grid_id: int
    compound: str
    name: str
    address: str
    lon: float
    lat: float
    floors: int
    built_year: int | None


class RoomOut(Schema):
    id: int
    building_id: int
    unit_id: int
    floor: int
    number: str
    use: str


class UnitOut(Schema):
    id: int
    number: int
    rooms: list[RoomOut]


class BuildingDetailOut(BuildingOut):
    units: list[UnitOut]


class ChartCellOut(Schema):
    room_id: int
    number: str
    floor: int
    use: str
    residents: int
    tag_kinds: list[str]
    vulnerable: bool
    household_ids: list[int]
    other_residents: int


class ChartFloorOut(Schema):
    floor: int
    cells: list[ChartCellOut]


class ChartUnitOut(Schema):
    unit_id: int
    number: int
    floors: list[ChartFloorOut]


class BuildingChartOut(Schema):
    building: BuildingOut
    units: list[ChartUnitOut]
    floors: list[int]
    rooms: int
    residents: int
    use_counts: dict[str, int]


class TagOut(Schema):
    id: int
    kind: str
    source: str
    valid_from: date
    valid_to: date | None


class PersonOut(Schema):
    id: int
    name: str
    sex: str
    birth_date: date | None
    id_number_masked: str
    phone_masked: str
    hukou: str
    ethnicity: str
    grid_id: int | None
    building_id: int | None
    room_id: int | None
    household_id: int | None
    relation: str
    is_deceased: bool


class PersonDetailOut(PersonOut):
    tags: list[TagOut]


class RoomDetailOut(RoomOut):
    unit_number: int
    building: BuildingOut
    residents: list[PersonOut]
    # Residents registered in another area: counted, never described.
    other_residents: int = 0


class HouseholdOut(Schema):
    id: int
    number: str
    grid_id: int
    room_id: int | None
    head_id: int | None
    members: list[PersonOut]
    # Members registered outside the caller's areas: counted, never described.
    other_members: int = 0


class RevealIn(Schema):
    field: Literal["id_number", "phone"]
    reason: str = Field(max_length=500)


class RevealOut(Schema):
    value: str


class OrganisationOut(Schema):
    id: int
    kind: str
    name: str
    credit_code: str
    grid_id: int
    building_id: int | None
    address: str
    lon: float | None
    lat: float | None
    contact_name: str
    contact_phone_masked: str
    employees: int | None


class FacilityOut(Schema):
    id: int
    kind: str
    code: str
    name: str
    grid_id: int
    building_id: int | None
    lon: float
    lat: float
    in_service: bool
