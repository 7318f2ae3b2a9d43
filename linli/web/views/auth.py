"""Login and logout of the staff workbench (sessions only; API keys are API-only)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from linli.accounts.models import User
from linli.accounts.services import login_locked_until
from linli.web.access import can_use_workbench
from linli.web.forms import LoginForm


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure(),
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _locked_message(until: datetime) -> str:
    return _("账号已临时锁定,请在 %(time)s 后重试") % {
        "time": timezone.localtime(until).strftime("%H:%M"),
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
    if form.is_valid():
        username = form.cleaned_data["username"]
        locked = login_locked_until(username=username)
        if locked is not None:
            error = _locked_message(locked)
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if isinstance(user, User) and can_use_workbench(user):
                login(request, user)
                return HttpResponseRedirect(_safe_next(request))
            if user is not None:
                error = _("该账号不能登录工作台,请使用居民服务入口。")
            else:
                # This very failure may be the one that locks the account.
                locked = login_locked_until(username=username)
                error = _locked_message(locked) if locked else _("用户名或密码错误")
    elif request.method == "POST":
        error = _("请输入用户名和密码。")
    return render(request, "web/login.html", {
        "form": form, "error": error,
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "lockout_failures": settings.LINLI_LOCKOUT_FAILURES,
        "lockout_minutes": settings.LINLI_LOCKOUT_MINUTES,
    })


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)
