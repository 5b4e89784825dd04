"""Ingest speed and memory: validated-and-stored rows/s against a plain COPY of the same file.

    .venv/bin/python bench/ingest.py --rows 1000000

Starts its own PostgreSQL (pgserver) in a temporary folder, so the numbers are comparable run to
run. The plain COPY loads the same CSV into a bare table of text columns on the same server
(best of two runs): the physical limit of getting these bytes into PostgreSQL. The ingest runs
in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import gc
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
import samples  # noqa: E402


def _ingest_child(url: str, instance: str, path: str, out: multiprocessing.Queue) -> None:
    from fairdb import create_app
    from fairdb.extensions import db
    from fairdb.models import Dataset, User
    from fairdb.services import ingest

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "LOG_LEVEL": "WARNING"})
    gc.freeze()  # as wsgi.py does once the app is built
    with app.app_context():
        user = db.session.query(User).one()
        dataset = db.session.query(Dataset).one()
        started = time.perf_counter()
        result = ingest.ingest_samples(dataset, Path(path), "bench.csv", user)
        if not result.ok:
            out.put({"error": result.report()["errors"][:5], "count": result.error_count})
            return
        db.session.commit()
        elapsed = time.perf_counter() - started
    peak_mb = common.peak_rss_mb()
    out.put({"seconds": elapsed, "stored": result.stored, "peak_rss_mb": peak_mb})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fairdb-bench-") as tmp:
        folder = Path(tmp)
        server, socket_dir, url = common.start_database(folder)

        from flask_migrate import upgrade

        from fairdb import create_app
        from fairdb.extensions import db
        from fairdb.services import accounts, datasets

        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder / "instance")})
        with app.app_context():
            upgrade()
            owner = accounts.create_user(
                email="bench@example.org", display_name="Bench", password="x" * 12
            )
            datasets.create_dataset(owner, title="bench", checklist="MimsHumanGut")
            db.session.commit()
            db.engine.dispose()

        path = samples.write_csv(folder / "samples.csv", args.rows)
        size_mb = path.stat().st_size / 1e6

        # The physical limit: the same bytes COPYed into a bare table of text columns.
        copy_seconds = common.best_plain_copy(
            socket_dir,
            ", ".join(f"{name} text" for name in samples.COLUMNS),
            "COPY bare FROM STDIN WITH (FORMAT csv, HEADER true)",
            lambda: path.open("rb"),
        )
        outcome = common.in_child(_ingest_child, url, str(folder / "instance"), str(path))
        if "error" in outcome:
            print(json.dumps(outcome, indent=2))
            raise SystemExit("the generated file did not validate")
        server.cleanup()

    copy_rate = args.rows / copy_seconds
    ingest_rate = outcome["stored"] / outcome["seconds"]
    figures = {
        "rows": args.rows,
        "file_mb": round(size_mb, 1),
        "copy_rows_per_s": round(copy_rate),
        "ingest_rows_per_s": round(ingest_rate),
        "ratio_to_copy": round(ingest_rate / copy_rate, 3),
        "ingest_seconds": round(outcome["seconds"], 2),
        "copy_seconds": round(copy_seconds, 2),
        "peak_rss_mb": round(outcome["peak_rss_mb"], 1),
    }
    common.report(figures, "ingest")


if __name__ == "__main__":
    main()
