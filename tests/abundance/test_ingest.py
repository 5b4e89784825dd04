"""Abundance tables into a dataset: every format, all or nothing, every bad input explained."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select, text

from fairdb.abundance.ingest import ingest_abundance
from fairdb.extensions import db
from fairdb.models import Abundance, AbundanceTable, Feature, SampleTotal, Upload
from tests.abundance.helpers import (
    LINEAGES,
    counts,
    dataset_with_samples,
    tsv,
    write_biom_hdf5,
    write_biom_json,
)


def stored(dataset_id: int) -> tuple[int, int, int]:
    db.session.expire_all()
    tables = db.session.scalar(
        select(func.count())
        .select_from(AbundanceTable)
        .where(AbundanceTable.dataset_id == dataset_id)
    )
    features = db.session.scalar(
        select(func.count()).select_from(Feature).where(Feature.dataset_id == dataset_id)
    )
    entries = db.session.scalar(
        text(
            "SELECT count(*) FROM abundances a JOIN features f ON f.id = a.feature_id "
            "WHERE f.dataset_id = :d"
        ),
        {"d": dataset_id},
    )
    return tables or 0, features or 0, entries or 0


def dense_back(dataset_id: int, features: int, samples: int) -> np.ndarray:
    """The stored entries as a features x samples matrix, by original ids and names."""
    out = np.zeros((features, samples))
    rows = db.session.execute(
        text(
            "SELECT f.feature_id, s.samp_name, a.value FROM abundances a "
            "JOIN features f ON f.id = a.feature_id JOIN samples s ON s.id = a.sample_id "
            "WHERE f.dataset_id = :d"
        ),
        {"d": dataset_id},
    )
    for feature, sample, value in rows:
        out[int(feature.removeprefix("ASV")) - 1, int(sample.removeprefix("S")) - 1] = value
    return out


def run(dataset, path, **kw):
    """As a view does: commit a clean table, roll back anything else."""
    result = ingest_abundance(dataset, path, path.name, dataset.owner, **kw)
    if result.ok:
        db.session.commit()
    else:
        db.session.rollback()
    return result


@pytest.mark.parametrize("kind", ["tsv", "tsv-transposed", "biom-json", "biom-hdf5"])
def test_every_format_stores_exactly_the_non_zero_entries(app, create_dataset, tmp_path, kind):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    table = counts()
    path = tmp_path / f"table.{kind}"
    if kind == "tsv":
        path.write_bytes(tsv(table))
    elif kind == "tsv-transposed":
        path.write_bytes(tsv(table, transpose=True))
    elif kind == "biom-json":
        write_biom_json(path, table)
    else:
        write_biom_hdf5(path, table)
    result = run(dataset, path)
    assert result.ok, result.report()
    assert result.stored == int((table != 0).sum())
    expected_orientation = "samples-as-rows" if kind == "tsv-transposed" else "features-as-rows"
    assert result.summary["orientation"] == expected_orientation
    np.testing.assert_array_equal(dense_back(dataset.id, *table.shape), table)
    record = db.session.scalars(select(AbundanceTable)).one()
    assert record.value_kind == "counts"
    # The totals behind relative abundances, and the table's block of feature ids.
    totals = dict(db.session.execute(select(SampleTotal.sample_id, SampleTotal.total)).all())
    assert sorted(totals.values()) == sorted(table.sum(axis=0).tolist())
    in_range = db.session.scalar(
        select(func.count())
        .select_from(Abundance)
        .where(Abundance.feature_id.between(record.first_feature_id, record.last_feature_id))
    )
    assert in_range == result.stored
    assert record.last_feature_id - record.first_feature_id + 1 == table.shape[0]
    if kind != "tsv-transposed":
        akkermansia = db.session.scalars(
            select(Feature).where(Feature.tax_genus == "Akkermansia")
        ).one()
        assert akkermansia.feature_id == "ASV1"
        assert akkermansia.tax_phylum == "Verrucomicrobia"


def test_taxonomy_from_a_separate_file(app, create_dataset, tmp_path):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = tmp_path / "table.tsv"
    path.write_bytes(tsv(counts(), taxonomy=False))
    taxonomy = tmp_path / "taxonomy.tsv"
    taxonomy.write_text(
        "Feature ID\tTaxon\tConfidence\n"
        "ASV1\td__Bacteria;p__Verrucomicrobiota;c__Verrucomicrobiae;o__Verrucomicrobiales;"
        "f__Akkermansiaceae;g__Akkermansia;s__Akkermansia muciniphila\t0.99\n"
        "ASV2\td__Bacteria;p__Firmicutes_A\t0.8\n"
    )
    result = run(dataset, path, taxonomy=(taxonomy, "taxonomy.tsv"))
    assert result.ok, result.report()
    features = {f.feature_id: f for f in db.session.scalars(select(Feature))}
    assert features["ASV1"].tax_species == "Akkermansia muciniphila"
    assert features["ASV2"].tax_phylum == "Firmicutes_A"
    assert features["ASV2"].tax_genus is None
    assert features["ASV3"].lineage is None


def test_a_samples_in_rows_table_can_be_chosen_explicitly(app, create_dataset, tmp_path):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = tmp_path / "table.tsv"
    path.write_bytes(tsv(counts(), transpose=True))
    result = run(dataset, path, orientation="samples-as-rows")
    assert result.ok, result.report()
    other = dataset_with_samples(create_dataset, tmp_path)
    wrong = run(other, path, orientation="features-as-rows")
    assert wrong.status == 422
    assert {p.code for p in wrong.problems} >= {"unknown_sample"}


def codes(result) -> set[str]:
    return {p.code for p in result.problems}


@pytest.mark.parametrize(
    ("cell", "code", "words"),
    [
        ("-3", "negative", "-3 is negative"),
        ("12 reads", "not_a_number", "'12 reads' is not a number"),
        ("NaN", "not_finite", "'NaN' is not a finite number"),
        ("", "empty_cell", "is empty"),
    ],
)
def test_bad_values_are_reported_with_row_and_column_and_nothing_is_stored(
    app, create_dataset, tmp_path, cell, code, words
):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = tmp_path / "table.tsv"
    path.write_bytes(tsv(counts(), cells={(2, 3): cell}))
    result = run(dataset, path)
    assert result.status == 422
    problem = next(p for p in result.problems if p.code == code)
    # Row 3 of the file is the header (after the comment line); ASV3 is row 5.
    assert problem.row == 5
    assert problem.column == "E (S4)"
    assert words in problem.message
    assert problem.fix
    assert stored(dataset.id) == (0, 0, 0)


def test_duplicate_feature_ids_are_reported_with_their_rows(app, create_dataset, tmp_path):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = tmp_path / "table.tsv"
    path.write_text(tsv(counts()).decode().replace("ASV3\t", "ASV1\t"))
    result = run(dataset, path)
    assert result.status == 422
    problem = next(p for p in result.problems if p.code == "duplicate_feature")
    assert "The feature id 'ASV1' appears 2 times (row 3, row 5)" in problem.message
    assert stored(dataset.id) == (0, 0, 0)


def test_duplicate_sample_columns_are_refused_at_the_header(app, create_dataset, tmp_path):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = tmp_path / "table.tsv"
    path.write_bytes(tsv(counts(), samples=["S1", "S2", "S2", "S4", "S5", "S6"]))
    result = run(dataset, path)
    assert result.status == 400
    problem = result.problems[0]
    assert problem.column == "S2"
    assert "S2" in problem.message
    assert "Give every column its own name" in problem.fix
    assert stored(dataset.id) == (0, 0, 0)


def test_unknown_samples_are_listed_with_the_closest_names(app, create_dataset, tmp_path):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = tmp_path / "table.tsv"
    path.write_bytes(tsv(counts(), samples=["S1", "S2", "S3", "S4", "S5", "s6x"]))
    result = run(dataset, path)
    assert result.status == 422
    problem = next(p for p in result.problems if p.code == "unknown_sample")
    assert problem.value == "s6x"
    assert "Closest names in the dataset: S6" in problem.message
    assert stored(dataset.id) == (0, 0, 0)


def test_a_table_naming_no_sample_of_the_dataset_is_refused(app, create_dataset, tmp_path):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = tmp_path / "table.tsv"
    path.write_bytes(tsv(counts(), samples=[f"X{i}" for i in range(6)]))
    result = run(dataset, path)
    assert result.status == 422
    assert codes(result) == {"no_sample_names"}
    assert "Neither the column headers nor the first column" in result.problems[0].message


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty"),
        (b"#OTU ID\tS1\tS2\n", "no_rows"),
        (b"#OTU ID\tS1\tS2\nASV1\t0\t0\nASV2\t0\t0\n", "empty_table"),
    ],
)
def test_empty_tables_are_refused(app, create_dataset, tmp_path, body, code):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = tmp_path / "table.tsv"
    path.write_bytes(body)
    result = run(dataset, path)
    assert 400 <= result.status < 500
    assert code in codes(result)
    assert stored(dataset.id) == (0, 0, 0)


def test_a_biom_file_declaring_a_huge_table_is_refused_before_loading(
    app, create_dataset, tmp_path
):
    import h5py

    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = write_biom_hdf5(tmp_path / "bomb.biom", counts())
    with h5py.File(path, "a") as handle:
        handle.attrs["nnz"] = 10**11
    result = run(dataset, path)
    assert result.status == 413
    assert "at most 50,000,000 are accepted" in result.problems[0].message
    assert stored(dataset.id) == (0, 0, 0)


def test_biom_with_negative_values_is_refused(app, create_dataset, tmp_path):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    table = counts()
    table[1, 2] = -4
    path = write_biom_json(tmp_path / "table.biom", table)
    result = run(dataset, path)
    assert result.status == 422
    problem = next(p for p in result.problems if p.code == "negative")
    assert problem.column == "sample S3"
    assert problem.message.startswith("ASV2:")


def test_the_same_file_twice_is_refused(app, create_dataset, tmp_path):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = tmp_path / "table.tsv"
    path.write_bytes(tsv(counts()))
    assert run(dataset, path).ok
    again = run(dataset, path)
    assert again.status == 409
    assert stored(dataset.id)[0] == 1


def test_cli_imports_a_table(app, create_dataset, tmp_path):
    dataset = dataset_with_samples(create_dataset, tmp_path)
    db.session.commit()
    path = write_biom_hdf5(tmp_path / "table.biom", counts())
    result = app.test_cli_runner().invoke(
        args=["fairdb", "import-abundance", str(path), "--dataset", str(dataset.id)]
    )
    assert result.exit_code == 0, result.output
    assert f"features x 6 samples) into dataset {dataset.id}" in result.output
    db.session.expire_all()
    assert stored(dataset.id)[0] == 1
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(tsv(counts(), cells={(0, 1): "x"}))
    failed = app.test_cli_runner().invoke(
        args=["fairdb", "import-abundance", str(bad), "--dataset", str(dataset.id)]
    )
    assert failed.exit_code == 1
    assert "'x' is not a number" in failed.output
    uploads = db.session.scalars(select(Upload).where(Upload.kind == "abundance")).all()
    assert len(uploads) == 1


def test_taxa_at_any_rank_are_found_through_the_index(app, create_dataset, tmp_path):
    """'Which samples hold Akkermansia at 1% or more?': the GIN over all rank names finds the
    features, the BRIN their entries; names with quotes and backslashes survive the trip."""
    dataset = dataset_with_samples(create_dataset, tmp_path)
    table = counts()
    from biom import Table

    lineages = [line.split("; ") for line in LINEAGES]
    lineages[1][5] = 'g__Blau"tia\\x'
    biom = Table(
        table,
        [f"ASV{i + 1}" for i in range(table.shape[0])],
        [f"S{j + 1}" for j in range(table.shape[1])],
        observation_metadata=[{"taxonomy": lineages[i % 4]} for i in range(table.shape[0])],
    )
    path = tmp_path / "table.biom"
    path.write_text(biom.to_json("fairdb tests"))
    assert run(dataset, path).ok
    odd = db.session.scalars(select(Feature).where(Feature.feature_id == "ASV2")).one()
    assert odd.tax_genus == 'Blau"tia\\x'
    assert odd.taxa[-1] == 'Blau"tia\\x'
    rows = db.session.execute(
        text(
            "SELECT s.samp_name, sum(a.value / t.total) AS share FROM features f "
            "JOIN abundances a ON a.feature_id = f.id "
            "JOIN abundance_totals t ON t.table_id = f.table_id AND t.sample_id = a.sample_id "
            "JOIN samples s ON s.id = a.sample_id "
            "WHERE f.dataset_id = :d AND f.taxa @> ARRAY['Akkermansia'] "
            "GROUP BY s.samp_name HAVING sum(a.value / t.total) >= 0.01"
        ),
        {"d": dataset.id},
    ).all()
    shares = table[0] / table.sum(axis=0)
    expected = {f"S{j + 1}" for j in range(table.shape[1]) if shares[j] >= 0.01}
    assert {name for name, _ in rows} == expected
    assert expected  # the example has such samples
    plan = "\n".join(
        r[0]
        for r in db.session.execute(
            text(
                "EXPLAIN SELECT * FROM features WHERE taxa @> ARRAY['Akkermansia'] "
                "AND dataset_id = :d"
            ).bindparams(d=dataset.id)
        )
    )
    assert "ix_features_taxa" in plan or "Seq Scan" in plan  # tiny tables may be scanned
    partitions = db.session.scalar(
        text("SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'abundances\\_%'")
    )
    assert partitions == 1  # the partition's own BRIN, adopted by the parent's index


def test_an_xlsx_sheet_is_read_like_a_tsv(app, create_dataset, tmp_path):
    from openpyxl import Workbook

    dataset = dataset_with_samples(create_dataset, tmp_path)
    table = counts()
    book = Workbook()
    sheet = book.active
    sheet.append(["#OTU ID", *[f"S{j + 1}" for j in range(table.shape[1])]])
    for i, row in enumerate(table):
        sheet.append([f"ASV{i + 1}", *[int(v) for v in row]])
    path = tmp_path / "table.xlsx"
    book.save(path)
    result = run(dataset, path)
    assert result.ok, result.report()
    np.testing.assert_array_equal(dense_back(dataset.id, *table.shape), table)


def test_a_biom_file_with_repeated_ids_is_refused_with_a_reason(app, create_dataset, tmp_path):
    import json

    dataset = dataset_with_samples(create_dataset, tmp_path)
    path = write_biom_json(tmp_path / "table.biom", counts())
    document = json.loads(path.read_text())
    document["rows"][2]["id"] = document["rows"][0]["id"]
    path.write_text(json.dumps(document))
    result = run(dataset, path)
    assert result.status == 422
    problem = result.problems[0]
    assert problem.code == "duplicate_feature"
    assert problem.message.startswith("The BIOM table names a feature twice")
    assert "merge the duplicates" in problem.fix
    assert stored(dataset.id) == (0, 0, 0)
