"""``get_FOO_display`` through :class:`linli.core.models.OneLabelDisplay`: the same labels
as Django's, in the active language."""

from __future__ import annotations

import pytest
from django.utils import translation

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.cases.choices import CaseSource, CaseStatus
from linli.cases.models import Case


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_status_shows_its_label_in_the_active_language(language: str) -> None:
    with translation.override(language):
        for status in CaseStatus:
            assert Case(status=status.value).get_status_display() == str(status.label)
        assert User(role=Role.GRID_WORKER).get_role_display() == str(Role.GRID_WORKER.label)
        for case_source in CaseSource:
            assert Case(source=case_source.value).get_source_display() == str(case_source.label)


def test_labels_differ_between_languages_and_an_unknown_value_shows_itself() -> None:
    with translation.override("zh-hans"):
        chinese = Case(status=CaseStatus.CLOSED).get_status_display()
    with translation.override("en"):
        english = Case(status=CaseStatus.CLOSED).get_status_display()
    assert chinese != english
    assert Case(status="no-such-status").get_status_display() == "no-such-status"


def test_every_linli_model_with_choices_shows_one_label() -> None:
    # A model added later without the mixin would translate its whole choice list per call.
    from django.apps import apps

    from linli.core.models import OneLabelDisplay

    without = [model.__name__ for model in apps.get_models() if model.__module__.startswith("linli.")
               and any(f.choices for f in model._meta.concrete_fields) and not issubclass(model, OneLabelDisplay)]
    assert without == []
