"""The signed-in resident's pages: home, household, reports (随手拍), services and
applications, notices. Every object comes from a selector scoped to the resident."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from linli.cases.choices import CaseStatus
from linli.cases.selectors import category_tree
from linli.catalogue.forms_schema import form_fields
from linli.catalogue.search import item_answer
from linli.catalogue.selectors import application_timeline, item_get, item_list
from linli.catalogue.uploads import open_stored
from linli.core.errors import ApplicationError, NotFound, ValidationFailed
from linli.core.stored_files import stored_file_response
from linli.portal import hall_selectors, selectors, services
from linli.portal.choices import NoticeKind, ProfileStatus
from linli.portal.face import face_configured
from linli.portal.selectors import is_resident
from linli.portal.views.access import ResidentRequest, request_id_of, resident_view
from linli.portal.views.maps import report_place_context
from linli.portal.workflow import FACE_ATTEMPTS_MAX

HOME_NOTICES = 3


@never_cache
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return render(request, "portal/landing.html")
    if not is_resident(request.user):
        return redirect("web:home")
    return _home(request)


@resident_view
def _home(request: ResidentRequest) -> HttpResponse:
    profile = selectors.profile_for_user(user=request.user)
    return render(request, "portal/home.html", {
        "profile": profile,
        "bound": profile is not None and profile.status == ProfileStatus.BOUND,
        "notices": list(selectors.notices_for_user(user=request.user, profile=profile)[:HOME_NOTICES]),
        "open_reports": selectors.reports_for_user(user=request.user).exclude(
            status__in=[CaseStatus.EVALUATED, CaseStatus.CANCELLED, CaseStatus.MERGED]).count(),
    })


def _household_context(request: ResidentRequest) -> dict[str, Any]:
    return {
        "profile": selectors.profile_for_user(user=request.user),
        "members": selectors.household_for_user(user=request.user),
        "is_head": selectors.is_household_head(user=request.user),
        "applications": list(selectors.applications_for_user(user=request.user)[:selectors.LIST_LIMIT]),
        "reports": list(selectors.reports_for_user(user=request.user)[:selectors.LIST_LIMIT]),
        "benefits": selectors.household_benefits_for_user(user=request.user),
        "due_certifications": selectors.certifications_due_for_user(user=request.user),
    }


@resident_view
@require_http_methods(["GET"])
def household(request: ResidentRequest) -> HttpResponse:
    context = _household_context(request)
    if context["benefits"]:
        services.household_benefits_access_record(user=request.user, request_id=request_id_of(request))
    return render(request, "portal/household.html", context)


# --- reports -------------------------------------------------------------------------------


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


@resident_view
@require_http_methods(["GET"])
def reports(request: ResidentRequest) -> HttpResponse:
    return render(request, "portal/reports.html", {
        "reports": list(selectors.reports_for_user(user=request.user)[:selectors.LIST_LIMIT])})


@resident_view
@require_http_methods(["GET", "POST"])
def report_new(request: ResidentRequest) -> HttpResponse:
    error, field, status = "", "", 200
    if request.method == "POST":
        try:
            case = services.report_submit(
                user=request.user, category=request.POST.get("category", ""),
                description=request.POST.get("description", ""), lon=_float(request.POST.get("lon")),
                lat=_float(request.POST.get("lat")), address=request.POST.get("address", ""),
                photos=request.FILES.getlist("photos"), request_id=request_id_of(request))
        except NotFound:
            raise
        except ApplicationError as exc:
            if exc.code == "permission_denied":
                raise
            error, field, status = exc.message, exc.field or "", 400
        else:
            return redirect("portal:report", case_id=case.pk)
    categories = [(node.category, node.children) for node in category_tree()]
    return render(request, "portal/report_new.html", {
        "categories": categories, "error": error, "error_field": field, "values": request.POST,
        **report_place_context(request)}, status=status)


@resident_view
@require_http_methods(["GET"])
def report(request: ResidentRequest, case_id: int) -> HttpResponse:
    case = selectors.report_get_for_user(user=request.user, case_id=case_id)
    return render(request, "portal/report.html", {
        "case": case, "steps": selectors.report_public_timeline(case=case),
        "photos": selectors.report_photos(case=case),
        "can_rate": case.status == CaseStatus.CLOSED and case.satisfaction is None,
    })


@resident_view
@require_POST
def report_rate(request: ResidentRequest, case_id: int) -> HttpResponse:
    value = request.POST.get("satisfaction", "")
    try:
        services.report_rate(user=request.user, case_id=case_id, satisfaction=int(value) if value.isdigit() else 0,
                             note=request.POST.get("note", "")[:200], request_id=request_id_of(request))
    except NotFound:
        raise
    except ApplicationError:
        pass  # the page shows the case as it is (still to rate)
    return redirect("portal:report", case_id=case_id)


@resident_view
@require_http_methods(["GET"])
def report_photo(request: ResidentRequest, photo_id: int) -> FileResponse:
    photo = selectors.report_photo_for_user(user=request.user, photo_id=photo_id)
    return stored_file_response(photo.file.open("rb"), content_type=photo.content_type,
                                filename=f"report-photo-{photo.pk}")


# --- services and applications ------------------------------------------------------------


@resident_view
@require_http_methods(["GET"])
def services_index(request: ResidentRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    answer = item_answer(query) if query else None
    return render(request, "portal/services.html", {
        "query": query, "answer": answer, "items": [] if query else list(item_list()[:100])})


def _prefill(person: Any, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The resident's own registry values, ID and phone masked (restored on submission)."""
    values: dict[str, Any] = {}
    if person is None:
        return values
    for f in fields:
        source = f.get("prefill")
        value = {"person.name": person.name, "person.id_number": person.id_number_masked,
                 "person.phone": person.phone_masked}.get(source or "")
        if source == "person.birth_date" and person.birth_date:
            value = person.birth_date.isoformat()
        if value:
            values[f["key"]] = value
    return values


