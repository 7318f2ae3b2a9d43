"""Web Push from the browser's side: the VAPID public key, saving and deleting the caller's
own subscription (CSRF on, JSON checked field by field), the staff service worker."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from linli.accounts.models import User
from linli.notify.models import PushSubscription

pytestmark = pytest.mark.django_db

KEY_URL = "/notifications/push/key/"
SUB_URL = "/notifications/push/subscription/"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _client(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def _subscription(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc") -> dict[str, Any]:
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": _b64(point), "auth": _b64(b"0123456789abcdef")}}


def _post(client: Client, body: Any, method: str = "post") -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(SUB_URL, data=data, content_type="application/json")


@pytest.fixture
def vapid(settings: Any) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    settings.LINLI_NOTIFY = {
        "LINLI_NOTIFY_WEBPUSH": "vapid", "LINLI_NOTIFY_VAPID_SUBJECT": "mailto:ops@example.cn",
        "LINLI_NOTIFY_VAPID_PRIVATE_KEY": _b64(key.private_numbers().private_value.to_bytes(32, "big")),
    }
    return _b64(key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


def test_the_public_key_is_derived_from_the_private_one(users: Any, vapid: str) -> None:
    answer = _client(users.grid_worker_a1).get(KEY_URL)
    assert answer.status_code == 200
    assert answer.json() == {"public_key": vapid}
    assert len(base64.urlsafe_b64decode(vapid + "=")) == 65


@pytest.mark.parametrize("conf", [
    {"LINLI_NOTIFY_WEBPUSH": "off", "LINLI_NOTIFY_VAPID_PRIVATE_KEY": "x"},
    {"LINLI_NOTIFY_WEBPUSH": "console"},
    {"LINLI_NOTIFY_WEBPUSH": "vapid"},
    {"LINLI_NOTIFY_WEBPUSH": "vapid", "LINLI_NOTIFY_VAPID_PRIVATE_KEY": "not-a-key"},
])
def test_no_key_when_web_push_is_off_or_has_no_usable_key(users: Any, settings: Any, conf: dict[str, str]) -> None:
    settings.LINLI_NOTIFY = conf
    answer = _client(users.grid_worker_a1).get(KEY_URL)
    assert answer.status_code == 404
    assert answer.json()["error"]["field"] == "LINLI_NOTIFY_WEBPUSH"


def test_anonymous_gets_no_key_and_saves_nothing(users: Any, vapid: str) -> None:
    assert Client().get(KEY_URL).status_code == 302
    assert _post(Client(), _subscription()).status_code == 302
    assert not PushSubscription.objects.exists()


def test_a_subscription_is_saved_for_the_caller_and_again_is_one_row(users: Any) -> None:
    client = _client(users.grid_worker_a1)
    body = _subscription()
    assert _post(client, body).status_code == 201
    assert _post(client, body).status_code == 201
    (sub,) = PushSubscription.objects.all()
    assert (sub.user_id, sub.endpoint, sub.p256dh, sub.auth) == (
        users.grid_worker_a1.pk, body["endpoint"], body["keys"]["p256dh"], body["keys"]["auth"])


def test_csrf_is_checked(users: Any) -> None:
    client = _client(users.grid_worker_a1, csrf=True)
    assert _post(client, _subscription()).status_code == 403
    assert _post(client, {"endpoint": "https://x.example/1"}, method="delete").status_code == 403
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ("{not json", "body"),
    ([1, 2], "body"),
    ({"keys": {}}, "endpoint"),
    ({"endpoint": "ftp://push.example/1", "keys": {"p256dh": "x", "auth": "y"}}, "keys.p256dh"),
    ({"endpoint": "https://push.example/1"}, "keys"),
    ({"endpoint": "https://push.example/1", "keys": {"p256dh": _b64(b"\x04" * 64), "auth": _b64(b"a" * 16)}}, "keys.p256dh"),
    ({"endpoint": "https://push.example/1", "keys": {"p256dh": "a b", "auth": _b64(b"a" * 16)}}, "keys.p256dh"),
    ({"endpoint": "https://push.example/1", "keys": {"p256dh": _b64(b"\x04" * 65), "auth": _b64(b"a" * 15)}}, "keys.auth"),
    ({"endpoint": "https://push.example/1", "keys": {"p256dh": _b64(b"\x04" * 65), "auth": 16}}, "keys.auth"),
    ({"endpoint": "ftp://push.example/1", "keys": {"p256dh": _b64(b"\x04" * 65), "auth": _b64(b"a" * 16)}}, "endpoint"),
    ({"endpoint": "https://push.example/" + "a" * 500, "keys": {}}, "endpoint"),
])
def test_bad_input_is_400_naming_the_field(users: Any, body: Any, field: str) -> None:
    answer = _post(_client(users.grid_worker_a1), body)
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == field
    assert not PushSubscription.objects.exists()


def test_a_user_deletes_only_their_own_subscription(users: Any) -> None:
    mine, theirs = _subscription("https://push.example/mine"), _subscription("https://push.example/theirs")
    _post(_client(users.grid_worker_a1), mine)
    _post(_client(users.grid_worker_b1), theirs)
    client = _client(users.grid_worker_a1)
    # another user's endpoint: not found, and still there
    answer = _post(client, {"endpoint": theirs["endpoint"]}, method="delete")
    assert answer.status_code == 404
    assert PushSubscription.objects.filter(endpoint=theirs["endpoint"], user=users.grid_worker_b1).exists()
    assert _post(client, {}, method="delete").json()["error"]["field"] == "endpoint"
    assert _post(client, {"endpoint": mine["endpoint"]}, method="delete").json() == {"deleted": 1}
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [theirs["endpoint"]]


def test_the_staff_worker_handles_push_and_clicks_and_the_field_worker_too(client: Client) -> None:
    for url in ("/notifications/sw.js", "/field/sw.js"):
        worker = client.get(url)
        assert worker.status_code == 200
        assert worker["Content-Type"].startswith("application/javascript")
        text = worker.content.decode()
        assert 'addEventListener("push"' in text
        assert 'addEventListener("notificationclick"' in text
        assert "{%" not in text
    staff = client.get("/notifications/sw.js").content.decode()
    assert 'addEventListener("fetch"' not in staff  # staff pages never come from a cache


def test_the_preferences_page_offers_this_browser(users: Any) -> None:
    page = _client(users.grid_worker_a1).get("/notifications/preferences/").content.decode()
    assert 'data-testid="push-on"' in page
    assert 'data-sw="/notifications/sw.js"' in page
    assert 'data-scope="/notifications/"' in page
    assert "notify/push.js" in page
