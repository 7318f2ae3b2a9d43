"""An import that reports a household member dead — confirmed by the grid worker, as fusion
applies a death — moves the household's living count (``Household.living_members``, which
care's household size reads)."""

from __future__ import annotations

from pathlib import Path

import xlsxwriter
from django.core.management import call_command

from conftest import Tree, Users
from linli.core.actors import SystemActor
from linli.fusion.models import VerificationTask
from linli.fusion.services import verification_answer
from linli.fusion.tests.test_definitions import _doc_example, _id, _write_example_workbook
from linli.registry import services
from linli.registry.models import Household, Person

ACTOR = SystemActor("test:fusion")
HEADER = ["居民姓名", "性别", "证件号码", "出生日期", "联系方式", "小区", "楼号", "单元", "房号", "人群分类",
          "人员状态", "签约日期"]


def test_an_imported_death_leaves_the_household_count(tree: Tree, users: Users, tmp_path: Path) -> None:
    # given 吴雨馨, imported from the document's example file, then placed in a household
    definition = tmp_path / "weijian_qianyue.toml"
    definition.write_text(_doc_example(), "utf-8")
    call_command("linli_import", "weijian_qianyue", str(_write_example_workbook(tmp_path / "签约.xlsx")),
                 "--definition", str(definition))
    wu = Person.objects.get(name="吴雨馨")
    household = services.household_create(actor=ACTOR, number="H-WU", grid=tree.grid_a1)
    services.person_update(actor=ACTOR, person=wu, household=household)
    Person.objects.filter(pk=wu.pk).update(grid_id=tree.grid_a1.pk)
    assert Household.objects.get(pk=household.pk).living_members == 1
    # when the same department's next export reports her dead
    later = tmp_path / "签约-后.xlsx"
    book = xlsxwriter.Workbook(str(later))
    sheet = book.add_worksheet("签约名单")
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, ["吴雨馨", "2", _id("33010219900305124"), "05/03/1990", "138 1234 5678", "清禾苑", "3", "2",
                           "502", "低保,高龄", "死亡", "01/02/2026"])
    book.add_worksheet("补录").write_row(0, 0, HEADER)
    book.close()
    call_command("linli_import", "weijian_qianyue", str(later), "--definition", str(definition))
    # (a death from one source waits for the grid worker's visit) and the grid worker confirms it
    assert Household.objects.get(pk=household.pk).living_members == 1
    task = VerificationTask.objects.get(person=wu, field="is_deceased")
    verification_answer(actor=users.grid_worker_a1, task=task, answer={"is_deceased": True}, note="上门核实")
    # then she is deceased and the household counts no living member
    assert Person.objects.get(pk=wu.pk).is_deceased is True
    assert Household.objects.get(pk=household.pk).living_members == 0
