"""Strict parsing of linli's environment variables.

Every setting people may change comes from a ``LINLI_*`` variable. A bad value stops the
process at start with a message naming the variable, instead of surprising us later. The
embedded default needs no variable at all: SQLite and generated secrets live in the data
folder.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
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
    """Secret material: Django's secret key, PII encryption keys and the blind-index key."""

    secret_key: str
    pii_keys: dict[str, bytes]
    pii_current_key: str
    blind_index_key: bytes


def parse_pii_keys(variable: str, raw: str) -> tuple[dict[str, bytes], str]:
    """``id1:base64,id2:base64``; the first key encrypts, all of them decrypt (rotation)."""
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


def load_secrets(data_dir: Path, *, generate: bool) -> Secrets:
    """Secrets come from the environment, else from the data folder (generated once there)."""
    path = data_dir / SECRETS_FILE
    stored: dict[str, str] = {}
    if not path.exists() and generate:
        data_dir.mkdir(parents=True, exist_ok=True)
        generated = {
            "LINLI_SECRET_KEY": secrets.token_urlsafe(50),
            "LINLI_PII_KEYS": f"k1:{new_key()}",
            "LINLI_BLIND_INDEX_KEY": new_key(),
        }
        # Written to a 0600 temp file and linked into place: never world-readable, and two
        # processes starting at once agree on one file (the loser reads the winner's).
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(generated, handle, indent=2)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise ConfigError("LINLI_DATA_DIR", f"{path} is unreadable or corrupt: {exc}") from None
        if not isinstance(stored, dict):
            raise ConfigError("LINLI_DATA_DIR", f"{path} must hold a JSON object")

    def pick(name: str) -> str:
        value = os.environ.get(name) or stored.get(name)
        if not value:
            raise ConfigError(name, f"not set and not found in {path}")
        return value

    pii_keys, current = parse_pii_keys("LINLI_PII_KEYS", pick("LINLI_PII_KEYS"))
    secret_key = pick("LINLI_SECRET_KEY")
    if len(secret_key) < 32:
        raise ConfigError("LINLI_SECRET_KEY", "must be at least 32 characters")
    return Secrets(
        secret_key=secret_key,
        pii_keys=pii_keys,
        pii_current_key=current,
        blind_index_key=_decode_key("LINLI_BLIND_INDEX_KEY", pick("LINLI_BLIND_INDEX_KEY")),
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
