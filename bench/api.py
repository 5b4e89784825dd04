"""JSON API speed: a page of samples under gunicorn beside a bare endpoint, and bulk uploads.

    .venv/bin/python bench/api.py                                   # 1,000,000 samples
    .venv/bin/python bench/api.py --samples 20000 --datasets 20 --upload-rows 5000 --seconds 3

Loads the samples of bench/search.py into its own PostgreSQL (pgserver), then serves
bench/api_app.py (fairdb with one bare route, see there) under gunicorn, 2 workers of 4 threads,
and drives `GET /api/v1/samples?limit=100` with wrk: 8 connections from 2 threads keep all
8 worker threads busy (16 connections gave no more requests/s, only longer waits). Each request
comes on a new connection (`Connection: close`), as nginx sends requests to its upstream by
default (HTTP/1.0, no upstream keepalive); the kernel then shares connections between the two
workers. With --keep-alive, wrk's 8 connections stay open, and all of them can end up with one
worker (gthread workers race for them): a worker-bound API then halves while the bare route,
which waits on PostgreSQL, does not. Beside each
API figure, the bare route replays the SQL that API request sent, with psycopg2 and json.dumps;
api_ratio = api requests/s / bare requests/s. Anonymous and with a Bearer token (its look-up is
one more query), on the first page and on a page after 90% of the ids. Then 100,000 generated
MIxS human-gut rows go into new datasets through the API, as a CSV file and as a JSON list of
records (timed by the client, request sent to answer received), beside the upload page's ingest
measured as bench/ingest.py does (the service in a child process). Each timed run waits for the
machine's 1-minute load to fall below 1.0 (at most --patience seconds) and records it. When a
ratio target is missed, a cProfile of 200 API requests through Flask's test client follows.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import multiprocessing
import os
import pstats
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402
import samples  # noqa: E402
import search as search_bench  # noqa: E402

WORKERS, THREADS = 2, 4
PAGE = "/api/v1/samples?limit=100"
CASES = ("anon_first", "token_first", "anon_deep", "token_deep")
RATE_LIMIT = "100000000 per minute"  # the default limit would throttle the load
Cases = dict[str, tuple[str, dict[str, str]]]  # name -> (path, headers)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def quiet(patience: float) -> float:
    """Wait until the 1-minute load average is below 1.0 (or patience runs out); return it."""
    deadline = time.monotonic() + patience
    while (load := os.getloadavg()[0]) >= 1.0 and time.monotonic() < deadline:
        time.sleep(5)
    return round(load, 2)


def wrk(url: str, headers: dict[str, str], seconds: float, args: Any) -> dict[str, Any]:
    """requests/s and p50/p99 of one wrk run; any answer but 2xx ends the bench."""
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s", "--latency"]
    if not args.keep_alive:
        headers = {**headers, "Connection": "close"}
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk {url} saw errors:\n{out}")

    def latency(percent: int) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)$", out, re.M).groups()  # type: ignore[union-attr]
        return round(float(value) * UNITS[unit], 2)

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"rps": round(rps, 1), "p50_ms": latency(50), "p99_ms": latency(99)}


def measure_gets(base: str, cases: Cases, args: Any) -> dict[str, Any]:
    """Each case through the bare route and the API in --rounds alternating pairs (after
    waiting for quiet once per case, and a short warm-up before each run). A pair's ratio
    compares two runs seconds apart; the figures are the medians over the pairs, so a drift in
    the machine's speed (this one varies by 10-20% between runs) weighs on both sides."""
    figures: dict[str, Any] = {}
    for case, (path, headers) in cases.items():
        load = quiet(args.patience)
        found: dict[str, list[dict[str, float]]] = {"bare": [], "api": []}
        for _ in range(args.rounds):
            for side, url in (("bare", f"{base}/bare/{case}"), ("api", base + path)):
                wrk(url, headers, args.warmup, args)
                found[side].append(wrk(url, headers, args.seconds, args))
                print(f"{side}_{case}: {found[side][-1]}", flush=True)
        for side, runs in found.items():
            for key in runs[0]:
                figures[f"{side}_{case}_{key}"] = statistics.median(run[key] for run in runs)
            figures[f"{side}_{case}_load"] = load
        ratios = [a["rps"] / b["rps"] for a, b in zip(found["api"], found["bare"], strict=True)]
        figures[f"{case}_api_ratios"] = [round(ratio, 3) for ratio in ratios]
        figures[f"{case}_api_ratio"] = round(statistics.median(ratios), 3)
        print(f"{case}: ratios {figures[f'{case}_api_ratios']} (1-min load {load})", flush=True)
    return figures


