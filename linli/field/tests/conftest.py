"""Fixtures of the field tests: the cases catalogue and case factory, a phone-made key."""

from __future__ import annotations

import uuid

import pytest

from linli.cases.tests.conftest import cats, open_case

__all__ = ["cats", "open_case"]


@pytest.fixture
def key() -> str:
    return uuid.uuid4().hex
