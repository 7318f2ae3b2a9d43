"""The pure rules: templates, keys, backoff, quiet hours, outcomes."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from linli.notify import workflow
from linli.notify.choices import DeliveryState, Level
from linli.notify.events import EVENT_TYPES
from linli.notify.workflow import Outcome

SH = ZoneInfo("Asia/Shanghai")


def test_every_built_in_wording_uses_only_its_event_variables():
    for event in EVENT_TYPES.values():
        for title, body in (event.zh, event.en):
            workflow.template_check(title=title, body=body, allowed=event.variables)


def test_an_unknown_variable_names_the_field_and_the_variable():
    with pytest.raises(workflow.TemplateError) as err:
        workflow.template_check(title="事件{number}", body="请于{deadline}前处置", allowed=("number",))
    assert (err.value.field, err.value.variable) == ("body", "deadline")


@pytest.mark.parametrize("text", ["{number!r}", "{number:>5}", "{0}", "{a.b}", "{"])
def test_a_malformed_placeholder_is_refused(text):
    with pytest.raises((workflow.TemplateError, ValueError)):
        workflow.template_check(title="t", body=text, allowed=("number",))


def test_render_refuses_a_missing_variable():
    with pytest.raises(KeyError):
        workflow.template_render("事件{number}", {})
    assert workflow.template_render("事件{number}", {"number": "AJ-1"}) == "事件AJ-1"


def test_the_idempotency_key_is_deterministic_and_differs_per_channel():
    a = workflow.idempotency_key(recipient_id=1, dedup_key="case:1:dispatched", channel="sms")
    assert a == workflow.idempotency_key(recipient_id=1, dedup_key="case:1:dispatched", channel="sms")
    assert a != workflow.idempotency_key(recipient_id=1, dedup_key="case:1:dispatched", channel="wechat")
    assert a != workflow.idempotency_key(recipient_id=2, dedup_key="case:1:dispatched", channel="sms")


def test_backoff_doubles_and_is_capped():
    assert [workflow.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert workflow.backoff(40) == timedelta(hours=1)


def test_quiet_hours_across_midnight():
    start, end = time(22), time(7)
    late = datetime(2026, 12, 7, 23, 30, tzinfo=SH)
    early = datetime(2026, 12, 8, 6, 0, tzinfo=SH)
    noon = datetime(2026, 12, 8, 12, 0, tzinfo=SH)
    assert workflow.quiet_until(local_now=late, start=start, end=end) == datetime(2026, 12, 8, 7, 0, tzinfo=SH)
    assert workflow.quiet_until(local_now=early, start=start, end=end) == datetime(2026, 12, 8, 7, 0, tzinfo=SH)
    assert workflow.quiet_until(local_now=noon, start=start, end=end) is None
    assert workflow.quiet_until(local_now=noon, start=time(12), end=time(14)) == datetime(2026, 12, 8, 14, tzinfo=SH)
    assert workflow.quiet_until(local_now=noon, start=None, end=None) is None


def test_emergencies_and_level_one_ignore_quiet_hours():
    assert workflow.ignores_quiet_hours(Level.EMERGENCY)
    assert workflow.ignores_quiet_hours(Level.LEVEL1)
    assert not workflow.ignores_quiet_hours(Level.NORMAL)


@pytest.mark.parametrize(("outcome", "attempts", "idempotent", "state"), [
    (Outcome.SENT, 1, False, DeliveryState.SENT),
    (Outcome.RETRY, 1, False, DeliveryState.FAILED),
    (Outcome.RETRY, workflow.MAX_ATTEMPTS, False, DeliveryState.DEAD),
    (Outcome.UNKNOWN, 1, True, DeliveryState.FAILED),
    (Outcome.UNKNOWN, 1, False, DeliveryState.DEAD),
    (Outcome.PERMANENT, 1, True, DeliveryState.DEAD),
    (Outcome.GONE, 1, True, DeliveryState.DEAD),
])
def test_after_attempt(outcome, attempts, idempotent, state):
    assert workflow.after_attempt(outcome=outcome, attempts=attempts, idempotent=idempotent) == state
