"""fairdb.abundance.diversity against scikit-bio and scipy on hand-made and random tables."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.distance import pdist, squareform
from skbio.diversity import alpha_diversity, beta_diversity
from skbio.diversity.alpha import chao1, shannon, simpson
from skbio.stats.composition import clr
from skbio.stats.distance import DistanceMatrix
from skbio.stats.ordination import pcoa as skbio_pcoa

from fairdb.abundance.diversity import alpha, beta, pcoa

TOL = {"rtol": 1e-9, "atol": 1e-9}

# Five samples x six features: sample 2 is empty, sample 3 has one feature, the others mix
# singletons, doubletons and larger counts (sample 0: F1=2, F2=1; sample 4: F1=3, F2=2).
HAND_MADE = np.array(
    [
        [1, 2, 0, 5, 1, 0],
        [10, 0, 3, 2, 0, 7],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 4, 0, 0],
        [1, 1, 1, 0, 2, 2],
    ],
    dtype=np.float64,
)


def sparse(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    samples, features = np.nonzero(dense)
    return samples, features, dense[samples, features]


def random_counts(seed: int, n_samples: int = 60, n_features: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    counts = rng.negative_binomial(1, 0.2, size=(n_samples, n_features)).astype(np.float64)
    counts[rng.random((n_samples, n_features)) < 0.85] = 0  # mostly absent
    counts[7] = 0  # one empty sample
    return counts


def relative(dense: np.ndarray) -> np.ndarray:
    totals = dense.sum(axis=1, keepdims=True)
    return np.divide(dense, totals, out=np.zeros_like(dense), where=totals > 0)


TABLES = {
    "hand-made": HAND_MADE,
    "random": random_counts(20240611),
    "relative": relative(random_counts(7)),
}


def skbio_beta(metric: str, dense: np.ndarray) -> np.ndarray:
    """skbio's matrix, with both-empty pairs (NaN for Bray-Curtis there) set to 0."""
    expected = beta_diversity(metric, dense).data.copy()
    empty = dense.sum(axis=1) == 0
    expected[np.ix_(empty, empty)] = 0.0
    return expected


def skbio_aitchison(dense: np.ndarray, pseudocount: float) -> np.ndarray:
    present = dense[:, dense.sum(axis=0) > 0]
    return squareform(pdist(clr(present + pseudocount), "euclidean"))


def assert_distance_matrix(distances: np.ndarray, n: int) -> None:
    assert distances.shape == (n, n)
    assert distances.dtype == np.float64
    np.testing.assert_array_equal(distances, distances.T)
    np.testing.assert_array_equal(np.diag(distances), 0.0)


# --- alpha -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["hand-made", "random"])
def test_alpha_counts_match_skbio(name: str) -> None:
    dense = TABLES[name]
    result = alpha(*sparse(dense), dense.shape[0], counts=True)
    integer = dense.astype(np.int64)
    empty = dense.sum(axis=1) == 0

    np.testing.assert_array_equal(
        result["observed"], alpha_diversity("observed_features", integer).to_numpy()
    )
    assert result["observed"].dtype == np.int64
    expected_shannon = np.array([shannon(row, base=np.e) for row in integer])
    np.testing.assert_allclose(result["shannon"], expected_shannon, **TOL)
    np.testing.assert_allclose(
        result["shannon"], alpha_diversity("shannon", integer).to_numpy(), **TOL
    )
    np.testing.assert_allclose(
        result["simpson"], alpha_diversity("simpson", integer).to_numpy(), **TOL
    )
    expected_chao1 = np.array([chao1(row, bias_corrected=True) for row in integer])
    np.testing.assert_allclose(result["chao1"][~empty], expected_chao1[~empty], **TOL)
    # skbio says 0 for an empty sample; this module says "undefined".
    assert np.isnan(result["chao1"][empty]).all()
    assert np.isnan(result["shannon"][empty]).all()
    assert np.isnan(result["simpson"][empty]).all()


def test_alpha_hand_made_values() -> None:
    result = alpha(*sparse(HAND_MADE), 5, counts=True)
    np.testing.assert_array_equal(result["observed"], [4, 4, 0, 1, 5])
    # sample 0: S=4, F1=2, F2=1 -> 4 + 2*1/(2*2); sample 4: S=5, F1=3, F2=2 -> 5 + 3*2/(2*3)
    np.testing.assert_allclose(result["chao1"][[0, 3, 4]], [4.5, 1.0, 6.0], **TOL)
    p = np.array([1, 2, 5, 1]) / 9
    np.testing.assert_allclose(result["shannon"][0], -(p * np.log(p)).sum(), **TOL)
    np.testing.assert_allclose(result["simpson"][0], 1 - (p**2).sum(), **TOL)
    assert result["shannon"][3] == 0.0
    assert result["simpson"][3] == 0.0


