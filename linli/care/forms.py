"""Forms of the care pages: they parse; services decide."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.care.choices import VISIT_FINDINGS, Colour


class VisitForm(forms.Form):
    visited_at = forms.DateTimeField(label=_("走访时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    place = forms.CharField(label=_("地点"), max_length=200, required=False)
    met = forms.CharField(label=_("见到的人"), max_length=100, required=False)
    notes = forms.CharField(label=_("情况记录"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    needs = forms.CharField(label=_("诉求"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    lon = forms.FloatField(label=_("经度"), required=False, widget=forms.HiddenInput)
    lat = forms.FloatField(label=_("纬度"), required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, (label, answers) in VISIT_FINDINGS.items():
            self.fields[f"finding_{key}"] = forms.ChoiceField(
                label=str(label), choices=[(a, str(t)) for a, t in answers], widget=forms.RadioSelect,
                initial=answers[0][0])

    def findings(self) -> dict[str, str]:
        return {key: self.cleaned_data[f"finding_{key}"] for key in VISIT_FINDINGS}

    @property
    def finding_fields(self) -> list[forms.BoundField]:
        return [self[f"finding_{key}"] for key in VISIT_FINDINGS]


class RuleForm(forms.Form):
    rule = forms.CharField(label=_("条件(JSON)"), widget=forms.Textarea(attrs={"rows": 14, "class": "mono"}))
    effective_from = forms.DateField(label=_("生效日期"), required=False,
                                     widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(label=_("标准(元/月)"), required=False, max_digits=9, decimal_places=2)
    note = forms.CharField(label=_("修改说明"), max_length=300, required=False)
    allow_everyone = forms.BooleanField(label=_("确认该条件适用于全部人员"), required=False)

    def clean_rule(self) -> Any:
        try:
            return json.loads(self.cleaned_data["rule"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(_("不是有效的JSON：第%(line)s行第%(col)s列") % {
                "line": error.lineno, "col": error.colno}) from error


class LevelRuleForm(forms.Form):
    # Optional: an edit without it keeps the rule's colour; the service refuses an unknown one.
    colour = forms.ChoiceField(label=_("颜色"), choices=Colour.choices, required=False)
    name = forms.CharField(label=_("名称"), max_length=100)
    rule = forms.CharField(label=_("条件(JSON)"), widget=forms.Textarea(attrs={"rows": 14, "class": "mono"}))

    def clean_rule(self) -> Any:
        try:
            return json.loads(self.cleaned_data["rule"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(_("不是有效的JSON：第%(line)s行第%(col)s列") % {
                "line": error.lineno, "col": error.colno}) from error
