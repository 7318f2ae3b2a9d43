"""SMS adapters shaped like the two gateways Chinese districts use: Aliyun ``SendSms`` (RPC
style, signature v1, HMAC-SHA1) and Tencent Cloud ``SendSms`` (API 3.0, TC3-HMAC-SHA256).

Neither gateway de-duplicates: the idempotency key travels as Aliyun ``OutId`` and Tencent
``SessionContext`` (echoed back in receipts), so an attempt with no answer is not repeated
unless ``LINLI_NOTIFY_IDEMPOTENT_GATEWAYS`` names ``sms`` (a de-duplicating SMS proxy)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote, urlsplit

from linli.notify.channels.base import HttpGateway, OutgoingMessage, SendResult
from linli.notify.workflow import Outcome

SMS_MAX_CHARS: Final = 300
ALIYUN_ENDPOINT: Final = "https://dysmsapi.aliyuncs.com"
TENCENT_ENDPOINT: Final = "https://sms.tencentcloudapi.com"


def _pct(value: str) -> str:
    """Aliyun's percent-encoding: RFC 3986 unreserved characters kept, space as %20."""
    return quote(value, safe="-_.~")


def aliyun_signature(*, method: str, params: dict[str, str], secret: str) -> str:
    """Signature v1 of an Aliyun RPC request (HMAC-SHA1 over the sorted, encoded query)."""
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_pct('/')}&{_pct(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Aliyun error codes after which the same request may succeed later (flow control, outage).
ALIYUN_RETRY: Final = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isp.SYSTEM_ERROR", "Throttling.User",
                                 "ServiceUnavailable"})


class AliyunSms:
    name = "sms"
    idempotent = False
    max_chars = SMS_MAX_CHARS

    def __init__(self, *, endpoint: str, key_id: str, key_secret: str, sign_name: str, region: str,
                 http: HttpGateway) -> None:
        self.endpoint, self.key_id, self.key_secret = endpoint, key_id, key_secret
        self.sign_name, self.region, self.http = sign_name, region, http

    def params(self, message: OutgoingMessage, *, now: datetime, nonce: str) -> dict[str, str]:
        return {
            "AccessKeyId": self.key_id, "Action": "SendSms", "Format": "JSON", "Version": "2017-05-25",
            "RegionId": self.region, "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
            "SignatureNonce": nonce, "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "PhoneNumbers": message.address, "SignName": self.sign_name,
            "TemplateCode": message.template_code or message.event_type,
            "TemplateParam": json.dumps({k: str(message.variables.get(k, "")) for k in message.variable_order},
                                        ensure_ascii=False, separators=(",", ":")),
            "OutId": message.idempotency_key,
        }

    def send(self, message: OutgoingMessage) -> SendResult:
        params = self.params(message, now=datetime.now(UTC), nonce=uuid.uuid4().hex)
        params["Signature"] = aliyun_signature(method="POST", params=params, secret=self.key_secret)
        body = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in params.items()).encode()
        answer = self.http.request("POST", f"{self.endpoint}/", body=body,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        if isinstance(answer, SendResult):
            return answer
        status, data = answer
        code = str((data or {}).get("Code", ""))
        if status == 200 and code == "OK":
            return SendResult(Outcome.SENT, provider_id=str((data or {}).get("BizId", "")))
        error = f"HTTP {status} {code} {(data or {}).get('Message', '')}".strip()[:300]
        if code in ALIYUN_RETRY or (not code and HttpGateway.status_outcome(status) == Outcome.RETRY):
            return SendResult(Outcome.RETRY, error=error)
        return SendResult(Outcome.PERMANENT, error=error)


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tencent_authorization(*, secret_id: str, secret_key: str, host: str, payload: bytes, timestamp: int,
                          service: str = "sms") -> str:
    """The ``Authorization`` header of a Tencent Cloud API 3.0 POST (TC3-HMAC-SHA256)."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = (f"POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:{host}\n\n"
                 f"content-type;host\n{_sha256_hex(payload)}")
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{_sha256_hex(canonical.encode())}"
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


class TencentSms:
    name = "sms"
    idempotent = False
    max_chars = SMS_MAX_CHARS

    def __init__(self, *, endpoint: str, secret_id: str, secret_key: str, app_id: str, sign_name: str,
                 region: str, http: HttpGateway) -> None:
        self.endpoint, self.secret_id, self.secret_key = endpoint, secret_id, secret_key
        self.app_id, self.sign_name, self.region, self.http = app_id, sign_name, region, http
        self.host = urlsplit(endpoint).netloc

    def payload(self, message: OutgoingMessage) -> bytes:
        phone = message.address if message.address.startswith("+") else f"+86{message.address}"
        return json.dumps({
            "PhoneNumberSet": [phone], "SmsSdkAppId": self.app_id, "SignName": self.sign_name,
            "TemplateId": message.template_code or message.event_type,
            "TemplateParamSet": [str(message.variables.get(k, "")) for k in message.variable_order],
            "SessionContext": message.idempotency_key,
        }, ensure_ascii=False, separators=(",", ":")).encode()

    def send(self, message: OutgoingMessage) -> SendResult:
        payload = self.payload(message)
        timestamp = int(datetime.now(UTC).timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8", "Host": self.host,
            "X-TC-Action": "SendSms", "X-TC-Version": "2021-01-11", "X-TC-Region": self.region,
            "X-TC-Timestamp": str(timestamp),
            "Authorization": tencent_authorization(secret_id=self.secret_id, secret_key=self.secret_key,
                                                   host=self.host, payload=payload, timestamp=timestamp),
        }
        answer = self.http.request("POST", f"{self.endpoint}/", body=payload, headers=headers)
        if isinstance(answer, SendResult):
            return answer
        status, data = answer
        response = (data or {}).get("Response") or {}
        error = response.get("Error")
        if status != 200 or error:
            code = str((error or {}).get("Code", ""))
            text = f"HTTP {status} {code} {(error or {}).get('Message', '')}".strip()[:300]
            retry = code.startswith(("LimitExceeded", "InternalError", "RequestLimitExceeded")) or (
                not code and HttpGateway.status_outcome(status) == Outcome.RETRY)
            return SendResult(Outcome.RETRY if retry else Outcome.PERMANENT, error=text)
        sent = (response.get("SendStatusSet") or [{}])[0]
        if str(sent.get("Code", "")).lower() == "ok":
            return SendResult(Outcome.SENT, provider_id=str(sent.get("SerialNo", "")))
        code = str(sent.get("Code", ""))
        retry = code.startswith("LimitExceeded")
        return SendResult(Outcome.RETRY if retry else Outcome.PERMANENT,
                          error=f"{code} {sent.get('Message', '')}"[:300])
