"""The district administrator loads an area file from the administration page, on a phone:
upload, preview of what would change, apply (issue 17, "a command and a page")."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from linli.geo.models import Area
from tests.browser.test_window_application import log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("screenshot")]


def test_the_admin_previews_then_loads_an_area_file_on_a_phone(
    transactional_db: None, live_server: Any, users: Any, tree: Any, browser_page: Page,
) -> None:
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, username=users.district_admin.username)
    page.goto(f"{live_server.url}/manage/areas/")
    page.get_by_test_id("manage-areas-load").click()
    body = "编码,名称,上级编码,层级\n330102001003,钱江社区,330102001,社区\n".encode()
    page.locator("input[type=file]").set_input_files(
        {"name": "areas.csv", "mimeType": "text/csv", "buffer": body})
    page.get_by_test_id("area-file-preview").click()
    # the preview names the new community in words and writes nothing
    assert "钱江社区" in page.get_by_test_id("area-file-changes").inner_text()
    assert "社区" in page.get_by_test_id("area-file-created").inner_text()
    assert not Area.objects.filter(code="330102001003").exists()
    page.get_by_test_id("area-file-apply").click()
    page.wait_for_url(f"{live_server.url}/manage/areas/")
    assert "钱江社区" in page.get_by_test_id("manage-area-list").inner_text()
    assert Area.objects.get(code="330102001003").parent_id == tree.street.pk
