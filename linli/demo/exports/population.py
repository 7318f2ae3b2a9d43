"""The population of the demo street as one frame: generator rows flattened, plus the people
on departmental lists who do not live on the street (so are not in the registry)."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

import polars as pl

from linli.demo.generator import StreetGenerator, StreetPlan
from linli.demo.people import LOCAL, MIGRANT, MINZHENG, REFERENCE_DATE, Member, birth_from_age
from linli.demo.rows import GridBatch, IdCounters
from linli.registry.choices import Relation, RoomUse, TagKind
from linli.registry.text import pinyin_keys

_GHOST_LOCAL_SHARE: Final = 0.18  # 户籍 here, living elsewhere (人户分离), per local resident
_GHOST_MIGRANT_SHARE: Final = 0.15  # migrants who left, still listed as 已注销, per migrant
_ELSEWHERE_DISTRICTS: Final = ("西湖区", "拱墅区", "滨江区", "萧山区", "余杭区", "钱塘区", "临平区")
_ELSEWHERE_ROADS: Final = ("文一路", "莫干山路", "江南大道", "市心路", "丰潭路", "古墩路", "临平大道", "德胜路")
_ELSEWHERE_COMPOUNDS: Final = ("翠苑一区", "蓝桥名苑", "西溪花园", "朝晖五区", "和睦新村", "金色海岸", "星耀城")


@dataclass
class _Street:
    people: pl.DataFrame
    shops: pl.DataFrame
    rooms: pl.DataFrame  # residential rooms: address parts (for stale addresses, ghosts)


def _age(birth: date) -> int:
    return REFERENCE_DATE.year - birth.year - ((REFERENCE_DATE.month, REFERENCE_DATE.day) < (birth.month, birth.day))


_BUILDING_NO: Final = re.compile(r"(\d+)幢$")


_PEOPLE_SCHEMA: Final = {
    "person_id": pl.Int64, "name": pl.String, "id_number": pl.String, "birth": pl.Date, "sex": pl.String,
    "phone": pl.String, "hukou": pl.String, "ethnicity": pl.String, "relation": pl.String,
    "household_id": pl.Int64, "compound": pl.String, "road": pl.String, "road_no": pl.Int32,
    "building_no": pl.Int32, "unit_no": pl.Int32, "room_no": pl.String, "community": pl.String,
    "grid_code": pl.String, "grid_name": pl.String, "rented": pl.Boolean, "is_deceased": pl.Boolean,
    "deceased_on": pl.Date, "disability": pl.String, "disability_since": pl.Date, "subsistence": pl.Boolean,
    "near_subsistence": pl.Boolean, "alone_mz": pl.Boolean, "empty_nest_mz": pl.Boolean,
    "left_behind": pl.Boolean, "severe_mental": pl.Boolean, "correction": pl.Boolean, "moved_in": pl.Date,
    "hh_children": pl.Int32, "landlord_id": pl.Int64, "age": pl.Int32,
}
_ROOM_SCHEMA: Final = {
    "compound": pl.String, "road": pl.String, "road_no": pl.Int32, "building_no": pl.Int32,
    "unit_no": pl.Int32, "room_no": pl.String, "community": pl.String, "rented": pl.Boolean,
}
_SHOP_SCHEMA: Final = {"grid_code": pl.String, "community": pl.String, "shop": pl.String,
                       "shop_address": pl.String, "since": pl.Date}
# Tag kinds → the flag they set (only tags the departments care about).
_FLAGS: Final = {
    TagKind.SUBSISTENCE.value: "subsistence", TagKind.NEAR_SUBSISTENCE.value: "near_subsistence",
    TagKind.LEFT_BEHIND_CHILD.value: "left_behind", TagKind.SEVERE_MENTAL.value: "severe_mental",
    TagKind.COMMUNITY_CORRECTION.value: "correction",
}


def _collect(plan: StreetPlan, ids: IdCounters, seed: int) -> tuple[_Street, StreetGenerator]:
    generator = StreetGenerator(plan, ids=ids)
    people: list[tuple[Any, ...]] = []
    shops: list[tuple[Any, ...]] = []
    rooms: list[tuple[Any, ...]] = []
    for batch in generator.grid_batches():
        _collect_batch(plan, batch, seed, people, shops, rooms)
    frame = pl.DataFrame(people, schema=_PEOPLE_SCHEMA, orient="row").with_columns(
        entity=pl.format("p{}", pl.col("person_id")),
        addr_free=pl.lit(None, dtype=pl.String),
        ghost=pl.lit(None, dtype=pl.String),
    )
    return _Street(frame, pl.DataFrame(shops, schema=_SHOP_SCHEMA, orient="row"),
                   pl.DataFrame(rooms, schema=_ROOM_SCHEMA, orient="row")), generator


def _collect_batch(
    plan: StreetPlan, batch: GridBatch, seed: int, people: list[tuple[Any, ...]],
    shops: list[tuple[Any, ...]], rooms: list[tuple[Any, ...]],
) -> None:
    community = plan.communities[batch.grid.community_index].name
    grid = batch.grid.area
    buildings = {}
    for b in batch.buildings:
        match = re.search(re.escape(b.road) + r"(\d+)号", b.address)
        number = _BUILDING_NO.search(b.name)
        buildings[b.id] = (b.compound, b.road, int(match.group(1)) if match else 1,
                           int(number.group(1)) if number else 1)
    units = {u.id: u.number for u in batch.units}
    room_of = {r.id: r for r in batch.rooms}
    lived_in = (RoomUse.SELF_OCCUPIED.value, RoomUse.RENTED.value)
    rooms.extend(
        (*buildings[r.building_id], units[r.unit_id], r.number, community, r.use == RoomUse.RENTED)
        for r in batch.rooms if r.use in lived_in
    )
    flags: dict[int, set[str]] = {}
    disability: dict[int, tuple[str, date]] = {}
    moved_in: dict[int, date] = {}
    for t in batch.tags:
        kind = t.kind
        if kind == TagKind.DISABLED:
            disability[t.person_id] = (t.note, t.valid_from)
        elif kind == TagKind.RENTED_ROOM:
            moved_in[t.person_id] = t.valid_from
        elif kind in _FLAGS and (t.valid_to is None or t.valid_to > REFERENCE_DATE):  # ended: off the list
            flags.setdefault(t.person_id, set()).add(_FLAGS[kind])
        elif t.source == MINZHENG and kind == TagKind.LIVING_ALONE_ELDER:
            flags.setdefault(t.person_id, set()).add("alone_mz")
        elif t.source == MINZHENG and kind == TagKind.EMPTY_NEST_ELDER:
            flags.setdefault(t.person_id, set()).add("empty_nest_mz")
    children = Counter(p.household_id for p in batch.persons if p.relation == Relation.CHILD)
    # Landlords: local heads of owner-occupied households of the same grid.
    rng = random.Random(f"linli-demo-exports:{seed}:landlords:{batch.grid.seq}")
    owners = [p.id for p in batch.persons if p.hukou == LOCAL and p.relation == Relation.HEAD
              and not p.is_deceased and p.room_id is not None and room_of[p.room_id].use != RoomUse.RENTED
              and _age(p.birth_date) >= 35]
    landlord_of: dict[int, int] = {}
    no_flags: set[str] = set()
    for p in batch.persons:
        room = room_of[p.room_id] if p.room_id is not None else None
        compound, road, road_no, building_no = buildings[p.building_id] if p.building_id else ("", "", 0, 0)
        rented = room is not None and room.use == RoomUse.RENTED
        landlord = None
        if rented and room is not None and owners:
            landlord = landlord_of.get(room.id)
            if landlord is None:
                landlord = landlord_of[room.id] = rng.choice(owners)
        own = flags.get(p.id, no_flags)
        note, since = disability.get(p.id, (None, None))
        people.append((
            p.id, p.name, p.id_number or None, p.birth_date, p.sex, p.phone or None, p.hukou, p.ethnicity,
            p.relation, p.household_id, compound, road, road_no, building_no,
            units[room.unit_id] if room else 0, room.number if room else "", community, grid.code, grid.name,
            rented, p.is_deceased, p.deceased_on, note, since, "subsistence" in own, "near_subsistence" in own,
            "alone_mz" in own, "empty_nest_mz" in own, "left_behind" in own, "severe_mental" in own,
            "correction" in own, moved_in.get(p.id), children.get(p.household_id, 0), landlord,
            _age(p.birth_date),
        ))
    shops.extend(
        (grid.code, community, o.name, o.address.removeprefix("杭州市上城区"),
         REFERENCE_DATE - timedelta(days=rng.randrange(60, 4000)))
        for o in batch.organisations
        if o.kind in ("individual", "enterprise") and "物业" not in o.name and o.building_id is not None
    )


def _ghosts(street: _Street, generator: StreetGenerator, seed: int) -> pl.DataFrame:
    """People on departmental lists who do not live on the street (so are not in the registry).

    户籍 residents who live elsewhere (人户分离) appear in 计生 and, when old, in 民政;
    migrants who moved away stay in the 流动人口 list as 已注销. Their IDs come from the
    generator's own issuer, so they never collide with a resident's.
    """
    rng = random.Random(f"linli-demo-exports:{seed}:ghosts")
    people = street.people
    local_ages = people.filter(pl.col("hukou") == LOCAL)["age"].to_list()
    migrant_ages = people.filter(pl.col("hukou") == MIGRANT)["age"].to_list()
    rooms = street.rooms
    rented_rooms = rooms.filter(pl.col("rented"))
    room_rows = rooms.rows(named=True)
    rented_rows = rented_rooms.rows(named=True) or room_rows
    maker = generator.people
    records: list[dict[str, Any]] = []
    plans = [("elsewhere", LOCAL, round(len(local_ages) * _GHOST_LOCAL_SHARE), local_ages, room_rows),
             ("left", MIGRANT, round(len(migrant_ages) * _GHOST_MIGRANT_SHARE), migrant_ages, rented_rows)]
    for kind, hukou, count, ages, pool in plans:
        for _ in range(count if ages and pool else 0):
            age = rng.choice(ages)
            male = rng.random() < 0.5
            birth = birth_from_age(rng, age)
            member = Member(age, male=male, relation=Relation.HEAD.value, hukou=hukou)
            _surname, name = maker.name(rng, member, birth, None)
            room = rng.choice(pool)
            elsewhere = (f"杭州市{rng.choice(_ELSEWHERE_DISTRICTS)}{rng.choice(_ELSEWHERE_ROADS)}"
                         f"{rng.randint(1, 399)}号{rng.choice(_ELSEWHERE_COMPOUNDS)}{rng.randint(1, 30)}幢"
                         f"{rng.randint(1, 3)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}室")
            records.append({
                "name": name, "id_number": maker.id_number(rng, hukou=hukou, birth=birth, male=male),
                "birth": birth, "sex": "M" if male else "F", "phone": maker.phone(rng, age) or None,
                "hukou": hukou, "ethnicity": maker.ethnicity(rng, hukou), "age": age,
                "compound": room["compound"], "road": room["road"], "road_no": room["road_no"],
                "building_no": room["building_no"], "unit_no": room["unit_no"], "room_no": room["room_no"],
                "community": room["community"], "addr_free": elsewhere if kind == "elsewhere" else None,
                "ghost": kind,
            })
    frame = pl.DataFrame(records, schema_overrides={
        "birth": pl.Date, "age": pl.Int32, "road_no": pl.Int32, "building_no": pl.Int32, "unit_no": pl.Int32,
        "addr_free": pl.String, "phone": pl.String,
    })
    return frame.with_columns(entity=pl.format("g{}", pl.int_range(1, frame.height + 1)))


def _registry(people: pl.DataFrame) -> pl.DataFrame:
    names = people["name"].unique().to_list()
    keys = {name: pinyin_keys(name) for name in names}
    return people.select(
        "person_id", "entity", "name",
        name_pinyin=pl.col("name").replace_strict({k: v[0] for k, v in keys.items()}, return_dtype=pl.String),
        name_initials=pl.col("name").replace_strict({k: v[1] for k, v in keys.items()}, return_dtype=pl.String),
        birth_date="birth", sex="sex", id_number="id_number", phone="phone",
        building_key=pl.concat_str([pl.col("compound"), pl.col("building_no").cast(pl.String)], separator="|"),
        compound="compound", building_no="building_no", unit="unit_no", room="room_no",
        community="community", grid_code="grid_code", hukou="hukou", is_deceased="is_deceased",
        disability="disability",
    )
