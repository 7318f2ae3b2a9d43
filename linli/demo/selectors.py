"""Reads of the demo app: which demo accounts exist, for the ``linli demo`` banner.

These read account names and area names only (no personal data), for the operator at the
console, so they are not scoped by a principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment, User
from linli.demo.accounts import DEMO_PASSWORD
from linli.demo.generator import COMMUNITIES, GRIDS_PER_COMMUNITY

DEMO_USERNAMES: Final = (
    "admin", "auditor", "street", "dept_mz", "dept_cl",
    *(f"cs_{i:02d}" for i in range(1, len(COMMUNITIES) + 1)),
    *(f"gw_{i:02d}" for i in range(1, sum(GRIDS_PER_COMMUNITY) + 1)),
    "resident",
)


@dataclass(frozen=True)
class DemoAccount:
    """A demo login as shown to the operator."""

    username: str
    password: str
    role: str
    role_label: str
    area: str
    department: str


def demo_accounts(*, one_per_role: bool = True) -> list[DemoAccount]:
    """Demo users present in the database, in a fixed order (first of each role if asked)."""
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_USERNAMES).select_related("department")}
    areas: dict[int, str] = {}
    for assignment in AreaAssignment.objects.filter(user__in=users.values()).select_related("area"):
        # A grid worker is shown with the grid they are primary for, not the one they back up.
        if assignment.kind != AssignmentKind.BACKUP:
            areas[assignment.user_id] = assignment.area.name
    result: list[DemoAccount] = []
    seen: set[str] = set()
    for username in DEMO_USERNAMES:
        user = users.get(username)
        if user is None or (one_per_role and user.role in seen):
            continue
        seen.add(user.role)
        result.append(DemoAccount(
            username=username, password=DEMO_PASSWORD, role=user.role,
            role_label=str(Role(user.role).label), area=areas.get(user.pk, ""),
            department=user.department.name if user.department else "",
        ))
    return result
