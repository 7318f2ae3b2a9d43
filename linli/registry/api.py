"""Registry endpoints under /api/v1/: scoped reads and the audited reveal.

Each endpoint parses input, calls one selector or service and returns a schema. The caller
is ``request.auth`` (a staff user or an API key); objects outside its areas are 404.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router

from linli.accounts.auth import actor_of as _actor
from linli.accounts.auth import principal_of as _principal
from linli.accounts.auth import request_id_of as _request_id
from linli.accounts.models import User
from linli.core.errors import PermissionDenied, ValidationFailed
from linli.core.params import Count, Id, Limit, Offset
from linli.registry import selectors, services
from linli.registry.schemas import (
    AreaDetailOut,
    AreaOut,
    BuildingChartOut,
    BuildingDetailOut,
    BuildingOut,
    FacilityOut,
    HouseholdOut,
    OrganisationOut,
    Page,
    PersonDetailOut,
    PersonOut,
    PersonPage,
    RevealIn,
    RevealOut,
    RoomDetailOut,
    RoomOut,
)

router = Router(tags=["registry"])
LIMIT_MAX = 200
M = TypeVar("M", bound=Model)


def _page(rows: QuerySet[M], limit: int, offset: int) -> dict[str, Any]:
    limit = max(1, min(limit, LIMIT_MAX))
    offset = max(0, offset)
    return {"count": rows.count(), "limit": limit, "offset": offset,
            "items": list(rows[offset: offset + limit])}


@router.get("/areas", response=Page[AreaOut])
def area_list(request: HttpRequest, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    return _page(selectors.area_list_for_user(user=_principal(request)), limit, offset)


@router.get("/areas/{area_id}", response=AreaDetailOut)
def area_detail(request: HttpRequest, area_id: Id) -> Any:
    return selectors.area_get_for_user(user=_principal(request), area_id=area_id)


@router.get("/buildings", response=Page[BuildingOut])
def building_list(
    request: HttpRequest, grid: Id | None = None, q: str = "", limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    rows = selectors.building_list_for_user(user=_principal(request), grid_id=grid, query=q)
    limit, offset = max(1, min(limit, LIMIT_MAX)), max(0, offset)
    count, items = selectors.building_page_in_natural_order(rows, limit=limit, offset=offset)
    return {"count": count, "limit": limit, "offset": offset, "items": items}


@router.get("/buildings/{building_id}", response=BuildingDetailOut)
def building_detail(request: HttpRequest, building_id: Id) -> Any:
    building = selectors.building_get_for_user(user=_principal(request), building_id=building_id)
    units = selectors.building_units(building=building)
    return {**BuildingOut.from_orm(building).model_dump(), "units": units}


@router.get("/buildings/{building_id}/chart", response=BuildingChartOut)
def building_chart(request: HttpRequest, building_id: Id) -> Any:
    principal = _principal(request)
    chart = selectors.building_chart(user=principal, building_id=building_id)
    services.sensitive_tags_shown_record(
        actor=_actor(principal), tags=chart.sensitive_tags,
        where=f"building:{building_id}", request_id=_request_id(request))
    return chart


@router.get("/rooms/{room_id}", response=RoomDetailOut)
def room_detail(request: HttpRequest, room_id: Id) -> Any:
    principal = _principal(request)
    room = selectors.room_get_for_user(user=principal, room_id=room_id)
    residents, others = selectors.room_residents_for_user(user=principal, room=room)
    return {**RoomOut.from_orm(room).model_dump(), "unit_number": room.unit.number,
            "building": room.building, "residents": residents, "other_residents": others}


@router.get("/households/{household_id}", response=HouseholdOut)
def household_detail(request: HttpRequest, household_id: Id) -> Any:
    view = selectors.household_view_for_user(user=_principal(request), household_id=household_id)
    household = view.household
    return {"id": household.pk, "number": household.number, "grid_id": household.grid_id,
            "room_id": household.room_id, "head_id": view.head.pk if view.head else None,
            "members": view.members, "other_members": view.others}


@router.get("/persons", response=PersonPage[PersonOut])
def person_search(
    request: HttpRequest, q: str = "", tag: str = "", grid: Id | None = None,
    age_min: Count | None = None, age_max: Count | None = None, limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    """``q``: the search of the workbench; else the list filtered by ``tag`` (key population),
    ``grid`` and age in years (``age_min`` ≤ age ≤ ``age_max``), in walking order."""
    principal = _principal(request)
    limit, offset = max(1, min(limit, LIMIT_MAX)), max(0, offset)
    if q.strip():
        if tag or grid is not None or age_min is not None or age_max is not None:
            raise ValidationFailed("q", _("查询内容不能与筛选条件同时使用"))
        page = selectors.person_search_page_for_user(user=principal, query=q, limit=limit, offset=offset)
        services.person_search_by_id_record(actor=_actor(principal), query=q, found=page.items,
                                            request_id=_request_id(request))
        return {"count": page.offset + len(page.items), "limit": page.limit, "offset": page.offset,
                "items": page.items, "has_more": page.has_more}
    filters = selectors.parse_person_filter(tag=tag, grid_id=grid, age_min=age_min, age_max=age_max)
    rows = selectors.person_list_for_user(user=principal, filters=filters)  # checks the permission
    services.person_list_access_record(actor=_actor(principal), filters=filters,
                                       request_id=_request_id(request))
    listed = _page(rows, limit, offset)
    return {**listed, "has_more": listed["offset"] + len(listed["items"]) < listed["count"]}


@router.get("/persons/{person_id}", response=PersonDetailOut)
def person_detail(request: HttpRequest, person_id: Id) -> Any:
    principal = _principal(request)
    person = selectors.person_get_for_user(user=principal, person_id=person_id)
    services.person_access_record(actor=_actor(principal), person=person,
                                  request_id=_request_id(request))
    tags = selectors.person_tags_active(person=person)
    return {**PersonOut.from_orm(person).model_dump(), "tags": tags}


@router.post("/persons/{person_id}/reveal", response=RevealOut)
def person_reveal(request: HttpRequest, person_id: Id, payload: RevealIn) -> dict[str, str]:
    principal = _principal(request)
    person = selectors.person_get_for_user(user=principal, person_id=person_id)
    if not isinstance(principal, User):
        raise PermissionDenied()
    value = services.person_reveal(actor=principal, person=person, field=payload.field,
                                   reason=payload.reason, request_id=_request_id(request))
    return {"value": value}


@router.get("/organisations", response=Page[OrganisationOut])
def organisation_list(
    request: HttpRequest, grid: Id | None = None, limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    return _page(selectors.organisation_list_for_user(user=_principal(request), grid_id=grid),
                 limit, offset)


@router.get("/facilities", response=Page[FacilityOut])
def facility_list(
    request: HttpRequest, grid: Id | None = None, kind: str | None = None,
    limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    rows = selectors.facility_list_for_user(user=_principal(request), grid_id=grid, kind=kind)
    return _page(rows, limit, offset)

