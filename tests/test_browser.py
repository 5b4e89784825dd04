"""Registration, sign-in and sign-out in a real Chromium against a real gunicorn."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, register_in_browser

pytestmark = pytest.mark.browser


def test_register_sign_out_and_sign_in_again(page):
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Register").click()
    page.get_by_label("Email address").fill("lin@example.org")
    page.get_by_label("Display name").fill("Lin Wei")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#password-error")).to_contain_text("Use at least 10 characters")

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("nav-user")).to_have_text("Lin Wei")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("nav-user")).to_have_count(0)
    expect(page.get_by_text("You are signed out.")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email address").fill("lin@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#password-error")).to_have_text(
        "The email address or the password is wrong."
    )
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("nav-user")).to_have_text("Lin Wei")


def test_pages_work_on_a_phone_sized_screen(browser, gunicorn_server):
    context = browser.new_context(
        base_url=gunicorn_server.url, viewport={"width": 375, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    page.goto("/auth/login")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "the page scrolls sideways on a phone"
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    context.close()


def test_keyboard_users_can_skip_to_content_and_see_focus(page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    box_shadow = skip.evaluate("el => getComputedStyle(el).boxShadow")
    assert outline != "none" or box_shadow != "none"


def test_upload_with_mistakes_read_report_fix_and_store(page, tmp_path):
    from tests.uploads_helpers import csv_bytes, rows

    register_in_browser(page, "uma@example.org", "Uma Upload")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="New dataset").click()
    page.get_by_label("Title").fill("Nijmegen gut cohort")
    page.get_by_label("Keywords").fill("gut, cohort")
    page.get_by_label("Public: anyone can find, see and download the samples").check()
    page.get_by_role("button", name="Create dataset").click()
    expect(page.get_by_role("heading", name="Upload sample metadata")).to_be_visible()

    bad = tmp_path / "cohort.csv"
    bad.write_bytes(
        csv_bytes(rows(40, collection_date=lambda n: "31/12/2020" if n > 30 else "2020-12-31"))
    )
    page.get_by_label("Sample metadata file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_test_id("report-title")).to_contain_text("Nothing was stored: 10 problems")
    report = page.get_by_test_id("report")
    expect(report).to_contain_text("rows 32–41")
    expect(report).to_contain_text("2020-12-31")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the full report (CSV)").click()
    assert "31/12/2020" in download.value.path().read_text()

    fixed = tmp_path / "cohort-fixed.csv"
    fixed.write_bytes(csv_bytes(rows(40)))
    page.get_by_label("Sample metadata file").set_input_files(str(fixed))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_text("40 samples stored from cohort-fixed.csv")).to_be_visible()
    expect(page.get_by_test_id("sample-count")).to_have_text("40 samples")
    expect(page.get_by_test_id("samples")).to_contain_text("S40")
    expect(page.locator('canvas[data-summary="country"]')).to_have_attribute("data-ready", "true")
    page.get_by_text("Samples by countries").click()
    expect(page.locator('[data-summary-table="country"]')).to_contain_text("Netherlands")
    expect(page.locator('[data-summary-table="country"]')).to_contain_text("40")
