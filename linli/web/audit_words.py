"""The audit trail in words (issue 16 item 8): actions, targets, field names and reasons are
stored as codes (``person.fuse``, ``registry.person``, ``phone_bidx``, ``residence``); pages
show what they mean, in the reader's language. The codes stay in ``title`` for the curious.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.accounts.selectors import display_names
from linli.cases.choices import ACTION_LABELS as CASE_ACTION_LABELS
from linli.core.actors import actor_words
from linli.fusion.choices import ConflictField

# Whole action codes in words.
ACTION_LABELS: dict[str, Promise] = {
    "auth.login": gettext_lazy("登录"),
    "auth.lockout": gettext_lazy("登录受限"),
    "auth.unlock": gettext_lazy("解除登录限制"),
    "auth.throttles_prune": gettext_lazy("清理登录计数"),
    "audit.checkpoint": gettext_lazy("审计检查点"),
    "admin.add": gettext_lazy("后台新增记录"),
    "admin.change": gettext_lazy("后台修改记录"),
    "admin.change_related": gettext_lazy("后台修改关联记录"),
    "admin.delete": gettext_lazy("后台删除记录"),
    "user.create": gettext_lazy("新建账号"),
    "user.update": gettext_lazy("修改账号"),
    "user.activate": gettext_lazy("恢复账号"),
    "user.deactivate": gettext_lazy("停用账号"),
    "user.set_password": gettext_lazy("重置密码"),
    "user.assign_area": gettext_lazy("绑定区域"),
    "user.unassign_area": gettext_lazy("解除区域绑定"),
    "department.create": gettext_lazy("新建部门"),
    "department.update": gettext_lazy("修改部门"),
    "area.create": gettext_lazy("新建区域"),
    "area.update": gettext_lazy("修改区域"),
    "area.update_boundary": gettext_lazy("修改区域边界"),
    "area.move": gettext_lazy("移动区域"),
    "category.create": gettext_lazy("新建事件类别"),
    "category.update": gettext_lazy("修改事件类别"),
    "dispatch_rule.create": gettext_lazy("新建派遣规则"),
    "dispatch_rule.update": gettext_lazy("修改派遣规则"),
    "catalogue.window.create": gettext_lazy("新建服务窗口"),
    "catalogue.window.update": gettext_lazy("修改服务窗口"),
    "catalogue.item.create": gettext_lazy("新建服务事项"),
    "catalogue.item.update": gettext_lazy("修改服务事项"),
    "catalogue.item.publish": gettext_lazy("发布服务事项"),
    "catalogue.appointment.book": gettext_lazy("预约"),
    "catalogue.appointment.cancel": gettext_lazy("取消预约"),
    "catalogue.appointment.change": gettext_lazy("改约"),
    "catalogue.appointment.check_in": gettext_lazy("预约签到"),
    "catalogue.appointment.serve": gettext_lazy("预约办理"),
    "apikey.create": gettext_lazy("新建接口密钥"),
    "apikey.revoke": gettext_lazy("吊销接口密钥"),
    "building.create": gettext_lazy("新建楼栋"),
    "unit.create": gettext_lazy("新建单元"),
    "room.create": gettext_lazy("新建房屋"),
    "room.set_use": gettext_lazy("修改房屋用途"),
    "household.create": gettext_lazy("新建户"),
    "person.create": gettext_lazy("新建人员"),
    "person.update": gettext_lazy("修改人员信息"),
    "person.move": gettext_lazy("变更住址"),
    "person.place": gettext_lazy("人员落位"),
    "person.fuse": gettext_lazy("合并数据来源"),
    "person.mark_deceased": gettext_lazy("登记死亡"),
    "person.tag_add": gettext_lazy("添加标签"),
    "person.tag_end": gettext_lazy("结束标签"),
    "person.reveal": gettext_lazy("查看完整信息"),
    "person.view_sensitive": gettext_lazy("查看敏感人员"),
    "person.list_sensitive": gettext_lazy("列出敏感人员"),
    "person.search_id_number": gettext_lazy("按身份证号查询"),
    "organisation.create": gettext_lazy("新建单位"),
    "facility.create": gettext_lazy("新建设施"),
    "registry.export": gettext_lazy("导出名单"),
    "registry.export_list": gettext_lazy("导出名单"),
    "pii.rotate": gettext_lazy("轮换加密密钥"),
    "case.open": gettext_lazy("事件上报"),
    "case.photo": gettext_lazy("事件照片"),
    "case.public_description": gettext_lazy("修改事件公开描述"),
    "case.reveal_phone": gettext_lazy("查看来电人电话"),
    "case.supervise": gettext_lazy("事件督办"),
    "cases.rollup_rebuild": gettext_lazy("重建事件统计"),
    "fusion.import": gettext_lazy("数据导入"),
    "fusion.import_queue": gettext_lazy("数据导入排队"),
    "fusion.import_resume": gettext_lazy("继续数据导入"),
    "fusion.import_interrupted": gettext_lazy("数据导入中断"),
    "fusion.files_purge": gettext_lazy("清理导入文件"),
    "fusion.report_download": gettext_lazy("下载导入报告"),
    "fusion.review_accept": gettext_lazy("确认匹配"),
    "fusion.review_reject": gettext_lazy("否决匹配"),
    "fusion.source_save": gettext_lazy("保存数据来源"),
    "fusion.split": gettext_lazy("拆分人员"),
    "fusion.verify": gettext_lazy("核实数据"),
    "care.benefit.grant": gettext_lazy("发放待遇"),
    "care.benefit.renew": gettext_lazy("续期待遇"),
    "care.event.record": gettext_lazy("记录民生事项"),
    "care.level_rule.update": gettext_lazy("修改老人分级规则"),
    "care.person.access": gettext_lazy("查看民生信息"),
    "care.policy.create": gettext_lazy("新建政策"),
    "care.policy.seed": gettext_lazy("载入政策"),
    "care.policy.version": gettext_lazy("发布政策版本"),
    "care.visit.case": gettext_lazy("走访转事件"),
    "care.visit.record": gettext_lazy("记录走访"),
    "care.work_order.close": gettext_lazy("完成工单"),
    "care.demo.seed": gettext_lazy("演示民生数据"),
    "demo.seed": gettext_lazy("演示数据"),
    "demo.seed_areas": gettext_lazy("演示区域"),
    "demo.seed_grid": gettext_lazy("演示网格数据"),
    "demo.case_history": gettext_lazy("演示事件历史"),
    "demo.hall_history": gettext_lazy("演示大厅历史"),
    "devices.device_register": gettext_lazy("登记设备"),
    "devices.alarm_raise": gettext_lazy("设备报警"),
    "incident.start": gettext_lazy("启动应急"),
    "incident.mark": gettext_lazy("应急核查标记"),
    "incident.close": gettext_lazy("结束应急"),
    "notify.delivery.resend": gettext_lazy("重发通知"),
    "notify.template.save": gettext_lazy("保存通知模板"),
}

# For codes built at run time (``case.{action}``, ``care.sweep.{step}`` …): the noun of the
# first part, and a verb from the last part when one is known.
NOUNS: dict[str, Promise] = {
    "case": gettext_lazy("事件"),
    "cases": gettext_lazy("事件"),
    "catalogue": gettext_lazy("办事服务"),
    "care": gettext_lazy("民生服务"),
    "devices": gettext_lazy("物联设备"),
    "incident": gettext_lazy("应急"),
    "ops": gettext_lazy("后台任务"),
    "fusion": gettext_lazy("数据融合"),
    "person": gettext_lazy("人员"),
    "registry": gettext_lazy("实有人口"),
    "notify": gettext_lazy("通知"),
    "demo": gettext_lazy("演示数据"),
    "user": gettext_lazy("账号"),
    "area": gettext_lazy("区域"),
}
VERBS: dict[str, Promise] = {
    **{key: label for key, label in CASE_ACTION_LABELS.items() if isinstance(key, str)},
    "create": gettext_lazy("新建"),
    "update": gettext_lazy("修改"),
    "delete": gettext_lazy("删除"),
    "export": gettext_lazy("导出"),
    "requeue": gettext_lazy("重新排队"),
    "resume": gettext_lazy("继续"),
    "acknowledge": gettext_lazy("确认"),
    "handle": gettext_lazy("处置"),
    "false_alarm": gettext_lazy("误报"),
    "grant": gettext_lazy("发放"),
    "renew": gettext_lazy("续期"),
    "expire": gettext_lazy("到期"),
    "stop": gettext_lazy("停发"),
    "sweep": gettext_lazy("巡查"),
    "submit": gettext_lazy("提交"),
    "approve": gettext_lazy("批准"),
    "reject": gettext_lazy("驳回"),
    "overdue": gettext_lazy("超期"),
    "draft": gettext_lazy("草稿"),
    "withdraw": gettext_lazy("撤回"),
    "forward": gettext_lazy("转报"),
    "accept": gettext_lazy("受理"),
    "decide": gettext_lazy("决定"),
}


def action_words(action: str) -> str:
    label = ACTION_LABELS.get(action)
    if label is not None:
        return str(label)
    parts = re.split(r"[._]", action)
    noun = NOUNS.get(parts[0])
    if noun is None:
        return _("其他操作")
    # The longest known verb at the end: "false_alarm" before "alarm".
    tail = action.split(".", 1)[1] if "." in action else ""
    for start in range(len(tail)):
        if start and tail[start - 1] not in "._":
            continue
        verb = VERBS.get(tail[start:])
        if verb is not None:
            return _("%(noun)s：%(verb)s") % {"noun": noun, "verb": verb}
    return _("%(noun)s：其他操作") % {"noun": noun}


# Field names written into audit entries. Derived columns (the encrypted value, its blind
# index, its mask, the suffix indexes; a name's pinyin and initials) count as their field.
FIELD_LABELS: dict[str, Promise] = {
    "id_number": gettext_lazy("身份证号"),
    "phone": gettext_lazy("电话"),
    "name": gettext_lazy("姓名"),
    "tags": gettext_lazy("标签"),
    "room": gettext_lazy("房屋"),
    "household": gettext_lazy("户"),
    "birth_date": gettext_lazy("出生日期"),
    "sex": gettext_lazy("性别"),
    "hukou": gettext_lazy("户籍"),
    "grid": gettext_lazy("网格"),
    "building": gettext_lazy("楼栋"),
    "is_deceased": gettext_lazy("是否已故"),
    "residence": gettext_lazy("居住地址"),
    "disability_grade": gettext_lazy("残疾等级"),
    "address": gettext_lazy("地址"),
    "status": gettext_lazy("状态"),
}
_DERIVED = re.compile(r"_(enc|bidx|masked|s\d*|pinyin|initials|last\d*|hash|search)$")
# Models whose field names may appear; their verbose names answer for the rest.
_FIELD_MODELS = (
    "registry.Person",
    "registry.Room",
    "registry.Building",
    "registry.Household",
    "accounts.User",
    "geo.Area",
    "cases.Case",
    "cases.Category",
    "cases.DispatchRule",
)


def _model_field_label(name: str) -> str | None:
    for dotted in _FIELD_MODELS:
        try:
            model = apps.get_model(dotted)
            verbose = model._meta.get_field(name).verbose_name
        except (LookupError, FieldDoesNotExist, AttributeError):
            continue
        text = str(verbose)
        if text and text != name.replace("_", " "):
            return text
    return None


def field_words(name: str) -> str:
    base = _DERIVED.sub("", name)
    label = FIELD_LABELS.get(base)
    if label is not None:
        return str(label)
    found = _model_field_label(base)
    if found is not None:
        return found
    if "." in name:  # a model named as a whole ("geo.area")
        return target_words(name)
    return _("其他字段")


def fields_words(names: list[str]) -> str:
    # Translators: separator between items of a list, "、" in Chinese, ", " in English.
    separator = _("、")
    words: list[str] = []
    for name in names:
        word = field_words(name)
        if word not in words:
            words.append(word)
    return separator.join(words)


TARGET_LABELS: dict[str, Promise] = {
    "care.list": gettext_lazy("民生名单"),
    "ops.task": gettext_lazy("后台任务"),
    "auth": gettext_lazy("登录"),
}


def target_words(target_type: str) -> str:
    """``registry.person`` → 人员, by the model's verbose name where there is a model."""
    label = TARGET_LABELS.get(target_type)
    if label is not None:
        return str(label)
    app_label, _sep, model_name = target_type.partition(".")
    if model_name:
        try:
            return str(apps.get_model(app_label, model_name.split(".")[0])._meta.verbose_name)
        except (LookupError, ValueError):
            pass
        noun = NOUNS.get(app_label)
        if noun is not None:
            return str(noun)
    return _("其他对象")


def reason_words(reason: str) -> str:
    """Reasons are mostly a person's words; a bare code (a verification task's field) is not."""
    if reason in ConflictField.values:
        return str(ConflictField(reason).label)
    if re.fullmatch(r"[a-z]+(_[a-z]+)+", reason):
        return field_words(reason)
    return reason


def with_actor_names(entries: Iterable[Any]) -> list[Any]:
    """Give each audit entry an ``actor_name``: the user's display name now (one query for
    the lot), or the system actor in words."""
    rows = list(entries)
    names = display_names(sorted({e.actor_id for e in rows if e.actor_id is not None}))
    for entry in rows:
        entry.actor_name = (
            names.get(entry.actor_id, entry.actor_label)
            if entry.actor_id is not None
            else actor_words(entry.actor_label)
        )
    return rows
