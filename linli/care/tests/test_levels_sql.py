"""The sweep's set-based colour step agrees with the Python reference (``elder_colour``) on a
varied population and unusual rules, and writes only what changed (run on both databases)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from conftest import Tree
from linli.care.models import ElderLevel, ElderLevelChange, LevelRule
from linli.care.selectors import person_facts
from linli.care.services.sweep import SWEEP_ACTOR, _step_levels
from linli.care.tests.conftest import ON, Population
from linli.care.workflow import ELDER_AGE, age_on, elder_colour
from linli.registry.models import Person, PersonTag

pytestmark = pytest.mark.django_db


def _rules() -> list[tuple[str, str, dict[str, object]]]:
    return [(r.colour, r.name, r.rule) for r in LevelRule.objects.all()]


def _expected(on: date = ON) -> dict[int, tuple[str, list[str]]]:
    rules = _rules()
    return {p.pk: elder_colour(rules, person_facts(person=p, on=on), on=on)
            for p in Person.objects.filter(is_deceased=False)
            if p.birth_date is not None and age_on(p.birth_date, on) >= ELDER_AGE}


def _actual() -> dict[int, tuple[str, list[str]]]:
    return {level.person_id: (level.colour, level.reasons) for level in ElderLevel.objects.all()}


def _unusual_rules() -> None:
    """A green rule, a name with quotes and a backslash, a yellow rule placed first, and a
    red rule that never holds: order and names must survive the trip through SQL."""
    LevelRule.objects.create(colour="yellow", name="低收入", position=0,
                             rule={"field": "income_per_head", "op": "lt", "value": 1500})
    LevelRule.objects.create(colour="green", name='本地"常住"\\老人', position=50,
                             rule={"field": "hukou", "op": "eq", "value": "local"})
    LevelRule.objects.create(colour="red", name="不可能", position=60,
                             rule={"all": [{"field": "age", "op": "lt", "value": 10},
                                           {"field": "age", "op": "gt", "value": 90}]})
    LevelRule.objects.create(colour="red", name="卧床且非户籍", position=70,
                             rule={"all": [{"field": "bedridden", "op": "eq", "value": True},
                                           {"not": {"field": "hukou", "op": "eq", "value": "local"}}]})


def test_sql_colours_equal_the_python_reference(population: Population) -> None:
    _unusual_rules()
    # when the levels step runs
    written = _step_levels(ON, SWEEP_ACTOR)
    # then every living elder has exactly the colour and reasons the reference gives
    expected = _expected()
    assert _actual() == expected
    assert written == len(expected)
    # and the population was varied enough to show it: all colours, several reasons, green ones
    colours = {colour for colour, _reasons in expected.values()}
    assert colours == {"red", "yellow", "green"}
    assert any(len(reasons) > 1 for _colour, reasons in expected.values())
    assert any(reasons == ['本地"常住"\\老人'] for _colour, reasons in expected.values())
    assert any(colour == "green" and not reasons for colour, reasons in expected.values())
    # the history has a first entry per elder, from no colour
    assert ElderLevelChange.objects.filter(from_colour="").count() == len(expected)


def test_seed_rules_agree_too(population: Population) -> None:
    _step_levels(ON, SWEEP_ACTOR)
    assert _actual() == _expected()


def test_a_second_run_writes_only_what_changed(population: Population, tree: Tree) -> None:
    _step_levels(ON, SWEEP_ACTOR)
    assert _step_levels(ON, SWEEP_ACTOR) == 0  # nothing changed, nothing written
    history = ElderLevelChange.objects.count()
    stamps = dict(ElderLevel.objects.values_list("person_id", "updated_at"))
    # given one yellow elder now living alone at 90+ (red), one elder dead, one moved
    levels = {level.person_id: level for level in ElderLevel.objects.select_related("person")}
    yellow = next(lv for lv in levels.values() if lv.colour == "yellow" and age_on(lv.person.birth_date or ON, ON) < 90
                  and not lv.person.tags.filter(kind="living_alone_elder").exists())
    Person.objects.filter(pk=yellow.person_id).update(birth_date=date(1930, 1, 1))
    PersonTag.objects.create(person_id=yellow.person_id, kind="living_alone_elder", source="t",
                             valid_from=date(2020, 1, 1))
    dead = next(lv for lv in levels.values() if lv.person_id != yellow.person_id)
    Person.objects.filter(pk=dead.person_id).update(is_deceased=True)
    moved = next(lv for lv in levels.values() if lv.person_id not in {yellow.person_id, dead.person_id})
    new_grid = tree.grid_b1.pk if moved.grid_id != tree.grid_b1.pk else tree.grid_a1.pk
    Person.objects.filter(pk=moved.person_id).update(grid_id=new_grid)
    before = _actual()
    # when the step runs the next day
    written = _step_levels(ON + timedelta(days=1), SWEEP_ACTOR)
    # then the colours are the reference's of that day, and only the levels that differ
    # from the day before (the red elder, and whoever else a day changed) and the moved
    # one were written; the dead one's level is gone
    after = _expected(ON + timedelta(days=1))
    assert _actual() == after
    changed = {pk for pk, value in after.items() if before.get(pk) != value}
    assert yellow.person_id in changed
    assert written == len(changed | {moved.person_id})
    level = ElderLevel.objects.get(person_id=yellow.person_id)
    assert level.colour == "red"
    assert "90岁以上独居" in level.reasons
    assert level.since == ON + timedelta(days=1)
    assert ElderLevel.objects.get(person_id=moved.person_id).grid_id == new_grid
    assert ElderLevel.objects.get(person_id=moved.person_id).since == ON  # same colour: same since
    assert not ElderLevel.objects.filter(person_id=dead.person_id).exists()
    # one history row per colour that changed
    recoloured = {pk for pk in changed if before.get(pk, ("",))[0] != after[pk][0]}
    assert ElderLevelChange.objects.count() == history + len(recoloured)
    change = ElderLevelChange.objects.get(person_id=yellow.person_id, on=ON + timedelta(days=1))
    assert (change.from_colour, change.to_colour) == ("yellow", "red")
    # the others were not written at all
    untouched = set(stamps) - changed - {moved.person_id, dead.person_id}
    assert dict(ElderLevel.objects.filter(person_id__in=untouched)
                .values_list("person_id", "updated_at")) == {pk: stamps[pk] for pk in untouched}


def test_without_any_colour_rule_every_elder_is_green(tree: Tree, seeded: None) -> None:
    from linli.care.tests.conftest import make_person
    from linli.care.workflow import shift_years

    LevelRule.objects.all().delete()
    elder = make_person(tree.grid_a1.pk, "孙阿婆", birth=shift_years(ON, 91))
    make_person(tree.grid_a1.pk, "小孙", birth=shift_years(ON, 30))
    assert _step_levels(ON, SWEEP_ACTOR) == 1
    assert _actual() == {elder.pk: ("green", [])}
