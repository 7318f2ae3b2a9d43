"""A small street for emergency mode, written straight through the ORM.

Inside the drawn square (120.201–120.209, 30.201–30.2095) of 望江街道:
- 望江路12号 (grid A1): 101 an elder living alone, 102 a family with a child, 201 a couple;
- 望江路14号 (grid A1): 101 a disabled resident;
- 婺江路8号 (grid B1, the square reaches into it): 101 one resident.
Outside the square: 望江路30号 (grid A2). Another street, 清波街道, has a grid over the same
ground with 清波路1号 inside the square: its operator must see only that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import count

import pytest

from conftest import Tree, Users, _area, make_user, square
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import User
from linli.core import pii
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.choices import Relation, TagKind
from linli.registry.models import Building, Household, Person, PersonTag, Room, Unit
from linli.registry.text import PII_PHONE, pinyin_keys

DRAWN = [[120.201, 30.201], [120.209, 30.201], [120.209, 30.2095], [120.201, 30.2095], [120.201, 30.201]]
SHAPE = {"type": "Polygon", "coordinates": [DRAWN]}
_numbers = count(1)


def building(grid: Area, address: str, lon: float, lat: float) -> Building:
    return Building.objects.create(grid=grid, name=address[-3:], address=address, lon=lon, lat=lat, floors=6)


def household(b: Building, unit: int, room: str, people: list[tuple[str, date, list[str]]]) -> Household:
    unit_row, _ = Unit.objects.get_or_create(building=b, number=unit)
    room_row = Room.objects.create(unit=unit_row, building=b, floor=int(room[0]), number=room)
    h = Household.objects.create(number=f"H{next(_numbers):05d}", room=room_row, grid=b.grid)
    for i, (name, birth, tags) in enumerate(people):
        phone = f"1380000{next(_numbers):04d}"
        pinyin, initials = pinyin_keys(name)
        person = Person.objects.create(
            name=name, name_pinyin=pinyin, name_initials=initials, birth_date=birth,
            phone_enc=pii.encrypt(phone, field=PII_PHONE), phone_bidx=pii.blind_index(phone, field=PII_PHONE),
            phone_masked=pii.mask_phone(phone), room=room_row, building=b, grid=b.grid, household=h,
            relation=Relation.HEAD if i == 0 else Relation.SPOUSE)
        for kind in tags:
            PersonTag.objects.create(person=person, kind=kind, source="民政", valid_from=date(2020, 1, 1))
        if i == 0:
            h.head = person
            h.save(update_fields=["head"])
    return h


@dataclass
class Emergency:
    tree: Tree
    users: Users
    b12: Building
    b14: Building
    b8: Building
    b30: Building
    elder: Household
    family: Household
    couple: Household
    disabled: Household
    wujiang: Household
    outside: Household
    other_street: Area
    other_building: Building
    other_household: Household
    other_operator: User
    other_worker: User


@pytest.fixture
def em(tree: Tree, users: Users) -> Emergency:
    b12 = building(tree.grid_a1, "望江路12号", 120.203, 30.203)
    b14 = building(tree.grid_a1, "望江路14号", 120.207, 30.207)
    b8 = building(tree.grid_b1, "婺江路8号", 120.205, 30.2092)
    b30 = building(tree.grid_a2, "望江路30号", 120.215, 30.205)
    elder = household(b12, 1, "101", [("王秀英", date(1938, 5, 1), [TagKind.LIVING_ALONE_ELDER])])
    family = household(b12, 1, "102", [("李强", date(1985, 3, 2), []), ("张丽", date(1987, 7, 9), []),
                                       ("李小宝", date(2020, 6, 1), [])])
    couple = household(b12, 1, "201", [("陈建国", date(1970, 1, 1), []), ("刘芳", date(1972, 2, 2), [])])
    disabled = household(b14, 2, "101", [("赵明", date(1990, 4, 4), [TagKind.DISABLED])])
    wujiang = household(b8, 1, "101", [("孙伟", date(1980, 8, 8), [])])
    outside = household(b30, 1, "101", [("周杰", date(1975, 9, 9), [TagKind.LIVING_ALONE_ELDER])])
    other_street = _area(AreaLevel.STREET, "330102002", "清波街道", tree.district)
    other_community = _area(AreaLevel.COMMUNITY, "330102002001", "清波社区", other_street)
    other_grid = _area(AreaLevel.GRID, "330102002001001", "清波社区第1网格", other_community, square(120.20, 30.20))
    other_building = building(other_grid, "清波路1号", 120.204, 30.204)
    other_household = household(other_building, 1, "101", [("吴敏", date(1940, 1, 1), [TagKind.OLDEST_OLD])])
    other_operator = make_user("street_qb", Role.STREET_STAFF, (other_street, AssignmentKind.MEMBER))
    other_worker = make_user("gw_qb", Role.GRID_WORKER, (other_grid, AssignmentKind.PRIMARY))
    return Emergency(tree, users, b12, b14, b8, b30, elder, family, couple, disabled, wujiang, outside,
                     other_street, other_building, other_household, other_operator, other_worker)
