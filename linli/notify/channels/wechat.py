"""WeChat subscribe messages (订阅消息): an ``access_token`` from ``cgi-bin/token``, then
``cgi-bin/message/subscribe/send`` with the template's ``thing``/``time`` fields.

WeChat does not de-duplicate either; the idempotency key is not part of its request."""

from __future__ import annotations

import json
import threading
import time
from typing import Final
from urllib.parse import urlencode

from linli.notify.channels.base import HttpGateway, OutgoingMessage, SendResult
from linli.notify.workflow import Outcome

WECHAT_ENDPOINT: Final = "https://api.weixin.qq.com"
# A ``thing`` field holds 20 characters; the adapter sends title and the body's start.
THING_CHARS: Final = 20
TOKEN_INVALID: Final = frozenset({40001, 40014, 42001})
RETRY_CODES: Final = frozenset({-1, 45009, 45011})


class WechatSubscribe:
    name = "wechat"
    idempotent = False
    max_chars = 200

    def __init__(self, *, endpoint: str, app_id: str, app_secret: str, template_id: str,
                 http: HttpGateway) -> None:
        self.endpoint, self.app_id, self.app_secret = endpoint, app_id, app_secret
        self.template_id, self.http = template_id, http
        self._token = ""
        self._token_until = 0.0
        self._lock = threading.Lock()

    def access_token(self, *, refresh: bool = False) -> str | SendResult:
        with self._lock:
            if self._token and not refresh and time.monotonic() < self._token_until:
                return self._token
            query = urlencode({"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret})
            answer = self.http.request("GET", f"{self.endpoint}/cgi-bin/token?{query}")
            if isinstance(answer, SendResult):  # nothing was sent yet: always retryable
                return SendResult(Outcome.RETRY, error=answer.error)
            status, data = answer
            token = str((data or {}).get("access_token", ""))
            if status != 200 or not token:
                return SendResult(Outcome.RETRY, error=f"access_token: HTTP {status} {(data or {}).get('errcode')}")
            self._token = token
            # Renew five minutes early: a token expiring mid-batch costs a failed send.
            self._token_until = time.monotonic() + max(int((data or {}).get("expires_in", 7200)) - 300, 60)
            return token

    def body(self, message: OutgoingMessage) -> bytes:
        return json.dumps({
            "touser": message.address, "template_id": self.template_id, "page": message.link,
            "data": {"thing1": {"value": message.title[:THING_CHARS]},
                     "thing2": {"value": message.body[:THING_CHARS]}},
        }, ensure_ascii=False).encode()

    def send(self, message: OutgoingMessage) -> SendResult:
        for refresh in (False, True):
            token = self.access_token(refresh=refresh)
            if isinstance(token, SendResult):
                return token
            answer = self.http.request("POST", f"{self.endpoint}/cgi-bin/message/subscribe/send?access_token={token}",
                                       body=self.body(message), headers={"Content-Type": "application/json"})
            if isinstance(answer, SendResult):
                return answer
            status, data = answer
            code = int((data or {}).get("errcode", -1 if status != 200 else 0))
            if code == 0 and status == 200:
                return SendResult(Outcome.SENT, provider_id=str((data or {}).get("msgid", "")))
            if code in TOKEN_INVALID and not refresh:
                continue
            error = f"HTTP {status} errcode {code} {(data or {}).get('errmsg', '')}"[:300]
            return SendResult(Outcome.RETRY if code in RETRY_CODES or status >= 500 else Outcome.PERMANENT,
                              error=error)
        return SendResult(Outcome.RETRY, error="access_token refused twice")
