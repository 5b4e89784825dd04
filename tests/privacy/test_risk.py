"""The re-identification risk report against the papers' own tables, hand computations and a
plain per-class reference implementation written from the definitions."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from datetime import date
from fractions import Fraction
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdb.services.privacy import risk_classes
from fairdb.services.privacy.risk import RiskReport, Sensitive, report, summarise
from fairdb.services.privacy.risk_classes import class_ids, class_stats, sensitive_codes


def risk(
    frame: pl.DataFrame, quasi: list[str], sensitive: list[Sensitive], **options: Any
) -> RiskReport:
    return report(summarise(frame, quasi, sensitive), quasi, sensitive, **options)


def attribute(result: RiskReport, name: str) -> Any:
    return next(item for item in result.attributes if item.name == name)


# Sweeney 2002, figure 2: a 2-anonymous table on QI = {race, birth, gender, zip}.
SWEENEY = pl.DataFrame(
    [
        ("black", 1965, "m", "0214*", "short breath"),
        ("black", 1965, "m", "0214*", "chest pain"),
        ("black", 1965, "f", "0213*", "hypertension"),
        ("black", 1965, "f", "0213*", "hypertension"),
        ("black", 1964, "f", "0213*", "obesity"),
        ("black", 1964, "f", "0213*", "chest pain"),
        ("white", 1964, "m", "0213*", "chest pain"),
        ("white", 1964, "m", "0213*", "obesity"),
        ("white", 1964, "m", "0213*", "short breath"),
        ("white", 1967, "m", "0213*", "chest pain"),
        ("white", 1967, "m", "0213*", "chest pain"),
    ],
    schema=["race", "birth", "gender", "zip", "problem"],
    orient="row",
)
SWEENEY_QI = ["race", "birth", "gender", "zip"]


def test_sweeney_table_is_2_anonymous_with_two_homogeneous_classes() -> None:
    result = risk(SWEENEY, SWEENEY_QI, [Sensitive("problem")], k=3)
    assert (result.records, result.classes, result.k_achieved) == (11, 5, 2)
    # Four classes of two records are below k = 3; the three white 1964 men are not.
    assert (result.records_below_k, result.share_below_k) == (8, 8 / 11)
    problem = attribute(result, "problem")
    # The black 1965 women all have hypertension, the white 1967 men all chest pain.
    assert (problem.distinct_l, problem.homogeneous_classes, problem.homogeneous_records) == (
        1,
        2,
        4,
    )
    assert result.components.singling_out == 0
    assert result.components.linkability == pytest.approx(5 / 11)
    assert result.components.inference == pytest.approx(4 / 11)
    assert result.score == 45  # 100 * 5/11 = 45.45


def test_without_sensitive_attributes_inference_is_zero() -> None:
    result = risk(SWEENEY, ["race"], [])
    assert result.components.inference == 0
    assert result.score == 18  # 2 classes / 11 records
    assert result.riskiest_classes[0].values == ("white",)
    assert result.riskiest_classes[0].distinct_l == ()


# Machanavajjhala et al. 2007: figure 2 (4-anonymous) and figure 3 (3-diverse) inpatient
# microdata, zip code, age and nationality -> condition.
HEART, VIRAL, CANCER = "heart disease", "viral infection", "cancer"
FOUR_ANONYMOUS = [
    *[("130**", "<30", "*", c) for c in (HEART, HEART, VIRAL, VIRAL)],
    *[("1485*", ">=40", "*", c) for c in (CANCER, HEART, VIRAL, VIRAL)],
    *[("130**", "3*", "*", c) for c in (CANCER, CANCER, CANCER, CANCER)],
]
THREE_DIVERSE = [
    *[("1305*", "<=40", "*", c) for c in (HEART, VIRAL, CANCER, CANCER)],
    *[("1485*", ">40", "*", c) for c in (CANCER, HEART, VIRAL, VIRAL)],
    *[("1306*", "<=40", "*", c) for c in (HEART, VIRAL, CANCER, CANCER)],
]
INPATIENT = ["zip", "age", "nationality", "condition"]


def test_inpatient_4_anonymous_table_is_only_1_diverse() -> None:
    frame = pl.DataFrame(FOUR_ANONYMOUS, schema=INPATIENT, orient="row")
    result = risk(frame, INPATIENT[:3], [Sensitive("condition")])
    condition = attribute(result, "condition")
    assert result.k_achieved == 4
    # The 30-somethings all have cancer: Bob's condition is disclosed (homogeneity attack).
    assert (condition.distinct_l, condition.entropy_l) == (1, pytest.approx(1.0))
    assert condition.homogeneous_records == 4
    assert result.riskiest_classes[0].values == ("130**", "3*", "*")


def test_inpatient_3_diverse_table_has_entropy_l_below_3() -> None:
    frame = pl.DataFrame(THREE_DIVERSE, schema=INPATIENT, orient="row")
    condition = attribute(risk(frame, INPATIENT[:3], [Sensitive("condition")]), "condition")
    # Every class is (1/4, 1/4, 1/2): entropy 1.5 ln 2, so exp(entropy) = 2 ** 1.5 < 3.
    assert condition.distinct_l == 3
    assert condition.entropy_l == pytest.approx(2**1.5)
    assert condition.homogeneous_records == 0


# Li, Li & Venkatasubramanian 2007, tables 3 and 4: salaries 3k..11k.
def salary_table(classes: list[list[int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "zip": [f"class {i}" for i, salaries in enumerate(classes) for _ in salaries],
            "salary": [salary for salaries in classes for salary in salaries],
        }
    )


def test_li_salary_emd_is_0_375_for_the_lowest_three_salaries() -> None:
    frame = salary_table([[3, 4, 5], [6, 8, 11], [7, 9, 10]])
    salary = attribute(risk(frame, ["zip"], [Sensitive("salary", ordered=True)]), "salary")
    assert (salary.distance, round(salary.t, 3)) == ("ordered", 0.375)
    classes, count = class_ids(frame, ("zip",))
    sizes = np.bincount(classes, minlength=count)
    codes, values = sensitive_codes(frame["salary"], True, None)
    stats = class_stats(classes, sizes, codes, np.ones(9, np.int64), values, ordered=True)
    assert [round(d, 3) for d in stats.distance] == [0.375, 0.167, 0.236]


def test_li_table_4_is_0_167_close_on_salary() -> None:
    frame = salary_table([[3, 5, 9], [6, 11, 8], [4, 7, 10]])
    salary = attribute(risk(frame, ["zip"], [Sensitive("salary", ordered=True)]), "salary")
    assert round(salary.t, 3) == 0.167


def test_equal_distance_emd_by_hand() -> None:
    # Whole table (7 records): flu 2, cold 3, cough 2 -> q = (2/7, 3/7, 2/7).
    # Class a: flu 2, cold 1 -> p = (2/3, 1/3, 0):
    #   D = 1/2 (|2/3 - 2/7| + |1/3 - 3/7| + 2/7) = 1/2 (8/21 + 2/21 + 6/21) = 8/21.
    # Class b: cold 2, cough 2 -> p = (0, 1/2, 1/2):
    #   D = 1/2 (2/7 + |1/2 - 3/7| + |1/2 - 2/7|) = 1/2 (4/14 + 1/14 + 3/14) = 2/7.
    frame = pl.DataFrame(
        {
            "site": ["a"] * 3 + ["b"] * 4,
            "illness": ["flu", "flu", "cold", "cold", "cold", "cough", "cough"],
        }
    )
    illness = attribute(risk(frame, ["site"], [Sensitive("illness")]), "illness")
    assert (illness.distance, illness.t) == ("equal", pytest.approx(8 / 21))
    assert illness.values == 3


def test_missing_quasi_identifier_forms_its_own_counted_class() -> None:
    frame = pl.DataFrame(
        {
            "sex": ["female", "female", None, "male", "male", None, None, ""],
            "age": [30, 30, 30, 30, 30, 30, 30, None],
        }
    )
    result = risk(frame, ["sex", "age"], [])
    assert (result.records, result.classes) == (8, 4)
    # The class of one record is the empty text with no age: not merged with the missing sex.
    assert result.riskiest_classes[0].values == ("", None)
    assert [(c.values, c.size) for c in result.riskiest_classes[1:]] == [
        (("female", 30), 2),
        (("male", 30), 2),
        ((None, 30), 3),
    ]
    assert [bucket.records for bucket in result.class_sizes[:4]] == [1, 4, 3, 0]


def test_missing_sensitive_value_is_a_value_of_its_own() -> None:
    frame = pl.DataFrame(
        {
            "site": ["a", "a", "b", "b", "c"],
            "illness": ["flu", None, None, None, "flu"],
        }
    )
    result = risk(frame, ["site"], [Sensitive("illness")])
    assert result.records == 5
    assert [c.distinct_l for c in result.riskiest_classes] == [(1,), (1,), (2,)]
    illness = attribute(result, "illness")
    # b (two missing) and c are homogeneous: a class of unknowns is one disclosed value too.
    assert (illness.values, illness.homogeneous_classes, illness.homogeneous_records) == (2, 2, 3)


def test_missing_ordered_value_sorts_after_the_largest() -> None:
    # Domain (1, 2, missing), Q = (1/3, 2/3, 1). Class a = {1}: P = (1, 1, 1), EMD =
    # (2/3 + 1/3) / 2 = 0.5. Were missing first, a's EMD would be 1/3 and the table's t too.
    frame = pl.DataFrame({"site": ["a", "b", "b"], "dose": [1, 2, None]})
    dose = attribute(risk(frame, ["site"], [Sensitive("dose", ordered=True)]), "dose")
    assert (dose.values, dose.t) == (3, pytest.approx(0.5))


def test_explicit_order_is_the_whole_scale_even_where_unused() -> None:
    # Scale of 4, "critical" unused: Q = (1/3, 1/3, 1, 1) cumulative; class {low} has
    # P = 1 throughout, EMD = (2/3 + 2/3 + 0) / 3 = 4/9 (2/3 if only used values counted).
    order = ("low", "medium", "high", "critical")
    frame = pl.DataFrame({"site": ["a", "b", "b"], "grade": ["low", "high", "high"]})
    grade = attribute(
        risk(frame, ["site"], [Sensitive("grade", ordered=True, order=order)]), "grade"
    )
    assert (grade.values, grade.t) == (4, pytest.approx(4 / 9))


def test_values_outside_the_order_are_refused_by_name() -> None:
    frame = pl.DataFrame({"site": ["a"], "grade": ["severe"]})
    with pytest.raises(ValueError, match="'severe'"):
        risk(frame, ["site"], [Sensitive("grade", ordered=True, order=("low", "high"))])


def test_text_cannot_order_itself() -> None:
    frame = pl.DataFrame({"site": ["a"], "grade": ["low"]})
    with pytest.raises(ValueError, match="explicit order"):
        risk(frame, ["site"], [Sensitive("grade", ordered=True)])


def test_negative_counts_are_refused() -> None:
    summary = pl.DataFrame({"site": ["a", "b"], "n": [2, -1]})
    with pytest.raises(ValueError, match="not negative"):
        report(summary, ["site"], [])


def test_riskiest_classes_put_homogeneous_ties_first() -> None:
    frame = pl.DataFrame(
        {
            "site": ["a", "a", "b", "b", "c", "c", "c"],
            "illness": ["flu", "cold", "flu", "flu", "flu", "cold", "flu"],
        }
    )
    result = risk(frame, ["site"], [Sensitive("illness")], riskiest=2)
    assert [(c.values, c.size, c.distinct_l) for c in result.riskiest_classes] == [
        (("b",), 2, (1,)),
        (("a",), 2, (2,)),
    ]


def test_class_sizes_are_bucketed_for_the_plot() -> None:
    sizes = [1, 10, 11, 150]
    frame = pl.DataFrame({"site": [i for i, size in enumerate(sizes) for _ in range(size)]})
    buckets = {b.label: (b.classes, b.records) for b in risk(frame, ["site"], []).class_sizes}
    assert list(buckets)[9:] == ["10", "11-20", "21-50", "51-100", ">100"]
    assert {label: b for label, b in buckets.items() if b != (0, 0)} == {
        "1": (1, 1),
        "10": (1, 10),
        "11-20": (1, 11),
        ">100": (1, 150),
    }


def test_report_dict_is_json_with_dates_as_text() -> None:
    frame = pl.DataFrame({"month": [date(2020, 1, 1), None], "illness": ["flu", "flu"]})
    data = json.loads(json.dumps(risk(frame, ["month"], [Sensitive("illness")]).to_dict()))
    assert data["riskiest_classes"][0]["values"] == {"month": None}
    assert data["riskiest_classes"][1] == {
        "values": {"month": "2020-01-01"},
        "size": 1,
        "distinct_l": {"illness": 1},
    }
    assert data["score"] == 100
    assert "Singling out" in data["score_formula"]


# The reference: records as dicts, classes as a dict of lists, every figure from its definition.
QUASI = {"qi_int": pl.Int64, "qi_text": pl.String, "qi_float": pl.Float64}
SENSITIVE = {
    "illness": Sensitive("illness"),
    "dose": Sensitive("dose", ordered=True),
    "grade": Sensitive("grade", ordered=True, order=("low", "mid", "high", "critical")),
}
SCHEMA = {**QUASI, "illness": pl.String, "dose": pl.Int64, "grade": pl.String}
row = st.fixed_dictionaries(
    {
        "qi_int": st.none() | st.integers(0, 3),
        "qi_text": st.sampled_from(["a", "b", "", None]),
        "qi_float": st.sampled_from([-2.0, 0.5, 1.5, None]),
        "illness": st.sampled_from(["flu", "cold", "cough", None]),
        "dose": st.none() | st.integers(-2, 4),
        "grade": st.sampled_from(["low", "mid", "high", None]),
    }
)
case = st.tuples(
    st.lists(row, min_size=1, max_size=40),
    st.lists(st.sampled_from(list(QUASI)), unique=True),
    st.lists(st.sampled_from(list(SENSITIVE)), unique=True),
    st.integers(1, 6),
    st.integers(0, 5),
)


def reference(
    records: list[dict[str, Any]], quasi: list[str], sensitive: list[Sensitive], k: int, top: int
) -> dict[str, Any]:
    classes: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in records:
        classes.setdefault(tuple(record[name] for name in quasi), []).append(record)
    total = len(records)
    sizes = [len(members) for members in classes.values()]
    figures: dict[str, Any] = {
        "records": total,
        "classes": len(classes),
        "k_achieved": min(sizes),
        "records_below_k": sum(size for size in sizes if size < k),
    }
    distinct_of: dict[tuple[Any, ...], list[int]] = {key: [] for key in classes}
    homogeneous_most = 0
    for item in sensitive:
        column = [record[item.name] for record in records]
        domain: list[Any] = list(item.order or sorted({v for v in column if v is not None}))
        domain += [None] if None in column else []
        whole = Counter(column)
        q = [whole[v] / total for v in domain]
        distinct, entropy, distance, homogeneous = [], [], [], 0
        for key, members in classes.items():
            counts = Counter(member[item.name] for member in members)
            p = [counts[v] / len(members) for v in domain]
            distinct.append(len(counts))
            distinct_of[key].append(len(counts))
            homogeneous += len(members) if len(counts) == 1 else 0
            entropy.append(
                -sum(c / len(members) * math.log(c / len(members)) for c in counts.values())
            )
            if not item.ordered:
                distance.append(sum(abs(a - b) for a, b in zip(p, q, strict=True)) / 2)
            elif len(domain) > 1:
                steps = [abs(sum(p[: i + 1]) - sum(q[: i + 1])) for i in range(len(domain))]
                distance.append(sum(steps) / (len(domain) - 1))
            else:
                distance.append(0.0)
        homogeneous_most = max(homogeneous_most, homogeneous)
        figures[item.name] = {
            "distinct_l": min(distinct),
            "entropy_l": math.exp(min(entropy)),
            "t": max(distance),
            "homogeneous_records": homogeneous,
        }
    unique = sum(1 for size in sizes if size == 1)
    shares = [Fraction(unique, total), Fraction(len(classes), total)]
    shares.append(Fraction(homogeneous_most, total))
    figures["score"] = math.floor(100 * max(shares) + Fraction(1, 2))

    def order(key: tuple[Any, ...]) -> tuple[Any, ...]:
        fewest = min(distinct_of[key], default=0)
        values = tuple((0,) if v is None else (1, v) for v in key)
        return (len(classes[key]), fewest, values)

    figures["riskiest"] = [
        (key, len(classes[key]), tuple(distinct_of[key])) for key in sorted(classes, key=order)
    ][:top]
    return figures


@settings(max_examples=300, deadline=None)
@given(case)
def test_report_agrees_with_the_reference(drawn: Any) -> None:
    records, quasi, names, k, top = drawn
    sensitive = [SENSITIVE[name] for name in names]
    frame = pl.DataFrame(records, schema=SCHEMA)
    result = risk(frame, quasi, sensitive, k=k, riskiest=top)
    expected = reference(records, quasi, sensitive, k, top)
    assert result.records == expected["records"]
    assert result.classes == expected["classes"]
    assert result.k_achieved == expected["k_achieved"]
    assert result.records_below_k == expected["records_below_k"]
    assert sum(bucket.records for bucket in result.class_sizes) == len(records)
    for item in result.attributes:
        assert item.distinct_l == expected[item.name]["distinct_l"]
        assert item.entropy_l == pytest.approx(expected[item.name]["entropy_l"], abs=1e-9)
        assert item.t == pytest.approx(expected[item.name]["t"], abs=1e-9)
        assert item.homogeneous_records == expected[item.name]["homogeneous_records"]
    assert result.score == expected["score"]
    assert [(c.values, c.size, c.distinct_l) for c in result.riskiest_classes] == expected[
        "riskiest"
    ]


@settings(max_examples=150, deadline=None)
@given(case, st.randoms(use_true_random=False))
def test_any_summary_of_the_same_records_gives_the_same_report(
    drawn: Any, shuffler: random.Random
) -> None:
    records, quasi, names, k, top = drawn
    sensitive = [SENSITIVE[name] for name in names]
    frame = pl.DataFrame(records, schema=SCHEMA)
    expected = risk(frame, quasi, sensitive, k=k, riskiest=top).to_dict()
    shuffler.shuffle(records)
    shuffled = pl.DataFrame(records, schema=SCHEMA)
    columns = [*quasi, *names]
    # Each record as its own row of weight 1, next to rows that stand for nobody.
    ones = shuffled.with_columns(n=pl.lit(1, pl.Int64)).select(*columns, "n")
    padded = pl.concat([ones, ones.head(3).with_columns(n=pl.lit(0, pl.Int64))])
    # A summary of a summary: regrouped by its counts.
    twice = summarise(summarise(shuffled, quasi, names), quasi, names, weight="n")
    for summary in (padded, twice, summarise(shuffled, quasi, names)):
        assert report(summary, quasi, sensitive, k=k, riskiest=top).to_dict() == expected


def test_many_wide_quasi_identifiers_agree_with_the_reference() -> None:
    # Nine columns of up to 400 values: their combined key passes 2**62 and is renumbered on
    # the way, and the classes are renumbered by a sort rather than a lookup table.
    rng = np.random.default_rng(5)
    quasi = [f"q{i}" for i in range(9)]
    columns = {name: rng.integers(0, 10**6, 400).tolist() for name in quasi}
    columns["q0"] = [value % 3 for value in columns["q0"]]
    columns["q1"] = [None if value % 5 == 0 else value for value in columns["q1"]]
    records = [{name: columns[name][i] for name in quasi} for i in range(400)]
    records += records[:50]  # some classes of two
    result = risk(pl.DataFrame(records), quasi, [], k=2, riskiest=400)
    expected = reference(records, quasi, [], 2, 400)
    assert (result.classes, result.records_below_k) == (400, 350)
    assert (result.classes, result.k_achieved) == (expected["classes"], expected["k_achieved"])
    assert [(c.values, c.size) for c in result.riskiest_classes] == [
        (key, size) for key, size, _ in expected["riskiest"]
    ]


def test_counts_too_big_to_pack_give_the_same_report(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pl.DataFrame(THREE_DIVERSE, schema=INPATIENT, orient="row")
    sensitive = [Sensitive("condition"), Sensitive("age", ordered=True, order=("<=40", ">40"))]
    expected = risk(frame, ["zip"], sensitive).to_dict()
    monkeypatch.setattr(risk_classes, "PACKED_BITS", 0)
    assert risk(frame, ["zip"], sensitive).to_dict() == expected


def test_an_attribute_named_like_the_counts_is_refused() -> None:
    frame = pl.DataFrame({"n": [1, 2], "site": ["a", "b"]})
    with pytest.raises(ValueError, match="holds the counts"):
        summarise(frame, ["n", "site"], [])
