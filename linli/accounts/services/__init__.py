"""Writes of the accounts app.

The modules: :mod:`.login` (failure counters, lockout, login records), :mod:`.keys`
(integration API keys), :mod:`.users` (accounts, roles, departments of staff, area
bindings), :mod:`.departments`, :mod:`.areas` (the area tree as an administrator edits it).
"""

from linli.accounts.services.areas import (
    area_admin_create,
    area_admin_load,
    area_admin_move,
    area_admin_update,
)
from linli.accounts.services.departments import (
    department_create,
    department_named,
    department_update,
)
from linli.accounts.services.keys import (
    API_KEY_PREFIX_LEN,
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
)
from linli.accounts.services.login import (
    IP_WINDOW,
    login_failure_record,
    login_success_record,
    login_throttles_prune,
    login_unlock,
    security_notice_listeners,
    security_notice_send,
)
from linli.accounts.services.users import (
    assignment_create,
    assignment_delete,
    user_create,
    user_set_active,
    user_set_password,
    user_update,
)

__all__ = [
    "API_KEY_PREFIX_LEN",
    "IP_WINDOW",
    "api_key_authenticate",
    "api_key_create",
    "api_key_revoke",
    "area_admin_create",
    "area_admin_load",
    "area_admin_move",
    "area_admin_update",
    "assignment_create",
    "assignment_delete",
    "department_create",
    "department_named",
    "department_update",
    "login_failure_record",
    "login_success_record",
    "login_throttles_prune",
    "login_unlock",
    "security_notice_listeners",
    "security_notice_send",
    "user_create",
    "user_set_active",
    "user_set_password",
    "user_update",
]
