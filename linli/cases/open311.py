"""Open311 GeoReport v2 at ``/open311/v2/`` (https://wiki.open311.org/GeoReport_v2).

Plain Django views, because the specification fixes details a schema framework would fight:
the format is a path suffix (``services.xml`` / ``services.json``), XML element names and
order are fixed, lists are arrays even for one item, errors are ``[{"code", "description"}]``
with 404 / 403 / 400. Reads are public (the specification has no read key) and therefore
never carry personal data: a case is shown only through its ``public_description`` (staff
choose it; a resident's report defaults to their own words), every text field goes through
:mod:`linli.cases.disclosure` (identifiers masked in any notation, the address cut to the
building), no reporter, no phone, and the position rounded to about ten metres.

Writes go through :func:`linli.cases.services.case_open` with ``source="open311"``; the
reply is sent after the case row is committed, so ``service_request_id`` is always real.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from linli.accounts.models import ApiKey
from linli.accounts.selectors import scope_for
from linli.accounts.services import api_key_authenticate
from linli.cases import disclosure, services
from linli.cases.choices import FINAL_STATUSES, CaseSource, CaseStatus
from linli.cases.models import Case, CaseEvent, Category
from linli.cases.open311_attributes import (
    AttributeInvalid,
    attribute_lines,
    category_attributes,
    checked_attributes,
    has_html,
)
from linli.core.actors import SystemActor
from linli.core.errors import ApplicationError
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

SPEC_URL = "https://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00+08:00"  # bump when the service list's shape changes
CONTENT_TYPES: dict[str, str] = {
    "xml": "text/xml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
# The scope an integration key needs to POST requests (and POST /api/v1/cases).
REPORT_SCOPE = "cases.report"
DESCRIPTION_MAX = 4000
RANGE_MAX = timedelta(days=90)
LIST_MAX = 1000
# 4 decimals of a degree ≈ 11 m: the building, never the flat.
PUBLIC_DECIMALS = 4

# XML child element of each list-valued field (the JSON form is a plain array).
_ITEM_TAGS: dict[str, str] = {
    "attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format",
}
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


class Open311Error(Exception):
    """A refusal in the specification's error format; ``status`` is 400, 403 or 404."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


# --- Rendering ----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, list):
        for item in value:
            _append(element, _ITEM_TAGS.get(tag, "item"), item)
    else:
        element.text = _text(value)


def render_xml(root: str, item: str | None, payload: Any) -> bytes:
    """``payload`` (a list of mappings, or one mapping when ``item`` is None) as the spec's XML."""
    element = ET.Element(root)
    if item is None:
        for key, value in payload.items():
            _append(element, key, value)
    else:
        for row in payload:
            _append(element, item, row)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return body


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(type(value).__name__)


def respond(fmt: str, root: str, item: str | None, payload: Any, *, status: int = 200) -> HttpResponse:
    if fmt == "json":
        body = json.dumps(payload, ensure_ascii=False, default=_json_default).encode()
    else:
        body = render_xml(root, item, payload)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES.get(fmt, CONTENT_TYPES["xml"]))


def error_response(fmt: str, status: int, description: str) -> HttpResponse:
    # An unknown format answers in XML, the specification's default.
    fmt = fmt if fmt in CONTENT_TYPES else "xml"
    return respond(fmt, "errors", "error", [{"code": status, "description": description}], status=status)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in Beijing time with its offset, e.g. ``2026-11-23T09:30:00+08:00``."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


# --- Privacy of public reads ---------------------------------------------------------------


def _public_coordinate(value: float | None) -> float | None:
    return None if value is None else round(value, PUBLIC_DECIMALS)


# --- Parsing --------------------------------------------------------------------------------


def _check_format(fmt: str) -> None:
    if fmt not in CONTENT_TYPES:
        raise Open311Error(404, _("不支持的格式,请使用 xml 或 json。"))


def _check_jurisdiction(params: QueryDict) -> None:
    """One jurisdiction per server: an optional ``jurisdiction_id`` must name one of our areas."""
    jurisdiction = params.get("jurisdiction_id", "").strip()
    if not jurisdiction:
        return
    allowed = Area.objects.filter(code=jurisdiction, level__lte=AreaLevel.STREET)
    if jurisdiction not in _host_names() and not allowed.exists():
        raise Open311Error(404, _("未知的辖区 jurisdiction_id。"))


def _host_names() -> set[str]:
    return {host for host in settings.ALLOWED_HOSTS if host and not host.startswith(".") and host != "*"}


