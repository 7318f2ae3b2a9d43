"""Writes of the catalogue: publishing item versions, filing applications (atomic with their
uploads, idempotent), moving them through the workflow, the overdue sweep, appointments.

``application_transition`` (and the internal ``_apply`` it shares with submission) is the
only writer of ``Application.status``. Every write runs in one transaction with its audit
entry; audit entries carry field names, never personal values.

The modules: :mod:`.items` (the catalogue), :mod:`.facts` (the registry's view of an
applicant), :mod:`.applications` (drafts, submission, correction), :mod:`.transitions`
(workflow steps, the overdue sweep), :mod:`.appointments` (windows and bookings).
"""

from linli.catalogue.services.applications import (
    application_correct,
    application_save_draft,
    application_submit,
)
from linli.catalogue.services.appointments import (
    appointment_book,
    appointment_cancel,
    appointment_change,
    appointment_check_in,
    appointment_serve,
    window_create,
    window_update,
)
from linli.catalogue.services.facts import application_facts, application_prefill
from linli.catalogue.services.items import (
    item_create,
    item_publish_version,
    item_update,
    validate_materials,
)
from linli.catalogue.services.shared import INSTANT_ACTOR, SWEEP_ACTOR
from linli.catalogue.services.transitions import (
    application_approved_listeners,
    application_overdue_sweep,
    application_transition,
)

__all__ = [
    "INSTANT_ACTOR",
    "SWEEP_ACTOR",
    "application_approved_listeners",
    "application_correct",
    "application_facts",
    "application_overdue_sweep",
    "application_prefill",
    "application_save_draft",
    "application_submit",
    "application_transition",
    "appointment_book",
    "appointment_cancel",
    "appointment_change",
    "appointment_check_in",
    "appointment_serve",
    "item_create",
    "item_publish_version",
    "item_update",
    "validate_materials",
    "window_create",
    "window_update",
]
