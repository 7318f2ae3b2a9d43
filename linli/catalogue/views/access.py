"""Who may open catalogue pages: the shared staff decorator with the catalogue's role sets."""

from __future__ import annotations

from typing import ParamSpec

from linli.accounts.access import PlainView, StaffRequest, StaffView, request_id_of, staff_view
from linli.accounts.choices import Role

P = ParamSpec("P")

__all__ = ["StaffRequest", "editor_only", "request_id_of", "staff_only", "statistics_only", "window_only"]

# Residents use the portal; auditors read the trail and nothing else.
CATALOGUE_ROLES: frozenset[str] = frozenset({
    Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DEPARTMENT_STAFF,
    Role.DISTRICT_ADMIN,
})
# Window clerks: they file applications and book appointments on a resident's behalf.
WINDOW_ROLES: frozenset[str] = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})
# Who edits the catalogue and publishes new versions.
EDITOR_ROLES: frozenset[str] = frozenset({Role.DISTRICT_ADMIN})
# Who sees the hall statistics.
STATISTICS_ROLES: frozenset[str] = frozenset({
    Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DEPARTMENT_STAFF, Role.DISTRICT_ADMIN,
})


def staff_only(view: StaffView[P]) -> PlainView[P]:
    """Any workbench role that works with service items."""
    return staff_view(CATALOGUE_ROLES)(view)


def window_only(view: StaffView[P]) -> PlainView[P]:
    """Window clerks (community / street staff, district admins)."""
    return staff_view(WINDOW_ROLES)(view)


def editor_only(view: StaffView[P]) -> PlainView[P]:
    """District admins, who edit the catalogue."""
    return staff_view(EDITOR_ROLES)(view)


def statistics_only(view: StaffView[P]) -> PlainView[P]:
    return staff_view(STATISTICS_ROLES)(view)
