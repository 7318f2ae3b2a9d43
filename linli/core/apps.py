from typing import Any

from django.apps import AppConfig
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _check_keys_after_migrate(*, using: str = DEFAULT_DB_ALIAS, **_kwargs: Any) -> None:
    """A database migrated for the first time records its key checks at once, before any
    command writes encrypted data into it (linli/core/key_check.py)."""
    from linli.core.key_check import KeysRefusedError, key_check_ensure

    if using != DEFAULT_DB_ALIAS:
        return
    try:
        key_check_ensure()
    except KeysRefusedError as exc:
        raise CommandError(str(exc)) from None


class CoreConfig(AppConfig):
    name = "linli.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        # Registers the system checks.
        from linli.core import checks  # noqa: F401

        post_migrate.connect(_check_keys_after_migrate, sender=self, dispatch_uid="linli.core.key_check")
        _lock_down_data_dir()


def _lock_down_data_dir() -> None:
    from pathlib import Path

    from django.conf import settings

    from linli.core.data_dir import data_dir_lock_down

    database = settings.DATABASES.get("default", {})
    name = str(database.get("NAME") or "")
    sqlite = Path(name) if database.get("ENGINE", "").endswith("sqlite3") and name and ":memory:" not in name else None
    data_dir_lock_down(Path(settings.DATA_DIR), sqlite=sqlite)
