"""Open311 service-definition attributes of a category, and checking the answers posted as
``attribute[code]`` (GeoReport v2: ``datatype`` string, number, datetime, text,
singlevaluelist or multivaluelist). The attributes come from ``Category.attributes``
(seeded by :mod:`linli.cases.taxonomy`)."""

from __future__ import annotations

import re
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from linli.cases.models import Category

_HTML = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|&(?:[a-zA-Z]+|#\d+);")


class AttributeInvalid(Exception):  # noqa: N818 -- a refusal, reported as 400 by the view
    """An answer missing or not of its attribute's datatype; ``message`` names the attribute."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def has_html(text: str) -> bool:
    return bool(_HTML.search(text))


def category_attributes(category: Category) -> list[dict[str, Any]]:
    """The service definition's attributes, in the specification's field order.

    Read from ``Category.attributes`` (seeded by :mod:`linli.cases.taxonomy`: a list of
    ``{code, description, datatype, required, values: [{key, name}]}``), else none.
    """
    raw = category.attributes or []
    attributes = []
    for order, item in enumerate(raw, start=1):
        attributes.append({
            "variable": bool(item.get("variable", True)),
            "code": str(item["code"]),
            "datatype": str(item.get("datatype", "string")),
            "required": bool(item.get("required", False)),
            "datatype_description": item.get("datatype_description") or None,
            "order": int(item.get("order", order)),
            "description": str(item.get("description", item["code"])),
            "values": [{"key": str(v["key"]), "name": str(v["name"])} for v in item.get("values", [])],
        })
    return attributes


ATTRIBUTE_TEXT_MAX = 500


def _attribute_value(attribute: dict[str, Any], value: str | list[str]) -> str | list[str]:
    """One answer checked against its attribute's datatype (what the case stores)."""
    code, datatype = attribute["code"], attribute["datatype"]
    invalid = AttributeInvalid(_("属性 attribute[%(code)s] 的取值无效。") % {"code": code})
    keys = {v["key"] for v in attribute["values"]}
    if datatype == "multivaluelist":
        chosen = list(dict.fromkeys(value if isinstance(value, list) else [value]))
        if any(v not in keys for v in chosen):
            raise invalid
        return chosen
    if isinstance(value, list):
        if len(value) != 1:
            raise invalid  # one value only, however it was sent
        value = value[0]
    if datatype == "singlevaluelist" and value not in keys:
        raise invalid
    if datatype == "number":
        try:
            float(value)
        except ValueError:
            raise invalid from None
    if datatype == "datetime" and parse_datetime(value) is None and parse_date(value) is None:
        raise invalid
    if len(value) > ATTRIBUTE_TEXT_MAX or has_html(value):
        raise invalid
    return value


def checked_attributes(category: Category, given: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    """``attribute[…]`` checked against the service definition: every required attribute
    answered, each answer of its datatype (list values among the listed keys). Codes the
    definition does not list are ignored, as are its informational (``variable=false``)
    attributes."""
    answers: dict[str, str | list[str]] = {}
    for attribute in category_attributes(category):
        if not attribute["variable"]:
            continue
        code = attribute["code"]
        value = given.get(code)
        if value is None or value in ("", []) or (isinstance(value, list) and not any(value)):
            if attribute["required"]:
                raise AttributeInvalid(_("缺少必填属性 attribute[%(code)s]。") % {"code": code})
            continue
        answers[code] = _attribute_value(attribute, value)
    return answers


def attribute_lines(category: Category, answers: dict[str, str | list[str]]) -> list[str]:
    """The answers as lines for the case description (names of list values)."""
    lines = []
    for attribute in category_attributes(category):
        value = answers.get(attribute["code"])
        if value is None:
            continue
        names = {v["key"]: v["name"] for v in attribute["values"]}
        shown = ", ".join(str(names.get(v, v)) for v in (value if isinstance(value, list) else [value]))
        lines.append(f"{attribute['description']}: {shown}")
    return lines
