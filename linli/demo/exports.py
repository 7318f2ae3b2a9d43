"""Six departmental exports of the demo street, with a seeded error model and the truth.

The street office gets lists from 民政, 残联, 综治, 城管, 计生 and 流动人口, each with its
own columns, encoding, date and address habits and its own mistakes. ``generate_exports``
draws them from the same generator as :func:`linli.demo.services.demo_seed` (same seed and
residents → same people), corrupts them as described in ``docs/fusion-error-model.md``
(rates in :mod:`linli.demo.export_errors`) and keeps the ground truth aside: the true person
of every row and the list of deliberate conflicts.

Person keys: ``person_id`` is the generator's person id. ``demo_seed`` refuses to run unless
the registry has no persons and numbers persons from 1 in generator order, so with the same
seed and residents it equals ``registry.Person.id``. Rows of people who are not in the
registry (registered here but living elsewhere, migrants who left) have no ``person_id``;
``entity`` (``p123`` / ``g45``) names the true cluster of every row.

Speed: selection and formatting are Polars expressions; only the few corrupted values are
touched one by one in Python. Memory is the population frame plus the exports.
"""

from __future__ import annotations

import json
import random
import re
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

from linli.demo import export_errors as errs
from linli.demo.export_errors import RATES, Rates
from linli.demo.generator import (
    DEFAULT_RESIDENTS,
    DEFAULT_SEED,
    StreetGenerator,
    StreetPlan,
    plan_street,
)
from linli.demo.people import (
    FOREIGN,
    LOCAL,
    MIGRANT,
    MINZHENG,
    REFERENCE_DATE,
    Member,
    birth_from_age,
)
from linli.demo.rows import GridBatch, IdCounters
from linli.registry.choices import Relation, RoomUse, TagKind
from linli.registry.text import pinyin_keys

EXPORTS_DIRNAME: Final = "exports"
_EXCEL_EPOCH: Final = date(1899, 12, 30)
_GHOST_LOCAL_SHARE: Final = 0.18  # 户籍 here, living elsewhere (人户分离), per local resident
_GHOST_MIGRANT_SHARE: Final = 0.15  # migrants who left, still listed as 已注销, per migrant
_GRADES: Final = "一二三四"
_DISABILITY_CODES: Final = {"视力": 1, "听力": 2, "言语": 3, "肢体": 4, "智力": 5, "精神": 6, "多重": 7}
_PROVINCES: Final = {
    "11": "北京市", "13": "河北省", "23": "黑龙江省", "31": "上海市", "32": "江苏省", "33": "浙江省",
    "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省", "41": "河南省", "42": "湖北省",
    "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "50": "重庆市", "51": "四川省",
    "52": "贵州省", "61": "陕西省", "62": "甘肃省",
}
_ELSEWHERE_DISTRICTS: Final = ("西湖区", "拱墅区", "滨江区", "萧山区", "余杭区", "钱塘区", "临平区")
_ELSEWHERE_ROADS: Final = ("文一路", "莫干山路", "江南大道", "市心路", "丰潭路", "古墩路", "临平大道", "德胜路")
_ELSEWHERE_COMPOUNDS: Final = ("翠苑一区", "蓝桥名苑", "西溪花园", "朝晖五区", "和睦新村", "金色海岸", "星耀城")
_VILLAGE_WORDS: Final = ("王庄", "李家村", "新集", "河口", "东湖村", "石桥", "高庙", "张湾")


# ---------------------------------------------------------------------------------------------
# Public result types


@dataclass
class ExportFile:
    """One departmental export: in-memory frames (one per sheet) and, once written, its path.

    Frames hold strings exactly as a reader gets them back (XLSX date cells read as
    ``1950-03-05 00:00:00``, Excel serials as ``18327``); missing values are null.
    """

    code: str
    department: str
    title: str
    file_name: str
    format: str
    encoding: str
    frames: dict[str, pl.DataFrame]
    path: Path | None = None

    @property
    def sheets(self) -> list[str] | None:
        return list(self.frames) if self.format == "xlsx" else None

    @property
    def rows(self) -> int:
        return sum(frame.height for frame in self.frames.values())

    @property
    def columns(self) -> list[str]:
        return next(iter(self.frames.values())).columns

    def frame(self) -> pl.DataFrame:
        """All rows; XLSX sheets stacked, with the sheet name in a ``__sheet`` column."""
        if self.format != "xlsx":
            return self.frames[""]
        return pl.concat([f.with_columns(pl.lit(name).alias("__sheet")) for name, f in self.frames.items()])


@dataclass
class ExportSet:
    """The six exports of one seed, the truth of every row and the deliberate conflicts.

    ``truth`` columns: source, sheet (null for CSV), row_number (1-based data row, header
    not counted), person_id (null for people not in the registry), entity, in_registry,
    id_status (see :mod:`linli.demo.export_errors`), errors (comma-separated codes),
    duplicate. ``conflicts``: source, sheet, row_number, person_id, entity, field,
    source_value, registry_value.
    """

    seed: int
    residents: int
    files: dict[str, ExportFile]
    truth: pl.DataFrame
    conflicts: pl.DataFrame
    timings: dict[str, float]
    out_dir: Path | None
    _registry: pl.DataFrame = field(repr=False)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files.values())

    def registry_frame(self) -> pl.DataFrame:
        """The registry's persons as ``demo_seed`` writes them (plaintext identifiers).

        Columns: person_id, entity, name, name_pinyin, name_initials, birth_date, sex,
        id_number, phone, building_key (``<compound>|<building no>``), compound,
        building_no, unit, room, community, grid_code, hukou, is_deceased, disability.
        """
        return self._registry


# ---------------------------------------------------------------------------------------------
# The population: generator rows flattened into one frame, plus people not in the registry


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
# Tag kinds → the flag they set (only tags the departments below care about).
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


# ---------------------------------------------------------------------------------------------
# Rendering: the error model applied to one department's true rows


_BASE: Final = ("person_id", "entity", "name", "id_number", "birth", "sex", "phone", "compound", "road",
                "road_no", "building_no", "unit_no", "room_no", "community", "addr_free")


