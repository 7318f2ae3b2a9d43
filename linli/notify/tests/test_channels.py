"""Contract tests: each adapter against the local fake gateway (a real HTTP server), and
the configuration checks at start."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail

from linli.config import ConfigError
from linli.notify.channels.base import OutgoingMessage
from linli.notify.channels.registry import channel_setups
from linli.notify.fake_gateway import FakeGateway
from linli.notify.tests.conftest import gateway_settings
from linli.notify.workflow import Outcome


def _message(address: str = "13800138000", key: str = "k" * 40, **kw: Any) -> OutgoingMessage:
    base: dict[str, Any] = {"idempotency_key": key, "address": address, "title": "事件派遣", "body": "事件AJ-1已派遣给您",
            "event_type": "case.dispatched", "variables": {"number": "AJ-1"}, "variable_order": ("number",),
            "link": "/cases/1/"}
    base.update(kw)
    return OutgoingMessage(**base)


def test_aliyun_sendsms_is_signed_and_carries_template_and_outid(fake, settings):
    sms = channel_setups(gateway_settings(fake, sms="aliyun"))["sms"].adapter
    result = sms.send(_message(template_code="SMS_1001"))
    assert result.outcome == Outcome.SENT
    assert result.provider_id.startswith("biz-")
    (entry,) = fake.recorder.entries
    assert entry["api"] == "aliyun"
    assert (entry["to"], entry["template"], entry["params"], entry["key"]) == (
        "13800138000", "SMS_1001", {"number": "AJ-1"}, "k" * 40)


def test_aliyun_with_a_wrong_secret_is_a_permanent_failure(fake):
    conf = gateway_settings(fake, sms="aliyun", LINLI_NOTIFY_SMS_KEY_SECRET="wrong")
    result = channel_setups(conf)["sms"].adapter.send(_message())
    assert result.outcome == Outcome.PERMANENT
    assert "SignatureDoesNotMatch" in result.error


def test_aliyun_illegal_number_is_permanent_and_an_outage_is_retried(fake):
    sms = channel_setups(gateway_settings(fake, sms="aliyun"))["sms"].adapter
    assert sms.send(_message(address="123")).outcome == Outcome.PERMANENT
    fake.recorder.faults.fail_every = 1
    result = sms.send(_message())
    assert result.outcome == Outcome.RETRY
    assert not fake.recorder.delivered_keys()


def test_tencent_sendsms_tc3_signature_and_session_context(fake):
    sms = channel_setups(gateway_settings(fake, sms="tencent"))["sms"].adapter
    result = sms.send(_message(template_code="1234567"))
    assert result.outcome == Outcome.SENT
    (entry,) = fake.recorder.entries
    assert (entry["api"], entry["to"], entry["template"], entry["params"], entry["key"]) == (
        "tencent", "+8613800138000", "1234567", ["AJ-1"], "k" * 40)


def test_tencent_wrong_key_is_an_auth_failure(fake):
    conf = gateway_settings(fake, sms="tencent", LINLI_NOTIFY_SMS_KEY_SECRET="wrong")
    result = channel_setups(conf)["sms"].adapter.send(_message())
    assert result.outcome == Outcome.PERMANENT
    assert "AuthFailure" in result.error


def test_a_gateway_that_does_not_answer_in_time_is_an_unknown_outcome(fake):
    sms = channel_setups(gateway_settings(fake, sms="tencent"))["sms"].adapter
    fake.recorder.faults.slow_every, fake.recorder.faults.slow_seconds = 1, 2.0
    assert sms.send(_message()).outcome == Outcome.UNKNOWN
    assert fake.recorder.delivered_keys() == ["k" * 40]  # it did go out: hence "unknown"


def test_wechat_subscribe_message_gets_a_token_then_sends(fake):
    wechat = channel_setups(gateway_settings(fake))["wechat"].adapter
    assert wechat.send(_message(address="o-openid-1")).outcome == Outcome.SENT
    (entry,) = fake.recorder.entries
    assert entry["to"] == "o-openid-1"
    assert entry["data"]["thing1"]["value"] == "事件派遣"
    assert wechat.send(_message(address="refused")).outcome == Outcome.PERMANENT


def test_wechat_bad_app_secret_is_retried_not_lost(fake):
    wechat = channel_setups(gateway_settings(fake, LINLI_NOTIFY_WECHAT_APP_SECRET="x"))["wechat"].adapter
    assert wechat.send(_message(address="o-1")).outcome == Outcome.RETRY


def _subscription(fake: FakeGateway, path: str) -> str:
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    return json.dumps({"endpoint": f"{fake.url}{path}",
                       "keys": {"p256dh": base64.urlsafe_b64encode(public).decode().rstrip("="),
                                "auth": base64.urlsafe_b64encode(b"0123456789abcdef").decode().rstrip("=")}})


def _vapid_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_web_push_is_vapid_signed_and_encrypted_and_410_means_gone(fake):
    conf = gateway_settings(fake, LINLI_NOTIFY_WEBPUSH="vapid", LINLI_NOTIFY_VAPID_PRIVATE_KEY=_vapid_key(),
                            LINLI_NOTIFY_VAPID_SUBJECT="mailto:ops@example.org")
    push = channel_setups(conf)["webpush"].adapter
    assert push.send(_message(address=_subscription(fake, "/push/a"))).outcome == Outcome.SENT
    (entry,) = fake.recorder.entries
    assert entry["api"] == "webpush"
    assert entry["key"] == ("k" * 32)
    fake.recorder.gone.add("/push/b")
    assert push.send(_message(address=_subscription(fake, "/push/b"))).outcome == Outcome.GONE
    too_long = _message(address=_subscription(fake, "/push/a"), body="长" * 1500)
    assert push.send(too_long).outcome == Outcome.PERMANENT


def test_email_goes_through_django_with_the_key_as_message_id(settings, fake):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    email = channel_setups(gateway_settings(fake))["email"].adapter
    assert email.send(_message(address="wang@example.org")).outcome == Outcome.SENT
    assert mail.outbox[0].to == ["wang@example.org"]
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<{'k' * 40}@linli>"


def test_console_adapter_writes_one_json_line_per_message(tmp_path):
    path = tmp_path / "out.jsonl"
    setups = channel_setups({"LINLI_NOTIFY_CONSOLE_FILE": str(path)})
    assert set(setups) == {"sms", "wechat", "webpush", "email"}
    assert setups["sms"].adapter.send(_message()).outcome == Outcome.SENT
    line = json.loads(path.read_text(encoding="utf-8"))
    assert (line["channel"], line["key"], line["body"]) == ("sms", "k" * 40, "事件AJ-1已派遣给您")


@pytest.mark.parametrize(("values", "variable"), [
    ({"LINLI_NOTIFY_SMS": "aliyun"}, "LINLI_NOTIFY_SMS_KEY_ID"),
    ({"LINLI_NOTIFY_SMS": "tencent", "LINLI_NOTIFY_SMS_KEY_ID": "a", "LINLI_NOTIFY_SMS_KEY_SECRET": "b",
      "LINLI_NOTIFY_SMS_SIGN_NAME": "c"}, "LINLI_NOTIFY_SMS_APP_ID"),
    ({"LINLI_NOTIFY_SMS": "yunpian"}, "LINLI_NOTIFY_SMS"),
    ({"LINLI_NOTIFY_WECHAT": "wechat"}, "LINLI_NOTIFY_WECHAT_APP_ID"),
    ({"LINLI_NOTIFY_WEBPUSH": "vapid"}, "LINLI_NOTIFY_VAPID_PRIVATE_KEY"),
    ({"LINLI_NOTIFY_SMS_RATE": "fast"}, "LINLI_NOTIFY_SMS_RATE"),
    ({"LINLI_NOTIFY_SMS": "aliyun", "LINLI_NOTIFY_SMS_ENDPOINT": "dysmsapi"}, "LINLI_NOTIFY_SMS_ENDPOINT"),
    ({"LINLI_NOTIFY_IDEMPOTENT_GATEWAYS": "fax"}, "LINLI_NOTIFY_IDEMPOTENT_GATEWAYS"),
])
def test_a_misconfigured_channel_names_the_setting(values, variable):
    with pytest.raises(ConfigError) as err:
        channel_setups(values)
    assert variable in str(err.value)
