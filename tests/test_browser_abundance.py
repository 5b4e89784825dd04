"""A researcher adds abundance tables to a dataset and reads composition and diversity, in a real
Chromium against a real gunicorn."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.abundance.helpers import LINEAGES, tsv, write_biom_hdf5
from tests.conftest import register_in_browser
from tests.uploads_helpers import csv_bytes, rows

pytestmark = pytest.mark.browser


def realistic_counts(features: int = 40, samples: int = 12) -> np.ndarray:
    """Counts with the long tail of a gut community: a few abundant taxa, many rare ones."""
    rng = np.random.default_rng(5)
    weights = 1.0 / np.arange(1, features + 1)
    table = np.stack(
        [rng.multinomial(5_000, weights / weights.sum()) for _ in range(samples)], axis=1
    ).astype(float)
    table[rng.random(table.shape) < 0.3] = 0
    return table


def charts_are_drawn(page) -> None:
    for name in ("composition", "alpha", "ordination"):
        expect(page.locator(f'canvas[data-chart="{name}"]')).to_have_attribute("data-ready", "true")
    expect(page.locator('[data-note="composition"]')).not_to_contain_text("Could not draw")
    expect(page.locator('[data-note="ordination"]')).not_to_contain_text("Could not draw")


def test_upload_biom_and_tsv_then_see_composition_and_diversity(page, tmp_path):
    register_in_browser(page, "abby@example.org", "Abby Abundance")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New dataset").click()
    page.get_by_label("Title").fill("Gut communities")
    page.get_by_role("button", name="Create dataset").click()
    sheet = tmp_path / "samples.csv"
    sheet.write_bytes(csv_bytes(rows(12, host_sex=lambda n: "female" if n % 2 else "male")))
    page.get_by_label("Sample metadata file").set_input_files(str(sheet))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_text("12 samples stored from samples.csv")).to_be_visible()

    # A BIOM 2.1 file with lineages in its observation metadata.
    counts = realistic_counts()
    biom = write_biom_hdf5(tmp_path / "gut.biom", counts)
    page.get_by_role("link", name="Upload an abundance table").click()
    page.get_by_label("Feature table").set_input_files(str(biom))
    page.get_by_role("button", name="Upload and check").click()
    entries = int((counts > 0).sum())
    expect(page.get_by_text(f"{entries:,} non-zero entries stored from gut.biom")).to_be_visible()
    expect(page.get_by_test_id("table-summary")).to_contain_text("40 features")
    charts_are_drawn(page)

    page.get_by_text("Composition as a table").click()
    composition = page.locator('[data-table="composition"]')
    expect(composition).to_contain_text("Akkermansia")
    page.locator('[data-controls="composition"] select[name="level"]').select_option("phylum")
    expect(composition).to_contain_text("Verrucomicrobia")
    expect(composition).not_to_contain_text("Akkermansia")
    controls = page.locator('[data-controls="composition"]')
    controls.locator('select[name="group"]').select_option("host_sex")
    controls.locator('select[name="view"]').select_option("mean")
    expect(composition).to_contain_text("female (n=6)")
    expect(composition).to_contain_text("male (n=6)")

    page.locator('[data-controls="alpha"] select[name="group"]').select_option("host_sex")
    page.get_by_text("Alpha diversity of every sample").click()
    alpha = page.locator('[data-table="alpha"]')
    expect(alpha).to_contain_text("male")
    expect(alpha).to_contain_text("shannon")

    page.locator('[data-controls="ordination"] select[name="metric"]').select_option("aitchison")
    page.locator('[data-controls="ordination"] select[name="color"]').select_option("host_sex")
    expect(page.locator('[data-note="ordination"]')).to_contain_text("PCoA of 12 samples")
    expect(page.locator('[data-note="ordination"]')).to_contain_text("Pseudocount 1")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the distance matrix (CSV)").click()
    matrix = download.value.path().read_text().splitlines()
    assert matrix[0].startswith("sample,S1,")
    assert len(matrix) == 13

    # A wide TSV of relative abundances, samples in columns, lineages in a column.
    relative = counts[:4] / counts[:4].sum(axis=0)
    wide = tmp_path / "genera.tsv"
    wide.write_bytes(tsv(relative))
    page.get_by_role("link", name="Gut communities").click()
    page.get_by_role("link", name="Upload an abundance table").click()
    page.get_by_label("Feature table").set_input_files(str(wide))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_text("stored from genera.tsv")).to_be_visible()
    expect(page.get_by_test_id("table-summary")).to_contain_text("relative")
    charts_are_drawn(page)
    page.get_by_text("Composition as a table").click()
    expect(page.locator('[data-table="composition"]')).to_contain_text(
        LINEAGES[0].split("g__")[1].split(";")[0]
    )
    page.get_by_role("link", name="Gut communities").click()
    expect(page.get_by_test_id("tables")).to_contain_text("gut.biom")
    expect(page.get_by_test_id("tables")).to_contain_text("genera.tsv")