def parse_when(value: str, field: str) -> datetime:
    """W3C/ISO 8601 date-time (``2010-01-01T00:00:00Z``) or date; naive means Beijing time."""
    value = value.strip()
    parsed: datetime | None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = datetime(day.year, day.month, day.day) if day else None  # noqa: DTZ001 -- made aware below
    except ValueError:
        parsed = None
    if parsed is None:
        raise Open311Error(400, _("%(field)s 不是有效的 ISO 8601 时间。") % {"field": field})
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def date_range(params: QueryDict, *, now: datetime) -> tuple[datetime, datetime]:
    """``start_date``/``end_date``: at most 90 days apart; default the last 90 days."""
    start_raw, end_raw = params.get("start_date", ""), params.get("end_date", "")
    end = parse_when(end_raw, "end_date") if end_raw else None
    start = parse_when(start_raw, "start_date") if start_raw else None
    if start is None and end is None:
        end = now
    if end is None:
        assert start is not None  # noqa: S101 -- narrows the type
        end = min(start + RANGE_MAX, now) if start < now else start + RANGE_MAX
    if start is None:
        start = end - RANGE_MAX
    if end < start:
        raise Open311Error(400, _("end_date 不能早于 start_date。"))
    if end - start > RANGE_MAX:
        raise Open311Error(400, _("start_date 与 end_date 相隔不能超过 90 天。"))
    return start, end


def parse_attributes(data: QueryDict) -> dict[str, str | list[str]]:
    """``attribute[code]=v`` and ``attribute[code][]=v1&…`` (multi-value lists)."""
    found: dict[str, str | list[str]] = {}
    for key in data:
        match = _ATTRIBUTE_KEY.match(key)
        if not match:
            continue
        code, multi = match.group(1), match.group(2)
        values = [v.strip() for v in data.getlist(key)]
        found[code] = values if multi else values[-1]
    return found




# --- Public projections ---------------------------------------------------------------------


def public_cases() -> QuerySet[Case]:
    """Cases the public may read: city-management matters and what came in through Open311.

    Community-governance cases (disputes, care of vulnerable residents, security) stay
    internal whatever their channel: they are about people, not streets.
    """
    return (
        Case.objects.filter(Q(category__domain="city") | Q(source=CaseSource.OPEN311))
        .select_related("category", "department", "merged_into")
        # What ``request_row`` shows, no more: a list page is up to 1,000 cases, and whole
        # rows (a case and the case it was merged into, 44 columns each) cost more than the query.
        .only(*_PUBLIC_COLUMNS)
    )


_PUBLIC_COLUMNS = (
    "number", "status", "public_description", "address", "lat", "lon", "created_at", "updated_at", "due_at",
    "stage_due_at", "category__name", "category__code", "category__handle_unit", "category__handle_amount",
    "department__name", "merged_into__number",
)


def _is_closed(status: str) -> bool:
    return status in FINAL_STATUSES


def _status_notes(case: Case) -> str:
    if case.status == CaseStatus.MERGED and case.merged_into is not None:
        return _("已与 %(number)s 合并处理。") % {"number": case.merged_into.number}
    return str(case.get_status_display())


def service_notice(category: Category) -> str:
    if category.handle_unit == "days":
        return _("将在%(amount)s个工作日内处置。") % {"amount": category.handle_amount}
    return _("将在%(amount)s个工作小时内处置。") % {"amount": category.handle_amount}


# Identifiers and codes of a public row, left as they are; every other text is masked.
_ROW_KEEP = ("service_request_id", "status", "service_code", "requested_datetime",
             "updated_datetime", "expected_datetime", "token")


def request_row(case: Case) -> dict[str, Any]:
    """One request as the specification orders its fields; no personal data: the public
    description only, and every text field masked (:func:`disclosure.public_row`)."""
    return disclosure.public_row({
        "service_request_id": case.number,
        "status": "closed" if _is_closed(case.status) else "open",
        "status_notes": _status_notes(case),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": case.public_description or None,
        "agency_responsible": case.department.name if case.department else None,
        "service_notice": service_notice(case.category),
        "requested_datetime": iso(case.created_at),
        "updated_datetime": iso(case.updated_at),
        "expected_datetime": iso(case.due_at or case.stage_due_at),
        "address": case.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": _public_coordinate(case.lat),
        "long": _public_coordinate(case.lon),
        "media_url": None,
    }, keep=_ROW_KEEP)


def _service_categories() -> QuerySet[Category]:
    return (Category.objects.filter(active=True, parent__isnull=False, parent__active=True)
            .select_related("parent").order_by("parent__order", "parent__code", "order", "code"))