@dataclass(frozen=True)
class _Layout:
    """How one department writes its file: headers (in order) and where each value comes from.

    ``columns`` maps header → internal value: ``@name``, ``@id``, ``@birth``, ``@sex``,
    ``@phone``, ``@address``, ``@seq``, or the name of an extra column of the true rows.
    """

    code: str
    department: str
    title: str
    format: str
    encoding: str
    columns: tuple[tuple[str, str], ...]
    date_headers: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        return f"{self.code}.{self.format}"


def _pick(rng: np.random.Generator, styles: dict[str, float], n: int) -> np.ndarray[Any, Any]:
    names = list(styles)
    weights = np.array([styles[k] for k in names], dtype=float)
    return np.array(names, dtype=object)[rng.choice(len(names), size=n, p=weights / weights.sum())]


def _date_expr(column: str, style: pl.Expr) -> pl.Expr:
    d = pl.col(column)
    y, m, day = d.dt.year().cast(pl.String), d.dt.month().cast(pl.String), d.dt.day().cast(pl.String)
    serial = (d.cast(pl.Int64) - pl.lit(_EXCEL_EPOCH).cast(pl.Int64)).cast(pl.String)
    return (
        pl.when(style == "iso").then(d.dt.strftime("%Y-%m-%d"))
        .when(style == "compact").then(d.dt.strftime("%Y%m%d"))
        .when(style == "slash").then(pl.concat_str([y, m, day], separator="/"))
        .when(style == "dash_nopad").then(pl.concat_str([y, m, day], separator="-"))
        .when(style == "chinese").then(pl.concat_str([y, pl.lit("年"), m, pl.lit("月"), day, pl.lit("日")]))
        .when(style == "excel_date").then(d.dt.strftime("%Y-%m-%d 00:00:00"))
        .when(style == "excel_serial").then(serial)
        .otherwise(d.dt.strftime("%Y-%m-%d"))
    )


def _address_expr(style: pl.Expr, prefix: pl.Expr) -> pl.Expr:
    b, u = pl.col("a_building").cast(pl.String), pl.col("a_unit").cast(pl.String)
    c, r = pl.col("a_compound"), pl.col("a_room")
    body = (
        pl.when(style == "full").then(pl.concat_str([
            pl.col("a_road"), pl.col("a_road_no").cast(pl.String), pl.lit("号"), c, b, pl.lit("幢"), u,
            pl.lit("单元"), r, pl.lit("室")]))
        .when(style == "dash").then(pl.concat_str([c, b, pl.lit("-"), u, pl.lit("-"), r]))
        .when(style == "haolou").then(pl.concat_str([c, b, pl.lit("号楼"), u, pl.lit("单元"), r]))
        .when(style == "dong").then(pl.concat_str([c, b, pl.lit("栋"), u, pl.lit("单元"), r, pl.lit("室")]))
        .otherwise(pl.concat_str([c, b, pl.lit("幢"), u, pl.lit("单元"), r, pl.lit("室")]))
    )
    return pl.when(pl.col("addr_free").is_not_null()).then(pl.col("addr_free")).otherwise(
        pl.concat_str([prefix, body]))


@dataclass
class _Rendered:
    frames: dict[str, pl.DataFrame]
    truth: pl.DataFrame
    conflicts: pl.DataFrame


def _flag(rng: np.random.Generator, n: int, rate: float, where: np.ndarray[Any, Any] | None = None) -> np.ndarray[Any, Any]:
    hit = rng.random(n) < rate
    return hit & where if where is not None else hit


