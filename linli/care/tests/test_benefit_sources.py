"""Benefits written by the flows that decide them: a catalogue approval grants the benefit in
the same transaction, with the application as its provenance."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from conftest import Tree, Users, make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import User
from linli.accounts.services import department_named
from linli.care import services as care_services
from linli.care.choices import BenefitSource
from linli.care.models import Benefit, Policy
from linli.care.services import benefit_from_application, benefit_grant
from linli.catalogue.choices import ApplicationAction as A
from linli.catalogue.choices import ApplicationStatus as S
from linli.catalogue.models import ServiceItemVersion
from linli.catalogue.services import (
    application_submit,
    application_transition,
    item_create,
    item_publish_version,
)
from linli.catalogue.tests.conftest import ELDER_RULE, FORM, MATERIALS, SEED, make_id, valid_data
from linli.core.models import AuditEntry
from linli.fusion.models import Source
from linli.fusion.services import import_run, sources_sync
from linli.registry.models import Person
from linli.registry.services import person_create

pytestmark = pytest.mark.usefixtures("seeded")


@dataclass
class Deciders:
    clerk: User  # the community window
    civil: User  # 民政 staff of the district, who approves


@pytest.fixture
def deciders(users: Users, tree: Tree, settings: Any, tmp_path: Path) -> Deciders:
    settings.DATA_DIR = tmp_path  # uploads of each test in their own data dir
    civil = make_user("dept_mz", Role.DEPARTMENT_STAFF, (tree.district, AssignmentKind.MEMBER),
                      department=department_named(actor=SEED, text="民政"))
    return Deciders(users.community_a, civil)


def _person(tree: Tree, birth: date) -> Person:
    return person_create(actor=SEED, name="王秀英", id_number=make_id(birth, "321"), phone="13812345678",
                         hukou="local", grid=tree.grid_a1)


def _item(code: str, name: str, *, kind: str, rules: dict[str, object] | None = None) -> ServiceItemVersion:
    item = item_create(actor=SEED, code=code, name=name, department=department_named(actor=SEED, text="民政"),
                       level="street", kind=kind)
    return item_publish_version(actor=SEED, item=item, time_limit_days=10, materials=MATERIALS,
                                steps=["申请", "审核", "办结"], form=FORM, rules=rules)


def test_an_instant_approval_grants_the_policy_the_persons_age_picks(
    deciders: Deciders, tree: Tree,
) -> None:
    # given 高龄津贴 (MZ006, linked to both the 80–89 and the 90–99 policies) and an elder of 86
    version = _item("MZ006", "高龄津贴发放", kind="instant", rules=ELDER_RULE)
    elder = _person(tree, date(1940, 3, 1))
    # when the window files it and the rule approves it at once
    app, _ = application_submit(actor=deciders.clerk, version=version, applicant=elder,
                                data=valid_data(), files={}, channel="window")
    # then the person holds the 80–89 allowance from today, with the application as provenance
    assert app.status == S.APPROVED
    benefit = Benefit.objects.get(person=elder)
    assert benefit.policy.code == "gaoling_80"
    assert benefit.source == BenefitSource.WINDOW
    assert benefit.source_ref == f"catalogue.application:{app.number}"
    assert benefit.starts_on == timezone.localdate()
    assert benefit.amount == Decimal("50")
    assert [e.action for e in benefit.events.all()] == ["grant"]
    assert AuditEntry.objects.filter(action="care.benefit.grant", target_id=str(benefit.pk)).exists()


def test_a_department_approval_grants_the_benefit_once(
    deciders: Deciders, tree: Tree,
) -> None:
    # given a 低保 application (MZ001) forwarded by the community
    version = _item("MZ001", "最低生活保障审核确认", kind="promised")
    person = _person(tree, date(1970, 5, 1))
    clerk = deciders.clerk
    app, _ = application_submit(actor=clerk, version=version, applicant=person, data=valid_data(), files={},
                                channel="window")
    app = application_transition(application=app, action=A.START_PRE_REVIEW, actor=clerk)
    app = application_transition(application=app, action=A.FORWARD, actor=clerk, note="材料齐全")
    assert not Benefit.objects.filter(person=person).exists()
    # when the 民政 department approves it
    app = application_transition(application=app, action=A.APPROVE, actor=deciders.civil)
    # then 低保 is recorded for the person, and a repeated notice of the approval adds nothing
    assert [(b.policy.code, b.source) for b in Benefit.objects.filter(person=person)] == [("dibao", "window")]
    assert benefit_from_application(application=app, actor=deciders.civil, now=timezone.now()) == []
    assert Benefit.objects.filter(person=person).count() == 1


def test_a_rejection_or_an_item_without_a_policy_grants_nothing(
    deciders: Deciders, tree: Tree,
) -> None:
    # given a rejected 低保 application and an approved application of an unlinked item
    dibao = _item("MZ001", "最低生活保障审核确认", kind="promised")
    other = _item("T900", "其他事项", kind="instant", rules=ELDER_RULE)
    person = _person(tree, date(1940, 3, 1))
    clerk = deciders.clerk
    app, _ = application_submit(actor=clerk, version=dibao, applicant=person, data=valid_data(), files={},
                                channel="window")
    app = application_transition(application=app, action=A.START_PRE_REVIEW, actor=clerk)
    app = application_transition(application=app, action=A.FORWARD, actor=clerk, note="材料齐全")
    app = application_transition(application=app, action=A.REJECT, actor=deciders.civil, note="收入超标")
    instant, _ = application_submit(actor=clerk, version=other, applicant=person, data=valid_data(serial="556"),
                                    files={}, channel="window")
    # then no benefit exists
    assert app.status == S.REJECTED
    assert instant.status == S.APPROVED
    assert not Benefit.objects.filter(person=person).exists()


# --- benefits from the 民政 list, through fusion ----------------------------------------------

MZ_HEADER = ["姓名", "身份证号", "性别", "出生日期", "联系电话", "现住址", "残疾等级", "对象类别", "死亡日期", "所属社区"]


def _minzheng_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MZ_HEADER)
        writer.writerows(rows)
    return path


def test_an_imported_list_records_its_benefits_once(
    tree: Tree, deciders: Deciders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(care_services, "IMPORT_SLICE", 1)  # every slice boundary crossed
    # given two registered persons, one of whom already receives 低保 from a window decision
    wang = _person(tree, date(1980, 1, 1))
    li = person_create(actor=SEED, name="李娜", id_number=make_id(date(1950, 5, 5), "402"), phone=None,
                       hukou="local", grid=tree.grid_a1)
    dibao = Policy.objects.get(code="dibao")
    benefit_grant(person=li, policy=dibao, starts_on=date(2026, 1, 1), source=BenefitSource.WINDOW, actor=SEED)
    sources_sync(actor=SEED)
    source = Source.objects.get(code="minzheng")
    rows = [
        ["王秀英", make_id(date(1980, 1, 1), "321"), "女", "1980-01-01", "", "", "", "最低生活保障", "", ""],
        ["李娜", make_id(date(1950, 5, 5), "402"), "女", "1950-05-05", "", "", "", "最低生活保障", "", ""],
        ["李娜", make_id(date(1950, 5, 5), "402"), "女", "1950-05-05", "", "", "", "特困供养", "", ""],
        ["王秀英", make_id(date(1980, 1, 1), "321"), "女", "1980-01-01", "", "", "", "", "", ""],
    ]
    path = _minzheng_csv(tmp_path / "mz.csv", rows)
    # when the 民政 list is imported
    import_run(actor=SEED, source=source, file_path=path, dry_run=False)
    # then each benefit the list states is recorded with the import as its provenance,
    # and the 低保 李娜 already held is not recorded twice
    held = sorted((b.person.name, b.policy.code, b.source) for b in Benefit.objects.select_related("person", "policy"))
    assert held == [("李娜", "dibao", "window"), ("李娜", "tekun", "minzheng"), ("王秀英", "dibao", "minzheng")]
    imported = Benefit.objects.get(person=wang)
    assert imported.source_ref.startswith("fusion.minzheng:")
    assert imported.amount == Decimal("1280")
    assert [e.action for e in imported.events.all()] == ["grant"]
    assert AuditEntry.objects.filter(action="care.benefit.import").count() == 1
    # when the same list is imported again
    import_run(actor=SEED, source=source, file_path=path, dry_run=False)
    # then nothing is added
    assert Benefit.objects.count() == 3


def test_an_age_banded_allowance_on_the_minzheng_list_gets_the_policy_of_the_persons_age(
    tree: Tree, deciders: Deciders, tmp_path: Path,
) -> None:
    # given the 民政 list's 高龄津贴 rows name no band: persons of 75, 86, 93 and 101, and one of 60
    today = timezone.localdate()
    ages = {"周七五": 75, "吴八六": 86, "郑九三": 93, "冯百一": 101, "陈六十": 60}
    rows = []
    for n, (name, age) in enumerate(ages.items()):
        birth = date(today.year - age, 1, 1)  # so they are ``age`` today
        person_create(actor=SEED, name=name, id_number=make_id(birth, f"5{n}1"), phone=None, hukou="local",
                      grid=tree.grid_a1)
        rows.append([name, make_id(birth, f"5{n}1"), "男", birth.isoformat(), "", "", "", "高龄津贴", "", ""])
    sources_sync(actor=SEED)
    source = Source.objects.get(code="minzheng")
    path = _minzheng_csv(tmp_path / "gaoling.csv", rows)
    # when it is imported
    import_run(actor=SEED, source=source, file_path=path, dry_run=False)
    # then each person gets the allowance of their age band; the 60-year-old none
    held = dict(Benefit.objects.values_list("person__name", "policy__code"))
    assert held == {"周七五": "zunlaojin", "吴八六": "gaoling_80", "郑九三": "gaoling_90", "冯百一": "gaoling_100"}
    assert Benefit.objects.get(person__name="郑九三").amount == Decimal("200")
    # and a second import adds nothing
    import_run(actor=SEED, source=source, file_path=path, dry_run=False)
    assert Benefit.objects.count() == 4


def test_the_canlian_subsidy_roll_records_the_two_disability_subsidies(
    tree: Tree, deciders: Deciders, tmp_path: Path,
) -> None:
    from linli.fusion.tests.web_support import xlsx_bytes
    from linli.registry.models import PersonTag

    header = ["姓名", "性别", "公民身份号码", "残疾等级", "出生年月", "手机号码", "居住地址", "发证日期", "享受补贴"]
    people = [("褚一级", "1955-03-01", "一级", "重度残疾人护理补贴"), ("卫三级", "1970-07-07", "三级", "困难残疾人生活补贴"),
              ("蒋二级", "1962-02-02", "二级", "困难残疾人生活补贴、重度残疾人护理补贴"), ("沈四级", "1980-08-08", "四级", "")]
    sheet: list[list[Any]] = [header]
    for n, (name, birth, grade, subsidy) in enumerate(people):
        number = make_id(date.fromisoformat(birth), f"6{n}1")
        person_create(actor=SEED, name=name, id_number=number, phone=None, hukou="local", grid=tree.grid_a1)
        sheet.append([name, "男", number, grade, birth, "", "", "2020-01-01", subsidy])
    path = tmp_path / "canlian.xlsx"
    path.write_bytes(xlsx_bytes({"肢体残疾": sheet}))
    sources_sync(actor=SEED)
    import_run(actor=SEED, source=Source.objects.get(code="canlian"), file_path=path, dry_run=False)
    held = set(Benefit.objects.values_list("person__name", "policy__code", "source"))
    assert held == {("卫三级", "canji_shenghuo", "canlian"), ("褚一级", "canji_huli", "canlian"),
                    ("蒋二级", "canji_huli", "canlian"), ("蒋二级", "canji_shenghuo", "canlian")}
    # the disabled tag is still one per person, with its grade
    assert PersonTag.objects.filter(person__name="蒋二级", kind="disabled").count() == 1
    assert PersonTag.objects.get(person__name="蒋二级", kind="disabled").note == "2级"
