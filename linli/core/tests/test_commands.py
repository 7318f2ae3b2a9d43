"""``core.commands.day_option``: a management command's day option, or a clear error."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from linli.core.commands import day_option


def test_a_day_option_is_read_and_a_bad_one_names_the_option() -> None:
    assert day_option("2026-12-07", name="on") == date(2026, 12, 7)
    assert day_option(None, name="on") is None
    assert day_option("", name="since") is None
    with pytest.raises(CommandError, match=r"--since: expected YYYY-MM-DD, got '2026-13-01'"):
        day_option("2026-13-01", name="since")


@pytest.mark.django_db
@pytest.mark.parametrize(("command", "args"), [
    ("linli_digests_refresh", ["--on", "7.12.2026"]),
    ("linli_care", ["sweep", "--on", "7.12.2026"]),
    ("linli_cases_rollup_rebuild", ["--since", "7.12.2026"]),
])
def test_the_commands_refuse_a_day_that_is_not_one(command: str, args: list[str]) -> None:
    with pytest.raises(CommandError, match=r"expected YYYY-MM-DD, got '7\.12\.2026'"):
        call_command(command, *args)
