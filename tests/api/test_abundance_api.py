"""The API's abundance routes: table uploads, listings, entries, compositions, alpha and beta."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from fairdb.abundance import analysis
from fairdb.extensions import db
from fairdb.models import AbundanceTable, Privacy, Sample
from fairdb.services import curation, tokens
from tests.abundance.helpers import LINEAGES, counts, dataset_with_samples, tsv
from tests.conftest import sign_in

PROBLEM = "application/problem+json"
GENERA = ["Akkermansia", "Blautia", "Bacteroides", "Faecalibacterium"]


def bearer(user: Any, *, write: bool = True, name: str = "t") -> dict[str, str]:
    _, plaintext = tokens.create_token(user, name, can_write=write)
    db.session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def multipart(content: bytes, filename: str, **fields: Any) -> tuple[str, bytes]:
    files = MultiDict({"file": FileStorage(io.BytesIO(content), filename=filename), **fields})
    boundary, body = encode_multipart(files)
    return f"multipart/form-data; boundary={boundary}", body


def post_table(client: Any, dataset_id: int, content: bytes, headers: dict[str, str], **kw: Any):
    content_type, body = multipart(content, kw.pop("filename", "table.tsv"), **kw)
    return client.post(
        f"/api/v1/datasets/{dataset_id}/tables",
        data=body,
        content_type=content_type,
        headers=headers,
    )


def table_count(dataset_id: int) -> int:
    db.session.expire_all()
    query = select(func.count()).where(AbundanceTable.dataset_id == dataset_id)
    return int(db.session.scalar(query) or 0)


def sample_ids(dataset_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Sample.samp_name, Sample.id).where(Sample.dataset_id == dataset_id)
    )
    return {name: sample_id for name, sample_id in rows}


def stored(client, create_dataset, tmp_path, table=None, **privacy: Any):
    """A dataset with samples S1..S6 and a table uploaded through the API by its owner."""
    dataset = dataset_with_samples(lambda: create_dataset(**privacy), tmp_path)
    auth = bearer(dataset.owner)
    response = post_table(client, dataset.id, tsv(counts() if table is None else table), auth)
    assert response.status_code == 201, response.get_json()
    return dataset, auth, response.get_json()


def test_an_uploaded_table_gives_the_numbers_of_the_page(client, create_dataset, tmp_path):
    table = counts()
    dataset, auth, body = stored(client, create_dataset, tmp_path, table)
    assert body["stored"] == int(np.count_nonzero(table))
    assert body["summary"]["features"] == 4
    assert body["summary"]["samples"] == 6
    assert body["summary"]["value_kind"] == "counts"
    table_id = body["table"]["id"]
    base = f"/api/v1/datasets/{dataset.id}/tables/{table_id}"
    listing = client.get(f"/api/v1/datasets/{dataset.id}/tables", headers=auth).get_json()
    assert [t["id"] for t in listing["items"]] == [table_id]
    assert listing["items"][0] == body["table"]
    assert body["table"]["filename"] == "table.tsv"
    assert client.get(base, headers=auth).get_json() == body["table"]

    ids = sample_ids(dataset.id)
    alpha = client.get(f"{base}/alpha", headers=auth).get_json()
    beta = client.get(f"{base}/beta?metric=braycurtis", headers=auth).get_json()
    composition = client.get(
        f"/api/v1/samples/{ids['S2']}/composition?rank=genus&top=10", headers=auth
    ).get_json()

    sign_in(client, dataset.owner.email)
    page = f"/datasets/{dataset.id}/tables/{table_id}"
    page_alpha = client.get(f"{page}/alpha.json").get_json()
    assert alpha["metrics"] == page_alpha["metrics"]
    assert [row["sample"] for row in alpha["rows"]] == [row["sample"] for row in page_alpha["rows"]]
    for mine, theirs in zip(alpha["rows"], page_alpha["rows"], strict=True):
        assert mine["sample_id"] == ids[mine["sample"]]
        assert {k: v for k, v in mine.items() if k != "sample_id"} == theirs
    assert [row["observed"] for row in alpha["rows"]] == [
        int((table[:, j] > 0).sum()) for j in range(6)
    ]

    matrix = list(csv.reader(io.StringIO(client.get(f"{page}/distances.csv").get_data(True))))
    assert beta["samples"] == matrix[0][1:]
    assert beta["sample_ids"] == [ids[name] for name in beta["samples"]]
    np.testing.assert_allclose(
        beta["matrix"], [[float(v) for v in row[1:]] for row in matrix[1:]], rtol=1e-9
    )
    assert beta["pseudocount"] is None
    assert (beta["total_samples"], beta["truncated"]) == (6, False)

    page_composition = client.get(f"{page}/composition.json?level=genus&top=10").get_json()
    column = page_composition["samples"].index("S2")
    expected = {
        taxon: values[column]
        for taxon, values in zip(page_composition["taxa"], page_composition["values"], strict=True)
        if values[column] > 0
    }
    [held] = composition["tables"]
    assert held["table_id"] == table_id
    got = {entry["taxon"]: entry["share"] for entry in held["taxa"]}
    assert got.keys() == expected.keys()
    for taxon, share in got.items():
        assert abs(share - expected[taxon]) < 1e-6
    shares = table[:, 1] / table[:, 1].sum()
    np.testing.assert_allclose(
        [got[GENERA[i]] for i in range(4) if shares[i] > 0], shares[shares > 0], rtol=1e-9
    )


def test_a_bad_table_is_a_422_naming_rows_and_columns_and_stores_nothing(
    client, create_dataset, tmp_path
):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    auth = bearer(dataset.owner)
    content = tsv(counts(), cells={(1, 2): "lots"})
    response = post_table(client, dataset.id, content, auth)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["error_count"] == 1
    [error] = problem["errors"]
    # Line 4 of the file (a comment, the header, ASV1, ASV2), the column of sample S3.
    assert (error["row"], error["column"], error["value"]) == (4, "D (S3)", "lots")
    assert error["message"] == "'lots' is not a number."
    assert error["fix"]
    assert table_count(dataset.id) == 0

    strangers = tsv(counts(), samples=[f"X{i}" for i in range(6)])
    unknown = post_table(client, dataset.id, strangers, auth, orientation="features-as-rows")
    assert unknown.status_code == 422
    assert {e["value"] for e in unknown.get_json()["errors"]} == {f"X{i}" for i in range(6)}
    bad_option = post_table(client, dataset.id, tsv(counts()), auth, orientation="sideways")
    assert bad_option.status_code == 422
    assert bad_option.get_json()["errors"][0]["column"] == "orientation"
    no_file = client.post(f"/api/v1/datasets/{dataset.id}/tables", json={}, headers=auth)
    assert no_file.status_code == 400
    assert table_count(dataset.id) == 0


def test_the_same_file_twice_is_409_and_a_taxonomy_file_and_orientation_are_used(
    client, create_dataset, tmp_path
):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    auth = bearer(dataset.owner)
    table = counts()
    taxonomy = "Feature ID\tTaxon\n" + "".join(
        f"ASV{i + 1}\t{LINEAGES[(i + 1) % 4]}\n" for i in range(4)
    )
    first = post_table(
        client,
        dataset.id,
        tsv(table, transpose=True),
        auth,
        orientation="samples-as-rows",
        taxonomy=FileStorage(io.BytesIO(taxonomy.encode()), filename="taxonomy.tsv"),
    )
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["summary"]["orientation"] == "samples-as-rows"
    assert first.get_json()["table"]["taxonomy_source"] == "taxonomy file"
    ids = sample_ids(dataset.id)
    composition = client.get(
        f"/api/v1/samples/{ids['S2']}/composition?rank=genus", headers=auth
    ).get_json()
    got = {entry["taxon"]: entry["share"] for entry in composition["tables"][0]["taxa"]}
    # ASV<i> has the lineage of the taxonomy file's line, not the one the helpers usually give.
    total = table[:, 1].sum()
    expected = {GENERA[(i + 1) % 4]: table[i, 1] / total for i in range(4) if table[i, 1] > 0}
    assert got.keys() == expected.keys()
    for genus, share in expected.items():
        assert abs(got[genus] - share) < 1e-9, genus
    again = post_table(
        client, dataset.id, tsv(table, transpose=True), auth, orientation="samples-as-rows"
    )
    assert again.status_code == 409
    assert again.get_json()["errors"][0]["code"] == "duplicate_file"
    assert table_count(dataset.id) == 1


def test_a_read_only_token_gets_403_on_upload(client, create_dataset, tmp_path):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    reader = bearer(dataset.owner, write=False, name="reader")
    response = post_table(client, dataset.id, tsv(counts()), reader)
    assert response.status_code == 403
    assert response.mimetype == PROBLEM
    assert table_count(dataset.id) == 0


def test_anonymous_callers_get_401_on_restricted_and_404_on_private(
    client, create_dataset, create_user, tmp_path
):
    for privacy, status in ((Privacy.RESTRICTED, 401), (Privacy.PRIVATE, 404)):
        folder = tmp_path / privacy.value
        folder.mkdir()
        dataset, _, body = stored(client, create_dataset, folder, privacy=privacy)
        base = f"/api/v1/datasets/{dataset.id}/tables"
        sample = sample_ids(dataset.id)["S1"]
        for url in (
            base,
            f"{base}/{body['table']['id']}",
            f"{base}/{body['table']['id']}/entries.tsv",
            f"{base}/{body['table']['id']}/alpha",
            f"{base}/{body['table']['id']}/beta",
            f"/api/v1/samples/{sample}/composition",
        ):
            response = client.get(url)
            assert response.status_code == status, (privacy, url)
            assert response.mimetype == PROBLEM
        assert post_table(client, dataset.id, tsv(counts(seed=5)), {}).status_code == 401
        stranger = bearer(create_user())
        assert client.get(f"{base}/{body['table']['id']}/alpha", headers=stranger).status_code == (
            403 if privacy is Privacy.RESTRICTED else 404
        )
        upload = post_table(client, dataset.id, tsv(counts(seed=5)), stranger)
        assert upload.status_code == (403 if privacy is Privacy.RESTRICTED else 404)


def test_a_sample_of_its_own_tighter_privacy_is_left_out_for_outsiders(
    client, create_dataset, tmp_path
):
    dataset, auth, body = stored(client, create_dataset, tmp_path, privacy=Privacy.PUBLIC)
    ids = sample_ids(dataset.id)
    hidden = db.session.get(Sample, ids["S3"])
    curation.set_sample_privacy(hidden, dataset.owner, Privacy.PRIVATE)
    db.session.commit()
    base = f"/api/v1/datasets/{dataset.id}/tables/{body['table']['id']}"
    alpha = client.get(f"{base}/alpha").get_json()
    assert [row["sample"] for row in alpha["rows"]] == ["S1", "S2", "S4", "S5", "S6"]
    beta = client.get(f"{base}/beta?metric=jaccard").get_json()
    assert beta["samples"] == ["S1", "S2", "S4", "S5", "S6"]
    assert ids["S3"] not in beta["sample_ids"]
    assert len(beta["matrix"]) == 5
    entries = client.get(f"{base}/entries.tsv").get_data(as_text=True)
    assert "\tS3\t" not in entries
    assert "\tS2\t" in entries
    assert client.get(f"/api/v1/samples/{ids['S3']}/composition").status_code == 404
    asked = client.get(f"{base}/alpha?samples={ids['S2']},{ids['S3']}")
    assert asked.status_code == 422
    assert [e["value"] for e in asked.get_json()["errors"]] == [str(ids["S3"])]
    # The owner still sees it.
    owner_alpha = client.get(f"{base}/alpha", headers=auth).get_json()
    assert "S3" in [row["sample"] for row in owner_alpha["rows"]]
    assert ids["S3"] in client.get(f"{base}/beta", headers=auth).get_json()["sample_ids"]


def test_the_selection_restricts_alpha_and_beta(client, create_dataset, tmp_path, monkeypatch):
    dataset, auth, body = stored(client, create_dataset, tmp_path)
    ids = sample_ids(dataset.id)
    base = f"/api/v1/datasets/{dataset.id}/tables/{body['table']['id']}"
    everything = client.get(f"{base}/beta", headers=auth).get_json()
    chosen = [ids["S5"], ids["S2"], ids["S4"]]
    selection = ",".join(map(str, chosen))
    alpha = client.get(f"{base}/alpha?samples={selection}", headers=auth).get_json()
    assert sorted(row["sample_id"] for row in alpha["rows"]) == sorted(chosen)
    full_alpha = client.get(f"{base}/alpha", headers=auth).get_json()
    assert [row for row in full_alpha["rows"] if row["sample_id"] in chosen] == alpha["rows"]
    beta = client.get(f"{base}/beta?samples={selection}", headers=auth).get_json()
    assert beta["sample_ids"] == sorted(chosen)
    assert beta["total_samples"] == 3
    where = [everything["sample_ids"].index(i) for i in beta["sample_ids"]]
    np.testing.assert_allclose(
        beta["matrix"], np.array(everything["matrix"])[np.ix_(where, where)], rtol=1e-12
    )
    aitchison = client.get(
        f"{base}/beta?samples={selection}&metric=aitchison&pseudocount=0.5", headers=auth
    ).get_json()
    assert aitchison["pseudocount"] == 0.5
    assert np.allclose(np.diag(aitchison["matrix"]), 0)

    missing = client.get(f"{base}/alpha?samples={ids['S1']},999999999", headers=auth)
    assert missing.status_code == 422
    assert missing.mimetype == PROBLEM
    assert missing.get_json()["errors"] == [
        {"column": "samples", "value": "999999999", "message": "No readable sample 999999999."}
    ]
    for query in ("samples=1,,2", "samples=abc", "metric=euclid", "pseudocount=0", "other=1"):
        answer = client.get(f"{base}/beta?{query}", headers=auth)
        assert answer.status_code == 400, query
        assert answer.get_json()["errors"], query
    other = f"/api/v1/datasets/{dataset.id}/tables/{body['table']['id'] + 1000}/alpha"
    assert client.get(other, headers=auth).status_code == 404

    monkeypatch.setattr(analysis, "MAX_ORDINATION_SAMPLES", 4)
    capped = client.get(f"{base}/beta", headers=auth).get_json()
    assert capped["sample_ids"] == sorted(ids.values())[:4]
    assert (capped["total_samples"], capped["truncated"], capped["limit"]) == (6, True, 4)
    assert np.array(capped["matrix"]).shape == (4, 4)


def test_the_entries_tsv_has_one_line_per_non_zero_value(client, create_dataset, tmp_path):
    table = counts()
    dataset, auth, body = stored(client, create_dataset, tmp_path, table)
    url = f"/api/v1/datasets/{dataset.id}/tables/{body['table']['id']}/entries.tsv"
    response = client.get(url, headers=auth)
    assert response.status_code == 200
    assert response.mimetype == "text/tab-separated-values"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "feature_id\tlineage\tsample\tvalue"
    got = {(f, s, float(v)) for f, _, s, v in (line.split("\t") for line in lines[1:])}
    expected = {
        (f"ASV{i + 1}", f"S{j + 1}", float(table[i, j]))
        for i, j in zip(*np.nonzero(table), strict=True)
    }
    assert got == expected
    assert len(lines) - 1 == len(expected)
    assert lines[1].split("\t")[1] == LINEAGES[0]


def test_an_upload_retried_with_the_same_idempotency_key_is_stored_once(
    client, create_dataset, tmp_path
):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    auth = {**bearer(dataset.owner), "Idempotency-Key": "table-upload-1"}
    content_type, body = multipart(tsv(counts()), "table.tsv")
    url = f"/api/v1/datasets/{dataset.id}/tables"
    first = client.post(url, data=body, content_type=content_type, headers=auth)
    assert first.status_code == 201, first.get_json()
    second = client.post(url, data=body, content_type=content_type, headers=auth)
    assert second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Location"] == first.headers["Location"]
    assert "Idempotent-Replayed" not in first.headers
    assert table_count(dataset.id) == 1
    other_type, other_body = multipart(tsv(counts(seed=9)), "other.tsv")
    reused = client.post(url, data=other_body, content_type=other_type, headers=auth)
    assert reused.status_code == 422
    assert table_count(dataset.id) == 1


def test_the_routes_are_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    expected = {
        "/datasets/{dataset_id}/tables": {"get", "post"},
        "/datasets/{dataset_id}/tables/{table_id}": {"get"},
        "/datasets/{dataset_id}/tables/{table_id}/entries.tsv": {"get"},
        "/datasets/{dataset_id}/tables/{table_id}/alpha": {"get"},
        "/datasets/{dataset_id}/tables/{table_id}/beta": {"get"},
        "/samples/{sample_id}/composition": {"get"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    beta = paths["/datasets/{dataset_id}/tables/{table_id}/beta"]["get"]
    assert {p["name"] for p in beta["parameters"]} >= {"metric", "samples", "pseudocount"}
    assert {"200", "400", "401", "403", "404", "422"} <= set(beta["responses"])
    upload = paths["/datasets/{dataset_id}/tables"]["post"]
    assert {"201", "409", "413", "422"} <= set(upload["responses"])
    schemas = document["components"]["schemas"]
    assert "chao1" in schemas["AlphaRow"]["properties"]
    assert schemas["AlphaRow"]["properties"]["chao1"]["nullable"] is True
