"""Headers and bodies (issue 15): CSP without inline script, HSTS and Secure cookies over
HTTPS, no-store for personal data, JSON 413/400 for bad API bodies, U+0000 refused naming
the field, and a search by a full ID number audited like a reveal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from linli.core.models import AuditEntry
from linli.registry.tests.conftest import registry  # noqa: F401 -- fixture

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_page_has_a_policy_without_inline_script(users: Any) -> None:
    response = _signed_in(users.street).get("/")
    policy = response["Content-Security-Policy"]
    script = re.search(r"script-src ([^;]+)", policy)
    assert script is not None
    assert "'unsafe-inline'" not in script.group(1)
    assert "'unsafe-eval'" not in script.group(1)
    assert "frame-ancestors 'none'" in policy
    assert Client().get("/login/")["Content-Security-Policy"] == policy


def test_no_template_holds_an_inline_script_or_event_handler() -> None:
    offenders = []
    for template in ROOT.glob("linli/**/templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        offenders += [f"{template.relative_to(ROOT)}: {tag}" for tag in re.findall(r"<script\b[^>]*>", text)
                      if "src=" not in tag and 'type="application/json"' not in tag]
        offenders += [f"{template.relative_to(ROOT)}: {m}" for m in re.findall(r"\son[a-z]+=\"", text)]
    assert offenders == []


def test_personal_data_is_never_cached(users: Any, registry: Any) -> None:  # noqa: F811
    client = _signed_in(users.street)
    page = client.get(f"/persons/{registry.wang.pk}/")
    api = client.get("/api/v1/persons", {"q": "王"})
    assert page.status_code == 200
    assert api.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert "no-store" in api["Cache-Control"]


def test_hsts_and_secure_cookies_when_served_over_https(settings: Any, users: Any) -> None:
    # given the settings LINLI_HTTPS=true produces (read in a fresh process)
    env = os.environ | {"LINLI_HTTPS": "true"}
    code = ("import os; os.environ['DJANGO_SETTINGS_MODULE']='linli.settings'; import django; django.setup();"
            "from django.conf import settings as s; import json;"
            "print(json.dumps([s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
            " list(s.SECURE_PROXY_SSL_HEADER)]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,  # noqa: S603
                         timeout=120)
    hsts, session_secure, csrf_secure, proxy = json.loads(out.stdout.strip().splitlines()[-1])
    assert hsts >= 31_536_000
    assert (session_secure, csrf_secure) == (True, True)
    assert proxy == ["HTTP_X_FORWARDED_PROTO", "https"]
    # when a request comes through the TLS proxy with those settings
    settings.SECURE_HSTS_SECONDS, settings.SECURE_PROXY_SSL_HEADER = hsts, tuple(proxy)
    settings.SESSION_COOKIE_SECURE = True
    response = Client().post("/login/", {"username": "street", "password": "Linli-test-2026"},
                             HTTP_X_FORWARDED_PROTO="https")
    # then
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.cookies["sessionid"]["secure"]


def test_an_oversized_api_body_is_a_json_413(users: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"category": "x", "description": "很长" * 2000})
    response = _signed_in(users.street).post("/api/v1/cases", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_an_api_body_of_another_type_is_a_json_400(users: Any) -> None:
    response = _signed_in(users.street).post("/api/v1/cases", "category=x", content_type="text/plain")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize(("body", "field"), [
    ({"category": "x", "description": "垃圾\x00满溢"}, "description"),
    ({"category": "x", "description": "x", "extra": {"note": ["ok", "\x00"]}}, "extra.note.1"),
])
def test_a_null_byte_in_a_json_text_is_refused_naming_the_field(users: Any, body: dict[str, Any], field: str) -> None:
    response = _signed_in(users.street).post("/api/v1/cases", body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_a_null_byte_in_a_query_is_refused_naming_the_parameter(users: Any) -> None:
    response = _signed_in(users.street).get("/api/v1/persons", {"q": "王\x00"})
    assert response.status_code == 422
    assert response.json()["field"] == "q"


def test_a_search_by_a_full_id_number_is_audited_like_a_reveal(users: Any, registry: Any) -> None:  # noqa: F811
    number = "11010519491231002X"
    client = _signed_in(users.community_a)
    # when the API and the search page are asked for the full number, and once for a name
    found = client.get("/api/v1/persons", {"q": number}).json()
    client.get("/search/", {"q": number})
    client.get("/api/v1/persons", {"q": "王"})
    # then two entries name who and whom, never the number
    entries = list(AuditEntry.objects.filter(action="person.search_id_number"))
    assert [item["id"] for item in found["items"]] == [registry.wang.pk]
    assert len(entries) == 2
    assert {e.target_id for e in entries} == {str(registry.wang.pk)}
    assert all(number not in json.dumps(row, default=str) for row in AuditEntry.objects.values())
