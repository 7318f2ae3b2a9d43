"""The residents' portal: resident accounts bound to the registry, registrations by house
with their one-time codes, the attempt counter that throttles them, and notices.

Phones are stored as in the registry: ciphertext, blind index, masked form. Codes are kept
only as keyed hashes. Reports and applications live in cases and catalogue; the portal
keeps no copy of them.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.models import TimeStampedModel
from linli.portal.choices import (
    CertificationMethod,
    CertificationStatus,
    CodePurpose,
    CommitteeBody,
    CommitteeRole,
    NoticeKind,
    ProfileStatus,
    RegistrationStatus,
)

PII_PORTAL_PHONE = "portal.phone"


class ResidentProfile(TimeStampedModel):
    """A resident's account: the phone they sign in with and, once verified, the registry
    person and household it is bound to (what "my household" means)."""

    PII_FIELDS: ClassVar[dict[str, str]] = {"phone_enc": PII_PORTAL_PHONE}

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resident_profile")
    phone_enc = models.TextField(_("电话(密文)"))
    phone_bidx = models.CharField(max_length=32, unique=True)
    phone_masked = models.CharField(_("电话"), max_length=20)
    status = models.CharField(_("状态"), max_length=16, choices=ProfileStatus.choices, default=ProfileStatus.PENDING)
    community = models.ForeignKey("geo.Area", verbose_name=_("社区"), on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey("registry.Room", verbose_name=_("房屋"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    person = models.ForeignKey("registry.Person", verbose_name=_("人员"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    household = models.ForeignKey("registry.Household", verbose_name=_("户"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        verbose_name = _("居民账号")
        verbose_name_plural = _("居民账号")

    def __str__(self) -> str:
        return f"{self.phone_masked} ({self.status})"


class Registration(TimeStampedModel):
    """A registration by house: the room picked and the answers given. The last 4 characters
    of the ID number are kept only as their suffix index (enough to match, never shown)."""

    PII_FIELDS: ClassVar[dict[str, str]] = {"phone_enc": PII_PORTAL_PHONE}

    community = models.ForeignKey("geo.Area", verbose_name=_("社区"), on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey("registry.Room", verbose_name=_("房屋"), on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("姓名"), max_length=50)
    phone_enc = models.TextField(_("电话(密文)"))
    phone_bidx = models.CharField(max_length=32, db_index=True)
    phone_masked = models.CharField(_("电话"), max_length=20)
    id_suffix_s4_bidx = models.CharField(max_length=16, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=RegistrationStatus.choices,
                              default=RegistrationStatus.CODE_SENT)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(_("核验时间"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        verbose_name = _("居民注册")
        verbose_name_plural = _("居民注册")
        indexes: ClassVar[list[models.Index]] = [
            # The community's verification queue.
            models.Index(fields=["community", "status"], name="portal_reg_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.phone_masked} @ {self.room_id} ({self.status})"


class Invitation(TimeStampedModel):
    """A household head invites a member of their own household: the member's account is
    bound to that person once they confirm the code sent to the phone the head gave."""

    PII_FIELDS: ClassVar[dict[str, str]] = {"phone_enc": PII_PORTAL_PHONE}

    household = models.ForeignKey("registry.Household", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="+")
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    phone_enc = models.TextField(_("电话(密文)"))
    phone_bidx = models.CharField(max_length=32, db_index=True)
    phone_masked = models.CharField(_("电话"), max_length=20)
    accepted_at = models.DateTimeField(_("接受时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-id"]
        verbose_name = _("家庭成员邀请")
        verbose_name_plural = _("家庭成员邀请")

    def __str__(self) -> str:
        return f"{self.phone_masked} → {self.person_id}"


class OneTimeCode(TimeStampedModel):
    """A code sent by SMS: only its keyed hash is kept; ``used_at`` once accepted."""

    purpose = models.CharField(max_length=16, choices=CodePurpose.choices)
    phone_bidx = models.CharField(max_length=32)
    registration = models.ForeignKey(Registration, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="codes")
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["phone_bidx", "purpose", "created_at"], name="portal_code_phone_idx"),
        ]

    def __str__(self) -> str:
        return f"code {self.pk} ({self.purpose})"


class Attempt(models.Model):
    """One counted attempt (a failure, or a code sent) under a throttle key such as
    ``fail:phone:<bidx>``, ``fail:room:<id>``, ``send:phone:<bidx>``; counted over a window."""

    key = models.CharField(max_length=80)
    at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["key", "at"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["key", "at"], name="portal_attempt_key_at_idx")]

    def __str__(self) -> str:
        return f"{self.key}@{self.at}"


class Notice(TimeStampedModel):
    """A notice from a community or street to the residents under it; the 三务公开 kinds
    carry the period they report on (``2026-Q4``, ``2026-11``)."""

    area = models.ForeignKey("geo.Area", verbose_name=_("发布范围"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类别"), max_length=16, choices=NoticeKind.choices, default=NoticeKind.NOTICE)
    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("正文"))
    period = models.CharField(_("期间"), max_length=20, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    published_at = models.DateTimeField(_("发布时间"), db_index=True)
    read_count = models.PositiveIntegerField(_("阅读数"), default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["-published_at", "-id"]
        verbose_name = _("通知公告")
        verbose_name_plural = _("通知公告")
        indexes: ClassVar[list[models.Index]] = [
            # The newest notices of a few areas (home page, list): per area, newest first.
            models.Index(fields=["area", "published_at"], name="portal_notice_area_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class NoticeAttachment(TimeStampedModel):
    """A file of a notice, checked by content on upload (as the catalogue's uploads)."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="attachments")
    file = models.CharField(max_length=300)
    original_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]

    def __str__(self) -> str:
        return self.original_name


