"""Abundance pages: upload through the web form, the table page, its chart data, its access."""

from __future__ import annotations

import csv
import io

import numpy as np
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from fairdb.extensions import db
from fairdb.models import Privacy
from tests.abundance.helpers import counts, dataset_with_samples, tsv, write_biom_hdf5
from tests.conftest import sign_in


def post_table(client, dataset_id, content, filename, **fields):
    files = MultiDict({"file": FileStorage(io.BytesIO(content), filename=filename), **fields})
    boundary, body = encode_multipart(files)
    return client.post(
        f"/datasets/{dataset_id}/abundance",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def stored_table(client, create_dataset, tmp_path, table=None):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    db.session.commit()
    sign_in(client, dataset.owner.email)
    path = write_biom_hdf5(tmp_path / "table.biom", counts() if table is None else table)
    response = post_table(client, dataset.id, path.read_bytes(), "table.biom")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return dataset, response.headers["Location"]


def test_upload_then_see_the_table_page_with_its_summary(client, create_dataset, tmp_path):
    dataset, location = stored_table(client, create_dataset, tmp_path)
    page = " ".join(client.get(location).get_data(as_text=True).split())
    assert "4 features · 6 samples" in page
    assert "non-zero entries stored from table.biom" in page
    listing = " ".join(client.get(f"/datasets/{dataset.id}").get_data(as_text=True).split())
    assert "table.biom</a>: 4 features x 6 samples (counts" in listing


def test_chart_data_agrees_with_the_table(client, create_dataset, tmp_path):
    table = counts()
    _, location = stored_table(client, create_dataset, tmp_path, table)
    data = client.get(f"{location}/composition.json?level=genus&top=3&group=host_sex").get_json()
    assert data["taxa"][:3]
    assert len(data["samples"]) == 6
    # Shares per sample add up to 1 (top taxa + Other + Unassigned).
    sums = np.array(data["values"]).sum(axis=0)
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)
    assert data["groups"] == ["female"] * 6
    alpha = client.get(f"{location}/alpha.json").get_json()
    observed = {row["sample"]: row["observed"] for row in alpha["rows"]}
    assert observed == {f"S{j + 1}": int((table[:, j] > 0).sum()) for j in range(6)}
    ordination = client.get(f"{location}/ordination.json?metric=aitchison&pseudocount=0.5")
    body = ordination.get_json()
    assert body["pseudocount"] == 0.5
    assert len(body["coordinates"]) == 6
    matrix = client.get(f"{location}/distances.csv?metric=braycurtis")
    assert matrix.status_code == 200
    rows = list(csv.reader(io.StringIO(matrix.get_data(as_text=True))))
    assert rows[0][0] == "sample"
    assert len(rows) == 7
    assert all(float(rows[i][i]) == 0 for i in range(1, 7))


def test_bad_chart_parameters_are_400_with_the_fix(client, create_dataset, tmp_path):
    _, location = stored_table(client, create_dataset, tmp_path)
    for query, words in [
        ("composition.json?level=kingdom", "level must be one of"),
        ("ordination.json?metric=euclid", "metric must be one of"),
        ("ordination.json?metric=aitchison&pseudocount=-1", "pseudocount must be"),
        ("alpha.json?group=nonsense", "is not a field of this dataset"),
    ]:
        response = client.get(f"{location}/{query}")
        assert response.status_code == 400, query
        assert words in response.get_data(as_text=True), query


def test_a_bad_table_shows_the_report_and_the_abundance_form(client, create_dataset, tmp_path):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    db.session.commit()
    sign_in(client, dataset.owner.email)
    response = post_table(client, dataset.id, tsv(counts(), cells={(1, 2): "lots"}), "table.tsv")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was stored: 1 problem in table.tsv" in page
    assert "&#39;lots&#39; is not a number" in page
    assert f'action="/datasets/{dataset.id}/abundance"' in page


def test_the_table_follows_the_dataset_privacy(client, create_dataset, create_user, tmp_path):
    dataset, location = stored_table(client, create_dataset, tmp_path)
    client.post("/auth/logout")
    stranger = create_user()
    sign_in(client, stranger.email)
    for suffix in ("", "/composition.json", "/alpha.json", "/ordination.json", "/distances.csv"):
        assert client.get(location + suffix).status_code == 404, suffix
    assert client.get(f"/datasets/{dataset.id}/abundance").status_code == 404
    dataset.privacy = Privacy.PUBLIC
    db.session.commit()
    assert client.get(location + "/alpha.json").status_code == 200
    assert client.get(f"/datasets/{dataset.id}/abundance").status_code == 403


