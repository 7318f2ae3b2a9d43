"""Changing an open case's level (定级 / 调整等级, issue 21: a case raised to level 1 reaches
the cockpit live): dispatchers only, within their scope, with a reason; a timeline event and
an audit entry; refused by name otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from conftest import Users
from linli.cases.choices import CaseStatus
from linli.cases.errors import CaseForbidden
from linli.cases.models import Case, CaseEvent
from linli.cases.services import case_regrade
from linli.cases.tests.conftest import Cats
from linli.cases.workflow import regrade_refusal
from linli.core.errors import NotFound, ValidationFailed
from linli.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_a_dispatcher_raises_a_case_with_a_reason_written_to_timeline_and_audit(
    open_case: Any,
    cats: Cats,
    users: Users,
) -> None:
    case: Case = open_case(category=cats.rubbish, description="楼道堆放杂物")
    old = case.level
    assert old != 1
    # when the community's staff raise it to level 1
    done = case_regrade(actor=users.community_a, case=case, level=1, reason="堆物起火,升为特急")
    # then the level, the version, one timeline event and one audit entry (without the reason's
    # words anywhere but the entry's reason)
    case.refresh_from_db()
    assert (case.level, done.level) == (1, 1)
    assert case.version == done.version
    event = CaseEvent.objects.get(case=case, action="regrade")
    assert event.data == {"from_level": old, "to_level": 1}
    assert event.note == "堆物起火,升为特急"
    assert (event.from_status, event.to_status) == (case.status, case.status)
    entry = AuditEntry.objects.get(action="case.regrade", target_id=str(case.pk))
    assert entry.fields == ["level"]
    assert entry.reason == "堆物起火,升为特急"


def test_regrade_is_refused_by_name_for_bad_input_other_roles_and_other_areas(
    open_case: Any,
    cats: Cats,
    users: Users,
) -> None:
    case: Case = open_case(category=cats.rubbish)
    with pytest.raises(ValidationFailed) as no_reason:
        case_regrade(actor=users.community_a, case=case, level=1, reason="  ")
    assert no_reason.value.field == "reason"
    for bad in (0, 6, case.level):
        with pytest.raises(ValidationFailed) as bad_level:
            case_regrade(actor=users.community_a, case=case, level=bad, reason="核实")
        assert bad_level.value.field == "level"
    # the grid's worker sees the case but may not grade it
    with pytest.raises(CaseForbidden):
        case_regrade(actor=users.grid_worker_a1, case=case, level=1, reason="核实")
    # another community's staff do not even see it
    with pytest.raises(NotFound):
        case_regrade(actor=users.community_b, case=case, level=1, reason="核实")
    case.refresh_from_db()
    assert not CaseEvent.objects.filter(case=case, action="regrade").exists()
    assert not AuditEntry.objects.filter(action="case.regrade").exists()


def test_a_closed_case_keeps_its_level() -> None:
    # the pure rule: closed cases are history
    assert (
        regrade_refusal(role="street_staff", status=CaseStatus.CLOSED, old_level=3, new_level=1)
        is not None
    )
    assert (
        regrade_refusal(role="street_staff", status=CaseStatus.DISPATCHED, old_level=3, new_level=1)
        is None
    )
    assert (
        regrade_refusal(role="grid_worker", status=CaseStatus.DISPATCHED, old_level=3, new_level=1)
        is not None
    )


def test_the_case_page_offers_the_level_change_to_dispatchers_only(
    open_case: Any,
    cats: Cats,
    users: Users,
) -> None:
    case: Case = open_case(category=cats.rubbish)
    street = Client()
    street.force_login(users.street)
    page = street.get(f"/cases/{case.pk}/").content.decode()
    assert 'data-testid="regrade-form"' in page
    # a missing reason is named on the page and nothing changes
    response = street.post(f"/cases/{case.pk}/", {"regrade_level": "1", "regrade_reason": ""})
    assert response.status_code == 200
    assert "请填写原因" in response.content.decode()
    case.refresh_from_db()
    assert case.level != 1
    response = street.post(
        f"/cases/{case.pk}/", {"regrade_level": "1", "regrade_reason": "涉及独居老人安全"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.level == 1
    timeline = street.get(f"/cases/{case.pk}/").content.decode()
    assert "调整等级" in timeline
    assert "→ 1级 · 特急" in timeline
    assert "涉及独居老人安全" in timeline
    worker = Client()
    worker.force_login(users.grid_worker_a1)
    assert 'data-testid="regrade-form"' not in worker.get(f"/cases/{case.pk}/").content.decode()
    assert (
        worker.post(f"/cases/{case.pk}/", {"regrade_level": "2", "regrade_reason": "x"}).status_code
        == 403
    )


def test_the_api_changes_the_level_and_names_the_refused_field(
    open_case: Any, cats: Cats, users: Users
) -> None:
    case: Case = open_case(category=cats.rubbish)
    api = Client()
    api.force_login(users.street)
    bad = api.post(
        f"/api/v1/cases/{case.pk}/level",
        {"level": 1, "reason": ""},
        content_type="application/json",
    )
    assert bad.status_code == 400  # a refused value, named (422 is for a malformed body)
    assert bad.json()["field"] == "reason"
    ok = api.post(
        f"/api/v1/cases/{case.pk}/level",
        {"level": 2 if case.level != 2 else 1, "reason": "复核"},
        content_type="application/json",
    )
    assert ok.status_code == 200, ok.content
    case.refresh_from_db()
    assert ok.json()["level"] == case.level
