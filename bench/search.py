"""Sample search speed: facet counts, keyset pages, text queries and the CSV download, each
through the app beside the same work done in plain SQL on the same server.

    .venv/bin/python bench/search.py                                  # 1,000,000 samples
    .venv/bin/python bench/search.py --samples 20000 --datasets 20    # a smoke run

Starts its own PostgreSQL (pgserver) in a temporary folder and writes the samples table directly
with COPY (not through the validating ingest, which would take minutes): datasets of varied
size, privacy (about 60% public, 25% restricted, 15% private) and content, owned by 20 users,
one upload each, whose facet counts and words go through the service the ingest uses.
Every figure is the median of --repeats runs after one warm-up (fewer, at least 3, when a run
takes seconds: see BUDGET_SECONDS), through Flask's test client (anonymous, and signed in as
the owner of a private dataset) and, beside it, plain SQL with psycopg2: a hand-written query of
the same result ("sql_") and a replay of the very statements the request ran ("replay_"), which
separates the database's time from Python's. The CSV download of every public sample runs in a
child process, so its peak RSS is its own (download_base_rss_mb: the child before it starts).
"""

from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import io
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402

USERS = 20
PASSWORD = "x" * 12
# A measurement whose warm-up takes long gets fewer runs than --repeats (see median_ms).
BUDGET_SECONDS = 20.0
# (country, region, place): a dataset names the region and place for some of its samples.
PLACES = [
    ("Netherlands", "Gelderland", "Nijmegen"),
    ("USA", "Maryland", "Bethesda"),
    ("China", "Guangdong", "Shenzhen"),
    ("United Kingdom", "England", "Cambridge"),
    ("Germany", "Bavaria", "Munich"),
    ("Japan", "Tokyo", "Bunkyo"),
    ("Canada", "Ontario", "Toronto"),
    ("Sweden", "Stockholm", "Solna"),
    ("Finland", "Uusimaa", "Helsinki"),
    ("Denmark", "Capital Region", "Copenhagen"),
    ("France", "Ile-de-France", "Paris"),
    ("Spain", "Catalonia", "Barcelona"),
    ("Italy", "Lazio", "Rome"),
    ("Israel", "Central District", "Rehovot"),
    ("India", "Karnataka", "Bengaluru"),
    ("Brazil", "Sao Paulo", "Campinas"),
    ("Kenya", "Nairobi", "Nairobi"),
    ("Tanzania", "Arusha", "Arusha"),
    ("Peru", "Lima", "Lima"),
    ("Australia", "Victoria", "Melbourne"),
    ("Estonia", "Tartu", "Tartu"),
    ("Belgium", "Flanders", "Leuven"),
    ("Norway", "Oslo", "Oslo"),
    ("South Korea", "Seoul", "Gwanak"),
    ("Mexico", "Mexico City", "Coyoacan"),
]
# Big cohorts come from a few countries: the first ones are drawn more often.
PLACE_WEIGHTS = [1 / (rank + 2) for rank in range(len(PLACES))]
SEQ_METHODS = [
    "Illumina NovaSeq 6000",
    "Illumina HiSeq 2500",
    "Illumina MiSeq",
    "Ion Torrent PGM",
    "Oxford Nanopore MinION",
]
DISEASES = [
    "Crohn disease",
    "ulcerative colitis",
    "type 2 diabetes",
    "obesity",
    "irritable bowel syndrome",
    "colorectal cancer",
    "celiac disease",
]
COPY_COLUMNS = (
    "dataset_id, upload_id, samp_name, collection_date, collection_date_precision, geo_country,"
    " geo_region, geo_place, host_sex, host_age_value, host_age_unit, host_body_site_label,"
    " host_body_site_id, host_disease_stat, seq_meth, host_subject_id, attributes"
)
# The default download columns (search.DEFAULT_COLUMNS) rebuilt in SQL, as export.canonical does.
DOWNLOAD_SQL = """
    SELECT s.dataset_id, d.title, s.samp_name,
           CASE WHEN s.geo_region IS NOT NULL
                THEN s.geo_country || ': ' || s.geo_region || coalesce(', ' || s.geo_place, '')
                ELSE s.geo_country END,
           to_char(s.collection_date, 'YYYY-MM-DD'), s.host_sex,
           s.host_age_value || ' ' || s.host_age_unit,
           s.host_body_site_label || ' [' || s.host_body_site_id || ']',
           s.host_disease_stat, s.seq_meth
    FROM samples s JOIN datasets d ON d.id = s.dataset_id WHERE {visible} ORDER BY s.id
"""


