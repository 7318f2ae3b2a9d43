"""What every catalogue write shares: the system actors, who a human actor is, counters."""

from __future__ import annotations

from django.db.models import F

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.catalogue import workflow
from linli.catalogue.models import NumberSequence
from linli.core.actors import Actor, SystemActor

INSTANT_ACTOR = SystemActor("rule:instant")
SWEEP_ACTOR = SystemActor("job:overdue-sweep")
APPLICATION_TARGET = "catalogue.application"
_STAFF_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})


def _role(actor: Actor) -> str:
    if isinstance(actor, User):
        return str(actor.role)
    return workflow.SYSTEM


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def _next_value(key: str) -> int:
    """Increment a named counter under a row lock (inside the caller's transaction)."""
    NumberSequence.objects.bulk_create([NumberSequence(key=key, value=0)], ignore_conflicts=True)
    counter = NumberSequence.objects.select_for_update().get(key=key)
    counter.value = F("value") + 1
    counter.save(update_fields=["value"])
    counter.refresh_from_db(fields=["value"])
    return counter.value
