"""The shipped deploy/ files, rewritten for a sandbox: nginx on free ports with a throwaway
certificate and prefix, systemd units pointing at a throwaway install tree."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from linli.ops.tests.processes import PROJECT_DIR, free_port, wait_until

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
DEPLOY = PROJECT_DIR / "deploy"
NGINX_CONF = DEPLOY / "nginx" / "linli.conf"


def need_tool(name: str, *, required_in_ci: bool) -> str:
    """The tool's path; a missing one skips the test, or fails it under CI when required
    (`make test` installs nginx when it runs as root)."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if path is None:
        message = f"{name} is not installed (apt-get install {name})"
        if IN_CI and required_in_ci:
            pytest.fail(message)
        pytest.skip(message)
    return path


def self_signed(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",  # noqa: S603,S607
                    "-subj", "/CN=linli.example.gov.cn", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@dataclass
class NginxSandbox:
    prefix: Path
    conf: Path
    http_port: int
    https_port: int
    upstream_ports: tuple[int, int]
    static_root: Path
    live_port: int = 0
    env: dict[str, str] = field(default_factory=dict)  # the site's environment, for tests that write to it


def nginx_sandbox(tmp: Path, *, upstream_ports: tuple[int, int] | None = None) -> NginxSandbox:
    """deploy/nginx/linli.conf with only its host-specific parts replaced: ports, certificate
    paths, the release folder and the log files."""
    prefix = tmp / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(prefix / "tls")
    http_port, https_port = free_port(), free_port()
    ports = upstream_ports or (free_port(), free_port())
    live_port = free_port()
    static_root = tmp / "release"
    (static_root / "static" / "ops").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_DIR / "linli" / "ops" / "static" / "ops" / "maintenance.html",
                static_root / "static" / "ops" / "maintenance.html")
    text = NGINX_CONF.read_text(encoding="utf-8")
    for old, new in {
        "127.0.0.1:8001": f"127.0.0.1:{ports[0]}", "127.0.0.1:8002": f"127.0.0.1:{ports[1]}",
        "127.0.0.1:8010": f"127.0.0.1:{live_port}",
        "listen 80;": f"listen 127.0.0.1:{http_port};", "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;", "listen [::]:443 ssl http2;": "",
        "/etc/linli/tls/fullchain.pem": str(cert), "/etc/linli/tls/privkey.pem": str(key),
        "/opt/linli/current": str(static_root), "/var/log/nginx/": f"{prefix}/logs/",
    }.items():
        assert old in text, f"{old!r} is no longer in {NGINX_CONF}: update the sandbox"
        text = text.replace(old, new)
    site = prefix / "linli.conf"
    site.write_text(text, encoding="utf-8")
    conf = prefix / "nginx.conf"
    conf.write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log;
worker_processes 1;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site};
}}
""", encoding="utf-8")
    return NginxSandbox(prefix=prefix, conf=conf, http_port=http_port, https_port=https_port,
                        upstream_ports=ports, static_root=static_root, live_port=live_port)


@contextlib.contextmanager
def nginx_running(nginx: str, sandbox: NginxSandbox) -> Iterator[None]:
    process = subprocess.Popen([nginx, "-c", str(sandbox.conf), "-p", str(sandbox.prefix),  # noqa: S603
                                "-g", "daemon off; master_process on;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: (sandbox.prefix / "nginx.pid").exists(), timeout=20, what="nginx to start")
        yield
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