def dataset_sizes(rng: Any, samples: int, datasets: int) -> list[int]:
    """Sizes summing to `samples`: a few large cohorts, most small (log-normal)."""
    import numpy as np

    weights = rng.lognormal(0.0, 1.3, datasets)
    sizes = np.maximum(1, np.floor(weights / weights.sum() * samples)).astype(int)
    sizes[np.argmax(sizes)] += samples - int(sizes.sum())
    return [int(size) for size in sizes]


def dataset_columns(rng: Any, number: int, size: int) -> dict[str, Any]:
    """One dataset's typed values as arrays of text ("" for none): 1-3 countries, one body
    site, one sequencing method, healthy hosts and 1-2 diseases, dates over 2-4 years."""
    import numpy as np

    weights = np.array(PLACE_WEIGHTS)
    chosen = rng.choice(len(PLACES), int(rng.integers(1, 4)), False, weights / weights.sum())
    where = rng.choice(chosen, size, p=rng.dirichlet(np.full(len(chosen), 2.0)))
    named = rng.random() < 0.5  # this dataset names region and place
    rectum = rng.random() < 0.1
    studied = rng.choice(len(DISEASES), int(rng.integers(1, 3)), False)
    healthy = rng.uniform(0.4, 0.8)
    shares = [healthy, *[(1 - healthy) / len(studied)] * len(studied)]
    start = np.datetime64("2008-01-01") + int(rng.integers(0, 12 * 365))
    span = int(rng.integers(2 * 365, 4 * 365 + 1))
    return {
        "samp_name": [f"D{number:03d}S{n:06d}" for n in range(size)],
        "collection_date": (start + rng.integers(0, span, size)).astype(str),
        "geo_country": np.array([p[0] for p in PLACES])[where],
        "geo_region": np.array([p[1] if named else "" for p in PLACES])[where],
        "geo_place": np.array([p[2] if named else "" for p in PLACES])[where],
        "host_sex": np.array(["female", "male", ""])[rng.choice(3, size, p=[0.49, 0.48, 0.03])],
        "host_age_value": rng.integers(18, 91, size).astype(str),
        "host_body_site_label": np.full(size, "rectum" if rectum else "feces"),
        "host_body_site_id": np.full(size, "UBERON:0001052" if rectum else "UBERON:0001988"),
        "host_disease_stat": np.array(["healthy", *[DISEASES[i] for i in studied]])[
            rng.choice(len(shares), size, p=shares)
        ],
        "seq_meth": np.full(size, SEQ_METHODS[int(rng.integers(len(SEQ_METHODS)))]),
        "host_subject_id": [f"P{number:03d}-{n // 2}" for n in range(size)],
    }


def dataset_csv(columns: dict[str, Any], dataset_id: int, upload_id: int) -> str:
    """The rows in COPY_COLUMNS order as CSV (an empty unquoted cell is NULL)."""
    size = len(columns["samp_name"])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        zip(
            repeat(dataset_id, size),
            repeat(upload_id, size),
            columns["samp_name"],
            columns["collection_date"],
            repeat("day", size),
            columns["geo_country"],
            columns["geo_region"],
            columns["geo_place"],
            columns["host_sex"],
            columns["host_age_value"],
            repeat("year", size),
            columns["host_body_site_label"],
            columns["host_body_site_id"],
            columns["host_disease_stat"],
            columns["seq_meth"],
            columns["host_subject_id"],
            repeat("{}", size),
            strict=True,
        )
    )
    return buffer.getvalue()


