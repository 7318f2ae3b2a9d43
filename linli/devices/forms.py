"""Forms of the device pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.devices.choices import AlarmAction, DeviceKind


class DeviceForm(forms.Form):
    """Register a device and bind it to a person and/or a room (or only a grid: cameras)."""

    kind = forms.ChoiceField(label=_("类型"), choices=DeviceKind.choices)
    external_id = forms.CharField(label=_("设备标识"), max_length=100,
                                  help_text=_("设备在网关或平台上的名称,如 Zigbee2MQTT 的 friendly name"))
    name = forms.CharField(label=_("名称"), max_length=100, required=False)
    vendor = forms.CharField(label=_("厂商"), max_length=50, required=False)
    model = forms.CharField(label=_("型号"), max_length=50, required=False)
    spot = forms.CharField(label=_("安装位置"), max_length=50, required=False)
    person = forms.IntegerField(label=_("关爱对象编号"), required=False, min_value=1)
    room = forms.IntegerField(label=_("房屋编号"), required=False, min_value=1)
    grid = forms.ChoiceField(label=_("网格"), required=False)
    absence_hours = forms.IntegerField(label=_("未开门报警(小时)"), required=False, min_value=0, max_value=336,
                                       help_text=_("独居老人门磁默认24小时;0为关闭"))

    def __init__(self, *args: object, grids: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["grid"].choices = [("", "—"), *grids]  # type: ignore[attr-defined]


class AlarmActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a.value, a.value) for a in AlarmAction])
    note = forms.CharField(label=_("说明"), max_length=500, required=False)


class DeviceImportForm(forms.Form):
    file = forms.FileField(label=_("设备清单(CSV或XLSX)"))
    keep_valid = forms.BooleanField(label=_("只导入无误的行,列出有误的行"), required=False)
