"""The rule language: validation, reading in words, and the database compiler agreeing with
per-person evaluation for every seeded rule (run on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection

from linli.care.models import LevelRule, PolicyVersion
from linli.care.policies_seed import SEED_LEVEL_RULES, SEED_POLICIES
from linli.care.rules_query import rule_seek_q, rule_to_q
from linli.care.selectors import person_facts
from linli.care.tests.conftest import ON, Population
from linli.care.workflow import (
    PersonFacts,
    age_on,
    birthday_window,
    rule_describe,
    rule_evaluate,
    rule_validate,
)
from linli.registry.models import Person


def facts_of(person: Person, on: date) -> PersonFacts:
    return person_facts(person=person, on=on)


EXTRA_RULES: list[dict[str, Any]] = [
    {"not": {"field": "age", "op": "gte", "value": 80}},
    {"not": {"field": "income_per_head", "op": "lt", "value": 1280}},
    {"field": "household_size", "op": "lte", "value": 1},
    {"not": {"field": "household_size", "op": "in", "value": [2, 3]}},
    {"field": "household_size", "op": "eq", "value": 0},
    {"field": "household_size", "op": "ne", "value": 2},
    {"field": "household_size", "op": "known"},
    {"field": "age", "op": "eq", "value": 80},
    {"field": "age", "op": "ne", "value": 80},
    {"field": "sex", "op": "ne", "value": "M"},
    {"not": {"field": "disability_grade", "op": "gt", "value": 2}},
    {"field": "tags", "op": "not_has", "value": "disabled"},
    {"not": {"event": "hospitalisation", "within_days": 30}},
]

# Conjunctions of person columns and required facts: the live count seeks them from the facts.
SEEK_RULES: list[dict[str, Any]] = [
    {"all": [{"field": "tags", "op": "has", "value": "living_alone_elder"}, {"field": "age", "op": "gte", "value": 70}]},
    {"event": "hospitalisation", "within_days": 30},
    {"all": [{"field": "benefits", "op": "has", "value": "dibao"}, {"field": "sex", "op": "eq", "value": "F"}]},
    {"all": [{"field": "bedridden", "op": "eq", "value": True}, {"field": "disability_grade", "op": "known"},
             {"field": "tags", "op": "has", "value": "living_alone_elder"}]},
    {"all": [{"field": "income_per_head", "op": "gte", "value": 1000}, {"field": "income_per_head", "op": "lt", "value": 1920},
             {"field": "bedridden", "op": "eq", "value": False}]},
]


@pytest.mark.django_db
def test_every_seeded_rule_selects_exactly_whom_per_person_evaluation_selects(population: Population) -> None:
    # given every seeded policy rule, level rule and some negations over a varied population
    rules = [v.rule for v in PolicyVersion.objects.all()] + [r.rule for r in LevelRule.objects.all()] + EXTRA_RULES
    assert len(rules) >= len(SEED_POLICIES) + len(SEED_LEVEL_RULES)
    facts = {p.pk: facts_of(p, ON) for p in Person.objects.all()}
    for rule in rules:
        # when the database selects and Python evaluates
        selected = set(Person.objects.filter(rule_to_q(rule, on=ON)).values_list("pk", flat=True))
        expected = {pk for pk, f in facts.items() if rule_evaluate(rule, f, on=ON)}
        # then they agree
        assert selected == expected, rule_describe(rule)
    assert any(Person.objects.filter(rule_to_q(v.rule, on=ON)).exists() for v in PolicyVersion.objects.all())


def test_unknown_field_is_named_with_its_place() -> None:
    check = rule_validate({"all": [{"field": "age", "op": "gte", "value": 80}, {"field": "salary", "op": "gt", "value": 1}]})
    assert not check.ok
    assert "/all[1]" in check.errors[0]
    assert "salary" in check.errors[0]


def test_type_mismatch_is_an_error() -> None:
    check = rule_validate({"field": "age", "op": "gte", "value": "八十"})
    assert not check.ok
    assert "整数" in check.errors[0]


def test_unknown_tag_and_wrong_op_are_errors() -> None:
    assert not rule_validate({"field": "tags", "op": "has", "value": "rich"}).ok
    assert not rule_validate({"field": "tags", "op": "gte", "value": "disabled"}).ok
    assert not rule_validate({"event": "party", "within_days": 3}).ok
    assert not rule_validate({"all": []}).ok
    assert rule_validate({"event": "hospitalisation", "within_days": 30}).ok


def test_rule_reads_as_words() -> None:
    text = rule_describe(SEED_POLICIES[0]["rule"])
    assert text.startswith("年龄≥80，且年龄<90，且户籍类别为户籍人口")


def test_birthday_window_holds_people_turning_the_age_within_a_month() -> None:
    first, last = birthday_window(date(2026, 6, 15), 80)
    turning = date(1946, 7, 1)
    assert first < turning <= last
    assert age_on(turning, date(2026, 6, 15)) == 79
    assert age_on(turning, date(2026, 6, 15) + timedelta(days=30)) == 80


HOUSEHOLD_RULES: list[dict[str, Any]] = [
    {"field": "household_size", "op": op, "value": value}
    for op, value in (("eq", 0), ("eq", 1), ("gte", 2), ("lt", 2), ("ne", 1), ("in", [0, 3]))
] + [{"not": {"field": "household_size", "op": "eq", "value": 1}}]


@pytest.mark.django_db
def test_household_size_follows_moves_deaths_and_bulk_writes(population: Population) -> None:
    # given the population, then members moved, killed, revived and added after it was built
    households = sorted({p.household_id for p in population.persons if p.household_id})
    Person.objects.filter(pk__in=[p.pk for p in population.persons[:10]]).update(household_id=households[0])
    Person.objects.filter(household_id=households[1]).update(is_deceased=True)
    Person.objects.filter(household_id=households[2], is_deceased=True).update(is_deceased=False)
    Person.objects.filter(pk=population.persons[-1].pk).delete()
    Person.objects.bulk_create([Person(name=f"新{i}", name_pinyin="x", name_initials="x", household_id=households[3],
                                       grid_id=population.persons[0].grid_id) for i in range(3)])
    facts = {p.pk: facts_of(p, ON) for p in Person.objects.all()}
    for rule in [*HOUSEHOLD_RULES, PolicyVersion.objects.get(policy__code="tekun").rule]:
        # when the database selects by the kept household size and Python counts the members
        selected = set(Person.objects.filter(rule_seek_q(rule, on=ON)).values_list("pk", flat=True))
        # then they agree
        assert selected == {pk for pk, f in facts.items() if rule_evaluate(rule, f, on=ON)}, rule_describe(rule)
    assert any(f.household_size == 0 for f in facts.values())


@pytest.mark.django_db
def test_live_count_counts_the_rule_and_knows_when_it_selects_everyone(population: Population) -> None:
    from linli.care.selectors import rule_match_count

    living = Person.objects.filter(is_deceased=False)
    facts = {p.pk: facts_of(p, ON) for p in living}
    for rule in [v.rule for v in PolicyVersion.objects.all()] + EXTRA_RULES:
        counted = rule_match_count(rule=rule, on=ON)
        # the count is the reference's, and a rule that leaves someone out is not "everyone"
        assert counted.count == sum(rule_evaluate(rule, f, on=ON) for f in facts.values()), rule_describe(rule)
        assert counted.matches_everyone == all(rule_evaluate(rule, f, on=ON) for f in facts.values())
        assert counted.total == len(facts)
    everyone = rule_match_count(rule={"field": "is_deceased", "op": "eq", "value": False}, on=ON)
    assert everyone.matches_everyone
    assert everyone.count == len(facts)
    # one living person more than the (kept) total: a rule matching all of them still says so
    Person.objects.create(name="新居民", name_pinyin="x", name_initials="x", grid_id=population.persons[0].grid_id)
    assert rule_match_count(rule={"field": "is_deceased", "op": "eq", "value": False}, on=ON).matches_everyone


@pytest.mark.django_db
def test_the_seeking_form_selects_the_same_persons(population: Population) -> None:
    # given every seeded rule and conjunctions of facts
    rules = [v.rule for v in PolicyVersion.objects.all()] + [r.rule for r in LevelRule.objects.all()] + EXTRA_RULES
    facts = {p.pk: facts_of(p, ON) for p in Person.objects.all()}
    for rule in rules + SEEK_RULES:
        # when the rule is compiled to start from its facts
        selected = set(Person.objects.filter(rule_seek_q(rule, on=ON)).values_list("pk", flat=True))
        # then it selects whom per-person evaluation selects
        assert selected == {pk for pk, f in facts.items() if rule_evaluate(rule, f, on=ON)}, rule_describe(rule)
    assert any(Person.objects.filter(rule_seek_q(rule, on=ON)).exists() for rule in SEEK_RULES)
    # on PostgreSQL the persons are fetched by key from the facts every match has (低保's and
    # 特困's profiles below the line; 残疾人生活补贴's disabled ∩ (dibao ∪ dibian) benefits; a
    # red colour's tag ∩ …); a union alone (居家养老, 空巢或独居) or an age band reads as before
    def seeks(rule: dict[str, Any]) -> bool:
        return "= ANY(ARRAY(" in str(Person.objects.filter(rule_seek_q(rule, on=ON)).query)

    pg = connection.vendor == "postgresql"
    for code, expected in (("dibao", pg), ("tekun", pg), ("canji_shenghuo", pg), ("jujia_yanglao", False),
                           ("gaoling_80", False)):
        assert seeks(PolicyVersion.objects.get(policy__code=code).rule) == expected, code
    colours = {r.name: seeks(r.rule) for r in LevelRule.objects.all()}
    assert colours == {"独居且残疾或失能": pg, "独居且近30天住院": pg, "90岁以上独居": pg, "80岁以上": False,
                       "空巢或独居": False, "残疾": pg}


def test_policy_by_age_picks_the_band_of_the_persons_age_at_the_start() -> None:
    from linli.care.workflow import benefit_codes, policy_by_age, shift_years

    bands = {"zunlaojin": 70, "gaoling_80": 80, "gaoling_90": 90, "gaoling_100": 100}
    on = date(2026, 6, 15)

    def at(age: int, days: int = 0) -> str | None:
        return policy_by_age(birth_date=shift_years(on, age) + timedelta(days=days), on=on, bands=bands)

    assert at(69) is None
    assert at(70) == "zunlaojin"
    assert at(80) == "gaoling_80"
    assert at(80, days=1) == "zunlaojin"  # turns 80 tomorrow
    assert at(89) == "gaoling_80"
    assert at(90) == "gaoling_90"
    assert at(99) == "gaoling_90"
    assert at(100) == "gaoling_100"
    assert at(107) == "gaoling_100"
    assert policy_by_age(birth_date=None, on=on, bands=bands) is None
    assert policy_by_age(birth_date=on + timedelta(days=1), on=on, bands=bands) is None
    assert policy_by_age(birth_date=shift_years(on, 85), on=on, bands={}) is None
    assert benefit_codes("dibao") == ("dibao",)
    assert benefit_codes("zunlaojin| gaoling_80 |") == ("zunlaojin", "gaoling_80")
