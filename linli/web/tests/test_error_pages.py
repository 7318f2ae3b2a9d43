"""Custom error pages render in Chinese, with or without a logged-in user."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client

from conftest import Users


@pytest.mark.django_db
def test_unknown_address_shows_the_chinese_404_page_to_anyone(client: Client) -> None:
    # when
    response = client.get("/no-such-page/")
    # then
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_404_page_keeps_the_navigation_for_staff(client: Client, users: Users) -> None:
    # given
    client.force_login(users.grid_worker_a1)
    # when
    response = client.get("/persons/999999/")
    # then
    body = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="nav-search"' in body


def test_500_page_renders_without_a_request() -> None:
    # when: Django's server_error view renders it with an empty context
    body = render_to_string("500.html")
    # then
    assert "系统出错" in body
    assert 'lang="zh-hans"' in body
