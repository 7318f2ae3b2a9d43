"""Schemathesis against the live test server, once per role: no 5xx, no response that breaks
its own schema, whatever the generated input (valid or not).

Bounded for the suite: a fixed number of examples per operation, derandomised (fixed seed),
no example database. The checks are the two that say "the server is wrong" whatever the
caller's rights: a 403/404/422 for a role that may not do something is a correct answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from linli.accounts.choices import AssignmentKind, Permission, Role
from linli.accounts.models import AreaAssignment, Department, User
from linli.accounts.services import api_key_create
from linli.api import api
from linli.cases.models import Category, DispatchRule
from linli.cases.taxonomy import taxonomy_load
from linli.registry.tests.conftest import registry  # noqa: F401 -- fixture: a building per side

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 3  # per operation, generation mode and role: 7 roles x ~45 operations x 2 modes, ~2 min
ROLES = ["grid_worker", "community_staff", "street_staff", "department_staff", "district_admin", "auditor",
         "api_key", "resident"]
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def seeded(registry: Any) -> Any:  # noqa: F811 -- the imported fixture
    if not Category.objects.exists():  # a transactional test before us flushed the seeded taxonomy
        taxonomy_load(Department, Category, DispatchRule)
    return registry


def role_user(role: str, users: Any, tree: Any) -> User:
    if role == Role.DEPARTMENT_STAFF:
        department = Department.objects.filter(code="huanwei").first() or Department.objects.create(
            code="huanwei", name="环卫所")
        user = User.objects.create_user(username="dept_fuzz", password=None, role=Role.DEPARTMENT_STAFF,
                                        display_name="环卫所", department=department)
        AreaAssignment.objects.create(user=user, area=tree.street, kind=AssignmentKind.MEMBER)
        return user
    found: User = {
        Role.GRID_WORKER: users.grid_worker_a1, Role.COMMUNITY_STAFF: users.community_a,
        Role.STREET_STAFF: users.street, Role.DISTRICT_ADMIN: users.district_admin, Role.AUDITOR: users.auditor,
    }[Role(role)]
    return found


def _resident(tree: Any) -> User:
    """A resident bound to a registry person with a household and a pension (the portal's API)."""
    from linli.portal.tests.helpers import bound_resident, grant_pension
    from linli.registry.models import Person

    person = Person.objects.filter(household__isnull=False).order_by("pk").first()
    assert person is not None
    grant_pension(person)
    return bound_resident(person, community_id=tree.community_a.pk)


def _session_for(principal: str, users: Any, tree: Any) -> requests.Session:
    session = requests.Session()
    if principal == "api_key":
        _key, raw = api_key_create(actor=users.district_admin, name="模糊测试",
                                   scopes=[Permission.VIEW_REGISTRY, Permission.REPORT_CASES],
                                   areas=[tree.community_a])
        session.headers["X-API-Key"] = raw
        return session
    client = Client()
    client.force_login(_resident(tree) if principal == "resident" else role_user(principal, users, tree))
    csrf = _get_new_csrf_string()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    session.cookies.set("csrftoken", csrf)
    session.headers["X-CSRFToken"] = csrf
    return session


def _run(operation: Any, mode: GenerationMode, call: Callable[[Any], None]) -> None:
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        call(case)

    check()


@pytest.mark.parametrize("principal", ROLES)
def test_no_role_gets_a_server_error_or_an_off_schema_answer(live_server: Any, seeded: Any, users: Any, tree: Any,
                                                            principal: str) -> None:
    # given the API's own schema and a caller of this role
    schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1"))
    session = _session_for(principal, users, tree)
    failures: list[str] = []

    def call(case: Any) -> None:
        try:
            case.call_and_validate(base_url=live_server.url, session=session, checks=CHECKS)
        except Exception as error:
            failures.append(f"{case.method} {case.formatted_path}: {str(error)[:400]}")
            raise

    # when every operation is called with generated valid and invalid input
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid operation raises here, as it should
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, mode, call)
            except Exception:  # noqa: S112 -- the failure is in `failures`; go on with the next
                continue
    # then
    assert not failures, "\n".join(dict.fromkeys(failures))
