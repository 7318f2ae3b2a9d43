"""Case list rows from ``linli_cases.case_rows`` equal the included row template they replace
(issue #15, "Load"): same bytes and escaping on hostile data, in both languages, on the
rows the list's selector loads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.template import engines
from django.test import Client
from django.utils import timezone, translation

from conftest import Users
from linli.cases import selectors
from linli.cases.models import Case, Category
from linli.cases.tests.conftest import IN_B1, Cats

pytestmark = pytest.mark.django_db

# cases/_case_row.html as it was, included once a case by the inbox and the list.
OLD_ROW = """{% load i18n linli_web %}<li class="case-row sup-{{ case.supervision_level }}" data-testid="case-row" data-number="{{ case.number }}" data-supervision="{{ case.supervision_level }}">
  <a class="case-link" href="{% if case_url %}{{ case_url|with_id:case.pk }}{% else %}{% url 'cases:case' case.pk %}{% endif %}" data-testid="case-link">
    <span class="case-head">
      <span class="case-number mono">{{ case.number }}</span>
      <span class="badge status-{{ case.status }}">{{ case.get_status_display }}</span>
      {% if case.supervision_level %}<span class="badge sup sup-{{ case.supervision_level }}" data-testid="case-supervision">{{ case.get_supervision_level_display }}</span>{% endif %}
    </span>
    <span class="case-title">{{ case.category.name }} · {{ case.description|truncatechars:40 }}</span>
    <span class="case-meta small muted">{{ case.grid.name|default:_("未定位网格") }}{% if case.stage_due_at %} · {% translate "时限" %} {{ case.stage_due_at|date:"m-d H:i" }}{% endif %}</span>
  </a>
</li>
"""
OLD_LIST = "{% load i18n linli_web %}{% for case in cases %}" + OLD_ROW.replace("{% load i18n linli_web %}", "") + "{% endfor %}"
NEW_LIST = "{% load linli_cases %}{% url 'cases:case' 987654321 as case_url %}{% case_rows cases case_url %}"


@pytest.fixture
def hostile_cases(users: Users, cats: Cats, open_case: Any) -> list[Case]:
    plain = open_case(cats.neighbours)
    long_xss = open_case(cats.neighbours, description="<script>alert('x')</script>" + "楼道&堆物" * 20)
    no_grid = open_case(cats.rubbish, description='短"描述"')
    Case.objects.filter(pk=long_xss.pk).update(supervision_level=3, stage_due_at=timezone.now() + timedelta(hours=5))
    Case.objects.filter(pk=plain.pk).update(supervision_level=1, stage_due_at=None)
    Case.objects.filter(pk=no_grid.pk).update(grid=None, stage_due_at=timezone.now() - timedelta(days=2))
    Category.objects.filter(pk=cats.rubbish.pk).update(name="<b>垃圾</b> & '类'")
    page = selectors.case_page_for_user(user=users.street, filters=selectors.CaseFilters(), limit=50, offset=0,
                                        count_cap=1000)
    assert {c.pk for c in page.items} >= {plain.pk, long_xss.pk, no_grid.pk}
    return list(page.items)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_case_rows_equal_the_old_row_template(hostile_cases: list[Case], language: str) -> None:
    engine = engines["django"]
    with translation.override(language):
        old = engine.from_string(OLD_LIST).render({"cases": hostile_cases})
        old_inbox = engine.from_string(OLD_LIST).render({"cases": hostile_cases, "case_url": ""})
        new = engine.from_string(NEW_LIST).render({"cases": hostile_cases})
    assert new == old == old_inbox
    assert "<script>" not in new
    assert "<b>" not in new
    assert "&lt;b&gt;垃圾&lt;/b&gt; &amp; &#x27;类&#x27;" in new
    assert new.count('data-testid="case-row"') == len(hostile_cases)


def test_inbox_and_list_pages_show_the_rows(users: Users, hostile_cases: list[Case]) -> None:
    client = Client()
    client.force_login(users.street)
    html = client.get("/cases/all/").content.decode()
    for case in hostile_cases:
        assert f'href="/cases/{case.pk}/"' in html
        assert case.number in html
    assert "<script>alert" not in html


def test_the_inbox_rows_only_are_the_same_cases_in_the_same_order(users: Users, cats: Cats, open_case: Any) -> None:
    # given cases of several urgencies in the grid worker's inbox
    cases = [open_case(cats.neighbours) for _ in range(4)]
    Case.objects.filter(pk=cases[1].pk).update(supervision_level=2)
    Case.objects.filter(pk=cases[2].pk).update(stage_due_at=None)
    # when the inbox page reads the row fields only
    full = selectors.case_inbox_for_user(user=users.grid_worker_a1, limit=100)
    rows = selectors.case_inbox_for_user(user=users.grid_worker_a1, limit=100, rows_only=True)
    # then the same cases in the same order, and their rows render alike
    assert [c.pk for c in rows] == [c.pk for c in full]
    assert len(rows) >= 4
    engine = engines["django"]
    assert engine.from_string(NEW_LIST).render({"cases": rows}) == engine.from_string(OLD_LIST).render({"cases": full})


def test_a_page_read_among_the_newest_cases_is_the_page_of_the_whole_list(
    users: Users, cats: Cats, open_case: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given 24 cases in grid a1 and 6 in grid b1, the b1 ones the oldest, and ties in time
    a1 = [open_case(cats.neighbours) for _ in range(24)]
    b1 = [open_case(cats.neighbours, point=IN_B1) for _ in range(6)]
    start = timezone.now() - timedelta(days=30)
    for n, case in enumerate(b1 + a1):
        Case.objects.filter(pk=case.pk).update(created_at=start + timedelta(hours=n // 3))
    Case.objects.filter(pk__in=[c.pk for c in a1[:8]]).update(status="closed")
    # and a window of 10 newest cases, so both paths run on a few cases
    monkeypatch.setattr(selectors, "_NEWEST_MIN", 10)
    monkeypatch.setattr(selectors, "_NEWEST_FACTOR", 2)
    shapes = [(users.street, selectors.CaseFilters()), (users.community_a, selectors.CaseFilters()),
              (users.community_b, selectors.CaseFilters()), (users.grid_worker_b1, selectors.CaseFilters()),
              (users.street, selectors.CaseFilters(status=["closed"]))]
    used_newest = []
    for user, filters in shapes:
        ordered = selectors.case_list_for_user(user=user, filters=filters)
        for offset, limit in [(0, 5), (5, 5), (0, 10), (20, 5), (0, 50)]:
            # when a page is read
            page = selectors.case_page_for_user(user=user, filters=filters, limit=limit, offset=offset)
            # then it is the slice of the whole ordered list, whichever path found it
            expected = list(ordered.values_list("id", flat=True)[offset:offset + limit])
            assert [c.pk for c in page.items] == expected, (user.username, filters, offset, limit)
            used_newest.append(selectors._ids_among_newest(ordered, offset=offset, limit=limit) is not None)
    # and both paths ran: the street's first pages among the newest, b1's old cases not
    assert any(used_newest)
    assert not all(used_newest)
    b1_first = selectors.case_list_for_user(user=users.grid_worker_b1, filters=selectors.CaseFilters())
    assert selectors._ids_among_newest(b1_first, offset=0, limit=5) is None
