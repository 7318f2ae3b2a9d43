"""Fixtures of the catalogue tests: items with forms and rules, persons, extra users."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conftest import Tree, Users, make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import User
from linli.accounts.services import department_named
from linli.catalogue.models import ServiceItem, ServiceItemVersion
from linli.catalogue.services import item_create, item_publish_version
from linli.core.actors import SystemActor
from linli.registry.models import Person, PersonTag
from linli.registry.services import person_create
from linli.registry.validators import id_number_check_char

SEED = SystemActor("test:seed")

FORM: dict[str, Any] = {
    "steps": [
        {"key": "applicant", "title": "申请人信息", "help": "", "when": None, "fields": [
            {"key": "name", "label": "姓名", "type": "text", "required": True, "prefill": "person.name"},
            {"key": "id_number", "label": "身份证号", "type": "id_number", "required": True,
             "prefill": "person.id_number"},
            {"key": "phone", "label": "联系电话", "type": "phone", "required": True, "prefill": "person.phone"},
        ]},
        {"key": "details", "title": "申请内容", "when": None, "fields": [
            {"key": "reason", "label": "申请事由", "type": "textarea", "required": False, "max_length": 200},
            {"key": "photo", "label": "身份证照片", "type": "upload", "required": False, "material": "id_card"},
        ]},
    ],
}
MATERIALS: list[dict[str, Any]] = [
    {"code": "id_card", "name": "居民身份证", "required": True, "example": "正反面", "accept": ["image", "pdf"]},
]
ELDER_RULE: dict[str, Any] = {"all": [
    {"fact": "person.age", "op": "gte", "value": 80, "message": "申请人须年满80周岁"},
    {"fact": "person.hukou", "op": "eq", "value": "local", "message": "申请人须为本区户籍"},
    {"fact": "person.is_deceased", "op": "eq", "value": False, "message": "申请人须健在"},
]}


def make_id(birth: date, serial: str = "123", area: str = "330102") -> str:
    first17 = f"{area}{birth:%Y%m%d}{serial}"
    return first17 + id_number_check_char(first17)


@dataclass
class CatalogueUsers:
    base: Users
    dept_civil: User  # 民政 department staff of the district
    dept_other: User  # 人社 department staff
    resident: User
    resident_other: User


@pytest.fixture
def cat_users(users: Users, tree: Tree) -> CatalogueUsers:
    dept_civil = make_user("dept_mz", Role.DEPARTMENT_STAFF, (tree.district, AssignmentKind.MEMBER),
                           department=department_named(actor=SEED, text="民政"))
    dept_other = make_user("dept_rs", Role.DEPARTMENT_STAFF, (tree.district, AssignmentKind.MEMBER),
                           department=department_named(actor=SEED, text="人社"))
    return CatalogueUsers(
        base=users, dept_civil=dept_civil, dept_other=dept_other,
        resident=make_user("res1", Role.RESIDENT), resident_other=make_user("res2", Role.RESIDENT),
    )


ItemFactory = Callable[..., ServiceItemVersion]


@pytest.fixture
def publish(db: None) -> ItemFactory:
    counter = {"n": 0}

    def make(*, kind: str = "promised", level: str = "street", department: str = "民政",
             rules: dict[str, Any] | None = None, form: dict[str, Any] | None = None,
             time_limit_days: int = 10, name: str = "高龄津贴") -> ServiceItemVersion:
        counter["n"] += 1
        item: ServiceItem = item_create(actor=SEED, code=f"T{counter['n']:03d}", name=name,
                                        department=department_named(actor=SEED, text=department),
                                        level=level, kind=kind)
        return item_publish_version(
            actor=SEED, item=item, time_limit_days=time_limit_days, materials=MATERIALS,
            steps=["申请", "审核", "办结"], form=form or FORM, rules=rules,
        )

    return make


PersonFactory = Callable[..., Person]


@pytest.fixture
def make_person(tree: Tree) -> PersonFactory:
    serials = iter(range(100, 999))

    def make(*, name: str = "王秀英", birth: date = date(1940, 3, 1), grid: Any = None, hukou: str = "local",
             tags: tuple[str, ...] = (), phone: str | None = "13812345678") -> Person:
        person = person_create(
            actor=SEED, name=name, id_number=make_id(birth, f"{next(serials):03d}"), phone=phone,
            hukou=hukou, grid=grid or tree.grid_a1,
        )
        for kind in tags:
            PersonTag.objects.create(person=person, kind=kind, source="test", valid_from=date(2000, 1, 1))
        return person

    return make


@pytest.fixture(autouse=True)
def _isolated_files(settings: Any, tmp_path: Path) -> None:
    """Uploads of each test go to its own data dir."""
    settings.DATA_DIR = tmp_path


def valid_data(*, birth: date = date(1940, 3, 1), serial: str = "555") -> dict[str, Any]:
    return {"name": "李桂兰", "id_number": make_id(birth, serial), "phone": "13900001111", "reason": "申请津贴"}
