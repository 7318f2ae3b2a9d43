"""Deterministic generator of the demo street (望江街道, 上城区, Hangzhou).

``plan_street`` draws the area tree; ``StreetGenerator.grid_batches`` then yields one
:class:`~linli.demo.rows.GridBatch` per grid with buildings, rooms, households, residents,
tags, organisations and facilities. Every grid has its own random stream derived from the
seed, so the same seed gives the same street however the work is chunked, and memory stays
bounded by the largest grid.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from linli.demo.geometry import PointSampler, geojson, lattice_cells, lattice_roads, union
from linli.demo.names import ROADS, compound_names
from linli.demo.people import (
    CANLIAN,
    GRID_SURVEY,
    JUSTICE,
    LOCAL,
    MINZHENG,
    REFERENCE_DATE,
    VETERANS_BUREAU,
    WEIJIAN,
    ZONGZHI,
    Member,
    PersonMaker,
    anniversary,
    birth_from_age,
    disability_chance,
    disability_note,
    pick_household_kind,
    recent_date,
)
from linli.demo.places import assign_uses, build_stock
from linli.demo.rows import (
    AreaRow,
    GridBatch,
    GridPlan,
    HouseholdRow,
    IdCounters,
    PersonRow,
    TagRow,
)
from linli.demo.things import OrganisationMaker, make_facilities, make_organisations
from linli.geo.choices import AreaLevel
from linli.registry.choices import Relation, TagKind

if TYPE_CHECKING:
    from linli.demo.selectors import DemoAccount

DEFAULT_RESIDENTS: Final = 74_000
DEFAULT_SEED: Final = 2026
DISTRICT: Final = ("330102", "上城区")
STREET: Final = ("330102003", "望江街道")
COMMUNITIES: Final = (
    "近江社区", "婺江社区", "望江社区", "南星社区", "始版桥社区", "双菱社区", "红梅社区",
    "秋涛社区", "江城社区",
)
GRIDS_PER_COMMUNITY: Final = (5, 4, 4, 4, 4, 4, 4, 4, 4)
# Two big communities split their grids into zones (片区): (zone name, grids in it).
ZONES: Final = {0: (("近江东片区", 3), ("近江西片区", 2)), 4: (("始版桥北片区", 2), ("始版桥南片区", 2))}
VACANT_SHARE: Final = 0.05


@dataclass
class StreetPlan:
    """The area tree of the street and how many residents each grid gets."""

    seed: int
    residents: int
    areas: list[AreaRow]
    grids: list[GridPlan]
    communities: list[AreaRow]
    # Named roads along the grids' edges, the same names as the addresses: (name, GeoJSON line).
    roads: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    @property
    def district(self) -> AreaRow:
        return self.areas[0]

    @property
    def street(self) -> AreaRow:
        return self.areas[1]


def _split(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of ``total`` by ``weights`` (the parts add up exactly)."""
    scale = sum(weights)
    raw = [total * w / scale for w in weights]
    parts = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def plan_street(*, seed: int, residents: int, ids: IdCounters | None = None) -> StreetPlan:
    """District > street > 9 communities (> zones) > 37 grids, with polygons and paths."""
    ids = ids or IdCounters()
    rng = random.Random(f"linli-demo:{seed}:geometry")
    cells = lattice_cells(rng, sum(GRIDS_PER_COMMUNITY))
    areas: list[AreaRow] = []

    def add(level: AreaLevel, code: str, name: str, parent: AreaRow | None, geometry: object) -> AreaRow:
        area_id = ids.take("area")
        centroid = geometry.centroid  # type: ignore[attr-defined]
        row = AreaRow(
            id=area_id, level=int(level), code=code, name=name,
            parent_id=parent.id if parent else None,
            path=f"{parent.path if parent else '/'}{area_id}/",
            boundary=geojson(geometry), centroid_lon=round(centroid.x, 6),
            centroid_lat=round(centroid.y, 6),
        )
        areas.append(row)
        return row

    outline = union([c.polygon for c in cells])
    district = add(AreaLevel.DISTRICT, DISTRICT[0], DISTRICT[1], None, outline)
    street = add(AreaLevel.STREET, STREET[0], STREET[1], district, outline)
    weights = [rng.uniform(0.65, 1.35) for _ in cells]
    shares = _split(residents, weights)
    grids: list[GridPlan] = []
    communities: list[AreaRow] = []
    start = 0
    for index, (name, count) in enumerate(zip(COMMUNITIES, GRIDS_PER_COMMUNITY, strict=True)):
        own = cells[start:start + count]
        code = f"{street.code}{index + 1:03d}"
        community = add(AreaLevel.COMMUNITY, code, name, street, union([c.polygon for c in own]))
        communities.append(community)
        parents = [community] * count
        if index in ZONES:
            parents = []
            offset = 0
            for z, (zone_name, size) in enumerate(ZONES[index]):
                members = own[offset:offset + size]
                zone = add(AreaLevel.ZONE, f"{code}9{z + 1:02d}", zone_name, community,
                           union([c.polygon for c in members]))
                parents += [zone] * size
                offset += size
        for k, (cell, parent) in enumerate(zip(own, parents, strict=True)):
            grid = add(AreaLevel.GRID, f"{code}{k + 1:03d}", f"{name}第{k + 1}网格", parent, cell.polygon)
            grids.append(GridPlan(
                area=grid, polygon=cell.polygon, community_index=index, seq_in_community=k + 1,
                seq=start + k + 1, residents=shares[start + k],
            ))
        start += count
    return StreetPlan(seed=seed, residents=residents, areas=areas, grids=grids, communities=communities,
                      roads=lattice_roads(cells, list(ROADS)))


