"""Base models and the append-only, hash-chained audit log."""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.db import models
from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _


class OneLabelDisplay:
    """``get_FOO_display()`` translating one label, the one shown.

    Django's version hashes the field's whole choice list on every call, and hashing a lazy
    label translates it: a case's status display translated all 15 status labels, 0.2 ms per
    row of a list (an Open311 page of 1,000 cases spent 200 ms there). Mixed into every
    linli model with choices."""

    def _get_FIELD_display(self, field: models.Field[Any, Any]) -> Any:  # noqa: N802 -- the name Django calls
        value = getattr(self, field.attname)
        labels = dict(field.flatchoices)  # values as keys: the labels are not hashed
        try:
            label = labels.get(value, value)
        except TypeError:  # an unhashable value (a list in a JSON field): Django's way
            return super()._get_FIELD_display(field)  # type: ignore[misc]
        return force_str(label, strings_only=True)


class TimeStampedModel(OneLabelDisplay, models.Model):
    """Every linli model records when it was created and last changed."""

    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit entry through the ORM."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be deleted")


class AuditEntry(models.Model):
    """One audited action. Append-only (the ORM refuses changes, and so do database triggers,
    migration ``core.0005``); each row's ``hash`` is a keyed MAC (``key_id`` names the key of
    ``LINLI_AUDIT_KEYS``; empty for entries from before keyed MACs) that covers the previous
    row's ``hash`` — see ``linli/core/audit_mac.py``.

    Personal values are never stored here: ``fields`` holds field *names* only.
    """

    seq = models.BigIntegerField(_("序号"), unique=True)
    created_at = models.DateTimeField(_("时间"), db_index=True)
    actor_id = models.BigIntegerField(_("操作人ID"), null=True, blank=True, db_index=True)
    actor_label = models.CharField(_("操作人"), max_length=150)
    action = models.CharField(_("动作"), max_length=80, db_index=True)
    target_type = models.CharField(_("对象类型"), max_length=80)
    target_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    fields = models.JSONField(_("涉及字段"), default=list, blank=True)
    reason = models.CharField(_("事由"), max_length=500, blank=True)
    request_id = models.CharField(_("请求ID"), max_length=64, blank=True)
    key_id = models.CharField(_("校验密钥"), max_length=16, blank=True, default="")
    prev_hash = models.CharField(_("前序哈希"), max_length=64)
    hash = models.CharField(_("哈希"), max_length=64, unique=True)

    objects: ClassVar[AuditEntryQuerySet] = AuditEntryQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering: ClassVar[list[str]] = ["-seq"]
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit entries cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be deleted")


class AuditHead(models.Model):
    """Single row holding the chain's tip; locking it serialises appends across processes.

    A database trigger lets it only move forward onto an entry that exists. ``legacy_*`` pin
    the entries written before keyed MACs (1..``legacy_seq``) with a MAC of their last hash,
    set once by migration ``core.0004``."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    legacy_seq = models.BigIntegerField(default=0)
    legacy_key_id = models.CharField(max_length=16, blank=True, default="")
    legacy_mac = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        verbose_name = _("审计链头")

    def __str__(self) -> str:
        return f"audit head #{self.seq}"


class KeyCheckKind(models.TextChoices):
    PII = "pii", _("个人信息加密密钥")
    BLIND_INDEX = "blind_index", _("盲索引密钥")
    AUDIT = "audit", _("审计校验密钥")


class KeyCheck(OneLabelDisplay, models.Model):
    """A known value sealed by one configured key when linli first met it, so that a start
    with other keys — a lost secrets file regenerated, a wrong vault entry — is refused before
    it writes anything (``linli/core/key_check.py``). ``retired_at``: a PII key whose every
    value ``linli_pii_rotate`` moved to a newer key, so it may leave the configuration."""

    kind = models.CharField(_("类别"), max_length=16, choices=KeyCheckKind.choices)
    key_id = models.CharField(_("密钥编号"), max_length=32, blank=True)
    token = models.CharField(_("校验值"), max_length=200)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["kind", "key_id"]
        verbose_name = _("密钥校验")
        verbose_name_plural = _("密钥校验")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["kind", "key_id"], name="core_keycheck_one_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key_id}"


# The topic whose triggers (migration ``cases.0007``) cover the reference data most requests
# read: categories, departments, dispatch rules, areas, area assignments, users' roles.
REFERENCE_TOPIC = "cases.reference"


class ChangeStamp(models.Model):
    """A value per topic that changes whenever a table the topic covers is written, by any
    path — ``save``, ``bulk_create``, ``QuerySet.update``/``delete``, raw SQL, TRUNCATE — because
    database triggers set it (the migrations that cover a table create them). A per-process
    cache keyed by it reads one row to know it is current, where counting and summing the
    tables grew with them (41 ms a call with 100,000 resident accounts). The value is random,
    not a counter: a rolled-back or flushed database never brings an old value back paired
    with other data."""

    topic = models.CharField(primary_key=True, max_length=40)
    generation = models.BigIntegerField()

    class Meta:
        ordering: ClassVar[list[str]] = ["topic"]
        verbose_name = _("变更戳")

    def __str__(self) -> str:
        return f"{self.topic}@{self.generation}"
