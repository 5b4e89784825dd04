"""Small sample sheets for upload tests, written the way researchers write them."""

from __future__ import annotations

import csv
import io
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

GOOD = {
    "samp_name": "S1",
    "project_name": "Gut cohort",
    "collection_date": "2020-12-31",
    "geo_loc_name": "Netherlands: Gelderland, Nijmegen",
    "lat_lon": "51.8426 5.8528",
    "env_broad_scale": "urban biome [ENVO:01000249]",
    "env_local_scale": "human-associated habitat [ENVO:00009003]",
    "env_medium": "feces [ENVO:00002003]",
    "samp_taxon_id": "human gut metagenome [NCBITaxon:408170]",
    "seq_meth": "Illumina NovaSeq 6000 [OBI:0002630]",
    "host_age": "45 year",
    "host_sex": "female",
}


def rows(count: int, prefix: str = "S", **overrides: Any) -> list[dict[str, str]]:
    out = []
    for number in range(1, count + 1):
        row = {**GOOD, "samp_name": f"{prefix}{number}"}
        for key, value in overrides.items():
            row[key] = value(number) if callable(value) else value
        out.append(row)
    return out


def csv_bytes(records: list[dict[str, str]], *, delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue().encode()


def upload(client: Any, dataset_id: int, content: bytes, filename: str = "samples.csv", **kw: Any):
    # Encoded here, in memory: werkzeug's test client spools big bodies to a temporary file that
    # it never closes.
    files = MultiDict({"file": FileStorage(io.BytesIO(content), filename=filename)})
    boundary, body = encode_multipart(files)
    return client.post(
        f"/datasets/{dataset_id}/upload",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        **kw,
    )
