"""Abundance ingest speed and memory, and the time of a Bray-Curtis PCoA of 1,000 samples.

    .venv/bin/python bench/abundance.py --samples 10000 --features 10000 --entries 1000000

Starts its own PostgreSQL (pgserver) in a temporary folder. Writes a random BIOM 2.1 (HDF5)
table of the given shape, stores its samples' metadata, then loads the table through the same
service as an upload (in a child process, so its peak RSS is its own) beside a plain COPY of the
same (sample, feature, value) triples into a bare table on the same server: the physical limit of
getting those entries into PostgreSQL. Each side runs twice, after a checkpoint, and the faster
run counts (the table goes into two datasets with the same samples); peak RSS is the larger.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402


def write_table(folder: Path, samples: int, features: int, entries: int) -> Path:
    """A random sparse count table with a realistic skew: a few common features, a long tail."""
    import h5py
    import numpy as np
    from biom import Table
    from scipy import sparse

    rng = np.random.default_rng(11)
    weights = 1.0 / np.arange(1, features + 1) ** 0.8
    rows = rng.choice(features, size=entries * 2, p=weights / weights.sum())
    cols = rng.integers(0, samples, size=entries * 2)
    pairs = np.unique(rows.astype(np.int64) * samples + cols)[:entries]
    rng.shuffle(pairs)
    pairs = np.sort(pairs[:entries])
    values = rng.integers(1, 500, size=len(pairs)).astype(float)
    matrix = sparse.csr_matrix(
        (values, (pairs // samples, pairs % samples)), shape=(features, samples)
    )
    ranks = "k__Bacteria; p__Phylum{p}; c__Class{c}; o__Order{o}; f__Family{f}; g__Genus{g}; s__"
    metadata = [
        {"taxonomy": ranks.format(p=i % 12, c=i % 40, o=i % 90, f=i % 200, g=i % 700)}
        for i in range(features)
    ]
    table = Table(
        matrix,
        [f"F{i}" for i in range(features)],
        [f"HG{i:07d}" for i in range(samples)],
        observation_metadata=metadata,
    )
    path = folder / "table.biom"
    with h5py.File(path, "w") as handle:
        table.to_hdf5(handle, "fairdb bench")
    return path


def _ingest_child(
    url: str, instance: str, path: str, dataset_id: int, out: multiprocessing.Queue
) -> None:
    from fairdb import create_app
    from fairdb.abundance.ingest import ingest_abundance
    from fairdb.extensions import db
    from fairdb.models import Dataset

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "LOG_LEVEL": "WARNING"})
    # fairdb imports biom-format (and pandas, 40 MB) only when it first reads a BIOM file; a
    # worker pays that once, so it is left out of the timing.
    import biom  # noqa: F401

    gc.freeze()  # as wsgi.py does once the app is built

    with app.app_context():
        dataset = db.session.get(Dataset, dataset_id)
        assert dataset is not None
        started = time.perf_counter()
        result = ingest_abundance(dataset, Path(path), "table.biom", dataset.owner)
        if not result.ok:
            out.put({"error": result.report()["errors"][:5]})
            return
        db.session.commit()
        elapsed = time.perf_counter() - started
    peak_mb = common.peak_rss_mb()
    out.put({"seconds": elapsed, "stored": result.stored, "peak_rss_mb": peak_mb})


def _pcoa_seconds(app: object, samples: int) -> tuple[float, int]:
    from fairdb.abundance import analysis
    from fairdb.extensions import db
    from fairdb.models import AbundanceTable

    with app.app_context():  # type: ignore[attr-defined]
        table = db.session.query(AbundanceTable).order_by(AbundanceTable.id).first()
        assert table is not None
        started = time.perf_counter()
        ordination = analysis.ordination(table, "braycurtis", max_samples=samples)
        return time.perf_counter() - started, len(ordination["samples"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--features", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--pcoa-samples", type=int, default=1_000)
    args = parser.parse_args()

    from biom import load_table

    with tempfile.TemporaryDirectory(prefix="fairdb-bench-") as tmp:
        folder = Path(tmp)
        server, socket_dir, url = common.start_database(folder)
        path = write_table(folder, args.samples, args.features, args.entries)

        from flask_migrate import upgrade

        from fairdb import create_app
        from fairdb.extensions import db
        from fairdb.services import accounts, datasets, ingest

        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder / "instance")})
        sheet = folder / "samples.csv"
        with sheet.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["samp_name", "collection_date", "geo_loc_name", "host_sex"])
            for i in range(args.samples):
                place = ("Netherlands: Gelderland", "Kenya: Nairobi", "Japan: Tokyo")[i % 3]
                writer.writerow([f"HG{i:07d}", "2020-05-01", place, ("female", "male")[i % 2]])
        with app.app_context():
            upgrade()
            owner = accounts.create_user(
                email="bench@example.org", display_name="Bench", password="x" * 12
            )
            # Two datasets with the same samples: the table is loaded into each, and the
            # faster load counts, as the faster of two plain COPYs does.
            targets = []
            for copy in (1, 2):
                dataset = datasets.create_dataset(owner, title=f"bench {copy}", checklist="core")
                stored = ingest.ingest_samples(dataset, sheet, "samples.csv", owner)
                if not stored.ok:
                    raise SystemExit(json.dumps(stored.report()["errors"][:5], indent=2))
                db.session.commit()
                targets.append(dataset.id)
            db.engine.dispose()

        # The physical limit: the same entries as (sample, feature, value) text triples.
        table = load_table(str(path)).matrix_data.tocoo()
        buffer = io.StringIO()
        for row, col, value in zip(table.row, table.col, table.data, strict=True):
            buffer.write(f"HG{col:07d},F{row},{value:g}\n")
        triples = buffer.getvalue().encode()
        copy_seconds = common.best_plain_copy(
            socket_dir,
            "sample text, feature text, value float8",
            "COPY bare FROM STDIN (FORMAT csv)",
            common.bytes_source(triples),
        )
        del triples, buffer, table
        runs = []
        for dataset_id in targets:
            common.checkpoint(socket_dir)
            run = common.in_child(
                _ingest_child, url, str(folder / "instance"), str(path), dataset_id
            )
            if "error" in run:
                raise SystemExit(json.dumps(run, indent=2))
            runs.append(run)
        outcome = min(runs, key=lambda run: run["seconds"])
        outcome["peak_rss_mb"] = max(run["peak_rss_mb"] for run in runs)
        pcoa_seconds, pcoa_samples = _pcoa_seconds(app, args.pcoa_samples)
        with app.app_context():
            db.engine.dispose()
        server.cleanup()

    entries = outcome["stored"]
    copy_rate = entries / copy_seconds
    ingest_rate = entries / outcome["seconds"]
    figures = {
        "samples": args.samples,
        "features": args.features,
        "entries": entries,
        "copy_entries_per_s": round(copy_rate),
        "ingest_entries_per_s": round(ingest_rate),
        "ratio_to_copy": round(ingest_rate / copy_rate, 3),
        "ingest_seconds": round(outcome["seconds"], 2),
        "copy_seconds": round(copy_seconds, 2),
        "peak_rss_mb": round(outcome["peak_rss_mb"], 1),
        "pcoa_samples": pcoa_samples,
        "braycurtis_pcoa_seconds": round(pcoa_seconds, 2),
    }
    common.report(figures, "abundance")


if __name__ == "__main__":
    main()
