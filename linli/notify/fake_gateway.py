"""A local fake of the outside gateways, for contract tests, fault tests and benchmarks:
a real HTTP server (threads) speaking Aliyun ``SendSms``, Tencent ``SendSms``, WeChat
``cgi-bin/token`` + ``message/subscribe/send`` and a Web Push service, checking the
signatures the real ones check, and recording every request.

Never a stand-in for a real gateway in production. Faults are switched at run time
(``POST /_control``): every n-th request answers 500, or sleeps past the client's timeout
*after* accepting the message (the nasty case: it went out, the client cannot know);
``dedup`` makes it honour the idempotency key like a de-duplicating SMS proxy.

Run as a process: ``python -m linli.notify.fake_gateway --port 8919 --log requests.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from linli.notify.channels.sms import aliyun_signature, tencent_authorization

KEY_ID = "LTAI-fake-id"
KEY_SECRET = "fake-secret"  # noqa: S105 -- the fake's own, used by tests
WECHAT_APP_ID = "wx-fake"
WECHAT_SECRET = "wx-secret"  # noqa: S105 -- the fake's own


@dataclass
class Faults:
    fail_every: int = 0  # every n-th message request answers 500 (nothing delivered)
    slow_every: int = 0  # every n-th accepts, then sleeps ``slow_seconds`` before answering
    slow_seconds: float = 0.0
    dedup: bool = False  # honour the idempotency key (a second request is not delivered again)


@dataclass
class Recorder:
    """What the fake was asked: one entry per request, ``delivered`` when it "went out"."""

    log_path: Path | None = None
    faults: Faults = field(default_factory=Faults)
    entries: list[dict[str, Any]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    counter: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.entries.append(entry)
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def next_fault(self, key: str) -> tuple[str, bool]:
        """('fail' | 'slow' | 'ok', duplicate) for the next message request."""
        with self.lock:
            self.counter += 1
            n = self.counter
            duplicate = self.faults.dedup and key in self.seen
            f = self.faults
            if f.fail_every and n % f.fail_every == 0:
                return "fail", duplicate
            self.seen.add(key)
            if f.slow_every and n % f.slow_every == 0:
                return "slow", duplicate
            return "ok", duplicate

    def delivered_keys(self) -> list[str]:
        with self.lock:
            return [e["key"] for e in self.entries if e.get("delivered")]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: with Nagle on, the body waits for the
    # client's delayed ACK (≈ 40 ms a request once several connections are busy).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        if url.path == "/wechat/cgi-bin/token":
            if query.get("appid") != WECHAT_APP_ID or query.get("secret") != WECHAT_SECRET:
                self._reply(200, {"errcode": 40013, "errmsg": "invalid appid"})
                return
            self._reply(200, {"access_token": "fake-token-1", "expires_in": 7200})
            return
        if url.path == "/_log":
            self._reply(200, {"entries": self.server.recorder.entries})
            return
        self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self._body()
        rec = self.server.recorder
        if url.path == "/_control":
            for name, value in json.loads(body or b"{}").items():
                setattr(rec.faults, name, value)
            self._reply(200, {"ok": True})
            return
        handler = {"/aliyun/": self._aliyun, "/tencent/": self._tencent,
                   "/wechat/cgi-bin/message/subscribe/send": self._wechat}.get(url.path)
        if handler is None and url.path.startswith("/push/"):
            handler = self._push
        if handler is None:
            self._reply(404, {"error": "not found"})
            return
        handler(url.query, body)

    def _deliver(self, api: str, key: str, detail: dict[str, Any], ok: Any) -> None:
        """Apply the faults, record, answer ``ok`` (a callable giving status and body)."""
        rec = self.server.recorder
        fault, duplicate = rec.next_fault(key)
        if fault == "fail":
            rec.record({"api": api, "key": key, "delivered": False, "fault": "500", **detail})
            self._reply(500, {"Code": "isp.SYSTEM_ERROR", "Message": "fake outage",
                              "Response": {"Error": {"Code": "InternalError", "Message": "fake outage"}}})
            return
        rec.record({"api": api, "key": key, "delivered": not duplicate, "duplicate": duplicate,
                    "fault": fault, **detail})
        if fault == "slow":
            time.sleep(rec.faults.slow_seconds)
        status, answer = ok()
        self._reply(status, answer)

    def _aliyun(self, _query: str, body: bytes) -> None:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        signature = params.pop("Signature", "")
        if params.get("AccessKeyId") != KEY_ID or not hmac.compare_digest(
                signature, aliyun_signature(method="POST", params=params, secret=KEY_SECRET)):
            self.server.recorder.record({"api": "aliyun", "key": params.get("OutId", ""), "delivered": False,
                                         "fault": "signature"})
            self._reply(400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"})
            return
        for name in ("PhoneNumbers", "SignName", "TemplateCode", "TemplateParam"):
            if not params.get(name):
                self._reply(400, {"Code": "isv.MISSING_PARAMETER", "Message": f"{name} missing"})
                return
        if not (params["PhoneNumbers"].isdigit() and len(params["PhoneNumbers"]) == 11):
            self._reply(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "invalid mobile"})
            return
        key = params.get("OutId", "")
        self._deliver("aliyun", key, {"to": params["PhoneNumbers"], "template": params["TemplateCode"],
                                      "params": json.loads(params["TemplateParam"])},
                      lambda: (200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{key[:12]}",
                                     "RequestId": hashlib.md5(key.encode()).hexdigest()}))  # noqa: S324

    def _tencent(self, _query: str, body: bytes) -> None:
        stamp = int(self.headers.get("X-TC-Timestamp") or 0)
        host = self.headers.get("Host", "")
        expected = tencent_authorization(secret_id=KEY_ID, secret_key=KEY_SECRET, host=host, payload=body,
                                         timestamp=stamp)
        if self.headers.get("X-TC-Action") != "SendSms" or not hmac.compare_digest(
                self.headers.get("Authorization", ""), expected):
            self._reply(200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
                                                     "Message": "signature mismatch"}, "RequestId": "x"}})
            return
        data = json.loads(body)
        key = str(data.get("SessionContext", ""))
        phone = data["PhoneNumberSet"][0]
        self._deliver("tencent", key, {"to": phone, "template": data.get("TemplateId"),
                                       "params": data.get("TemplateParamSet")},
                      lambda: (200, {"Response": {"SendStatusSet": [{
                          "SerialNo": f"sn-{key[:12]}", "PhoneNumber": phone, "Fee": 1, "SessionContext": key,
                          "Code": "Ok", "Message": "send success", "IsoCode": "CN"}], "RequestId": "r"}}))

    def _wechat(self, query: str, body: bytes) -> None:
        if dict(parse_qsl(query)).get("access_token") != "fake-token-1":
            self._reply(200, {"errcode": 40001, "errmsg": "invalid credential"})
            return
        data = json.loads(body)
        key = hashlib.sha256(body).hexdigest()[:40]
        if data.get("touser") == "refused":
            self._reply(200, {"errcode": 43101, "errmsg": "user refuse to accept the msg"})
            return
        self._deliver("wechat", key, {"to": data.get("touser"), "data": data.get("data")},
                      lambda: (200, {"errcode": 0, "errmsg": "ok", "msgid": 1}))

    def _push(self, _query: str, body: bytes) -> None:
        url = urlsplit(self.path)
        if url.path in self.server.recorder.gone:
            self._reply(410, {"error": "gone"})
            return
        if not self.headers.get("Authorization", "").startswith("vapid t=") or \
                self.headers.get("Content-Encoding") != "aes128gcm":
            self._reply(401, {"error": "missing VAPID or encryption"})
            return
        key = self.headers.get("Topic", "")
        self._deliver("webpush", key, {"to": url.path, "bytes": len(body)}, lambda: (201, {}))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    recorder: Recorder


@dataclass
class FakeGateway:
    """The server on a background thread: ``with FakeGateway() as fake: fake.url``."""

    port: int = 0
    log_path: Path | None = None
    recorder: Recorder = field(init=False)
    server: _Server = field(init=False)

    def __post_init__(self) -> None:
        self.recorder = Recorder(log_path=self.log_path)
        self.server = _Server(("127.0.0.1", self.port), _Handler)
        self.server.recorder = self.recorder

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeGateway:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8919)
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--fail-every", type=int, default=0)
    parser.add_argument("--slow-every", type=int, default=0)
    parser.add_argument("--slow-seconds", type=float, default=0.0)
    parser.add_argument("--dedup", action="store_true")
    args = parser.parse_args()
    fake = FakeGateway(port=args.port, log_path=args.log)
    fake.recorder.faults = Faults(fail_every=args.fail_every, slow_every=args.slow_every,
                                  slow_seconds=args.slow_seconds, dedup=args.dedup)
    print(f"fake gateway on {fake.url}", flush=True)
    fake.server.serve_forever()


if __name__ == "__main__":
    main()
