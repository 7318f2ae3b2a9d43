"""Codes of a service item's definition in words on pages (issue 16 item 8)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

register = template.Library()

ACCEPT_LABELS: dict[str, Promise] = {"image": gettext_lazy("图片"), "pdf": gettext_lazy("PDF 文件")}


@register.filter
def accept_words(accept: list[str] | None) -> str:
    """``["image", "pdf"]`` → ``图片、PDF 文件``."""
    # Translators: separator between items of a list, "、" in Chinese, ", " in English.
    return _("、").join(str(ACCEPT_LABELS.get(kind, kind)) for kind in accept or [])


@register.filter
def material_name(code: str, materials: list[dict[str, Any]] | None) -> str:
    """A file's material by the name the item's version gives it; a code the version does not
    list (an older definition) is shown as "其他材料"."""
    for material in materials or []:
        if material.get("code") == code:
            return str(material.get("name") or _("其他材料"))
    return _("其他材料")
