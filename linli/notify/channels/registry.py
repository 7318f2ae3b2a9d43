"""Which adapter serves each channel, from the LINLI_NOTIFY_* settings, checked at start.

``LINLI_NOTIFY_<CHANNEL>`` picks the adapter (``console`` writes the outbox file, the
default; ``off`` keeps the channel's deliveries pending); each adapter then requires its
own variables, and a missing one stops the relay with a :class:`ConfigError` naming it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from linli.config import ConfigError
from linli.notify.channels.base import Adapter, HttpGateway, Settings
from linli.notify.channels.local import ConsoleFile, DjangoEmail
from linli.notify.channels.sms import ALIYUN_ENDPOINT, TENCENT_ENDPOINT, AliyunSms, TencentSms
from linli.notify.channels.wechat import WECHAT_ENDPOINT, WechatSubscribe
from linli.notify.choices import OUTBOUND

CHOICES: dict[str, tuple[str, ...]] = {
    "sms": ("console", "aliyun", "tencent", "off"),
    "wechat": ("console", "wechat", "off"),
    "webpush": ("console", "vapid", "off"),
    "email": ("console", "django", "off"),
}
DEFAULT_RATES: dict[str, float] = {"sms": 200.0, "wechat": 200.0, "webpush": 500.0, "email": 50.0}


@dataclass(frozen=True)
class ChannelSetup:
    adapter: Adapter
    rate_per_second: float
    idempotent: bool


def _adapter(channel: str, kind: str, conf: Settings, http: HttpGateway) -> Adapter:
    because = f"LINLI_NOTIFY_{channel.upper()}={kind}"
    if kind == "console":
        path = Path(conf.get("LINLI_NOTIFY_CONSOLE_FILE") or Path(settings.DATA_DIR) / "notify-outbox.jsonl")
        return ConsoleFile(name=channel, path=path)
    if kind == "aliyun":
        return AliyunSms(endpoint=conf.url("LINLI_NOTIFY_SMS_ENDPOINT", ALIYUN_ENDPOINT),
                         key_id=conf.require("LINLI_NOTIFY_SMS_KEY_ID", because=because),
                         key_secret=conf.require("LINLI_NOTIFY_SMS_KEY_SECRET", because=because),
                         sign_name=conf.require("LINLI_NOTIFY_SMS_SIGN_NAME", because=because),
                         region=conf.get("LINLI_NOTIFY_SMS_REGION", "cn-hangzhou"), http=http)
    if kind == "tencent":
        return TencentSms(endpoint=conf.url("LINLI_NOTIFY_SMS_ENDPOINT", TENCENT_ENDPOINT),
                          secret_id=conf.require("LINLI_NOTIFY_SMS_KEY_ID", because=because),
                          secret_key=conf.require("LINLI_NOTIFY_SMS_KEY_SECRET", because=because),
                          app_id=conf.require("LINLI_NOTIFY_SMS_APP_ID", because=because),
                          sign_name=conf.require("LINLI_NOTIFY_SMS_SIGN_NAME", because=because),
                          region=conf.get("LINLI_NOTIFY_SMS_REGION", "ap-guangzhou"), http=http)
    if kind == "wechat":
        return WechatSubscribe(endpoint=conf.url("LINLI_NOTIFY_WECHAT_ENDPOINT", WECHAT_ENDPOINT),
                               app_id=conf.require("LINLI_NOTIFY_WECHAT_APP_ID", because=because),
                               app_secret=conf.require("LINLI_NOTIFY_WECHAT_APP_SECRET", because=because),
                               template_id=conf.require("LINLI_NOTIFY_WECHAT_TEMPLATE_ID", because=because),
                               http=http)
    if kind == "vapid":
        from linli.notify.channels.webpush import WebPush  # pywebpush is only needed when used

        return WebPush(private_key=conf.require("LINLI_NOTIFY_VAPID_PRIVATE_KEY", because=because),
                       subject=conf.require("LINLI_NOTIFY_VAPID_SUBJECT", because=because),
                       timeout=http.timeout)
    return DjangoEmail(sender=conf.get("LINLI_NOTIFY_EMAIL_FROM") or settings.DEFAULT_FROM_EMAIL)


def channel_setups(values: dict[str, str] | None = None) -> dict[str, ChannelSetup]:
    """The configured outside channels (``off`` ones left out); raises ConfigError."""
    conf = Settings(dict(getattr(settings, "LINLI_NOTIFY", {})) if values is None else values)
    http = HttpGateway(timeout=conf.number("LINLI_NOTIFY_TIMEOUT_SECONDS", 5.0))
    trusted = {c.strip() for c in conf.get("LINLI_NOTIFY_IDEMPOTENT_GATEWAYS").split(",") if c.strip()}
    unknown = trusted - set(OUTBOUND)
    if unknown:
        raise ConfigError("LINLI_NOTIFY_IDEMPOTENT_GATEWAYS", f"unknown channel {sorted(unknown)[0]!r}")
    setups: dict[str, ChannelSetup] = {}
    for channel in OUTBOUND:
        variable = f"LINLI_NOTIFY_{channel.upper()}"
        kind = conf.get(variable, "console")
        if kind not in CHOICES[channel]:
            raise ConfigError(variable, f"must be one of {', '.join(CHOICES[channel])}, not {kind!r}")
        if kind == "off":
            continue
        adapter = _adapter(channel, kind, conf, http)
        rate = conf.number(f"LINLI_NOTIFY_{channel.upper()}_RATE", DEFAULT_RATES[channel])
        setups[channel] = ChannelSetup(adapter=adapter, rate_per_second=rate,
                                       idempotent=adapter.idempotent or channel in trusted)
    return setups
