"""Channels that stay on the machine: the development file/console adapter (the demo's
default for every outside channel) and e-mail through Django's configured backend."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from django.core.mail import EmailMessage

from linli.notify.channels.base import OutgoingMessage, SendResult
from linli.notify.workflow import Outcome


class ConsoleFile:
    """Appends one JSON line per message to a file (and nothing leaves the machine).

    Counted as idempotent: a line repeated after a crash in development harms nobody, and
    the line carries the key, so a reader can tell."""

    idempotent = True
    max_chars = 2000

    def __init__(self, *, name: str, path: Path) -> None:
        self.name, self.path = name, path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, message: OutgoingMessage) -> SendResult:
        line = json.dumps({"at": datetime.now(UTC).isoformat(), "channel": self.name,
                           "key": message.idempotency_key, "to": message.address, "title": message.title,
                           "body": message.body, "link": message.link}, ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
        return SendResult(Outcome.SENT, provider_id=f"file:{message.idempotency_key[:12]}")


class DjangoEmail:
    """E-mail through ``EMAIL_BACKEND``; the key becomes the Message-ID, so a mail system
    that keeps duplicates apart (or a reader) sees a resend as the same message."""

    name = "email"
    idempotent = False
    max_chars = 20000

    def __init__(self, *, sender: str) -> None:
        self.sender = sender

    def send(self, message: OutgoingMessage) -> SendResult:
        mail = EmailMessage(subject=message.title, body=f"{message.body}\n\n{message.link}".strip(),
                            from_email=self.sender, to=[message.address],
                            headers={"Message-ID": f"<{message.idempotency_key}@linli>"})
        try:
            mail.send(fail_silently=False)
        except (ConnectionError, TimeoutError) as exc:
            return SendResult(Outcome.UNKNOWN if isinstance(exc, TimeoutError) else Outcome.RETRY,
                              error=f"{type(exc).__name__}: {exc}"[:300])
        except OSError as exc:
            return SendResult(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}"[:300])
        return SendResult(Outcome.SENT, provider_id=f"<{message.idempotency_key}@linli>")