def test_alpha_relative_abundances_match_skbio() -> None:
    dense = TABLES["relative"]
    empty = dense.sum(axis=1) == 0
    result = alpha(*sparse(dense), dense.shape[0], counts=False)
    np.testing.assert_array_equal(result["observed"], (dense > 0).sum(axis=1))
    expected_shannon = np.array([shannon(row, base=np.e) for row in dense])
    expected_simpson = np.array([simpson(row) for row in dense])
    np.testing.assert_allclose(result["shannon"], expected_shannon, **TOL)
    np.testing.assert_allclose(result["simpson"], expected_simpson, **TOL)
    assert np.isnan(expected_shannon[empty]).all()
    assert np.isnan(result["chao1"]).all()


def test_alpha_chao1_needs_integer_counts() -> None:
    samples, features, values = sparse(HAND_MADE)
    assert np.isnan(alpha(samples, features, values, 5, counts=False)["chao1"]).all()
    assert np.isnan(alpha(samples, features, values + 0.5, 5, counts=True)["chao1"]).all()
    assert not np.isnan(alpha(samples, features, values, 5, counts=True)["chao1"][0])


def test_alpha_sums_repeated_entries_and_ignores_zeros() -> None:
    samples, features, values = sparse(HAND_MADE)
    split = np.concatenate([values - 0.5, np.full(values.size, 0.5), [0.0]])
    doubled = alpha(
        np.concatenate([samples, samples, [2]]),
        np.concatenate([features, features, [0]]),
        split,
        5,
        counts=True,
    )
    direct = alpha(samples, features, values, 5, counts=True)
    for key in ("observed", "shannon", "simpson", "chao1"):
        np.testing.assert_allclose(doubled[key], direct[key], **TOL)


# --- beta ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TABLES))
@pytest.mark.parametrize("metric", ["braycurtis", "jaccard"])
def test_beta_matches_skbio(name: str, metric: str) -> None:
    dense = TABLES[name]
    n_samples, n_features = dense.shape
    distances = beta(*sparse(dense), n_samples, n_features, metric)
    assert_distance_matrix(distances, n_samples)
    np.testing.assert_allclose(distances, skbio_beta(metric, dense), **TOL)


@pytest.mark.parametrize("name", sorted(TABLES))
@pytest.mark.parametrize("pseudocount", [1.0, 0.5])
def test_beta_aitchison_matches_skbio_clr(name: str, pseudocount: float) -> None:
    dense = TABLES[name]
    n_samples, n_features = dense.shape
    distances = beta(*sparse(dense), n_samples, n_features, "aitchison", pseudocount=pseudocount)
    assert_distance_matrix(distances, n_samples)
    np.testing.assert_allclose(distances, skbio_aitchison(dense, pseudocount), **TOL)


def test_beta_hand_made_values() -> None:
    bc = beta(*sparse(HAND_MADE), 5, 6, "braycurtis")
    # samples 0 and 3 share feature 3: min(5, 4) = 4, totals 9 and 4
    np.testing.assert_allclose(bc[0, 3], 1 - 2 * 4 / 13, **TOL)
    assert bc[2, 0] == bc[0, 2] == 1.0  # empty vs non-empty
    jac = beta(*sparse(HAND_MADE), 5, 6, "jaccard")
    # samples 0 and 4 share features 0, 1, 4 out of 0, 1, 2, 3, 4, 5
    np.testing.assert_allclose(jac[0, 4], 1 - 3 / 6, **TOL)
    assert jac[2, 3] == 1.0


def test_beta_two_empty_samples_are_identical() -> None:
    samples = np.array([1, 1])
    features = np.array([0, 2])
    values = np.array([3.0, 1.0])
    for metric in ("braycurtis", "jaccard", "aitchison"):
        distances = beta(samples, features, values, 3, 4, metric)
        assert distances[0, 2] == 0.0, metric
        assert distances[0, 1] > 0.0, metric
    assert beta(samples, features, values, 3, 4, "braycurtis")[0, 1] == 1.0


def test_beta_no_entries() -> None:
    empty = np.array([], dtype=np.int64)
    for metric in ("braycurtis", "jaccard", "aitchison"):
        distances = beta(empty, empty, np.array([]), 3, 5, metric)
        np.testing.assert_array_equal(distances, np.zeros((3, 3)))


def test_beta_unknown_metric() -> None:
    with pytest.raises(ValueError, match="unknown beta diversity metric 'unifrac'"):
        beta(*sparse(HAND_MADE), 5, 6, "unifrac")


