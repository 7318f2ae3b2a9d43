"""Background jobs of the accounts app (django-tasks): thin wrappers over services."""

from __future__ import annotations

from django_tasks import task

from linli.accounts import services
from linli.core.actors import SystemActor


@task()
def login_throttles_prune_task() -> int:
    """Delete login-failure counters that have run out (see ``login_throttles_prune``)."""
    return services.login_throttles_prune(actor=SystemActor("job:login_throttles_prune"))
