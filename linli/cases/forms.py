"""Forms of the case pages: they parse input only; rules live in services.

Photos are read from ``request.FILES.getlist("photos")`` by the views; the service checks
their type by content.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.cases.choices import LEVEL_LABELS
from linli.cases.selectors import CategoryNode
from linli.cases.stats import COMPARES, GROUP_BYS, GROUP_LABELS


def category_choices(tree: list[CategoryNode]) -> list[Any]:
    """``<optgroup>`` per 大类 with its 小类 (only 小类 can be chosen)."""
    return [("", _("请选择事件类别")), *[
        (node.category.name, [(c.code, c.name) for c in node.children]) for node in tree if node.children
    ]]


class ReportForm(forms.Form):
    """A grid worker's or staff member's report, made on a phone."""

    category = forms.ChoiceField(label=_("事件类别"))
    description = forms.CharField(
        label=_("事件描述"), max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "data-testid": "report-description",
                                     "placeholder": _("例如:小区东门口有一堆建筑垃圾")}),
    )
    public_description = forms.CharField(
        label=_("公开描述"), max_length=2000, required=False,
        help_text=_("对外公开(Open311)的只有这段文字,不填则不公开描述。请勿填写姓名、电话、证件号和门牌室号;"
                    "电话、证件号和单元室号仍会被自动遮蔽。"),
        widget=forms.Textarea(attrs={"rows": 2, "data-testid": "report-public-description",
                                     "placeholder": _("例如:小区东门口有建筑垃圾待清运")}),
    )
    address = forms.CharField(
        label=_("地址"), max_length=200, required=False,
        widget=forms.TextInput(attrs={"data-testid": "report-address", "placeholder": _("在地图上选点后自动填写,也可直接填写")}),
    )
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    level = forms.TypedChoiceField(
        label=_("等级"), required=False, coerce=int, empty_value=None,
        choices=[("", _("按类别默认")), *LEVEL_LABELS.items()],
    )
    handled_on_spot = forms.BooleanField(
        label=_("已当场处置"), required=False,
        widget=forms.CheckboxInput(attrs={"data-testid": "report-on-spot"}),
    )

    def __init__(self, *args: Any, tree: list[CategoryNode], on_spot: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 -- narrows the type
        field.choices = category_choices(tree)
        field.widget.attrs["data-testid"] = "report-category"
        if not on_spot:
            del self.fields["handled_on_spot"]


class HotlineForm(ReportForm):
    """A 12345 call taken by an operator: who called and how to call them back."""

    reporter_name = forms.CharField(
        label=_("来电人"), max_length=50, required=False,
        widget=forms.TextInput(attrs={"data-testid": "hotline-caller"}),
    )
    callback_phone = forms.CharField(
        label=_("回访电话"), max_length=20, required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off",
                                      "data-testid": "hotline-phone"}),
    )
    hotline_number = forms.CharField(
        label=_("工单号"), max_length=60, required=False,
        help_text=_("12345 平台的工单号;同一工单重复录入只会生成一件事件。"),
        widget=forms.TextInput(attrs={"data-testid": "hotline-number"}),
    )


class TransitionForm(forms.Form):
    """One action on a case; ``expected_version`` guards against two people acting at once."""

    action = forms.CharField(max_length=32)
    expected_version = forms.IntegerField(min_value=1)
    note = forms.CharField(max_length=2000, required=False)
    target = forms.CharField(max_length=80, required=False)
    days = forms.IntegerField(required=False, min_value=1, max_value=30)
    satisfaction = forms.IntegerField(required=False, min_value=1, max_value=5)
    into = forms.IntegerField(required=False, min_value=1)

    def data_for_service(self) -> dict[str, Any]:
        """``dept:<code>`` / ``user:<id>`` → the service's ``department`` / ``assignee``."""
        cleaned = self.cleaned_data
        data: dict[str, Any] = {}
        kind, _sep, value = (cleaned.get("target") or "").partition(":")
        if kind == "dept" and value:
            data["department"] = value
        elif kind == "user" and value.isdigit():
            data["assignee"] = int(value)
        for name in ("days", "satisfaction", "into"):
            if cleaned.get(name) is not None:
                data[name] = cleaned[name]
        return data


class PublicDescriptionForm(forms.Form):
    """What the public feed (Open311) shows of a case; empty publishes no description."""

    public_description = forms.CharField(
        label=_("公开描述"), max_length=2000, required=False,
        widget=forms.Textarea(attrs={"rows": 2, "data-testid": "public-description-input"}),
    )


class RegradeForm(forms.Form):
    """A new level for an open case and why (定级 / 调整等级); the service checks the rules."""

    regrade_level = forms.TypedChoiceField(
        label=_("新等级"), coerce=int, choices=[(level, label) for level, label in LEVEL_LABELS.items()],
        widget=forms.Select(attrs={"data-testid": "regrade-level"}),
    )
    regrade_reason = forms.CharField(
        label=_("调整原因"), max_length=500, required=False,
        widget=forms.TextInput(attrs={"data-testid": "regrade-reason"}),
    )


class PhoneRevealForm(forms.Form):
    """Why the full callback phone is needed; the service enforces the reason rules."""

    reveal_reason = forms.CharField(
        label=_("查看事由"), max_length=500, required=False,
        widget=forms.TextInput(attrs={"data-testid": "reveal-reason", "placeholder": _("例如:回访来电人")}),
    )


class StatisticsForm(forms.Form):
    group_by = forms.ChoiceField(label=_("分组"), required=False,
                                 choices=[(g, GROUP_LABELS.get(g, g)) for g in GROUP_BYS])
    start = forms.DateField(label=_("开始日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("结束日期"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))
    compare = forms.ChoiceField(
        label=_("对比"), required=False,
        choices=[("", _("不对比")), *[(c, {"yoy": _("同比"), "mom": _("环比")}.get(c, c)) for c in COMPARES]],
    )

    def period(self, default: tuple[date, date]) -> tuple[str, date, date, str | None]:
        data = self.cleaned_data if self.is_valid() else {}
        return (data.get("group_by") or "grid", data.get("start") or default[0],
                data.get("end") or default[1], data.get("compare") or None)
