"""The catalogue page (issue 16 item 12): an index of departments with anchors, each
department's first few items and a link to all of them, instead of one 14,000 px page."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from linli.catalogue.tests.conftest import CatalogueUsers, ItemFactory
from linli.catalogue.views.items import GROUP_PREVIEW


def test_departments_get_an_index_and_a_preview_each(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given 民政 with more items than a preview holds, and 人社 with one
    extra = 3
    for n in range(GROUP_PREVIEW + extra):
        publish(name=f"民政事项{n:02d}", department="民政")
    publish(name="失业登记", department="人社")
    client.force_login(cat_users.base.community_a)
    # when
    page = client.get(reverse("catalogue:items"))
    # then
    body = page.content.decode()
    assert 'data-testid="department-index"' in body
    groups = {g.name[:2]: g for g in page.context["groups"]}  # 民政 → its department's full name
    assert len(groups["民政"].items) == GROUP_PREVIEW
    assert groups["民政"].more == extra
    assert f'id="dept-{groups["民政"].department_id}"' in body
    assert f'href="#dept-{groups["民政"].department_id}"' in body
    assert body.count('data-testid="department-more"') == 1
    # and the department's own page lists all of its items
    whole = client.get(reverse("catalogue:items"), {"department": groups["民政"].department_id})
    assert len(whole.context["groups"][0].items) == GROUP_PREVIEW + extra
    assert 'data-testid="department-index"' not in whole.content.decode()
