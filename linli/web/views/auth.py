"""Login and logout of the staff workbench (sessions only; API keys are API-only)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from linli.accounts.backends import login_client
from linli.accounts.choices import Role
from linli.accounts.devices import COOKIE, device_cookie_after_login, device_cookie_max_age
from linli.accounts.models import User
from linli.accounts.selectors import login_wait
from linli.web.access import can_use_workbench
from linli.web.forms import LoginForm


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure(),
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _throttled_message(until: datetime) -> str:
    # Not "wrong password": while refused, the password was not even checked.
    return _("尝试次数过多，请稍后再试（%(time)s 之后）。") % {
        "time": timezone.localtime(until).strftime("%H:%M:%S"),
    }


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(_safe_next(request))
    form = LoginForm(request.POST if request.method == "POST" else None)
    error = ""
    status = 200
    if form.is_valid():
        client = login_client(request, form.cleaned_data["username"])
        wait = login_wait(client=client)
        if wait is None:
            user = authenticate(request, username=form.cleaned_data["username"],
                                password=form.cleaned_data["password"])
            if isinstance(user, User) and can_use_workbench(user):
                login(request, user)
                response = HttpResponseRedirect(_safe_next(request))
                # This browser is now a known device of the user: failures elsewhere never
                # lock it out (linli/accounts/devices.py).
                response.set_cookie(
                    COOKIE, device_cookie_after_login(request.COOKIES.get(COOKIE), client.username),
                    max_age=device_cookie_max_age(), httponly=True, samesite="Lax",
                    secure=settings.SESSION_COOKIE_SECURE,
                )
                return response
            if isinstance(user, User) and user.role == Role.RESIDENT:
                # Residents sign in to the portal with a code sent to their phone.
                return HttpResponseRedirect(reverse("portal:login"))
            if user is not None:
                error = _("该账号不能登录工作台。")
            else:
                wait = login_wait(client=client)  # this very failure may have started a wait
                error = _("用户名或密码错误")
        if wait is not None:
            error, status = _throttled_message(wait), 429
    elif request.method == "POST":
        error = _("请输入用户名和密码。")
    return render(request, "web/login.html", {
        "form": form, "error": error,
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "lockout_failures": settings.LINLI_LOCKOUT_FAILURES,
    }, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)