def typed_frame(columns: dict[str, Any]) -> Any:
    """The text columns as the validator hands them to the search index (null, not "")."""
    import polars as pl

    names = [name for name in columns if name not in ("samp_name", "host_subject_id")]
    frame = pl.DataFrame({name: columns[name] for name in names})
    return frame.with_columns(
        pl.when(pl.col(name) != "").then(pl.col(name)).alias(name) for name in names
    )


def load(app: Any, samples: int, datasets: int) -> int:
    """Users, datasets, one upload per dataset with its samples, and what search keeps beside
    them (the upload's facet counts and words, written by the service the ingest uses). Returns
    the id of the user to sign in as: the owner of a private dataset, so the signed-in figures
    include samples anonymous visitors cannot see."""
    import numpy as np
    from sqlalchemy import text

    from fairdb.extensions import db
    from fairdb.models import Privacy, Upload
    from fairdb.services import accounts
    from fairdb.services import datasets as dataset_service
    from fairdb.services.copying import sample_id_mark
    from fairdb.services.search_index import UploadIndex

    rng = np.random.default_rng(2024)
    levels = [Privacy.PUBLIC, Privacy.RESTRICTED, Privacy.PRIVATE]
    with app.app_context():
        users = [
            accounts.create_user(
                email=f"user{i}@example.org", display_name=f"User {i}", password=PASSWORD
            )
            for i in range(USERS)
        ]
        made = [
            dataset_service.create_dataset(
                users[int(rng.integers(USERS))],
                title=f"Gut cohort {number:03d}",
                checklist="MimsHumanGut",
                privacy=levels[int(rng.choice(3, p=[0.6, 0.25, 0.15]))],
            )
            for number in range(1, datasets + 1)
        ]
        private = [d for d in made if d.privacy is Privacy.PRIVATE] or made
        signed_in = private[0].owner_id
        sizes = dataset_sizes(rng, samples, datasets)
        # COPY on the session's own connection: samples, uploads and counts commit together.
        cursor = db.session.connection().connection.cursor()
        for number, (dataset, size) in enumerate(zip(made, sizes, strict=True), start=1):
            columns = dataset_columns(rng, number, size)
            upload = Upload(
                dataset_id=dataset.id,
                filename=f"cohort-{number:03d}.csv",
                size_bytes=0,
                sha256="",
                row_count=size,
                uploaded_by_id=dataset.owner_id,
            )
            db.session.add(upload)
            db.session.flush()
            body = dataset_csv(columns, dataset.id, upload.id)
            upload.size_bytes = len(body)
            upload.sha256 = hashlib.sha256(body.encode()).hexdigest()
            upload.first_sample_id = sample_id_mark()
            cursor.copy_expert(
                f"COPY samples ({COPY_COLUMNS}) FROM STDIN (FORMAT csv)", io.StringIO(body)
            )
            upload.last_sample_id = sample_id_mark()
            index = UploadIndex()
            index.add(typed_frame(columns))
            index.write(dataset.id, upload.id)
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.engine.dispose()
    return signed_in


