"""An import that reports a household member dead moves the household's living count
(``Household.living_members``, which care's household size reads)."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command

from conftest import Tree
from linli.core.actors import SystemActor
from linli.fusion.tests.test_definitions import _doc_example, _id, _write_example_workbook
from linli.registry import services
from linli.registry.choices import HukouStatus
from linli.registry.models import Household, Person

ACTOR = SystemActor("test:fusion")


def test_an_imported_death_leaves_the_household_count(tree: Tree, tmp_path: Path) -> None:
    # given 陈建国 and his wife registered in one household (two living members)
    household = services.household_create(actor=ACTOR, number="H-CHEN", grid=tree.grid_a1)
    chen = services.person_create(actor=ACTOR, name="陈建国", id_number=_id("33010219400101101"), phone=None,
                                  hukou=HukouStatus.LOCAL, household=household, relation="head")
    services.person_create(actor=ACTOR, name="李秀兰", id_number=None, phone=None, hukou=HukouStatus.LOCAL,
                           household=household, relation="spouse")
    assert Household.objects.get(pk=household.pk).living_members == 2
    # when a department's export reports him dead (the document's example file)
    definition = tmp_path / "weijian_qianyue.toml"
    definition.write_text(_doc_example(), "utf-8")
    workbook = _write_example_workbook(tmp_path / "签约居民名单.xlsx")
    call_command("linli_import", "weijian_qianyue", str(workbook), "--definition", str(definition))
    # then he is deceased and the household counts one living member
    assert Person.objects.get(pk=chen.pk).is_deceased is True
    assert Household.objects.get(pk=household.pk).living_members == 1
