"""Shared fixtures: a small area tree and one user per role.

Tree: 上城区(330102) > 望江街道 > {近江社区 > 网格1, 网格2; 婺江社区 > 网格3}
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment, Department, User
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session", autouse=True)
def _flush_lifts_audit_guards() -> None:
    """Transactional tests end with Django's flush, which empties the audit tables too: the
    test database is the one place where that is wanted (linli/core/tests/guards.py)."""
    from linli.core.tests.guards import install_flush_bypass

    install_flush_bypass()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Argon2 with tiny parameters: production cost (~0.5 s a hash) would dominate the suite."""
    settings.PASSWORD_HASHERS = [
        "linli.accounts.tests.hashers.FastArgon2PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


def square(lon: float, lat: float, size: float = 0.01) -> dict[str, object]:
    """A GeoJSON square polygon with its south-west corner at (lon, lat)."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _area(level: AreaLevel, code: str, name: str, parent: Area | None, boundary: dict[str, object] | None = None) -> Area:
    area = Area.objects.create(level=level, code=code, name=name, parent=parent, path="", boundary=boundary)
    area.path = f"{parent.path if parent else '/'}{area.pk}/"
    area.save(update_fields=["path"])
    return area


@dataclass
class Tree:
    district: Area
    street: Area
    community_a: Area
    community_b: Area
    grid_a1: Area
    grid_a2: Area
    grid_b1: Area


@pytest.fixture
def tree(db: None) -> Tree:
    district = _area(AreaLevel.DISTRICT, "330102", "上城区", None)
    street = _area(AreaLevel.STREET, "330102001", "望江街道", district)
    community_a = _area(AreaLevel.COMMUNITY, "330102001001", "近江社区", street)
    community_b = _area(AreaLevel.COMMUNITY, "330102001002", "婺江社区", street)
    grid_a1 = _area(AreaLevel.GRID, "330102001001001", "近江社区第1网格", community_a, square(120.20, 30.20))
    grid_a2 = _area(AreaLevel.GRID, "330102001001002", "近江社区第2网格", community_a, square(120.21, 30.20))
    grid_b1 = _area(AreaLevel.GRID, "330102001002001", "婺江社区第1网格", community_b, square(120.20, 30.21))
    return Tree(district, street, community_a, community_b, grid_a1, grid_a2, grid_b1)


def make_user(username: str, role: Role, *areas: tuple[Area, AssignmentKind], password: str = "Linli-test-2026",  # noqa: S107 -- test accounts
              department: Department | None = None) -> User:
    user = User.objects.create_user(username=username, password=password, role=role, display_name=username,
                                    department=department)
    for area, kind in areas:
        AreaAssignment.objects.create(user=user, area=area, kind=kind)
    return user


@dataclass
class Users:
    grid_worker_a1: User
    grid_worker_b1: User
    community_a: User
    community_b: User
    street: User
    district_admin: User
    auditor: User


@pytest.fixture
def users(tree: Tree) -> Users:
    return Users(
        grid_worker_a1=make_user("gw_a1", Role.GRID_WORKER, (tree.grid_a1, AssignmentKind.PRIMARY)),
        grid_worker_b1=make_user("gw_b1", Role.GRID_WORKER, (tree.grid_b1, AssignmentKind.PRIMARY)),
        community_a=make_user("cs_a", Role.COMMUNITY_STAFF, (tree.community_a, AssignmentKind.MEMBER)),
        community_b=make_user("cs_b", Role.COMMUNITY_STAFF, (tree.community_b, AssignmentKind.MEMBER)),
        street=make_user("street", Role.STREET_STAFF, (tree.street, AssignmentKind.MEMBER)),
        district_admin=make_user("admin", Role.DISTRICT_ADMIN, (tree.district, AssignmentKind.MEMBER)),
        auditor=make_user("auditor", Role.AUDITOR, (tree.district, AssignmentKind.MEMBER)),
    )
