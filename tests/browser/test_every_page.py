"""Every page a role's navigation offers, in real Chromium, at desk and phone size (#16 "Done
means", items 8, 9, 15).

Per role: sign in, take the links of ``linli.web.navigation`` (plus the detail pages a
person of that role opens from them: a case, an application, a person, a service item),
open each at 1280x800 and 390x844, and fail on

- a refusal or server error for the page, or a server error for anything it loads;
- a console error (a failed script, a CSP refusal, an uncaught exception);
- a horizontal scroll on the phone;
- a raw code in the visible Chinese text (``person.fuse``, ``hukou_book``, ``gw_01``);
- an axe-core violation of impact serious or critical (axe-core from node_modules, injected
  through the DevTools protocol, so the page's own CSP stays in force).

Screenshots of every page and size go to ``.test-data/screens/pages/<role>/`` (CI keeps them).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, ViewportSize, expect

from conftest import Tree, Users, make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import Department, User
from linli.accounts.services import department_named
from linli.cases.models import Case, Category, DispatchRule
from linli.cases.services import case_open
from linli.cases.taxonomy import taxonomy_load
from linli.catalogue.services import (
    application_prefill,
    application_submit,
    item_create,
    item_publish_version,
)
from linli.catalogue.tests.conftest import ELDER_RULE, FORM, MATERIALS, SEED, make_id
from linli.registry.services import person_create
from linli.web.navigation import navigation_for
from tests.browser.conftest import SCREENS_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Linli-test-2026"  # the root conftest's make_user default
DESK: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

# A code where a word belongs: ``person.fuse``, ``registry.person``, ``hukou_book``, ``gw_a``.
RAW_CODE = re.compile(r"[a-z_]+\.[a-z_]+|[a-z]+_[a-z]+")
# Genuine exceptions, each as narrow as it can be: e-mail addresses, URLs and host names
# that a person types or reads as they are.
ALLOWED = [
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),
    re.compile(r"https?://\S+"),
]
# Sign-in names are identifiers a person types; they stand where the page marks them with
# ``data-verbatim`` (the accounts pages), nowhere else.
VERBATIM = "[data-verbatim]"


@dataclass
class Street:
    """The small street every role looks at: a case through a few steps, a person, an
    application's service item."""

    users: dict[str, User]
    case: Case
    dept_case: Case
    person_id: int
    item_id: int
    application_id: int


def _named(user: User, name: str) -> User:
    user.display_name = name
    user.save(update_fields=["display_name"])
    return user


def seed_street(tree: Tree, users: Users) -> Street:
    if not Category.objects.filter(code="0101").exists():
        taxonomy_load(Department, Category, DispatchRule)
    dept = make_user(
        "hw_1",
        Role.DEPARTMENT_STAFF,
        (tree.street, AssignmentKind.MEMBER),
        department=Department.objects.get(code="huanwei"),
    )
    people = {
        "grid_worker": _named(users.grid_worker_a1, "周网格"),
        "community_staff": _named(users.community_a, "吴社区"),
        "street_staff": _named(users.street, "郑街道"),
        "department_staff": _named(dept, "王环卫"),
        "district_admin": _named(users.district_admin, "冯管理"),
        "auditor": _named(users.auditor, "陈审计"),
    }
    # Everyone has a name: sign-in names are codes a page must not show in their stead.
    _named(users.grid_worker_b1, "孙网格")
    _named(users.community_b, "钱社区")
    person = person_create(
        actor=SEED,
        name="李桂兰",
        id_number=make_id(date(1940, 3, 1), "321"),
        phone="13812345678",
        hukou="local",
        grid=tree.grid_a1,
    )
    neighbours = Category.objects.get(code="1101")
    # 邻里纠纷 registered by the community: the rules send it to the grid's worker.
    case, _created = case_open(
        actor=users.community_a,
        source="staff",
        category=neighbours,
        description="3幢楼道里有人长期堆放杂物",
        lon=120.205,
        lat=30.205,
    )
    case.refresh_from_db()
    # A case the rules send to the department (暴露垃圾 → 环卫所), for the department's pages.
    rubbish = Category.objects.get(code="0101")
    dept_case, _created = case_open(
        actor=users.community_a,
        source="staff",
        category=rubbish,
        description="小区东门口有建筑垃圾待清运",
        lon=120.205,
        lat=30.205,
    )
    item = item_create(
        actor=SEED,
        code="T001",
        name="高龄津贴",
        department=department_named(actor=SEED, text="民政"),
        level="street",
        kind="promised",
    )
    item_publish_version(
        actor=SEED,
        item=item,
        time_limit_days=10,
        steps=["申请", "审核", "办结"],
        form=FORM,
        materials=[
            *MATERIALS,
            {
                "code": "hukou_book",
                "name": "户口簿",
                "required": True,
                "example": "户主页和本人页",
                "accept": ["image", "pdf"],
            },
        ],
    )
    # An instant application the rules decided, filed at the window for the 86-year-old.
    instant = item_create(
        actor=SEED,
        code="T002",
        name="高龄津贴（即办）",
        level="street",
        kind="instant",
        department=department_named(actor=SEED, text="民政"),
    )
    instant_version = item_publish_version(
        actor=SEED,
        item=instant,
        time_limit_days=0,
        steps=["申请", "办结"],
        form=FORM,
        materials=MATERIALS,
        rules=ELDER_RULE,
    )
    prefill = application_prefill(user=users.community_a, version=instant_version, person=person)
    application, _created = application_submit(
        actor=users.community_a,
        version=instant_version,
        applicant=person,
        data=prefill,
        files={},
        channel="window",
        idempotency_key="every-page",
    )
    return Street(
        users=people,
        case=case,
        dept_case=dept_case,
        person_id=person.pk,
        item_id=item.pk,
        application_id=application.pk,
    )


