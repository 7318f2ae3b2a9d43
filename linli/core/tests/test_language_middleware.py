"""The chosen language lasts for its request only."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation


@pytest.mark.django_db
def test_a_request_in_english_leaves_the_thread_in_the_default_language(client: Client) -> None:
    # given a person who chose English
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    # when their request has been served
    response = client.get("/login/")
    # then it was English, and what the thread renders next (500 page, a task) is not
    assert response["Content-Language"] == "en"
    assert translation.get_language() == settings.LANGUAGE_CODE
