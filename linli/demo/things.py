"""Organisations (shops, property offices, social organisations, party branches, public
institutions) and facilities (cameras, hydrants, AEDs …) of a grid."""

from __future__ import annotations

import random
from typing import Final

from faker.providers.company.zh_CN import Provider as CompanyNames

from linli.demo.geometry import PointSampler
from linli.demo.identity import credit_code, mobile
from linli.demo.names import RESTAURANT_FOODS, SHOP_BRANDS, SHOP_TRADES, NameMaker
from linli.demo.people import REFERENCE_DATE
from linli.demo.places import CITY_PREFIX, GridStock
from linli.demo.rows import FacilityRow, IdCounters, OrganisationRow
from linli.registry.choices import FacilityKind, OrganisationKind

REGION: Final = "330102"
_TRADE_WEIGHTS: Final = [w for _, w in SHOP_TRADES]


class OrganisationMaker:
    """Names and codes for organisations; credit codes are unique across the street."""

    def __init__(self) -> None:
        # Faker zh_CN's two-character trade names (和泰, 九方 …) read like real ones; longer
        # ones carry words such as 电子/公司 that do not fit a corner shop.
        self._prefixes = sorted({p for p in CompanyNames.company_prefixes if len(p) == 2})
        self._codes: set[str] = set()
        self._names = NameMaker()

    def code(self, rng: random.Random, authority_type: str) -> str:
        while True:
            value = credit_code(rng, authority_type=authority_type, region=REGION)
            if value not in self._codes:
                self._codes.add(value)
                return value

    def shop_name(self, rng: random.Random, road: str) -> tuple[str, str]:
        """(kind, name) of a ground-floor business."""
        trade = rng.choices(SHOP_TRADES, weights=_TRADE_WEIGHTS)[0][0]
        roll = rng.random()
        if roll < 0.2:
            return OrganisationKind.ENTERPRISE.value, f"{rng.choice(SHOP_BRANDS)}({road.removesuffix('路').removesuffix('街')}店)"
        if trade in {"面馆", "小吃店", "早餐店", "快餐店"} and roll < 0.55:
            surname = self._names.surname(rng, local=True)
            return OrganisationKind.INDIVIDUAL_BUSINESS.value, f"{surname}记{rng.choice(RESTAURANT_FOODS)}"
        prefix = rng.choice((rng.choice(self._prefixes), road.removesuffix("路").removesuffix("街"), "老杭州", "邻里"))
        return OrganisationKind.INDIVIDUAL_BUSINESS.value, f"杭州市上城区{prefix}{trade}"

    def company(self, rng: random.Random) -> str:
        return f"杭州{rng.choice(self._prefixes)}物业管理有限公司"

    def contact(self, rng: random.Random) -> tuple[str, str]:
        birth_year = REFERENCE_DATE.year - rng.randint(25, 62)
        male = rng.random() < 0.55
        return self._names.full(rng, male=male, birth_year=birth_year, local=rng.random() < 0.6), mobile(rng)


def make_organisations(
    rng: random.Random, maker: OrganisationMaker, *, stock: GridStock, grid_id: int,
    community: str, first_of_community: bool, sampler: PointSampler, ids: IdCounters,
) -> list[OrganisationRow]:
    rows: list[OrganisationRow] = []
    buildings = {b.id: b for b in stock.buildings}

    def add(kind: str, name: str, code: str, building_id: int | None, address: str,
            point: tuple[float, float], employees: int | None) -> None:
        contact_name, phone = maker.contact(rng)
        rows.append(OrganisationRow(
            id=ids.take("organisation"), kind=kind, name=name, credit_code=code, grid_id=grid_id,
            building_id=building_id, address=address, lon=point[0], lat=point[1],
            contact_name=contact_name, contact_phone=phone, employees=employees,
        ))

    for room in stock.commercial:
        if rng.random() < 0.15:  # empty shop front
            continue
        building = buildings[room.building_id]
        kind, name = maker.shop_name(rng, building.road)
        authority = "91" if kind == OrganisationKind.ENTERPRISE else "92"
        address = f"{CITY_PREFIX}{building.road}{rng.randint(1, 399)}-{room.number[-1]}号"
        add(kind, name, maker.code(rng, authority), building.id, address,
            (building.lon, building.lat), rng.randint(1, 12))
    for compound in stock.compounds:
        first = next(b for b in stock.buildings if b.compound == compound.name)
        add(OrganisationKind.ENTERPRISE.value, f"{maker.company(rng)}{compound.name}物业服务中心",
            maker.code(rng, "91"), first.id, first.address, (first.lon, first.lat), rng.randint(4, 30))
        if len([b for b in stock.buildings if b.compound == compound.name]) >= 6:
            add(OrganisationKind.PARTY_BRANCH.value, f"中共{community}{compound.name}党支部", "",
                first.id, first.address, (first.lon, first.lat), None)
    if first_of_community:
        point = sampler.sample(rng)
        address = f"{CITY_PREFIX}{community}党群服务中心"
        add(OrganisationKind.PARTY_BRANCH.value, f"中共{community}委员会", "", None, address, point, None)
        for name, authority, staff in (
            (f"{community}老年协会", "51", None), (f"{community}志愿者服务队", "51", None),
            (f"杭州市上城区{community.removesuffix('社区')}邻里互助中心", "52", 6),
            (f"{community}居家养老服务照料中心", "52", 8),
            (f"杭州市上城区{community.removesuffix('社区')}社区卫生服务站", "12", 14),
        ):
            kind = OrganisationKind.PUBLIC_INSTITUTION if authority == "12" else OrganisationKind.SOCIAL_ORGANISATION
            add(kind.value, name, maker.code(rng, authority), None, address, sampler.near(rng, point), staff)
    return rows


