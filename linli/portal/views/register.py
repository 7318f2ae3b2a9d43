"""Registration by house and sign-in by code.

The picker is a chain of plain GET forms (community → building → unit → room) so it works
without script; a building's printed QR code opens it at that building. Answers are POSTed
once, the code on the next page; the registration's id waits in the session meanwhile.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from linli.core.errors import ApplicationError, NotFound
from linli.portal import selectors, services
from linli.portal.selectors import is_resident

SESSION_REGISTRATION = "portal_registration"
SESSION_PHONE = "portal_phone"
BACKEND = "linli.accounts.backends.LockoutModelBackend"


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


def _status(error: ApplicationError) -> int:
    return 429 if error.status == 429 else 400


@never_cache
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    community_id, building_id = _int(source.get("community")), _int(source.get("building"))
    unit_id, room_id = _int(source.get("unit")), _int(source.get("room"))
    context: dict[str, object] = {"communities": selectors.community_list(), "values": source}
    status = 200
    try:
        if community_id is not None:
            context["community"] = selectors.community_get(community_id=community_id)
            context["buildings"] = selectors.buildings_of(community_id=community_id)
            if building_id is not None:
                context["building"] = selectors.building_of(community_id=community_id, building_id=building_id)
                context["units"] = selectors.units_of(building_id=building_id)
                if unit_id is not None and any(u.pk == unit_id for u in context["units"]):  # type: ignore[attr-defined]
                    context["unit_id"] = unit_id
                    context["rooms"] = selectors.rooms_of(unit_id=unit_id)
    except NotFound:
        raise Http404 from None
    if request.method == "POST" and community_id is not None and room_id is not None:
        try:
            registration = services.registration_start(
                community_id=community_id, room_id=room_id, name=source.get("name", ""),
                phone=source.get("phone", ""), id_suffix=source.get("id_suffix", ""))
        except ApplicationError as error:
            context["error"], context["error_field"] = error.message, error.field
            status = _status(error)
        else:
            request.session[SESSION_REGISTRATION] = registration.pk
            return redirect("portal:register-code")
    elif request.method == "POST":
        context["error"] = _("请选择房屋")
        status = 400
    return render(request, "portal/register.html", context, status=status)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def register_code(request: HttpRequest) -> HttpResponse:
    registration_id = request.session.get(SESSION_REGISTRATION)
    if not isinstance(registration_id, int):
        return redirect("portal:register")
    error, status = "", 200
    if request.method == "POST":
        try:
            verified = services.registration_verify(registration_id=registration_id,
                                                    code=request.POST.get("code", ""))
        except ApplicationError as error_:
            error, status = error_.message, _status(error_)
        else:
            request.session.pop(SESSION_REGISTRATION, None)
            login(request, verified.user, backend=BACKEND)
            return redirect("portal:home")
    return render(request, "portal/code.html", {"error": error, "action": "register",
                                                "dev": settings.LINLI_ENV == "development"}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if is_resident(request.user):
        return redirect("portal:home")
    error, status = "", 200
    if request.method == "POST":
        phone = request.POST.get("phone", "")
        try:
            services.sign_in_start(phone=phone)
        except ApplicationError as error_:
            error, status = error_.message, _status(error_)
        else:
            request.session[SESSION_PHONE] = phone.strip()[:20]
            return redirect("portal:login-code")
    return render(request, "portal/login.html", {"error": error}, status=status)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    phone = request.session.get(SESSION_PHONE)
    if not isinstance(phone, str):
        return redirect("portal:login")
    error, status = "", 200
    if request.method == "POST":
        try:
            user = services.sign_in_verify(phone=phone, code=request.POST.get("code", ""))
        except ApplicationError as error_:
            error, status = error_.message, _status(error_)
        else:
            request.session.pop(SESSION_PHONE, None)
            login(request, user, backend=BACKEND)
            return redirect("portal:home")
    return render(request, "portal/code.html", {"error": error, "action": "login",
                                                "dev": settings.LINLI_ENV == "development"}, status=status)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest) -> HttpResponse:
    """A member invited by the household head: phone and the code from the SMS."""
    error, status = "", 200
    if request.method == "POST":
        try:
            user = services.invitation_accept(phone=request.POST.get("phone", ""), code=request.POST.get("code", ""))
        except ApplicationError as error_:
            error, status = error_.message, _status(error_)
        else:
            login(request, user, backend=BACKEND)
            return redirect("portal:home")
    return render(request, "portal/invite.html", {"error": error}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:home")


@never_cache
@require_http_methods(["GET"])
def building_entry(request: HttpRequest, building_id: int) -> HttpResponse:
    """Where a building's QR code points: the picker opened at that building."""
    try:
        building = selectors.building_get(building_id=building_id)
    except NotFound:
        raise Http404 from None
    community = selectors.community_of_building(building=building)
    if community is None:
        raise Http404
    return redirect(f"{reverse('portal:register')}?community={community.pk}&building={building.pk}")


@never_cache
@require_http_methods(["GET"])
def dev_codes(request: HttpRequest) -> HttpResponse:
    """Development only: the codes the console SMS channel 'sent' (404 in production)."""
    if settings.LINLI_ENV != "development":
        raise Http404
    return render(request, "portal/dev_codes.html", {"codes": selectors.dev_codes()})
