"""Pure rules of fusion (no ORM): state tables of jobs, reviews and verification tasks, the
per-field winner rule and which disagreements become verification tasks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from linli.fusion.choices import (
    FIELD_VERIFICATION_PRECEDENCE,
    ConflictField,
    ImportStatus,
    ReviewStatus,
    TaskStatus,
)

# A job whose worker died goes back to ``queued`` (its task runs again) or to ``failed``,
# from where a person resumes it (``queued``); ``done`` is final.
IMPORT_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    ImportStatus.QUEUED: frozenset({ImportStatus.RUNNING, ImportStatus.FAILED}),
    ImportStatus.RUNNING: frozenset({ImportStatus.RUNNING, ImportStatus.DONE, ImportStatus.FAILED,
                                     ImportStatus.QUEUED}),
    ImportStatus.FAILED: frozenset({ImportStatus.RUNNING, ImportStatus.QUEUED}),
    ImportStatus.DONE: frozenset(),
}

REVIEW_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    ReviewStatus.OPEN: frozenset({ReviewStatus.ACCEPTED, ReviewStatus.REJECTED}),
    ReviewStatus.ACCEPTED: frozenset(),
    ReviewStatus.REJECTED: frozenset(),
}

# ``closed``: the question went away without an answer (e.g. the person was split).
TASK_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.ANSWERED, TaskStatus.CLOSED}),
    TaskStatus.ANSWERED: frozenset(),
    TaskStatus.CLOSED: frozenset(),
}


def can_transition(table: dict[str, frozenset[str]], current: str, target: str) -> bool:
    return target in table.get(current, frozenset())


# Registry fields fused with provenance. ``residence`` is the room; ``address`` the
# normalised address of a row whose address finds no room (issue 17, cause 5: kept as
# evidence and matched on, proposed to the place registry); ``disability_grade`` lives on
# the ``disabled`` tag.
FUSED_FIELDS: Final[tuple[str, ...]] = (
    "name", "id_number", "birth_date", "sex", "phone", "residence", "hukou", "ethnicity",
    "is_deceased", "deceased_on", "disability_grade", "address",
)
# Fused fields with no column of their own on the person.
UNAPPLIED_FIELDS: Final[frozenset[str]] = frozenset({"disability_grade", "address"})
PII_FIELDS: Final[frozenset[str]] = frozenset({"id_number", "phone"})
CONFLICT_FIELDS: Final[frozenset[str]] = frozenset(c.value for c in ConflictField)


# A record keeps an agreeing PII value as this many characters of its blind index: enough to
# tell values apart when showing provenance, without a full lookup key on every record.
STATED_PII_KEY: Final = 16


class WinReason:
    """Why a value won (``FieldProvenance.reason``)."""

    VERIFIED: Final = "field_verification"
    AUTHORITATIVE: Final = "authoritative"
    RECENCY: Final = "recency"
    AGREED: Final = "agreed"
    ONLY: Final = "only_source"
    OUTRANKED: Final = "outranked"
    SUPERSEDED: Final = "superseded"
    ID_TAKEN: Final = "id_taken"  # the ID number belongs to another person in the registry
    UNVERIFIED: Final = "unverified"  # a death one source alone claims: held for the grid worker


# Changes that stop benefits: one source alone does not make them fact (issue 17, cause 6).
# ``field → value`` of the claim; the registry takes it when two sources agree, or when the
# grid worker confirms it on the verification task.
STOPPING_CLAIMS: Final[dict[str, str]] = {"is_deceased": "1"}
# Fields that follow a held claim (a date of death without the death is not applied either).
FOLLOWING_CLAIMS: Final[dict[str, tuple[str, ...]]] = {"is_deceased": ("deceased_on",)}


def claim_is_held(*, field: str, value: str, agreed: bool, other_sources_said: bool) -> bool:
    """Whether a winning value waits for verification instead of entering the registry: a
    stopping claim (death) the registry does not already hold, that no other source made."""
    return STOPPING_CLAIMS.get(field) == value and not agreed and not other_sources_said


@dataclass(frozen=True)
class Observation:
    """One value a source (or a grid worker) gave for one field of one person."""

    value: str
    precedence: int
    observed_at: datetime
    order: int  # tie-break: later writes win (provenance id, or row order within a job)


def pick_winner(observations: Sequence[Observation]) -> tuple[int, str]:
    """Index of the winning observation and why: highest precedence, then most recent.

    Empty values never win over a non-empty one (a missing cell is not a statement).
    """
    if not observations:
        raise ValueError("no observations")
    candidates = [i for i, o in enumerate(observations) if o.value != ""] or list(range(len(observations)))
    best = max(candidates, key=lambda i: (observations[i].precedence, observations[i].observed_at,
                                          observations[i].order))
    winner = observations[best]
    others = [observations[i] for i in candidates if i != best]
    if winner.precedence >= FIELD_VERIFICATION_PRECEDENCE:
        return best, WinReason.VERIFIED
    if not others:
        return best, WinReason.ONLY
    if all(o.value == winner.value for o in others):
        return best, WinReason.AGREED
    disagreeing = [o for o in others if o.value != winner.value]
    if all(o.precedence < winner.precedence for o in disagreeing):
        return best, WinReason.AUTHORITATIVE
    return best, WinReason.RECENCY


def loser_reason(winner: Observation, loser: Observation) -> str:
    if loser.value == winner.value:
        return WinReason.AGREED
    if loser.precedence < winner.precedence:
        return WinReason.OUTRANKED
    return WinReason.SUPERSEDED


def is_conflict(field: str, *, current: str, incoming: str, same_source: bool) -> bool:
    """Sources disagree on something that matters: both say something, and differently.

    A source correcting its own earlier value is an update, not a conflict.
    """
    if field not in CONFLICT_FIELDS or same_source:
        return False
    return current != "" and incoming != "" and current != incoming


@dataclass(frozen=True)
class RelinkVerdict:
    """What the re-link pass does with one loose person (see ``relink_verdict``)."""

    action: str  # "merge", "review" or "" (leave it)
    person_id: int | None = None  # the person to merge into / the review's candidate
    record_index: int | None = None  # which of its records the merge or review stands on
    score: float = 0.0


def relink_verdict(decisions: Sequence[tuple[str, int | None, float]]) -> RelinkVerdict:
    """A loose person's current records, matched again (``(outcome, person, score)`` each):
    merge when they point at one person only and none doubts it; a review when the best
    they reach is doubtful (or they point at two persons); else nothing. The same matcher
    and thresholds as an import decide ``outcome``."""
    same = {p for o, p, _s in decisions if o == "same" and p is not None}
    doubtful = [(s, i, p) for i, (o, p, s) in enumerate(decisions) if o == "review" and p is not None]
    if len(same) == 1 and not any(p not in same for _s, _i, p in doubtful):
        target = next(iter(same))
        index, score = max(((i, s) for i, (o, p, s) in enumerate(decisions) if o == "same" and p == target),
                           key=lambda pair: pair[1])
        return RelinkVerdict("merge", target, index, score)
    if len(same) > 1:
        score, index, target = max((s, i, p) for i, (o, p, s) in enumerate(decisions) if o == "same" and p is not None)
        return RelinkVerdict("review", target, index, score)
    if doubtful:
        score, index, target = max(doubtful)
        return RelinkVerdict("review", target, index, score)
    return RelinkVerdict("")
