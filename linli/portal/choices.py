"""Enumerations of the residents' portal (居民服务)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RegistrationStatus(models.TextChoices):
    """Where a registration by house is: the code sent, then matched at once or queued."""

    CODE_SENT = "code_sent", _("待验证")
    MATCHED = "matched", _("已自动核验")
    QUEUED = "queued", _("待社区核验")
    APPROVED = "approved", _("社区已核验")
    REJECTED = "rejected", _("未通过核验")


class ProfileStatus(models.TextChoices):
    """A resident account: bound to a registry person and household, or not yet."""

    BOUND = "bound", _("已绑定")
    PENDING = "pending", _("待核验")
    REJECTED = "rejected", _("未通过")


class CodePurpose(models.TextChoices):
    REGISTER = "register", _("注册")
    SIGN_IN = "sign_in", _("登录")
    INVITE = "invite", _("家庭成员邀请")


class NoticeKind(models.TextChoices):
    """A plain notice, or one of the three sections of 三务公开."""

    NOTICE = "notice", _("通知公告")
    PARTY = "party", _("党务公开")
    RESIDENTS = "residents", _("居务公开")
    FINANCE = "finance", _("财务公开")


class PortalErrorCode(models.TextChoices):
    THROTTLED = "throttled", _("尝试次数过多")
    BAD_CODE = "bad_code", _("验证码错误或已过期")


class CertificationStatus(models.TextChoices):
    """The yearly living certification (生存认证) of a person for pension-type benefits."""

    OPEN = "open", _("待认证")
    VISIT = "visit", _("待上门核实")
    CERTIFIED = "certified", _("已认证")


class CertificationMethod(models.TextChoices):
    FACE = "face", _("人脸核身")
    VISIT = "visit", _("上门核实")


class CommitteeBody(models.TextChoices):
    """The two committees of a community (社区两委)."""

    PARTY = "party", _("社区党组织委员会")
    RESIDENTS = "residents", _("社区居民委员会")


class CommitteeRole(models.TextChoices):
    SECRETARY = "secretary", _("书记")
    DEPUTY_SECRETARY = "deputy_secretary", _("副书记")
    DIRECTOR = "director", _("主任")
    DEPUTY_DIRECTOR = "deputy_director", _("副主任")
    MEMBER = "member", _("委员")
