"""Downloads of a dataset's samples as CSV, in the shape they were uploaded (lossless).

Formula-like text cells (=, +, -, @, tab, CR; not numbers) get a leading apostrophe so
spreadsheets show them as text; the upload reader removes exactly that apostrophe again, so a
download uploads back unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from sqlalchemy import select, text

from fairdb.checklists.model import get_checklist
from fairdb.extensions import db
from fairdb.models import Dataset, Sample

# Also text that already starts with apostrophes before such a character, so that removing one
# apostrophe on upload always gives back exactly what was stored.
FORMULA_LIKE = re.compile(r"^'*[=+\-@\t\r]")
NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def escape_cell(value: str) -> str:
    """A leading apostrophe for text a spreadsheet would run as a formula; numbers untouched."""
    if FORMULA_LIKE.match(value) and not NUMBER.match(value):
        return "'" + value
    return value


def export_columns(dataset: Dataset) -> list[str]:
    """Every attribute key used in the dataset: checklist order first, then the extra columns."""
    keys = db.session.execute(
        text(
            "SELECT key, min(id) AS first FROM samples, jsonb_object_keys(attributes) AS key "
            "WHERE dataset_id = :id GROUP BY key ORDER BY first, key"
        ),
        {"id": dataset.id},
    ).all()
    used = [key for key, _ in keys]
    order = [spec.name for spec in get_checklist(dataset.checklist).fields]
    known = [name for name in order if name in used]
    return ["samp_name", *[k for k in known if k != "samp_name"]] + [
        key for key in used if key not in order
    ]


def samples_csv(dataset: Dataset) -> Iterator[str]:
    """The CSV text in pieces, streamed from a server-side cursor."""
    columns = export_columns(dataset)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    query = (
        select(Sample.attributes)
        .where(Sample.dataset_id == dataset.id)
        .order_by(Sample.id)
        .execution_options(yield_per=5000)
    )
    for number, attributes in enumerate(db.session.scalars(query), start=1):
        writer.writerow([escape_cell(str(attributes.get(c, ""))) for c in columns])
        if number % 5000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
