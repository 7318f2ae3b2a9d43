"""The process supervisor of ``linli run`` and ``linli demo``: one machine, several processes.

Each long-running part of linli is its own process, started fresh (``python -m linli.cli …``,
never forked from this one), restarted when it dies — at once after a stable run, then with
a doubling backoff while it keeps failing — and stopped together on Ctrl-C or SIGTERM.
Production runs the same commands as systemd units (deploy/systemd/); this is the embedded
and demo shape. The supervisor imports no Django and starts no thread.

Adding a long-running process (the notification relay, the MQTT ingestor) is one line in
:data:`DAEMONS`.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Final

from linli.ops.workflow import STABLE_SECONDS, restart_delay

# name, `linli` subcommand: the daemons every site runs besides web and task workers.
DAEMONS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("relay", ("notify", "relay")),  # the notification relay (linli/notify/relay.py)
    ("ingest", ("ingest",)),  # MQTT ingestor (linli.devices)
    ("devices-sweep", ("devices", "sweep", "--every", "60")),  # absence and heartbeat checks
    ("live", ("live",)),  # the cockpit's event streams (linli/cockpit/live.py)
)
POLL_SECONDS: Final = 0.2
STOP_TIMEOUT_SECONDS: Final = 40.0
_PR_SET_PDEATHSIG: Final = 1


@dataclass(frozen=True)
class ProcessSpec:
    """One supervised process: a name for the log and the ``linli`` subcommand it runs."""

    name: str
    command: tuple[str, ...]

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "linli.cli", *self.command]


def site_processes(*, host: str, port: int, web_workers: int, task_workers: int,
                   daemons: Sequence[tuple[str, tuple[str, ...]]] = DAEMONS,
                   live_host: str | None = None) -> list[ProcessSpec]:
    """What one machine runs: the web server, the task workers, the daemons. ``live_host``:
    the demo serves its pages without nginx, so a browser on another machine reaches the event
    streams directly, on the host the pages are served on (a site keeps them behind nginx)."""
    specs = [ProcessSpec("web", ("serve", "--host", host, "--port", str(port), "--workers", str(web_workers)))]
    specs += [ProcessSpec(f"worker-{n}", ("worker",)) for n in range(1, task_workers + 1)]
    for name, command in daemons:
        if name == "live" and live_host:
            command = (*command, "--host", live_host)
        specs.append(ProcessSpec(name, tuple(command)))
    return specs


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the supervisor dies, even by kill -9, so
    no orphan keeps the port or the queue (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class _Child:
    spec: ProcessSpec
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0
    history: list[int] = field(default_factory=list)


class Supervisor:
    """Start, watch, restart and stop a list of processes (see the module docstring)."""

    def __init__(self, specs: Sequence[ProcessSpec], *, log: Callable[[str], None] | None = None,
                 prefix: str = "linli", stop_timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        self.children = [_Child(spec) for spec in specs]
        self.prefix = prefix
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.stop_timeout = stop_timeout
        self.stop_signal: int | None = None

    def say(self, message: str) -> None:
        self._log(f"{self.prefix}: {message}")

    def _start(self, child: _Child) -> None:
        child.process = subprocess.Popen(  # noqa: S603 -- our own interpreter and module
            child.spec.argv(), process_group=0, preexec_fn=_die_with_parent,
        )
        child.started = time.monotonic()
        child.restart_at = None
        self.say(f"started {child.spec.name} (pid {child.process.pid}): linli {' '.join(child.spec.command)}")

    def _on_exit(self, child: _Child, code: int, now: float) -> None:
        ran = now - child.started
        child.failures = 1 if ran >= STABLE_SECONDS else child.failures + 1
        delay = restart_delay(quick_failures=child.failures)
        child.restart_at = now + delay
        child.restarts += 1
        child.history.append(code)
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        self.say(f"{child.spec.name} (pid {child.process.pid if child.process else '?'}) stopped with {how} "
                 f"after {ran:.0f}s; restarting in {delay:.0f}s")
        child.process = None

    def _request_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stop_signal = signum

    def run(self) -> int:
        """Supervise until SIGINT or SIGTERM; returns 0 (130 after Ctrl-C)."""
        previous = {sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for child in self.children:
                self._start(child)
            while self.stop_signal is None:
                self.step(time.monotonic())
                time.sleep(POLL_SECONDS)
            self.say(f"{signal.Signals(self.stop_signal).name}: stopping every process …")
            self.stop_all()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 130 if self.stop_signal == signal.SIGINT else 0

    def step(self, now: float) -> None:
        """One round: note the processes that died, start those whose backoff is over."""
        for child in self.children:
            if child.process is not None:
                code = child.process.poll()
                if code is not None:
                    self._on_exit(child, code, now)
            elif child.restart_at is not None and now >= child.restart_at and self.stop_signal is None:
                self._start(child)

    def stop_all(self) -> None:
        """SIGTERM to each (a task worker finishes its task, granian its requests), then
        SIGKILL whatever still runs after ``stop_timeout`` seconds."""
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"pid {process.pid} did not stop in {self.stop_timeout:.0f}s: killing it")
                process.kill()
                process.wait()
        for child in self.children:
            child.process = None
        self.say("stopped")


