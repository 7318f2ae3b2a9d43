"""Notifications (the in-app inbox and the outbox), their deliveries per channel, the
wording per event type, and what each user wants (channels, addresses, quiet hours).

A :class:`Notification` is written in the transaction of the business change that causes
it; its :class:`Delivery` rows are the outbox the relay (``linli notify relay``) works off.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.models import OneLabelDisplay, TimeStampedModel
from linli.notify.choices import Channel, DeliveryState, Language, Level

PII_ADDRESS = "notify.address"


class Notification(OneLabelDisplay, models.Model):
    """One message to one user about one event; the row is the user's inbox entry.

    No ``updated_at``: only ``read_at`` ever changes (kept narrow: the unread count is the
    hottest read of every staff page)."""

    # Empty for a message to an address only (an applicant at the window has a phone, no account).
    # No index of its own: the dedup, unread and inbox indexes all lead with it, and every
    # index is written once per recipient of a broadcast.
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE,
                                  null=True, blank=True, related_name="notifications", db_index=False)
    event_type = models.CharField(_("类型"), max_length=48)
    level = models.CharField(_("级别"), max_length=16, choices=Level.choices, default=Level.NORMAL)
    # What it is about: a label such as "cases.Case" and the id, plus the page to open.
    object_type = models.CharField(_("对象类型"), max_length=48, blank=True)
    object_id = models.CharField(_("对象"), max_length=64, blank=True)
    link = models.CharField(_("链接"), max_length=300, blank=True)
    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("内容"))
    variables = models.JSONField(_("变量"), default=dict, blank=True)
    # The business event's own key: the same event enqueued twice makes one notification.
    dedup_key = models.CharField(_("去重键"), max_length=120)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    # A default, not auto_now_add: the business change's own moment (and migrated rows) keep theirs.
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["recipient", "dedup_key"], name="notify_notification_dedup"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # The bell: COUNT(*) of one user's unread rows, an index-only range scan. read_at is
            # in the key although always NULL here: SQLite's planner otherwise preferred the
            # inbox index and read 100,000 rows of a busy user (60 ms instead of 0.3 ms).
            models.Index(fields=["recipient", "read_at"], condition=Q(read_at__isnull=True),
                         name="notify_unread_idx"),
            models.Index(fields=["recipient", "-created_at"], name="notify_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.recipient_id}"


class UnreadCounter(models.Model):
    """A user's number of unread notifications, kept in the transaction of every insert and
    mark-read (``services``): the bell reads one row. Counting index entries grew with the
    unread rows (all 100,000 unread: 60 ms p99 on a loaded machine against a 5 ms goal).
    Changed by the number of rows each statement touched, never set, so concurrent inserts
    and mark-reads add up; ``unread_counters_rebuild`` recounts it from the rows."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE,
                                related_name="+")
    unread = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("未读计数")
        verbose_name_plural = _("未读计数")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.unread}"


class Delivery(OneLabelDisplay, models.Model):
    """A notification on its way through one outside channel (one row per address)."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    idempotency_key = models.CharField(_("幂等键"), max_length=40, unique=True)
    address_enc = models.TextField(_("地址(密文)"), blank=True)
    address_masked = models.CharField(_("地址"), max_length=64, blank=True)
    state = models.CharField(_("状态"), max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"))
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Set just before the request leaves: a lease that expires with it set may have sent.
    started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    provider_id = models.CharField(_("网关回执"), max_length=120, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    PII_FIELDS: ClassVar[dict[str, str]] = {"address_enc": PII_ADDRESS}

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        verbose_name = _("投递")
        verbose_name_plural = _("投递")
        indexes: ClassVar[list[models.Index]] = [
            # The relay's claim (``WHERE state IN (…) AND channel = ? AND next_attempt_at <= ?
            # ORDER BY next_attempt_at, id LIMIT n``) read in order from the index and stopped
            # at n, whatever the statistics say: due rows only (sent and dead rows, most of the
            # table, are not in it). The plain (state, channel) index it replaces was chosen on a
            # fresh table and sorted every due row for each batch.
            models.Index(fields=["channel", "next_attempt_at", "id"], name="notify_delivery_claim_idx",
                         condition=Q(state__in=["pending", "failed"])),
            models.Index(fields=["lease_until"], name="notify_delivery_lease_idx", condition=Q(state="sending")),
            # The operator's outbox page: retries and dead letters, newest first. Pending and
            # sent rows (nearly all) are not in it, so enqueueing writes no entry here.
            models.Index(fields=["state", "-updated_at"], name="notify_delivery_outbox_idx",
                         condition=Q(state__in=["failed", "dead"])),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.idempotency_key[:8]} {self.state}"


class NotificationTemplate(TimeStampedModel):
    """The district's wording of one event type in one language (else the built-in one)."""

    event_type = models.CharField(_("类型"), max_length=48)
    language = models.CharField(_("语言"), max_length=8, choices=Language.choices)
    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("内容"))
    # The SMS gateway's own template id (Aliyun TemplateCode / Tencent TemplateId).
    sms_template_code = models.CharField(_("短信模板编号"), max_length=64, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["event_type", "language"]
        verbose_name = _("通知模板")
        verbose_name_plural = _("通知模板")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["event_type", "language"], name="notify_template_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} ({self.language})"


class Preference(TimeStampedModel):
    """One user's choices: channels switched off, quiet hours (their wall clock), language."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_preference")
    disabled_channels = models.JSONField(_("关闭的渠道"), default=list, blank=True)
    quiet_start = models.TimeField(_("免打扰开始"), null=True, blank=True)
    quiet_end = models.TimeField(_("免打扰结束"), null=True, blank=True)
    language = models.CharField(_("语言"), max_length=8, choices=Language.choices, default=Language.ZH_HANS)

    class Meta:
        ordering: ClassVar[list[str]] = ["user_id"]
        verbose_name = _("通知偏好")
        verbose_name_plural = _("通知偏好")

    def __str__(self) -> str:
        return str(self.user_id)


class ContactAddress(TimeStampedModel):
    """A user's address on a channel (mobile for SMS, WeChat openid, e-mail), encrypted."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_addresses")
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    address_enc = models.TextField(_("地址(密文)"))
    address_masked = models.CharField(_("地址"), max_length=64, blank=True)

    PII_FIELDS: ClassVar[dict[str, str]] = {"address_enc": PII_ADDRESS}

    class Meta:
        ordering: ClassVar[list[str]] = ["user_id", "channel"]
        verbose_name = _("通知地址")
        verbose_name_plural = _("通知地址")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["user", "channel"], name="notify_address_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.channel}"


class PushSubscription(TimeStampedModel):
    """A browser's Web Push subscription; removed when the push service answers 404/410."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(_("端点"), max_length=500, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=64)

    class Meta:
        ordering: ClassVar[list[str]] = ["user_id", "id"]
        verbose_name = _("推送订阅")
        verbose_name_plural = _("推送订阅")

    def __str__(self) -> str:
        return f"{self.user_id}:{self.pk}"
