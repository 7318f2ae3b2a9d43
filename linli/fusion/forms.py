"""Forms of the fusion pages: upload, source definition, review, split and verification.

Forms check shape only; the rules (which file is readable, which definition is valid,
which answer is acceptable) live in readers, mapping and services, whose refusals are put
back on the form under the field they name.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from linli.core.errors import ApplicationError
from linli.fusion.choices import ConflictField
from linli.fusion.mapping import parse_source_definition
from linli.fusion.models import Source, SourceRecord
from linli.geo.models import Area


class SourceChoiceField(forms.ModelChoiceField[Source]):
    """Sources offered by department and name."""

    def label_from_instance(self, obj: Source) -> str:
        return f"{obj.department} · {obj.name or obj.code}"


class UploadForm(forms.Form):
    """Step 1 of the import wizard: which source, which file."""

    source = SourceChoiceField(
        label=_("数据来源"), queryset=Source.objects.none(), empty_label=_("请选择部门数据来源"),
        error_messages={"required": _("请选择数据来源"), "invalid_choice": _("请选择有效的数据来源")},
    )
    area = forms.ModelChoiceField(
        label=_("所属街道/区"), queryset=Area.objects.none(), empty_label=None, required=False,
        error_messages={"required": _("请选择导入所属的街道或区"), "invalid_choice": _("请选择本人负责的街道或区")},
    )
    file = forms.FileField(
        label=_("导出文件(CSV 或 XLSX)"),
        error_messages={"required": _("请选择要导入的文件"), "empty": _("文件为空")},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt", "data-testid": "upload-file"}),
    )

    def __init__(self, *args: Any, sources: QuerySet[Source], areas: QuerySet[Area] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["source"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 -- narrows the type for mypy
        field.queryset = sources
        field.widget.attrs["data-testid"] = "upload-source"
        area = self.fields["area"]
        assert isinstance(area, forms.ModelChoiceField)  # noqa: S101 -- narrows the type for mypy
        area.queryset = areas if areas is not None else Area.objects.none()
        area.widget.attrs["data-testid"] = "upload-area"
        first = area.queryset.first()
        if first is not None:
            area.initial = first.pk


    def clean_area(self) -> Area:
        """The chosen street/district; left out, the only one the importer has."""
        chosen = self.cleaned_data.get("area")
        if isinstance(chosen, Area):
            return chosen
        field = self.fields["area"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 -- narrows the type for mypy
        offered = field.queryset if field.queryset is not None else Area.objects.none()
        choices = list(offered[:2])
        if len(choices) != 1:
            raise forms.ValidationError(_("请选择导入所属的街道或区"))
        only: Area = choices[0]
        return only


class ReportDownloadForm(forms.Form):
    """The rejected-rows download: masked by default; full values need a reason."""

    full = forms.BooleanField(label=_("包含完整证件号和电话"), required=False)
    reason = forms.CharField(label=_("查看完整数据的理由"), required=False, max_length=200)


class SourceDefinitionForm(forms.Form):
    """The admin's edit of a source definition, as JSON checked by ``parse_source_definition``."""

    definition = forms.CharField(
        label=_("来源定义(JSON)"),
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "data-testid": "source-definition"}),
        error_messages={"required": _("请填写来源定义")},
    )

    def __init__(self, *args: Any, code: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.code = code

    def clean_definition(self) -> dict[str, Any]:
        text = self.cleaned_data["definition"]
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("JSON 格式错误:第%(line)s行第%(col)s列:%(msg)s"),
                params={"line": exc.lineno, "col": exc.colno, "msg": exc.msg},
            ) from None
        if not isinstance(data, dict):
            raise forms.ValidationError(_("来源定义必须是一个 JSON 对象"))
        try:
            parse_source_definition(data)
        except ApplicationError as error:
            # The message starts with the dotted key (``columns.身份证号.transforms[1]: …``).
            raise forms.ValidationError(error.message) from None
        if self.code is not None and data.get("code") != self.code:
            raise forms.ValidationError(
                _("code: 不能修改来源编码(应为 %(code)s);新来源请在版本库中添加定义文件"),
                params={"code": self.code},
            )
        return data


class SplitForm(forms.Form):
    """The source records to move out of a wrongly merged person."""

    records = forms.ModelMultipleChoiceField(
        label=_("拆分出去的来源记录"), queryset=SourceRecord.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请选择要拆分出去的来源记录"),
                        "invalid_choice": _("所选来源记录不属于该人员")},
    )

    def __init__(self, *args: Any, records: QuerySet[SourceRecord], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["records"]
        assert isinstance(field, forms.ModelMultipleChoiceField)  # noqa: S101 -- narrows the type for mypy
        field.queryset = records


DECEASED_CHOICES = [("", _("请选择")), ("0", _("健在")), ("1", _("已故"))]


class VerificationAnswerForm(forms.Form):
    """A grid worker's finding for one task: the value seen on the spot and a note."""

    value = forms.CharField(label=_("核实结果"), max_length=100,
                            error_messages={"required": _("请填写核实结果")})
    deceased_on = forms.DateField(label=_("死亡日期"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}),
                                  error_messages={"invalid": _("死亡日期格式应为 YYYY-MM-DD")})
    note = forms.CharField(label=_("备注"), max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, field: str, rooms: list[tuple[str, str]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_field = field
        value = self.fields["value"]
        if field == ConflictField.IS_DECEASED:
            self.fields["value"] = forms.ChoiceField(label=_("是否已故"), choices=DECEASED_CHOICES,
                                                     error_messages={"required": _("请选择是否已故")})
        elif field == ConflictField.DISABILITY_GRADE:
            self.fields["value"] = forms.ChoiceField(
                label=_("残疾等级"), choices=[("", _("请选择")), *[(str(g), _("%(g)s级") % {"g": g}) for g in range(1, 5)]],
                error_messages={"required": _("请选择残疾等级")})
        elif field == ConflictField.PHONE:
            value.label = _("联系电话")
            value.widget.attrs.update({"inputmode": "tel", "autocomplete": "off"})
        elif field == ConflictField.RESIDENCE:
            # The rooms of the task's grid: the worker picks where the person really lives.
            self.fields["value"] = forms.ChoiceField(
                label=_("实际居住房屋"), choices=[("", _("请选择房屋")), *(rooms or [])],
                error_messages={"required": _("请选择实际居住的房屋"), "invalid_choice": _("请选择有效的房屋")})
        if field != ConflictField.IS_DECEASED:
            del self.fields["deceased_on"]
        self.fields["value"].widget.attrs["data-testid"] = "task-value"

    def answer(self) -> dict[str, Any]:
        """The answer in the shape ``verification_answer`` takes."""
        data = self.cleaned_data
        answer: dict[str, Any] = {self.task_field: data["value"]}
        if self.task_field == ConflictField.IS_DECEASED and data.get("deceased_on"):
            answer["deceased_on"] = data["deceased_on"]
        return answer