def _render(
    rows: pl.DataFrame, layout: _Layout, rng: np.random.Generator, street: _Street,
    finish: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> _Rendered:
    """Duplicate, shuffle, corrupt and format one department's true rows; keep the truth."""
    rates: Rates = RATES[layout.code]
    py = random.Random(int(rng.integers(2**63)))
    if "sheet" not in rows.columns:
        rows = rows.with_columns(sheet=pl.lit("", dtype=pl.String))
    for name in ("conflict_field", "conflict_value", "registry_value", "passport"):
        if name not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    # Duplicates: the same person entered twice, each copy corrupted on its own.
    dup = _flag(rng, rows.height, rates.duplicate)
    rows = pl.concat([rows.with_columns(duplicate=pl.lit(value=False)),
                      rows.filter(pl.Series(dup)).with_columns(duplicate=pl.lit(value=True))])
    # Lists are kept per sheet (in the builder's order) and community, in no order inside.
    sheet_order = {name: i for i, name in enumerate(rows["sheet"].unique(maintain_order=True).to_list())}
    rows = rows.with_columns(_sheet_order=pl.col("sheet").replace_strict(sheet_order, return_dtype=pl.Int32))
    rows = rows[rng.permutation(rows.height)].sort(["_sheet_order", "community"], maintain_order=True)
    n = rows.height

    # --- ID numbers
    true_ids: list[str | None] = rows["id_number"].to_list()
    ids: list[str | None] = list(true_ids)
    status = np.where(rows["id_number"].is_null().to_numpy(), errs.ID_NONE, errs.ID_OK).astype(object)
    has_id = status == errs.ID_OK
    born_before_1980 = (rows["birth"].dt.year() < 1980).fill_null(value=False).to_numpy()
    u = rng.random(n)
    cuts = np.cumsum([rates.id_missing, rates.id_typo, rates.id_transposed, rates.id_scientific,
                      rates.id_excel_number])
    kinds = (errs.ID_MISSING, errs.ID_TYPO, errs.ID_TRANSPOSED, errs.ID_SCIENTIFIC, errs.ID_EXCEL_NUMBER)
    chosen = np.searchsorted(cuts, u, side="right")
    legacy = _flag(rng, n, rates.id_legacy15, has_id & born_before_1980)
    fullwidth = _flag(rng, n, rates.id_fullwidth, has_id)
    for i in np.flatnonzero(has_id & ((chosen < len(kinds)) | legacy | fullwidth)).tolist():
        number = str(ids[i])
        kind = kinds[chosen[i]] if chosen[i] < len(kinds) else None
        if kind == errs.ID_MISSING:
            ids[i] = None
        elif kind == errs.ID_TYPO:
            ids[i] = errs.typo_digit(number, py) if py.random() < 0.85 else number[:17] + (
                "X" if number[17] != "X" else "0")
        elif kind == errs.ID_TRANSPOSED:
            ids[i] = errs.transpose_digits(number, py)
        elif kind == errs.ID_SCIENTIFIC:
            ids[i] = errs.scientific(number)
        elif kind == errs.ID_EXCEL_NUMBER:
            ids[i] = str(int(float(errs.excel_number(number))))
        elif legacy[i]:
            ids[i], kind = errs.legacy_15(number), errs.ID_LEGACY15
        if kind is not None and ids[i] == number:  # a transposition of 1111…: nothing changed
            kind = None
        if fullwidth[i] and kind in (None, errs.ID_LEGACY15) and ids[i] is not None:
            ids[i] = errs.full_width(str(ids[i]))
            kind = kind or errs.ID_FULLWIDTH
        if kind is not None:
            status[i] = kind
        elif number.endswith("X") and py.random() < 0.3:
            ids[i] = number[:17] + "x"
    passports = rows["passport"].to_list()
    for i in np.flatnonzero(status == errs.ID_NONE).tolist():
        ids[i] = passports[i]

    # --- names
    names: list[str] = rows["name"].to_list()
    name_err = np.zeros(n, dtype=object)
    for code, rate in (("name_variant", rates.name_variant), ("name_traditional", rates.name_traditional),
                       ("name_space", rates.name_space)):
        for i in np.flatnonzero(_flag(rng, n, rate) & (name_err == 0)).tolist():
            changed = (errs.name_variant(names[i], py) if code == "name_variant"
                       else errs.traditional(names[i]) if code == "name_traditional"
                       else errs.spaced(names[i], py))
            if changed is not None and changed != names[i]:
                names[i], name_err[i] = changed, code

    # --- phones
    phones: list[str | None] = rows["phone"].to_list()
    phone_other = _flag(rng, n, rates.phone_other, rows["phone"].is_not_null().to_numpy())
    phone_missing = _flag(rng, n, rates.phone_missing, rows["phone"].is_not_null().to_numpy()) & ~phone_other
    styles = _pick(rng, rates.phone_styles or {"plain": 1.0}, n)
    for i in range(n):
        value = phones[i]
        if value is None:
            continue
        if phone_missing[i]:
            phones[i] = None
            continue
        if phone_other[i]:
            value = errs.other_mobile(value, py)
        value = errs.format_phone(value, styles[i])
        phones[i] = errs.full_width(value) if fullwidth[i] else value

    # --- addresses: stale rows show a room the person no longer lives in
    stale = _flag(rng, n, rates.address_stale, rows["person_id"].is_not_null().to_numpy())
    pool = street.rooms[rng.integers(0, street.rooms.height, size=n)]
    s = pl.Series(stale)
    work = rows.with_columns(
        **{f"a_{k}": pl.when(s).then(pool[src]).otherwise(pl.col(src)) for k, src in (
            ("compound", "compound"), ("road", "road"), ("road_no", "road_no"), ("building", "building_no"),
            ("unit", "unit_no"), ("room", "room_no"))},
    ).with_columns(
        _a_style=pl.Series(_pick(rng, rates.address_styles, n), dtype=pl.String),
        _a_prefix=pl.Series(_pick(rng, rates.address_prefixes, n), dtype=pl.String),
        _d_style=pl.Series(_pick(rng, rates.date_styles or {"iso": 1.0}, n), dtype=pl.String),
        _x_style=pl.Series(_pick(rng, rates.sex_styles, n), dtype=pl.String),
    )
    address_missing = _flag(rng, n, rates.address_missing)
    birth_missing = _flag(rng, n, rates.birth_missing)
    sex_missing = _flag(rng, n, rates.sex_missing)
    work = work.with_columns(
        _name=pl.Series(names, dtype=pl.String),
        _id=pl.Series(ids, dtype=pl.String),
        _id_status=pl.Series(status.astype(str), dtype=pl.String),
        _phone=pl.Series(phones, dtype=pl.String),
        _address=pl.when(pl.Series(address_missing)).then(None).otherwise(
            _address_expr(pl.col("_a_style"), pl.col("_a_prefix"))),
        _birth=pl.when(pl.Series(birth_missing)).then(None).otherwise(_date_expr("birth", pl.col("_d_style"))),
        _sex=pl.when(pl.Series(sex_missing)).then(None).when(pl.col("_x_style") == "code").then(
            pl.col("sex").replace_strict({"M": "1", "F": "2"}, default=None)).otherwise(
            pl.col("sex").replace_strict({"M": "男", "F": "女"}, default=None)),
    ).with_columns(_seq=(pl.int_range(pl.len()).over("sheet") + 1).cast(pl.String))
    if finish is not None:
        work = finish(work)

    # --- truth and conflicts
    error_flags: list[tuple[str, Any]] = [
        ("id_" + k, pl.col("_id_status") == k) for k in (*kinds, errs.ID_LEGACY15, errs.ID_FULLWIDTH)
    ] + [
        (code, pl.Series(name_err == code)) for code in ("name_variant", "name_traditional", "name_space")
    ] + [
        ("birth_missing", pl.Series(birth_missing)), ("sex_missing", pl.Series(sex_missing)),
        ("phone_missing", pl.Series(phone_missing)), ("phone_other", pl.Series(phone_other)),
        ("address_missing", pl.Series(address_missing)), ("address_stale", pl.Series(stale)),
    ]
    work = work.with_columns(
        _errors=pl.concat_str([pl.when(flag).then(pl.lit(code)) for code, flag in error_flags],
                              separator=",", ignore_nulls=True),
        _sheet=pl.when(pl.lit(layout.format == "xlsx")).then(pl.col("sheet")).otherwise(None),
    )
    truth = work.select(
        source=pl.lit(layout.code), sheet=pl.col("_sheet"), row_number=pl.col("_seq").cast(pl.Int64),
        person_id=pl.col("person_id"), entity=pl.col("entity"), in_registry=pl.col("person_id").is_not_null(),
        id_status=pl.col("_id_status"), errors=pl.col("_errors"), duplicate=pl.col("duplicate"),
    )
    registry_address = pl.concat_str([pl.col("compound"), pl.col("building_no").cast(pl.String), pl.lit("幢"),
                                      pl.col("unit_no").cast(pl.String), pl.lit("单元"), pl.col("room_no"),
                                      pl.lit("室")])
    conflict_parts = [
        work.filter(pl.col("conflict_field").is_not_null()).select(
            "_sheet", "_seq", "person_id", "entity", field="conflict_field", source_value="conflict_value",
            registry_value="registry_value"),
        work.filter(pl.Series(phone_other)).select(
            "_sheet", "_seq", "person_id", "entity", field=pl.lit("phone"), source_value="_phone",
            registry_value="phone"),
        work.filter(pl.Series(stale & ~address_missing)).select(
            "_sheet", "_seq", "person_id", "entity", field=pl.lit("address"), source_value="_address",
            registry_value=registry_address),
    ]
    conflicts = pl.concat(conflict_parts).filter(pl.col("person_id").is_not_null()).select(
        source=pl.lit(layout.code), sheet=pl.col("_sheet"), row_number=pl.col("_seq").cast(pl.Int64),
        person_id="person_id", entity="entity", field="field", source_value="source_value",
        registry_value="registry_value",
    )

    # --- the file's columns
    def column(header: str, source: str) -> pl.Expr:
        internal = {"@name": "_name", "@id": "_id", "@birth": "_birth", "@sex": "_sex", "@phone": "_phone",
                    "@address": "_address", "@seq": "_seq"}.get(source, source)
        return pl.col(internal).cast(pl.String).alias(header)

    out = work.select("sheet", *[column(h, s) for h, s in layout.columns])
    if layout.format == "xlsx":
        frames = {name: part.drop("sheet") for (name,), part in out.partition_by("sheet", as_dict=True,
                                                                                 maintain_order=True).items()}
    else:
        frames = {"": out.drop("sheet")}
    return _Rendered(frames, truth, conflicts)


# ---------------------------------------------------------------------------------------------
# The six departments: who is on each list and with which extra columns


def _base(frame: pl.DataFrame, *extra: pl.Expr | str) -> pl.DataFrame:
    return frame.select(*_BASE, *extra)


def _date_text(column: str) -> pl.Expr:
    return pl.col(column).dt.strftime("%Y-%m-%d")


def _minzheng(pop: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """民政: 高龄津贴, 居家养老服务补贴, 低保/低边/特困, 残疾人两项补贴, 留守儿童 — one row per benefit."""
    local = pop.filter(pl.col("hukou") == LOCAL)
    alive = pl.col("is_deceased").not_() & pl.col("ghost").is_null()
    special = pl.col("subsistence") & (pl.col("age") >= 60) & pl.col("alone_mz")
    parts = [
        local.filter(pl.col("age") >= 80).with_columns(category=pl.lit("高龄津贴")),
        local.filter(alive & (pl.col("alone_mz") | pl.col("empty_nest_mz"))).with_columns(
            category=pl.lit("居家养老服务补贴")),
        local.filter(alive & pl.col("subsistence")).with_columns(
            category=pl.when(special).then(pl.lit("特困供养")).otherwise(pl.lit("最低生活保障"))),
        local.filter(alive & pl.col("near_subsistence")).with_columns(category=pl.lit("低保边缘")),
        local.filter(alive & pl.col("disability").is_not_null() & (
            pl.col("subsistence") | pl.col("near_subsistence") | pl.col("disability").str.contains("[一二]级"))
        ).with_columns(category=pl.lit("残疾人两项补贴")),
        local.filter(alive & pl.col("left_behind")).with_columns(category=pl.lit("留守儿童")),
    ]
    rows = pl.concat(parts)
    n = rows.height
    # Deliberate conflicts: some living elders recorded as deceased; some grades out of date.
    dead_wrongly = ((rng.random(n) < 0.006) & (rows["age"] >= 75).to_numpy()
                    & rows["person_id"].is_not_null().to_numpy() & ~rows["is_deceased"].to_numpy())
    shift = rng.random(n) < 0.1
    death = [REFERENCE_DATE - timedelta(days=int(d)) for d in rng.integers(20, 400, size=n)]
    grade = pl.col("disability").str.extract(r"([一二三四])级")
    true_grade = grade.replace_strict({c: i + 1 for i, c in enumerate(_GRADES)}, default=None)
    other_grade = pl.when(true_grade >= 4).then(3).otherwise(true_grade + 1)
    two_subsidies = pl.col("category") == "残疾人两项补贴"
    grade_conflict = pl.Series(shift) & two_subsidies & pl.col("person_id").is_not_null()
    shown_grade = pl.when(grade_conflict).then(other_grade).otherwise(true_grade)
    dead = pl.col("is_deceased") | pl.Series(dead_wrongly)
    rows = rows.with_columns(
        残疾等级=pl.when(two_subsidies).then(pl.concat_str([
            shown_grade.replace_strict({i + 1: c for i, c in enumerate(_GRADES)}, default=None), pl.lit("级")])),
        享受状态=pl.when(dead).then(pl.lit("已故停发")).otherwise(pl.lit("正常")),
        死亡日期=pl.when(pl.Series(dead_wrongly)).then(pl.Series(death, dtype=pl.Date).dt.strftime("%Y-%m-%d"))
        .when(dead).then(_date_text("deceased_on")),
        conflict_field=pl.when(pl.Series(dead_wrongly)).then(pl.lit("is_deceased"))
        .when(grade_conflict).then(pl.lit("disability_grade")),
    ).with_columns(
        conflict_value=pl.when(pl.col("conflict_field") == "is_deceased").then(pl.lit("已故"))
        .when(pl.col("conflict_field") == "disability_grade").then(pl.col("残疾等级")),
        registry_value=pl.when(pl.col("conflict_field") == "is_deceased").then(pl.lit("在世"))
        .when(pl.col("conflict_field") == "disability_grade").then(pl.concat_str([grade, pl.lit("级")])),
    )
    return _base(rows, "category", "残疾等级", "享受状态", "死亡日期", "conflict_field", "conflict_value",
                 "registry_value")


def _canlian(pop: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """残联: holders of a disability card, one sheet per category (肢体残疾, 视力残疾 …)."""
    rows = pop.filter(pl.col("disability").is_not_null() & pl.col("is_deceased").not_())
    rows = rows.filter(pl.Series(rng.random(rows.height) < 0.97))  # a few never applied for the card
    category = pl.col("disability").str.extract(r"^(\S+?)残疾")
    grade_char = pl.col("disability").str.extract(r"([一二三四])级")
    grade_no = grade_char.replace_strict({c: str(i + 1) for i, c in enumerate(_GRADES)}, default=None)
    rows = rows.with_columns(_code=category.replace_strict(_DISABILITY_CODES, default=7)).sort("_code")
    return _base(rows.with_columns(
        sheet=pl.concat_str([category, pl.lit("残疾")]),
        残疾类别=pl.concat_str([category, pl.lit("残疾")]),
        残疾等级=pl.concat_str([grade_char, pl.lit("级")]),
        _card_suffix=pl.concat_str([category.replace_strict({k: str(v) for k, v in _DISABILITY_CODES.items()},
                                                            default="7"), grade_no]),
        发证日期=_date_text("disability_since"),
    ), "sheet", "残疾类别", "残疾等级", "_card_suffix", "发证日期")


def _canlian_card(work: pl.DataFrame) -> pl.DataFrame:
    """残疾证号 = the ID number typed on the card + category + grade (typos carry over)."""
    carried = pl.col("_id_status").is_in([errs.ID_TYPO, errs.ID_TRANSPOSED])
    number = pl.when(carried).then(pl.col("_id")).otherwise(pl.col("id_number"))
    return work.with_columns(残疾证号=pl.when(pl.col("_id_status") == errs.ID_MISSING).then(None)
                             .otherwise(pl.concat_str([number, pl.col("_card_suffix")])))


def _zongzhi(pop: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """综治: 实有人口 of the grid platform with 出租房屋 (房东) and 重点人员 columns."""
    rows = pop.filter(pl.col("ghost").is_null() & pl.col("is_deceased").not_())
    rows = rows.filter(pl.Series(rng.random(rows.height) < 0.97))  # grid workers have not met everyone yet
    landlords = pop.filter(pl.col("ghost").is_null()).select(
        landlord_id="person_id", 房东姓名="name", 房东联系电话="phone")
    rows = rows.join(landlords, on="landlord_id", how="left", maintain_order="left")
    passport = pl.concat_str([pl.lit("E"), (pl.col("person_id") * 7919 % 90_000_000 + 10_000_000).cast(pl.String)])
    return _base(rows.with_columns(
        所属网格="grid_name",
        证件类型=pl.when(pl.col("hukou") == FOREIGN).then(pl.lit("护照")).otherwise(pl.lit("居民身份证")),
        passport=pl.when(pl.col("hukou") == FOREIGN).then(passport),
        民族="ethnicity",
        人员类别=pl.col("hukou").replace_strict({LOCAL: "户籍人口", MIGRANT: "流动人口", FOREIGN: "境外人员"}),
        房屋性质=pl.when(pl.col("rented")).then(pl.lit("出租")).otherwise(pl.lit("自住")),
        重点人员类别=pl.when(pl.col("severe_mental")).then(pl.lit("严重精神障碍患者"))
        .when(pl.col("correction")).then(pl.lit("社区矫正对象")),
        登记日期=pl.col("moved_in").fill_null(pl.Series([
            REFERENCE_DATE - timedelta(days=int(d)) for d in rng.integers(30, 3000, size=rows.height)],
            dtype=pl.Date)).dt.strftime("%Y%m%d"),
    ), "所属网格", "证件类型", "passport", "民族", "人员类别", "房屋性质", "房东姓名", "房东联系电话",
        "重点人员类别", "登记日期")


def _chengguan(pop: pl.DataFrame, shops: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """城管: shop owners (门店) and street vendors (流动摊贩) with where they trade."""
    adults = pop.filter(pl.col("ghost").is_null() & pl.col("is_deceased").not_() & pl.col("age").is_between(25, 65)
                        & (pl.col("hukou") != FOREIGN))
    by_grid = adults.partition_by("grid_code", as_dict=True, maintain_order=True)
    picks: list[pl.DataFrame] = []
    for (grid,), grid_shops in shops.partition_by("grid_code", as_dict=True, maintain_order=True).items():
        candidates = by_grid.get((grid,))
        if candidates is None or candidates.height == 0:
            continue
        migrant = (candidates["hukou"] == MIGRANT).to_numpy()
        weights = np.where(migrant, 3.0, 1.0)  # most shopkeepers in old streets come from elsewhere
        chosen = rng.choice(candidates.height, size=grid_shops.height, p=weights / weights.sum())
        picks.append(pl.concat([candidates[chosen].select(*_BASE), grid_shops.select(
            店铺名称="shop", 经营地址="shop_address", 登记日期=pl.col("since").dt.strftime("%Y/%m/%d"),
            经营类型=pl.lit("门店"))], how="horizontal"))
    vendors = adults.filter(pl.Series(rng.random(adults.height) < np.where(
        (adults["hukou"] == MIGRANT).to_numpy(), 0.012, 0.002)))
    spots = ("菜场东门", "地铁站B口", "小区北门", "学校门口", "公交站旁", "夜市")
    picks.append(vendors.select(*_BASE).with_columns(
        店铺名称=pl.lit(None, dtype=pl.String),
        经营地址=pl.concat_str([pl.col("compound"), pl.Series(np.array(spots, dtype=object)[
            rng.integers(0, len(spots), size=vendors.height)], dtype=pl.String)]),
        登记日期=pl.Series([(REFERENCE_DATE - timedelta(days=int(d))).strftime("%Y/%m/%d")
                          for d in rng.integers(10, 900, size=vendors.height)], dtype=pl.String),
        经营类型=pl.lit("流动摊贩"),
    ))
    return pl.concat(picks)


def _jisheng(pop: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """计生: 全员人口 (户籍, incl. those living elsewhere), 独生子女父母, 出生登记, 流动人口育龄妇女."""
    local = pop.filter((pl.col("hukou") == LOCAL) & (pl.col("ghost").is_null() | (pl.col("ghost") == "elsewhere")))
    everyone = local.with_columns(sheet=pl.lit("全员人口"))
    only_child = pop.filter(pl.col("ghost").is_null() & (pl.col("hukou") == LOCAL)
                            & pl.col("relation").is_in([Relation.HEAD, Relation.SPOUSE]) & (pl.col("hh_children") == 1)
                            & pl.col("age").is_between(30, 75))
    kids = pop.filter(pl.col("relation") == Relation.CHILD).select(
        "household_id", 子女姓名="name", _child_birth="birth")
    only_child = only_child.join(kids, on="household_id", how="inner", maintain_order="left").filter(
        pl.col("_child_birth").dt.year() < 2016).with_columns(
        sheet=pl.lit("独生子女父母"),
        独生子女证号=pl.concat_str([pl.lit("浙独"), pl.col("_child_birth").dt.year().cast(pl.String),
                                   (pl.col("household_id") % 100_000).cast(pl.String).str.zfill(5)]),
    )
    births = pop.filter(pl.col("ghost").is_null() & (pl.col("age") <= 2)).with_columns(sheet=pl.lit("出生登记"))
    women = pop.filter(pl.col("ghost").is_null() & (pl.col("hukou") == MIGRANT) & (pl.col("sex") == "F")
                       & pl.col("age").is_between(15, 49)).with_columns(sheet=pl.lit("流动人口育龄妇女"))
    rows = pl.concat([everyone, only_child, births, women], how="diagonal_relaxed")
    hukou_address = pl.concat_str([pl.lit("杭州市上城区"), pl.col("road"), pl.col("road_no").cast(pl.String), pl.lit("号")])
    return _base(rows.with_columns(
        民族="ethnicity",
        人员类别=pl.col("sheet"),
        户籍地址=pl.when(pl.col("hukou") == LOCAL).then(hukou_address),
        人户状态=pl.when(pl.col("ghost") == "elsewhere").then(pl.lit("户在人不在"))
        .when(pl.col("hukou") == LOCAL).then(pl.lit("人户一致")).otherwise(pl.lit("人在户不在")),
    ), "sheet", "民族", "人员类别", "户籍地址", "人户状态", "独生子女证号", "子女姓名")


def _liudong(pop: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """流动人口: 居住证 registrations of migrants, those who left marked 已注销."""
    rows = pop.filter((pl.col("hukou") == MIGRANT) & (pl.col("ghost").is_null() | (pl.col("ghost") == "left"))
                      & pl.col("is_deceased").not_())
    rows = rows.filter(pl.Series(rng.random(rows.height) < 0.93) | pl.col("ghost").is_not_null())
    n = rows.height
    registered = pl.Series([REFERENCE_DATE - timedelta(days=int(d)) for d in rng.integers(30, 2000, size=n)],
                           dtype=pl.Date)
    reasons = np.array(("务工", "务工", "务工", "经商", "投靠亲友", "就学", "其他"), dtype=object)
    villages = np.array(_VILLAGE_WORDS, dtype=object)
    province = pl.col("id_number").str.slice(0, 2).replace_strict(_PROVINCES, default="")
    return _base(rows.with_columns(
        民族="ethnicity",
        户籍地址=pl.concat_str([province, pl.Series(villages[rng.integers(0, len(villages), size=n)], dtype=pl.String),
                               pl.Series(rng.integers(1, 200, size=n)).cast(pl.String), pl.lit("号")]),
        居住证号=pl.concat_str([pl.lit("330102"), registered.dt.strftime("%y"),
                               pl.Series(rng.integers(0, 10**8, size=n)).cast(pl.String).str.zfill(8)]),
        居住事由=pl.Series(reasons[rng.integers(0, len(reasons), size=n)], dtype=pl.String),
        登记日期=registered.dt.strftime("%Y-%m-%d"),
        状态=pl.when(pl.col("ghost") == "left").then(pl.lit("已注销")).otherwise(pl.lit("在住")),
    ), "民族", "户籍地址", "居住证号", "居住事由", "登记日期", "状态")


LAYOUTS: Final[dict[str, _Layout]] = {
    errs.MINZHENG: _Layout(
        errs.MINZHENG, "民政", "困难群众及老年人补贴名册", "csv", "gbk",
        (("序号", "@seq"), ("姓名", "@name"), ("性别", "@sex"), ("身份证号", "@id"), ("出生日期", "@birth"),
         ("联系电话", "@phone"), ("现住址", "@address"), ("所属社区", "community"), ("对象类别", "category"),
         ("残疾等级", "残疾等级"), ("享受状态", "享受状态"), ("死亡日期", "死亡日期"))),
    errs.CANLIAN: _Layout(
        errs.CANLIAN, "残联", "持证残疾人名册", "xlsx", "xlsx",
        (("序号", "@seq"), ("姓名", "@name"), ("性别", "@sex"), ("公民身份号码", "@id"), ("残疾证号", "残疾证号"),
         ("残疾类别", "残疾类别"), ("残疾等级", "残疾等级"), ("出生年月", "@birth"), ("手机号码", "@phone"),
         ("居住地址", "@address"), ("所属社区", "community"), ("发证日期", "发证日期")),
        date_headers=("出生年月",)),
    errs.ZONGZHI: _Layout(
        errs.ZONGZHI, "综治", "实有人口及出租房屋信息", "csv", "gb18030",
        (("序号", "@seq"), ("所属网格", "所属网格"), ("姓名", "@name"), ("性别", "@sex"), ("证件类型", "证件类型"),
         ("证件号码", "@id"), ("出生日期", "@birth"), ("民族", "民族"), ("联系电话", "@phone"),
         ("居住地址", "@address"), ("人员类别", "人员类别"), ("房屋性质", "房屋性质"), ("房东姓名", "房东姓名"),
         ("房东联系电话", "房东联系电话"), ("重点人员类别", "重点人员类别"), ("登记日期", "登记日期"))),
    errs.CHENGGUAN: _Layout(
        errs.CHENGGUAN, "城管", "沿街商户及流动摊贩登记表", "csv", "utf-8-sig",
        (("序号", "@seq"), ("经营者姓名", "@name"), ("身份证号码", "@id"), ("手机号码", "@phone"),
         ("店铺名称", "店铺名称"), ("经营类型", "经营类型"), ("经营地址", "经营地址"), ("居住地址", "@address"),
         ("登记日期", "登记日期"))),
    errs.JISHENG: _Layout(
        errs.JISHENG, "计生", "全员人口及计生服务对象", "xlsx", "xlsx",
        (("序号", "@seq"), ("姓名", "@name"), ("性别", "@sex"), ("出生日期", "@birth"), ("身份证号码", "@id"),
         ("民族", "民族"), ("联系电话", "@phone"), ("现居住地址", "@address"), ("户籍地址", "户籍地址"),
         ("人员类别", "人员类别"), ("人户状态", "人户状态"), ("独生子女证号", "独生子女证号"), ("子女姓名", "子女姓名")),
        date_headers=("出生日期",)),
    errs.LIUDONG: _Layout(
        errs.LIUDONG, "流动人口", "流动人口居住登记", "csv", "utf-8",
        (("序号", "@seq"), ("姓名", "@name"), ("性别", "@sex"), ("民族", "民族"), ("公民身份号码", "@id"),
         ("出生年月", "@birth"), ("户籍地址", "户籍地址"), ("暂住地址", "@address"), ("居住证号", "居住证号"),
         ("居住事由", "居住事由"), ("登记日期", "登记日期"), ("手机号码", "@phone"), ("状态", "状态"))),
}


# ---------------------------------------------------------------------------------------------
# Writing files


_CHUNK_ROWS: Final = 50_000  # rows formatted at a time when writing: bounds the memory of big files


def _write_csv(frame: pl.DataFrame, path: Path, encoding: str) -> None:
    # Windows tools (Excel, WPS) write GBK/GB18030 with CRLF; web systems write LF.
    terminator = "\r\n" if encoding in ("gbk", "gb18030") else "\n"
    with path.open("wb") as out:
        for start in range(0, max(frame.height, 1), _CHUNK_ROWS):
            chunk = frame.slice(start, _CHUNK_ROWS)
            text = chunk.write_csv(line_terminator=terminator, include_header=start == 0)
            # The BOM of utf-8-sig belongs at the start of the file only.
            out.write(text.encode(encoding if start == 0 or encoding != "utf-8-sig" else "utf-8"))


_XLSX_PARTS: Final = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "{sheets}</Types>"),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="宋体"/></font>'
        '<font><b/><sz val="11"/><name val="宋体"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        "</styleSheet>"),
}
_SHEET_HEAD: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_UNIX_EPOCH_SERIAL: Final = 25569  # Excel serial of 1970-01-01


def _xml_text(value: pl.Expr) -> pl.Expr:
    return value.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True) \
        .str.replace_all(">", "&gt;", literal=True)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet_rows(frame: pl.DataFrame, date_headers: tuple[str, ...], number_ids: set[str]) -> pl.Expr:
    """The ``<row>`` element of every row, as a Polars string expression.

    Strings are inline strings; in ``date_headers``, ``YYYY-MM-DD 00:00:00`` becomes a date
    cell and a five-digit number a plain serial; IDs in ``number_ids`` become number cells.
    """
    row = pl.col("__row").cast(pl.String)
    cells: list[pl.Expr] = []
    for index, name in enumerate(frame.columns):
        value = pl.col(name)
        ref = pl.concat_str([pl.lit(f'<c r="{_column_letter(index)}'), row, pl.lit('"')])
        text = pl.concat_str([ref, pl.lit(' t="inlineStr"><is><t xml:space="preserve">'), _xml_text(value),
                              pl.lit("</t></is></c>")])
        number = pl.concat_str([ref, pl.lit("><v>"), value, pl.lit("</v></c>")])
        cell: Any = pl.when(value.is_null()).then(pl.lit(""))
        if name in date_headers:
            serial = (value.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).cast(pl.Int32)
                      + _UNIX_EPOCH_SERIAL).cast(pl.String)
            cell = cell.when(value.str.contains(r"^\d{4}-\d{2}-\d{2} 00:00:00$")).then(
                pl.concat_str([ref, pl.lit(' s="1"><v>'), serial, pl.lit("</v></c>")])
            ).when(value.str.contains(r"^\d{5}$")).then(number)
        elif number_ids:
            cell = cell.when(value.is_in(list(number_ids))).then(number)
        cells.append(cell.otherwise(text))
    return pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>\n")])


def _write_sheet(out: Any, frame: pl.DataFrame, date_headers: tuple[str, ...], number_ids: set[str]) -> None:
    """Stream one worksheet part, built with Polars string expressions a chunk at a time
    (xlsxwriter's per-cell calls are about 20× slower on the district-sized files)."""
    header = "".join(
        f'<c r="{_column_letter(i)}1" s="2" t="inlineStr"><is><t>{name}</t></is></c>'
        for i, name in enumerate(frame.columns))
    out.write(f'{_SHEET_HEAD}<row r="1">{header}</row>\n'.encode())
    expression = _sheet_rows(frame, date_headers, number_ids)
    numbered = frame.with_columns(__row=pl.int_range(2, pl.len() + 2))
    for start in range(0, frame.height, _CHUNK_ROWS):
        chunk = numbered.slice(start, _CHUNK_ROWS).select(expression.alias("xml"))
        out.write("".join(chunk["xml"].to_list()).encode())
    out.write(b"</sheetData></worksheet>")


def _write_xlsx(file: ExportFile, layout: _Layout, path: Path, number_ids: set[str]) -> None:
    """A minimal SpreadsheetML package: workbook, one styles part, one part per sheet."""
    names = list(file.frames)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(names) + 1))
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        + "".join(f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, start=1))
        + "</sheets></workbook>")
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(names) + 1))
        + f'<Relationship Id="rId{len(names) + 1}" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/></Relationships>')
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr("[Content_Types].xml", _XLSX_PARTS["[Content_Types].xml"].format(sheets=overrides))
        package.writestr("_rels/.rels", _XLSX_PARTS["_rels/.rels"])
        package.writestr("xl/workbook.xml", workbook)
        package.writestr("xl/_rels/workbook.xml.rels", rels)
        package.writestr("xl/styles.xml", _XLSX_PARTS["xl/styles.xml"])
        for i, name in enumerate(names, start=1):
            with package.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as out:
                _write_sheet(out, file.frames[name], layout.date_headers, number_ids)