def _details(street: Street, user: User) -> list[str]:
    """Detail pages a person of this role opens from the navigation's lists."""
    case = street.dept_case if user.role == Role.DEPARTMENT_STAFF else street.case
    pages = [f"/cases/{case.pk}/"] if user.role != Role.AUDITOR else []
    if user.role in {
        Role.GRID_WORKER,
        Role.COMMUNITY_STAFF,
        Role.STREET_STAFF,
        Role.DISTRICT_ADMIN,
    }:
        pages.append(f"/persons/{street.person_id}/")
    if user.role != Role.AUDITOR:
        pages.append(f"/services/items/{street.item_id}/")
    if user.role in {Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN}:
        pages.append(f"/services/applications/{street.application_id}/")
    if user.role != Role.DEPARTMENT_STAFF and user.role != Role.AUDITOR:
        pages.append("/notifications/")
    return pages


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.strip("/").lower()).strip("-") or "home"


@dataclass
class Problems:
    lines: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.lines.append(f"{where}: {what}")


def raw_codes(page: Page) -> list[str]:
    """Code-like words in the page's visible text, less the allowed exceptions."""
    text = page.evaluate(
        """(selector) => {
            // innerText is what is rendered (not hidden menus); blank the marked verbatim parts.
            let text = document.body.innerText;
            for (const el of document.querySelectorAll(selector)) {
                const part = el.innerText.trim();
                if (part) { text = text.split(part).join(" "); }
            }
            return text;
        }""",
        VERBATIM,
    )
    for allowed in ALLOWED:
        text = allowed.sub(" ", text)
    return sorted(set(RAW_CODE.findall(text)))


def axe_violations(page: Page, source: str) -> list[str]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    result = page.evaluate(
        """async () => {
            const r = await window.axe.run(document, {resultTypes: ['violations']});
            return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
                .map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | '));
        }"""
    )
    return list(result)


def check_page(
    page: Page, base: str, path: str, *, size: str, role: str, axe: str, problems: Problems
) -> None:
    errors: list[str] = []
    failures: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    def on_response(response: Response) -> None:
        if response.status >= 500:
            failures.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", on_response)
    try:
        response = page.goto(base + path, wait_until="load")
        where = f"{role} {size} {path}"
        if response is None or response.status >= 400:
            problems.add(where, f"status {response.status if response else 'none'}")
            return
        # Fragments loaded on load (a person's provenance) are part of the page: wait for them.
        page.wait_for_function(
            "() => !document.querySelector('[hx-trigger=load][hx-swap=outerHTML]')"
        )
        page.wait_for_timeout(50)  # let deferred scripts (charts, maps) report their errors
        for failure in failures:
            problems.add(where, f"server error {failure}")
        for error in errors:
            problems.add(where, f"console error {error[:200]}")
        if size == "phone":
            wide = page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")
            if wide > 0:
                problems.add(where, f"scrolls sideways by {wide}px")
        codes = raw_codes(page)
        if codes:
            problems.add(where, f"raw codes {codes}")
        if size == "desk":
            for violation in axe_violations(page, axe):
                problems.add(where, f"axe {violation}")
        folder = SCREENS_DIR / "pages" / role
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{size}-{_slug(path)}.png"))
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("response", on_response)


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


@pytest.fixture
def role_page(chromium: Browser) -> Iterator[tuple[BrowserContext, Page]]:
    context = chromium.new_context(locale="zh-CN", viewport=DESK)
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield context, page
    context.close()


