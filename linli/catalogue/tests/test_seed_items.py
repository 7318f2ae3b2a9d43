"""The seed catalogue: complete, valid, and loaded idempotently with versions kept."""

from __future__ import annotations

import dataclasses
from io import StringIO

import pytest
from django.core.management import call_command

from conftest import Users
from linli.catalogue.data.items import SEED_ITEMS
from linli.catalogue.data.materials import MATERIALS
from linli.catalogue.forms_schema import form_fields, validate_form_definition
from linli.catalogue.models import ServiceItem, ServiceItemVersion
from linli.catalogue.rules import evaluate, facts_used, validate_rule
from linli.catalogue.seed_items import build_form, catalogue_seed, seed_definition
from linli.catalogue.services import item_publish_version, validate_materials
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry

SEED = SystemActor("test:catalogue-seed")
BY_CODE = {item.code: item for item in SEED_ITEMS}
# The items the issue names, as they read in the catalogue.
REQUIRED_NAMES = (
    "居住证申领", "居住证签注", "残疾人证申领", "残疾人证换领", "残疾人证迁移", "高龄津贴发放",
    "最低生活保障审核确认", "最低生活保障边缘家庭认定", "临时救助", "特困人员救助供养认定",
    "居家养老服务补贴申请", "老年人优待证办理", "独生子女父母奖励", "生育登记", "失业登记", "就业登记",
    "灵活就业登记", "就业困难人员认定", "困难群众医疗救助", "地名门牌证明", "居住证明出具",
    "城乡居民基本医疗保险参保登记", "城乡居民基本养老保险参保登记", "流动人口居住登记", "出租房屋登记备案",
    "退役军人优待证申领", "优抚对象抚恤补助", "困难残疾人生活补贴和重度残疾人护理补贴",
    "惠民殡葬基本服务费用减免", "计划生育家庭特别扶助金", "婚育情况证明", "临时占用城市道路审批",
    "生活垃圾分类问题投诉",
)


def test_seed_catalogue_lists_at_least_110_items_with_unique_codes() -> None:
    # given / when
    codes = [item.code for item in SEED_ITEMS]
    # then
    assert len(codes) >= 110
    assert len(set(codes)) == len(codes)


def test_seed_catalogue_contains_every_item_the_issue_names() -> None:
    # given
    names = {item.name for item in SEED_ITEMS}
    # when
    missing = [name for name in REQUIRED_NAMES if name not in names]
    # then
    assert missing == []


def test_every_seed_item_has_level_kind_limits_legal_basis_and_known_materials() -> None:
    for item in SEED_ITEMS:
        assert item.level in {"district", "street", "community"}, item.code
        assert item.kind in {"instant", "promised"}, item.code
        assert 0 <= item.promised_days <= item.time_limit_days, item.code
        assert item.legal_basis.startswith("《"), item.code
        assert item.conditions, item.code
        assert item.materials, item.code
        assert all(ref.lstrip("?") in MATERIALS for ref in item.materials), item.code


@pytest.mark.parametrize("item", SEED_ITEMS, ids=lambda item: item.code)
def test_every_seed_form_materials_and_rule_validate(item: object) -> None:
    # given
    assert isinstance(item, type(SEED_ITEMS[0]))
    definition = seed_definition(item)
    # when
    form_errors = validate_form_definition(definition["form"])
    material_errors = validate_materials(definition["materials"])
    rule_errors = validate_rule(definition["rules"]) if definition["rules"] is not None else []
    # then
    assert form_errors == []
    assert material_errors == []
    assert rule_errors == []
    keys = {f["key"] for f in form_fields(definition["form"])}
    codes = {m["code"] for m in definition["materials"]}
    assert {f["material"] for f in form_fields(definition["form"]) if f["type"] == "upload"} == codes
    if definition["rules"] is not None:
        used = {f.removeprefix("application.") for f in facts_used(definition["rules"]) if f.startswith("application.")}
        assert used <= keys


def test_every_instant_item_but_the_purely_reactive_ones_has_a_rule() -> None:
    # given
    instant = [item for item in SEED_ITEMS if item.kind == "instant"]
    # when
    without_rule = [item.code for item in instant if item.rule is None]
    # then
    assert len(instant) >= 30
    assert without_rule == []


