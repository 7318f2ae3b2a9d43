"""Fixtures of the portal tests: a building in grid A1 with two households, a fake SMS
gateway the codes go through, and helpers to read a code and register a resident."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from conftest import Tree
from linli.accounts.models import User
from linli.cases.models import Category, DispatchRule
from linli.cases.taxonomy import taxonomy_load
from linli.core.actors import SystemActor
from linli.notify.channels.registry import channel_setups
from linli.notify.fake_gateway import KEY_ID, KEY_SECRET, FakeGateway
from linli.notify.relay import Relay
from linli.registry.models import Building, Household, Person, Room
from linli.registry.services import (
    building_create,
    household_create,
    person_create,
    room_create,
    unit_create,
)
from linli.registry.validators import id_number_check_char

SEED = SystemActor("test:seed")


def make_id(birth: date, serial: str) -> str:
    first17 = f"330102{birth:%Y%m%d}{serial}"
    return first17 + id_number_check_char(first17)


@dataclass
class Home:
    building: Building
    room_a: Room  # 101: household A (张建国 head, 李秀英)
    room_b: Room  # 102: household B (王芳)
    household_a: Household
    household_b: Household
    zhang: Person
    li: Person
    wang: Person


ZHANG_PHONE = "13800001111"
WANG_PHONE = "13900002222"


@pytest.fixture
def home(tree: Tree) -> Home:
    building = building_create(actor=SEED, grid=tree.grid_a1, name="1幢", address="望江路1号1幢",
                               lon=120.205, lat=30.205, compound="望江小区", floors=6)
    unit = unit_create(actor=SEED, building=building, number=1)
    room_a = room_create(actor=SEED, unit=unit, floor=1, number="101")
    room_b = room_create(actor=SEED, unit=unit, floor=1, number="102")
    household_a = household_create(actor=SEED, number="H-A", room=room_a)
    household_b = household_create(actor=SEED, number="H-B", room=room_b)
    zhang = person_create(actor=SEED, name="张建国", id_number=make_id(date(1940, 3, 1), "111"), phone=ZHANG_PHONE,
                          hukou="local", room=room_a, household=household_a, relation="head")
    li = person_create(actor=SEED, name="李秀英", id_number=make_id(date(1942, 5, 1), "222"), phone="13700003333",
                       hukou="local", room=room_a, household=household_a, relation="spouse")
    wang = person_create(actor=SEED, name="王芳", id_number=make_id(date(1985, 1, 2), "333"), phone=WANG_PHONE,
                         hukou="local", room=room_b, household=household_b, relation="head")
    return Home(building, room_a, room_b, household_a, household_b, zhang, li, wang)


@pytest.fixture
def cats(db: None) -> None:
    if not Category.objects.filter(code="0101").exists():
        from linli.accounts.models import Department

        taxonomy_load(Department, Category, DispatchRule)


@pytest.fixture
def sms(settings: Any) -> Iterator[FakeGateway]:
    """The SMS channel pointed at the local fake Aliyun gateway."""
    with FakeGateway() as fake:
        settings.LINLI_NOTIFY = {
            "LINLI_NOTIFY_SMS": "aliyun", "LINLI_NOTIFY_SMS_ENDPOINT": f"{fake.url}/aliyun",
            "LINLI_NOTIFY_SMS_KEY_ID": KEY_ID, "LINLI_NOTIFY_SMS_KEY_SECRET": KEY_SECRET,
            "LINLI_NOTIFY_SMS_SIGN_NAME": "邻里", "LINLI_NOTIFY_WECHAT": "off", "LINLI_NOTIFY_WEBPUSH": "off",
            "LINLI_NOTIFY_EMAIL": "off", "LINLI_NOTIFY_TIMEOUT_SECONDS": "2", "LINLI_NOTIFY_SMS_RATE": "10000",
        }
        yield fake


def last_code(fake: FakeGateway, phone: str) -> str:
    """Run the relay once, then read the newest code the fake gateway delivered to ``phone``."""
    Relay(channel_setups(), threads=2, chunk=4).run_once()
    for entry in reversed(fake.recorder.entries):
        if entry.get("delivered") and entry.get("to") == phone and entry.get("template") == "portal.code":
            return str(entry["params"]["code"])
    raise AssertionError(f"no code delivered to {phone}: {json.dumps(fake.recorder.entries)[:500]}")


def register(client: Client, fake: FakeGateway, *, tree: Tree, room: Room, name: str, phone: str,
             id_suffix: str, code: str | None = None) -> Any:
    """Register through the pages; returns the response to the code."""
    response = client.post("/portal/register/", {
        "community": tree.community_a.pk, "building": room.building_id, "unit": room.unit_id, "room": room.pk,
        "name": name, "phone": phone, "id_suffix": id_suffix})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.post("/portal/register/code/", {"code": code or last_code(fake, phone)})


def resident_of(phone_user: Any) -> User:
    assert isinstance(phone_user, User)
    return phone_user


@pytest.fixture(autouse=True)
def _isolated_files(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
