"""Pure rules of the accounts app: which role may do what. No ORM here."""

from __future__ import annotations

from linli.accounts.choices import Permission, Role

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
