from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Roles of DESIGN §1. A user has one role and one or more areas."""

    RESIDENT = "resident", _("居民")
    GRID_WORKER = "grid_worker", _("网格员")
    COMMUNITY_STAFF = "community_staff", _("社区工作者")
    STREET_STAFF = "street_staff", _("街道/指挥中心")
    DEPARTMENT_STAFF = "department_staff", _("职能部门")
    DISTRICT_ADMIN = "district_admin", _("区级管理员")
    AUDITOR = "auditor", _("审计员")


class DepartmentKind(models.TextChoices):
    """What sort of body a department is."""

    AGENCY = "agency", _("职能部门")
    TEAM = "team", _("专业队伍")
    ENTERPRISE = "enterprise", _("企业/物业")
    COMMUNITY = "community", _("社区")


class AssignmentKind(models.TextChoices):
    PRIMARY = "primary", _("主责(A角)")
    BACKUP = "backup", _("协管(B角)")
    MEMBER = "member", _("所属")


class Permission(models.TextChoices):
    """Capabilities checked by services; granted per role in ``workflow.ROLE_PERMISSIONS``."""

    VIEW_REGISTRY = "view_registry", _("查看实有人口房屋")
    REVEAL_PII = "reveal_pii", _("查看完整证件号和电话")
    EXPORT_REGISTRY = "export_registry", _("导出名单")
    VIEW_AUDIT = "view_audit", _("查看审计日志")
    MANAGE_ACCOUNTS = "manage_accounts", _("管理账号")
    MANAGE_AREAS = "manage_areas", _("管理区域网格")
    EDIT_REGISTRY = "edit_registry", _("编辑实有人口房屋")
    # Case categories and their deadlines, dispatch rules, the halls' service windows.
    MANAGE_RULES = "manage_rules", _("管理事件类别、派遣规则和服务窗口")
    # Integrations (IoT gateways, camera platforms, Open311 clients) that open cases.
    REPORT_CASES = "cases.report", _("上报事件")


class NoticeKind(models.TextChoices):
    """Security notices of the in-app inbox (``SecurityNotice``)."""

    YOUR_LOGIN_THROTTLED = "your_login_throttled", _("您的账号登录尝试过多")
    ACCOUNT_THROTTLED = "account_throttled", _("账号登录尝试过多")
    SOURCE_THROTTLED = "source_throttled", _("来源地址登录尝试过多")
