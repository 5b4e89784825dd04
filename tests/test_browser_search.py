"""Finding samples across datasets, and what a visitor may see, in a real Chromium against a real
gunicorn."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import register_in_browser
from tests.uploads_helpers import csv_bytes, rows

pytestmark = pytest.mark.browser
COUNTRIES = ["Netherlands: Gelderland", "Kenya: Nairobi", "Japan: Tokyo"]


def create_with_samples(
    page: Any, folder: Path, title: str, privacy: str, prefix: str, n: int
) -> int:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New dataset").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label(re.compile(f"^{privacy}:")).check()
    page.get_by_role("button", name="Create dataset").click()
    dataset_id = int(re.search(r"/datasets/(\d+)/upload", page.url).group(1))
    sheet = folder / f"{prefix}.csv"
    sheet.write_bytes(
        csv_bytes(
            rows(
                n,
                prefix=prefix,
                geo_loc_name=lambda k: COUNTRIES[k % 3],
                host_sex=lambda k: ("female", "male")[k % 2],
            )
        )
    )
    page.get_by_label("Sample metadata file").set_input_files(str(sheet))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_text(f"{n} samples stored from {prefix}.csv")).to_be_visible()
    return dataset_id


def test_search_filter_open_and_download_then_what_a_visitor_sees(page, browser, tmp_path):
    register_in_browser(page, "sam@example.org", "Sam Searcher")
    create_with_samples(page, tmp_path, "Findable cohort", "Public", "FND", 12)
    restricted = create_with_samples(page, tmp_path, "Guarded cohort", "Restricted", "GRD", 3)
    private = create_with_samples(page, tmp_path, "Secret cohort", "Private", "SCR", 2)

    # The researcher searches by word, then narrows by a facet: the results follow each change.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Samples").click()
    page.get_by_label("Words").fill("FND")
    expect(page.get_by_test_id("result-count")).to_contain_text("12 samples found")
    expect(page).to_have_url(re.compile(r"q=FND"))
    page.locator('[data-facet="country"]').get_by_label(re.compile("^Kenya")).check()
    expect(page.get_by_test_id("result-count")).to_contain_text("4 samples found")
    expect(page).to_have_url(re.compile(r"country=Kenya"))
    results = page.get_by_test_id("search-results")
    expect(results.locator("tbody tr")).to_have_count(4)
    expect(results).to_contain_text("Kenya: Nairobi")
    expect(results).not_to_contain_text("Japan")

    # The search is in its URL: reloading it shows the same.
    page.reload()
    expect(page.get_by_test_id("result-count")).to_contain_text("4 samples found")

    # Download what was found.
    with page.expect_download() as info:
        page.get_by_test_id("result-count").get_by_role("link", name="CSV").click()
    with open(info.value.path(), encoding="utf-8") as handle:
        downloaded = list(csv.DictReader(handle))
    assert [row["samp_name"] for row in downloaded] == ["FND1", "FND4", "FND7", "FND10"]
    assert {row["geo_loc_name"] for row in downloaded} == {"Kenya: Nairobi"}

    # Open a sample: every field with what the checklist says it means.
    results.get_by_role("link", name="FND4").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("FND4")
    expect(page.get_by_text("Kenya: Nairobi")).to_be_visible()

    # A visitor who is not signed in, in a browser of their own.
    visitor = browser.new_context(base_url=page.url.split("/datasets")[0])
    other = visitor.new_page()
    other.goto("/datasets")
    expect(other.get_by_role("link", name="Guarded cohort")).to_be_visible()
    expect(other.get_by_role("link", name="Findable cohort")).to_be_visible()
    expect(other.get_by_role("link", name="Secret cohort")).to_have_count(0)
    other.get_by_role("link", name="Guarded cohort").click()
    expect(other.get_by_role("heading", level=1)).to_have_text("Guarded cohort")
    expect(other.get_by_test_id("sample-count")).to_contain_text("3 samples")
    expect(other.get_by_test_id("samples")).to_have_count(0)
    expect(other.get_by_role("link", name=re.compile("Download samples"))).to_have_count(0)
    other.goto(f"/datasets/{restricted}/samples.csv")
    expect(other).to_have_url(re.compile(r"/auth/login"))
    other.goto("/samples?q=GRD")
    expect(other.get_by_test_id("result-count")).to_contain_text("0 samples found")
    other.goto("/samples?q=SCR")
    expect(other.get_by_test_id("result-count")).to_contain_text("0 samples found")
    missing = other.goto(f"/datasets/{private}")
    assert missing is not None
    assert missing.status == 404
    visitor.close()