def record_sql(app: Any, cases: Cases) -> dict[str, list[str]]:
    """The SELECTs each case's request sends once warm: the per-process cache of shared cells
    is filled, and a token's last use is meant to be written at most once a minute."""
    from sqlalchemy import event

    from fairdb.extensions import db

    client = app.test_client()
    with app.app_context():
        engine = db.engine
    recorder = search_bench.Recorder(engine)
    recorded = {}
    for case, (path, headers) in cases.items():

        def request(path: str = path, headers: dict[str, str] = headers) -> None:
            if client.get(path, headers=headers).status_code != 200:
                raise SystemExit(f"GET {path} did not answer 200")

        request()  # warm: the token's last use is written, the shared cells are cached
        statements = recorder.during(request)
        recorded[case] = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        for written in set(statements) - set(recorded[case]):  # left out of the bare replay
            print(f"note: warm GET {case} also sent {written[:80]!r}", flush=True)
    event.remove(engine, "before_cursor_execute", recorder._seen)
    return recorded


def measure_in_process(
    app: Any, cases: Cases, recorded: dict[str, list[str]], args: Any
) -> dict[str, Any]:
    """One request at a time in this process, median ms: the API through Flask's test client
    beside the bare route's own replay (no HTTP, no concurrency)."""
    import psycopg2
    from api_app import replay

    client = app.test_client()
    connection = psycopg2.connect(dbname="bench", host=args.socket_dir, user="postgres")
    figures: dict[str, Any] = {"in_process_load": quiet(args.patience)}
    for case, (path, headers) in cases.items():
        figures[f"{case}_app_ms"] = search_bench.median_ms(
            lambda path=path, headers=headers: client.get(path, headers=headers), 50
        )
        figures[f"{case}_bare_ms"] = search_bench.median_ms(
            lambda case=case: replay(connection, recorded[case]), 50
        )
    connection.close()
    return figures


def start_gunicorn(folder: Path, url: str, sql_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    """bench/api_app.py under gunicorn on the bench database; returns once /healthz answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRDB_")} | {
        "FAIRDB_DATABASE_URL": url,  # so gunicorn starts no embedded database of its own
        "FAIRDB_WORKERS": str(WORKERS),
        "FAIRDB_THREADS": str(THREADS),
        "FAIRDB_INSTANCE_PATH": str(folder / "instance"),
        "FAIRDB_LOG_LEVEL": "WARNING",
        "FAIRDB_API_RATE_LIMIT": RATE_LIMIT,
        "PORT": str(port),
        "BENCH_BARE_SQL": str(sql_file),
    }
    command = [".venv/bin/gunicorn", "bench.api_app:create()", "-c", "gunicorn.conf.py"]
    with (folder / "gunicorn.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--no-control-socket"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        if process.poll() is not None:
            raise SystemExit((folder / "gunicorn.log").read_text()[-3000:])
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(base + "/healthz", timeout=5).status_code == 200:
                return process, base
        time.sleep(0.25)
    process.kill()
    raise SystemExit("gunicorn did not answer within a minute")


def _page_child(
    url: str, instance: str, path: str, dataset_id: int, out: multiprocessing.Queue[Any]
) -> None:
    """The upload page's ingest as bench/ingest.py times it: the service, then the commit."""
    from fairdb import create_app
    from fairdb.extensions import db
    from fairdb.models import Dataset
    from fairdb.services import ingest

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "LOG_LEVEL": "WARNING"})
    gc.freeze()  # as wsgi.py does once the app is built
    with app.app_context():
        dataset = db.session.get(Dataset, dataset_id)
        assert dataset is not None
        started = time.perf_counter()
        result = ingest.ingest_samples(dataset, Path(path), "bench.csv", dataset.owner)
        if not result.ok:
            out.put({"error": result.report()["errors"][:5]})
            return
        db.session.commit()
        out.put({"seconds": time.perf_counter() - started, "stored": result.stored})


