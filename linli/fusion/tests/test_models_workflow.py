"""Pure rules: state tables (exhaustive), the winner rule (table + property), conflicts,
and the model constraints that keep one open review/task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given
from hypothesis import strategies as st

from linli.fusion.choices import (
    FIELD_VERIFICATION_PRECEDENCE,
    ImportStatus,
    ReviewStatus,
    TaskStatus,
)
from linli.fusion.workflow import (
    IMPORT_TRANSITIONS,
    REVIEW_TRANSITIONS,
    TASK_TRANSITIONS,
    Observation,
    can_transition,
    is_conflict,
    pick_winner,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)

ALLOWED = {
    (ImportStatus.QUEUED, ImportStatus.RUNNING), (ImportStatus.QUEUED, ImportStatus.FAILED),
    (ImportStatus.RUNNING, ImportStatus.RUNNING), (ImportStatus.RUNNING, ImportStatus.DONE),
    (ImportStatus.RUNNING, ImportStatus.FAILED), (ImportStatus.FAILED, ImportStatus.RUNNING),
    # a job whose worker died: queued again, or resumed by a person after it failed
    (ImportStatus.RUNNING, ImportStatus.QUEUED), (ImportStatus.FAILED, ImportStatus.QUEUED),
}


@pytest.mark.parametrize("current", list(ImportStatus))
@pytest.mark.parametrize("target", list(ImportStatus))
def test_import_job_transitions_are_exactly_the_table(current: str, target: str) -> None:
    assert can_transition(IMPORT_TRANSITIONS, current, target) == ((current, target) in ALLOWED)


@pytest.mark.parametrize("current", list(ReviewStatus))
@pytest.mark.parametrize("target", list(ReviewStatus))
def test_only_open_reviews_are_decided(current: str, target: str) -> None:
    expected = current == ReviewStatus.OPEN and target != ReviewStatus.OPEN
    assert can_transition(REVIEW_TRANSITIONS, current, target) == expected


@pytest.mark.parametrize("current", list(TaskStatus))
@pytest.mark.parametrize("target", list(TaskStatus))
def test_only_open_tasks_are_answered_or_closed(current: str, target: str) -> None:
    expected = current == TaskStatus.OPEN and target != TaskStatus.OPEN
    assert can_transition(TASK_TRANSITIONS, current, target) == expected


@pytest.mark.parametrize(("observations", "winner", "reason"), [
    ([("a", 0, 0)], 0, "only_source"),
    ([("a", 0, 0), ("a", 0, 1)], 1, "agreed"),
    ([("a", 90, 0), ("b", 0, 1)], 0, "authoritative"),
    ([("a", 0, 0), ("b", 0, 1)], 1, "recency"),
    ([("a", 90, 0), ("b", FIELD_VERIFICATION_PRECEDENCE, 0)], 1, "field_verification"),
    ([("a", 0, 0), ("", 90, 1)], 0, "only_source"),  # an empty cell states nothing
])
def test_winner_rule(observations: list[tuple[str, int, int]], winner: int, reason: str) -> None:
    obs = [Observation(v, p, T0 + timedelta(days=d), i) for i, (v, p, d) in enumerate(observations)]
    assert pick_winner(obs) == (winner, reason)


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 1000), st.integers(0, 30)),
                min_size=1, max_size=8))
def test_winner_has_the_highest_precedence_then_is_newest(items: list[tuple[str, int, int]]) -> None:
    obs = [Observation(v, p, T0 + timedelta(days=d), i) for i, (v, p, d) in enumerate(items)]
    best, _reason = pick_winner(obs)
    top = max(o.precedence for o in obs)
    assert obs[best].precedence == top
    assert obs[best].observed_at == max(o.observed_at for o in obs if o.precedence == top)


@pytest.mark.parametrize(("field", "current", "incoming", "same", "expected"), [
    ("phone", "x", "y", False, True),
    ("phone", "x", "y", True, False),
    ("phone", "", "y", False, False),
    ("phone", "x", "x", False, False),
    ("residence", "room:1", "room:2", False, True),
    ("is_deceased", "1", "0", False, True),
    ("disability_grade", "2", "3", False, True),
    ("name", "王芳", "王方", False, False),
])
def test_conflicts_that_matter(field: str, current: str, incoming: str, same: bool, expected: bool) -> None:
    assert is_conflict(field, current=current, incoming=incoming, same_source=same) is expected


def test_only_one_open_task_per_person_and_field(db: None) -> None:
    from linli.fusion.models import VerificationTask
    from linli.registry.models import Person

    # given
    person = Person.objects.create(name="王芳", name_pinyin="wangfang", name_initials="wf")
    VerificationTask.objects.create(person=person, field="phone")
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        VerificationTask.objects.create(person=person, field="phone")
    VerificationTask.objects.create(person=person, field="phone", status=TaskStatus.ANSWERED)


@pytest.mark.parametrize(("field", "value", "agreed", "other", "held"), [
    ("is_deceased", "1", False, False, True),  # one source's death: held for the grid worker
    ("is_deceased", "1", False, True, False),  # a second source agrees: it stands
    ("is_deceased", "1", True, False, False),  # the registry already holds it
    ("is_deceased", "0", False, False, False),  # "alive" stops nothing
    ("phone", "13800000000", False, False, False),
])
def test_stopping_claims_from_one_source_are_held(field, value, agreed, other, held):
    from linli.fusion.workflow import claim_is_held

    assert claim_is_held(field=field, value=value, agreed=agreed, other_sources_said=other) is held