def service_row(category: Category) -> dict[str, Any]:
    parent = category.parent
    assert parent is not None  # noqa: S101 -- services are 小类
    keywords = [category.name, parent.name, str(category.get_domain_display())]
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": _("%(major)s · %(minor)s。%(notice)s") % {
            "major": parent.name, "minor": category.name, "notice": service_notice(category)},
        "metadata": bool(category_attributes(category)),
        "type": "realtime",
        "keywords": ", ".join(dict.fromkeys(keywords)),
        "group": parent.name,
    }


# --- Views ------------------------------------------------------------------------------------

View = Callable[..., HttpResponse]


def open311_view(*methods: str) -> Callable[[View], View]:
    """Format check, jurisdiction check and the specification's error format for every view."""

    def decorate(view: View) -> View:
        @csrf_exempt
        def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            try:
                _check_format(fmt)
                if request.method not in methods:
                    raise Open311Error(400, _("该接口不支持 %(method)s 请求。") % {"method": request.method})
                _check_jurisdiction(request.GET if request.method == "GET" else _merged_params(request))
                return view(request, fmt, **kwargs)
            except Open311Error as error:
                return error_response(fmt, error.status, error.description)

        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return wrapper

    return decorate


def _merged_params(request: HttpRequest) -> QueryDict:
    """POST body first, then the query string (``api_key`` may sit in either)."""
    merged = request.GET.copy()
    for key in request.POST:
        merged.setlist(key, request.POST.getlist(key))
    return merged


