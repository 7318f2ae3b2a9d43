"""One environment file for every linli command, production refuses SQLite (#24.3), and the
proxy and budget settings (#24.5, #24.8)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from linli.config import ConfigError, parse_env_file
from linli.ops.checks import (
    BUDGET_CHECK_ID,
    budget_messages,
    connection_budget_check,
    env_file_messages,
)
from linli.ops.tests.processes import PROJECT_DIR, clean_env
from linli.ops.workflow import connection_budget

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def linli(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linli.cli", *args], cwd=PROJECT_DIR, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_env_file_lines_are_read_as_systemd_and_the_shell_read_them():
    text = """
# linli production settings
LINLI_DATA_DIR=/var/lib/linli
export LINLI_ALLOWED_HOSTS=linli.example.gov.cn
LINLI_SECRET_KEY="a value with spaces = and # inside"
LINLI_EMPTY=
LINLI_QUOTED='single'
"""
    assert parse_env_file(text, source="test") == {
        "LINLI_DATA_DIR": "/var/lib/linli", "LINLI_ALLOWED_HOSTS": "linli.example.gov.cn",
        "LINLI_SECRET_KEY": "a value with spaces = and # inside", "LINLI_EMPTY": "", "LINLI_QUOTED": "single",
    }


@pytest.mark.parametrize("line", ["LINLI_DATA_DIR", "linli-data=1", "1ABC=2", "X='unterminated"])
def test_a_bad_env_file_line_is_an_error_naming_the_line(line):
    with pytest.raises(ConfigError, match="line 2"):
        parse_env_file(f"# ok\n{line}\n", source="/etc/linli/linli.env")


def test_every_linli_command_reads_the_env_file(tmp_path):
    # given an environment file naming a data folder, and no LINLI_* variable set
    data = tmp_path / "from-env-file"
    env_file = tmp_path / "linli.env"
    env_file.write_text(f"LINLI_DATA_DIR={data}\n", encoding="utf-8")
    env = clean_env(LINLI_ENV_FILE=str(env_file))
    # when `linli migrate` runs as the install steps show it
    done = linli("migrate", "-v0", env=env)
    # then it migrated the database of the env file's data folder, not one next to the checkout
    assert done.returncode == 0, done.stderr
    assert (data / "linli.sqlite3").stat().st_size > 0


def test_the_environment_wins_over_the_env_file(tmp_path):
    # given an env file and a variable set for one command
    env_file = tmp_path / "linli.env"
    env_file.write_text("LINLI_DEBUG=maybe\n", encoding="utf-8")
    env = clean_env(LINLI_ENV_FILE=str(env_file), LINLI_DEBUG="false", LINLI_DATA_DIR=str(tmp_path / "d"))
    # when a command runs, then the set variable is the one read (the file's bad value is not)
    done = linli("manage", "check", env=env)
    assert done.returncode == 0, done.stderr


def test_a_missing_env_file_named_by_linli_env_file_stops_the_command(tmp_path):
    env = clean_env(LINLI_ENV_FILE=str(tmp_path / "nowhere.env"))
    done = linli("manage", "check", env=env)
    assert done.returncode != 0
    assert "LINLI_ENV_FILE" in done.stderr


def test_production_refuses_to_run_on_sqlite(tmp_path):
    # given an environment file that says production but names no PostgreSQL database
    env_file = tmp_path / "linli.env"
    env_file.write_text(f"LINLI_ENV=production\nLINLI_DATA_DIR={tmp_path / 'd'}\n", encoding="utf-8")
    env = clean_env(LINLI_ENV_FILE=str(env_file))
    # when `linli migrate` runs
    done = linli("migrate", env=env)
    # then it refuses, saying why, and no SQLite database was created
    assert done.returncode != 0
    assert "LINLI_ENV" in done.stderr
    assert "PostgreSQL" in done.stderr
    assert not (tmp_path / "d" / "linli.sqlite3").exists()


def test_production_refuses_debug(tmp_path):
    env = clean_env(LINLI_ENV="production", LINLI_DEBUG="true", LINLI_DATA_DIR=str(tmp_path / "d"),
                    LINLI_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    done = linli("manage", "check", env=env)
    assert done.returncode != 0
    assert "LINLI_DEBUG" in done.stderr


def test_an_unknown_environment_name_is_an_error(tmp_path):
    done = linli("manage", "check", env=clean_env(LINLI_ENV="prod", LINLI_DATA_DIR=str(tmp_path / "d")))
    assert done.returncode != 0
    assert "LINLI_ENV" in done.stderr


def test_a_world_readable_env_file_is_warned_about(tmp_path):
    path = tmp_path / "linli.env"
    path.write_text("LINLI_SECRET_KEY=x\n", encoding="utf-8")
    path.chmod(0o644)
    assert [m.id for m in env_file_messages(path)] == ["linli.W011"]
    path.chmod(0o640)
    assert env_file_messages(path) == []


@pytest.mark.django_db
def test_behind_the_tls_proxy_open311_advertises_https(settings):
    # given linli told to trust the proxy's X-Forwarded-Proto (LINLI_PROXY_HTTPS_HEADER=true)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # when a client reaches the Open311 discovery through nginx over TLS
    body = Client().get("/open311/v2/discovery.json", HTTP_X_FORWARDED_PROTO="https").json()
    # then the endpoint it advertises is https
    assert body["endpoints"][0]["url"].startswith("https://")


def test_the_proxy_https_setting_sets_djangos_header(tmp_path):
    env = clean_env(LINLI_PROXY_HTTPS_HEADER="true", LINLI_DATA_DIR=str(tmp_path / "d"))
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    done = subprocess.run([sys.executable, "-c", code],  # noqa: S603 -- our own interpreter
                          cwd=PROJECT_DIR, env={**env, "DJANGO_SETTINGS_MODULE": "linli.settings"},
                          capture_output=True, text=True, timeout=120, check=False)
    assert "HTTP_X_FORWARDED_PROTO" in done.stdout, done.stderr


def test_budget_warning_names_the_settings_to_change():
    budget = connection_budget(web_workers=4, web_threads=32, task_workers=2, daemons=0)
    [message] = budget_messages(budget=budget, max_connections=100, reserved=3, pooled=False)
    assert message.id == BUDGET_CHECK_ID
    assert "LINLI_WEB_THREADS" in str(message.hint)
    assert "PgBouncer" in str(message.hint)
    assert budget_messages(budget=budget, max_connections=100, reserved=3, pooled=True) == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_startup_check_warns_when_the_budget_exceeds_the_servers_max_connections(settings):
    if connection.vendor != "postgresql":
        if IN_CI:
            pytest.fail("PostgreSQL pass: LINLI_DATABASE_URL must be set")
        pytest.skip("needs PostgreSQL")
    # given more web threads than this server allows connections
    settings.LINLI_WEB_WORKERS = 4
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
    settings.LINLI_WEB_THREADS = max_connections  # whatever the server allows, more
    # when the database checks run
    found = [m.id for m in connection_budget_check(databases=["default"])]
    # then the budget warning is among them; with sane numbers it is not
    assert found == [BUDGET_CHECK_ID]
    settings.LINLI_WEB_WORKERS, settings.LINLI_WEB_THREADS = 1, 4
    assert connection_budget_check(databases=["default"]) == []


def _uv() -> str:
    import shutil

    found = os.environ.get("UV") or shutil.which("uv") or str(PROJECT_DIR / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        if IN_CI:
            pytest.fail("uv not found (make venv bootstraps it into .tools/)")
        pytest.skip("uv not found")
    return found


def test_a_production_install_has_no_test_tools_and_runs(tmp_path):
    # given the release's files installed as the docs say: uv sync --frozen --no-dev (offline,
    # from the lock file and the cache the development install filled)
    release = tmp_path / "release"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
                           cwd=PROJECT_DIR, capture_output=True, check=True, timeout=60).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (PROJECT_DIR / name).is_file():
            (release / name).parent.mkdir(parents=True, exist_ok=True)
            (release / name).write_bytes((PROJECT_DIR / name).read_bytes())
    env = {**clean_env(), "UV_PROJECT_ENVIRONMENT": str(release / ".venv"), "UV_OFFLINE": "1"}
    sync = subprocess.run([_uv(), "sync", "--frozen", "--no-dev", "--no-editable", "-q"], cwd=release, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=600, check=False)
    assert sync.returncode == 0, sync.stderr
    python = release / ".venv" / "bin" / "python"
    # then no test tool is there
    for tool in ("pytest", "hypothesis", "playwright", "mypy", "ruff"):
        probe = subprocess.run([str(python), "-c", f"import {tool}"], capture_output=True, timeout=60, check=False)  # noqa: S603
        assert probe.returncode != 0, f"{tool} is installed in the production environment"
    # and linli runs from it: the system checks pass on a fresh data folder
    check = subprocess.run([str(release / ".venv" / "bin" / "linli"), "manage", "check"], cwd=tmp_path,  # noqa: S603
                           env=clean_env(LINLI_DATA_DIR=str(tmp_path / "data")), capture_output=True, text=True,
                           timeout=300, check=False)
    assert check.returncode == 0, check.stderr
    assert "no issues" in check.stdout
