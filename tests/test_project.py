"""Project-wide guarantees: migrations, deploy checks, the API schema, strict config, the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from linli.cli import main, parse
from linli.geo.models import Area
from linli.registry.models import Person

PROJECT_DIR = Path(__file__).resolve().parents[1]
# Deploy warnings we accept and document in docs/deployment.md: TLS, HSTS and the HTTP→HTTPS
# redirect belong to the reverse proxy in front of linli (intranets often terminate TLS there).
DOCUMENTED_DEPLOY_WARNINGS = {"security.W004", "security.W008"}
# Resources the registry API must expose (issue #2, scope 8).
REGISTRY_RESOURCES = ("areas", "buildings", "rooms", "households", "persons", "organisations",
                      "facilities")


def run_python(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run our interpreter in a fresh process with only the given LINLI_* variables."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("LINLI_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    full = base | {"LINLI_DATA_DIR": str(tmp_path / "data"),
                   "DJANGO_SETTINGS_MODULE": "linli.settings"} | env
    return subprocess.run(  # noqa: S603 — our own interpreter, fixed arguments
        [sys.executable, *args],
        cwd=PROJECT_DIR, env=full, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.django_db
def test_every_model_change_has_a_migration():
    # given the models as they are in the tree
    # when Django compares them with the migrations
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    except SystemExit as exc:
        # then it finds nothing to write (it exits 1 with --check when it would)
        pytest.fail(f"a migration is missing (makemigrations --check exited {exc.code})")


def test_deploy_check_reports_only_documented_warnings(tmp_path):
    # given production-like settings
    env = {"LINLI_DEBUG": "false", "LINLI_SECURE_COOKIES": "true",
           "LINLI_ALLOWED_HOSTS": "linli.example.gov.cn"}
    # when Django's deployment checklist runs
    done = run_python("manage.py", "check", "--deploy", env=env, tmp_path=tmp_path)
    # then there is no error and no warning we have not documented
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    found = set(re.findall(r"\(([\w.]+\.[EWC]\d+)\)", output))
    assert {check for check in found if ".E" in check} == set(), output
    assert found - DOCUMENTED_DEPLOY_WARNINGS == set(), output


def test_bad_boolean_setting_stops_startup_naming_the_variable(tmp_path):
    # given a boolean variable that is neither true nor false
    env = {"LINLI_DEBUG": "maybe"}
    # when Django starts
    done = run_python("-c", "import django; django.setup()", env=env, tmp_path=tmp_path)
    # then it refuses to start and says which variable is wrong
    assert done.returncode != 0
    assert "LINLI_DEBUG" in done.stderr
    assert "maybe" in done.stderr


def test_bad_database_url_stops_startup_naming_the_variable(tmp_path):
    # given a database URL for an engine linli does not support
    env = {"LINLI_DATABASE_URL": "mysql://root@localhost/linli"}
    # when Django starts
    done = run_python("-c", "import django; django.setup()", env=env, tmp_path=tmp_path)
    # then it refuses to start and says which variable is wrong
    assert done.returncode != 0
    assert "LINLI_DATABASE_URL" in done.stderr


@pytest.mark.django_db
def test_openapi_schema_lists_the_registry_endpoints():
    # given an anonymous client (the schema itself is public; the data is not)
    client = Client()
    # when it fetches the schema
    response = client.get("/api/v1/openapi.json")
    # then it is OpenAPI 3 with a path for every registry resource
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    missing = [name for name in REGISTRY_RESOURCES
               if not any(f"/{name}" in path for path in paths)]
    assert missing == [], f"no path for {missing} in {sorted(paths)}"


@pytest.mark.django_db
def test_api_docs_page_renders():
    # when someone opens the interactive API documentation
    response = Client().get("/api/v1/docs")
    # then the page loads and points at the schema
    assert response.status_code == 200
    body = response.content.decode()
    assert "openapi.json" in body
    # and its Swagger UI comes from linli's own static files: no CDN (offline intranets)
    assert "cdn.jsdelivr" not in body
    assert "/static/ninja/swagger-ui-bundle.js" in body


@pytest.mark.django_db
def test_api_refuses_anonymous_callers_in_the_documented_error_format():
    # when an anonymous caller asks for data
    response = Client().get("/api/v1/persons")
    # then it is refused with {code, message, field}
    assert response.status_code == 401
    body = response.json()
    assert set(body) >= {"code", "message", "field"}


def test_linli_console_command_prints_help():
    # given the installed console script next to this interpreter
    script = Path(sys.executable).parent / "linli"
    # when it is asked for help
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True,  # noqa: S603
                          timeout=60, check=False)
    # then it lists the commands a newcomer needs
    assert done.returncode == 0, done.stderr
    for command in ("demo", "serve", "worker", "seed", "createadmin", "areas", "audit"):
        assert command in done.stdout


def test_linli_passes_unknown_options_on_to_the_management_command():
    # when options the wrapper does not define follow a pass-through command
    args = parse(["migrate", "--plan", "-v0"])
    # then they are kept, in order, for Django's own parser
    assert args.rest == ["--plan", "-v0"]


def test_linli_refuses_unknown_options_of_its_own_commands(capsys):
    # when `linli demo` gets an option it does not know
    with pytest.raises(SystemExit) as exc:
        parse(["demo", "--street-size", "5"])
    # then it stops with a usage error instead of ignoring it
    assert exc.value.code == 2
    assert "--street-size" in capsys.readouterr().err


# transaction=True: a management command closes the database connections when it ends, which
# would break the enclosing test transaction on PostgreSQL.
@pytest.mark.django_db(transaction=True)
def test_linli_seed_builds_the_requested_number_of_residents():
    # given an empty registry
    # when the console command seeds a small street
    code = main(["seed", "--residents", "120", "--seed", "7"])
    # then exactly that many persons exist
    assert code == 0
    assert Person.objects.count() == 120


@pytest.mark.django_db(transaction=True)
def test_linli_audit_verify_checks_the_chain_of_the_current_database(capsys):
    # given the test database with an empty audit log
    # when the console command verifies the chain
    code = main(["audit", "verify"])
    # then the chain is reported intact
    assert code == 0
    assert "audit chain OK" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_linli_areas_load_dry_run_reads_a_file_and_writes_nothing(capsys):
    # given the sample area file shipped with linli
    sample = Path(__file__).resolve().parents[1] / "linli" / "geo" / "samples" / "areas-example.geojson"
    # when the console command loads it as a dry run
    code = main(["areas", "load", str(sample), "--dry-run"])
    # then it says what it would create
    assert code == 0
    assert "would create 8" in capsys.readouterr().out
    assert not Area.objects.exists()
