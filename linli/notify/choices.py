"""Enumerations of the notify app (通知): channels, delivery states, levels."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Where a notification goes. The in-app inbox is the notification row itself."""

    INAPP = "inapp", _("站内")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信")
    WEBPUSH = "webpush", _("浏览器推送")
    EMAIL = "email", _("电子邮件")


# Channels a relay delivers (everything but the inbox).
OUTBOUND: tuple[str, ...] = (Channel.SMS, Channel.WECHAT, Channel.WEBPUSH, Channel.EMAIL)


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("失败待重试")
    DEAD = "dead", _("死信")


class Level(models.TextChoices):
    """How urgent: emergencies and level-1 alarms ignore quiet hours."""

    NORMAL = "normal", _("普通")
    LEVEL1 = "level1", _("一级")
    EMERGENCY = "emergency", _("紧急")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("中文")
    EN = "en", _("英文")


class NotifyErrorCode(models.TextChoices):
    UNKNOWN_VARIABLE = "unknown_variable", _("模板含未知变量")
    MISSING_VARIABLE = "missing_variable", _("缺少模板变量")
    UNKNOWN_EVENT = "unknown_event", _("未知通知类型")
    NOT_DEAD = "not_dead", _("不是死信")
