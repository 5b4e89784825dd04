"""Risk report speed: summarise + report over synthetic records, beside a bare polars group_by.

    .venv/bin/python bench/privacy.py                        # 1,000,000 records
    .venv/bin/python bench/privacy.py --records 100000       # a smoke run

The records are made with numpy from a fixed seed: four quasi-identifiers (age 0-95, sex
female/male/other or missing, ~40 countries of skewed frequency, ~120 collection months) and
two sensitive attributes (~20 diseases, categorical; BMI with ~300 distinct values, ordered).
Each figure is the median of --repeats runs after one warm-up. The floor is the least any
report must do: one polars group_by count over the same four columns, the equivalence classes
and nothing else. Peak RSS is this process's own, data included (base_rss_mb: after making
the records, before any measuring). The search step generalises the same records to k = 5, up
to 1 % suppressed, with the registry's hierarchies (countries renamed to real ones, months
written "YYYY-MM", as the hierarchies read them), from the records to the after report.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402

QUASI = ["age", "sex", "country", "month"]
SEED = 2025

# Seconds: the report of a million records, and the generalisation search to k = 5 over the
# same records (summary, search, and the before and after reports).
TARGETS = {"report_seconds": 3.0, "search_seconds": 30.0}
SEARCH_K = 5
SEARCH_BUDGET = 0.01  # the share of records that may be suppressed
# Real INSDC names for the bench's 40 countries, over every continent, so that the place
# hierarchy has regions to generalise them to (its "country NN" would all be unlisted).
COUNTRY_NAMES = [
    *("United Kingdom", "Germany", "France", "Spain", "Italy", "Netherlands", "Sweden"),
    *("Norway", "Denmark", "Finland", "Poland", "Austria", "Switzerland", "Belgium", "Ireland"),
    *("Portugal", "USA", "Canada", "Mexico", "Brazil", "Argentina", "Chile", "Colombia", "Peru"),
    *("China", "Japan", "India", "South Korea", "Indonesia", "Thailand", "Viet Nam", "Israel"),
    *("Turkey", "Australia", "New Zealand", "Fiji", "South Africa", "Nigeria", "Kenya", "Egypt"),
]


def sensitive() -> list[Any]:
    from fairdb.services.privacy.risk import Sensitive

    return [Sensitive("disease"), Sensitive("bmi", ordered=True)]


def make_records(count: int) -> Any:
    """One row per record, the same for a given count on every run."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(SEED)
    countries = 40
    skew = 1 / np.arange(2, countries + 2)  # a few countries hold most records
    months = np.arange(np.datetime64("2012-01"), np.datetime64("2022-01")).astype("datetime64[D]")
    return pl.DataFrame(
        {
            "age": rng.integers(0, 96, count),
            "sex": pl.Series(["female", "male", "other", None]).gather(
                rng.choice(4, count, p=[0.48, 0.47, 0.01, 0.04])
            ),
            "country": pl.Series([f"country {i:02d}" for i in range(countries)]).gather(
                rng.choice(countries, count, p=skew / skew.sum())
            ),
            "month": pl.Series(months).gather(rng.integers(0, months.size, count)),
            "disease": pl.Series([f"disease {i:02d}" for i in range(20)]).gather(
                rng.integers(0, 20, count)
            ),
            # BMI to one decimal between 15 and 45: about 300 distinct values.
            "bmi": np.round(np.clip(rng.normal(25.5, 4.5, count), 15.0, 44.9), 1),
        }
    )


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of `repeats` runs after one warm-up."""
    action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def measure_floor(frame: Any, repeats: int) -> dict[str, Any]:
    """The equivalence classes alone: a group_by count over the quasi-identifiers."""
    import polars as pl

    def classes() -> None:
        frame.group_by(QUASI).agg(pl.len())

    return {"floor_seconds": median_seconds(classes, repeats)}


def measure_report(frame: Any, repeats: int) -> dict[str, Any]:
    """summarise + report together, and each alone, with what the report found."""
    from fairdb.services.privacy.risk import report, summarise

    attributes = sensitive()
    summary = summarise(frame, QUASI, attributes)
    result = report(summary, QUASI, attributes)
    return {
        "report_seconds": median_seconds(
            lambda: report(summarise(frame, QUASI, attributes), QUASI, attributes), repeats
        ),
        "summarise_seconds": median_seconds(lambda: summarise(frame, QUASI, attributes), repeats),
        "report_only_seconds": median_seconds(lambda: report(summary, QUASI, attributes), repeats),
        "summary_rows": summary.height,
        "classes": result.classes,
        "k_achieved": result.k_achieved,
        "distinct_l": [item.distinct_l for item in result.attributes],
        "t": [round(item.t, 3) for item in result.attributes],
        "score": result.score,
    }


def level_zero(frame: Any) -> Any:
    """The bench's columns in the registry's level-0 formats: age in years as text, countries
    by name, months as "YYYY-MM" (a date recorded to the month)."""
    import polars as pl

    names = {f"country {i:02d}": name for i, name in enumerate(COUNTRY_NAMES)}
    return frame.with_columns(
        pl.col("age").cast(pl.String),
        pl.col("country").replace_strict(names),
        pl.col("month").dt.strftime("%Y-%m"),
    )


def measure_search(frame: Any, repeats: int) -> dict[str, Any]:
    """The least-loss generalisation to k = 5 with up to 1 % of records suppressed, from the
    records: level-0 formats, summary, search (with its before and after reports)."""
    from fairdb.services.privacy.generalise import Targets, search
    from fairdb.services.privacy.hierarchies import HIERARCHIES
    from fairdb.services.privacy.risk import summarise

    attributes = sensitive()
    registry = ("host_age", "host_sex", "geo_loc_name", "collection_date")
    hierarchies = {name: HIERARCHIES[key] for name, key in zip(QUASI, registry, strict=True)}
    targets = Targets(k=SEARCH_K, max_suppressed=int(frame.height * SEARCH_BUDGET))

    def run() -> Any:
        summary = summarise(level_zero(frame), QUASI, attributes)
        return search(summary, hierarchies, attributes, targets)

    solution = run()
    return {
        "search_seconds": median_seconds(run, repeats),
        "search_lattice_size": solution.lattice_size,
        "search_nodes_evaluated": solution.nodes_evaluated,
        "search_levels": dict(zip(QUASI, solution.labels, strict=True)),
        "search_loss": round(solution.loss, 4),
        "search_iyengar_loss": round(solution.iyengar_loss, 4),
        "search_suppressed": solution.suppressed,
        "search_k_after": solution.after.k_achieved,
        "search_score": [solution.before.score, solution.after.score],
    }


# Each step measures one thing over the same records and returns its figures.
STEPS: list[Callable[[Any, int], dict[str, Any]]] = [measure_floor, measure_report, measure_search]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    frame = make_records(args.records)
    figures: dict[str, Any] = {
        "records": args.records,
        "make_seconds": round(time.perf_counter() - started, 2),
        "base_rss_mb": round(common.peak_rss_mb(), 1),
    }
    for step in STEPS:
        figures.update(step(frame, args.repeats))
    figures["report_to_floor"] = round(figures["report_seconds"] / figures["floor_seconds"], 2)
    figures["peak_rss_mb"] = round(common.peak_rss_mb(), 1)
    compare(figures)
    common.report(figures, "privacy")


def compare(figures: dict[str, Any]) -> None:
    """Each timed figure beside the floor and its target."""
    floor = figures["floor_seconds"]
    print(f"{'measure':<24}{'seconds':>9}{'floor':>9}{'ratio':>8}  target")
    for key, goal in TARGETS.items():
        if key not in figures:
            continue
        value = figures[key]
        verdict = f"<= {goal} s {'met' if value <= goal else 'MISSED'}"
        print(f"{key:<24}{value:>9}{floor:>9}{value / floor:>7.1f}x  {verdict}")
    print()


if __name__ == "__main__":
    main()