def post(
    session: requests.Session, target: str, token: str, sent: Path | bytes
) -> tuple[float, int]:
    """Seconds from sending a built upload (a CSV file, or JSON records) to its answer, and
    the rows stored."""
    headers = {"Authorization": f"Bearer {token}"}
    if isinstance(sent, Path):
        body: dict[str, Any] = {"files": {"file": ("bench.csv", sent.read_bytes())}}
    else:
        body = {"data": sent}
        headers["Content-Type"] = "application/json"
    prepared = requests.Request("POST", target, headers, **body).prepare()
    started = time.perf_counter()
    answer = session.send(prepared, timeout=600)
    seconds = time.perf_counter() - started
    if answer.status_code != 201:
        raise SystemExit(f"{target} answered {answer.status_code}: {answer.text[:2000]}")
    return seconds, int(answer.json()["stored"])


UPLOADS = ("page", "api_csv", "api_json")


def measure_uploads(
    base: str, url: str, folder: Path, token: str, targets: list[int], args: Any
) -> dict[str, Any]:
    """rows/s of the upload page's ingest, and of the API taking a CSV file and JSON records:
    the best of --upload-runs rounds (a 100,000-row upload lasts seconds; the machine's noise
    moves a single one by a third), each into a new dataset after a checkpoint and quiet."""
    path = samples.write_csv(folder / "upload.csv", args.upload_rows)
    records = [
        dict(zip(samples.COLUMNS, row, strict=True)) for row in samples.rows(args.upload_rows)
    ]
    body = json.dumps(records).encode()
    del records
    figures: dict[str, Any] = {
        "upload_rows": args.upload_rows,
        "upload_csv_mb": round(path.stat().st_size / 1e6, 1),
        "upload_json_mb": round(len(body) / 1e6, 1),
    }
    session = requests.Session()
    for run, (way, dataset_id) in enumerate(zip(UPLOADS * args.upload_runs, targets, strict=True)):
        common.checkpoint(args.socket_dir)
        load = quiet(args.patience)
        if way == "page":
            outcome = common.in_child(
                _page_child, url, str(folder / "instance"), str(path), dataset_id
            )
            if "error" in outcome:
                raise SystemExit(f"the page's ingest refused the rows: {outcome['error']}")
            seconds, stored = outcome["seconds"], outcome["stored"]
        else:
            seconds, stored = post(
                session,
                f"{base}/api/v1/datasets/{dataset_id}/samples",
                token,
                path if way == "api_csv" else body,
            )
        rate = round(stored / seconds)
        print(
            f"{way} round {run // 3 + 1}: {stored} rows in {seconds:.2f} s = {rate} rows/s"
            f" (1-min load {load})",
            flush=True,
        )
        figures.setdefault(f"{way}_loads", []).append(load)
        figures[f"{way}_rows_per_s"] = max(rate, figures.get(f"{way}_rows_per_s", 0))
    for way in ("api_csv", "api_json"):
        ratio = figures[f"{way}_rows_per_s"] / figures["page_rows_per_s"]
        figures[f"{way}_to_page"] = round(ratio, 3)
    return figures


