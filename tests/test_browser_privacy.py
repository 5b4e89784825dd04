"""The privacy toolkit and the API documentation in a real Chromium against a real gunicorn:
an owner measures a dataset's risk, generalises it to k = 5, saves the anonymised version and
publishes it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import register_in_browser
from tests.privacy.test_pages import cohort
from tests.test_browser_search import create_with_samples
from tests.uploads_helpers import csv_bytes

pytestmark = pytest.mark.browser


def test_owner_measures_generalises_saves_and_publishes(page: Any, tmp_path: Path) -> None:
    register_in_browser(page, "priya@example.org", "Priya Private")
    dataset_id = create_with_samples(page, tmp_path, "Sensitive cohort", "Private", "X", 1)
    # A second upload: the cohort whose risk is measured (60 people, exact dates and ages).
    sheet = tmp_path / "cohort.csv"
    sheet.write_bytes(csv_bytes(cohort(60)))
    page.goto(f"/datasets/{dataset_id}/upload")
    page.get_by_label("Sample metadata file").set_input_files(str(sheet))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_text("60 samples stored from cohort.csv")).to_be_visible()

    page.get_by_role("link", name="Privacy risk").click()
    form = page.get_by_test_id("risk-form")
    # Suggested: the quasi-identifiers and sensitive attributes the samples fill.
    expect(form.get_by_label("Collection date")).to_be_checked()
    expect(form.get_by_label("Host body-mass index")).not_to_be_checked()
    expect(form.get_by_label("host_disease_stat")).to_be_checked()
    form.get_by_role("button", name="Measure the risk").click()
    expect(page.get_by_test_id("risk-k")).to_have_text("1")
    expect(page.get_by_test_id("risk-score")).to_contain_text("100")
    expect(page.locator("canvas[data-class-sizes]")).to_have_attribute("data-ready", "true")

    page.get_by_label("Target k").fill("5")
    page.get_by_label("Target distinct l (optional)").fill("2")
    page.get_by_role("button", name="Find a generalisation").click()
    k_after = int(page.get_by_test_id("after-k").inner_text())
    assert k_after >= 5
    expect(page.get_by_test_id("preview")).to_be_visible()
    page.get_by_label("Title of the anonymised version").fill("Sensitive cohort, k=5")
    page.get_by_role("button", name="Save the anonymised version").click()
    expect(page.get_by_text(re.compile("Anonymised version .* saved"))).to_be_visible()
    expect(page.get_by_role("heading", name="Sensitive cohort, k=5")).to_be_visible()
    version_url = page.url

    page.get_by_role("link", name=re.compile("^Settings")).click()
    page.get_by_label(re.compile("^Public:")).check()
    page.get_by_role("button", name="Save privacy").click()
    expect(page.get_by_text("The dataset is now public.")).to_be_visible()

    # The original stays private: the published version is what a visitor finds.
    visitor = page.context.browser.new_context(base_url=page.url.split("/datasets")[0])
    other = visitor.new_page()
    assert other.goto(version_url).status == 200
    assert other.goto(f"/datasets/{dataset_id}").status == 404
    visitor.close()


def test_the_api_documentation_renders_offline(page: Any) -> None:
    page.goto("/")
    page.get_by_role("link", name="JSON API").click()
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    assert page.locator(".swagger-ui .opblock").count() >= 20
