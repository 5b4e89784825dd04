"""Per-column statistics on the dataset page, gathered while uploading."""

from __future__ import annotations

import re

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdb.extensions import db
from fairdb.models import Privacy, Sample
from fairdb.services import column_stats, curation, ingest
from tests.conftest import sign_in
from tests.uploads_helpers import csv_bytes, rows


def stats_table(page: str) -> dict[str, list[str]]:
    table = re.search(r'data-testid="column-stats">(.*?)</table>', page, re.S)
    assert table, "no column statistics on the page"
    out = {}
    for name, cells in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', table.group(1), re.S):
        out[name] = [" ".join(c.split()) for c in re.findall(r"<td>(.*?)</td>", cells, re.S)]
    return out


def test_dataset_page_shows_filled_distinct_top_values_and_number_ranges(
    client, create_dataset, tmp_path
):
    dataset = create_dataset(privacy=Privacy.PUBLIC)
    records = rows(
        10,
        host_sex=lambda n: "female" if n <= 7 else "male",
        host_age=lambda n: f"{20 + n} year",
        host_body_mass_index=lambda n: "" if n <= 5 else str(18 + n),
    )
    path = tmp_path / "samples.csv"
    path.write_bytes(csv_bytes(records))
    assert ingest.ingest_samples(dataset, path, "samples.csv", dataset.owner).ok
    db.session.commit()
    table = stats_table(client.get(f"/datasets/{dataset.id}").get_data(as_text=True))
    assert table["samp_name"][:2] == ["100%", "10"]
    assert table["host_sex"] == ["100%", "2", "female (7); male (3)"]
    assert table["host_body_mass_index"] == ["50%", "5", "24 / 26 / 28"]
    assert table["project_name"] == ["100%", "1", "Gut cohort (10)"]
    # host_age is text ("21 year"), so it shows values rather than a range.
    assert table["host_age"][2].startswith("21 year (1)")


def test_statistics_are_not_shown_to_outsiders_when_some_samples_are_hidden(
    client, create_dataset, tmp_path
):
    dataset = create_dataset(privacy=Privacy.PUBLIC)
    path = tmp_path / "samples.csv"
    path.write_bytes(csv_bytes(rows(4)))
    assert ingest.ingest_samples(dataset, path, "samples.csv", dataset.owner).ok
    sample = db.session.query(Sample).filter_by(samp_name="S2").one()
    curation.set_sample_privacy(sample, dataset.owner, Privacy.PRIVATE)
    db.session.commit()
    assert 'data-testid="column-stats"' not in client.get(f"/datasets/{dataset.id}").get_data(
        as_text=True
    )
    sign_in(client, dataset.owner.email)
    assert 'data-testid="column-stats"' in client.get(f"/datasets/{dataset.id}").get_data(
        as_text=True
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "1", "2.5", " "])), max_size=60),
    st.integers(min_value=1, max_value=25),
)
def test_chunked_statistics_equal_the_whole_column(values, chunk):
    whole = column_stats.UploadStats()
    whole.add(pl.DataFrame({"x": values}, schema={"x": pl.String}))
    parts = column_stats.UploadStats()
    for start in range(0, len(values), chunk):
        parts.add(pl.DataFrame({"x": values[start : start + chunk]}, schema={"x": pl.String}))
    assert parts.result() == whole.result()
    filled = [v for v in values if v is not None and v.strip()]
    result = whole.result()["columns"]
    if filled:
        assert result["x"]["filled"] == len(filled)
        assert result["x"]["distinct"] == len(set(filled))
    else:
        assert "x" not in result
