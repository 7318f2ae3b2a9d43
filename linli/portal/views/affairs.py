"""Public affairs beside 三务公开: the community's 两委 members and its residents' convention
(居民公约). Residents read their own community's; community and street staff maintain those
of the communities in their scope (another community: 404)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from linli.accounts.access import StaffRequest, staff_view
from linli.accounts.access import request_id_of as staff_request_id
from linli.catalogue.uploads import open_stored
from linli.core.errors import ApplicationError, NotFound
from linli.core.stored_files import stored_file_response
from linli.portal import selectors, services
from linli.portal.choices import CommitteeBody, CommitteeRole
from linli.portal.selectors import is_resident
from linli.portal.views.access import ResidentRequest, resident_view

deciders_only = staff_view(sorted(services.STAFF_DECIDERS))


# --- residents ---------------------------------------------------------------------------


@resident_view
@require_http_methods(["GET"])
def affairs(request: ResidentRequest) -> HttpResponse:
    members = selectors.committee_for_user(user=request.user)
    return render(
        request,
        "portal/affairs.html",
        {
            "bodies": [
                (label, [m for m in members if m.body == value])
                for value, label in CommitteeBody.choices
            ],
            "convention": selectors.convention_for_user(user=request.user),
        },
    )


@resident_view
@require_http_methods(["GET"])
def convention(request: ResidentRequest, convention_id: int) -> HttpResponse:
    return render(
        request,
        "portal/convention.html",
        {
            "convention": selectors.convention_get_for_user(
                user=request.user, convention_id=convention_id
            )
        },
    )


@require_http_methods(["GET"])
def member_photo(request: HttpRequest, member_id: int) -> HttpResponseBase:
    """A member's photo for residents of that community and staff whose scope holds it."""
    if not request.user.is_authenticated:
        return redirect("portal:login")
    if is_resident(request.user):
        return _resident_photo(request, member_id)
    return _staff_photo(request, member_id)


def _photo_response(user: Any, member_id: int) -> FileResponse:
    member = selectors.committee_photo_for_user(user=user, member_id=member_id)
    return stored_file_response(open_stored(member.photo_file), content_type=member.photo_type,
                                filename=f"committee-member-{member.pk}")


@resident_view
def _resident_photo(request: ResidentRequest, member_id: int) -> FileResponse:
    return _photo_response(request.user, member_id)


@deciders_only
def _staff_photo(request: StaffRequest, member_id: int) -> FileResponse:
    return _photo_response(request.user, member_id)


# --- staff -------------------------------------------------------------------------------


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _member_input(post: Any) -> services.MemberInput:
    position = post.get("position", "")
    return services.MemberInput(
        body=post.get("body", ""),
        role=post.get("role", ""),
        name=post.get("name", ""),
        duties=post.get("duties", ""),
        duty_phone=post.get("duty_phone", ""),
        term_start=_date(post.get("term_start")),
        term_end=_date(post.get("term_end")),
        position=int(position) if position.isdigit() and len(position) < 4 else 0,
    )


def _community_id(request: StaffRequest) -> int | None:
    value = request.GET.get("community", "") or request.POST.get("community", "")
    if value.isdigit() and len(value) < 12:
        return int(value)
    communities = selectors.staff_affairs_communities(user=request.user)
    return communities[0].pk if communities else None


@deciders_only
@require_http_methods(["GET"])
def staff_affairs(request: StaffRequest) -> HttpResponse:
    community_id = _community_id(request)
    if community_id is None:
        raise NotFound()
    community = selectors.staff_community_get(user=request.user, community_id=community_id)
    return render(
        request,
        "portal/staff_affairs.html",
        {
            "community": community,
            "communities": selectors.staff_affairs_communities(user=request.user),
            "members": selectors.staff_committee_list(user=request.user, community_id=community.pk),
            "conventions": selectors.staff_conventions(
                user=request.user, community_id=community.pk
            ),
        },
    )


def _member_form(request: StaffRequest, *, community_id: int, member: Any = None) -> HttpResponse:
    error, field, status = "", "", 200
    if request.method == "POST":
        try:
            services.committee_member_save(
                actor=request.user,
                community_id=community_id,
                data=_member_input(request.POST),
                member_id=member.pk if member is not None else None,
                photo=request.FILES.get("photo"),
                request_id=staff_request_id(request),
            )
        except ApplicationError as exc:
            if exc.code in {"not_found", "permission_denied"}:
                raise
            error, field, status = exc.message, exc.field or "", 400
        else:
            return redirect(f"/portal/staff/affairs/?community={community_id}")
    values: Any = (
        request.POST
        if request.method == "POST"
        else (
            {
                "body": member.body,
                "role": member.role,
                "name": member.name,
                "duties": member.duties,
                "duty_phone": member.duty_phone,
                "term_start": member.term_start.isoformat(),
                "term_end": member.term_end.isoformat() if member.term_end else "",
                "position": member.position,
            }
            if member is not None
            else {}
        )
    )
    community = selectors.staff_community_get(user=request.user, community_id=community_id)
    return render(
        request,
        "portal/staff_member.html",
        {
            "community": community,
            "member": member,
            "values": values,
            "bodies": CommitteeBody.choices,
            "roles": CommitteeRole.choices,
            "error": error,
            "error_field": field,
        },
        status=status,
    )


@deciders_only
@require_http_methods(["GET", "POST"])
def staff_member_new(request: StaffRequest) -> HttpResponse:
    community_id = _community_id(request)
    if community_id is None:
        raise NotFound()
    selectors.staff_community_get(user=request.user, community_id=community_id)
    return _member_form(request, community_id=community_id)


@deciders_only
@require_http_methods(["GET", "POST"])
def staff_member(request: StaffRequest, member_id: int) -> HttpResponse:
    member = selectors.staff_member_get(user=request.user, member_id=member_id)
    return _member_form(request, community_id=member.community_id, member=member)


@deciders_only
@require_POST
def staff_member_end(request: StaffRequest, member_id: int) -> HttpResponse:
    member = services.committee_member_end(
        actor=request.user, member_id=member_id, request_id=staff_request_id(request)
    )
    return redirect(f"/portal/staff/affairs/?community={member.community_id}")


@deciders_only
@require_http_methods(["GET", "POST"])
def staff_convention_new(request: StaffRequest) -> HttpResponse:
    community_id = _community_id(request)
    if community_id is None:
        raise NotFound()
    community = selectors.staff_community_get(user=request.user, community_id=community_id)
    error, field, status = "", "", 200
    if request.method == "POST":
        try:
            services.convention_publish(
                actor=request.user,
                community_id=community.pk,
                title=request.POST.get("title", ""),
                body=request.POST.get("body", ""),
                effective_on=_date(request.POST.get("effective_on")),
                adopted_note=request.POST.get("adopted_note", ""),
                request_id=staff_request_id(request),
            )
        except ApplicationError as exc:
            if exc.code in {"not_found", "permission_denied"}:
                raise
            error, field, status = exc.message, exc.field or "", 400
        else:
            return redirect(f"/portal/staff/affairs/?community={community.pk}")
    current = selectors.staff_conventions(user=request.user, community_id=community.pk).current
    values: Any = (
        request.POST
        if request.method == "POST"
        else ({"title": current.title, "body": current.body} if current is not None else {})
    )
    return render(
        request,
        "portal/staff_convention_new.html",
        {"community": community, "values": values, "error": error, "error_field": field},
        status=status,
    )
