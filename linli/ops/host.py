"""What this host's operating system says about a process (Linux ``/proc``; None elsewhere)."""

from __future__ import annotations

import socket
from functools import cache
from pathlib import Path

PROC = Path("/proc")


@cache
def hostname() -> str:
    return socket.gethostname()[:255]


def process_start_mark(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22): a
    pid reused by another process has another mark. None when the process is gone, a
    zombie, or /proc is not there."""
    try:
        text = (PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # "pid (comm) state ppid …": comm may hold spaces and parentheses; split after the last ")".
    fields = text.rpartition(")")[2].split()
    if len(fields) < 20 or fields[0] in {"Z", "X", "x"}:
        return None
    return fields[19]


def process_alive(*, host: str, pid: int, mark: str) -> bool | None:
    """True/False for a process of this host, None for another host's (or without /proc)."""
    if host != hostname() or not PROC.is_dir() or not mark:
        return None
    return process_start_mark(pid) == mark
