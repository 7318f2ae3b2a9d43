"""Pure rules of the notify app: template variables, idempotency keys, retry backoff,
quiet hours and what an attempt's outcome does to a delivery. No ORM here."""

from __future__ import annotations

import hashlib
import string
from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Final

from linli.notify.choices import DeliveryState, Level

MAX_ATTEMPTS: Final = 6
BACKOFF_BASE: Final = timedelta(seconds=30)
BACKOFF_CAP: Final = timedelta(hours=1)


class TemplateError(ValueError):
    """A template names a variable its event type does not have, or is malformed."""

    def __init__(self, field: str, message: str, *, variable: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.variable = variable


def template_variables(text: str) -> set[str]:
    """The ``{name}`` fields of a str.format template; a malformed one raises ValueError."""
    names: set[str] = set()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(name or "{}")
        names.add(name)
    return names


def template_check(*, title: str, body: str, allowed: Iterable[str]) -> None:
    """Refuse a field the event type does not define (at save, not at send)."""
    known = set(allowed)
    for field, text in (("title", title), ("body", body)):
        try:
            used = template_variables(text)
        except ValueError as exc:
            raise TemplateError(field, f"malformed placeholder {{{exc}}}", variable=str(exc)) from exc
        unknown = sorted(used - known)
        if unknown:
            raise TemplateError(field, f"unknown variable {{{unknown[0]}}}", variable=unknown[0])


def template_render(text: str, variables: Mapping[str, object]) -> str:
    """Fill a checked template; a variable the caller did not give raises KeyError."""
    missing = sorted(template_variables(text) - set(variables))
    if missing:
        raise KeyError(missing[0])
    return text.format_map({k: "" if v is None else v for k, v in variables.items()})


def idempotency_key(*, recipient_id: int, dedup_key: str, channel: str, address_tag: str = "") -> str:
    """The same business event, recipient and channel always give the same key: a retried
    job or a resend after a crash carries it to the gateway unchanged."""
    raw = f"{recipient_id}\x1f{dedup_key}\x1f{channel}\x1f{address_tag}".encode()
    return hashlib.sha256(raw).hexdigest()[:40]


def backoff(attempts: int, base: timedelta = BACKOFF_BASE) -> timedelta:
    """Wait before attempt ``attempts + 1``: 30 s, 1 min, 2 min … capped at an hour."""
    wait: timedelta = base * (2 ** min(max(attempts - 1, 0), 16))
    return min(wait, BACKOFF_CAP)


def ignores_quiet_hours(level: str) -> bool:
    return level in (Level.EMERGENCY, Level.LEVEL1)


def quiet_until(*, local_now: datetime, start: time | None, end: time | None) -> datetime | None:
    """When the recipient's quiet hours end, if ``local_now`` (their wall clock) is inside
    them; windows may wrap midnight (22:00–07:00)."""
    if start is None or end is None or start == end:
        return None
    clock = local_now.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        day = local_now.date()
    else:
        inside = clock >= start or clock < end
        day = local_now.date() + timedelta(days=1) if clock >= start else local_now.date()
    if not inside:
        return None
    return datetime.combine(day, end, tzinfo=local_now.tzinfo)


class Outcome(StrEnum):
    """What a channel reports for one attempt."""

    SENT = "sent"
    RETRY = "retry"  # the gateway said no, nothing went out: try again later
    UNKNOWN = "unknown"  # timed out or cut off: it may have gone out
    PERMANENT = "permanent"  # bad address, too long, refused: retrying cannot help
    GONE = "gone"  # the address no longer exists (Web Push 404/410)


def after_attempt(*, outcome: Outcome, attempts: int, idempotent: bool) -> str:
    """The delivery's next state. An unknown outcome is retried only where the gateway
    honours the idempotency key; elsewhere a second text must be a person's decision,
    so it goes to the dead letters with the reason."""
    if outcome == Outcome.SENT:
        return DeliveryState.SENT
    if outcome in (Outcome.PERMANENT, Outcome.GONE):
        return DeliveryState.DEAD
    if outcome == Outcome.UNKNOWN and not idempotent:
        return DeliveryState.DEAD
    return DeliveryState.DEAD if attempts >= MAX_ATTEMPTS else DeliveryState.FAILED
