"""Staff pages of the portal: the community's verification queue, notices, and the printable
page of a building's registration code. Scoped like every workbench page."""

from __future__ import annotations

import segno
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from linli.accounts.access import StaffRequest, request_id_of, staff_view
from linli.accounts.choices import Role
from linli.core.errors import ApplicationError
from linli.portal import selectors, services
from linli.portal.choices import NoticeKind
from linli.registry.selectors import building_get_for_user, room_residents_for_user

DECIDERS = sorted(services.STAFF_DECIDERS)
deciders_only = staff_view(DECIDERS)
registry_staff = staff_view([Role.GRID_WORKER, *DECIDERS])


@deciders_only
@require_http_methods(["GET"])
def registrations(request: StaffRequest) -> HttpResponse:
    return render(request, "portal/staff_registrations.html", {
        "registrations": list(selectors.registration_queue_for_user(user=request.user)[:200])})


@deciders_only
@require_http_methods(["GET", "POST"])
def registration(request: StaffRequest, registration_id: int) -> HttpResponse:
    item = selectors.registration_get_for_staff(user=request.user, registration_id=registration_id)
    error, status = "", 200
    if request.method == "POST":
        person = request.POST.get("person", "")
        try:
            services.registration_decide(
                actor=request.user, registration_id=item.pk, approve=request.POST.get("decision") == "approve",
                person_id=int(person) if person.isdigit() else None, note=request.POST.get("note", ""),
                request_id=request_id_of(request))
        except ApplicationError as exc:
            if exc.code in {"not_found", "permission_denied"}:
                raise
            error, status = exc.message, 400
        else:
            return redirect("portal:staff-registrations")
    residents, others = room_residents_for_user(user=request.user, room=item.room)
    return render(request, "portal/staff_registration.html", {
        "registration": item, "residents": residents, "others": others, "error": error}, status=status)


@deciders_only
@require_http_methods(["GET"])
def notices(request: StaffRequest) -> HttpResponse:
    return render(request, "portal/staff_notices.html", {
        "notices": list(selectors.staff_notice_list_for_user(user=request.user)[:200])})


@deciders_only
@require_http_methods(["GET", "POST"])
def notice_new(request: StaffRequest) -> HttpResponse:
    error, status = "", 200
    if request.method == "POST":
        area = request.POST.get("area", "")
        try:
            services.notice_publish(
                actor=request.user, area_id=int(area) if area.isdigit() else 0,
                kind=request.POST.get("kind", NoticeKind.NOTICE), title=request.POST.get("title", ""),
                body=request.POST.get("body", ""), period=request.POST.get("period", ""),
                files=request.FILES.getlist("files"), request_id=request_id_of(request))
        except ApplicationError as exc:
            if exc.code in {"not_found", "permission_denied"}:
                raise
            error, status = exc.message, 400
        else:
            return redirect("portal:staff-notices")
    return render(request, "portal/staff_notice_new.html", {
        "areas": selectors.staff_publish_areas(user=request.user), "kinds": NoticeKind.choices,
        "values": request.POST, "error": error}, status=status)


@registry_staff
@require_http_methods(["GET"])
def building_code(request: StaffRequest, building_id: int) -> HttpResponse:
    """A page to print and put up in the building: the QR code residents scan to register, and
    the same address in words for phones that cannot scan."""
    building = building_get_for_user(user=request.user, building_id=building_id)
    url = request.build_absolute_uri(reverse("portal:building-entry", args=[building.pk]))
    # segno writes the SVG from our own URL only: nothing user-typed reaches the markup.
    qr_svg = mark_safe(segno.make(url, error="m").svg_inline(scale=6, title=building.address))  # noqa: S308
    return render(
        request,
        "portal/staff_building_code.html",
        {"building": building, "url": url, "qr_svg": qr_svg},
    )


@registry_staff
@require_http_methods(["GET", "POST"])
def certifications(request: StaffRequest) -> HttpResponse:
    """Home visits for the living certification, in the staff member's grids."""
    if request.method == "POST":
        item = request.POST.get("certification", "")
        services.certification_visit_confirm(actor=request.user, certification_id=int(item) if item.isdigit() else 0,
                                             request_id=request_id_of(request))
        return redirect("portal:staff-certifications")
    return render(request, "portal/staff_certifications.html", {
        "visits": list(selectors.certification_visits_for_user(user=request.user)[:200])})