def test_seed_form_prefills_the_applicant_from_the_registry_and_asks_for_an_agent_only_when_needed() -> None:
    # given
    form = build_form(BY_CODE["MZ006"])
    # when
    applicant = form["steps"][0]["fields"]
    agent_step = form["steps"][1]
    # then
    assert {f["key"]: f.get("prefill") for f in applicant[:3]} == {
        "name": "person.name", "id_number": "person.id_number", "phone": "person.phone",
    }
    assert agent_step["when"]["fact"] == "application.by_agent"


@pytest.mark.parametrize(
    ("facts", "passed"),
    [
        ({"person.age": 85, "person.hukou": "local", "person.is_deceased": False}, True),
        ({"person.age": 79, "person.hukou": "local", "person.is_deceased": False}, False),
        ({"person.age": 92, "person.hukou": "migrant", "person.is_deceased": False}, False),
        ({"person.age": 90, "person.hukou": "local", "person.is_deceased": True}, False),
        ({"person.age": 88, "person.hukou": "local", "person.is_deceased": False, "benefit.MZ006": True}, False),
        ({"person.hukou": "local", "person.is_deceased": False}, None),
    ],
)
def test_elderly_allowance_rule_decides_on_age_hukou_life_and_existing_benefit(
    facts: dict[str, object], passed: bool | None,
) -> None:
    # given
    rule = BY_CODE["MZ006"].rule
    assert rule is not None
    # when
    decision = evaluate(rule, facts)
    # then
    assert decision.passed is passed


def test_rejected_elder_card_explains_the_age_condition() -> None:
    # given
    rule = BY_CODE["MZ009"].rule
    assert rule is not None
    # when
    decision = evaluate(rule, {"person.age": 59, "person.is_deceased": False})
    # then
    assert decision.passed is False
    assert [r.message for r in decision.failed] == ["申请人须年满60周岁"]


@pytest.mark.django_db
def test_seed_catalogue_loads_twice_without_duplicates_or_new_versions() -> None:
    # given
    first = catalogue_seed(actor=SEED)
    # when
    second = catalogue_seed(actor=SEED)
    # then
    assert len(first.created) == len(SEED_ITEMS)
    assert len(second.unchanged) == len(SEED_ITEMS)
    assert second.created == second.republished == []
    assert ServiceItem.objects.count() == len(SEED_ITEMS)
    assert ServiceItemVersion.objects.count() == len(SEED_ITEMS)
    assert AuditEntry.objects.filter(action="catalogue.item.publish").count() == len(SEED_ITEMS)


@pytest.mark.django_db
def test_changed_seed_item_gets_a_new_version_and_keeps_the_old_one() -> None:
    # given
    original = BY_CODE["MZ006"]
    catalogue_seed(actor=SEED, items=[original])
    changed = dataclasses.replace(original, promised_days=0, time_limit_days=2, keywords=original.keywords + " 敬老金")
    # when
    report = catalogue_seed(actor=SEED, items=[changed])
    # then
    item = ServiceItem.objects.get(code="MZ006")
    assert report.republished == ["MZ006"]
    assert list(item.versions.order_by("version").values_list("version", "time_limit_days")) == [(1, 1), (2, 2)]
    assert item.current_version is not None
    assert item.current_version.version == 2
    assert "敬老金" in item.search_keywords


@pytest.mark.django_db
def test_seed_keeps_a_definition_a_person_published_unless_forced(users: Users) -> None:
    # given
    seed = BY_CODE["MZ009"]
    catalogue_seed(actor=SEED, items=[seed])
    item = ServiceItem.objects.get(code="MZ009")
    edited = seed_definition(seed) | {"conditions": "年满60周岁的老年人（区里调整后的条件）"}
    item_publish_version(actor=users.district_admin, item=item, **edited)
    # when
    kept = catalogue_seed(actor=SEED, items=[seed])
    forced = catalogue_seed(actor=SEED, items=[seed], force=True)
    # then
    assert kept.kept_local_edits == ["MZ009"]
    assert forced.republished == ["MZ009"]
    versions = list(ServiceItemVersion.objects.filter(item=item).order_by("version"))
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[1].conditions.endswith("（区里调整后的条件）")
    assert versions[2].conditions == seed.conditions


@pytest.mark.django_db
def test_seed_command_reports_what_it_did_and_is_idempotent() -> None:
    # given
    first, second = StringIO(), StringIO()
    # when
    call_command("linli_catalogue_seed", stdout=first)
    call_command("linli_catalogue_seed", stdout=second)
    # then
    assert f"{len(SEED_ITEMS)} created" in first.getvalue()
    assert f"{len(SEED_ITEMS)} unchanged" in second.getvalue()
    assert ServiceItem.objects.count() == len(SEED_ITEMS)
