"""Helpers for the tests that run real linli processes (demo, serve, worker) as a person or
an operator would: fresh processes, a free port, a throwaway data folder, HTTP from outside."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

PROJECT_DIR = Path(__file__).resolve().parents[3]
DEMO_PASSWORD = "Linli@2026"  # the demo's published password (README)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**overrides: str) -> dict[str, str]:
    """This environment without any LINLI_* variable (no test settings, no environment
    file), plus ``overrides``: the child behaves as on an operator's machine."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LINLI_", "PROMETHEUS_")) and k not in {"DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env["LINLI_ENV_FILE"] = ""
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def wait_until(condition: Callable[[], Any], *, timeout: float, every: float = 0.25, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException, OSError):
            value = condition()
            if value:
                return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or condition}")


def health(base: str, checks: str = "") -> dict[str, Any] | None:
    url = f"{base}/healthz" + (f"?checks={checks}" if checks else "")
    with contextlib.suppress(requests.RequestException, ValueError):
        return dict(requests.get(url, timeout=5).json())
    return None


class LinliProcess:
    """A ``linli …`` command in its own process group, its output in a log file."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self._log = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 -- our own interpreter and module
            [sys.executable, "-m", "linli.cli", *args], cwd=PROJECT_DIR, env=env,
            stdout=self._log, stderr=subprocess.STDOUT, process_group=0,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, *, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        return int(self.process.returncode)


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def alive(pid: int) -> bool:
    with contextlib.suppress(OSError):
        state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
        return state not in {"Z", "X"}
    return False


def login(base: str, username: str, password: str = DEMO_PASSWORD) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    done = session.post(f"{base}/login/", data={"username": username, "password": password,
                                               "csrfmiddlewaretoken": token.group(1)},
                        headers={"Referer": f"{base}/login/"}, timeout=30)
    assert "current-user" in done.text, done.text[:500]
    return session


def csrf_of(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    return token.group(1)


def post_form(session: requests.Session, base: str, path: str, *, referer_path: str,
              data: dict[str, str] | None = None, files: dict[str, Any] | None = None) -> requests.Response:
    token = csrf_of(session, f"{base}{referer_path}")
    return session.post(f"{base}{path}", data={**(data or {}), "csrfmiddlewaretoken": token}, files=files,
                        headers={"Referer": f"{base}{referer_path}"}, timeout=120)


def job_id_from(response: requests.Response) -> int:
    match = re.search(r"/fusion/imports/(\d+)/", response.url)
    assert match, f"not on a job page: {response.url}\n{response.text[:800]}"
    return int(match.group(1))


def job_status(session: requests.Session, base: str, job_id: int) -> str:
    page = session.get(f"{base}/fusion/imports/{job_id}/progress/", timeout=30)
    match = re.search(r'data-testid="job-status" data-status="(\w+)"', page.text)
    return match.group(1) if match else ""


@contextlib.contextmanager
def idle_sockets(port: int, count: int, *, half_sent: bool = False) -> Iterator[list[socket.socket]]:
    """``count`` connections that send nothing (or half a request's headers) and wait."""
    held = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if half_sent:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")
            held.append(sock)
        yield held
    finally:
        for sock in held:
            sock.close()
