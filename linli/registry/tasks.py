"""Background jobs of the registry: keeping the emergency digests current (schedule the
refresh after midnight and every few minutes; safe to overlap)."""

from __future__ import annotations

from datetime import date

from django_tasks import task


@task()
def building_digests_refresh_task(on: str | None = None) -> int:
    """Rebuild the stale per-building emergency digests; returns how many were stale."""
    from linli.registry.services.digests import building_digests_refresh

    return building_digests_refresh(on=date.fromisoformat(on) if on else None)
