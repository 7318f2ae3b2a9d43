"""Background work of the catalogue: notifying applicants, sweeping overdue applications.

The SMS gateway is outside linli: ``LINLI_SMS_SENDER`` names a class with
``send(phone, message)``; the default only logs, and :class:`MemorySender` is the test
double (like Django's locmem e-mail backend).
"""

from __future__ import annotations

import logging
from typing import ClassVar, Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

from linli.catalogue.choices import NotificationStatus
from linli.catalogue.models import Notification
from linli.core import pii

logger = logging.getLogger(__name__)
DEFAULT_SENDER = "linli.catalogue.tasks.LogSender"


class SmsSender(Protocol):
    def send(self, phone: str, message: str) -> None: ...


class LogSender:
    """Writes the notice to the log (phone masked); for installations without a gateway."""

    def send(self, phone: str, message: str) -> None:
        logger.info("sms to %s: %s", pii.mask_phone(phone), message)


class MemorySender:
    """Test double: keeps (phone, message) pairs in ``outbox``."""

    outbox: ClassVar[list[tuple[str, str]]] = []

    def send(self, phone: str, message: str) -> None:
        self.outbox.append((phone, message))


def get_sender() -> SmsSender:
    sender_class = import_string(getattr(settings, "LINLI_SMS_SENDER", DEFAULT_SENDER))
    sender: SmsSender = sender_class()
    return sender


def notification_deliver(notification: Notification) -> Notification:
    """Send one pending notice and record the outcome; a failure is recorded, not raised."""
    if notification.status != NotificationStatus.PENDING:
        return notification
    if not notification.phone_enc:
        notification.status = NotificationStatus.SKIPPED
    else:
        try:
            phone = pii.decrypt(notification.phone_enc, field="notification.phone")
            get_sender().send(phone, notification.message)
        except Exception as exc:  # any gateway failure is recorded, not raised
            notification.status = NotificationStatus.FAILED
            notification.error = type(exc).__name__[:200]
        else:
            notification.status = NotificationStatus.SENT
            notification.sent_at = timezone.now()
    notification.save(update_fields=["status", "error", "sent_at", "updated_at"])
    return notification


@task()
def application_notify(notification_id: int) -> str:
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None:
        return "missing"
    return str(notification_deliver(notification).status)


@task()
def application_overdue_sweep_task() -> int:
    from linli.catalogue.services import application_overdue_sweep  # services import tasks

    return application_overdue_sweep(now=timezone.now())