ROLES = [
    "grid_worker",
    "community_staff",
    "street_staff",
    "department_staff",
    "district_admin",
    "auditor",
]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_is_whole_in_chinese_on_desk_and_phone(
    role: str,
    live_server: Any,
    tree: Tree,
    users: Users,
    role_page: tuple[BrowserContext, Page],
    settings: Any,
) -> None:
    # given a small street and the role's account; no `linli live` here (the cockpit's stream
    # has its own browser tests in test_maps.py), so the cockpit polls without a refused stream
    settings.LINLI_LIVE_URL = "off"
    street = seed_street(tree, users)
    user = street.users[role]
    axe = AXE.read_text(encoding="utf-8")
    paths = [link.url for group in navigation_for(user=user) for link in group.links] + _details(
        street, user
    )
    assert paths, "the role is offered no page"
    _context, page = role_page
    log_in(page, live_server.url, user.username)
    problems = Problems()
    shutil.rmtree(SCREENS_DIR / "pages" / role, ignore_errors=True)  # this run's pages only
    # when every page is opened at both sizes
    for size, viewport in (("desk", DESK), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for path in paths:
            check_page(
                page, live_server.url, path, size=size, role=role, axe=axe, problems=problems
            )
    # then nothing is broken, wide, coded or inaccessible
    report = "\n".join(problems.lines)
    (SCREENS_DIR / "pages").mkdir(parents=True, exist_ok=True)
    (SCREENS_DIR / "pages" / f"{role}-problems.txt").write_text(report, encoding="utf-8")
    assert not problems.lines, f"{len(problems.lines)} problems:\n{report}"


def test_phone_menu_opens_full_width_closes_on_escape_and_home_starts_with_work(
    live_server: Any,
    tree: Tree,
    users: Users,
    role_page: tuple[BrowserContext, Page],
) -> None:
    # given a grid worker with a case dispatched to him, on a phone
    street = seed_street(tree, users)
    _context, page = role_page
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, street.users["grid_worker"].username)
    page.goto(f"{live_server.url}/")
    # then his home starts with his work, the case in it, before any figure
    first_heading = page.locator("main h2").first
    expect(first_heading).to_have_text("我的待办")
    expect(
        page.get_by_test_id("work-cases").locator(f'a[href="/cases/{street.case.pk}/"]')
    ).to_be_visible()
    # and the navigation waits behind a menu button
    toggle = page.get_by_test_id("nav-toggle")
    menu = page.get_by_test_id("mainnav")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()
    # when he opens the menu from the keyboard
    toggle.focus()
    page.keyboard.press("Enter")
    # then it is open, full width, its groups listed, and it passes axe
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu).to_be_visible()
    box = menu.bounding_box()
    assert box is not None
    assert box["width"] >= PHONE["width"] - 1
    page.get_by_test_id("navgroup-cases").locator("summary").click()
    expect(page.get_by_test_id("nav-case-report")).to_be_visible()
    assert axe_violations(page, AXE.read_text(encoding="utf-8")) == []
    wide = page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")
    assert wide <= 0
    SCREENS_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS_DIR / "pages" / "grid_worker" / "phone-menu-open.png"))
    # when he presses Escape the menu closes and the focus returns to the button
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()
    assert page.evaluate("() => document.activeElement.dataset.testid") == "nav-toggle"
    # and a link of the menu takes him there
    toggle.click()
    page.get_by_test_id("nav-case-report").click()
    expect(page).to_have_url(re.compile(r"/cases/new/$"))


def test_desk_groups_open_one_at_a_time_and_close_on_escape(
    live_server: Any,
    tree: Tree,
    users: Users,
    role_page: tuple[BrowserContext, Page],
) -> None:
    street = seed_street(tree, users)
    _context, page = role_page
    log_in(page, live_server.url, street.users["street_staff"].username)
    page.goto(f"{live_server.url}/areas/")
    expect(page.get_by_test_id("nav-toggle")).to_be_hidden()
    cases = page.get_by_test_id("navgroup-cases")
    services = page.get_by_test_id("navgroup-services")
    cases.locator("summary").click()
    expect(page.get_by_test_id("nav-hotline")).to_be_visible()
    services.locator("summary").click()
    expect(page.get_by_test_id("nav-window")).to_be_visible()
    expect(page.get_by_test_id("nav-hotline")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("nav-window")).to_be_hidden()
    # and the whole bar of the role with most groups fits one line at desk size, in English too
    page.get_by_test_id("logout").click()
    log_in(page, live_server.url, street.users["district_admin"].username)
    page.get_by_test_id("language-switch").locator("button[value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    groups = page.locator(".nav-group")
    assert groups.count() == 8
    tops = {
        round(box["y"])
        for box in (groups.nth(i).bounding_box() for i in range(8))
        if box is not None
    }
    assert len(tops) == 1, tops
