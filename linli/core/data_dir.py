"""The data folder holds personal data (SQLite database, uploads, reports, keys): readable
by linli's own user only.

At start the process sets umask 077 (every file it creates is 0600, every folder 0700,
whatever the library creating it does) and tightens what already exists: the folder itself
and the SQLite database with its journal files.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def data_dir_lock_down(folder: Path, *, sqlite: Path | None = None) -> None:
    os.umask(0o077)
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    with contextlib.suppress(PermissionError):  # a folder owned by another user: checks say so
        folder.chmod(PRIVATE_DIR)
    if sqlite is None:
        return
    for suffix in _SQLITE_SUFFIXES:
        path = sqlite.with_name(sqlite.name + suffix)
        if path.is_file():
            with contextlib.suppress(PermissionError):
                path.chmod(PRIVATE_FILE)
