"""Writes of the resident's dealings with the hall, kept apart from ``services.py``: answering
the clerk's correction and booking or cancelling a seat at a window. Each goes through the
catalogue's own services (its workflow, its checks of uploads by content, its capacity and
double-booking rules) with the resident as the actor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.catalogue.models import Application, Appointment, ServiceItem
from linli.catalogue.services import application_correct, appointment_book, appointment_cancel
from linli.catalogue.uploads import UploadLike
from linli.core import pii
from linli.core.errors import PermissionDenied
from linli.portal.choices import ProfileStatus
from linli.portal.hall_selectors import appointment_for_user, correction_for_user, window_for_user
from linli.portal.models import PII_PORTAL_PHONE, ResidentProfile
from linli.registry.models import Person


def _bound(user: User) -> ResidentProfile:
    profile = (
        ResidentProfile.objects.select_related("person")
        .filter(user=user, status=ProfileStatus.BOUND)
        .first()
    )
    if profile is None or profile.person is None:
        raise PermissionDenied(_("请先完成居民身份核验"))
    return profile


def correction_submit(
    *,
    user: User,
    application_id: int,
    data: Mapping[str, Any],
    files: Mapping[str, Sequence[UploadLike]],
    expected_version: int | None,
    request_id: str = "",
) -> Application:
    """Resubmit the resident's own returned application with the corrected fields and new
    materials; it goes back to the community's pre-review queue (``catalogue``'s 补正)."""
    correction = correction_for_user(user=user, application_id=application_id)
    return application_correct(
        actor=user,
        application=correction.application,
        data=data,
        files=files,
        expected_version=expected_version,
        request_id=request_id,
    )


def appointment_make(
    *,
    user: User,
    window_id: int,
    slot_start: datetime,
    item: ServiceItem | None,
    request_id: str = "",
) -> Appointment:
    """Book a seat for the resident themselves (their bound person, name and the phone they
    registered with) at a window of their own community or street."""
    profile = _bound(user)
    window = window_for_user(user=user, window_id=window_id, item=item)
    person: Person = profile.person  # type: ignore[assignment]  # _bound checked it
    return appointment_book(
        actor=user,
        window=window,
        slot_start=slot_start,
        person=person,
        bound_person=person,
        name=person.name,
        phone=pii.decrypt(profile.phone_enc, field=PII_PORTAL_PHONE),
        item=item,
        request_id=request_id,
    )


def appointment_withdraw(*, user: User, appointment_id: int, request_id: str = "") -> Appointment:
    """Cancel one of the resident's own bookings (another's is not found)."""
    appointment = appointment_for_user(user=user, appointment_id=appointment_id)
    return appointment_cancel(actor=user, appointment=appointment, request_id=request_id)