def profile(app: Any, path: str, count: int = 200) -> str:
    """Where an API request spends its time: cProfile over `count` test-client requests."""
    client = app.test_client()
    client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        client.get(path)
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(25)
    stats.print_stats("/fairdb/", 20)  # the app's own functions only
    stats.sort_stats("tottime").print_stats(15)
    return stream.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--upload-rows", type=int, default=100_000)
    parser.add_argument("--upload-runs", type=int, default=2, help="rounds of the 3 uploads")
    parser.add_argument("--seconds", type=float, default=10, help="each timed wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="bare/API pairs per case")
    parser.add_argument("--warmup", type=float, default=2, help="wrk run before each")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--keep-alive", action="store_true", help="keep wrk's connections open (see above)"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--patience", type=float, default=240, help="longest wait for quiet")
    args = parser.parse_args()
    began = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="fairdb-bench-") as tmp:
        folder = Path(tmp)
        server, args.socket_dir, url = common.start_database(folder)
        import psycopg2
        from flask_migrate import upgrade

        from fairdb import create_app
        from fairdb.extensions import db
        from fairdb.models import User
        from fairdb.services import datasets, search, tokens

        app = create_app(
            {
                "DATABASE_URL": url,
                "INSTANCE_PATH": str(folder / "instance"),
                "LOG_LEVEL": "WARNING",
                "API_RATE_LIMIT": RATE_LIMIT,
            }
        )
        with app.app_context():
            upgrade()
        started = time.perf_counter()
        owner_id = search_bench.load(app, args.samples, args.datasets)
        figures: dict[str, Any] = {
            "samples": args.samples,
            "datasets": args.datasets,
            "load_seconds": round(time.perf_counter() - started, 1),
            "gunicorn": f"{WORKERS} workers x {THREADS} threads",
            "wrk": f"{args.threads} threads, {args.connections} connections, "
            f"{args.rounds} x {args.seconds} s, "
            + ("keep-alive" if args.keep_alive else "Connection: close"),
        }
        connection = psycopg2.connect(dbname="bench", host=args.socket_dir, user="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # now, rather than autovacuum during a run
            cursor.execute(
                "SELECT id FROM samples ORDER BY id OFFSET %s LIMIT 1", (int(0.9 * args.samples),)
            )
            deep_id = cursor.fetchone()[0]
        connection.close()
        with app.app_context():
            owner = db.session.get(User, owner_id)
            _, token = tokens.create_token(owner, "bench", can_write=True)
            targets = [
                datasets.create_dataset(owner, title=f"Upload {n}", checklist="MimsHumanGut").id
                for n in range(len(UPLOADS) * args.upload_runs)
            ]
            db.session.commit()
            db.engine.dispose()

        deep = f"{PAGE}&cursor={search.encode_cursor(None, deep_id)}"
        bearer = {"Authorization": f"Bearer {token}"}
        cases: Cases = {
            "anon_first": (PAGE, {}),
            "token_first": (PAGE, bearer),
            "anon_deep": (deep, {}),
            "token_deep": (deep, bearer),
        }
        recorded = record_sql(app, cases)
        figures.update(measure_in_process(app, cases, recorded, args))
        sql_file = folder / "bare.json"
        sql_file.write_text(json.dumps(recorded))
        with app.app_context():
            db.engine.dispose()
        process, base = start_gunicorn(folder, url, sql_file)
        try:
            figures.update(measure_gets(base, cases, args))
            figures.update(measure_uploads(base, url, folder, token, targets, args))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        missed = any(figures[key] < goal for key, goal in TARGETS.items() if "ratio" in key)
        report = profile(app, PAGE) if missed else ""
        with app.app_context():
            db.engine.dispose()
        server.cleanup()

    figures["bench_seconds"] = round(time.perf_counter() - began)
    compare(figures)
    common.report(figures, "api-keep-alive" if args.keep_alive else "api")
    if report:
        print(f"\nA ratio target is missed: where {PAGE} spends its time (200 requests)\n")
        print(report)


# The API at least half the bare route's requests/s; uploads "at the same rows/s as the upload
# page", read here as within 10%.
TARGETS = {
    "anon_first_api_ratio": 0.5,
    "token_first_api_ratio": 0.5,
    "api_csv_to_page": 0.9,
    "api_json_to_page": 0.9,
}


def verdict(key: str, value: float) -> str:
    goal = TARGETS.get(key)
    return "" if goal is None else f">= {goal} {'met' if value >= goal else 'MISSED'}"


def compare(figures: dict[str, Any]) -> None:
    """Each API figure beside the bare route's or the upload page's, and the target."""
    names = ("api rps", "bare rps", "api p50", "api p99", "bare p50", "bare p99", "ratio")
    print("\n" + " " * 12 + "".join(f"{name:>9}" for name in names) + "  target")
    for case in CASES:
        keys = [f"{side}_{case}_rps" for side in ("api", "bare")] + [
            f"{side}_{case}_{p}_ms" for side in ("api", "bare") for p in ("p50", "p99")
        ]
        ratio = figures[f"{case}_api_ratio"]
        cells = "".join(f"{figures[key]:>9}" for key in keys)
        print(f"{case:<12}{cells}{ratio:>9}  {verdict(f'{case}_api_ratio', ratio)}")
    print("one request at a time, in process (ms, api / bare): ", end="")
    print(", ".join(f"{c} {figures[f'{c}_app_ms']} / {figures[f'{c}_bare_ms']}" for c in CASES))
    for way in ("api_csv", "api_json"):
        rate, ratio = figures[f"{way}_rows_per_s"], figures[f"{way}_to_page"]
        print(f"{way} upload {rate} rows/s, page {figures['page_rows_per_s']} rows/s: ", end="")
        print(f"{ratio}x {verdict(f'{way}_to_page', ratio)}")
    print()


if __name__ == "__main__":
    main()
