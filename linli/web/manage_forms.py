"""Forms of the administration pages: they parse input only. What is allowed (roles, areas,
codes, deadlines, rules) is decided by the services, whose refusals come back as errors
beside the field they name."""

from __future__ import annotations

import json
import re
from datetime import time
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.accounts.choices import AssignmentKind, DepartmentKind, Role
from linli.accounts.models import Department
from linli.cases.choices import CategoryDomain, DeadlineUnit, DispatchTarget
from linli.cases.models import Category
from linli.catalogue.models import ServiceItem
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

TEXTAREA = forms.Textarea(attrs={"rows": 4})
CODE = forms.Textarea(attrs={"rows": 6, "class": "code", "spellcheck": "false"})
INDENT = "\u3000"  # an ideographic space: the level of an area in a select list


class AreaChoiceField(forms.ModelChoiceField[Area]):
    """Areas shown as "望江街道(330102001)", indented by level."""

    def label_from_instance(self, obj: Area) -> str:
        return f"{INDENT * (obj.level - 1)}{obj.name}({obj.code})"


def _areas(areas: list[Area]) -> Any:
    return Area.objects.filter(pk__in=[a.pk for a in areas]).order_by("code")


def _password_pair(form: forms.Form, data: dict[str, Any]) -> None:
    first, second = data.get("password1"), data.get("password2")
    if first and second and first != second:
        form.add_error("password2", gettext("两次输入的密码不一致"))


class AccountCreateForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    display_name = forms.CharField(label=_("姓名"), max_length=50)
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)
    department = forms.ModelChoiceField(label=_("所属部门"), queryset=Department.objects.none(), required=False,
                                        empty_label=_("(无)"), help_text=_("仅职能部门人员填写"))
    area = AreaChoiceField(label=_("区域"), queryset=Area.objects.none(), required=False,
                           empty_label=_("(暂不绑定)"), help_text=_("网格员绑定网格,社区工作者绑定社区,街道人员绑定街道,区级角色绑定区"))
    kind = forms.ChoiceField(label=_("绑定方式"), choices=AssignmentKind.choices, initial=AssignmentKind.MEMBER,
                             help_text=_("网格员选主责(A角)或协管(B角),其他角色选所属"))
    password1 = forms.CharField(label=_("初始密码"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("再次输入密码"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args: Any, areas: list[Area], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(active=True).order_by("name")  # type: ignore[attr-defined]
        self.fields["area"].queryset = _areas(areas)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        _password_pair(self, data)
        return data


class AccountEditForm(forms.Form):
    display_name = forms.CharField(label=_("姓名"), max_length=50)
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)
    department = forms.ModelChoiceField(label=_("所属部门"), queryset=Department.objects.none(), required=False,
                                        empty_label=_("(无)"), help_text=_("仅职能部门人员填写"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.order_by("-active", "name")  # type: ignore[attr-defined]


class PasswordForm(forms.Form):
    password1 = forms.CharField(label=_("新密码"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("再次输入新密码"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        _password_pair(self, data)
        return data


class AssignmentForm(forms.Form):
    area = AreaChoiceField(label=_("区域"), queryset=Area.objects.none(), empty_label=_("(选择区域)"))
    kind = forms.ChoiceField(label=_("绑定方式"), choices=AssignmentKind.choices, initial=AssignmentKind.MEMBER)

    def __init__(self, *args: Any, areas: list[Area], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = _areas(areas)  # type: ignore[attr-defined]


class DepartmentForm(forms.Form):
    code = forms.CharField(label=_("部门编码"), max_length=50, help_text=_("字母、数字、-或_,建立后不可修改"))
    name = forms.CharField(label=_("部门名称"), max_length=100)
    kind = forms.ChoiceField(label=_("类型"), choices=DepartmentKind.choices)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)


class BoundaryField(forms.CharField):
    """A GeoJSON Polygon or MultiPolygon typed or pasted as text; empty for none. The shape
    and the coordinates are checked by the geo service."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(label=_("边界(GeoJSON)"), required=False, widget=CODE,
                         help_text=_('WGS-84经纬度,如 {"type": "Polygon", "coordinates": [[[120.20, 30.20], …]]}'),
                         **kwargs)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(gettext("不是有效的JSON:%(e)s") % {"e": error}) from None
        if isinstance(parsed, dict) and parsed.get("type") == "Feature":
            parsed = parsed.get("geometry")
        return parsed

    def prepare_value(self, value: Any) -> Any:
        return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value


class AreaCreateForm(forms.Form):
    level = forms.TypedChoiceField(label=_("层级"), coerce=int,
                                   choices=[(level.value, level.label) for level in AreaLevel if level != AreaLevel.DISTRICT])
    code = forms.CharField(label=_("编码"), max_length=20, help_text=_("上级编码再加3位数字(网格为社区编码加3位)"))
    name = forms.CharField(label=_("名称"), max_length=100)
    boundary = BoundaryField()


class AreaEditForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    boundary = BoundaryField()


class AreaMoveForm(forms.Form):
    parent = AreaChoiceField(label=_("新的上级区域"), queryset=Area.objects.none(), empty_label=None)
    code = forms.CharField(label=_("新编码"), max_length=20,
                           help_text=_("下级区域的编码随之更换;过去事件的统计仍计在原区域,可运行统计重建"))

    def __init__(self, *args: Any, areas: list[Area], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = _areas(areas)  # type: ignore[attr-defined]


class CategoryForm(forms.Form):
    """A category's settings; ``code``, ``parent`` and ``domain`` only when creating one."""

    parent = forms.ModelChoiceField(label=_("大类"), queryset=Category.objects.none(), required=False,
                                    empty_label=_("(新建大类)"))
    code = forms.CharField(label=_("类别编码"), max_length=20)
    domain = forms.ChoiceField(label=_("领域"), choices=CategoryDomain.choices, required=False,
                               help_text=_("小类沿用其大类的领域"))
    name = forms.CharField(label=_("名称"), max_length=50)
    default_level = forms.IntegerField(label=_("默认等级"), min_value=1, max_value=5, initial=3)
    register_hours = forms.IntegerField(label=_("立案时限(工作小时)"), min_value=1, initial=1)
    dispatch_hours = forms.IntegerField(label=_("派遣时限(工作小时)"), min_value=1, initial=1)
    handle_amount = forms.IntegerField(label=_("处置时限"), min_value=1, initial=3)
    handle_unit = forms.ChoiceField(label=_("处置时限单位"), choices=DeadlineUnit.choices, initial=DeadlineUnit.DAYS)
    verify_hours = forms.IntegerField(label=_("核查时限(工作小时)"), min_value=1, initial=4)
    close_hours = forms.IntegerField(label=_("结案时限(工作小时)"), min_value=1, initial=4)
    department = forms.ModelChoiceField(label=_("责任部门"), queryset=Department.objects.none(), required=False,
                                        empty_label=_("(无)"))
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.order_by("-active", "name")  # type: ignore[attr-defined]
        if creating:
            self.fields["parent"].queryset = Category.objects.filter(parent__isnull=True).order_by("order", "code")  # type: ignore[attr-defined]
        else:
            for name in ("parent", "code", "domain"):
                del self.fields[name]


class RuleForm(forms.Form):
    category = forms.ModelChoiceField(label=_("事件类别"), queryset=Category.objects.none(), required=False,
                                      empty_label=_("(任意类别)"))
    area = AreaChoiceField(label=_("区域"), queryset=Area.objects.none(), required=False,
                           empty_label=_("(任意区域)"))
    target = forms.ChoiceField(label=_("派遣对象"), choices=DispatchTarget.choices)
    department = forms.ModelChoiceField(label=_("处置部门"), queryset=Department.objects.none(), required=False,
                                        empty_label=_("(无)"), help_text=_("派给部门或专业队伍时填写"))
    priority = forms.IntegerField(label=_("优先级(越大越优先)"), initial=100)
    approval_min_level = forms.IntegerField(label=_("需审批的最低等级"), min_value=1, max_value=6, initial=6,
                                            help_text=_("社区派遣该等级及以上(1最高)的事件须经街道审批;6表示不需审批"))
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args: Any, areas: list[Area], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = (  # type: ignore[attr-defined]
            Category.objects.select_related("parent").order_by("code"))
        self.fields["area"].queryset = _areas(areas)  # type: ignore[attr-defined]
        self.fields["department"].queryset = Department.objects.filter(active=True).order_by("name")  # type: ignore[attr-defined]


_WEEKDAYS = re.compile(r"^([1-7])(?:-([1-7]))?$")
_PERIOD = re.compile(r"^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$")


def parse_opening_hours(text: str) -> dict[str, list[list[str]]]:
    """``1-5 08:30-11:30 13:30-17:00`` (one line per group of weekdays, 1 = Monday) into the
    window's ``{"1": [["08:30", "11:30"], …], …}``; a clear error naming the line."""
    hours: dict[str, list[list[str]]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        days = _WEEKDAYS.match(parts[0])
        if days is None or len(parts) < 2:
            raise forms.ValidationError(gettext("第%(n)d行:应为“星期 时段”,如 1-5 08:30-11:30 13:30-17:00") % {"n": number})
        first, last = int(days.group(1)), int(days.group(2) or days.group(1))
        periods = []
        for part in parts[1:]:
            period = _PERIOD.match(part)
            try:
                start, end = (time.fromisoformat(p.zfill(5)) for p in period.groups()) if period else (None, None)
            except ValueError:
                start = end = None
            if start is None or end is None:
                raise forms.ValidationError(gettext("第%(n)d行:时段“%(p)s”应为 08:30-11:30") % {"n": number, "p": part})
            periods.append([f"{start:%H:%M}", f"{end:%H:%M}"])
        for day in range(first, last + 1):
            hours[str(day)] = periods
    return hours


def format_opening_hours(hours: dict[str, list[list[str]]]) -> str:
    """The window's hours as :func:`parse_opening_hours` reads them, consecutive days with the
    same periods on one line."""
    lines: list[str] = []
    day = 1
    while day <= 7:
        periods = hours.get(str(day))
        if not periods:
            day += 1
            continue
        last = day
        while last < 7 and hours.get(str(last + 1)) == periods:
            last += 1
        days = str(day) if last == day else f"{day}-{last}"
        lines.append(" ".join([days, *(f"{start}-{end}" for start, end in periods)]))
        day = last + 1
    return "\n".join(lines)


class WindowForm(forms.Form):
    code = forms.CharField(label=_("窗口编码"), max_length=40)
    community = AreaChoiceField(label=_("所在大厅(社区或街道)"), queryset=Area.objects.none(), empty_label=None)
    name = forms.CharField(label=_("窗口名称"), max_length=100)
    opening_hours = forms.CharField(label=_("开放时间"), widget=TEXTAREA,
                                    help_text=_("每行一组:星期(1为周一,可写1-5)和时段,如 1-5 08:30-11:30 13:30-17:00;法定节假日不开放"))
    slot_minutes = forms.IntegerField(label=_("时段长度(分钟)"), min_value=5, max_value=240, initial=30)
    capacity_per_slot = forms.IntegerField(label=_("每时段名额"), min_value=1, max_value=100, initial=2)
    items = forms.ModelMultipleChoiceField(label=_("可办事项"), queryset=ServiceItem.objects.none(), required=False,
                                           widget=forms.SelectMultiple(attrs={"size": 10}))
    active = forms.BooleanField(label=_("在用"), required=False, initial=True)

    def __init__(self, *args: Any, areas: list[Area], creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        halls = [a for a in areas if a.level in (AreaLevel.STREET, AreaLevel.COMMUNITY)]
        self.fields["community"].queryset = _areas(halls)  # type: ignore[attr-defined]
        self.fields["items"].queryset = ServiceItem.objects.filter(active=True).order_by("code")  # type: ignore[attr-defined]
        if not creating:
            del self.fields["code"]
            del self.fields["community"]

    def clean_opening_hours(self) -> dict[str, list[list[str]]]:
        return parse_opening_hours(self.cleaned_data.get("opening_hours") or "")
