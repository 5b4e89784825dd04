"""Risk report speed: summarise + report over synthetic records, beside a bare polars group_by.

    .venv/bin/python bench/privacy.py                        # 1,000,000 records
    .venv/bin/python bench/privacy.py --records 100000       # a smoke run

The records are made with numpy from a fixed seed: four quasi-identifiers (age 0-95, sex
female/male/other or missing, ~40 countries of skewed frequency, ~120 collection months) and
two sensitive attributes (~20 diseases, categorical; BMI with ~300 distinct values, ordered).
Each figure is the median of --repeats runs after one warm-up. The floor is the least any
report must do: one polars group_by count over the same four columns, the equivalence classes
and nothing else. Peak RSS is this process's own, data included (base_rss_mb: after making
the records, before any measuring).
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

# Seconds: the report of a million records; a generalisation search over the same records
# gets 30 s once it is measured here (target "search_seconds").
TARGETS = {"report_seconds": 3.0}


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


# Each step measures one thing over the same records and returns its figures; the
# generalisation search joins as one more step (its figure: "search_seconds").
STEPS: list[Callable[[Any, int], dict[str, Any]]] = [measure_floor, measure_report]


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
