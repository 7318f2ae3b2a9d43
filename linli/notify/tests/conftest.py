"""Fixtures of the notify tests: a running fake gateway and channel settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from linli.notify.fake_gateway import KEY_ID, KEY_SECRET, WECHAT_APP_ID, WECHAT_SECRET, FakeGateway


@pytest.fixture
def fake() -> Iterator[FakeGateway]:
    with FakeGateway() as gateway:
        yield gateway


def gateway_settings(fake: FakeGateway, *, sms: str = "aliyun", **extra: str) -> dict[str, str]:
    values = {
        "LINLI_NOTIFY_SMS": sms,
        "LINLI_NOTIFY_SMS_ENDPOINT": f"{fake.url}/{sms}",
        "LINLI_NOTIFY_SMS_KEY_ID": KEY_ID, "LINLI_NOTIFY_SMS_KEY_SECRET": KEY_SECRET,
        "LINLI_NOTIFY_SMS_SIGN_NAME": "邻里", "LINLI_NOTIFY_SMS_APP_ID": "1400000000",
        "LINLI_NOTIFY_WECHAT": "wechat", "LINLI_NOTIFY_WECHAT_ENDPOINT": f"{fake.url}/wechat",
        "LINLI_NOTIFY_WECHAT_APP_ID": WECHAT_APP_ID, "LINLI_NOTIFY_WECHAT_APP_SECRET": WECHAT_SECRET,
        "LINLI_NOTIFY_WECHAT_TEMPLATE_ID": "tmpl-1",
        "LINLI_NOTIFY_WEBPUSH": "off", "LINLI_NOTIFY_EMAIL": "django",
        "LINLI_NOTIFY_TIMEOUT_SECONDS": "1",
        "LINLI_NOTIFY_SMS_RATE": "10000", "LINLI_NOTIFY_WECHAT_RATE": "10000",
    }
    values.update(extra)
    return values


@pytest.fixture
def notify_settings(settings: Any, fake: FakeGateway) -> dict[str, str]:
    settings.LINLI_NOTIFY = gateway_settings(fake)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return dict(settings.LINLI_NOTIFY)
