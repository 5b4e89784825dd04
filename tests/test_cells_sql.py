"""PostgreSQL writes the cells of pages and downloads (cells_sql); Python writes them for one
sample (export, formats). The two must agree on numbers and on formula escaping, or a download
would not upload back unchanged."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Float, Text, column, func, select

from fairdb.checklists.bulk import NUMBER_TEXT
from fairdb.extensions import db
from fairdb.models import Privacy
from fairdb.services import cells_sql, ingest
from fairdb.services.export import number_text
from fairdb.services.formats import escape_cell
from tests.uploads_helpers import csv_bytes, rows

TRICKY = [
    "=1+1",
    "+31 6 1234",
    "-5",
    "-5\n",
    "-1.5e3",
    "+.5",
    "-",
    "@sum",
    "\tindented",
    "\rreturn",
    "'=already",
    "''+twice",
    "-\u0665",  # an Arabic-Indic digit is not a number a spreadsheet reads
    "5-3",
    "e5",
    "",
    "plain text",
    "=",
    "1e",
]


def sql_escaped(texts: list[str]) -> list[str]:
    value = column("value", Text)
    found = select(value, cells_sql.escaped(value)).select_from(
        func.unnest(texts).table_valued("value").render_derived()
    )
    by_text = dict(db.session.execute(found).all())
    return [by_text[text] for text in texts]


def sql_numbers(values: list[float]) -> list[str]:
    value = column("value", Float)
    found = select(cells_sql._number(value)).select_from(
        func.unnest(values).table_valued(value).render_derived()
    )
    return list(db.session.scalars(found))


def test_formula_escaping_in_sql_is_escape_cell(app):
    assert sql_escaped(TRICKY) == [escape_cell(text) for text in TRICKY]
    assert escape_cell("-5\n") == "'-5\n"  # a line end after a number makes it text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.from_regex(rf"\A{NUMBER_TEXT}\Z"), min_size=1, max_size=50))
def test_numbers_in_sql_are_written_as_python_writes_them(app, texts):
    """Every number kept as a typed value (the NUMBER_TEXT shape) is written back by
    PostgreSQL exactly as by export.number_text, and so exactly as it was uploaded."""
    values = [float(text) for text in texts]
    assert sql_numbers(values) == [number_text(value) for value in values] == texts


def test_numbers_outside_that_shape_are_written_without_error(app):
    values = [1e300, -0.0, 123456789.5, 1e-7, float("nan"), float("inf")]
    assert sql_numbers(values) == ["1e+300", "0", "123456789.5", "1e-07", "NaN", "Infinity"]


def test_extra_columns_with_quotes_and_percent_signs_download_in_every_format(
    client, create_dataset, tmp_path
):
    """Column names are the uploader's own words and end up inside the SQL that builds cells:
    quotes, percent signs and a question mark (psycopg2's and jsonb's operators) stay text."""
    dataset = create_dataset(privacy=Privacy.PUBLIC)
    awkward = {"50% done": "half", "owner's note": "it's fine", "why?": "=because"}
    records = rows(3, prefix="Q", **{name: value for name, value in awkward.items()})
    records[1]["owner's note"] = "another"  # not shared by the whole upload: kept per sample
    path = tmp_path / "awkward.csv"
    path.write_bytes(csv_bytes(records))
    assert ingest.ingest_samples(dataset, path, "awkward.csv", dataset.owner).ok
    db.session.commit()
    base = f"/datasets/{dataset.id}/samples"
    table = list(csv.DictReader(io.StringIO(client.get(f"{base}.csv").get_data(as_text=True))))
    assert [row["owner's note"] for row in table] == ["it's fine", "another", "it's fine"]
    assert {row["50% done"] for row in table} == {"half"}
    assert {row["why?"] for row in table} == {"'=because"}  # escaped in CSV
    tsv = list(
        csv.DictReader(
            io.StringIO(client.get(f"{base}.tsv").get_data(as_text=True)), delimiter="\t"
        )
    )
    assert tsv == table
    as_json = json.loads(client.get(f"{base}.json").get_data())
    assert [row["why?"] for row in as_json] == ["=because"] * 3  # JSON is not escaped
    assert [row["owner's note"] for row in as_json] == ["it's fine", "another", "it's fine"]
