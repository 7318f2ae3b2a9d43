"""Every read of the notify app. A user's inbox is their own rows only; the outbox (dead
letters, delivery states) is for the district administrator."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count, QuerySet

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.notify.choices import DeliveryState
from linli.notify.models import Delivery, Notification, Preference, UnreadCounter


def unread_count(*, user_id: int) -> int:
    """The bell: one counter row, kept by the services (see ``UnreadCounter``). Plain SQL:
    on every staff page, the ORM's query compilation was most of its cost."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT unread FROM {UnreadCounter._meta.db_table} WHERE user_id = %s", [user_id])  # noqa: S608
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class InboxFilters:
    unread: bool = False
    event_prefix: str = ""  # "case", "application", "fusion", "accounts"


def inbox_for_user(*, user: User, filters: InboxFilters | None = None) -> QuerySet[Notification]:
    filters = filters or InboxFilters()
    rows = Notification.objects.filter(recipient=user)
    if filters.unread:
        rows = rows.filter(read_at__isnull=True)
    if filters.event_prefix:
        rows = rows.filter(event_type__startswith=f"{filters.event_prefix}.")
    return rows.order_by("-created_at", "-id")


def may_operate_outbox(user: User) -> bool:
    return user.is_active and (user.role == Role.DISTRICT_ADMIN or user.is_superuser)


def deliveries_for_operator(*, user: User, state: str = DeliveryState.DEAD) -> QuerySet[Delivery]:
    """Dead letters (or another state) for the district administrator; nobody else sees any."""
    if not may_operate_outbox(user):
        return Delivery.objects.none()
    return Delivery.objects.filter(state=state).select_related("notification", "notification__recipient")


def outbox_figures() -> dict[str, int]:
    return {row["state"]: row["n"] for row in Delivery.objects.values("state").annotate(n=Count("id"))}


def preference_of(*, user: User) -> Preference | None:
    """The user's own notification preferences (None: the defaults)."""
    return Preference.objects.filter(user=user).first()


def push_public_key() -> str | None:
    """The VAPID public key browsers subscribe with, or None when Web Push cannot reach a
    browser here: the channel is not ``vapid`` or the private key is missing or unreadable."""
    conf = dict(getattr(settings, "LINLI_NOTIFY", {}))
    private_key = conf.get("LINLI_NOTIFY_VAPID_PRIVATE_KEY", "").strip()
    if conf.get("LINLI_NOTIFY_WEBPUSH", "console") != "vapid" or not private_key:
        return None
    from linli.notify.channels.webpush import public_key_of  # pywebpush only when configured

    try:
        return public_key_of(private_key)
    except Exception:  # any unreadable key means "not configured"; the relay names it at start
        return None
