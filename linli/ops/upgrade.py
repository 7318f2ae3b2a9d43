"""``linli upgrade``: switch a site to a new release folder without changing code under running
processes and without refusing connections (issue #24.9).

Layout (docs/deployment.md, "Upgrades")::

    /opt/linli/releases/2026.12.1/   a release: the source, its own .venv, its static/
    /opt/linli/releases/2027.01.0/   the new one, installed beside it (uv sync --no-dev)
    /opt/linli/current -> releases/2026.12.1

Run from the NEW release (``/opt/linli/releases/NEW/.venv/bin/linli upgrade``), it:

1. checks the new code against the database (``check --deploy``), lists the pending
   migrations, and whether one of them needs the maintenance page (a migration module
   sets ``LINLI_MAINTENANCE = True`` when the old release cannot run beside its schema);
2. backs up (``deploy/backup.sh``) and stops when the backup fails;
3. turns the maintenance page on if needed, migrates, collects the static files into the
   new release;
4. points ``current`` at the new release (an atomic rename);
5. starts the idle web instance (8001/8002) on the new release, waits for its /healthz,
   then stops the old one — nginx sends each request to whichever answers;
6. restarts the task workers and daemons (they finish their task first), turns the
   maintenance page off, verifies the audit chain, and writes ``upgrade-state.json``.

``linli upgrade rollback`` (from the new release) migrates back to the recorded state,
points ``current`` at the previous release and switches the web instances back. How the web
instances are started and stopped is a command template (systemd by default).
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

STATE_FILE = "upgrade-state.json"
SYSTEMD_START = "systemctl start linli-web@{port}.service && systemctl enable linli-web@{port}.service"
SYSTEMD_STOP = "systemctl disable linli-web@{port}.service && systemctl stop linli-web@{port}.service"
SYSTEMD_RESTART = ("systemctl try-restart 'linli-worker@*.service' linli-relay.service linli-ingest.service "
                   "linli-live.service")
HEALTH_TIMEOUT = 180.0


class UpgradeError(Exception):
    """A step failed; the message says which and what state the site is in."""


@dataclass
class UpgradePlan:
    root: Path
    release: Path
    ports: tuple[int, int] = (8001, 8002)
    web_start: str = SYSTEMD_START
    web_stop: str = SYSTEMD_STOP
    restart_others: str = SYSTEMD_RESTART
    maintenance: str = "auto"  # auto | on | off
    backup: bool = True
    say: Callable[[str], None] = field(default=print)

    @property
    def current(self) -> Path:
        return self.root / "current"


def release_of(path: Path) -> Path:
    return path.resolve()


def _run(command: str | Sequence[str], *, what: str, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> str:
    shell = isinstance(command, str)
    done = subprocess.run(command, shell=shell, cwd=cwd, env=env, capture_output=True, text=True,  # noqa: S603 -- the operator's own command templates
                          check=False, timeout=3600)
    if done.returncode != 0:
        raise UpgradeError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-1500:]}")
    return done.stdout


def pending_migrations() -> list[tuple[str, str, bool]]:
    """(app, migration, needs maintenance) for every migration not yet applied."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    out = []
    for migration, backwards in plan:
        if backwards:
            continue
        module = importlib.import_module(migration.__module__)
        out.append((migration.app_label, migration.name, bool(getattr(module, "LINLI_MAINTENANCE", False))))
    return out


def applied_leaves() -> dict[str, str]:
    """The latest applied migration of every app: where a rollback migrates back to."""
    executor = MigrationExecutor(connection)
    applied: dict[str, str] = {}
    for app, name in sorted(executor.loader.applied_migrations):
        if app in executor.loader.migrated_apps:
            applied[app] = max(applied.get(app, ""), name)
    return applied


def _status(port: int, path: str) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


def healthy(port: int) -> bool:
    """/healthz answers 200; a release older than /healthz (a rollback target) when its
    login page does."""
    status = _status(port, "/healthz?checks=database")
    if status == 404:
        return _status(port, "/login/") == 200
    return status == 200


