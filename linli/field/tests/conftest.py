"""Fixtures of the field tests: the cases catalogue and case factory, a phone-made key, an
elder at home in grid A1 (shared with the browser test of the phone app)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from linli.cases.tests.conftest import cats, open_case
from linli.registry.models import Building, Household, Person, Room, Unit

__all__ = ["cats", "elder_at_home", "open_case"]


def elder_at_home(tree: Any) -> tuple[Building, Room, Person]:
    """陈桂芳, born 1940, head of household H-1 in 近江路5幢 2-301 of grid A1."""
    building = Building.objects.create(
        grid=tree.grid_a1, name="5幢", address="近江路5幢", lon=120.205, lat=30.205
    )
    unit = Unit.objects.create(building=building, number=2)
    room = Room.objects.create(unit=unit, building=building, number="301", floor=3)
    household = Household.objects.create(number="H-1", room=room, grid=tree.grid_a1)
    person = Person.objects.create(
        name="陈桂芳",
        name_pinyin="chenguifang",
        name_initials="cgf",
        grid=tree.grid_a1,
        building=building,
        room=room,
        household=household,
        relation="head",
        birth_date=date(1940, 3, 1),
        phone_masked="138****5678",
        id_number_masked="3301**********1234",
    )
    return building, room, person


@pytest.fixture
def key() -> str:
    return uuid.uuid4().hex
