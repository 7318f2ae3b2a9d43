"""Django forms of the catalogue pages: catalogue editing, workflow steps, bookings, filters.

The guided application form is *not* a Django form: it is generated from the item's form
definition (``linli.catalogue.forms_schema``) by ``linli.catalogue.views.window``.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import Department
from linli.catalogue.choices import ApplicationStatus, ItemKind, ItemLevel
from linli.catalogue.forms_schema import validate_form_definition
from linli.catalogue.rules import validate_rule
from linli.catalogue.services import validate_materials

TEXTAREA = forms.Textarea(attrs={"rows": 3})
CODE = forms.Textarea(attrs={"rows": 14, "class": "code-editor", "spellcheck": "false"})
MAX_STATISTICS_DAYS = 366


def _parse_json(form: forms.Form, name: str, *, allow_empty: bool = False) -> Any:
    text = (form.cleaned_data.get(name) or "").strip()
    if not text:
        if allow_empty:
            return None
        raise forms.ValidationError(gettext("请填写 JSON"))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(
            gettext("JSON 格式错误:第%(line)s行第%(col)s列:%(msg)s")
            % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg},
        ) from None


class ItemEditForm(forms.Form):
    """An item's descriptive fields plus the definition of its next version.

    JSON fields are parsed and validated here with the same checks the service applies, so
    every problem is shown beside its field before anything is written.
    """

    code = forms.CharField(label=_("事项编码"), max_length=40)
    name = forms.CharField(label=_("事项名称"), max_length=200)
    department = forms.ModelChoiceField(label=_("主管部门"), queryset=Department.objects.order_by("-active", "name"),
                                        empty_label=None)
    level = forms.ChoiceField(label=_("事项层级"), choices=ItemLevel.choices)
    kind = forms.ChoiceField(label=_("办件类型"), choices=ItemKind.choices)
    active = forms.BooleanField(label=_("在用"), required=False)
    search_keywords = forms.CharField(label=_("检索关键词"), required=False, widget=TEXTAREA,
                                      help_text=_("口语说法和同义词,用空格或逗号分隔,供一句话办事检索"))
    time_limit_days = forms.IntegerField(label=_("法定时限(工作日)"), min_value=0, max_value=365)
    promised_days = forms.IntegerField(label=_("承诺时限(工作日)"), min_value=0, max_value=365)
    conditions = forms.CharField(label=_("申请条件"), required=False, widget=TEXTAREA)
    fees = forms.CharField(label=_("收费"), max_length=200, initial="不收费")
    legal_basis = forms.CharField(label=_("设定依据"), required=False, widget=TEXTAREA)
    steps = forms.CharField(label=_("办理流程"), required=False, widget=TEXTAREA,
                            help_text=_("每行一步"))
    materials = forms.CharField(label=_("申请材料(JSON)"), widget=CODE,
                                help_text=_('列表:[{"code", "name", "required", "example", "accept": ["image", "pdf"]}]'))
    form = forms.CharField(label=_("申请表单(JSON)"), widget=CODE,
                           help_text=_('{"steps": [{"key", "title", "help", "when", "fields": [...]}]}'))
    rules = forms.CharField(label=_("秒批规则(JSON,可留空)"), required=False, widget=CODE,
                            help_text=_('例如 {"all": [{"fact": "person.age", "op": "gte", "value": 80, "message": "申请人须年满80周岁"}]}'))

    def clean_steps(self) -> list[str]:
        text = self.cleaned_data.get("steps") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def clean_materials(self) -> list[dict[str, Any]]:
        value = _parse_json(self, "materials")
        errors = validate_materials(value)
        if errors:
            raise forms.ValidationError(errors)
        materials: list[dict[str, Any]] = value
        return materials

    def clean_form(self) -> dict[str, Any]:
        value = _parse_json(self, "form")
        errors = validate_form_definition(value)
        if errors:
            raise forms.ValidationError(errors)
        definition: dict[str, Any] = value
        return definition

    def clean_rules(self) -> dict[str, Any] | None:
        value = _parse_json(self, "rules", allow_empty=True)
        if value is None:
            return None
        errors = validate_rule(value)
        if errors:
            raise forms.ValidationError(errors)
        rule: dict[str, Any] = value
        return rule

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        limit, promised = data.get("time_limit_days"), data.get("promised_days")
        if limit is not None and promised is not None and promised > limit:
            self.add_error("promised_days", gettext("承诺时限不能超过法定时限"))
        return data


def item_edit_initial(item: Any) -> dict[str, Any]:
    """Initial values of :class:`ItemEditForm` from an item and its current version."""
    version = item.current_version
    initial: dict[str, Any] = {
        "code": item.code, "name": item.name, "department": item.department, "level": item.level,
        "kind": item.kind, "active": item.active, "search_keywords": item.search_keywords,
    }
    if version is not None:
        initial.update({
            "time_limit_days": version.time_limit_days, "promised_days": version.promised_days,
            "conditions": version.conditions, "fees": version.fees, "legal_basis": version.legal_basis,
            "steps": "\n".join(version.steps),
            "materials": json.dumps(version.materials, ensure_ascii=False, indent=2),
            "form": json.dumps(version.form, ensure_ascii=False, indent=2),
            "rules": json.dumps(version.rules, ensure_ascii=False, indent=2) if version.rules else "",
        })
    return initial


class TransitionForm(forms.Form):
    """One workflow step taken from the application page."""

    action = forms.CharField(max_length=32)
    version = forms.IntegerField(min_value=1)
    note = forms.CharField(label=_("说明"), required=False, max_length=2000, widget=TEXTAREA)
    missing = forms.MultipleChoiceField(label=_("缺少或需更正的内容"), required=False, choices=())
    missing_other = forms.CharField(label=_("其他需补正的内容"), required=False, max_length=500)

    def __init__(self, *args: Any, missing_choices: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["missing"].choices = missing_choices or []  # type: ignore[attr-defined]

    def missing_items(self) -> list[str]:
        """The exact list shown to the resident: the ticked items, then the free text lines."""
        items = list(self.cleaned_data.get("missing") or [])
        other = self.cleaned_data.get("missing_other") or ""
        items.extend(part.strip() for part in other.replace(";", ";").split(";") if part.strip())
        return items


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False,
                               choices=[("", _("全部未办结")), ("all", _("全部")), *ApplicationStatus.choices])
    overdue = forms.BooleanField(label=_("只看超期"), required=False)
    q = forms.CharField(label=_("编号或申请人"), required=False, max_length=50)


class BookingForm(forms.Form):
    slot_start = forms.DateTimeField(label=_("时段"), input_formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z",
                                                                       "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"])
    name = forms.CharField(label=_("姓名"), max_length=50)
    phone = forms.CharField(label=_("手机号"), max_length=20)
    item = forms.IntegerField(label=_("事项"), required=False)
    person = forms.IntegerField(required=False)


class ChangeForm(forms.Form):
    slot_start = forms.DateTimeField(label=_("新时段"), input_formats=BookingForm.base_fields["slot_start"].input_formats)  # type: ignore[attr-defined]


class DayForm(forms.Form):
    day = forms.DateField(label=_("日期"), required=False)

    def day_or_today(self) -> date:
        if self.is_valid() and self.cleaned_data.get("day"):
            chosen: date = self.cleaned_data["day"]
            return chosen
        return timezone.localdate()


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("开始日期"), required=False)
    end = forms.DateField(label=_("结束日期"), required=False)

    def period(self) -> tuple[date, date]:
        """The chosen period, by default the last 30 days; at most a year."""
        today = timezone.localdate()
        start = end = None
        if self.is_valid():
            start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        end = end or today
        start = start or end - timedelta(days=29)
        if start > end:
            start, end = end, start
        if (end - start).days >= MAX_STATISTICS_DAYS:
            start = end - timedelta(days=MAX_STATISTICS_DAYS - 1)
        return start, end
