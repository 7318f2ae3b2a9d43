"""Issue #24.4 end to end: a lost secrets file over a populated database stops every start.

Real processes on a database of their own — SQLite in the SQLite run, a fresh PostgreSQL
database in the PostgreSQL run — as an operator would meet it: ``linli migrate`` generates
the keys, data gets written, ``secrets.json`` is lost, and the next ``linli`` command and the
web server refuse, saying what to restore and where, until it is restored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
WRITE_DATA = """
import django
django.setup()
from django.core.management import call_command
from django.db import transaction
call_command("migrate", verbosity=0)
from linli.core import pii
from linli.core.actors import SystemActor
from linli.core.services import audit_record
from linli.registry.models import Person
with transaction.atomic():
    Person.objects.create(name="王小明", name_pinyin="wangxiaoming", name_initials="wxm",
                          phone_enc=pii.encrypt("13812345678", field="person.phone"), phone_masked="138****5678")
    audit_record(actor=SystemActor("test"), action="person.create", target_type="registry.person")
"""


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own, of the kind the suite runs on."""
    test_url = os.environ.get("LINLI_DATABASE_URL", "")
    if not test_url.startswith("postg"):
        yield f"sqlite:///{tmp_path / 'linli.sqlite3'}"
        return
    import psycopg

    parts = urlsplit(test_url)
    name = f"{parts.path.lstrip('/') or 'linli'}_keys_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(*args: str, data_dir: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    """Our interpreter in a fresh process, with the default LINLI_GENERATE_SECRETS (true)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env |= {"LINLI_DATA_DIR": str(data_dir), "LINLI_DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "linli.settings"}
    return subprocess.run(  # noqa: S603 -- our own interpreter, fixed arguments
        [sys.executable, *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )


def test_a_lost_secrets_file_over_a_populated_database_stops_linli_until_it_is_restored(
    tmp_path: Path, database_url: str,
) -> None:
    # given a database migrated and written by linli with generated keys, and a key backup
    data_dir = tmp_path / "data"
    written = run("-c", WRITE_DATA, data_dir=data_dir, database_url=database_url)
    assert written.returncode == 0, written.stderr
    secrets = data_dir / "secrets.json"
    backup = tmp_path / "backup-secrets.json"
    shutil.copy(secrets, backup)
    # when the secrets file is lost and a linli command starts
    secrets.unlink()
    command = run("-m", "linli.cli", "audit", "verify", data_dir=data_dir, database_url=database_url)
    # then it refuses, naming the keys and the file to restore, and keeps no fresh keys
    assert command.returncode == 2, command.stdout + command.stderr
    assert "linli refuses to start: the configured keys cannot read this database." in command.stderr
    assert "LINLI_PII_KEYS: key k1 is not the key that encrypted this database's personal data" in command.stderr
    assert "LINLI_AUDIT_KEYS: key a1 is not the key that signed this database's audit chain" in command.stderr
    assert f"the secrets.json from your key backup to {secrets}" in command.stderr
    assert "audit chain OK" not in command.stdout
    assert not secrets.exists()
    assert len(list(data_dir.glob("secrets.json.rejected-*"))) == 1
    # and so does the web server (the WSGI application every server loads)
    web = run("-c", "import linli.wsgi", data_dir=data_dir, database_url=database_url)
    assert web.returncode != 0
    assert "KeysRefusedError" in web.stderr
    assert "LINLI_PII_KEYS: key k1 is not the key" in web.stderr
    # when the file is restored from the backup
    shutil.copy(backup, secrets)
    restored = run("-m", "linli.cli", "audit", "verify", data_dir=data_dir, database_url=database_url)
    # then linli starts again and the chain verifies
    assert restored.returncode == 0, restored.stderr
    assert "audit chain OK: 1 entries" in restored.stdout