@open311_view("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    base = request.build_absolute_uri("./").rstrip("/")
    payload = {
        "changeset": CHANGESET,
        "contact": _("请联系街道城市运行指挥中心。"),
        "key_service": _("提交诉求需要接口密钥(权限 cases.report),请向区级管理员申请。"),
        "endpoints": [{
            "specification": SPEC_URL,
            "url": base,
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }
    return respond(fmt, "discovery", None, payload)


@open311_view("GET")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    return respond(fmt, "services", "service", [service_row(c) for c in _service_categories()])


def _service(code: str) -> Category:
    category = _service_categories().filter(code=code).first()
    if category is None:
        raise Open311Error(404, _("未知的服务代码 service_code: %(code)s") % {"code": code})
    return category


@open311_view("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = _service(code)
    payload = {"service_code": category.code, "attributes": category_attributes(category)}
    return respond(fmt, "service_definition", None, payload)


def _comma_list(params: QueryDict, name: str) -> list[str]:
    return [part.strip() for value in params.getlist(name) for part in value.split(",") if part.strip()]


@open311_view("GET", "POST")
def requests_view(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create_request(request, fmt)
    params = request.GET
    rows = public_cases()
    ids = _comma_list(params, "service_request_id")
    if ids:
        # The specification: a list of ids overrides every other filter.
        rows = rows.filter(number__in=ids[:LIST_MAX])
    else:
        codes = _comma_list(params, "service_code")
        if codes:
            rows = rows.filter(category__code__in=codes)
        statuses = set(_comma_list(params, "status"))
        if statuses - {"open", "closed"}:
            raise Open311Error(400, _("status 只能是 open 或 closed。"))
        if statuses == {"open"}:
            rows = rows.exclude(status__in=FINAL_STATUSES)
        elif statuses == {"closed"}:
            rows = rows.filter(status__in=FINAL_STATUSES)
        start, end = date_range(params, now=timezone.now())
        rows = rows.filter(created_at__gte=start, created_at__lte=end)
    found = [request_row(case) for case in rows.order_by("-created_at", "-id")[:LIST_MAX]]
    return respond(fmt, "service_requests", "request", found)


@open311_view("GET")
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    case = public_cases().filter(number=request_id).first()
    if case is None:
        raise Open311Error(404, _("未找到诉求 %(id)s。") % {"id": request_id})
    return respond(fmt, "service_requests", "request", [request_row(case)])


TOKEN_PREFIX = "o311:"  # noqa: S105 -- a key prefix, not a secret


@open311_view("GET")
def token_detail(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    case = Case.objects.filter(source=CaseSource.OPEN311, source_key=TOKEN_PREFIX + token).first()
    if case is None:
        raise Open311Error(404, _("未知的 token。"))
    return respond(fmt, "service_requests", "request", [{"service_request_id": case.number, "token": token}])


@open311_view("GET")
def request_updates(request: HttpRequest, fmt: str) -> HttpResponse:
    """FixMyStreet's ``servicerequestupdates``: status changes of public requests."""
    start, end = date_range(request.GET, now=timezone.now())
    events = (
        CaseEvent.objects.filter(case__in=public_cases(), at__gte=start, at__lte=end)
        .exclude(to_status="").exclude(action="photo")
        .select_related("case").order_by("at", "id")[:LIST_MAX]
    )
    rows = [disclosure.public_row({
        "update_id": event.pk,
        "service_request_id": event.case.number,
        "status": "closed" if _is_closed(event.to_status) else "open",
        "updated_datetime": iso(event.at),
        # The action in words, never the free-text note (it may name people).
        "description": str(CaseStatus(event.to_status).label) if event.to_status in CaseStatus.values else "",
        "media_url": None,
    }, keep=_ROW_KEEP) for event in events]
    return respond(fmt, "service_request_updates", "request_update", rows)


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return error_response("xml", 404, _("没有这个接口。"))


# --- POST requests ------------------------------------------------------------------------------


def report_key(params: QueryDict) -> ApiKey:
    """The integration key from ``api_key`` (body or query); 403 when missing, bad or unscoped."""
    raw = params.get("api_key", "").strip()
    key = api_key_authenticate(raw=raw) if raw else None
    if key is None or REPORT_SCOPE not in (key.scopes or []):
        raise Open311Error(403, _("api_key 缺失或无效,或没有提交诉求的权限。"))
    return key


def _float(params: QueryDict, name: str) -> float | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise Open311Error(400, _("%(field)s 必须是数字。") % {"field": name}) from None


def idempotency_token(key: ApiKey, params: QueryDict, header: str) -> str:
    """The same submission retried gives the same case: a key's explicit ``Idempotency-Key``,
    else the device and the content of the report on the same day (Beijing time)."""
    if header:
        basis = ["header", key.prefix, header]
    else:
        fields = ("service_code", "device_id", "description", "lat", "long", "address_string", "address_id")
        basis = ["body", key.prefix, timezone.localdate().isoformat(), *(params.get(f, "").strip() for f in fields)]
    return hashlib.sha256("\x1f".join(basis).encode()).hexdigest()[:48]


def _create_request(request: HttpRequest, fmt: str) -> HttpResponse:
    params = _merged_params(request)
    key = report_key(params)
    grids = frozenset(scope_for(key).grid_ids)
    code = params.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, _("缺少 service_code。"))
    category = _service(code)
    lat, lon = _float(params, "lat"), _float(params, "long")
    address = params.get("address_string", "").strip()
    address_id = params.get("address_id", "").strip()
    if (lat is None) != (lon is None):
        raise Open311Error(400, _("lat 与 long 必须同时提供。"))
    if lat is None and not address and address_id:
        from linli.registry.models import Building

        # only the buildings of the key's own grids: another area's id is as unknown as a wrong one
        building = (Building.objects.filter(pk=int(address_id), grid_id__in=grids).first()
                    if address_id.isdigit() and len(address_id) < 19 else None)
        if building is None:
            raise Open311Error(400, _("未知的 address_id。"))
        lat, lon, address = building.lat, building.lon, building.address
    if lat is None and not address:
        raise Open311Error(400, _("请提供位置:lat 与 long、address_string 或 address_id 之一。"))
    description = params.get("description", "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise Open311Error(400, _("description 不能超过4000字。"))
    if has_html(description):
        raise Open311Error(400, _("description 不能包含 HTML。"))
    try:
        answers = checked_attributes(category, parse_attributes(params))
    except AttributeInvalid as error:
        raise Open311Error(400, error.message) from None
    lines = attribute_lines(category, answers)
    if not description and not lines:
        description = category.name
    if lines:
        description = "\n".join([description, *lines]).strip()
    name = (params.get("last_name", "").strip() + params.get("first_name", "").strip())[:50]
    token = idempotency_token(key, params, request.headers.get("Idempotency-Key", "").strip())
    try:
        case, _created = services.case_open_with_attributes(
            attributes=answers,
            actor=SystemActor(f"apikey:{key.prefix}"), source=CaseSource.OPEN311, category=category,
            description=description, lon=lon, lat=lat, address=address, reporter_name=name,
            callback_phone=params.get("phone", "").strip(), source_key=TOKEN_PREFIX + token,
            request_id=str(getattr(request, "request_id", "")), within_grids=grids,
        )
    except ApplicationError as error:
        field = f"{_OPEN311_FIELDS.get(error.field or '', error.field)}: " if error.field else ""
        raise Open311Error(400, f"{field}{error.message}") from None
    row = {"service_request_id": case.number, "service_notice": service_notice(category), "account_id": None}
    return respond(fmt, "service_requests", "request", [row])


# Our field names → the specification's, for error descriptions.
_OPEN311_FIELDS: dict[str, str] = {
    "lon": "long", "address": "address_string", "callback_phone": "phone",
    "reporter_name": "first_name", "category": "service_code",
}

