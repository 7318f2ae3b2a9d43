"""The adapter interface every outside channel implements, and the HTTP plumbing they share.

An adapter turns one :class:`OutgoingMessage` into one gateway request and reports an
:class:`~linli.notify.workflow.Outcome`; it never touches the database (the relay records
the outcome), so a contract test drives it against a local fake gateway alone.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import urllib3

from linli.config import ConfigError
from linli.notify.workflow import Outcome


@dataclass(frozen=True)
class OutgoingMessage:
    idempotency_key: str
    address: str
    title: str
    body: str
    event_type: str
    variables: dict[str, Any] = field(default_factory=dict)
    variable_order: tuple[str, ...] = ()
    link: str = ""
    template_code: str = ""


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_id: str = ""
    error: str = ""


class Adapter(Protocol):
    """One outside channel. ``idempotent``: the gateway honours the idempotency key, so an
    attempt whose outcome is unknown may be repeated; ``max_chars`` bounds the body."""

    name: str
    idempotent: bool
    max_chars: int

    def send(self, message: OutgoingMessage) -> SendResult: ...


class Settings:
    """Reads ``settings.LINLI_NOTIFY`` (the LINLI_NOTIFY_* variables): a missing or bad
    value is a :class:`ConfigError` naming the variable, raised when the relay starts."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default).strip()

    def require(self, name: str, *, because: str) -> str:
        value = self.get(name)
        if not value:
            raise ConfigError(name, f"must be set when {because}")
        return value

    def url(self, name: str, default: str) -> str:
        value = self.get(name, default)
        if not value.startswith(("http://", "https://")):
            raise ConfigError(name, f"must be an http(s) URL, not {value!r}")
        return value.rstrip("/")

    def number(self, name: str, default: float) -> float:
        raw = self.get(name)
        try:
            value = float(raw) if raw else default
        except ValueError:
            raise ConfigError(name, f"must be a number, not {raw!r}") from None
        if value <= 0:
            raise ConfigError(name, "must be greater than 0")
        return value


class HttpGateway:
    """A pooled, keep-alive HTTP client shared by the relay's sender threads."""

    RETRY_STATUSES: ClassVar[frozenset[int]] = frozenset({408, 429, 500, 502, 503, 504})

    def __init__(self, *, timeout: float, pool_size: int = 16) -> None:
        self.timeout = timeout
        self.pool = urllib3.PoolManager(maxsize=pool_size, block=False, retries=False,
                                        timeout=urllib3.Timeout(connect=timeout, read=timeout))
        self._lock = threading.Lock()

    def request(self, method: str, url: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any] | None] | SendResult:
        """The status and JSON body, or the outcome when there is no answer to read."""
        try:
            response = self.pool.request(method, url, body=body, headers=headers or {})
        except (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ProtocolError) as exc:
            # The request may have reached the gateway: it may have sent.
            return SendResult(Outcome.UNKNOWN, error=f"no answer: {type(exc).__name__}")
        except urllib3.exceptions.HTTPError as exc:  # refused, connect timeout: nothing was sent
            return SendResult(Outcome.RETRY, error=f"unreachable: {type(exc).__name__}")
        try:
            data = json.loads(response.data or b"null")
        except ValueError:
            data = None
        return response.status, data if isinstance(data, dict) else None

    @classmethod
    def status_outcome(cls, status: int) -> Outcome:
        if 200 <= status < 300:
            return Outcome.SENT
        return Outcome.RETRY if status in cls.RETRY_STATUSES else Outcome.PERMANENT
