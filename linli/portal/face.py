"""The adapter for an outside face-verification service (人脸核身), and a local fake of it.

The shape: ``POST {endpoint}/v1/verify`` with JSON ``{"request_id", "name", "id_number",
"image"}`` (the image base64), headers ``X-App-Id`` and ``X-Signature`` (hex HMAC-SHA256 of
the body with the app secret); the answer ``{"code": 0, "result": "pass" | "fail",
"score": 0.0–1.0, "request_id": …}``. linli sends the selfie once and keeps only the outcome
and the provider's request id: never the image, never a template or a score.

Configured by ``settings.LINLI_FACE_VERIFY`` = ``{"endpoint", "app_id", "secret", "timeout"}``;
none configured means no face verification (the home visit remains).
The fake (``python -m linli.portal.face --port 8920``) checks the signature like a real one
and passes every image except those containing the bytes ``FAIL`` (tests choose the outcome).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.conf import settings

FAKE_APP_ID = "face-fake"
FAKE_SECRET = "face-secret"  # noqa: S105 -- the fake's own, used by tests


@dataclass(frozen=True)
class FaceOutcome:
    """``passed`` None: the service could not be asked (down, misconfigured)."""

    passed: bool | None
    request_id: str
    error: str = ""


def signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def face_configured() -> bool:
    return bool(getattr(settings, "LINLI_FACE_VERIFY", {}).get("endpoint"))


def face_verify(*, name: str, id_number: str, image: bytes) -> FaceOutcome:
    """Ask the configured service whether the selfie is this person."""
    conf: dict[str, Any] = dict(getattr(settings, "LINLI_FACE_VERIFY", {}))
    if not conf.get("endpoint"):
        return FaceOutcome(None, "", "not configured")
    request_id = uuid.uuid4().hex
    body = json.dumps({"request_id": request_id, "name": name, "id_number": id_number,
                       "image": base64.b64encode(image).decode()}).encode()
    request = urllib.request.Request(  # noqa: S310 -- the endpoint is the operator's setting
        f"{str(conf['endpoint']).rstrip('/')}/v1/verify", data=body, method="POST",
        headers={"Content-Type": "application/json", "X-App-Id": str(conf.get("app_id", "")),
                 "X-Signature": signature(body, str(conf.get("secret", "")))})
    try:
        with urllib.request.urlopen(request, timeout=float(conf.get("timeout", 10))) as answer:  # noqa: S310
            data = json.loads(answer.read() or b"{}")
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        return FaceOutcome(None, request_id, f"{type(exc).__name__}: {exc}"[:200])
    if data.get("code") != 0 or data.get("result") not in {"pass", "fail"}:
        return FaceOutcome(None, request_id, f"unexpected answer {str(data)[:100]}")
    return FaceOutcome(data["result"] == "pass", str(data.get("request_id") or request_id))


# --- the fake service ----------------------------------------------------------------------


@dataclass
class FaceRecorder:
    """What the fake was asked (never the image: its size only)."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/v1/verify":
            self._reply(404, {"code": 404, "message": "not found"})
            return
        if self.headers.get("X-App-Id") != FAKE_APP_ID or not hmac.compare_digest(
                self.headers.get("X-Signature", ""), signature(body, FAKE_SECRET)):
            self._reply(401, {"code": 401, "message": "bad signature"})
            return
        data = json.loads(body)
        image = base64.b64decode(data.get("image", ""))
        result = "fail" if b"FAIL" in image else "pass"
        with self.server.recorder.lock:
            self.server.recorder.entries.append({"request_id": data.get("request_id"), "name": data.get("name"),
                                                 "image_bytes": len(image), "result": result})
        self._reply(200, {"code": 0, "result": result, "score": 0.97 if result == "pass" else 0.12,
                          "request_id": data.get("request_id")})


class _Server(ThreadingHTTPServer):
    recorder: FaceRecorder


class FakeFaceService:
    """A running fake on 127.0.0.1 (a free port unless given); a context manager."""

    def __init__(self, port: int = 0) -> None:
        self.server = _Server(("127.0.0.1", port), _Handler)
        self.server.recorder = FaceRecorder()
        self.recorder = self.server.recorder
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def settings(self) -> dict[str, str]:
        return {"endpoint": self.url, "app_id": FAKE_APP_ID, "secret": FAKE_SECRET, "timeout": "5"}

    def __enter__(self) -> FakeFaceService:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="a local fake face-verification service")
    parser.add_argument("--port", type=int, default=8920)
    args = parser.parse_args()
    with FakeFaceService(port=args.port) as fake:
        print(f"fake face verification on {fake.url}", flush=True)
        fake.thread.join()


if __name__ == "__main__":
    main()
