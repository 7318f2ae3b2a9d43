"""The 三色预警 rule pages: a district administrator reads and changes a colour rule (audited,
applied by the next sweep); a bad rule is refused; others may not."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from conftest import Tree, Users
from linli.accounts.models import User
from linli.care.models import ElderLevel, LevelRule
from linli.care.services.sweep import sweep_run
from linli.care.tests.conftest import make_person
from linli.care.workflow import shift_years
from linli.core.models import AuditEntry
from linli.registry.models import PersonTag

pytestmark = pytest.mark.usefixtures("seeded")


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_reads_the_colour_rules_in_words(users: Users) -> None:
    page = as_user(users.district_admin).get("/care/levels/").content.decode()
    assert "独居且残疾或失能" in page
    assert page.count('data-testid="level-row"') == LevelRule.objects.count()
    # and in English
    client = as_user(users.district_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/care/levels/").content.decode()
    assert "Three-colour elder rules" in english
    assert "every 7 days" in english


def test_admin_changes_a_red_rule_and_the_next_sweep_follows_it(users: Users, tree: Tree) -> None:
    # given an elder of 75 living alone: yellow under the seed rules
    today = timezone.localdate()
    elder = make_person(tree.grid_a1.pk, "周阿婆", birth=shift_years(today, 75), hukou="local")
    PersonTag.objects.create(person=elder, kind="living_alone_elder", source="t", valid_from=date(2020, 1, 1))
    sweep_run(on=today)
    assert ElderLevel.objects.get(person=elder).colour == "yellow"
    red = LevelRule.objects.get(name="90岁以上独居")
    client = as_user(users.district_admin)
    assert "rule-count" in client.get(f"/care/levels/{red.pk}/").content.decode()
    # when the administrator lowers the age of the red rule to 70
    rule = {"all": [{"field": "age", "op": "gte", "value": 70},
                    {"field": "tags", "op": "has", "value": "living_alone_elder"}]}
    response = client.post(f"/care/levels/{red.pk}/", {"name": "70岁以上独居", "rule": json.dumps(rule)})
    # then the rule is saved and audited, and the next sweep colours the elder red
    assert response.status_code == 302
    red.refresh_from_db()
    assert red.name == "70岁以上独居"
    assert red.rule == rule
    assert AuditEntry.objects.filter(action="care.level_rule.update", target_id=str(red.pk)).count() == 1
    sweep_run(on=today + timedelta(days=1))  # a finished day is not swept again
    level = ElderLevel.objects.get(person=elder)
    assert level.colour == "red"


def test_a_bad_rule_is_refused_and_nothing_changes(users: Users) -> None:
    red = LevelRule.objects.filter(colour="red").first()
    assert red is not None
    before = red.rule
    client = as_user(users.district_admin)
    for text in ("{not json", json.dumps({"field": "salary", "op": "gt", "value": 1})):
        response = client.post(f"/care/levels/{red.pk}/", {"name": red.name, "rule": text})
        assert response.status_code == 200
        assert 'data-testid="level-error"' in response.content.decode()
    red.refresh_from_db()
    assert red.rule == before
    assert not AuditEntry.objects.filter(action="care.level_rule.update").exists()


def test_only_rule_managers_open_the_pages(users: Users) -> None:
    red = LevelRule.objects.first()
    assert red is not None
    for user in (users.grid_worker_a1, users.community_a):
        client = as_user(user)
        assert client.get("/care/levels/").status_code == 403
        assert client.post(f"/care/levels/{red.pk}/", {"name": "x", "rule": "{}"}).status_code == 403
    assert as_user(users.district_admin).get("/care/levels/999999/").status_code == 404


def test_admin_adds_reorders_and_removes_colour_rules(users: Users, tree: Tree) -> None:
    client = as_user(users.district_admin)
    today = timezone.localdate()
    # given a 65-year-old bedridden elder: green under the seed rules
    elder = make_person(tree.grid_a1.pk, "钱阿公", birth=shift_years(today, 65), hukou="local")
    from linli.care.models import CareProfile

    CareProfile.objects.create(person=elder, bedridden=True)
    # when the administrator adds a red rule "卧床" with the live count on the page
    assert "level-json" in client.get("/care/levels/new/").content.decode()
    rule = {"field": "bedridden", "op": "eq", "value": True}
    response = client.post("/care/levels/new/", {"colour": "red", "name": "失能卧床", "rule": json.dumps(rule)})
    assert response.status_code == 302
    added = LevelRule.objects.get(name="失能卧床")
    assert (added.colour, added.rule) == ("red", rule)
    assert added.position == max(LevelRule.objects.values_list("position", flat=True))  # last
    assert AuditEntry.objects.filter(action="care.level_rule.create", target_id=str(added.pk)).count() == 1
    # then the next sweep colours the elder red for that reason
    sweep_run(on=today)
    assert (ElderLevel.objects.get(person=elder).colour, ElderLevel.objects.get(person=elder).reasons) == (
        "red", ["失能卧床"])
    # when it is moved up to the top, one step at a time
    for _step in range(LevelRule.objects.count()):
        assert client.post(f"/care/levels/{added.pk}/move/", {"direction": "up"}).status_code == 302
    ordered = list(LevelRule.objects.values_list("name", flat=True))
    assert ordered[0] == "失能卧床"
    assert sorted(LevelRule.objects.values_list("position", flat=True)) == list(range(len(ordered)))
    client.post(f"/care/levels/{added.pk}/move/", {"direction": "down"})
    assert list(LevelRule.objects.values_list("name", flat=True))[1] == "失能卧床"
    assert AuditEntry.objects.filter(action="care.level_rule.move").exists()
    # when it is removed, the elder is green again at the next sweep; the history stays
    assert client.post(f"/care/levels/{added.pk}/delete/").status_code == 302
    assert not LevelRule.objects.filter(pk=added.pk).exists()
    assert AuditEntry.objects.filter(action="care.level_rule.delete", target_id=str(added.pk)).count() == 1
    sweep_run(on=today + timedelta(days=1))
    assert ElderLevel.objects.get(person=elder).colour == "green"
    assert list(elder.care_level_changes.values_list("to_colour", flat=True)) == ["red", "green"]


def test_a_new_rule_with_an_unknown_colour_blank_name_or_bad_condition_is_refused(users: Users) -> None:
    client = as_user(users.district_admin)
    before = LevelRule.objects.count()
    good = json.dumps({"field": "age", "op": "gte", "value": 95})
    for data in ({"colour": "purple", "name": "x", "rule": good},
                 {"colour": "red", "name": "  ", "rule": good},
                 {"colour": "red", "name": "x", "rule": json.dumps({"field": "age", "op": "gte", "value": "老"})}):
        response = client.post("/care/levels/new/", data)
        assert response.status_code == 200
        assert 'data-testid="level-error"' in response.content.decode() or "field-error" in response.content.decode()
    assert LevelRule.objects.count() == before
    assert not AuditEntry.objects.filter(action="care.level_rule.create").exists()


def test_only_rule_managers_add_move_or_remove(users: Users) -> None:
    red = LevelRule.objects.first()
    assert red is not None
    before = list(LevelRule.objects.values_list("pk", "position"))
    for user in (users.grid_worker_a1, users.community_a):
        client = as_user(user)
        assert client.get("/care/levels/new/").status_code == 403
        assert client.post(f"/care/levels/{red.pk}/move/", {"direction": "down"}).status_code == 403
        assert client.post(f"/care/levels/{red.pk}/delete/").status_code == 403
    assert list(LevelRule.objects.values_list("pk", "position")) == before
    assert as_user(users.district_admin).post("/care/levels/999999/delete/").status_code == 404


def test_admin_changes_the_visit_frequency_audited_and_the_next_sweep_plans_with_it(users: Users,
                                                                                   tree: Tree) -> None:
    from linli.care.models import DueVisit, VisitPlan

    admin = as_user(users.district_admin)
    html = admin.get("/care/levels/").content.decode()
    assert 'name="every_days_green" value="90"' in html
    # when the administrator makes green elders monthly
    response = admin.post("/care/levels/visit-plans/", {"every_days_red": "7", "every_days_yellow": "30",
                                                         "every_days_green": "30"})
    assert response.status_code == 302
    assert VisitPlan.objects.get(colour="green").every_days == 30
    # then the change is audited with the old and new figure, once (unchanged colours are not)
    [entry] = AuditEntry.objects.filter(action="care.visit_plan.update")
    assert entry.reason == "green: 90 → 30"
    # and a green elder visited 40 days ago is due at the next sweep (it was not at 90 days)
    today = timezone.localdate()
    elder = make_person(tree.grid_a1.pk, birth=shift_years(today, 65))
    from linli.care.models import Visit

    Visit.objects.create(person=elder, grid_id=tree.grid_a1.pk, visitor=users.grid_worker_a1,
                         visited_at=timezone.now() - timedelta(days=40))
    sweep_run(on=today)
    assert DueVisit.objects.get(person=elder).due_on == today
    # a bad figure is refused and nothing changes
    admin.post("/care/levels/visit-plans/", {"every_days_red": "0", "every_days_yellow": "30",
                                             "every_days_green": "30"})
    admin.post("/care/levels/visit-plans/", {"every_days_red": "x", "every_days_yellow": "30",
                                             "every_days_green": "30"})
    assert VisitPlan.objects.get(colour="red").every_days == 7
    # a community's staff may not change it
    assert as_user(users.community_a).post("/care/levels/visit-plans/", {
        "every_days_red": "1", "every_days_yellow": "1", "every_days_green": "1"}).status_code == 403
    assert VisitPlan.objects.get(colour="red").every_days == 7
