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
