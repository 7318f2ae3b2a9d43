"""Fixtures of the devices tests: a flat of an elder living alone in grid a1 with its sensors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from conftest import Tree, Users
from linli.accounts.models import Department
from linli.cases.models import Category, DispatchRule
from linli.cases.taxonomy import taxonomy_load
from linli.devices.choices import DeviceKind
from linli.devices.models import Device
from linli.devices.services import device_register
from linli.geo.models import Area
from linli.registry.choices import TagKind
from linli.registry.models import Building, Person, PersonTag, Room, Unit


@dataclass
class Flat:
    building: Building
    room: Room
    elder: Person
    door: Device
    smoke: Device
    gas: Device
    sos: Device


@pytest.fixture
def seeded(db: None) -> None:
    # Transactional tests flush the migration's seed: load it again (idempotent).
    if not Category.objects.filter(code="0506").exists():
        taxonomy_load(Department, Category, DispatchRule)


def make_flat(tree: Tree, users: Users, *, prefix: str = "a1", grid: Area | None = None) -> Flat:
    area = grid or tree.grid_a1
    building = Building.objects.create(grid=area, compound="近江小区", name="3幢", address=f"望江路{len(prefix)}2号",
                                       lon=120.205, lat=30.205)
    unit = Unit.objects.create(building=building, number=2)
    room = Room.objects.create(unit=unit, building=building, floor=5, number="501")
    elder = Person.objects.create(name="王秀英", name_pinyin="wang xiu ying", name_initials="wxy",
                                  birth_date=date(1941, 3, 2), sex="F", grid=area, building=building, room=room)
    PersonTag.objects.create(person=elder, kind=TagKind.LIVING_ALONE_ELDER, source="民政", valid_from=date(2020, 1, 1))
    actor = users.community_a
    devices = {
        kind: device_register(actor=actor, kind=kind, external_id=f"{prefix}-{kind}", room=room, person=elder,
                              spot="厨房" if kind in (DeviceKind.SMOKE, DeviceKind.GAS) else "入户门")
        for kind in (DeviceKind.DOOR_CONTACT, DeviceKind.SMOKE, DeviceKind.GAS, DeviceKind.SOS)
    }
    return Flat(building, room, elder, devices[DeviceKind.DOOR_CONTACT], devices[DeviceKind.SMOKE],
                devices[DeviceKind.GAS], devices[DeviceKind.SOS])


@pytest.fixture
def flat(tree: Tree, users: Users, seeded: None) -> Flat:
    return make_flat(tree, users)
