"""Pure rules of the accounts app: which role may do what, how long a login waits. No ORM here."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta

from django.utils.translation import gettext as _

from linli.accounts.choices import AssignmentKind, Permission, Role
from linli.core.errors import ValidationFailed
from linli.geo.choices import AreaLevel

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.RESIDENT: frozenset(),
    Role.GRID_WORKER: frozenset({Permission.VIEW_REGISTRY, Permission.EDIT_REGISTRY}),
    Role.COMMUNITY_STAFF: frozenset({
        Permission.VIEW_REGISTRY, Permission.EDIT_REGISTRY, Permission.REVEAL_PII,
    }),
    Role.STREET_STAFF: frozenset({
        Permission.VIEW_REGISTRY, Permission.EDIT_REGISTRY, Permission.REVEAL_PII,
        Permission.EXPORT_REGISTRY,
    }),
    Role.DEPARTMENT_STAFF: frozenset({Permission.VIEW_REGISTRY}),
    Role.DISTRICT_ADMIN: frozenset({
        Permission.VIEW_REGISTRY, Permission.EDIT_REGISTRY, Permission.REVEAL_PII,
        Permission.EXPORT_REGISTRY, Permission.MANAGE_ACCOUNTS, Permission.MANAGE_AREAS,
        Permission.MANAGE_RULES,
    }),
    # Separated duties (等保 2.0): the auditor reads the trail and nothing else.
    Role.AUDITOR: frozenset({Permission.VIEW_AUDIT}),
}

# API-key scopes map onto the same permissions.
API_SCOPES: frozenset[str] = frozenset({Permission.VIEW_REGISTRY, Permission.REPORT_CASES})


def role_has(role: str, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


# What each permission opens in Django's admin: app label → allowed actions. Only staff
# accounts (district admins, superusers) reach the admin at all.
_ALL_ACTIONS: frozenset[str] = frozenset({"view", "add", "change", "delete"})
ADMIN_APP_ACTIONS: dict[str, dict[str, frozenset[str]]] = {
    Permission.MANAGE_ACCOUNTS: {"accounts": _ALL_ACTIONS},
    Permission.MANAGE_AREAS: {"geo": _ALL_ACTIONS},
    Permission.VIEW_AUDIT: {"core": frozenset({"view"})},
}

# Roles whose accounts may enter Django's admin (``is_staff``).
ADMIN_ROLES: frozenset[str] = frozenset({Role.DISTRICT_ADMIN})


def role_admin_apps(role: str) -> frozenset[str]:
    """App labels the role may see in the admin."""
    apps: set[str] = set()
    for permission in ROLE_PERMISSIONS.get(role, frozenset()):
        apps.update(ADMIN_APP_ACTIONS.get(permission, {}))
    return frozenset(apps)


def role_grants_django_perm(role: str, perm: str) -> bool:
    """Whether the role's permissions imply a Django permission such as ``geo.change_area``."""
    app_label, _dot, codename = perm.partition(".")
    action = codename.partition("_")[0]
    return any(
        action in ADMIN_APP_ACTIONS.get(permission, {}).get(app_label, frozenset())
        for permission in ROLE_PERMISSIONS.get(role, frozenset())
    )


# --- Login throttling (OWASP Authentication Cheat Sheet: lockout per account and source with
# growing delays; "Slow Down Online Guessing Attacks with Device Cookies") -----------------

def login_backoff(failures: int, *, free: int, first: timedelta, longest: timedelta) -> timedelta | None:
    """How long a counter with ``failures`` refuses logins: nothing before ``free`` failures,
    then ``first``, doubling with each further failure, never more than ``longest``."""
    if failures < free:
        return None
    doublings = min(failures - free, 32)  # 2**32 × a second is past any cap already
    wait: timedelta = first * (2 ** doublings)
    return min(wait, longest)


