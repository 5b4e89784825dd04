"""`flask fairdb import-samples`: the same service as the web upload, from the shell."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from fairdb.extensions import db
from fairdb.models import Dataset, Sample
from tests.conftest import PASSWORD, ROOT
from tests.uploads_helpers import csv_bytes, rows

FLASK = Path(sys.executable).parent / "flask"


def test_import_into_a_new_dataset(app, create_user, tmp_path):
    owner = create_user()
    path = tmp_path / "cohort.csv"
    path.write_bytes(csv_bytes(rows(4)))
    result = app.test_cli_runner().invoke(
        args=[
            "fairdb",
            "import-samples",
            str(path),
            "--owner",
            owner.email,
            "--title",
            "Cohort",
            "--privacy",
            "public",
        ],
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    dataset = db.session.query(Dataset).filter_by(title="Cohort").one()
    assert f"stored 4 samples into dataset {dataset.id}" in result.output
    assert dataset.privacy.value == "public"
    assert db.session.query(Sample).filter_by(dataset_id=dataset.id).count() == 4


def test_a_bad_file_prints_the_report_and_exits_1(app, create_dataset, tmp_path):
    dataset = create_dataset()
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes(rows(3, lat_lon="45.1 999")))
    result = app.test_cli_runner().invoke(
        args=[
            "fairdb",
            "import-samples",
            str(path),
            "--owner",
            dataset.owner.email,
            "--dataset",
            str(dataset.id),
        ],
    )
    assert result.exit_code == 1
    assert "nothing stored: 3 problem(s) in bad.csv" in result.output
    assert "rows 2–4 column lat_lon" in result.output
    db.session.expire_all()
    assert db.session.query(Sample).filter_by(dataset_id=dataset.id).count() == 0


def test_the_owner_must_exist_and_exactly_one_target_given(app, create_user, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes(rows(1)))
    runner = app.test_cli_runner()
    missing = runner.invoke(
        args=[
            "fairdb",
            "import-samples",
            str(path),
            "--owner",
            "nobody@example.org",
            "--title",
            "T",
        ]
    )
    assert missing.exit_code != 0
    assert "No account with the address nobody@example.org" in missing.output
    owner = create_user()
    both = runner.invoke(args=["fairdb", "import-samples", str(path), "--owner", owner.email])
    assert both.exit_code != 0
    assert "exactly one of --dataset ID or --title TITLE" in both.output


def _fresh_cli(make_database, tmp_path, name: str) -> tuple[str, dict, dict]:
    """A migrated database of its own with one account, and how to run flask against it."""
    url = make_database(name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRDB_")}
    env.update(FAIRDB_DATABASE_URL=url, FAIRDB_INSTANCE_PATH=str(tmp_path / "instance"))
    run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run([FLASK, "--app", "wsgi", "db", "upgrade"], check=True, **run)
    subprocess.run(
        [
            FLASK,
            "--app",
            "wsgi",
            "fairdb",
            "create-user",
            "k@example.org",
            "--name",
            "K",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        check=True,
        **run,
    )
    return url, env, run


def _kill_once_copying(process: subprocess.Popen, engine, what: str) -> None:
    """SIGKILL the command once PostgreSQL is receiving rows from its COPY FROM."""
    deadline = time.monotonic() + 60
    copying = None
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            copying = connection.execute(
                text(
                    "SELECT tuples_processed FROM pg_stat_progress_copy WHERE command = 'COPY FROM'"
                )
            ).scalar()
        if copying:
            break
        assert process.poll() is None, "the import ended before it was killed"
        time.sleep(0.02)
    assert copying, f"the import never reached the COPY of its {what}"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    time.sleep(0.5)


@pytest.mark.server
# The killed child's inherited pipe ends are reported as unclosed by the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_killed_import_leaves_the_database_as_it_was(make_database, tmp_path):
    """SIGKILL in the middle of a large import: PostgreSQL rolls the open transaction back."""
    url, env, _ = _fresh_cli(make_database, tmp_path, "fairdb_killed")
    big = tmp_path / "big.csv"
    big.write_bytes(csv_bytes(rows(300_000)))
    process = subprocess.Popen(
        [
            FLASK,
            "--app",
            "wsgi",
            "fairdb",
            "import-samples",
            str(big),
            "--owner",
            "k@example.org",
            "--title",
            "Killed",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    engine = create_engine(url)
    try:
        _kill_once_copying(process, engine, "samples")
        with engine.connect() as connection:
            samples = connection.execute(text("SELECT count(*) FROM samples")).scalar()
            datasets = connection.execute(text("SELECT count(*) FROM datasets")).scalar()
            uploads = connection.execute(text("SELECT count(*) FROM uploads")).scalar()
        assert (samples, datasets, uploads) == (0, 0, 0)
    finally:
        if process.poll() is None:
            process.kill()
        engine.dispose()


@pytest.mark.server
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_killed_abundance_import_leaves_no_table_partition_or_feature(make_database, tmp_path):
    """SIGKILL while PostgreSQL loads a table's entries: the partition created in the same
    transaction goes with it, and so do the features and the upload row."""
    import h5py
    import numpy as np
    from biom import Table
    from scipy import sparse

    url, env, run = _fresh_cli(make_database, tmp_path, "fairdb_killed_abundance")
    sheet = tmp_path / "samples.csv"
    sheet.write_bytes(csv_bytes(rows(400)))
    subprocess.run(
        [
            FLASK,
            "--app",
            "wsgi",
            "fairdb",
            "import-samples",
            str(sheet),
            "--owner",
            "k@example.org",
            "--title",
            "Cohort",
        ],
        check=True,
        **run,
    )
    rng = np.random.default_rng(2)
    cells = np.unique(rng.integers(0, 40_000 * 400, 3_000_000))
    matrix = sparse.csr_matrix(
        (rng.integers(1, 99, len(cells)).astype(float), (cells // 400, cells % 400)),
        shape=(40_000, 400),
    )
    table = Table(matrix, [f"F{i}" for i in range(40_000)], [f"S{j + 1}" for j in range(400)])
    path = tmp_path / "big.biom"
    with h5py.File(path, "w") as handle:
        table.to_hdf5(handle, "fairdb tests")
    process = subprocess.Popen(
        [FLASK, "--app", "wsgi", "fairdb", "import-abundance", str(path), "--dataset", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    engine = create_engine(url)
    try:
        # The entries are the first COPY FROM of an abundance import.
        _kill_once_copying(process, engine, "entries")
        with engine.connect() as connection:
            counts = [
                connection.execute(text(sql)).scalar()
                for sql in (
                    "SELECT count(*) FROM abundance_tables",
                    "SELECT count(*) FROM features",
                    "SELECT count(*) FROM abundances",
                    "SELECT count(*) FROM pg_class WHERE relname LIKE 'abundances\\_%'",
                    "SELECT count(*) FROM uploads WHERE kind = 'abundance'",
                    "SELECT count(*) FROM samples",
                )
            ]
        assert counts == [0, 0, 0, 0, 0, 400]
    finally:
        if process.poll() is None:
            process.kill()
        engine.dispose()
