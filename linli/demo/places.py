"""Compounds, buildings, units and rooms of a grid.

Most of the stock is the 1980s–90s walk-up (老小区: 5–7 floors, two flats per landing);
some mid-rise blocks from the 2000s and a few high-rises. Buildings on the road have shops
on the ground floor.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass
from typing import Final

from linli.demo.geometry import PointSampler, footprint
from linli.demo.rows import BuildingRow, IdCounters, RoomRow, UnitRow
from linli.registry.choices import RoomUse

CITY_PREFIX: Final = "杭州市上城区"


@dataclass(frozen=True)
class BuildingKind:
    """A type of housing stock: floors, units, flats per landing, flat size, build years."""

    name: str
    weight: float
    floors: tuple[int, ...]
    units: tuple[int, ...]
    per_floor: tuple[int, ...]
    area_m2: tuple[float, float]
    years: tuple[int, int]
    buildings: tuple[int, int]


BUILDING_KINDS: Final = (
    BuildingKind("old", 0.6, (5, 6, 6, 6, 7), (2, 2, 3, 3, 4), (2, 2, 2, 3), (38.0, 78.0), (1978, 1999), (4, 14)),
    BuildingKind("mid", 0.25, (6, 7, 9, 11), (2, 3, 3), (2, 2, 3, 4), (68.0, 125.0), (2000, 2009), (3, 10)),
    BuildingKind("new", 0.15, (11, 14, 17, 18), (2, 2, 3, 4), (2, 3, 4), (78.0, 145.0), (2010, 2021), (3, 9)),
)


@dataclass(slots=True)
class Compound:
    """A residential compound (小区) with its road address."""

    name: str
    road: str
    number: int
    kind: BuildingKind


@dataclass(slots=True)
class GridStock:
    """The buildings, units and rooms of one grid, and which rooms people can live in."""

    compounds: list[Compound]
    buildings: list[BuildingRow]
    units: list[UnitRow]
    rooms: list[RoomRow]
    residential: list[RoomRow]
    commercial: list[RoomRow]


def _pick_kind(rng: random.Random) -> BuildingKind:
    roll = rng.random()
    for kind in BUILDING_KINDS:
        if roll < kind.weight:
            return kind
        roll -= kind.weight
    return BUILDING_KINDS[-1]


def build_stock(
    rng: random.Random, *, grid_id: int, sampler: PointSampler, rooms_needed: int,
    compound_names: list[str], roads: list[str], ids: IdCounters,
) -> GridStock:
    """Add compounds until the grid has at least ``rooms_needed`` residential rooms."""
    stock = GridStock([], [], [], [], [], [])
    while len(stock.residential) < max(rooms_needed, 1):
        kind = _pick_kind(rng)
        compound = Compound(compound_names.pop(), rng.choice(roads), rng.randrange(1, 400), kind)
        stock.compounds.append(compound)
        centre = sampler.sample(rng)
        for k in range(1, rng.randint(*kind.buildings) + 1):
            left = rooms_needed - len(stock.residential)
            _add_building(rng, stock, compound, k, grid_id, sampler.near(rng, centre, spread=0.0012), ids, left)
            if len(stock.residential) >= rooms_needed:
                break
    return stock


def _add_building(
    rng: random.Random, stock: GridStock, compound: Compound, k: int, grid_id: int,
    point: tuple[float, float], ids: IdCounters, rooms_left: int,
) -> None:
    kind = compound.kind
    floors = rng.choice(kind.floors)
    per_floor = rng.choice(kind.per_floor)
    units = rng.choice(kind.units)
    # The grid's last building is only as big as still needed (small streets stay lived-in).
    units = max(1, min(units, math.ceil(rooms_left / (floors * per_floor))))
    if units == 1:
        floors = max(min(kind.floors), min(floors, math.ceil(rooms_left / per_floor)))
    street_side = kind.name != "new" and k <= 2 and rng.random() < 0.35
    # The outline: about 6.5 m of frontage a flat, one flat deep (towers deeper); a compound's
    # blocks face one way, turned by a hash of its name (no random draw: the rest of the demo
    # stays the same).
    outline = footprint(
        point[0], point[1], width_m=units * per_floor * 6.5, depth_m=18.0 if kind.name == "new" else 11.0,
        angle_deg=zlib.crc32(compound.name.encode()) % 60 - 30,
    )
    building = BuildingRow(
        id=ids.take("building"), grid_id=grid_id, compound=compound.name, name=f"{k}幢",
        address=f"{CITY_PREFIX}{compound.road}{compound.number}号{compound.name}{k}幢",
        lon=point[0], lat=point[1], floors=floors, built_year=rng.randint(*kind.years),
        kind=kind.name, street_side=street_side, road=compound.road, footprint=outline,
    )
    stock.buildings.append(building)
    low, high = kind.area_m2
    for number in range(1, units + 1):
        unit = UnitRow(id=ids.take("unit"), building_id=building.id, number=number)
        stock.units.append(unit)
        for floor in range(1, floors + 1):
            commercial = street_side and floor == 1
            for position in range(1, per_floor + 1):
                room = RoomRow(
                    id=ids.take("room"), unit_id=unit.id, building_id=building.id, floor=floor,
                    number=f"{floor}{position:02d}",
                    use=RoomUse.COMMERCIAL.value if commercial else RoomUse.SELF_OCCUPIED.value,
                    area_m2=f"{rng.uniform(low, high):.2f}",
                )
                stock.rooms.append(room)
                (stock.commercial if commercial else stock.residential).append(room)


def assign_uses(
    rng: random.Random, stock: GridStock, *, rented: int, occupied: int,
    old_building_ids: set[int],
) -> tuple[list[RoomRow], list[RoomRow]]:
    """Pick rooms for renting households and for owners; the rest stay vacant.

    Rented rooms come twice as often from old walk-ups (weighted sampling without
    replacement: the largest ``u ** (1 / w)`` win).
    """
    keyed = sorted(
        stock.residential,
        key=lambda room: rng.random() ** (0.5 if room.building_id in old_building_ids else 1.0),
        reverse=True,
    )
    to_rent = keyed[:rented]
    rest = keyed[rented:]
    rng.shuffle(rest)
    owned = rest[:occupied]
    for room in to_rent:
        room.use = RoomUse.RENTED.value
    for room in rest[occupied:]:
        room.use = RoomUse.VACANT.value
    return to_rent, owned
