"""Request id: one id per request, echoed in a header and written into audit entries."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-Id"] = request_id
        return response


class DefaultLanguageMiddleware:
    """Chinese unless the person chose otherwise (language cookie set by /i18n/setlang/).

    Django's LocaleMiddleware would follow the browser's Accept-Language, so a clerk on an
    English-configured browser would get an English workbench: we want zh-hans by default.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            # The thread serves other requests and renders without one (500 page, tasks in
            # the same process): they must not inherit this person's language.
            translation.deactivate()
        response.headers.setdefault("Content-Language", language)
        return response


# Scripts only from our own static files (no inline script, no eval); styles may be inline
# attributes. Tiles of an optional map server are images from its origin.
def content_security_policy() -> str:
    tiles = getattr(settings, "LINLI_MAP_TILE_URL", "") or ""
    origin = "/".join(tiles.split("/")[:3]).replace("{s}.", "*.") if tiles.startswith("http") else ""
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob:{' ' + origin if origin else ''}; connect-src 'self'; font-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


API_PREFIX = "/api/"
_BODY_TYPES = ("application/json", "multipart/form-data")
_JSON = "application/json"


def _json_error(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "field": field}, status=status,
                        json_dumps_params={"ensure_ascii": False})


def _null_byte_at(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string holding U+0000, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return inner
            found = _null_byte_at(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _null_byte_at(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


class SecurityHeadersMiddleware:
    """Headers and body checks every response and API request gets (issue 15).

    - ``Content-Security-Policy`` on every page (a view may set a stricter one);
    - ``Cache-Control: no-store`` on whatever a signed-in user or an API caller receives:
      personal data must not stay in a shared or browser cache;
    - API bodies: too large → 413, neither JSON nor multipart → 400, a U+0000 in any text
      (body or query) → 422 naming the field; all in the API's error shape.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self._refuse_api_body(request) if request.path.startswith(API_PREFIX) else None
        response = refusal or self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        user = getattr(request, "user", None)
        # A view marks a response that holds no personal data (map tiles) to keep its caching.
        personal = not getattr(response, "linli_no_personal_data", False)
        if personal and (request.path.startswith(API_PREFIX) or (user is not None and user.is_authenticated)):
            response["Cache-Control"] = "no-store, private"
        return response

    def _refuse_api_body(self, request: HttpRequest) -> HttpResponse | None:
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                return _json_error(422, "invalid", _("不能包含空字符 (U+0000)"), name.replace("\x00", ""))
        if request.method not in {"POST", "PUT", "PATCH"}:
            return None
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        kind = request.content_type or ""
        limit = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE if kind == _JSON
                 else int(getattr(settings, "LINLI_API_MAX_BODY_MB", 50)) << 20)
        if limit is not None and length > limit:
            return _json_error(413, "too_large", _("请求体过大(上限 %(kb)s KB)") % {"kb": limit // 1024})
        if length and kind not in _BODY_TYPES:
            return _json_error(400, "invalid", _("请求体须为 application/json 或 multipart/form-data"), None)
        if kind == _JSON and length:
            try:
                body = json.loads(request.body)
            except (ValueError, UnicodeDecodeError):
                return None  # the API answers a malformed body itself
            field = _null_byte_at(body)
            if field is not None:
                return _json_error(422, "invalid", _("不能包含空字符 (U+0000)"), field)
        elif kind == "multipart/form-data":
            for name, values in request.POST.lists():
                if "\x00" in name or any("\x00" in v for v in values):
                    return _json_error(422, "invalid", _("不能包含空字符 (U+0000)"), name.replace("\x00", ""))
        return None
