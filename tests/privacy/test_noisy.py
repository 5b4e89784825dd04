"""Noisy summaries: the budget and its ledger, declared categories and bounds, real noise."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import update

from fairdb.extensions import db
from fairdb.models import Dataset, PrivacySpend, Sample, User
from fairdb.services.privacy import noisy
from fairdb.services.privacy.noisy_bounds import HOST_SEX, INSDC_COUNTRIES, NUMERIC

MIXS = Path(__file__).resolve().parents[2] / "fairdb" / "checklists" / "mixs" / "mixs.yaml"


def add_samples(dataset: Dataset, count: int, **columns: Any) -> None:
    """`count` samples with the given typed columns (a callable gets the sample's number)."""
    start = db.session.query(Sample).filter_by(dataset_id=dataset.id).count()
    samples = []
    for number in range(start + 1, start + count + 1):
        values = {k: v(number) if callable(v) else v for k, v in columns.items()}
        samples.append(Sample(dataset_id=dataset.id, samp_name=f"S{number}", **values))
    db.session.add_all(samples)
    db.session.flush()


@pytest.fixture
def cohort(create_dataset: Callable[..., Dataset]) -> Callable[..., Dataset]:
    """Factory: a dataset with its own budget and a few samples of known values."""

    def make(budget: float | None = 10_000.0) -> Dataset:
        dataset = create_dataset()
        dataset.privacy_budget = budget
        add_samples(dataset, 50, host_sex="female", host_age_value=35.0, host_age_unit="year")
        add_samples(dataset, 30, host_sex="male", host_body_mass_index=24.0)
        db.session.flush()
        return dataset

    return make


def values(answer: noisy.Answer) -> dict[str, float | None]:
    return {bar.label: bar.value for bar in answer.bars}


def test_the_budget_is_refused_once_spent_and_the_ledger_shows_each_spend(
    cohort: Callable[..., Dataset], create_user: Callable[..., User]
) -> None:
    dataset = cohort(budget=0.25)
    alice = create_user(name="Alice Asker")
    noisy.ask(alice, dataset, "host_sex", "counts", 0.1)
    noisy.ask(alice, dataset, "host_age", "histogram", 0.1)
    assert noisy.remaining(dataset) == pytest.approx(0.05)

    with pytest.raises(noisy.BudgetSpent) as refused:
        noisy.ask(alice, dataset, "host_body_mass_index", "mean", 0.1)
    assert refused.value.remaining == pytest.approx(0.05)
    assert "0.05" in str(refused.value)

    noisy.ask(alice, dataset, "host_body_mass_index", "mean", 0.05)  # what is left still pays
    assert noisy.remaining(dataset) == pytest.approx(0.0, abs=1e-9)
    history = noisy.ledger(dataset)
    assert [(e.query, e.epsilon, e.asked_by) for e in history] == [
        ("counts host_sex at epsilon 0.1", 0.1, "Alice Asker"),
        ("histogram host_age at epsilon 0.1", 0.1, "Alice Asker"),
        ("mean host_body_mass_index at epsilon 0.05", 0.05, "Alice Asker"),
    ]


def test_float_arithmetic_does_not_refuse_the_last_exact_share(
    cohort: Callable[..., Dataset],
) -> None:
    dataset = cohort(budget=0.3)  # 0.3 - 0.1 - 0.1 == 0.09999999999999998 in floats
    for field, kind in [("host_sex", "counts"), ("geo_country", "counts"), ("host_age", "mean")]:
        noisy.ask(None, dataset, field, kind, 0.1)
    with pytest.raises(noisy.BudgetSpent):
        noisy.ask(None, dataset, "host_age", "histogram", 0.1)
    assert len(noisy.ledger(dataset)) == 3


def test_the_site_default_budget_and_query_cost_apply(
    app: Any, cohort: Callable[..., Dataset]
) -> None:
    app.config.update(PRIVACY_BUDGET=0.5, PRIVACY_QUERY_EPSILON=0.2)
    dataset = cohort(budget=None)
    assert noisy.remaining(dataset) == 0.5
    noisy.ask(None, dataset, "host_sex", "counts")
    noisy.ask(None, dataset, "host_age", "histogram")
    with pytest.raises(noisy.BudgetSpent):
        noisy.ask(None, dataset, "host_age", "mean")
    assert [e.epsilon for e in noisy.ledger(dataset)] == [0.2, 0.2]


def test_spends_written_by_another_session_count_against_the_budget(
    cohort: Callable[..., Dataset],
) -> None:
    """What a second asker sees once the first has committed: the ledger, read afresh."""
    dataset = cohort(budget=1.0)
    other = cohort(budget=1.0)
    db.session.add(PrivacySpend(dataset_id=dataset.id, query="q", epsilon=0.95, answer={}))
    db.session.add(PrivacySpend(dataset_id=other.id, query="q", epsilon=0.95, answer={}))
    db.session.flush()
    db.session.expire_all()
    with pytest.raises(noisy.BudgetSpent):
        noisy.ask(None, dataset, "host_sex", "counts", 0.1)
    # The owner raises the budget in another session: the locked row, not the object, counts.
    db.session.execute(
        update(Dataset).where(Dataset.id == dataset.id).values(privacy_budget=1.2),
        execution_options={"synchronize_session": False},
    )
    assert dataset.privacy_budget == 1.0
    noisy.ask(None, dataset, "host_sex", "counts", 0.1)
    db.session.expire_all()
    assert noisy.remaining(dataset) == pytest.approx(0.15)


def test_asking_the_same_question_again_replays_it_without_spending(
    cohort: Callable[..., Dataset], create_user: Callable[..., User]
) -> None:
    dataset = cohort(budget=0.2)
    first = noisy.ask(create_user(), dataset, "host_sex", "counts", 0.1)
    again = noisy.ask(create_user(), dataset, "host_sex", "counts", 0.1)
    assert again.replayed
    assert not first.replayed
    assert again.bars == first.bars
    assert again.explanation == first.explanation
    assert noisy.remaining(dataset) == pytest.approx(0.1)
    assert len(noisy.ledger(dataset)) == 1

    noisy.ask(None, dataset, "host_sex", "counts", 0.1 + 1e-12)  # another amount: new question
    with pytest.raises(noisy.BudgetSpent):
        noisy.ask(None, dataset, "host_age", "mean", 0.1)
    assert noisy.ask(None, dataset, "host_sex", "counts", 0.1).bars == first.bars  # still free


@pytest.mark.parametrize(
    ("field", "outlier", "unit", "clipped_mean", "raw_mean"),
    [
        ("host_age", 10_000.0, "year", (9 * 30 + 120) / 10, (9 * 30 + 10_000) / 10),
        ("host_body_mass_index", 900.0, None, (9 * 25 + 70) / 10, (9 * 25 + 900) / 10),
    ],
)
def test_an_outlier_cannot_move_the_mean_beyond_the_declared_bounds(
    create_dataset: Callable[..., Dataset],
    field: str,
    outlier: float,
    unit: str | None,
    clipped_mean: float,
    raw_mean: float,
) -> None:
    dataset = create_dataset()
    dataset.privacy_budget = 10_000.0
    typical = 30.0 if field == "host_age" else 25.0
    column = "host_age_value" if field == "host_age" else "host_body_mass_index"
    add_samples(dataset, 9, **{column: typical, "host_age_unit": unit})
    add_samples(dataset, 1, **{column: outlier, "host_age_unit": unit})
    answer = noisy.ask(None, dataset, field, "mean", 1000.0)
    mean = values(answer)["mean"]
    assert mean is not None
    assert mean == pytest.approx(clipped_mean, abs=0.5)  # not raw_mean
    assert abs(mean - raw_mean) > 50
    assert values(answer)["samples with a value"] == pytest.approx(10, abs=1)
    assert answer.error_bound is not None
    assert answer.error_bound < 1

    everyone_huge = create_dataset()
    everyone_huge.privacy_budget = 10_000.0
    add_samples(everyone_huge, 20, **{column: outlier * 10, "host_age_unit": unit})
    top = values(noisy.ask(None, everyone_huge, field, "mean", 1000.0))["mean"]
    assert top is not None
    assert top <= NUMERIC[field].upper


def test_declared_categories_always_appear_and_undeclared_values_are_never_named(
    create_dataset: Callable[..., Dataset],
) -> None:
    dataset = create_dataset()
    dataset.privacy_budget = 10_000.0
    add_samples(dataset, 5, host_sex="female", geo_country="Netherlands")
    add_samples(dataset, 3, host_sex="Male ", geo_country="netherlands")  # case and spaces
    add_samples(dataset, 2, host_sex="Zorblax", geo_country="Atlantis")
    add_samples(dataset, 1)
    sexes = noisy.ask(None, dataset, "host_sex", "counts", 1000.0)
    countries = noisy.ask(None, dataset, "geo_country", "counts", 1000.0)

    assert [bar.label for bar in sexes.bars] == [*HOST_SEX, "other", "not recorded"]
    assert [bar.label for bar in countries.bars] == [*INSDC_COUNTRIES, "other", "not recorded"]
    expected = {"female": 5, "male": 3, "hermaphrodite": 0, "other": 2, "not recorded": 1}
    for label, count in expected.items():
        assert values(sexes)[label] == pytest.approx(count, abs=0.5), label
    assert values(countries)["Netherlands"] == pytest.approx(8, abs=0.5)
    assert values(countries)["Zimbabwe"] == pytest.approx(0, abs=0.5)
    stored = json.dumps([row.answer for row in db.session.scalars(db.select(PrivacySpend))])
    for released in (json.dumps(sexes.to_json()), json.dumps(countries.to_json()), stored):
        assert "Zorblax" not in released
        assert "Atlantis" not in released


def test_histogram_bins_are_declared_not_taken_from_the_data(
    create_dataset: Callable[..., Dataset],
) -> None:
    dataset = create_dataset()
    dataset.privacy_budget = 10_000.0
    add_samples(dataset, 4, host_age_value=6.0, host_age_unit="months")  # half a year
    add_samples(dataset, 3, host_age_value=120.0, host_age_unit="years")  # the last edge
    add_samples(dataset, 2, host_age_value=10_000.0, host_age_unit="years")
    add_samples(dataset, 1, host_age_value=3.0, host_age_unit="fortnights")  # unknown unit
    answer = noisy.ask(None, dataset, "host_age", "histogram", 1000.0)
    empty = create_dataset()
    empty.privacy_budget = 1.0
    nothing = noisy.ask(None, empty, "host_age", "histogram", 1.0)

    labels = [bar.label for bar in answer.bars]
    assert labels == [bar.label for bar in nothing.bars] == list(NUMERIC["host_age"].labels)
    assert labels[0] == "0–10"
    assert labels[-3:] == ["100–120", "outside 0–120", "not recorded"]
    got = values(answer)
    wanted = {"0–10": 4, "50–60": 0, "100–120": 3, "outside 0–120": 2, "not recorded": 1}
    assert {label: got[label] for label in wanted} == wanted


def test_the_noise_is_real_and_has_the_laplace_scale() -> None:
    truth = [1000] * 400  # 400 independent draws of the count mechanism
    errors = [abs(n - 1000) for n in noisy.noisy_counts(truth, 1.0)]
    # Discrete Laplace of scale 1: E|X| = 2a / (1 - a²) with a = e^-1, about 0.85.
    a = math.exp(-1)
    assert sum(errors) / 400 == pytest.approx(2 * a / (1 - a * a), abs=0.3)
    sums = [abs(noisy.noisy_sum(500.0, 1.0, 1.0) - 500.0) for _ in range(400)]
    assert sum(sums) / 400 == pytest.approx(1.0, abs=0.3)  # Laplace of scale 1: E|X| = 1
    assert noisy.noisy_counts(truth, 1.0) != noisy.noisy_counts(truth, 1.0)


def test_a_small_epsilon_gives_answers_that_differ_from_the_truth(
    cohort: Callable[..., Dataset],
) -> None:
    dataset = cohort()
    answer = noisy.ask(None, dataset, "host_sex", "counts", 0.1)
    got = values(answer)
    assert (got["female"], got["male"]) != (50, 30)
    # Discrete Laplace of scale 10: P(|X| > 30) = 2e^-3.1 / (1 + e^-0.1) < 5% < P(|X| > 29).
    assert answer.error_bound == 30
    assert answer.noise_scale == pytest.approx(10)
    assert "within ±30 of the truth 95% of the time" in answer.explanation


def test_a_mean_states_its_95_percent_error_in_plain_words(
    create_dataset: Callable[..., Dataset],
) -> None:
    dataset = create_dataset()
    add_samples(dataset, 2000, host_age_value=35.0, host_age_unit="years")
    answer = noisy.ask(None, dataset, "host_age", "mean", 1.0)
    # Half the epsilon each: count noise within ±7, clipped-sum noise (scale 240) within ±885,
    # at 97.5% each; so the mean is within (35 * 7 + 885) / (2000 - 7), about ±0.57 years.
    assert answer.error_bound == pytest.approx(0.57, abs=0.05)
    found = re.search(r"within ±([0-9.]+) years of the truth 95% of the time", answer.explanation)
    assert found is not None
    assert float(found.group(1)) == pytest.approx(answer.error_bound, 0.01)
    assert "Values outside 0–120 years were counted as the nearest end" in answer.explanation
    assert values(answer)["mean"] == pytest.approx(35, abs=3)


def test_undefined_questions_are_refused_without_spending(
    cohort: Callable[..., Dataset],
) -> None:
    dataset = cohort(budget=1.0)
    for field, kind, epsilon in [
        ("host_age", "counts", 0.1),  # no declared categories for a number
        ("host_sex", "mean", 0.1),
        ("seq_meth", "counts", 0.1),  # free text: no declared vocabulary
        ("host_sex", "median", 0.1),
        ("host_sex", "counts", 0.0),
        ("host_sex", "counts", math.nan),
        ("host_sex", "counts", 1e-300),
    ]:
        with pytest.raises(noisy.UnknownQuestion):
            noisy.ask(None, dataset, field, kind, epsilon)
    assert noisy.ledger(dataset) == []
    assert noisy.remaining(dataset) == 1.0


def test_the_host_sex_vocabulary_is_the_mixs_enumeration() -> None:
    slots = yaml.load(MIXS.read_text(), Loader=yaml.CSafeLoader)["slots"]
    serialization = slots["host_sex"]["string_serialization"]
    declared = {value.strip() for value in serialization.strip("[]").split("|")}
    assert set(HOST_SEX) == declared