def listening(port: int) -> bool:
    """Whether a web instance (of any release: old ones had no /healthz) listens on the port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3):
            return True
    except OSError:
        return False


def wait_healthy(port: int, *, timeout: float = HEALTH_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(port):
            return
        time.sleep(0.5)
    raise UpgradeError(f"the new web instance on port {port} did not answer /healthz within {timeout:.0f}s")


def _linli(*args: str) -> list[str]:
    """A `linli` command of this release, run with this interpreter (the release's .venv)."""
    return [sys.executable, "-m", "linli.cli", *args]


def maintenance_needed(plan: UpgradePlan, pending: list[tuple[str, str, bool]]) -> bool:
    if plan.maintenance == "on":
        return True
    if plan.maintenance == "off":
        return False
    return any(needs for _app, _name, needs in pending)


def switch_current(root: Path, target: Path) -> None:
    """Point ``root/current`` at ``target`` in one rename: a process starting meanwhile sees
    the old or the new release, never none."""
    link = root / "current"
    temporary = root / f".current-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    temporary.replace(link)


def switch_web(plan: UpgradePlan, *, say: Callable[[str], None]) -> tuple[int | None, int]:
    """Start the idle instance (on whatever ``current`` is now), wait until it is healthy,
    stop the old one. Returns (old port, new port)."""
    running = [port for port in plan.ports if listening(port)]
    old = running[0] if running else None
    new = next(port for port in plan.ports if port != old)
    say(f"starting the web instance on port {new} …")
    _run(plan.web_start.format(port=new, root=plan.root), what=f"starting web instance {new}")
    wait_healthy(new)
    say(f"port {new} answers /healthz")
    if old is not None:
        say(f"stopping the old web instance on port {old} (it finishes its requests) …")
        _run(plan.web_stop.format(port=old, root=plan.root), what=f"stopping web instance {old}")
    return old, new


def upgrade(plan: UpgradePlan) -> dict[str, Any]:
    say = plan.say
    release = release_of(plan.release)
    previous = release_of(plan.current) if plan.current.exists() else None
    if previous == release:
        say(f"{release} is already the current release: migrating and restarting only")
    say(f"upgrade: {previous or '(none)'} → {release}")
    call_command("check", deploy=True, databases=["default"], fail_level="ERROR")
    pending = pending_migrations()
    before = applied_leaves()
    say(f"{len(pending)} migration(s) to apply" + "".join(f"\n  {a}.{n}{' (maintenance)' if m else ''}"
                                                           for a, n, m in pending))
    backup = ""
    if plan.backup:
        say("backing up …")
        backup = _run([str(release / "deploy" / "backup.sh")], what="the backup").strip().splitlines()[-1]
        say(f"backup: {backup}")
    flag = Path(settings.LINLI_MAINTENANCE_FILE)
    maintenance = maintenance_needed(plan, pending)
    if maintenance:
        say(f"maintenance page on ({flag})")
        flag.parent.mkdir(parents=True, exist_ok=True)
        flag.touch()
    try:
        say("migrating …")
        call_command("migrate", interactive=False, verbosity=0)
        say("collecting static files into the release …")
        env = {**os.environ, "LINLI_STATIC_ROOT": str(release / "static")}
        _run(_linli("manage", "collectstatic", "--noinput", "-v0"), what="collectstatic",
             cwd=release, env=env)
        switch_current(plan.root, release)
        say(f"current → {release}")
        old_port, new_port = switch_web(plan, say=say)
        if plan.restart_others:
            say("restarting the task workers and daemons …")
            _run(plan.restart_others.format(root=plan.root), what="restarting workers and daemons")
    finally:
        if maintenance:
            flag.unlink(missing_ok=True)
            say("maintenance page off")
    call_command("linli_audit", "verify")
    state = {"from": str(previous or ""), "to": str(release), "backup": backup, "migrations_before": before,
             "applied": [f"{a}.{n}" for a, n, _m in pending], "web_port": new_port, "old_web_port": old_port,
             "at": timezone.now().isoformat()}
    (plan.root / STATE_FILE).write_text(json.dumps(state, indent=2, ensure_ascii=False), encoding="utf-8")
    say("upgrade done")
    return state


def rollback(plan: UpgradePlan) -> dict[str, Any]:
    """Back to the release before the last upgrade: migrations reversed to their recorded
    state (with this — the newer — code, which knows how), ``current`` switched back, web
    instances switched, workers restarted. Data written since stays; when a migration cannot
    be reversed, restore the upgrade's backup instead (docs/deployment.md)."""
    say = plan.say
    state: dict[str, Any] = json.loads((plan.root / STATE_FILE).read_text(encoding="utf-8"))
    previous = Path(state["from"])
    if not previous.is_dir():
        raise UpgradeError(f"the previous release {previous} is gone: restore from {state['backup']}")
    before: dict[str, str] = state["migrations_before"]
    executor = MigrationExecutor(connection)
    targets = []
    for app in sorted(executor.loader.migrated_apps):
        applied_now = sorted(name for a, name in executor.loader.applied_migrations if a == app)
        if not applied_now:
            continue
        target = before.get(app)
        if target is None:
            targets.append((app, "zero"))
        elif applied_now[-1] != target:
            targets.append((app, target))
    flag = Path(settings.LINLI_MAINTENANCE_FILE)
    flag.parent.mkdir(parents=True, exist_ok=True)
    flag.touch()
    say("maintenance page on")
    try:
        for app, target in targets:
            say(f"migrating {app} back to {target} …")
            call_command("migrate", app, target, interactive=False, verbosity=0)
        switch_current(plan.root, previous)
        say(f"current → {previous}")
        switch_web(plan, say=say)
        if plan.restart_others:
            _run(plan.restart_others.format(root=plan.root), what="restarting workers and daemons")
    finally:
        flag.unlink(missing_ok=True)
        say("maintenance page off")
    state["rolled_back_at"] = timezone.now().isoformat()
    (plan.root / STATE_FILE).write_text(json.dumps(state, indent=2, ensure_ascii=False), encoding="utf-8")
    say("rollback done")
    return state
