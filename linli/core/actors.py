"""Who did it: a user, or a named system actor (command, job, import, MQTT bridge).

Services take the actor explicitly; it is never inferred from a request, so commands and
jobs are audited the same way as web requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class UserLike(Protocol):
    """Anything with a primary key and a username, above all ``accounts.User``."""

    # Read-only, so a model whose ``pk`` is typed ``int`` satisfies it.
    @property
    def pk(self) -> int | None: ...

    def get_username(self) -> str: ...


@dataclass(frozen=True)
class SystemActor:
    """A non-human actor such as ``command:seed`` or ``job:import``."""

    name: str
    pk: None = None

    def get_username(self) -> str:
        return self.name


Actor = UserLike | SystemActor


def actor_label(actor: Actor) -> str:
    return actor.get_username()
