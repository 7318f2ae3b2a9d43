"""Forms of the workbench: they parse input only; rules live in services and selectors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.web.audit_words import action_words

REVEAL_FIELDS = (
    ("id_number", _("身份证号")),
    ("phone", _("电话")),
)


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("用户名"), max_length=150,
        widget=forms.TextInput(attrs={
            "autocomplete": "username", "autocapitalize": "none", "autofocus": True,
            "data-testid": "login-username",
        }),
    )
    password = forms.CharField(
        label=_("密码"), max_length=256, strip=False,
        widget=forms.PasswordInput(attrs={
            "autocomplete": "current-password", "data-testid": "login-password",
        }),
    )


class SearchForm(forms.Form):
    q = forms.CharField(label=_("查询"), max_length=100, required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=200)


class RevealForm(forms.Form):
    """Which identifier to show in full, and why. The service enforces the reason rules."""

    field = forms.ChoiceField(label=_("查看内容"), choices=REVEAL_FIELDS)
    reason = forms.CharField(
        label=_("查看事由"), max_length=500, required=False,
        widget=forms.TextInput(attrs={
            "data-testid": "reveal-reason", "placeholder": _("例如:入户走访核实身份"),
        }),
    )


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("动作"), required=False)
    actor = forms.CharField(label=_("操作人"), max_length=150, required=False)

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action_field = self.fields["action"]
        assert isinstance(action_field, forms.ChoiceField)  # noqa: S101 - narrows the type
        action_field.choices = [("", _("全部动作")), *[(a, action_words(a)) for a in actions]]


class PersonListForm(forms.Form):
    """Filters of the key-population list; the selector checks them again (API callers)."""

    tag = forms.ChoiceField(label=_("重点人群"), required=False)
    grid = forms.TypedChoiceField(label=_("网格"), required=False, coerce=int, empty_value=None)
    age_min = forms.IntegerField(label=_("最小年龄"), required=False, min_value=0, max_value=130,
                                 widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    age_max = forms.IntegerField(label=_("最大年龄"), required=False, min_value=0, max_value=130,
                                 widget=forms.NumberInput(attrs={"inputmode": "numeric"}))

    def __init__(self, *args: Any, tags: list[tuple[str, str]], grids: list[tuple[int, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tag_field = self.fields["tag"]
        grid_field = self.fields["grid"]
        assert isinstance(tag_field, forms.ChoiceField)  # noqa: S101 - narrows the type
        assert isinstance(grid_field, forms.TypedChoiceField)  # noqa: S101 - narrows the type
        tag_field.choices = [("", _("全部人员")), *tags]
        grid_field.choices = [("", _("全部网格")), *grids]


class PlaceForm(forms.Form):
    """Where a not-yet-placed person lives: an address down to the room."""

    address = forms.CharField(
        label=_("落位地址"), max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("例如:江景苑3幢1单元101"), "data-testid": "place-address"}),
    )
