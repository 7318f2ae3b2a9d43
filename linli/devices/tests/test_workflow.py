"""The alarm transition table over every (status, action) pair, and the pure deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linli.devices import workflow
from linli.devices.choices import AlarmAction, AlarmKind, AlarmStatus

EXPECTED = {
    ("raised", "acknowledge"): "acknowledged", ("raised", "handle"): "handled",
    ("raised", "false_alarm"): "false_alarm", ("raised", "clear"): "cleared",
    ("acknowledged", "handle"): "handled", ("acknowledged", "false_alarm"): "false_alarm",
    ("acknowledged", "clear"): "cleared",
}


@pytest.mark.parametrize("status", list(AlarmStatus.values))
@pytest.mark.parametrize("action", [a.value for a in AlarmAction])
def test_every_pair_of_the_alarm_table(status, action):
    assert workflow.next_status(status, action) == EXPECTED.get((status, action))


def test_closed_alarms_offer_no_action():
    for status in (AlarmStatus.HANDLED, AlarmStatus.FALSE_ALARM, AlarmStatus.CLEARED):
        assert workflow.actions_from(status) == []
    assert "clear" not in workflow.actions_from(AlarmStatus.RAISED)


def test_smoke_gas_sos_are_level_one_and_silence_opens_no_case():
    for kind in (AlarmKind.SMOKE, AlarmKind.GAS, AlarmKind.SOS):
        assert workflow.ALARM_RULES[kind].level == 1
        assert workflow.ALARM_RULES[kind].category is not None
    assert workflow.ALARM_RULES[AlarmKind.SILENT].category is None


def test_absence_due_counts_from_the_last_opening_or_installation():
    at = datetime(2026, 12, 7, 8, tzinfo=UTC)
    assert workflow.absence_due(last_opened_at=at, since=at - timedelta(days=3), hours=24) == at + timedelta(hours=24)
    assert workflow.absence_due(last_opened_at=None, since=at, hours=12) == at + timedelta(hours=12)
    assert workflow.absence_due(last_opened_at=at, since=at, hours=None) is None


def test_battery_low_flag_wins_over_the_percentage():
    assert workflow.battery_is_low(15, flag=None) is True
    assert workflow.battery_is_low(15, flag=False) is False
    assert workflow.battery_is_low(None, flag=None) is False
