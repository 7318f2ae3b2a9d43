"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption, through
``pywebpush``. The push service's 404/410 means the subscription is gone: the relay
deletes it. The idempotency key is the ``Topic`` (a newer message with the same topic
replaces an undelivered one at the push service)."""

from __future__ import annotations

import base64
import json
from typing import Final

from pywebpush import WebPushException, webpush  # type: ignore[import-untyped]
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout, ReadTimeout

from linli.notify.channels.base import HttpGateway, OutgoingMessage, SendResult
from linli.notify.workflow import Outcome

# A push service accepts 4,096 bytes of encrypted payload; the JSON must stay well under.
PAYLOAD_MAX_BYTES: Final = 3000


class WebPush:
    name = "webpush"
    idempotent = False
    max_chars = 1000

    def __init__(self, *, private_key: str, subject: str, timeout: float) -> None:
        self.private_key, self.subject, self.timeout = private_key, subject, timeout

    def send(self, message: OutgoingMessage) -> SendResult:
        subscription = json.loads(message.address)
        payload = json.dumps({"title": message.title, "body": message.body, "url": message.link},
                             ensure_ascii=False)
        if len(payload.encode()) > PAYLOAD_MAX_BYTES:
            return SendResult(Outcome.PERMANENT, error=f"payload {len(payload.encode())} bytes > {PAYLOAD_MAX_BYTES}")
        try:
            response = webpush(
                subscription_info=subscription, data=payload, vapid_private_key=self.private_key,
                vapid_claims={"sub": self.subject}, timeout=self.timeout, ttl=86400,
                headers={"Topic": message.idempotency_key[:32], "Urgency": "high"},
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status in (404, 410):
                return SendResult(Outcome.GONE, error=f"HTTP {status}: subscription gone")
            outcome = HttpGateway.status_outcome(status) if status else Outcome.UNKNOWN
            return SendResult(outcome, error=f"HTTP {status} {str(exc)[:200]}")
        except ConnectTimeout:
            return SendResult(Outcome.RETRY, error="push service unreachable: ConnectTimeout")
        except ReadTimeout:
            return SendResult(Outcome.UNKNOWN, error="push service: no answer (ReadTimeout)")
        except RequestsConnectionError as exc:
            return SendResult(Outcome.RETRY, error=f"push service unreachable: {type(exc).__name__}")
        status = int(getattr(response, "status_code", 201))
        return SendResult(Outcome.SENT if 200 <= status < 300 else HttpGateway.status_outcome(status),
                          provider_id=str(getattr(response, "headers", {}).get("Location", ""))[:120])


def public_key_of(private_key: str) -> str:
    """The browser's ``applicationServerKey`` for our VAPID private key (raw base64url, DER
    or a PEM file, as pywebpush reads it): the uncompressed P-256 point, base64url."""
    import os

    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid  # type: ignore[import-untyped]

    vapid = Vapid.from_file(private_key_file=private_key) if os.path.isfile(private_key) else \
        Vapid.from_string(private_key=private_key)
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
