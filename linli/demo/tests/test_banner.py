"""``linli demo`` prints the demo accounts once, also on a second run (issue 16 item 12)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from django.core.management import call_command

from linli import cli
from linli.core.actors import SystemActor
from linli.demo.services import demo_seed

PREPARED_ELSEWHERE = {"migrate", "collectstatic", "linli_demo_extras", "linli_demo_exports", "linli_demo_imports"}


@pytest.fixture
def seeded(db: None) -> None:
    demo_seed(actor=SystemActor("command:seed"), residents=300, seed=5, analyze=False)


def test_a_second_demo_run_prints_the_accounts_once(seeded: None, monkeypatch: Any, capsys: Any) -> None:
    # given an existing demo database; the steps that need no check here do nothing
    def only_seed(name: str, *args: Any, **kwargs: Any) -> None:
        if name not in PREPARED_ELSEWHERE:
            call_command(name, *args, **kwargs)

    monkeypatch.setattr(cli, "call_command", only_seed)
    monkeypatch.setattr(cli, "_setup_django", lambda: None)
    # when
    cli._demo_prepare(argparse.Namespace(residents=None, host="127.0.0.1", port=8000), serving=True)
    # then
    out = capsys.readouterr().out
    assert "reusing" in out
    assert out.count("username") == 1
    assert out.count("gw_01") == 1
