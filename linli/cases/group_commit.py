"""Group commit for one-case intake (``POST /api/v1/cases``): concurrent requests of a
process share one transaction.

A one-case transaction costs about fifteen database round trips whatever the case; a batch
of twenty costs about the same (:func:`~linli.cases.services.case_open_many`). So a request
does not commit its case itself: it queues it, and the first request to find no batch in
progress leads, committing everything queued (its own case included) in one call. Requests
that arrive meanwhile queue up, and the oldest of them leads the next batch. There is no
timer: on an idle server each request commits at once, alone; on a busy one a batch holds
what arrived during the previous commit.

Guarantees kept: every request replies only after the commit holding its case (it waits for
its batch); the same idempotency key gives the same case (``case_open_many`` deduplicates
within the batch and against the table, also under a race); each case is audited with its
own request id. One bad request does not fail the others: each is checked before it queues
(its error goes to it alone), and if a batch still fails (a catalogue change between check
and commit, a database error), each of its requests opens its case by itself with
:func:`~linli.cases.services.case_open`, which raises for the culprit only.

Off (``LINLI_INTAKE_GROUP_COMMIT=0``), inside a caller's transaction (the caller expects
the case in it) and for reports with photos, requests open their case by themselves.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from linli.accounts.models import User
from linli.cases import services
from linli.cases.models import Case
from linli.core.actors import Actor, actor_label

logger = logging.getLogger(__name__)

# A batch larger than this waits for the next leader (bounds one transaction's lock time).
MAX_BATCH = 100
# What the reply shows of a case found by its idempotency key, read with it after the commit.
_REPLY_RELATED = ("category__parent", "grid", "department")


@dataclass(eq=False)
class _Ticket:
    """One waiting request."""

    actor: Actor
    item: services.CaseInput
    done: threading.Event = field(default_factory=threading.Event)
    result: tuple[Case, bool] | None = None
    lead: bool = False  # woken to lead the next batch


_lock = threading.Lock()
_queue: list[_Ticket] = []
_leading = False  # a batch is being committed (its leader hands over or clears this)


def case_open_grouped(*, actor: Actor, item: services.CaseInput) -> tuple[Case, bool]:
    """Open one case, committed together with concurrent ones; ``(case, created)`` after the
    commit, the case with its category, major category, grid and department attached (a new
    case from the process caches, one found by its idempotency key read back)."""
    if item.photos or connection.in_atomic_block or not getattr(settings, "LINLI_INTAKE_GROUP_COMMIT", True):
        return _open_alone(actor, item)
    services.case_input_check(actor=actor, item=item)
    ticket = _Ticket(actor, item)
    global _leading  # one queue per process, like the grid locator
    with _lock:
        _queue.append(ticket)
        lead = not _leading
        _leading = True
    if not lead:
        ticket.done.wait()
    if lead or ticket.lead:
        _lead()
    if ticket.result is None:  # its batch failed: alone, so that only a culprit fails
        return _open_alone(actor, item)
    return ticket.result


def _open_alone(actor: Actor, item: services.CaseInput) -> tuple[Case, bool]:
    case, created = services.case_open(
        actor=actor, source=item.source, category=item.category, description=item.description,
        lon=item.lon, lat=item.lat, address=item.address, level=item.level,
        reporter_name=item.reporter_name, callback_phone=item.callback_phone,
        handled_on_spot=item.handled_on_spot, source_key=item.source_key, photos=item.photos,
        request_id=item.request_id, public_description=item.public_description,
        within_grids=item.within_grids,
    )
    if created:  # built here with what the reply shows (see ``services._build_all``)
        return case, created
    return Case.objects.select_related(*_REPLY_RELATED).get(pk=case.pk), created


def _lead() -> None:
    """Commit the oldest queued requests (the leader's among them), answer them, then wake
    the oldest request still queued to lead the next batch."""
    global _leading
    with _lock:
        batch = _queue[:MAX_BATCH]
        del _queue[:MAX_BATCH]
    try:
        _commit(batch)
    finally:
        # Whatever happened, nobody of this batch is left waiting.
        for ticket in batch:
            ticket.done.set()
        with _lock:
            if _queue:
                _queue[0].lead = True
                _queue[0].done.set()
            else:
                _leading = False


def _actor_key(actor: Actor) -> tuple[str, int | None, str]:
    return (type(actor).__name__, actor.pk if isinstance(actor, User) else None, actor_label(actor))


def _commit(batch: list[_Ticket]) -> None:
    """One ``case_open_many`` per actor of the batch (the audit names one actor per call)."""
    groups: dict[tuple[str, int | None, str], list[_Ticket]] = {}
    for ticket in batch:
        groups.setdefault(_actor_key(ticket.actor), []).append(ticket)
    for group in groups.values():
        try:
            opened = services.case_open_many(actor=group[0].actor, items=[t.item for t in group])
        except Exception:
            # Each request retries alone and gets its own answer (or error).
            logger.warning("group commit of %d cases failed; each is retried alone", len(group), exc_info=True)
            continue
        for ticket, result in zip(group, opened, strict=True):
            ticket.result = result
        # New cases come back with their category, grid and department attached; only those
        # found by their idempotency key are read with them.
        known = [case.pk for case, created in opened if not created]
        if not known:
            continue
        try:
            fresh = Case.objects.select_related(*_REPLY_RELATED).in_bulk(known)
        except Exception:
            # Committed: never retried (a case without a key would open twice). The reply
            # then loads what it shows itself.
            logger.warning("reading back %d committed cases failed", len(group), exc_info=True)
            continue
        for ticket, (case, created) in zip(group, opened, strict=True):
            ticket.result = (fresh.get(case.pk, case), created)