@resident_view
@require_http_methods(["GET", "POST"])
def apply(request: ResidentRequest, item_id: int) -> HttpResponse:
    item = item_get(item_id=item_id)
    version = item.current_version
    if version is None:
        raise NotFound()
    profile = selectors.profile_for_user(user=request.user)
    person = profile.person if profile is not None else None
    fields = list(form_fields(version.form))
    values = _prefill(person, fields)
    error, status = "", 200
    if request.method == "POST":
        data: dict[str, Any] = {}
        files: dict[str, list[Any]] = {}
        for f in fields:
            if f["type"] == "upload":
                if request.FILES.getlist(f["key"]):
                    files[f["key"]] = request.FILES.getlist(f["key"])
            elif f["type"] == "multiselect":
                data[f["key"]] = request.POST.getlist(f["key"])
            elif f["type"] == "boolean":
                data[f["key"]] = "true" if request.POST.get(f["key"]) in {"true", "on", "1"} else "false"
            else:
                data[f["key"]] = request.POST.get(f["key"], "").strip()
        values.update({k: v for k, v in data.items() if isinstance(v, str)})
        try:
            application, _created = services.application_file(
                user=request.user, version=version, data=data, files=files,
                idempotency_key=request.POST.get("key", "")[:64], request_id=request_id_of(request))
        except NotFound:
            raise
        except ApplicationError as exc:
            if exc.code == "permission_denied":
                raise
            error, status = exc.message, 400
        else:
            return redirect("portal:application", application_id=application.pk)
    return render(request, "portal/apply.html", {
        "item": item, "version": version, "fields": fields, "values": values, "error": error,
        "key": uuid.uuid4().hex, "bound": profile is not None and profile.status == ProfileStatus.BOUND,
    }, status=status)


@resident_view
@require_http_methods(["GET"])
def applications(request: ResidentRequest) -> HttpResponse:
    return render(request, "portal/applications.html", {
        "applications": list(selectors.applications_for_user(user=request.user)[:selectors.LIST_LIMIT])})


@resident_view
@require_http_methods(["GET"])
def application(request: ResidentRequest, application_id: int) -> HttpResponse:
    app = selectors.application_for_user(user=request.user, application_id=application_id)
    return render(request, "portal/application.html", {
        "application": app, "events": application_timeline(application=app),
        "correction": hall_selectors.correction_request_of(application=app)})


# --- notices -----------------------------------------------------------------------------


@resident_view
@require_http_methods(["GET"])
def notices(request: ResidentRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in NoticeKind.values else ""
    query, period = request.GET.get("q", "")[:50], request.GET.get("period", "")[:20]
    return render(request, "portal/notices.html", {
        "notices": list(selectors.notices_for_user(user=request.user, kind=kind, query=query,
                                                   period=period)[:selectors.LIST_LIMIT]),
        "kinds": NoticeKind.choices, "kind": kind, "query": query, "period": period,
        "periods": selectors.notice_periods_for_user(user=request.user, kind=kind) if kind else [],
    })


@resident_view
@require_http_methods(["GET"])
def notice(request: ResidentRequest, notice_id: int) -> HttpResponse:
    item = selectors.notice_get_for_user(user=request.user, notice_id=notice_id)
    services.notice_mark_read(user=request.user, notice=item)
    return render(request, "portal/notice.html", {"notice": item, "attachments": list(item.attachments.all())})


@resident_view
@require_http_methods(["GET"])
def notice_file(request: ResidentRequest, attachment_id: int) -> FileResponse:
    attachment = selectors.notice_attachment_for_user(user=request.user, attachment_id=attachment_id)
    return stored_file_response(open_stored(attachment.file), content_type=attachment.content_type,
                                filename=attachment.original_name, download=True)



# --- household heads invite members -----------------------------------------------------------


@resident_view
@require_POST
def member_invite(request: ResidentRequest) -> HttpResponse:
    person = request.POST.get("person", "")
    try:
        services.member_invite(user=request.user, person_id=int(person) if person.isdigit() else 0,
                               phone=request.POST.get("phone", ""))
    except NotFound:
        raise
    except ApplicationError as exc:
        if exc.code == "permission_denied":
            raise
        return render(request, "portal/household.html", {**_household_context(request), "invite_error": exc.message},
                      status=429 if exc.status == 429 else 400)
    return render(request, "portal/household.html", {**_household_context(request), "invited": True})


# --- yearly living certification -------------------------------------------------------------


@resident_view
@require_http_methods(["GET", "POST"])
def certification(request: ResidentRequest) -> HttpResponse:
    """This year's certifications of the household's holders of pension-type benefits; a
    resident certifies themselves or a member of their own household (anyone else: 404)."""
    error, status = "", 200
    if request.method == "POST":
        person = request.POST.get("person", "")
        person_id = int(person) if person.isdigit() and len(person) < 12 else None
        try:
            if request.POST.get("visit"):
                services.certification_visit_request(user=request.user, person_id=person_id)
            else:
                photo = request.FILES.get("photo")
                if photo is None:
                    raise ValidationFailed("photo", _("请拍摄或选择一张本人照片"))
                services.certification_face(user=request.user, photo=photo, person_id=person_id)
        except NotFound:
            raise
        except ApplicationError as exc:
            if exc.code == "permission_denied":
                raise
            error, status = exc.message, 400
        else:
            return redirect("portal:certification")
    return render(request, "portal/certification.html", {
        "due": selectors.certifications_due_for_user(user=request.user),
        "face": face_configured(), "error": error, "attempts_max": FACE_ATTEMPTS_MAX}, status=status)
