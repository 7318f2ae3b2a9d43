from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


def _sqlite_functions(sender: Any, connection: Any, **_: Any) -> None:
    """SQLite has no SHA-256: the broadcast's INSERT … SELECT derives each delivery's key
    with ``workflow.idempotency_key`` itself (PostgreSQL hashes the same bytes in SQL)."""
    if connection.vendor != "sqlite":
        return
    from linli.notify.workflow import idempotency_key

    def key(recipient_id: int, dedup_key: str, channel: str, address_tag: str) -> str:
        return idempotency_key(recipient_id=recipient_id, dedup_key=dedup_key, channel=channel,
                               address_tag=address_tag)

    connection.connection.create_function("linli_idempotency_key", 4, key, deterministic=True)


class NotifyConfig(AppConfig):
    name = "linli.notify"
    label = "notify"
    verbose_name = _("通知")

    def ready(self) -> None:
        # accounts sits below notify: it exposes a listener hook, notify registers here.
        from linli.accounts.services import security_notice_listeners
        from linli.notify.services import security_notice_relay

        if security_notice_relay not in security_notice_listeners:
            security_notice_listeners.append(security_notice_relay)
        connection_created.connect(_sqlite_functions, dispatch_uid="linli.notify.sqlite_functions")