def login_source(ip: str | None) -> str:
    """The source a failure is counted under: the address, or an IPv6 client's /64 (one
    subscriber holds a whole /64 and could otherwise pick a fresh address per guess)."""
    if not ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def login_username(username: str) -> str:
    """The form every counter and device cookie uses: case-folded, so "Admin" is "admin"."""
    return username.strip().lower()[:150]


@dataclass(frozen=True)
class LoginClient:
    """Who is trying to log in as ``username`` (normalised): from which address, counted
    under which source, with which known device (``None``: an unknown client)."""

    username: str
    ip: str | None
    source: str
    device: str | None

    @property
    def device_key(self) -> str:
        return f"dev:{self.username}|{self.device}"

    @property
    def source_key(self) -> str:
        return f"src:{self.username}|{self.source}"

    @property
    def account_key(self) -> str:
        return f"user:{self.username}"

    @property
    def ip_key(self) -> str | None:
        return f"ip:{self.ip}" if self.ip else None

    def gate_keys(self) -> list[str]:
        """The counters that may refuse this client: a known device answers for itself only,
        so nobody elsewhere can lock the user out of it; an unknown client is refused by its
        source's counter for the username, the username's, and its address's."""
        if self.device:
            return [self.device_key]
        return [key for key in (self.source_key, self.account_key, self.ip_key) if key]
# --- Accounts as the administrator sets them up ----------------------------------------

# The area levels each role is bound to (DESIGN §1): a grid worker to grids, community
# staff to a community (or a zone of it), street staff to a street, district roles to the
# district; department staff serve a street or the whole district.
ROLE_AREA_LEVELS: dict[str, frozenset[int]] = {
    Role.RESIDENT: frozenset({AreaLevel.COMMUNITY, AreaLevel.ZONE, AreaLevel.GRID}),
    Role.GRID_WORKER: frozenset({AreaLevel.GRID}),
    Role.COMMUNITY_STAFF: frozenset({AreaLevel.COMMUNITY, AreaLevel.ZONE}),
    Role.STREET_STAFF: frozenset({AreaLevel.STREET}),
    Role.DEPARTMENT_STAFF: frozenset({AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY}),
    Role.DISTRICT_ADMIN: frozenset({AreaLevel.DISTRICT}),
    Role.AUDITOR: frozenset({AreaLevel.DISTRICT}),
}
# Grid workers are the responsible (A角) or the backup (B角) worker of a grid; the others
# simply belong to their areas.
ROLE_ASSIGNMENT_KINDS: dict[str, frozenset[str]] = {
    role: frozenset({AssignmentKind.PRIMARY, AssignmentKind.BACKUP}) if role == Role.GRID_WORKER
    else frozenset({AssignmentKind.MEMBER})
    for role in Role
}


def validate_assignment(*, role: str, area_level: int, kind: str) -> None:
    """Refuse binding a user of ``role`` to an area of ``area_level`` as ``kind`` when the
    role table does not allow it."""
    if area_level not in ROLE_AREA_LEVELS.get(role, frozenset()):
        # Translators: separator between items of a list, "、" in Chinese, ", " in English.
        levels = _("、").join(str(AreaLevel(level).label) for level in sorted(ROLE_AREA_LEVELS.get(role, ())))
        raise ValidationFailed("area", _("%(role)s只能绑定到%(levels)s") % {"role": Role(role).label, "levels": levels})
    if kind not in AssignmentKind.values:
        raise ValidationFailed("kind", _("未知的绑定类型"))
    if kind not in ROLE_ASSIGNMENT_KINDS.get(role, frozenset()):
        raise ValidationFailed("kind", _("%(role)s不能以“%(kind)s”绑定区域")
                               % {"role": Role(role).label, "kind": AssignmentKind(kind).label})


def validate_department(*, role: str, has_department: bool) -> None:
    """Department staff belong to a department; no other role does."""
    if role == Role.DEPARTMENT_STAFF and not has_department:
        raise ValidationFailed("department", _("职能部门人员须选择所属部门"))
    if role != Role.DEPARTMENT_STAFF and has_department:
        raise ValidationFailed("department", _("只有职能部门人员有所属部门"))
