"""Background work of the catalogue: sweeping overdue applications.

Notices to applicants and staff go through the notify outbox, written in the transition's
own transaction (:mod:`linli.catalogue.services.transitions`); the relay sends them.
"""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task


@task()
def application_overdue_sweep_task() -> int:
    from linli.catalogue.services import application_overdue_sweep  # services import tasks

    return application_overdue_sweep(now=timezone.now())