def test_mean_composition_is_the_average_of_the_samples(client, create_dataset, tmp_path):
    _, location = stored_table(client, create_dataset, tmp_path)
    each = client.get(f"{location}/composition.json?level=genus&top=2").get_json()
    mean = client.get(f"{location}/composition.json?level=genus&top=2&view=mean").get_json()
    assert mean["samples"] == ["all samples"]
    assert mean["sizes"] == [6]
    assert mean["taxa"] == each["taxa"]
    for taxon_each, taxon_mean in zip(each["values"], mean["values"], strict=True):
        assert abs(sum(taxon_each) / 6 - taxon_mean[0]) < 1e-5
    grouped = client.get(
        f"{location}/composition.json?level=phylum&view=mean&group=host_sex"
    ).get_json()
    assert grouped["samples"] == ["female"]
    assert abs(sum(v[0] for v in grouped["values"]) - 1) < 1e-5


def test_the_sample_page_shows_every_field_and_its_composition(
    client, create_dataset, create_user, tmp_path
):
    table = counts()
    dataset, _ = stored_table(client, create_dataset, tmp_path, table)
    listing = client.get(f"/datasets/{dataset.id}").get_data(as_text=True)
    assert f'href="/datasets/{dataset.id}/samples/S2"' in listing
    page = " ".join(client.get(f"/datasets/{dataset.id}/samples/S2").get_data(as_text=True).split())
    # Cells as uploaded, with the checklist's words for them.
    assert "51.8426 5.8528" in page
    assert "geographic location (latitude and longitude)" in page
    assert "The geographical origin of the sample as defined by latitude and longitude." in page
    assert "feces [ENVO:00002003]" in page
    # Composition in the table: the top genus and its share, as the matrix says.
    shares = table[:, 1] / table[:, 1].sum()
    genera = ["Akkermansia", "Blautia", "Bacteroides", "Faecalibacterium"]
    top = int(np.argmax(shares))
    assert f'<td>{genera[top]}</td><td class="num">{100 * shares[top]:.2f}%</td>' in page
    assert client.get(f"/datasets/{dataset.id}/samples/nobody").status_code == 404
    client.post("/auth/logout")
    sign_in(client, create_user().email)
    assert client.get(f"/datasets/{dataset.id}/samples/S2").status_code == 404


def test_a_table_over_the_size_limit_is_413_and_a_zip_bomb_400(
    app, client, create_dataset, tmp_path
):
    import zipfile

    from sqlalchemy import func, select

    from fairdb.models import AbundanceTable

    dataset = dataset_with_samples(create_dataset, tmp_path)
    db.session.commit()
    sign_in(client, dataset.owner.email)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * 50_000_000 + b">")
    response = post_table(client, dataset.id, bomb.getvalue(), "bomb.xlsx")
    assert response.status_code == 400
    assert "looks like a zip bomb" in response.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    big = post_table(client, dataset.id, tsv(counts(features=200, samples=6)), "big.tsv")
    assert big.status_code == 413
    assert "too large" in big.get_data(as_text=True).lower()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AbundanceTable)) == 0


def test_a_sample_of_its_own_tighter_privacy_is_left_out_of_charts_for_outsiders(
    client, create_dataset, tmp_path
):
    from fairdb.models import Sample
    from fairdb.services import curation

    dataset, location = stored_table(client, create_dataset, tmp_path)
    db.session.query(type(dataset)).filter_by(id=dataset.id).update({"privacy": Privacy.PUBLIC})
    hidden = db.session.query(Sample).filter_by(dataset_id=dataset.id, samp_name="S3").one()
    curation.set_sample_privacy(hidden, dataset.owner, Privacy.PRIVATE)
    db.session.commit()
    visitor = client.application.test_client()
    for view in ("composition.json", "alpha.json", "ordination.json"):
        seen = visitor.get(f"{location}/{view}").get_json()
        assert "S3" not in str(seen), view
        assert "S2" in str(seen), view
        assert "S3" in str(client.get(f"{location}/{view}").get_json()), view
    matrix = visitor.get(f"{location}/distances.csv").get_data(as_text=True)
    assert matrix.splitlines()[0].split(",")[1:] == ["S1", "S2", "S4", "S5", "S6"]
