"""The supervisor with real (tiny) processes: restart with backoff, logged; stop all."""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass

from linli.ops.supervisor import ProcessSpec, Supervisor, site_processes


@dataclass(frozen=True)
class Script(ProcessSpec):
    """A process running a Python one-liner instead of a linli command."""

    code: str = ""

    def argv(self) -> list[str]:
        return [sys.executable, "-c", self.code]


def test_a_process_that_dies_is_restarted_with_a_growing_delay_and_logged():
    # given a process that exits at once, every time
    lines: list[str] = []
    supervisor = Supervisor([Script("crashy", (), code="import sys; sys.exit(3)")], log=lines.append)
    child = supervisor.children[0]
    supervisor._start(child)  # driving the loop by hand, without signals
    assert child.process is not None
    child.process.wait()
    # when the supervisor notices, twice
    supervisor.step(time.monotonic())
    assert child.restart_at is not None
    first = child.restart_at - time.monotonic()
    supervisor.step(child.restart_at)
    assert child.process is not None
    child.process.wait()
    supervisor.step(time.monotonic())
    assert child.restart_at is not None
    second = child.restart_at - time.monotonic()
    # then it restarts it after 1 s, then 2 s, saying so
    assert 0.5 < first <= 1.0
    assert 1.5 < second <= 2.0
    assert child.history == [3, 3]
    assert any("crashy" in line and "exit code 3" in line and "restarting in 1s" in line for line in lines)


def test_stop_all_ends_every_process_and_kills_one_that_ignores_sigterm():
    # given a well-behaved process and one that ignores SIGTERM
    lines: list[str] = []
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    supervisor = Supervisor([Script("polite", (), code="import time; time.sleep(60)"),
                             Script("stubborn", (), code=stubborn)], log=lines.append, stop_timeout=2)
    for child in supervisor.children:
        supervisor._start(child)
    time.sleep(0.5)
    processes = [c.process for c in supervisor.children if c.process is not None]
    # when everything is stopped
    started = time.monotonic()
    supervisor.stop_all()
    # then both are gone within the timeout, the stubborn one killed
    assert time.monotonic() - started < 10
    assert processes[0].returncode == -signal.SIGTERM
    assert processes[1].returncode == -signal.SIGKILL
    assert any("killing" in line for line in lines)


def test_the_site_runs_web_task_workers_and_the_daemons_of_the_list():
    specs = site_processes(host="127.0.0.1", port=8000, web_workers=2, task_workers=2,
                           daemons=[("relay", ("notify", "relay"))])
    assert [s.name for s in specs] == ["web", "worker-1", "worker-2", "relay"]
    assert specs[0].command == ("serve", "--host", "127.0.0.1", "--port", "8000", "--workers", "2")
    assert specs[-1].argv()[-3:] == ["linli.cli", "notify", "relay"]


def test_the_demo_serves_its_event_streams_on_the_pages_host_a_site_keeps_them_local():
    demo = site_processes(host="0.0.0.0", port=8000, web_workers=1, task_workers=1, live_host="0.0.0.0")  # noqa: S104
    site = site_processes(host="0.0.0.0", port=8000, web_workers=1, task_workers=1)  # noqa: S104
    assert next(s for s in demo if s.name == "live").command == ("live", "--host", "0.0.0.0")  # noqa: S104
    assert next(s for s in site if s.name == "live").command == ("live",)
