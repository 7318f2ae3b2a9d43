"""Strict parsing of linli's environment variables.

Every setting people may change comes from a ``LINLI_*`` variable. A bad value stops the
process at start with a message naming the variable, instead of surprising us later. The
embedded default needs no variable at all: SQLite and generated secrets live in the data
folder.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

_TRUE: Final = {"1", "true", "yes", "on"}
_FALSE: Final = {"0", "false", "no", "off", ""}
SECRETS_FILE: Final = "secrets.json"


class ConfigError(Exception):
    """A LINLI_* variable holds a value we refuse to guess about."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable = variable


def env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, f"expected true/false, got {raw!r}")


def env_int(name: str, *, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(name, f"expected an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(name, f"must be >= {minimum}, got {value}")
    return value


def env_list(name: str, *, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_retired(name: str, replacement: str) -> None:
    """A variable linli no longer reads: refused rather than silently ignored."""
    if name in os.environ:
        raise ConfigError(name, f"no longer used; {replacement}")


def env_database_url(name: str, *, default: str) -> str:
    raw = os.environ.get(name, default).strip()
    scheme = urlsplit(raw).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ConfigError(name, f"scheme must be sqlite:// or postgresql://, got {scheme!r}")
    return raw


def _decode_key(variable: str, text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ConfigError(variable, "keys must be url-safe base64") from None
    if len(key) != 32:
        raise ConfigError(variable, f"keys must decode to 32 bytes, got {len(key)}")
    return key


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


@dataclass(frozen=True)
class Secrets:
    """Secret material: Django's secret key, PII encryption keys, the blind-index key and the
    audit chain's MAC keys; where each came from, and which this start generated."""

    secret_key: str
    pii_keys: dict[str, bytes]
    pii_current_key: str
    blind_index_key: bytes
    audit_keys: dict[str, bytes]
    audit_current_key: str
    # Not part of the secrets' value: two loads of the same secrets compare equal.
    path: Path = field(compare=False, default=Path(SECRETS_FILE))
    sources: dict[str, str] = field(compare=False, default_factory=dict)
    generated: frozenset[str] = field(compare=False, default=frozenset())


def parse_keys(variable: str, raw: str) -> tuple[dict[str, bytes], str]:
    """``id1:base64,id2:base64``; the first key seals, all of them open (rotation)."""
    keys: dict[str, bytes] = {}
    current = ""
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        key_id, sep, material = part.partition(":")
        if not sep or not key_id.isalnum():
            raise ConfigError(variable, "expected id:base64key[,id:base64key…]")
        if key_id in keys:
            raise ConfigError(variable, f"key id {key_id!r} appears twice")
        keys[key_id] = _decode_key(variable, material)
        current = current or key_id
    if not keys:
        raise ConfigError(variable, "at least one key is required")
    return keys, current


def _generators() -> dict[str, Callable[[], str]]:
    return {
        "LINLI_SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "LINLI_PII_KEYS": lambda: f"k1:{new_key()}",
        "LINLI_BLIND_INDEX_KEY": new_key,
        "LINLI_AUDIT_KEYS": lambda: f"a1:{new_key()}",
    }


def _read_secrets_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ConfigError("LINLI_DATA_DIR", f"{path} is unreadable or corrupt: {exc}") from None
    if not isinstance(stored, dict):
        raise ConfigError("LINLI_DATA_DIR", f"{path} must hold a JSON object")
    return stored


def _write_secrets_file(path: Path, values: dict[str, str]) -> None:
    """Written to a 0600 temp file and renamed into place: never world-readable, never half
    written."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(values, handle, indent=2)
    os.replace(tmp, path)


@contextmanager
def _secrets_lock(path: Path) -> Iterator[None]:
    """Serialises changes of the secrets file: two processes starting at once agree on one
    file (the second reads what the first wrote)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f"{path.name}.lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _generate_missing(path: Path) -> frozenset[str]:
    """Generate every secret found neither in the environment nor in the file, into the file
    (a first start, or an upgrade that brought a new key). Returns what it generated."""
    wanted = [name for name in _generators() if not os.environ.get(name)]
    if not wanted or all(_read_secrets_file(path).get(name) for name in wanted):
        return frozenset()
    with _secrets_lock(path):
        stored = _read_secrets_file(path)
        missing = [name for name in wanted if not stored.get(name)]
        if not missing:
            return frozenset()
        generators = _generators()
        stored.update({name: generators[name]() for name in missing})
        _write_secrets_file(path, stored)
    return frozenset(missing)


def secrets_discard_generated(found: Secrets) -> Path | None:
    """Undo what :func:`load_secrets` generated at this start once the database proved those
    keys wrong: they sealed nothing, and left in place they would pass for the real ones at
    the next start. A file generated whole is moved aside (its new name is returned);
    otherwise the generated entries are taken out of it."""
    if not found.generated:
        return None
    with _secrets_lock(found.path):
        stored = _read_secrets_file(found.path)
        if not stored:
            return None
        if set(stored) <= found.generated:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = found.path.with_name(f"{found.path.name}.rejected-{stamp}")
            os.replace(found.path, aside)
            return aside
        _write_secrets_file(found.path, {k: v for k, v in stored.items() if k not in found.generated})
    return None


def load_secrets(data_dir: Path, *, generate: bool) -> Secrets:
    """Secrets come from the environment, else from the data folder (generated there when
    missing and ``generate`` is on)."""
    path = data_dir / SECRETS_FILE
    generated = _generate_missing(path) if generate else frozenset()
    stored = _read_secrets_file(path)
    sources: dict[str, str] = {}

    def pick(name: str) -> str:
        value = os.environ.get(name)
        if value:
            sources[name] = "environment"
            return value
        value = stored.get(name)
        if not value:
            raise ConfigError(name, f"not set and not found in {path}")
        sources[name] = str(path)
        return value

    pii_keys, current = parse_keys("LINLI_PII_KEYS", pick("LINLI_PII_KEYS"))
    audit_keys, audit_current = parse_keys("LINLI_AUDIT_KEYS", pick("LINLI_AUDIT_KEYS"))
    secret_key = pick("LINLI_SECRET_KEY")
    if len(secret_key) < 32:
        raise ConfigError("LINLI_SECRET_KEY", "must be at least 32 characters")
    return Secrets(
        secret_key=secret_key,
        pii_keys=pii_keys,
        pii_current_key=current,
        blind_index_key=_decode_key("LINLI_BLIND_INDEX_KEY", pick("LINLI_BLIND_INDEX_KEY")),
        audit_keys=audit_keys,
        audit_current_key=audit_current,
        path=path,
        sources=sources,
        generated=generated,
    )


# --- the environment file ----------------------------------------------------------------

DEFAULT_ENV_FILE: Final = Path("/etc/linli/linli.env")
ENVIRONMENTS: Final = ("development", "production")
_ENV_KEY_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def parse_env_file(text: str, *, source: str) -> dict[str, str]:
    """``KEY=value`` lines as systemd's ``EnvironmentFile=`` and ``set -a; . file`` read them:
    comments (``#``), blank lines, an optional ``export``, values optionally in single or
    double quotes (no ``$`` expansion). Anything else is an error naming the line."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or key[0].isdigit() or not set(key) <= _ENV_KEY_CHARS:
            raise ConfigError("LINLI_ENV_FILE", f"{source} line {number}: expected KEY=value, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif value[:1] in {"'", '"'}:
            raise ConfigError("LINLI_ENV_FILE", f"{source} line {number}: unterminated quote")
        values[key] = value
    return values


def env_file_path() -> Path | None:
    """The environment file every ``linli`` command reads: ``LINLI_ENV_FILE`` when set (empty:
    none), else ``/etc/linli/linli.env`` when it exists — except under ``LINLI_TESTING``, so
    a developer's test run on a production machine never picks up production settings."""
    configured = os.environ.get("LINLI_ENV_FILE")
    if configured is not None:
        return Path(configured) if configured.strip() else None
    if env_bool("LINLI_TESTING", default=False):
        return None
    return DEFAULT_ENV_FILE if DEFAULT_ENV_FILE.exists() else None


def load_env_file() -> Path | None:
    """Put the environment file's variables into ``os.environ``; variables already set win
    (a unit's ``Environment=`` or a one-off ``LINLI_X=… linli …``). Returns the file read."""
    path = env_file_path()
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("LINLI_ENV_FILE", f"cannot read {path}: {exc.strerror or exc}") from None
    for key, value in parse_env_file(text, source=str(path)).items():
        os.environ.setdefault(key, value)
    return path


def env_choice(name: str, *, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(name, f"expected one of {', '.join(choices)}, got {raw!r}")
    return value
