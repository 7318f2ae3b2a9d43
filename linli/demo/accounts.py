"""Demo accounts: at least one per role, a primary grid worker per grid and backups (AB 角)
for a neighbouring grid. Pure data derived from the plan; services write them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

from linli.accounts.choices import AssignmentKind, Role
from linli.demo.generator import StreetPlan
from linli.demo.names import NameMaker

# One well-known password for every demo account, printed by `linli demo`.
DEMO_PASSWORD: Final = "Linli@2026"  # noqa: S105 -- published on purpose, demo only


@dataclass(frozen=True)
class AccountSpec:
    """A demo user, the code of its department (department staff only) and the areas (by
    code) it is bound to."""

    username: str
    role: str
    display_name: str
    department: str = ""
    assignments: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _display_name(rng: random.Random, names: NameMaker) -> str:
    return names.full(rng, male=rng.random() < 0.45, birth_year=rng.randint(1972, 1998), local=True)


def account_specs(plan: StreetPlan) -> list[AccountSpec]:
    rng = random.Random(f"linli-demo:{plan.seed}:accounts")
    names = NameMaker()
    district, street = plan.district.code, plan.street.code
    member = AssignmentKind.MEMBER.value
    specs = [
        AccountSpec("admin", Role.DISTRICT_ADMIN.value, "区级管理员", "", ((district, member),)),
        AccountSpec("auditor", Role.AUDITOR.value, "安全审计员", "", ((district, member),)),
        AccountSpec("street", Role.STREET_STAFF.value, _display_name(rng, names), "", ((street, member),)),
        AccountSpec("dept_mz", Role.DEPARTMENT_STAFF.value, _display_name(rng, names), "minzheng", ((street, member),)),
        AccountSpec("dept_cl", Role.DEPARTMENT_STAFF.value, _display_name(rng, names), "canlian", ((street, member),)),
    ]
    for index, community in enumerate(plan.communities, start=1):
        specs.append(AccountSpec(
            f"cs_{index:02d}", Role.COMMUNITY_STAFF.value, _display_name(rng, names), "",
            ((community.code, member),),
        ))
    for grid in plan.grids:
        siblings = [g for g in plan.grids if g.community_index == grid.community_index]
        position = siblings.index(grid)
        backup = None
        # Back up the next grid of the community when it shares an edge, else the previous one.
        for candidate in (siblings[(position + 1) % len(siblings)], siblings[position - 1]):
            if candidate is not grid and grid.polygon.intersection(candidate.polygon).length > 0:
                backup = candidate
                break
        assignments = [(grid.area.code, AssignmentKind.PRIMARY.value)]
        if backup is not None:
            assignments.append((backup.area.code, AssignmentKind.BACKUP.value))
        specs.append(AccountSpec(
            f"gw_{grid.seq:02d}", Role.GRID_WORKER.value, _display_name(rng, names), "", tuple(assignments),
        ))
    specs.append(AccountSpec(
        "resident", Role.RESIDENT.value, "居民演示账号", "", ((plan.grids[0].area.code, member),),
    ))
    return specs


def demo_usernames(plan: StreetPlan) -> list[str]:
    return [spec.username for spec in account_specs(plan)]
