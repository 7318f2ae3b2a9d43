"""Login, lockout, logout and language of the staff workbench."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from conftest import Users, make_user
from linli.accounts.choices import Role
from linli.accounts.devices import COOKIE
from linli.accounts.models import SecurityNotice
from linli.notify.models import Notification

PASSWORD = "Linli-test-2026"


@pytest.mark.django_db
def test_login_page_is_in_chinese_with_csrf_token(client: Client) -> None:
    # when
    response = client.get(reverse("web:login"))
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert "登录工作台" in body
    assert 'data-testid="login-form"' in body
    assert "csrfmiddlewaretoken" in body
    assert '<html lang="zh-hans">' in body


def test_anonymous_user_is_sent_to_login_with_next(client: Client, users: Users) -> None:
    # when
    response = client.get(reverse("web:search"))
    # then
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('web:login')}?next={reverse('web:search')}"


def test_right_password_logs_in_and_follows_next(client: Client, users: Users) -> None:
    # when
    response = client.post(reverse("web:login"), {
        "username": "cs_a", "password": PASSWORD, "next": reverse("web:areas"),
    })
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("web:areas")
    assert client.get(reverse("web:areas")).status_code == 200


def test_next_pointing_off_site_is_ignored(client: Client, users: Users) -> None:
    # when
    response = client.post(reverse("web:login"), {
        "username": "cs_a", "password": PASSWORD, "next": "https://evil.example/",
    })
    # then
    assert response["Location"] == reverse("web:home")


def test_wrong_password_shows_one_message_for_user_and_password(client: Client, users: Users) -> None:
    # when
    wrong_password = client.post(reverse("web:login"), {"username": "cs_a", "password": "nope"})
    unknown_user = client.post(reverse("web:login"), {"username": "nobody", "password": "nope"})
    # then
    for response in (wrong_password, unknown_user):
        assert response.status_code == 200
        assert "用户名或密码错误" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_fifth_failure_says_too_many_attempts_not_wrong_password(client: Client, users: Users) -> None:
    # given
    for _ in range(4):
        assert "用户名或密码错误" in client.post(reverse("web:login"), {"username": "gw_a1", "password": "wrong"}).content.decode()
    # when
    fifth = client.post(reverse("web:login"), {"username": "gw_a1", "password": "wrong"})
    right_password = client.post(reverse("web:login"), {"username": "gw_a1", "password": PASSWORD})
    # then
    for response in (fifth, right_password):
        body = response.content.decode()
        assert response.status_code == 429
        assert "尝试次数过多，请稍后再试" in body
        assert "用户名或密码错误" not in body
    assert "_auth_user_id" not in client.session


def test_a_login_leaves_a_device_cookie_that_keeps_the_user_in_while_others_guess(users: Users) -> None:
    # given the user's own browser logged in once and out again
    own = Client()
    first = own.post(reverse("web:login"), {"username": "gw_a1", "password": PASSWORD})
    device = first.cookies[COOKIE]
    assert device["httponly"]
    assert device["samesite"] == "Lax"
    own.post(reverse("web:logout"))
    # and an attacker's browser (no cookie) guessing until it must wait
    attacker = Client()
    for _ in range(6):
        attacker.post(reverse("web:login"), {"username": "gw_a1", "password": "guess"})
    assert "尝试次数过多" in attacker.post(reverse("web:login"), {"username": "gw_a1", "password": PASSWORD}).content.decode()
    # when the user logs in from their own browser, from the same address
    again = own.post(reverse("web:login"), {"username": "gw_a1", "password": PASSWORD})
    # then
    assert again.status_code == 302
    assert own.session["_auth_user_id"] == str(users.grid_worker_a1.pk)


def test_the_user_and_the_administrator_find_the_notice_in_their_inbox(client: Client, users: Users) -> None:
    # given enough failures from unknown clients to hold up the username everywhere
    for n in range(4):
        for _ in range(5):
            Client(REMOTE_ADDR=f"10.5.{n}.1").post(reverse("web:login"), {"username": "gw_a1", "password": "x"})
    # when the user and the administrator open their notifications
    client.force_login(users.grid_worker_a1)
    mine = client.get(reverse("notify:inbox")).content.decode()
    admin = Client()
    admin.force_login(users.district_admin)
    theirs = admin.get(reverse("notify:inbox")).content.decode()
    # then each reads what happened there, and the home page no longer keeps a list of its own
    assert "账号登录受限" in mine
    assert "账号gw_a1因多次登录失败被暂时限制" in mine
    assert "账号gw_a1从未登录过的设备累计输错密码20次" in theirs
    assert "账号登录受限" not in theirs
    assert "security-notice" not in client.get(reverse("web:home")).content.decode()
    # accounts still keeps its record of each notice (one an hour per subject)
    assert SecurityNotice.objects.filter(recipient=users.grid_worker_a1).count() == 1
    assert SecurityNotice.objects.filter(recipient=users.district_admin).count() == 1
    # when the user marks theirs read in the inbox, the bell counts it; the administrator's stays unread
    mine_id = Notification.objects.get(recipient=users.grid_worker_a1).pk
    client.post(reverse("notify:read", args=[mine_id]))
    assert not Notification.objects.filter(recipient=users.grid_worker_a1, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=users.district_admin, read_at__isnull=True).count() == 1


def test_resident_cannot_log_in_to_the_workbench(client: Client, users: Users) -> None:
    # given
    make_user("resident1", Role.RESIDENT)
    # when
    response = client.post(reverse("web:login"), {"username": "resident1", "password": PASSWORD})
    # then: sent to the residents' portal sign-in, not signed in here
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:login")
    assert "_auth_user_id" not in client.session


def test_logout_is_post_only_and_ends_the_session(client: Client, users: Users) -> None:
    # given
    client.force_login(users.community_a)
    # when
    by_get = client.get(reverse("web:logout"))
    by_post = client.post(reverse("web:logout"))
    # then
    assert by_get.status_code == 405
    assert by_post.status_code == 302
    assert by_post["Location"] == reverse("web:login")
    assert client.get(reverse("web:home")).status_code == 302


def test_language_cookie_en_serves_english_html(client: Client, users: Users) -> None:
    # given
    client.force_login(users.community_a)
    client.cookies["django_language"] = "en"
    # when
    response = client.get(reverse("web:areas"))
    # then
    assert '<html lang="en">' in response.content.decode()


def test_language_switch_posts_to_set_language(client: Client, users: Users) -> None:
    # given
    client.force_login(users.community_a)
    # when
    page = client.get(reverse("web:areas")).content.decode()
    switched = client.post("/i18n/setlang/", {"language": "en", "next": reverse("web:areas")})
    # then
    assert 'action="/i18n/setlang/"' in page
    assert switched.status_code == 302
    assert '<html lang="en">' in client.get(reverse("web:areas")).content.decode()
