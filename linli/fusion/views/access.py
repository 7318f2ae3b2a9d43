"""Who may open fusion pages: the shared staff decorator with fusion's role sets.

Selectors do the area scoping; the role sets below only decide which pages a role is
offered at all.
"""

from __future__ import annotations

from linli.accounts.access import StaffRequest, request_id_of, staff_view
from linli.accounts.choices import Role

__all__ = ["IMPORT_ROLES", "PLACE_ROLES", "SOURCE_EDIT_ROLES", "TASK_ROLES", "StaffRequest", "request_id_of", "staff_view"]

# Importing a department's export and deciding uncertain matches: the street office and
# the district (DESIGN §1: "district admin — data sources").
IMPORT_ROLES: frozenset[str] = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF})
# Editing a source definition changes how every later import reads: district admin only.
SOURCE_EDIT_ROLES: frozenset[str] = frozenset({Role.DISTRICT_ADMIN})
# Verification tasks: the grid worker who goes and looks, and the staff who follow up.
TASK_ROLES: frozenset[str] = frozenset({
    Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN,
})

# Accepting the buildings and rooms an import's addresses name into the place registry: the
# community clerk who places the 待落位 persons, and the staff above.
PLACE_ROLES: frozenset[str] = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})