def median_ms(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of the runs after one warm-up, in milliseconds: `repeats` runs, or as
    many as fit in about BUDGET_SECONDS when one takes long (at least 3)."""
    started = time.perf_counter()
    action()
    times = []
    for _ in range(runs(repeats, time.perf_counter() - started)):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def runs(repeats: int, warm_up_seconds: float) -> int:
    return max(min(3, repeats), min(repeats, int(BUDGET_SECONDS / max(warm_up_seconds, 1e-9))))


class Recorder:
    """Keeps the SQL the app sends (parameters filled in) while switched on, to replay it."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.statements: list[str] | None = None
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.statements is not None:
            self.statements.append(cursor.mogrify(statement, parameters).decode())

    def during(self, action: Callable[[], object]) -> list[str]:
        self.statements = []
        action()
        statements, self.statements = self.statements, None
        return statements


def sql_ms(cursor: Any, statements: list[str], repeats: int) -> float:
    def run() -> None:
        for statement in statements:
            cursor.execute(statement)
            if cursor.description is not None:
                cursor.fetchall()

    return median_ms(run, repeats)


def get(client: Any, url: str) -> Callable[[], None]:
    def action() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")

    return action


class CountingSink:
    """A file that only counts what COPY writes to it."""

    def __init__(self) -> None:
        self.size = 0
        self.lines = 0

    def write(self, data: bytes | str) -> int:
        self.size += len(data)
        self.lines += data.count(b"\n") if isinstance(data, bytes) else data.count("\n")
        return len(data)


def _download_child(
    url: str, instance: str, repeats: int, out: multiprocessing.Queue[dict[str, Any]]
) -> None:
    # common.in_child waits on the queue: a child that died without a word would hang it.
    try:
        _download(url, instance, repeats, out)
    except BaseException:
        import traceback

        out.put({"error": traceback.format_exc()})
        raise


def _download(
    url: str, instance: str, repeats: int, out: multiprocessing.Queue[dict[str, Any]]
) -> None:
    from fairdb import create_app

    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": instance,
            "LOG_LEVEL": "WARNING",
            "WTF_CSRF_ENABLED": False,
        }
    )
    gc.freeze()  # as wsgi.py does once the app is built
    client = app.test_client()
    base_mb = common.peak_rss_mb()
    times: list[float] = []
    lines, size, planned = 0, 0, repeats
    run = 0
    while run <= planned:
        started = time.perf_counter()
        response = client.get("/samples/download.csv", buffered=False)
        if response.status_code != 200:
            out.put({"error": f"download answered {response.status_code}"})
            return
        lines, size = 0, 0
        for piece in response.response:  # the body as the server streams it
            assert isinstance(piece, bytes)
            lines += piece.count(b"\n")
            size += len(piece)
        response.close()
        if run:
            times.append(time.perf_counter() - started)
        else:  # the warm-up
            planned = runs(repeats, time.perf_counter() - started)
        run += 1
    peak_mb = common.peak_rss_mb()
    out.put(
        {
            "rows": lines - 1,
            "mb": size / 1e6,
            "seconds": statistics.median(times),
            "runs": len(times),
            "base_rss_mb": base_mb,
            "peak_rss_mb": peak_mb,
        }
    )


