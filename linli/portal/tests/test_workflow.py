"""Pure rules of the portal: the registration table, the throttle, codes, the public steps."""

from __future__ import annotations

import itertools

from linli.portal import workflow
from linli.portal.choices import RegistrationStatus

S = RegistrationStatus
ACTIONS = ("match", "queue", "approve", "reject")


def test_every_status_action_pair_is_either_in_the_table_or_refused() -> None:
    allowed: dict[tuple[str, str], str] = {(S.CODE_SENT, "match"): S.MATCHED, (S.CODE_SENT, "queue"): S.QUEUED,
               (S.QUEUED, "approve"): S.APPROVED, (S.QUEUED, "reject"): S.REJECTED}
    for status, action in itertools.product(S.values, ACTIONS):
        assert workflow.next_status(status, action) == allowed.get((status, action)), (status, action)


def test_the_throttle_refuses_from_the_fifth_counted_failure() -> None:
    assert [workflow.throttled(n) for n in range(7)] == [False] * 5 + [True] * 2


def test_codes_are_six_digits_and_their_hash_depends_on_phone_and_key() -> None:
    codes = {workflow.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150
    one = workflow.code_hash("123456", salt="phone-a", key=b"k1")
    assert one == workflow.code_hash("123456", salt="phone-a", key=b"k1")
    assert one != workflow.code_hash("123456", salt="phone-b", key=b"k1")
    assert one != workflow.code_hash("123456", salt="phone-a", key=b"k2")


def test_answers_are_checked_for_form() -> None:
    assert workflow.valid_id_suffix("123X")
    assert workflow.valid_id_suffix("0421")
    assert not workflow.valid_id_suffix("12345")
    assert not workflow.valid_id_suffix("12a4")
    assert workflow.valid_name("张建国")
    assert not workflow.valid_name("")
    assert not workflow.valid_name("<script>")


def test_a_resident_sees_what_happened_never_the_internal_steps() -> None:
    assert workflow.public_step("close")
    assert workflow.public_step("open")
    for internal in ("submit_dispatch", "reject_dispatch", "request_extension", "approve_extension", "supervise",
                     "reassign", "photo", "verify_fail"):
        assert not workflow.public_step(internal), internal
