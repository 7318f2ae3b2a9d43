"""Reads of the resident's dealings with the hall (办事大厅), kept apart from ``selectors.py``:
the clerk's correction request, the decision document, the windows and slots to book and
the resident's own appointments, and the base map of their own community for the report
form. Each is scoped to the signed-in resident; anything else is :class:`NotFound`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.catalogue.models import (
    Application,
    ApplicationFile,
    Appointment,
    ServiceItem,
    ServiceWindow,
)
from linli.catalogue.selectors import (
    CorrectionRequest,
    DecisionDocument,
    Slot,
    application_correction_request,
    application_decision_document,
    application_files,
    appointment_get_for_user,
    appointment_list_for_user,
    window_list_for_areas,
    window_slots,
)
from linli.core.calendar import is_working_day
from linli.core.errors import NotFound
from linli.geo.choices import AreaLevel
from linli.geo.measure import BBox
from linli.geo.models import Area
from linli.portal.choices import ProfileStatus
from linli.portal.models import ResidentProfile
from linli.portal.selectors import application_for_user, profile_for_user
from linli.registry.map_selectors import NearestBuilding, basemap_of, nearest_building_in

# How far ahead a resident may book: this many working days from tomorrow.
BOOKING_DAYS = 10


def _bound_profile(user: User) -> ResidentProfile | None:
    profile = profile_for_user(user=user)
    return profile if profile is not None and profile.status == ProfileStatus.BOUND else None


def _ancestor_ids(area: Area) -> list[int]:
    return [int(p) for p in area.path.strip("/").split("/") if p]


# --- corrections and decisions ------------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """A returned application of the resident with what the clerk asked and its files."""

    application: Application
    request: CorrectionRequest
    files: list[ApplicationFile]


def correction_for_user(*, user: User, application_id: int) -> Correction:
    """The resident's own application waiting for their correction (else NotFound)."""
    app = application_for_user(user=user, application_id=application_id)
    request = application_correction_request(application=app)
    if request is None:
        raise NotFound(_("该申请无需补正"))
    return Correction(application=app, request=request, files=application_files(application=app))


def correction_request_of(*, application: Application) -> CorrectionRequest | None:
    """For the application page (already scoped by the caller)."""
    return application_correction_request(application=application)


def decision_document_for_user(
    *, user: User, application_id: int
) -> tuple[Application, DecisionDocument]:
    """The decision document of the resident's own decided application (else NotFound)."""
    app = application_for_user(user=user, application_id=application_id)
    return app, application_decision_document(application=app)


# --- appointments ---------------------------------------------------------------------------


def windows_for_user(*, user: User, item: ServiceItem | None) -> list[ServiceWindow]:
    """Windows of the halls of the resident's community and street that take ``item``."""
    profile = _bound_profile(user)
    if profile is None:
        return []
    return list(
        window_list_for_areas(
            area_ids=_ancestor_ids(profile.community), item_id=item.pk if item is not None else None
        )
    )


def window_for_user(*, user: User, window_id: int, item: ServiceItem | None) -> ServiceWindow:
    for window in windows_for_user(user=user, item=item):
        if window.pk == window_id:
            return window
    raise NotFound(_("窗口不存在"))


def booking_days(*, today: date | None = None) -> list[date]:
    """The working days a resident may book, from tomorrow."""
    day = (today or timezone.localdate()) + timedelta(days=1)
    days: list[date] = []
    while len(days) < BOOKING_DAYS:
        if is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def open_slots(*, window: ServiceWindow, day: date) -> list[Slot]:
    """The slots of a day still in the future, with their free seats (full ones included,
    shown as full)."""
    now = timezone.now()
    return [slot for slot in window_slots(window=window, day=day) if slot.start > now]


def appointments_for_user(*, user: User) -> QuerySet[Appointment]:
    """The resident's own bookings (those they made), newest slot first."""
    return appointment_list_for_user(user=user)


def appointment_for_user(*, user: User, appointment_id: int) -> Appointment:
    return appointment_get_for_user(user=user, appointment_id=appointment_id)


# --- the base map of the resident's own community --------------------------------------------------


def _community_grid_ids(community: Area) -> list[int]:
    return list(
        Area.objects.filter(path__startswith=community.path, level=AreaLevel.GRID).values_list(
            "pk", flat=True
        )
    )


def basemap_for_resident(*, user: User, bbox: BBox | None) -> dict[str, Any]:
    """Outlines of the resident's community and its grids, and its buildings (name and
    floors); no facilities and nothing about persons. Unbound residents get an empty map."""
    profile = _bound_profile(user)
    if profile is None:
        return {"type": "FeatureCollection", "features": [], "truncated": False}
    grids = _community_grid_ids(profile.community)
    return basemap_of(
        area_ids=[profile.community_id, *grids], grid_ids=grids, bbox=bbox, facilities=False
    )


def nearest_for_resident(*, user: User, lat: float, lon: float) -> NearestBuilding | None:
    """The building of the resident's community nearest the point (its public address)."""
    profile = _bound_profile(user)
    if profile is None:
        return None
    return nearest_building_in(lat=lat, lon=lon, grid_ids=_community_grid_ids(profile.community))


def home_point(*, user: User) -> tuple[float, float, str] | None:
    """The resident's own building's point and address (the report form's default place)."""
    profile = _bound_profile(user)
    if profile is None or profile.room is None:
        return None
    building = profile.room.building
    return building.lon, building.lat, building.address