def write_exports(exports: ExportSet, out_dir: Path) -> Path:
    """Write the six files, ``truth.csv``, ``conflicts.csv``, ``registry.parquet`` and a manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"seed": exports.seed, "residents": exports.residents, "files": []}
    for code, file in exports.files.items():
        layout = LAYOUTS[code]
        path = out_dir / file.file_name
        if file.format == "xlsx":
            excel_ids = _excel_number_ids(exports.truth, file)
            _write_xlsx(file, layout, path, excel_ids)
        else:
            _write_csv(file.frames[""], path, file.encoding)
        file.path = path
        manifest["files"].append({
            "code": code, "department": file.department, "title": file.title, "file": file.file_name,
            "format": file.format, "encoding": file.encoding if file.format == "csv" else None,
            "sheets": file.sheets, "rows": file.rows, "columns": file.columns,
        })
    exports.truth.write_csv(out_dir / "truth.csv")
    exports.conflicts.write_csv(out_dir / "conflicts.csv")
    exports.registry_frame().write_parquet(out_dir / "registry.parquet")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    exports.out_dir = out_dir
    return out_dir


def _excel_number_ids(truth: pl.DataFrame, file: ExportFile) -> set[str]:
    """The ID values of rows whose ID was stored as a number cell (``id_status`` excel_number)."""
    rows = truth.filter((pl.col("source") == file.code) & (pl.col("id_status") == errs.ID_EXCEL_NUMBER))
    header = LAYOUTS[file.code].columns
    id_header = next(h for h, s in header if s == "@id")
    values: set[str] = set()
    for sheet, row_number in rows.select("sheet", "row_number").iter_rows():
        value = file.frames[sheet or ""][int(row_number) - 1, id_header]
        if value is not None:
            values.add(str(value))
    return values


# ---------------------------------------------------------------------------------------------
# Entry point


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


def generate_exports(
    *, seed: int = DEFAULT_SEED, residents: int | None = None, plan: StreetPlan | None = None,
    out_dir: Path | None = None,
) -> ExportSet:
    """Draw the six departmental exports of the demo street; write them when ``out_dir`` is set.

    ``plan`` (from :func:`plan_street`) overrides ``residents``; without either the street
    has the demo's default size. The same seed and residents always give the same files.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if plan is None:
        ids = IdCounters()
        plan = plan_street(seed=seed, residents=DEFAULT_RESIDENTS if residents is None else residents, ids=ids)
    else:
        seed = plan.seed
        ids = IdCounters(area=max(a.id for a in plan.areas) + 1)
    street, generator = _collect(plan, ids, seed)
    timings["population"] = time.perf_counter() - started
    lap = time.perf_counter()
    ghosts = _ghosts(street, generator, seed)
    pop = pl.concat([street.people, ghosts], how="diagonal_relaxed").with_columns(
        pl.col(c).fill_null(value=False) for c in ("is_deceased", "rented", "subsistence", "near_subsistence",
                                             "alone_mz", "empty_nest_mz", "left_behind", "severe_mental",
                                             "correction"))
    timings["ghosts"] = time.perf_counter() - lap
    builders: dict[str, Callable[[np.random.Generator], pl.DataFrame]] = {
        errs.MINZHENG: lambda r: _minzheng(pop, r),
        errs.CANLIAN: lambda r: _canlian(pop, r),
        errs.ZONGZHI: lambda r: _zongzhi(pop, r),
        errs.CHENGGUAN: lambda r: _chengguan(pop, street.shops, r),
        errs.JISHENG: lambda r: _jisheng(pop, r),
        errs.LIUDONG: lambda r: _liudong(pop, r),
    }
    files: dict[str, ExportFile] = {}
    truths: list[pl.DataFrame] = []
    conflicts: list[pl.DataFrame] = []
    for index, code in enumerate(errs.DEPARTMENT_CODES):
        lap = time.perf_counter()
        rng = np.random.default_rng([seed, index, 0x1EC5])
        layout = LAYOUTS[code]
        rendered = _render(builders[code](rng), layout, rng, street,
                           finish=_canlian_card if code == errs.CANLIAN else None)
        files[code] = ExportFile(code, layout.department, layout.title, layout.file_name, layout.format,
                                 layout.encoding, rendered.frames)
        truths.append(rendered.truth)
        conflicts.append(rendered.conflicts)
        timings[code] = time.perf_counter() - lap
    lap = time.perf_counter()
    registry = _registry(street.people)
    timings["registry"] = time.perf_counter() - lap
    exports = ExportSet(seed=seed, residents=plan.residents, files=files, truth=pl.concat(truths),
                        conflicts=pl.concat(conflicts), timings=timings, out_dir=None, _registry=registry)
    if out_dir is not None:
        lap = time.perf_counter()
        write_exports(exports, out_dir)
        timings["write"] = time.perf_counter() - lap
    return exports

