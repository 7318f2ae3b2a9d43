"""The operator's drill (issue #24, "Done means"), on PostgreSQL with real processes:

install the previous release (the commit before the newest migration) as a release folder →
migrate → areas → createadmin → import a department's export → serve → backup → restore
into a fresh database (audit chain, counts, a decrypted value) → `linli upgrade` to this
release across the newest migrations, behind nginx when it is installed (no failed request
while the web instances switch) → `linli upgrade rollback`.

The area tree is loaded with `linli areas load deploy/drill/areas.geojson` (dry run first);
a previous release from before that command loads the same tree from deploy/drill/areas.json.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests

from linli.ops.tests.deploy_sandbox import IN_CI, nginx_running, nginx_sandbox
from linli.ops.tests.processes import PROJECT_DIR, clean_env, free_port, wait_until

pytestmark = pytest.mark.postgres

DRILL = PROJECT_DIR / "deploy" / "drill"
ADMIN_PASSWORD = "Drill-Admin-2026!"  # a throwaway drill account


def _database_url() -> str:
    url = os.environ.get("LINLI_DATABASE_URL", "")
    if not url.startswith("postg"):
        if IN_CI:
            pytest.fail("the drill needs PostgreSQL: run the PostgreSQL pass (LINLI_DATABASE_URL)")
        pytest.skip("the drill needs PostgreSQL (LINLI_DATABASE_URL=postgresql://…)")
    return url


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _recreate(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' "
                     "LC_CTYPE 'C.UTF-8'")


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _previous_release_commit() -> str | None:
    """The commit before the newest migration was added: upgrading from it crosses the
    latest migrations. None without git history (a shallow copy)."""
    try:
        newest = subprocess.run(["git", "log", "-1", "--format=%H", "--diff-filter=A", "--",  # noqa: S607
                                 "linli/*/migrations/0*.py"], cwd=PROJECT_DIR, capture_output=True, text=True,
                                check=True, timeout=60).stdout.strip()
        return subprocess.run(["git", "rev-parse", f"{newest}^"], cwd=PROJECT_DIR, capture_output=True,  # noqa: S603,S607
                              text=True, check=True, timeout=60).stdout.strip() or None
    except (subprocess.CalledProcessError, OSError):
        return None


def _install_release(target: Path, *, commit: str | None) -> None:
    """A release folder as the docs install it (source, its .venv, node_modules). The .venv is
    this one (same lock file); `python -m linli.cli` run in the folder imports its own code."""
    target.mkdir(parents=True)
    if commit:
        archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=PROJECT_DIR,  # noqa: S603,S607
                                 capture_output=True, check=True, timeout=120).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True, timeout=120)  # noqa: S603,S607
    else:
        files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
                               cwd=PROJECT_DIR, capture_output=True, check=True, timeout=60).stdout.split(b"\0")
        for name in filter(None, (f.decode() for f in files)):
            source = PROJECT_DIR / name
            if source.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(PROJECT_DIR / ".venv")
    (target / "node_modules").symlink_to(PROJECT_DIR / "node_modules")


@dataclass
class Site:
    root: Path
    old: Path
    new: Path
    env_file: Path
    env: dict[str, str]
    url: str
    ports: tuple[int, int]
    log: list[str] = field(default_factory=list)

    def linli(self, release: Path, *args: str, url: str | None = None, extra: dict[str, str] | None = None,
              timeout: float = 900) -> str:
        """``linli …`` of ``release``, with the site's environment (as systemd's EnvironmentFile
        gives it; older releases do not read linli.env themselves)."""
        env = {**self.env, **(extra or {})}
        if url:
            env["LINLI_DATABASE_URL"] = url
        done = subprocess.run([sys.executable, "-m", "linli.cli", *args], cwd=release, env=env,  # noqa: S603
                              capture_output=True, text=True, timeout=timeout, check=False)
        self.log.append(f"$ linli {' '.join(args)}\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        assert done.returncode == 0, f"linli {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        return done.stdout

    def web_start(self) -> str:
        return (f"cd {self.root}/current; setsid {sys.executable} -m linli.cli serve --port {{port}} "
                f"> {self.root}/web-{{port}}.log 2>&1 & echo $! > {self.root}/web-{{port}}.pid")

    def web_stop(self) -> str:
        pid = f"$(cat {self.root}/web-{{port}}.pid)"
        return f"kill -TERM {pid}; while kill -0 {pid} 2>/dev/null; do sleep 0.2; done"

    def facts(self, release: Path, url: str | None = None) -> dict[str, str]:
        """Counts and one decrypted ID number, read by the release's own code."""
        code = (
            "import django; django.setup()\n"
            "from django.db import connection\n"
            "from linli.core import pii\n"
            "with connection.cursor() as c:\n"
            "    for t in ('registry_person', 'core_auditentry', 'geo_area', 'accounts_user', 'fusion_sourcerecord'):\n"
            "        c.execute(f'SELECT count(*) FROM {t}'); print(t, c.fetchone()[0])\n"
            "    c.execute(\"SELECT id_number_enc FROM registry_person WHERE id_number_enc <> '' ORDER BY id LIMIT 1\")\n"
            "    print('first_id_number', pii.decrypt(c.fetchone()[0], field='person.id_number'))\n"
        )
        env = {**self.env, "DJANGO_SETTINGS_MODULE": "linli.settings", **({"LINLI_DATABASE_URL": url} if url else {})}
        done = subprocess.run([sys.executable, "-c", code], cwd=release, env=env, capture_output=True, text=True,  # noqa: S603
                              timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        return dict(line.split(" ", 1) for line in done.stdout.strip().splitlines())


def _applied(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return {(app, name) for app, name in conn.execute("SELECT app, name FROM django_migrations").fetchall()}


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row[0] for row in rows}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    base_url = _database_url()
    name = (urlsplit(base_url).path.lstrip("/") or "linli") + "_drill"
    admin = _with_database(base_url, "postgres")
    url = _with_database(base_url, name)
    _recreate(admin, name)
    root = tmp_path / "opt-linli"
    old, new = root / "releases" / "previous", root / "releases" / "this"
    commit = _previous_release_commit()
    print(f"drill: previous release = {commit or '(no git history: this release twice)'}")
    _install_release(old, commit=commit)
    _install_release(new, commit=None)
    data = tmp_path / "var-lib-linli"
    env_file = tmp_path / "etc-linli" / "linli.env"
    env_file.parent.mkdir()
    values = {
        "LINLI_ENV": "production", "LINLI_DATABASE_URL": url, "LINLI_DATA_DIR": str(data),
        "LINLI_SECRET_KEY": secrets.token_urlsafe(50), "LINLI_PII_KEYS": f"k1:{_key()}",
        "LINLI_BLIND_INDEX_KEY": _key(), "LINLI_AUDIT_KEYS": f"a1:{_key()}", "LINLI_GENERATE_SECRETS": "false",
        "LINLI_STATIC_ROOT": str(root / "current" / "static"), "LINLI_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LINLI_TRUSTED_PROXIES": "1", "LINLI_PROXY_HTTPS_HEADER": "true", "LINLI_WEB_THREADS": "4",
        "LINLI_BACKUP_DIR": str(tmp_path / "backups"), "LINLI_MAINTENANCE_FILE": str(data / "maintenance.on"),
    }
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    env_file.chmod(0o640)
    site = Site(root=root, old=old, new=new, env_file=env_file, env=clean_env(**values), url=url,
                ports=(free_port(), free_port()))
    try:
        yield site
    finally:
        for port in site.ports:
            pid_file = root / f"web-{port}.pid"
            if pid_file.exists():
                subprocess.run(["sh", "-c", site.web_stop().format(port=port)], timeout=60, check=False)  # noqa: S603,S607
        print("\n".join(site.log)[-8000:])
        _drop(admin, name)
        _drop(admin, name + "_restore")


def test_install_backup_restore_upgrade_and_rollback_drill(site: Site, tmp_path: Path):
    # install the previous release: migrate, areas, the first administrator, a department's export
    site.linli(site.old, "migrate", "-v0")
    if 'add("areas"' in (site.old / "linli" / "cli.py").read_text(encoding="utf-8"):
        assert "330102" in site.linli(site.old, "areas", "load", str(DRILL / "areas.geojson"), "--dry-run")
        site.linli(site.old, "areas", "load", str(DRILL / "areas.geojson"))
    else:  # a release from before `linli areas load`: the same tree as a fixture
        site.linli(site.old, "manage", "loaddata", str(DRILL / "areas.json"))
    site.linli(site.old, "createadmin", "--noinput", "--username", "qu_admin", "--password", ADMIN_PASSWORD)
    site.linli(site.old, "import", "minzheng", str(DRILL / "minzheng-sample.csv"), "--area", "330102003")
    site.linli(site.old, "manage", "collectstatic", "--noinput", "-v0",
               extra={"LINLI_STATIC_ROOT": str(site.old / "static")})
    (site.root / "current").symlink_to(site.old)
    subprocess.run(["sh", "-c", site.web_start().format(port=site.ports[0])], env=site.env, check=True,  # noqa: S603,S607
                   timeout=60)
    wait_until(lambda: requests.get(f"http://127.0.0.1:{site.ports[0]}/login/", timeout=5).status_code == 200,
               timeout=180, what="the previous release to serve")
    before = site.facts(site.old)
    assert int(before["registry_person"]) > 50
    assert len(before["first_id_number"]) == 18

    # backup, then restore into a fresh database: audit chain, counts and a decrypted value
    backup = subprocess.run([str(site.new / "deploy" / "backup.sh")], env=site.env, capture_output=True,  # noqa: S603
                            text=True, timeout=600, check=True).stdout.strip().splitlines()[-1]
    restored = site.url + "_restore"
    _recreate(_with_database(site.url, "postgres"), urlsplit(restored).path.lstrip("/"))
    subprocess.run([str(site.new / "deploy" / "restore.sh"), backup], env={**site.env, "LINLI_DATABASE_URL": restored},  # noqa: S603
                   capture_output=True, text=True, timeout=600, check=True)
    assert "audit chain OK" in site.linli(site.old, "audit", "verify", url=restored)
    assert site.facts(site.old, url=restored) == before

    # upgrade to this release behind nginx (when installed), counting failed requests meanwhile
    failures: list[str] = []
    served: list[int] = []
    stop = threading.Event()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None and IN_CI:
        pytest.fail("nginx is required under CI (make nginx)")

    def load(base: str) -> None:
        while not stop.is_set():
            try:
                # Not /login/: nginx limits logins per address (30 a minute).
                answer = requests.get(f"{base}/open311/v2/discovery.json", timeout=20, verify=False)  # noqa: S501 -- sandbox certificate
                served.append(answer.status_code)
                if answer.status_code != 200:
                    failures.append(str(answer.status_code))
            except requests.RequestException as exc:
                failures.append(type(exc).__name__)
            time.sleep(0.05)

    upgrade_args = ["upgrade", "--root", str(site.root), "--ports", f"{site.ports[0]},{site.ports[1]}",
                    "--web-start", site.web_start(), "--web-stop", site.web_stop(), "--restart-others", ""]
    env_file_only = {"LINLI_ENV_FILE": str(site.env_file)}

    def run_upgrade(*extra: str) -> str:
        if nginx is None:
            return site.linli(site.new, *upgrade_args, *extra, extra=env_file_only)
        sandbox = nginx_sandbox(tmp_path / f"nginx{len(extra)}", upstream_ports=site.ports)
        with nginx_running(nginx, sandbox):
            worker = threading.Thread(target=load, args=(f"https://127.0.0.1:{sandbox.https_port}",), daemon=True)
            worker.start()
            try:
                return site.linli(site.new, *upgrade_args, *extra, extra=env_file_only)
            finally:
                time.sleep(1)
                stop.set()
                worker.join(timeout=30)
                stop.clear()

    tables_before, applied_before = _tables(site.url), _applied(site.url)
    output = run_upgrade()
    assert "upgrade done" in output
    assert (site.root / "current").resolve() == site.new.resolve()
    assert requests.get(f"http://127.0.0.1:{site.ports[1]}/healthz?checks=database", timeout=10).status_code == 200
    assert _applied(site.url) > applied_before  # the newest migrations ran
    assert _tables(site.url) >= tables_before
    after = site.facts(site.new)
    assert {k: v for k, v in after.items() if k != "core_auditentry"} == \
        {k: v for k, v in before.items() if k != "core_auditentry"}
    assert "audit chain OK" in site.linli(site.new, "audit", "verify", extra=env_file_only)
    if nginx is not None:
        assert served, "the load client sent nothing"
        assert failures == [], f"{len(failures)} of {len(served) + len(failures)} requests failed: {failures[:10]}"

    # roll back to the previous release: migrations reversed, the old code serving again
    output = run_upgrade("rollback")
    assert "rollback done" in output
    assert (site.root / "current").resolve() == site.old.resolve()
    assert _applied(site.url) == applied_before  # and were reversed
    assert _tables(site.url) == tables_before
    assert requests.get(f"http://127.0.0.1:{site.ports[0]}/login/", timeout=10).status_code == 200
    assert site.facts(site.old)["registry_person"] == before["registry_person"]
    if nginx is not None:
        # the rollback runs under the maintenance page (the schema goes back under the new
        # code): 503 pages are expected, refused connections or 502s are not
        assert set(failures) <= {"503"}, failures[:10]
