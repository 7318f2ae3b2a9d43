"""Pure rules of the portal: the throttle, codes, the registration's transitions, the
public part of a case timeline. No ORM here."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import date, timedelta
from typing import Final

from linli.portal.choices import RegistrationStatus

S = RegistrationStatus

# 5 failures in 10 minutes per phone and per address (room), then refused until the window
# has moved on; at most 5 codes sent to one phone in the same window.
FAILURE_LIMIT: Final = 5
SEND_LIMIT: Final = 5
WINDOW: Final = timedelta(minutes=10)
CODE_TTL: Final = timedelta(minutes=10)
CODE_DIGITS: Final = 6

# (status, action) → status. Only services.registration_* change Registration.status.
TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    (S.CODE_SENT, "match"): S.MATCHED,
    (S.CODE_SENT, "queue"): S.QUEUED,
    (S.QUEUED, "approve"): S.APPROVED,
    (S.QUEUED, "reject"): S.REJECTED,
}

_ID_SUFFIX = re.compile(r"^[0-9]{3}[0-9Xx]$")
_NAME = re.compile(r"^[\u3400-\u9fff·A-Za-z ]{1,30}$")


def next_status(status: str, action: str) -> str | None:
    return TRANSITIONS.get((status, action))


def throttled(count: int, limit: int = FAILURE_LIMIT) -> bool:
    return count >= limit


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(code: str, *, salt: str, key: bytes) -> str:
    """Keyed hash of a code bound to its phone (its blind index): a leaked table gives
    nothing to try offline without the key."""
    return hmac.new(key, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def valid_id_suffix(text: str) -> bool:
    return bool(_ID_SUFFIX.match(text))


def valid_name(text: str) -> bool:
    return bool(_NAME.match(text))


# Timeline steps a resident sees of their own report: what happened and when, never who
# handled it or the staff's notes.
PUBLIC_ACTIONS: Final[frozenset[str]] = frozenset({
    "open", "register", "dispatch", "accept", "handle_on_spot", "report_back", "verify_pass", "close",
    "evaluate", "reopen", "cancel", "merge",
})


def public_step(action: str) -> bool:
    return action in PUBLIC_ACTIONS


# The yearly living certification: after this many failed face checks the resident is
# offered no more tries and the community visits instead.
FACE_ATTEMPTS_MAX: Final = 3


def certification_after_face(*, passed: bool, attempts: int) -> str:
    """The status after a face check that answered (``attempts`` counts this one)."""
    if passed:
        return "certified"
    return "visit" if attempts >= FACE_ATTEMPTS_MAX else "open"


# Pension-type benefits (care's policy codes) whose holders certify once a calendar year
# that they are alive: the age allowances (高龄津贴, 百岁老人长寿保健金, 尊老金). A deployment
# with other codes sets ``LINLI_PORTAL_CERTIFICATION_POLICIES`` (a list of codes).
CERTIFICATION_POLICY_CODES: Final[tuple[str, ...]] = ("gaoling_80", "gaoling_90", "gaoling_100", "zunlaojin")


def certification_due_on(year: int) -> date:
    """The last day to certify for ``year`` (the calendar year is the cycle)."""
    return date(year, 12, 31)


def certification_next_on(*, year: int, certified: bool) -> date:
    """When the next certification opens: next January once this year's is done, else now
    (the year's own, still open)."""
    return date(year + 1, 1, 1) if certified else date(year, 1, 1)


# --- 两委 and 居民公约 -----------------------------------------------------------------------

# An office number: area code and number (0571-87001234, 057187001234), a bare 7–8 digit
# local number, or a service number (96345), an extension after "转" or "-". A personal
# mobile (11 digits from 1) is refused: residents get the office's duty phone.
_OFFICE_PHONE = re.compile(r"^(0\d{2,3}-?)?\d{5,8}((-|转)\d{1,6})?$")
_MOBILE = re.compile(r"^1\d{10}$")


def office_phone_problem(text: str) -> str | None:
    """``None`` when ``text`` is an acceptable office phone (or empty), else "mobile" or
    "format"."""
    phone = text.strip().replace(" ", "").replace("（", "(").replace("）", ")")
    if not phone:
        return None
    if _MOBILE.match(phone.replace("-", "")) or phone.startswith("+86"):
        return "mobile"
    return None if _OFFICE_PHONE.match(phone) else "format"


def term_valid(start: date, end: date | None) -> bool:
    return end is None or end > start


def convention_in_force(versions: list[tuple[int, date]], on: date) -> int | None:
    """Of (version, effective_on) pairs, the version in force on ``on``: the highest version
    that has taken effect."""
    started = [v for v, day in versions if day <= on]
    return max(started) if started else None
