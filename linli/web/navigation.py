"""The workbench navigation: pages grouped by task, only those the user's role may open.

One table, :data:`ENTRIES`, says which page sits in which group and who is offered it. The
pages check again on their own (``staff_view`` roles, selectors' scopes); the per-role
browser test (``tests/browser/test_every_page.py``) opens every link offered here and
fails on a refusal, so the table and the pages' guards cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from linli.accounts.choices import Permission, Role
from linli.accounts.models import User
from linli.accounts.selectors import AreaScope, scope_for
from linli.cases.choices import CaseSource
from linli.cases.workflow import may_open
from linli.catalogue.views.access import CATALOGUE_ROLES, STATISTICS_ROLES, WINDOW_ROLES
from linli.fusion.views.access import IMPORT_ROLES, PLACE_ROLES, TASK_ROLES
from linli.web.access import MANAGE_ROLES, can_view_audit

# Roles of pages whose guards live in apps above this layer (cockpit, ops) or in devices'
# views; kept equal to those guards by the per-role browser test.
DEVICE_ROLES = frozenset(
    {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN}
)
DEAD_LETTER_ROLES = frozenset({Role.STREET_STAFF, Role.DISTRICT_ADMIN})
OPERATOR_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})
OPS_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF})
# The care pages are work on the ground: visits to the people of a grid. A department reads
# the registry (to look a case's person up) but visits nobody.
GROUND_ROLES = frozenset(
    {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN}
)
# The phone app (field) and the residents' portal sit above this layer; their guards are
# field.selectors.FIELD_ROLES / CLERK_ROLES and portal.services.STAFF_DECIDERS.
FIELD_ROLES = frozenset({Role.GRID_WORKER})
CORRECTION_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF})
RESIDENT_DESK_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})

Check = Callable[[User, AreaScope], bool]


def _roles(roles: frozenset[str]) -> Check:
    return lambda user, scope: user.role in roles


def _ground(user: User, scope: AreaScope) -> bool:
    return user.role in GROUND_ROLES and scope.can(Permission.VIEW_REGISTRY)


def _registry(user: User, scope: AreaScope) -> bool:
    return scope.can(Permission.VIEW_REGISTRY)


def _reports(user: User, scope: AreaScope) -> bool:
    return user.role in CATALOGUE_ROLES and any(
        may_open(source, user.role) for source in (CaseSource.PATROL, CaseSource.STAFF)
    )


def _hotline(user: User, scope: AreaScope) -> bool:
    return user.role in CATALOGUE_ROLES and may_open(CaseSource.HOTLINE, user.role)


def _audit(user: User, scope: AreaScope) -> bool:
    return can_view_audit(user, scope)


def _rules(user: User, scope: AreaScope) -> bool:
    return scope.can(Permission.MANAGE_RULES)


def _district(user: User, scope: AreaScope) -> bool:
    return user.role == Role.DISTRICT_ADMIN


@dataclass(frozen=True)
class Entry:
    """One page of the navigation: its group, words, URL name and who is offered it."""

    group: str
    key: str
    label: Promise
    url_name: str
    check: Check
    # Paths under this prefix mark the entry as the current page (default: its own URL).
    prefix: str = ""


GROUPS: dict[str, Promise] = {
    "home": _("工作台"),
    "registry": _("人口房屋"),
    "cases": _("事件"),
    "services": _("服务"),
    "care": _("民生"),
    "devices": _("设备"),
    "command": _("指挥"),
    "manage": _("管理"),
}

ENTRIES: tuple[Entry, ...] = (
    Entry("home", "home", _("首页"), "web:home", lambda user, scope: user.role != Role.AUDITOR),
    Entry("registry", "areas", _("区域网格"), "web:areas", _registry),
    Entry("registry", "search", _("人口查询"), "web:search", _registry),
    Entry("registry", "persons", _("人员名单"), "web:persons", _registry),
    Entry("registry", "unplaced", _("待落位人员"), "web:unplaced", _registry),
    Entry("home", "field", _("手机工作台"), "field:today", _roles(FIELD_ROLES)),
    Entry("registry", "fusion-tasks", _("核实任务"), "fusion:tasks", _roles(TASK_ROLES)),
    Entry("registry", "fusion-places", _("待建房屋"), "fusion:places", _roles(PLACE_ROLES)),
    Entry(
        "registry",
        "field-corrections",
        _("信息更正申请"),
        "field:corrections",
        _roles(CORRECTION_ROLES),
    ),
    Entry("cases", "cases", _("待办事件"), "cases:inbox", _roles(CATALOGUE_ROLES)),
    Entry("cases", "case-list", _("全部事件"), "cases:list", _roles(CATALOGUE_ROLES)),
    Entry("cases", "case-report", _("上报事件"), "cases:report", _reports),
    Entry("cases", "hotline", _("热线录入"), "cases:hotline", _hotline),
    Entry("cases", "case-stats", _("事件统计"), "cases:statistics", _roles(CATALOGUE_ROLES)),
    Entry(
        "cases",
        "patrol-statistics",
        _("巡查统计"),
        "field:patrol-statistics",
        _roles(GROUND_ROLES),
    ),
    Entry("services", "services", _("办事指南"), "catalogue:items", _roles(CATALOGUE_ROLES)),
    Entry("services", "window", _("一窗受理"), "catalogue:window", _roles(WINDOW_ROLES)),
    Entry("services", "applications", _("办件"), "catalogue:inbox", _roles(CATALOGUE_ROLES)),
    Entry("services", "appointments", _("预约"), "catalogue:windows", _roles(WINDOW_ROLES)),
    Entry(
        "services",
        "hall-statistics",
        _("大厅统计"),
        "catalogue:statistics",
        _roles(STATISTICS_ROLES),
    ),
    Entry("care", "care", _("今日走访"), "care:today", _ground),
    Entry("care", "care-recommendations", _("符合条件未享受"), "care:recommendations", _ground),
    Entry("care", "care-expiring", _("待遇即将到期"), "care:expiring", _ground),
    Entry("care", "care-statistics", _("走访统计"), "care:statistics", _ground),
    Entry("care", "care-rules", _("政策规则"), "care:rules", _rules, prefix="/care/rules/"),
    Entry(
        "services",
        "portal-registrations",
        _("居民注册审核"),
        "portal:staff-registrations",
        _roles(RESIDENT_DESK_ROLES),
    ),
    Entry(
        "services",
        "portal-notices",
        _("通知公告"),
        "portal:staff-notices",
        _roles(RESIDENT_DESK_ROLES),
        prefix="/portal/staff/notices/",
    ),
    Entry(
        "care",
        "portal-certifications",
        _("生存认证"),
        "portal:staff-certifications",
        _roles(GROUND_ROLES),
    ),
    Entry(
        "devices",
        "devices",
        _("物联报警"),
        "devices:alarms",
        _roles(DEVICE_ROLES),
        prefix="/devices/alarms/",
    ),
    Entry("devices", "device-list", _("设备清单"), "devices:list", _roles(DEVICE_ROLES)),
    Entry(
        "devices",
        "dead-letters",
        _("无法解析的消息"),
        "devices:dead-letters",
        _roles(DEAD_LETTER_ROLES),
    ),
    Entry("command", "cockpit", _("驾驶舱"), "cockpit:cockpit", _roles(OPERATOR_ROLES)),
    Entry(
        "command",
        "emergency",
        _("应急模式"),
        "cockpit:emergency",
        _roles(OPERATOR_ROLES),
        prefix="/cockpit/emergency/",
    ),
    Entry(
        "command",
        "emergency-tasks",
        _("应急核查任务"),
        "cockpit:tasks",
        _roles(frozenset({Role.GRID_WORKER})),
    ),
    Entry("manage", "manage", _("系统管理"), "web:manage", _roles(MANAGE_ROLES), prefix="/manage/"),
    Entry(
        "manage",
        "fusion",
        _("数据导入"),
        "fusion:jobs",
        _roles(IMPORT_ROLES),
        prefix="/fusion/imports/",
    ),
    Entry(
        "manage",
        "fusion-reviews",
        _("匹配复核"),
        "fusion:reviews",
        _roles(IMPORT_ROLES),
        prefix="/fusion/reviews/",
    ),
    Entry("manage", "ops-jobs", _("后台任务"), "ops:jobs", _roles(OPS_ROLES), prefix="/ops/"),
    Entry("manage", "notify-templates", _("通知模板"), "notify:templates", _district),
    Entry("manage", "notify-outbox", _("发送队列"), "notify:outbox", _district),
    Entry("manage", "audit", _("审计日志"), "web:audit", _audit),
)


@dataclass(frozen=True)
class NavLink:
    key: str
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: str
    links: list[NavLink]

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)


def _is_current(entry: Entry, url: str, path: str) -> bool:
    if entry.prefix:
        return path.startswith(entry.prefix)
    return path == url


# Every staff page draws the navigation: ~40 ``reverse`` calls a request were a tenth of a
# search page (issue #15, "Load"). The links are fixed for a URL configuration and prefix.
_reversed: dict[tuple[str, str, str | None, str], str] = {}


def _url(url_name: str) -> str:
    key = (get_script_prefix(), str(settings.ROOT_URLCONF), get_urlconf(), url_name)
    url = _reversed.get(key)
    if url is None:
        url = _reversed[key] = reverse(url_name)
    return url


def navigation_for(*, user: User, path: str = "") -> list[NavGroup]:
    """The groups (in :data:`GROUPS` order) with the links this user is offered; empty groups
    are left out."""
    if not user.is_authenticated or not user.is_active or user.role == Role.RESIDENT:
        return []
    scope = scope_for(user)
    links: dict[str, list[NavLink]] = {key: [] for key in GROUPS}
    for entry in ENTRIES:
        if entry.check(user, scope):
            url = _url(entry.url_name)
            links[entry.group].append(
                NavLink(entry.key, str(entry.label), url, _is_current(entry, url, path))
            )
    return [NavGroup(key, str(label), links[key]) for key, label in GROUPS.items() if links[key]]


def navigation_urls(*, user: User) -> list[str]:
    """Every page the navigation offers the user (for tests and the sitemap of a role)."""
    return [link.url for group in navigation_for(user=user) for link in group.links]
