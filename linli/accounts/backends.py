"""Authentication backend: login throttling first, then the password; role-based admin.

Django's admin asks the backend for permissions such as ``geo.change_area``; they follow from
the user's role (``workflow.ADMIN_APP_ACTIONS``), so no per-user permission rows are needed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from linli.accounts import services
from linli.accounts.devices import COOKIE, device_of
from linli.accounts.models import User
from linli.accounts.selectors import login_wait
from linli.accounts.workflow import (
    LoginClient,
    login_source,
    login_username,
    role_admin_apps,
    role_grants_django_perm,
)


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address; behind ``LINLI_TRUSTED_PROXIES`` reverse proxies, from X-Forwarded-For.

    Without this, every client behind nginx would share 127.0.0.1 and one IP throttle.
    Only the hops our own proxies appended are trusted; anything left of them is client-made.
    """
    if request is None:
        return None
    remote: str | None = request.META.get("REMOTE_ADDR")
    proxies = int(getattr(settings, "LINLI_TRUSTED_PROXIES", 0))
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < proxies:
        return remote
    hop: str = hops[-proxies]
    return hop


def login_client(request: HttpRequest | None, username: str) -> LoginClient:
    """Who is trying to log in as ``username``: address, source and known device (if the
    browser holds a valid device cookie for that username)."""
    name = login_username(username)
    ip = client_ip(request)
    cookie = request.COOKIES.get(COOKIE) if request is not None else None
    return LoginClient(username=name, ip=ip, source=login_source(ip), device=device_of(cookie, name))


class LockoutModelBackend(ModelBackend):
    """The password is checked only for a client that no counter refuses; failures and
    successes are counted per client (``accounts.services.login_failure_record``)."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None,
        password: str | None = None, **kwargs: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        client = login_client(request, username)
        if login_wait(client=client) is not None:
            return None
        request_id: str = getattr(request, "request_id", "")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            services.login_failure_record(client=client, request_id=request_id)
            return None
        services.login_success_record(user=user, client=client, request_id=request_id)
        return user

    def _role(self, user_obj: User | AnonymousUser) -> str | None:
        if not isinstance(user_obj, User) or not user_obj.is_active or not user_obj.is_staff:
            return None
        return user_obj.role

    def has_perm(
        self, user_obj: User | AnonymousUser, perm: str, obj: Any = None,
    ) -> bool:
        role = self._role(user_obj)
        if role is not None and obj is None and role_grants_django_perm(role, perm):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj: User | AnonymousUser, app_label: str) -> bool:
        role = self._role(user_obj)
        if role is not None and app_label in role_admin_apps(role):
            return True
        return super().has_module_perms(user_obj, app_label)