@pytest.mark.parametrize(
    ("samples", "features", "values", "message"),
    [
        ([0, 5], [0, 1], [1.0, 1.0], "sample_index"),
        ([0, 1], [0, 6], [1.0, 1.0], "feature_index"),
        ([0, 1], [0, 1], [1.0, -1.0], "value"),
        ([0, 1], [0, 1], [1.0, np.nan], "finite"),
        ([0, 1], [0], [1.0, 1.0], "same length"),
    ],
)
def test_beta_rejects_bad_tables(
    samples: list[int], features: list[int], values: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        beta(np.array(samples), np.array(features), np.array(values), 5, 6, "braycurtis")


def test_beta_rejects_bad_pseudocount() -> None:
    with pytest.raises(ValueError, match="pseudocount"):
        beta(*sparse(HAND_MADE), 5, 6, "aitchison", pseudocount=0.0)


@st.composite
def small_tables(draw: st.DrawFn) -> np.ndarray:
    n_samples = draw(st.integers(min_value=1, max_value=8))
    n_features = draw(st.integers(min_value=1, max_value=10))
    dense = draw(
        hnp.arrays(
            np.int64,
            (n_samples, n_features),
            elements=st.sampled_from([0, 0, 0, 1, 2, 3, 10, 250]),
        )
    )
    return dense.astype(np.float64)


@settings(max_examples=50, deadline=None)
@given(dense=small_tables())
def test_beta_sparse_matches_skbio_on_random_small_tables(dense: np.ndarray) -> None:
    n_samples, n_features = dense.shape
    for metric in ("braycurtis", "jaccard"):
        distances = beta(*sparse(dense), n_samples, n_features, metric)
        assert_distance_matrix(distances, n_samples)
        np.testing.assert_allclose(distances, skbio_beta(metric, dense), **TOL)


def test_beta_large_sparse_table() -> None:
    rng = np.random.default_rng(3)
    n_samples, n_features, per_sample = 1_000, 10_000, 100
    samples = np.repeat(np.arange(n_samples), per_sample)
    features = np.concatenate(
        [rng.choice(n_features, per_sample, replace=False) for _ in range(n_samples)]
    )
    values = rng.integers(1, 1_000, samples.size).astype(np.float64)
    for metric in ("braycurtis", "jaccard"):
        distances = beta(samples, features, values, n_samples, n_features, metric)
        assert_distance_matrix(distances, n_samples)
        off_diagonal = distances[~np.eye(n_samples, dtype=bool)]
        assert off_diagonal.min() >= 0.0
        assert off_diagonal.max() <= 1.0
        assert off_diagonal.min() < 1.0  # some samples do share features
    # spot-check a few pairs against the dense definition
    dense = np.zeros((5, n_features))
    dense[samples[samples < 5], features[samples < 5]] = values[samples < 5]
    bc = beta(samples, features, values, n_samples, n_features, "braycurtis")
    np.testing.assert_allclose(bc[:5, :5], skbio_beta("braycurtis", dense), **TOL)


# --- pcoa ------------------------------------------------------------------------------------


def skbio_ordination(distances: np.ndarray, dimensions: int) -> tuple[np.ndarray, np.ndarray]:
    result = skbio_pcoa(DistanceMatrix(distances), dimensions=dimensions, warn_neg_eigval=False)
    return result.samples.to_numpy(), result.proportion_explained.to_numpy()


def align_signs(coordinates: np.ndarray, reference: np.ndarray) -> np.ndarray:
    signs = np.where(np.sum(coordinates * reference, axis=0) < 0, -1.0, 1.0)
    return coordinates * signs


@pytest.mark.parametrize("name", sorted(TABLES))
@pytest.mark.parametrize("metric", ["braycurtis", "jaccard", "aitchison"])
def test_pcoa_matches_skbio(name: str, metric: str) -> None:
    dense = TABLES[name]
    n_samples, n_features = dense.shape
    distances = beta(*sparse(dense), n_samples, n_features, metric)
    dimensions = min(3, n_samples - 1)
    coordinates, proportion = pcoa(distances, dimensions)
    expected_coordinates, expected_proportion = skbio_ordination(distances, dimensions)
    assert coordinates.shape == (n_samples, dimensions)
    np.testing.assert_allclose(proportion, expected_proportion, **TOL)
    np.testing.assert_allclose(
        align_signs(coordinates, expected_coordinates), expected_coordinates, **TOL
    )


def centred_eigenvalues(distances: np.ndarray) -> np.ndarray:
    squared = -distances * distances / 2
    centred = squared - squared.mean(axis=0) - squared.mean(axis=1)[:, None] + squared.mean()
    return np.linalg.eigvalsh(centred)


def denser_counts() -> np.ndarray:
    rng = np.random.default_rng(99)
    counts = rng.negative_binomial(2, 0.1, size=(40, 50)).astype(np.float64)
    counts[rng.random(counts.shape) < 0.5] = 0
    return counts


@pytest.mark.parametrize(("dense", "compared_axes"), [(HAND_MADE, 5), (denser_counts(), 10)])
def test_pcoa_all_dimensions_matches_skbio(dense: np.ndarray, compared_axes: int) -> None:
    """With every dimension kept, skbio divides by the sum of the non-negative eigenvalues."""
    distances = beta(*sparse(dense), *dense.shape, "braycurtis")
    # Bray-Curtis is not Euclidean: these tables give clearly negative eigenvalues.
    assert centred_eigenvalues(distances).min() < -1e-3
    n = dense.shape[0]
    coordinates, proportion = pcoa(distances, n)
    expected_coordinates, expected_proportion = skbio_ordination(distances, n)
    np.testing.assert_allclose(proportion, expected_proportion, **TOL)
    np.testing.assert_allclose(proportion.sum(), 1.0, **TOL)
    np.testing.assert_array_equal(proportion == 0, expected_proportion == 0)
    np.testing.assert_array_equal(coordinates[:, proportion == 0], 0.0)
    # Only compare axes with a clear eigengap; near-degenerate trailing axes can rotate.
    np.testing.assert_allclose(
        align_signs(coordinates[:, :compared_axes], expected_coordinates[:, :compared_axes]),
        expected_coordinates[:, :compared_axes],
        **TOL,
    )


def test_pcoa_negative_eigenvalues_count_in_the_trace() -> None:
    """With fewer dimensions than samples, skbio divides by the trace (negatives included)."""
    distances = beta(*sparse(HAND_MADE), 5, 6, "braycurtis")
    eigenvalues = centred_eigenvalues(distances)
    _, proportion = pcoa(distances, 2)
    np.testing.assert_allclose(proportion, eigenvalues[::-1][:2] / eigenvalues.sum(), **TOL)
    _, all_proportion = pcoa(distances, 5)
    positive = eigenvalues[eigenvalues > 1e-8]
    np.testing.assert_allclose(
        all_proportion[:2], proportion * eigenvalues.sum() / positive.sum(), **TOL
    )


def test_pcoa_euclidean_points_match_skbio_in_all_dimensions() -> None:
    """Points in the plane: two real axes, the other eigenvalues are rounding noise set to 0."""
    rng = np.random.default_rng(11)
    points = rng.normal(size=(12, 2)) * [5.0, 1.0]
    distances = squareform(pdist(points))
    coordinates, proportion = pcoa(distances, 12)
    expected_coordinates, expected_proportion = skbio_ordination(distances, 12)
    np.testing.assert_allclose(proportion, expected_proportion, **TOL)
    np.testing.assert_array_equal(proportion[2:], 0.0)
    np.testing.assert_array_equal(coordinates[:, 2:], 0.0)
    np.testing.assert_allclose(
        align_signs(coordinates, expected_coordinates), expected_coordinates, **TOL
    )


def test_pcoa_euclidean_points_recovered() -> None:
    rng = np.random.default_rng(11)
    points = rng.normal(size=(12, 2)) * [5.0, 1.0]
    distances = squareform(pdist(points))
    coordinates, proportion = pcoa(distances, 2)
    np.testing.assert_allclose(squareform(pdist(coordinates)), distances, **TOL)
    np.testing.assert_allclose(proportion.sum(), 1.0, **TOL)
    assert proportion[0] > proportion[1]


def test_pcoa_sign_is_deterministic() -> None:
    dense = TABLES["random"]
    distances = beta(*sparse(dense), *dense.shape, "braycurtis")
    coordinates, _ = pcoa(distances, 3)
    largest = np.argmax(np.abs(coordinates), axis=0)
    assert (coordinates[largest, np.arange(3)] > 0).all()
    # Reordering the samples permutes the rows and keeps the signs.
    order = np.random.default_rng(5).permutation(dense.shape[0])
    permuted, _ = pcoa(distances[np.ix_(order, order)], 3)
    np.testing.assert_allclose(permuted, coordinates[order], **TOL)


def test_pcoa_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="square"):
        pcoa(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="dimensions"):
        pcoa(np.zeros((2, 2)), 3)
    with pytest.raises(ValueError, match="symmetric"):
        pcoa(np.array([[0.0, 1.0, 2.0], [1.5, 0.0, 1.0], [2.0, 1.0, 0.0]]), 2)
