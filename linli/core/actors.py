"""Who did it: a user, or a named system actor (command, job, import, MQTT bridge).

Services take the actor explicitly; it is never inferred from a request, so commands and
jobs are audited the same way as web requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@runtime_checkable
class UserLike(Protocol):
    """Anything with a primary key and a username, above all ``accounts.User``."""

    # Read-only, so a model whose ``pk`` is typed ``int`` satisfies it.
    @property
    def pk(self) -> int | None: ...

    def get_username(self) -> str: ...


@dataclass(frozen=True)
class SystemActor:
    """A non-human actor such as ``command:seed`` or ``job:import``."""

    name: str
    pk: None = None

    def get_username(self) -> str:
        return self.name


Actor = UserLike | SystemActor


def actor_label(actor: Actor) -> str:
    return actor.get_username()


# System actors in words, for pages: "system:cases" → "系统（事件）". The kind before the colon
# says what sort of machine acted, the part after it which one.
_KIND_WORDS: dict[str, Promise] = {
    "system": _("系统"),
    "job": _("后台任务"),
    "command": _("命令"),
    "mqtt": _("物联网关"),
    "apikey": _("接口"),
    "rule": _("规则"),
    "test": _("测试"),
    "auth": _("系统"),
    "retention": _("系统"),
}
_NAME_WORDS: dict[str, Promise] = {
    "cases": _("事件"),
    "seed": _("演示数据"),
    "devices": _("物联设备"),
    "instant": _("秒批"),
    "cases-sweep": _("事件时限巡查"),
    "overdue-sweep": _("办件时限巡查"),
    "devices-sweep": _("设备巡查"),
    "care_sweep": _("民生巡查"),
    "fusion_import": _("数据导入"),
    "linli_import": _("数据导入"),
    "lease_recovery": _("任务恢复"),
    "login_throttles_prune": _("登录计数清理"),
    "linli_pii_rotate": _("密钥轮换"),
    "linli_catalogue_seed": _("事项目录"),
    "linli_areas_load": _("区划导入"),
    "linli_createadmin": _("创建管理员"),
    "linli_audit": _("审计"),
    "care_seed": _("民生政策"),
    "linli_fusion_sources": _("数据来源"),
    "jobs": _("后台任务"),
}


def actor_words(label: str) -> str:
    """A system actor's label in words; a label that is no system actor's stays as it is."""
    kind, _sep, name = label.partition(":")
    kind_word = _KIND_WORDS.get(kind)
    if kind_word is None:
        return label
    if kind == "apikey":
        # The key's prefix is what an administrator finds the key by on the keys page.
        return f"{kind_word} {name}" if name else str(kind_word)
    name_word = _NAME_WORDS.get(name)
    if name_word is None:
        return str(kind_word)
    return str(_("%(kind)s（%(name)s）") % {"kind": kind_word, "name": name_word})