class StreetGenerator:
    """Fills the grids of a plan, one batch per grid, ids taken from ``ids``."""

    def __init__(self, plan: StreetPlan, *, ids: IdCounters) -> None:
        self.plan = plan
        self.ids = ids
        self.people = PersonMaker()
        self.organisations = OrganisationMaker()
        names_rng = random.Random(f"linli-demo:{plan.seed}:compounds")
        self._compound_names = compound_names(names_rng)[::-1]  # popped from the end
        self._roads = list(ROADS)
        self._health = random.Random(f"linli-demo:{plan.seed}:health")  # replaced for each grid

    def grid_batches(self) -> Iterator[GridBatch]:
        for grid in self.plan.grids:
            yield self.grid_batch(grid)

    def grid_batch(self, grid: GridPlan) -> GridBatch:
        rng = random.Random(f"linli-demo:{self.plan.seed}:grid:{grid.seq}")
        # Tags added after the first release draw from their own stream: the rest of the
        # street (names, numbers, the other tags) stays what it was for the same seed.
        self._health = random.Random(f"linli-demo:{self.plan.seed}:grid:{grid.seq}:health")
        batch = GridBatch(grid=grid)
        households = self._households(rng, grid.residents)
        renting = [h for h in households if h[0]]
        owning = [h for h in households if not h[0]]
        sampler = PointSampler(grid.polygon)
        needed = math.ceil(len(households) / (1 - VACANT_SHARE))
        names = self._compound_names
        if len(names) < 50:  # never run dry on a million residents: start another round
            names[:0] = [f"{n}(新)" for n in compound_names(random.Random(len(names)))]
        stock = build_stock(
            rng, grid_id=grid.area.id, sampler=sampler, rooms_needed=needed,
            compound_names=names, roads=self._roads, ids=self.ids,
        )
        old = {b.id for b in stock.buildings if b.kind == "old"}
        to_rent, owned = assign_uses(rng, stock, rented=len(renting), occupied=len(owning), old_building_ids=old)
        batch.buildings, batch.units, batch.rooms = stock.buildings, stock.units, stock.rooms
        building_of = {r.id: r.building_id for r in stock.rooms}
        door_sensors: list[int] = []
        placed = [*zip(to_rent, renting, strict=True), *zip(owned, owning, strict=True)]
        placed.sort(key=lambda pair: pair[0].id)  # household numbers follow the buildings
        for seq, (room, (rented, members)) in enumerate(placed, start=1):
            sensor = self._household(rng, batch, grid, seq, room.id, building_of[room.id], members, rented=rented)
            if sensor:
                door_sensors.append(building_of[room.id])
        community = self.plan.communities[grid.community_index].name
        first = grid.seq_in_community == 1
        batch.organisations = make_organisations(
            rng, self.organisations, stock=stock, grid_id=grid.area.id, community=community,
            first_of_community=first, sampler=sampler, ids=self.ids,
        )
        batch.facilities = make_facilities(
            rng, stock=stock, grid_code=grid.area.code, grid_id=grid.area.id,
            residents=grid.residents, community=community, first_of_community=first,
            community_index=grid.community_index, sampler=sampler,
            door_sensor_buildings=door_sensors, ids=self.ids,
        )
        return batch

    @staticmethod
    def _households(rng: random.Random, residents: int) -> list[tuple[bool, list[Member]]]:
        """(rents, members) per household until exactly ``residents`` people are placed."""
        households: list[tuple[bool, list[Member]]] = []
        left = residents
        while left > 0:
            kind = pick_household_kind(rng)
            members = kind.make(rng)[:left]
            left -= len(members)
            households.append((rng.random() < kind.rent, members))
        return households

    def _household(
        self, rng: random.Random, batch: GridBatch, grid: GridPlan, seq: int, room_id: int,
        building_id: int, members: list[Member], *, rented: bool,
    ) -> bool:
        """Write one household and its members' rows; True when a door sensor is fitted."""
        ids = self.ids
        household = HouseholdRow(
            id=ids.take("household"), number=f"{grid.area.code}{seq:06d}", room_id=room_id,
            grid_id=grid.area.id, head_id=None,
        )
        batch.households.append(household)
        people = self.people
        base_ethnicity = people.ethnicity(rng, members[0].hukou)
        persons: list[PersonRow] = []
        surnames: list[str] = []
        for index, member in enumerate(members):
            birth = birth_from_age(rng, member.age)
            inherited = surnames[member.surname_of] if member.surname_of is not None else None
            surname, name = people.name(rng, member, birth, inherited or None)
            surnames.append(surname)
            ethnicity = base_ethnicity if (index == 0 or rng.random() < 0.9) else people.ethnicity(rng, member.hukou)
            persons.append(PersonRow(
                id=ids.take("person"), name=name,
                id_number=people.id_number(rng, hukou=member.hukou, birth=birth, male=member.male),
                birth_date=birth, sex=people.sex(member), phone=people.phone(rng, member.age),
                hukou=member.hukou, ethnicity=ethnicity, room_id=room_id, building_id=building_id,
                grid_id=grid.area.id, household_id=household.id, relation=member.relation,
            ))
        household.head_id = persons[0].id
        living = len(members)
        for member, person in zip(members, persons, strict=True):
            if member.age >= 75 and member.relation != Relation.HEAD and rng.random() < 0.03:
                person.is_deceased = True
                person.deceased_on = recent_date(rng, not_before=REFERENCE_DATE - timedelta(days=1000))
                living -= 1
        batch.persons.extend(persons)
        return self._tags(rng, batch, members, persons, living=living, rented=rented)

    def _tags(
        self, rng: random.Random, batch: GridBatch, members: list[Member], persons: list[PersonRow],
        *, living: int, rented: bool,
    ) -> bool:
        ids = self.ids
        alive = [(m, p) for m, p in zip(members, persons, strict=True) if not p.is_deceased]

        def tag(person: PersonRow, kind: TagKind, source: str, valid_from: object, **extra: object) -> None:
            batch.tags.append(TagRow(id=ids.take("tag"), person_id=person.id, kind=kind.value,
                                     source=source, valid_from=valid_from, **extra))  # type: ignore[arg-type]

        door_sensor = False
        all_elder = bool(alive) and all(m.age >= 60 for m, _ in alive)
        moved_in = recent_date(rng, not_before=REFERENCE_DATE - timedelta(days=2600))
        disabled = False
        for member, person in alive:
            birth = person.birth_date
            if member.age >= 80:
                tag(person, TagKind.OLDEST_OLD, MINZHENG, anniversary(birth, 80))
            if member.age >= 60 and living == 1:
                source = MINZHENG if rng.random() < 0.6 else GRID_SURVEY
                tag(person, TagKind.LIVING_ALONE_ELDER, source, recent_date(rng, not_before=anniversary(birth, 60)))
                door_sensor = rng.random() < 0.3
            elif all_elder and living >= 2:
                source = MINZHENG if rng.random() < 0.5 else GRID_SURVEY
                tag(person, TagKind.EMPTY_NEST_ELDER, source, recent_date(rng, not_before=anniversary(birth, 60)))
            if rng.random() < disability_chance(member.age):
                disabled = True
                tag(person, TagKind.DISABLED, CANLIAN, recent_date(rng, not_before=birth, max_days=6000),
                    note=disability_note(rng))
            if member.hukou == LOCAL and member.age >= 22:
                veteran_chance = 0.075 if member.male else 0.004
                if rng.random() < veteran_chance:
                    discharged = anniversary(birth, rng.randint(20, 26))
                    tag(person, TagKind.VETERAN, VETERANS_BUREAU, min(discharged, REFERENCE_DATE))
                    if member.age >= 60 and rng.random() < 0.12:
                        tag(person, TagKind.ENTITLED_GROUP, VETERANS_BUREAU, recent_date(rng, not_before=discharged, max_days=9000))
                elif member.age >= 75 and rng.random() < 0.003:  # 烈属 and other entitled families
                    tag(person, TagKind.ENTITLED_GROUP, VETERANS_BUREAU, recent_date(rng, not_before=birth, max_days=9000))
            if member.age >= 18:
                if rng.random() < 0.0035:
                    tag(person, TagKind.SEVERE_MENTAL, ZONGZHI, recent_date(rng, not_before=anniversary(birth, 18), max_days=5000))
                if member.age < 60 and rng.random() < 0.0006:
                    start = recent_date(rng, not_before=REFERENCE_DATE - timedelta(days=700))
                    tag(person, TagKind.COMMUNITY_CORRECTION, JUSTICE, start,
                        valid_to=start + timedelta(days=rng.choice((365, 730, 1095))))
            if member.left_behind and member.age < 16:
                tag(person, TagKind.LEFT_BEHIND_CHILD, MINZHENG, recent_date(rng, not_before=birth, max_days=2000))
            if rented:
                tag(person, TagKind.RENTED_ROOM, ZONGZHI, max(moved_in, birth))
            self._health_tags(tag, member, person)
        if alive and alive[0][0].hukou == LOCAL:
            chance = 0.015 * (2.5 if disabled else 1.0) * (1.5 if living == 1 and all_elder else 1.0)
            roll = rng.random()
            kind = TagKind.SUBSISTENCE if roll < chance else TagKind.NEAR_SUBSISTENCE if roll < chance * 1.6 else None
            if kind is not None:
                start = recent_date(rng, not_before=REFERENCE_DATE - timedelta(days=2200))
                ended = rng.random() < 0.1
                end = start + timedelta(days=rng.randint(180, 700)) if ended else None
                if end is not None and end >= REFERENCE_DATE:
                    end = None
                for member, person in alive:
                    if member.hukou == LOCAL:
                        tag(person, kind, MINZHENG, start, valid_to=end)
        return door_sensor


    def _health_tags(self, tag: Callable[..., None], member: Member, person: PersonRow) -> None:
        """卧床 (from the family doctor's or the grid worker's visit) and 孕产妇 (maternal care
        records: pregnancy and the 42 days after birth), for emergency mode's first rows."""
        health = self._health
        bedridden = 0.06 if member.age >= 80 else 0.015 if member.age >= 60 else 0.0005
        if health.random() < bedridden:
            tag(person, TagKind.BEDRIDDEN, WEIJIAN if health.random() < 0.5 else GRID_SURVEY,
                recent_date(health, not_before=person.birth_date, max_days=2000))
        if not member.male and 20 <= member.age <= 42 and health.random() < 0.035:
            start = REFERENCE_DATE - timedelta(days=health.randrange(240))
            due = start + timedelta(days=280)
            # Left open: the demo runs long after its reference date, and emergency mode
            # lists only tags that still hold; the due date is in the note.
            tag(person, TagKind.PREGNANT, WEIJIAN, start, note=f"预产期 {due:%Y-%m-%d}")


def demo_accounts() -> list[DemoAccount]:
    """One demo account per role, for ``linli demo``'s banner (see :mod:`linli.demo.selectors`)."""
    # Imported here: the selectors module imports this one for the street's constants.
    from linli.demo.selectors import demo_accounts as read

    return read(one_per_role=True)
