"""What both benchmarks share: their own PostgreSQL, a bench account, the plain-COPY baseline
and running the measured ingest in a child process (so its peak RSS is its own)."""

from __future__ import annotations

import io
import multiprocessing
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any


def start_database(folder: Path) -> tuple[Any, str, str]:
    """A fresh PostgreSQL (pgserver) in `folder`: (server, socket dir, SQLAlchemy URL)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    server = pgserver.get_server(folder / "pg", cleanup_mode="delete")
    server.psql("CREATE DATABASE bench;")
    socket_dir = server.get_postmaster_info().socket_dir
    return server, socket_dir, f"postgresql+psycopg2://postgres@/bench?host={socket_dir}"


def best_plain_copy(socket_dir: str, columns: str, sql: str, data: Callable[[], Any]) -> float:
    """Seconds of the faster of two COPYs into a bare table, each after a checkpoint, so a slow
    first run does not flatter the ratio. `data()` opens the bytes to load."""
    import psycopg2

    connection = psycopg2.connect(dbname="bench", host=socket_dir, user="postgres")
    connection.autocommit = True
    best = float("inf")
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute("DROP TABLE IF EXISTS bare")
            cursor.execute(f"CREATE TABLE bare ({columns})")
            cursor.execute("CHECKPOINT")
            started = time.perf_counter()
            with data() as handle:
                cursor.copy_expert(sql, handle)
            best = min(best, time.perf_counter() - started)
        cursor.execute("DROP TABLE bare")
        cursor.execute("CHECKPOINT")
    connection.close()
    return best


def checkpoint(socket_dir: str) -> None:
    import psycopg2

    connection = psycopg2.connect(dbname="bench", host=socket_dir, user="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    connection.close()


def bytes_source(content: bytes) -> Callable[[], io.BytesIO]:
    return lambda: io.BytesIO(content)


def in_child(target: Callable[..., None], *args: Any) -> dict[str, Any]:
    """Run target(*args, queue) in a spawned process and return what it put on the queue; a
    child that dies without a word ends the bench instead of hanging it."""
    import queue as queues

    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[dict[str, Any]] = context.Queue()
    child = context.Process(target=target, args=(*args, queue))
    child.start()
    while True:
        try:
            outcome: dict[str, Any] = queue.get(timeout=1)
            break
        except queues.Empty:
            if not child.is_alive():
                raise SystemExit(f"the measuring child died (exit code {child.exitcode})") from None
    child.join()
    return outcome


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not ru_maxrss: Linux carries the parent's
    high-water mark across fork and exec, so a spawned child's ru_maxrss starts at its
    parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def report(figures: dict[str, Any], name: str) -> None:
    """Print the figures and keep them in bench/out/<name>.json."""
    import json

    width = max(len(key) for key in figures)
    for key, value in figures.items():
        print(f"{key:>{width}}: {value}")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(figures, indent=2))
