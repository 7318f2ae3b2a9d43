"""What the management commands share: reading their options."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError


def day_option(value: str | None, *, name: str) -> date | None:
    """A ``--name YYYY-MM-DD`` option as a day (None when not given); anything else is a
    :class:`CommandError` naming the option."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name}: expected YYYY-MM-DD, got {value!r}") from None