@dataclass
class Scene:
    """What the measured requests and their SQL references refer to, read from the data."""

    owner_id: int  # the signed-in user
    email: str
    country: str  # the most common country among public samples
    deep_id: int  # the id at 90% of the table: the deep page starts after it
    name: str  # a public sample's name

    @classmethod
    def read(cls, cursor: Any, owner_id: int, samples: int) -> Scene:
        def one(sql: str, *parameters: Any) -> Any:
            cursor.execute(sql, parameters)
            return cursor.fetchone()[0]

        public = f"{JOINED} WHERE d.privacy = 'public'"
        return cls(
            owner_id=owner_id,
            email=one("SELECT email FROM users WHERE id = %s", owner_id),
            country=one(f"SELECT geo_country {public} GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"),
            deep_id=one("SELECT id FROM samples ORDER BY id OFFSET %s LIMIT 1", int(0.9 * samples)),
            name=one(f"SELECT samp_name {public} ORDER BY s.id OFFSET %s LIMIT 1", samples // 3),
        )

    def readable(self, who: str) -> str:
        """The access policy's WHERE clause on samples s joined to datasets d."""
        public = "d.privacy = 'public' AND (s.privacy IS NULL OR s.privacy = 'public')"
        if not who:
            return public
        return (
            f"(({public}) OR d.owner_id = {self.owner_id} OR d.id IN"
            f" (SELECT dataset_id FROM dataset_collaborators WHERE user_id = {self.owner_id}))"
        )

    def cases(self, who: str) -> dict[str, tuple[str, list[str]]]:
        """Figure name -> (URL, the same result in plain SQL)."""
        readable = self.readable(who)

        def counts(where: str) -> str:
            return f"SELECT s.geo_country, count(*) {JOINED} WHERE {where} GROUP BY 1"

        def first_page(where: str) -> list[str]:
            return [counts(where), f"SELECT s.*, d.title {JOINED} WHERE {where} {FIRST_51}"]

        two = f"s.geo_country = '{self.country}' AND s.host_sex = 'female'"
        # What the two text queries find: the one disease value "crohn" names, and a sample
        # name or subject id that starts with the name.
        crohn = "s.host_disease_stat = 'Crohn disease'"
        named = f"(s.samp_name ILIKE '{self.name}%' OR s.host_subject_id ILIKE '{self.name}%')"
        deep = urlencode({"cursor": search_cursor(self.deep_id), "limit": 50})
        return {
            "facets_first_page": ("/samples", first_page(readable)),
            "facets_two_filters": (
                f"/samples?{urlencode({'country': self.country, 'sex': 'female'})}",
                first_page(f"{readable} AND {two}"),
            ),
            "deep_page_view": (f"/samples?{deep}", [counts(readable), self.deep_page(who)]),
            "fulltext": ("/samples?q=crohn", first_page(f"{readable} AND {crohn}")),
            "name_query": (
                f"/samples?{urlencode({'q': self.name})}",
                first_page(f"{readable} AND {named}"),
            ),
        }

    def deep_page(self, who: str) -> str:
        where = f"{self.readable(who)} AND s.id > {self.deep_id}"
        return f"SELECT s.*, d.title {JOINED} WHERE {where} {FIRST_51}"


JOINED = "FROM samples s JOIN datasets d ON d.id = s.dataset_id"
FIRST_51 = "ORDER BY s.id LIMIT 51"


def search_cursor(after_id: int) -> str:
    from fairdb.services.search import encode_cursor

    return encode_cursor(None, after_id)


def measure_searches(
    app: Any, client: Any, who: str, scene: Scene, cursor: Any, repeats: int
) -> dict[str, Any]:
    """The search page through the app, its SQL reference and the replay of its own SQL;
    then the deep page alone, without the facet counts the view adds."""
    from flask_login import AnonymousUserMixin

    from fairdb.extensions import db
    from fairdb.models import User
    from fairdb.services import search

    figures: dict[str, Any] = {}
    with app.app_context():
        recorder = Recorder(db.engine)
    for key, (path, reference) in scene.cases(who).items():
        action = get(client, path)
        figures[f"{who}{key}_ms"] = median_ms(action, repeats)
        figures[f"{who}sql_{key}_ms"] = sql_ms(cursor, reference, repeats)
        figures[f"{who}replay_{key}_ms"] = sql_ms(cursor, recorder.during(action), repeats)

    with app.test_request_context():
        user = db.session.get(User, scene.owner_id) if who else AnonymousUserMixin()
        query = search.parse({"cursor": [search_cursor(scene.deep_id)]}, known_columns=set())

        def deep_page() -> None:
            search.page(user, query)

        figures[f"{who}deep_page_query_ms"] = median_ms(deep_page, repeats)
        figures[f"{who}sql_deep_page_query_ms"] = sql_ms(cursor, [scene.deep_page(who)], repeats)
        replay = recorder.during(deep_page)
        figures[f"{who}replay_deep_page_query_ms"] = sql_ms(cursor, replay, repeats)
        figures.update(measure_sorted_pages(user, who, cursor, recorder, repeats))
        # A check on the loading: the facet total (from the per-upload counts) is the number
        # of samples the user may read.
        cursor.execute(f"SELECT count(*) {JOINED} WHERE {scene.readable(who)}")
        figures[f"{who}readable_samples"] = cursor.fetchone()[0]
        figures[f"{who}facet_total"] = search.facet_counts(user, search.SampleQuery())[0]
        db.session.rollback()
    return figures


def measure_download(
    url: str, instance: str, scene: Scene, cursor: Any, repeats: int
) -> dict[str, Any]:
    """Every public sample as CSV through the app (in a child) and through COPY TO."""
    download = common.in_child(_download_child, url, instance, repeats)
    if "error" in download:
        raise SystemExit(download["error"])
    statement = DOWNLOAD_SQL.format(visible=scene.readable(""))
    sinks: list[CountingSink] = []

    def copy_out() -> None:
        sinks.append(CountingSink())
        cursor.copy_expert(f"COPY ({statement}) TO STDOUT (FORMAT csv, HEADER)", sinks[-1])

    copy_seconds = median_ms(copy_out, repeats) / 1000
    copied = sinks[-1].lines - 1
    return {
        "download_rows": download["rows"],
        "download_mb": round(download["mb"], 1),
        "download_rows_per_s": round(download["rows"] / download["seconds"]),
        "download_runs": download["runs"],
        "download_base_rss_mb": round(download["base_rss_mb"], 1),
        "download_peak_rss_mb": round(download["peak_rss_mb"], 1),
        "sql_download_rows": copied,
        "sql_download_rows_per_s": round(copied / copy_seconds),
    }


def measure_sorted_pages(
    user: Any, who: str, cursor: Any, recorder: Recorder, repeats: int, label: str = ""
) -> dict[str, Any]:
    """ "Any keyset page": the fourth page in each of the other orders (in a request context)."""
    from fairdb.services import search

    figures: dict[str, Any] = {}
    for sort in ("name", "-date", "age"):
        query = search.parse({"sort": [sort]}, known_columns=set())
        for _ in range(3):
            next_cursor = search.page(user, query).next_cursor
            if next_cursor is None:
                break
            query = search.parse({"sort": [sort], "cursor": [next_cursor]}, known_columns=set())

        def sorted_page(query: Any = query) -> None:
            search.page(user, query)

        name = sort.lstrip("-")
        figures[f"{who}page_by_{name}{label}_query_ms"] = median_ms(sorted_page, repeats)
        figures[f"{who}replay_page_by_{name}{label}_query_ms"] = sql_ms(
            cursor, recorder.during(sorted_page), repeats
        )
    return figures


# Uploads whose rebuild has not ended yet: sizes of the unindexed newest samples measured.
TAILS = (10_000, 1_000)


def measure_unindexed_tail(
    app: Any, scene: Scene, cursor: Any, repeats: int, tail: int
) -> dict[str, Any]:
    """The sorted pages while the newest `tail` samples are not in the order indexes yet (an
    upload whose rebuild is still running): they are sorted for each page."""
    from flask_login import AnonymousUserMixin

    from fairdb.extensions import db
    from fairdb.models import User

    figures: dict[str, Any] = {}
    with app.app_context():
        recorder = Recorder(db.engine)
    for who in ("", "owner_"):
        with app.test_request_context():
            user = db.session.get(User, scene.owner_id) if who else AnonymousUserMixin()
            figures.update(
                measure_sorted_pages(user, who, cursor, recorder, repeats, label=f"_tail{tail}")
            )
            db.session.rollback()
    return figures


def build_order_indexes(app: Any, tail: int = 0) -> dict[str, float]:
    """What the rebuild after an upload does, timed: each order's index, CONCURRENTLY, up to
    `tail` samples short of the newest."""
    from sqlalchemy import func, select

    from fairdb.extensions import db
    from fairdb.models import Sample
    from fairdb.services import search_orders

    with app.app_context():
        newest = db.session.scalar(select(func.max(Sample.id)))
        db.session.rollback()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            built = search_orders.refresh(connection, concurrently=True, top=newest - tail)
    return {one.order: round(one.seconds, 2) for one in built}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fairdb-bench-") as tmp:
        folder = Path(tmp)
        server, socket_dir, url = common.start_database(folder)
        instance = str(folder / "instance")

        import psycopg2
        from flask_migrate import upgrade

        from fairdb import create_app
        from fairdb.extensions import db

        app = create_app(
            {
                "DATABASE_URL": url,
                "INSTANCE_PATH": instance,
                "LOG_LEVEL": "WARNING",
                "WTF_CSRF_ENABLED": False,
            }
        )
        with app.app_context():
            upgrade()
        started = time.perf_counter()
        owner_id = load(app, args.samples, args.datasets)
        figures: dict[str, Any] = {
            "samples": args.samples,
            "datasets": args.datasets,
            "load_seconds": round(time.perf_counter() - started, 1),
        }

        connection = psycopg2.connect(dbname="bench", host=socket_dir, user="postgres")
        connection.autocommit = True
        cursor = connection.cursor()
        scene = Scene.read(cursor, owner_id, args.samples)
        anonymous = app.test_client()
        owner = app.test_client()
        signed = owner.post("/auth/login", data={"email": scene.email, "password": PASSWORD})
        if signed.status_code != 302:
            raise SystemExit(f"sign-in answered {signed.status_code}")
        # While the rebuild after an upload runs, its samples are sorted for each page.
        for tail in TAILS:
            figures[f"order_index_{tail}_short_seconds"] = build_order_indexes(app, tail)
            figures.update(measure_unindexed_tail(app, scene, cursor, args.repeats, tail))
        figures["order_index_seconds"] = build_order_indexes(app)
        for who, client in (("", anonymous), ("owner_", owner)):
            figures.update(measure_searches(app, client, who, scene, cursor, args.repeats))
        with app.app_context():
            db.engine.dispose()
        figures.update(measure_download(url, instance, scene, cursor, args.repeats))
        connection.close()
        server.cleanup()

    compare(figures)
    common.report(figures, "search")


# Facet counts and a page: 100 ms; a keyset page alone: 10 ms.
TARGETS = {
    "facets_first_page_ms": 100,
    "facets_two_filters_ms": 100,
    "deep_page_view_ms": 100,
    "deep_page_query_ms": 10,
    "page_by_name_query_ms": 10,
    "page_by_date_query_ms": 10,
    "page_by_age_query_ms": 10,
}


def compare(figures: dict[str, Any]) -> None:
    """Each app figure beside its plain-SQL references, the ratio and the target."""
    print(f"{'measure':<32}{'app':>11}{'sql':>11}{'replay':>11}{'app/sql':>9}  target")
    for key, value in figures.items():
        who = "owner_" if key.startswith("owner_") else ""
        bare = key.removeprefix(who)
        if not bare.endswith("_ms") or bare.startswith(("sql_", "replay_")):
            continue
        sql = figures.get(f"{who}sql_{bare}")
        replay = figures.get(f"{who}replay_{bare}", "")
        goal = TARGETS.get(bare)
        verdict = "" if goal is None else f"<= {goal} ms {'met' if value <= goal else 'MISSED'}"
        ratio = f"{value / sql:.1f}x" if sql else ""
        print(f"{key:<32}{value:>11}{sql or '':>11}{replay:>11}{ratio:>9}  {verdict}")
    rate, sql_rate = figures["download_rows_per_s"], figures["sql_download_rows_per_s"]
    peak = figures["download_peak_rss_mb"]
    print(
        f"{'download_rows_per_s':<32}{rate:>11}{sql_rate:>11}{'':>11}{rate / sql_rate:>8.2f}x"
        f"  >= 100000 rows/s {'met' if rate >= 100_000 else 'MISSED'}"
    )
    print(
        f"{'download_peak_rss_mb':<32}{peak:>11}{'':>11}{'':>11}{'':>9}"
        f"  <= 200 MB {'met' if peak <= 200 else 'MISSED'}"
    )
    print()


if __name__ == "__main__":
    main()