class NoticeRead(models.Model):
    """A resident has opened a notice (counted once per resident)."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["notice_id", "user_id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["notice", "user"], name="portal_notice_read_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id}:{self.user_id}"


class LivingCertification(TimeStampedModel):
    """A person's living certification for one year: by the outside face verification (only
    its outcome and request id are kept, never the image) or, as the fallback, by a home
    visit the community confirms."""

    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    status = models.CharField(_("状态"), max_length=16, choices=CertificationStatus.choices,
                              default=CertificationStatus.OPEN)
    method = models.CharField(_("方式"), max_length=16, choices=CertificationMethod.choices, blank=True)
    face_attempts = models.PositiveSmallIntegerField(_("人脸核身次数"), default=0)
    provider_request_id = models.CharField(max_length=64, blank=True)
    certified_at = models.DateTimeField(_("认证时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["-year", "person_id"]
        verbose_name = _("生存认证")
        verbose_name_plural = _("生存认证")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["person", "year"], name="portal_certification_person_year_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}/{self.year}: {self.status}"


class CommitteeMember(TimeStampedModel):
    """A member of the community's 两委 as residents see it: name, role, the office's duty
    phone (never a personal mobile), the term, an optional photo checked by content."""

    community = models.ForeignKey("geo.Area", verbose_name=_("社区"), on_delete=models.PROTECT, related_name="+")
    body = models.CharField(_("组织"), max_length=16, choices=CommitteeBody.choices)
    role = models.CharField(_("职务"), max_length=20, choices=CommitteeRole.choices)
    name = models.CharField(_("姓名"), max_length=30)
    duties = models.CharField(_("分工"), max_length=120, blank=True)
    duty_phone = models.CharField(_("值班电话"), max_length=30, blank=True)
    term_start = models.DateField(_("任期开始"))
    term_end = models.DateField(_("任期结束"), null=True, blank=True)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)
    photo_file = models.CharField(max_length=300, blank=True)
    photo_type = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(_("在任"), default=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["community_id", "body", "position", "id"]
        verbose_name = _("两委成员")
        verbose_name_plural = _("两委成员")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["community", "is_active"], name="portal_committee_comm_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


class Convention(TimeStampedModel):
    """One version of a community's residents' convention (居民公约): the text and the day it
    takes effect. Versions are never edited; a new text is a new version."""

    community = models.ForeignKey("geo.Area", verbose_name=_("社区"), on_delete=models.PROTECT, related_name="+")
    version = models.PositiveSmallIntegerField(_("版本"))
    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("正文"))
    effective_on = models.DateField(_("生效日期"))
    adopted_note = models.CharField(_("通过情况"), max_length=200, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["community_id", "-version"]
        verbose_name = _("居民公约")
        verbose_name_plural = _("居民公约")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["community", "version"], name="portal_convention_version_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"
