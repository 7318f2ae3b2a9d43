"""The rule language: table-driven evaluation, validation, and the ORM compilation that
must select exactly the persons per-person evaluation approves."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from linli.catalogue.rules import age_on, evaluate, validate_rule
from linli.catalogue.rules_query import NotCompilable, compile_to_q
from linli.catalogue.services import application_facts
from linli.catalogue.tests.conftest import PersonFactory
from linli.registry.models import Person, PersonTag

AGE_80 = {"fact": "person.age", "op": "gte", "value": 80, "message": "申请人须年满80周岁"}


@pytest.mark.parametrize(("birth", "on", "age"), [
    (date(1946, 11, 23), date(2026, 11, 22), 79),  # the day before the 80th birthday
    (date(1946, 11, 23), date(2026, 11, 23), 80),  # on the birthday
    (date(1946, 2, 28), date(2026, 2, 28), 80),
    (date(1948, 2, 29), date(2028, 2, 28), 79),    # leap-day birthday, leap year
    (date(1948, 2, 29), date(2028, 2, 29), 80),
    (date(1944, 2, 29), date(2025, 2, 28), 80),    # common year: a year older on 1 March
    (date(1944, 2, 29), date(2025, 3, 1), 81),
])
def test_age_counts_full_years_on_birthdays(birth: date, on: date, age: int) -> None:
    assert age_on(birth, on) == age


CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool | None]] = [
    ("79 is too young", AGE_80, {"person.age": 79}, False),
    ("80 on the day", AGE_80, {"person.age": 80}, True),
    ("unknown age is undecidable", AGE_80, {}, None),
    ("None is missing too", AGE_80, {"person.age": None}, None),
    ("local hukou", {"fact": "person.hukou", "op": "eq", "value": "local"}, {"person.hukou": "local"}, True),
    ("migrant hukou", {"fact": "person.hukou", "op": "eq", "value": "local"}, {"person.hukou": "migrant"}, False),
    ("in list", {"fact": "person.hukou", "op": "in", "value": ["local", "migrant"]},
     {"person.hukou": "migrant"}, True),
    ("not in list", {"fact": "person.sex", "op": "not_in", "value": ["F"]}, {"person.sex": "M"}, True),
    ("has tag", {"fact": "person.tags", "op": "has_tag", "value": "disabled"},
     {"person.tags": ["disabled", "veteran"]}, True),
    ("lacks tag", {"fact": "person.tags", "op": "has_tag", "value": "disabled"}, {"person.tags": []}, False),
    ("not has tag", {"fact": "person.tags", "op": "not_has_tag", "value": "subsistence"},
     {"person.tags": ["disabled"]}, True),
    ("deceased", {"fact": "person.is_deceased", "op": "eq", "value": False}, {"person.is_deceased": True}, False),
    ("exists on missing is false, not undecidable", {"fact": "household.size", "op": "exists"}, {}, False),
    ("incomparable types are false", AGE_80, {"person.age": "八十"}, False),
    ("booleans are not ordered", {"fact": "application.n", "op": "gt", "value": 0},
     {"application.n": True}, False),
    ("dates compare as ISO text", {"fact": "application.born", "op": "lt", "value": "2020-01-01"},
     {"application.born": "2019-12-31"}, True),
    ("benefit held", {"fact": "benefit.GAOLING", "op": "eq", "value": False}, {"benefit.GAOLING": True}, False),
    ("all: one false makes false even with unknowns",
     {"all": [AGE_80, {"fact": "person.hukou", "op": "eq", "value": "local"}]},
     {"person.hukou": "migrant"}, False),
    ("all: unknown and true is undecidable",
     {"all": [AGE_80, {"fact": "person.hukou", "op": "eq", "value": "local"}]},
     {"person.hukou": "local"}, None),
    ("any: one true is enough", {"any": [AGE_80, {"fact": "person.tags", "op": "has_tag", "value": "disabled"}]},
     {"person.tags": ["disabled"]}, True),
    ("any: false and unknown is undecidable",
     {"any": [AGE_80, {"fact": "person.tags", "op": "has_tag", "value": "disabled"}]},
     {"person.tags": []}, None),
    ("not inverts", {"not": AGE_80}, {"person.age": 60}, True),
    ("not keeps undecidable", {"not": AGE_80}, {}, None),
    ("nesting", {"all": [{"any": [AGE_80, {"not": {"fact": "person.hukou", "op": "ne", "value": "local"}}]},
                         {"fact": "person.is_deceased", "op": "eq", "value": False}]},
     {"person.age": 70, "person.hukou": "local", "person.is_deceased": False}, True),
]


@pytest.mark.parametrize(("name", "rule", "facts", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule_decisions(name: str, rule: dict[str, Any], facts: dict[str, Any], expected: bool | None) -> None:
    assert evaluate(rule, facts).passed is expected


def test_decision_explains_each_condition_with_its_message() -> None:
    # given an 79-year-old local resident
    rule = {"all": [AGE_80, {"fact": "person.hukou", "op": "eq", "value": "local"}]}
    # when
    decision = evaluate(rule, {"person.age": 79, "person.hukou": "local"})
    # then the failed condition carries the admin's message and the actual value
    assert [r.message for r in decision.failed] == ["申请人须年满80周岁"]
    assert decision.failed[0].actual == 79
    assert [r.passed for r in decision.results] == [False, True]
    assert decision.results[1].message == "户籍类别为local"
    assert decision.as_dict()["passed"] is False


def test_a_refusal_by_a_negated_condition_names_its_reason() -> None:
    # given the elderly allowance's "not already receiving it" and a person who receives it
    rule = {"all": [AGE_80, {"not": {"fact": "benefit.MZ006", "op": "exists", "value": True,
                                     "message": "已在享受高龄津贴，无需重复申请"}}]}
    # when
    decision = evaluate(rule, {"person.age": 85, "benefit.MZ006": True})
    # then the refusal carries the negated condition's message
    assert decision.passed is False
    assert [r.message for r in decision.failed] == ["已在享受高龄津贴，无需重复申请"]


@pytest.mark.parametrize(("rule", "fragment"), [
    ({}, "缺少 fact"),
    ([], "条件须为对象"),
    ({"fact": "person.salary", "op": "gte", "value": 1}, "未知事实"),
    ({"fact": "person.age", "op": "between", "value": 1}, "未知运算"),
    ({"fact": "person.age", "op": "in", "value": 80}, "须为列表"),
    ({"fact": "person.age", "op": "gte", "value": [80]}, "须为数字"),
    ({"fact": "person.age", "op": "gte", "value": True}, "须为数字"),
    ({"fact": "person.tags", "op": "eq", "value": "disabled"}, "has_tag"),
    ({"fact": "person.tags", "op": "has_tag", "value": 3}, "须为标签"),
    ({"all": []}, "非空列表"),
    ({"all": [AGE_80], "any": [AGE_80]}, "之一"),
    ({"fact": "person.age", "op": "gte", "value": 80, "extra": 1}, "未知键"),
    ({"fact": "person.age", "op": "eq"}, "缺少 value"),
])
def test_invalid_rules_are_reported(rule: Any, fragment: str) -> None:
    errors = validate_rule(rule)
    assert any(fragment in e for e in errors), errors


def test_deep_nesting_is_refused() -> None:
    rule: dict[str, Any] = AGE_80
    for _level in range(20):
        rule = {"not": rule}
    assert any("嵌套过深" in e for e in validate_rule(rule))


def test_a_valid_rule_has_no_errors() -> None:
    assert validate_rule({"all": [AGE_80, {"not": {"fact": "application.x", "op": "exists"}}]}) == []


# --- population selection -------------------------------------------------------------------

ON = date(2026, 11, 23)
POPULATION_RULES: list[dict[str, Any]] = [
    AGE_80,
    {"fact": "person.age", "op": "gt", "value": 80},
    {"fact": "person.age", "op": "lt", "value": 80},
    {"fact": "person.age", "op": "lte", "value": 79.5},
    {"fact": "person.age", "op": "eq", "value": 80},
    {"fact": "person.age", "op": "ne", "value": 80},
    {"fact": "person.age", "op": "in", "value": [60, 80]},
    {"fact": "person.age", "op": "exists"},
    {"not": AGE_80},
    {"fact": "person.hukou", "op": "ne", "value": "local"},
    {"fact": "person.sex", "op": "eq", "value": "F"},
    {"fact": "person.tags", "op": "has_tag", "value": "disabled"},
    {"fact": "person.tags", "op": "not_has_tag", "value": "disabled"},
    {"fact": "person.is_deceased", "op": "eq", "value": False},
    {"fact": "person.community_code", "op": "eq", "value": "330102001001"},
    {"all": [AGE_80, {"fact": "person.hukou", "op": "eq", "value": "local"},
             {"not": {"fact": "person.tags", "op": "has_tag", "value": "subsistence"}}]},
    {"any": [AGE_80, {"fact": "person.tags", "op": "has_tag", "value": "disabled"}]},
    {"not": {"any": [{"fact": "person.age", "op": "lt", "value": 60},
                     {"fact": "person.hukou", "op": "in", "value": ["foreign"]}]}},
]


@pytest.fixture
def population(make_person: PersonFactory, tree: Any) -> list[Person]:
    people = [
        make_person(name="八十整", birth=date(1946, 11, 23)),
        make_person(name="差一天", birth=date(1946, 11, 24)),
        make_person(name="八十一", birth=date(1945, 1, 1), tags=("disabled",)),
        make_person(name="六十", birth=date(1966, 5, 5), hukou="migrant", tags=("subsistence",)),
        make_person(name="闰日", birth=date(1948, 2, 29), grid=tree.grid_b1),
        make_person(name="外籍", birth=date(1930, 1, 1), hukou="foreign", grid=tree.grid_b1),
    ]
    # A person without an ID number: age unknown.
    nobody = make_person(name="无证")
    Person.objects.filter(pk=nobody.pk).update(birth_date=None, sex="")
    people.append(Person.objects.get(pk=nobody.pk))
    # A disability tag that has expired does not count.
    PersonTag.objects.create(person=people[1], kind="disabled", source="test", valid_from=date(2000, 1, 1),
                             valid_to=date(2020, 1, 1))
    Person.objects.filter(pk=people[5].pk).update(is_deceased=True)
    return [Person.objects.get(pk=p.pk) for p in people]


@pytest.mark.django_db
@pytest.mark.parametrize("rule", POPULATION_RULES, ids=[str(i) for i in range(len(POPULATION_RULES))])
def test_compiled_query_selects_exactly_the_persons_evaluation_approves(
    rule: dict[str, Any], population: list[Person],
) -> None:
    # given per-person decisions on the registry facts
    expected = {
        p.pk for p in population
        if evaluate(rule, application_facts(person=p, data={}, rule=rule, on=ON)).passed is True
    }
    # when the rule is compiled to one query
    selected = set(Person.objects.filter(compile_to_q(rule, on=ON)).values_list("pk", flat=True))
    # then both agree
    assert selected == expected


@pytest.mark.django_db
def test_the_population_really_separates_the_boundaries(population: list[Person]) -> None:
    selected = set(Person.objects.filter(compile_to_q(AGE_80, on=ON)).values_list("name", flat=True))
    assert selected == {"八十整", "八十一", "外籍"}


def test_application_facts_cannot_be_compiled() -> None:
    with pytest.raises(NotCompilable):
        compile_to_q({"fact": "application.reason", "op": "exists"})
