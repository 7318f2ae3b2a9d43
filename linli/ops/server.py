"""``linli serve``: the WSGI application under granian, with the limits that keep slow or idle
clients from taking the site down (issue #15.4) and dead workers respawned (#24.6).

Measured on granian 2.8 (tests/test_serve.py, benchmarks/bench_slow_clients.py):

- granian's ``backpressure`` is the number of *connections* a worker serves at once, idle
  keep-alive ones included. It used to equal the thread count (16), so 16 idle sockets
  stopped the site; it is now ``LINLI_WEB_MAX_CONNECTIONS`` (1024) per worker, and the
  Python threads (``blocking_threads``) stay the bound on concurrent requests.
- Only in HTTP/1 mode does the header-read timeout also close a connection that never sends
  a byte (in ``auto`` mode it waits for the protocol preface for ever); it also ends idle
  keep-alive connections and half-sent headers. linli serves HTTP/1.1 (nginx speaks it
  upstream).
- granian has no timeout for a request *body*: a client that sends headers and then trickles
  its body holds a Python thread. nginx in front buffers bodies (``proxy_request_buffering``,
  ``client_body_timeout``): production runs behind it (deploy/nginx/linli.conf).

Workers are started with ``spawn``, not ``fork``: this process has imported Django, NumPy and
Polars, whose thread pools do not survive a fork (DESIGN §4 Processes, issue #15.3).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.server import MPServer

WSGI_TARGET = "linli.wsgi:application"
ACCESS_LOG_FORMAT = '[%(time)s] %(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'
# Seconds granian waits for a worker to finish its requests on stop/reload before killing it.
WORKER_KILL_TIMEOUT = 30


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    threads: int
    max_connections: int
    header_timeout: int
    access_log: bool
    metrics_dir: Path | None = None


def metrics_dir_prepare(path: Path) -> Path:
    """A fresh folder for the web processes' shared metric files (prometheus_client's
    multiprocess mode): old files of dead processes would count twice."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)
    return path


def build_server(options: ServeOptions) -> MPServer:
    # MPServer: worker processes (Server is MTServer on a free-threaded build).
    return MPServer(
        WSGI_TARGET,
        address=options.host,
        port=options.port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(header_read_timeout=min(60, options.header_timeout) * 1000,
                                     keep_alive=True),
        websockets=False,
        workers=options.workers,
        # Bounded: granian's default (backlog / 2) would allow hundreds of Python threads.
        blocking_threads=options.threads,
        backpressure=options.max_connections,
        respawn_failed_workers=True,
        workers_kill_timeout=WORKER_KILL_TIMEOUT,
        log_access=options.access_log,
        log_access_format=ACCESS_LOG_FORMAT,
    )


def serve(options: ServeOptions) -> None:
    """Serve until SIGINT/SIGTERM. A web worker that dies is respawned by granian; granian
    itself is restarted by systemd (Restart=always) or by ``linli run`` / ``linli demo``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    if options.metrics_dir is not None:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir_prepare(options.metrics_dir))
    multiprocessing.set_start_method("spawn", force=True)
    build_server(options).serve()
