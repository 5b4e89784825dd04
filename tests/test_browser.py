"""Registration, sign-in and sign-out in a real Chromium against a real gunicorn."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

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
