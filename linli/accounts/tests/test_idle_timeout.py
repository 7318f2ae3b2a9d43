"""Idle staff sessions end after LINLI_IDLE_TIMEOUT_MINUTES without a request."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path


def whoami(request: HttpRequest) -> HttpResponse:
    user = request.user
    return HttpResponse(user.get_username() if user.is_authenticated else "anonymous")


urlpatterns = [path("whoami/", whoami), path("field/whoami/", whoami)]

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def staff_client(client, users):
    client.force_login(users.street)
    return client


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, LINLI_IDLE_TIMEOUT_MINUTES=30)
def test_session_idle_longer_than_the_limit_is_logged_out(staff_client):
    with time_machine.travel(START, tick=False) as clock:
        # given a request at 09:00
        assert staff_client.get("/whoami/").content == b"street"
        # when the next one comes 31 minutes later
        clock.shift(dt.timedelta(minutes=31))
        response = staff_client.get("/whoami/")
        # then it is anonymous, and stays so
        assert response.content == b"anonymous"
        assert staff_client.get("/whoami/").content == b"anonymous"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, LINLI_IDLE_TIMEOUT_MINUTES=30)
def test_regular_activity_keeps_the_session_alive(staff_client):
    with time_machine.travel(START, tick=False) as clock:
        # given requests every 20 minutes for two hours
        for _ in range(6):
            assert staff_client.get("/whoami/").content == b"street"
            clock.shift(dt.timedelta(minutes=20))
        # then the user is still logged in
        assert staff_client.get("/whoami/").content == b"street"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, LINLI_IDLE_TIMEOUT_MINUTES=5)
def test_limit_comes_from_the_setting(staff_client):
    with time_machine.travel(START, tick=False) as clock:
        staff_client.get("/whoami/")
        clock.shift(dt.timedelta(minutes=6))
        assert staff_client.get("/whoami/").content == b"anonymous"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, LINLI_IDLE_TIMEOUT_MINUTES=30, LINLI_FIELD_IDLE_TIMEOUT_MINUTES=600)
def test_the_phone_app_keeps_a_grid_workers_session_for_the_working_day(client, users):
    client.force_login(users.grid_worker_a1)
    with time_machine.travel(START, tick=False) as clock:
        # given a grid worker in the phone app at 09:00
        assert client.get("/field/whoami/").content == b"gw_a1"
        # when the app is next used at 12:00
        clock.shift(dt.timedelta(hours=3))
        # then the session is still there
        assert client.get("/field/whoami/").content == b"gw_a1"
        # but a desk page after 31 idle minutes keeps the staff rule
        clock.shift(dt.timedelta(minutes=31))
        assert client.get("/whoami/").content == b"anonymous"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, LINLI_IDLE_TIMEOUT_MINUTES=30, LINLI_FIELD_IDLE_TIMEOUT_MINUTES=600)
def test_other_roles_get_the_staff_limit_on_the_phone_apps_paths(staff_client):
    with time_machine.travel(START, tick=False) as clock:
        assert staff_client.get("/field/whoami/").content == b"street"
        clock.shift(dt.timedelta(minutes=31))
        assert staff_client.get("/field/whoami/").content == b"anonymous"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, LINLI_IDLE_TIMEOUT_MINUTES=30, LINLI_FIELD_IDLE_TIMEOUT_MINUTES=600)
def test_the_working_day_ends_too(client, users):
    client.force_login(users.grid_worker_a1)
    with time_machine.travel(START, tick=False) as clock:
        client.get("/field/whoami/")
        clock.shift(dt.timedelta(minutes=601))
        assert client.get("/field/whoami/").content == b"anonymous"