# (kind, code prefix, count per 74,000 residents)
FACILITY_RATES: Final = (
    (FacilityKind.CAMERA, "SXT", 350.0),
    (FacilityKind.HYDRANT, "XHS", 120.0),
    (FacilityKind.AED, "AED", 24.0),
    (FacilityKind.EV_CHARGER, "CDZ", 80.0),
    (FacilityKind.SMOKE_DETECTOR, "YG", 180.0),
)
_CAMERA_TYPES: Final = ("枪机", "球机", "人脸抓拍机", "高空瞭望", "车辆卡口")
_SIDES: Final = ("东侧", "西侧", "南侧", "北侧", "出入口", "楼道口")


def _count(rng: random.Random, expected: float) -> int:
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def make_facilities(
    rng: random.Random, *, stock: GridStock, grid_code: str, grid_id: int, residents: int,
    community: str, first_of_community: bool, community_index: int, sampler: PointSampler,
    door_sensor_buildings: list[int], ids: IdCounters,
) -> list[FacilityRow]:
    rows: list[FacilityRow] = []
    counters: dict[str, int] = {}
    buildings = stock.buildings
    by_id = {b.id: b for b in buildings}

    def add(kind: str, prefix: str, name: str, point: tuple[float, float], building_id: int | None) -> None:
        counters[prefix] = counters.get(prefix, 0) + 1
        rows.append(FacilityRow(
            id=ids.take("facility"), kind=kind, code=f"{prefix}{grid_code}{counters[prefix]:05d}",
            name=name, grid_id=grid_id, building_id=building_id, lon=point[0], lat=point[1],
            in_service=rng.random() > 0.03,
        ))

    for kind, prefix, rate in FACILITY_RATES:
        count = _count(rng, residents * rate / 74_000)
        if kind in {FacilityKind.CAMERA, FacilityKind.HYDRANT}:
            count = max(count, 1)  # even the smallest grid has a gate camera and a hydrant
        for _ in range(count):
            if kind == FacilityKind.SMOKE_DETECTOR:
                old = [b for b in buildings if b.kind == "old"] or buildings
                building = rng.choice(old)
                add(kind.value, prefix, f"{building.compound}{building.name}楼道烟感",
                    (building.lon, building.lat), building.id)
                continue
            building = rng.choice(buildings)
            point = sampler.near(rng, (building.lon, building.lat))
            if kind == FacilityKind.CAMERA:
                name = f"{building.compound}{building.name}{rng.choice(_SIDES)}{rng.choice(_CAMERA_TYPES)}"
            elif kind == FacilityKind.HYDRANT:
                name = f"室外消火栓({building.compound}{building.name}{rng.choice(_SIDES)})"
            elif kind == FacilityKind.AED:
                name = f"AED({building.compound}门卫室)"
            else:
                name = f"{building.compound}电动自行车充电棚"
            add(kind.value, prefix, name, point, None)
    for building_id in door_sensor_buildings:
        building = by_id[building_id]
        add(FacilityKind.DOOR_SENSOR.value, "MC", f"{building.compound}{building.name}独居老人门磁",
            (building.lon, building.lat), building_id)
    if first_of_community:
        centre = sampler.sample(rng)
        add(FacilityKind.SERVICE_POINT.value, "FWD", f"{community}党群服务中心", centre, None)
        add(FacilityKind.ELDERLY_CANTEEN.value, "LNST", f"{community}老年食堂", sampler.near(rng, centre), None)
        add(FacilityKind.AED.value, "AED", f"AED({community}党群服务中心)", sampler.near(rng, centre), None)
        if community_index % 2 == 0:
            add(FacilityKind.SHELTER.value, "BNC", f"{community}应急避难场所", sampler.sample(rng), None)
    return rows
