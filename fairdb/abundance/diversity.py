"""Alpha and beta diversity and principal coordinates of a sparse abundance table.

A table is given in coordinate form: three 1-D arrays of equal length, ``sample_index`` (0 ..
n_samples - 1), ``feature_index`` (0 .. n_features - 1) and ``value`` (counts or relative
abundances, > 0), plus the table's shape. Entries that repeat a (sample, feature) pair are summed
and explicit zeros are dropped, so absent features never count as present.

- :func:`alpha` computes, per sample, the number of observed features, Shannon's index (natural
  log), Simpson's index (1 - sum p^2) and the bias-corrected Chao1 richness estimator (counts
  only). The values equal scikit-bio's ``observed_features``, ``shannon`` (base e), ``simpson``
  and ``chao1(bias_corrected=True)``, except that an empty sample gets NaN for Chao1 (scikit-bio
  returns 0 there).
- :func:`beta` computes a sample x sample distance matrix: Bray-Curtis on the values as given,
  Jaccard on presence/absence (both computed sparsely, pair by pair of samples sharing a
  feature, never over a dense sample x feature table), or Aitchison (Euclidean distance between
  centred log-ratio transforms of value + pseudocount over the features present in the table).
- :func:`pcoa` runs classical principal coordinates analysis on a distance matrix, as
  ``skbio.stats.ordination.pcoa(method="eigh")`` does, with a deterministic sign per axis.

Everything here is plain numpy/scipy: no database, no Flask.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: The metrics :func:`beta` knows.
BETA_METRICS: tuple[str, ...] = ("braycurtis", "jaccard", "aitchison")

# Upper bound on the number of sample pairs materialised at once while accumulating the
# shared-feature sums; keeps the working memory (besides the n x n result) near 100 MB.
_PAIR_BUDGET = 1 << 21

# scikit-bio's pcoa sets eigenvalues with np.isclose(eigval, 0) (an absolute 1e-8) to zero.
_EIGENVALUE_ZERO_ATOL = 1e-8


def _as_index(name: str, array: npt.ArrayLike) -> IntArray:
    arr = np.asarray(array)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got {arr.ndim} dimensions")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _coalesce(
    sample_index: npt.ArrayLike,
    feature_index: npt.ArrayLike,
    value: npt.ArrayLike,
    n_samples: int,
    n_features: int | None,
) -> tuple[IntArray, IntArray, FloatArray, int]:
    """Validate a coordinate table; return it sorted by (sample, feature), summed, zero-free.

    The last element returned is the number of features (given, or one past the largest index).
    """
    samples = _as_index("sample_index", sample_index)
    features = _as_index("feature_index", feature_index)
    values = np.asarray(value, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"value must be a 1-D array, got {values.ndim} dimensions")
    if not samples.size == features.size == values.size:
        raise ValueError(
            "sample_index, feature_index and value must have the same length, got "
            f"{samples.size}, {features.size} and {values.size}"
        )
    if n_samples < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    if n_features is not None and n_features < 0:
        raise ValueError(f"n_features must be >= 0, got {n_features}")
    if samples.size and (samples.min() < 0 or samples.max() >= n_samples):
        raise ValueError(f"sample_index must lie in [0, {n_samples})")
    if features.size and features.min() < 0:
        raise ValueError("feature_index must be >= 0")
    if n_features is None:
        n_features = int(features.max()) + 1 if features.size else 0
    elif features.size and features.max() >= n_features:
        raise ValueError(f"feature_index must lie in [0, {n_features})")
    if values.size and not np.all(np.isfinite(values)):
        raise ValueError("value must be finite")
    if values.size and values.min() < 0:
        raise ValueError("value must be >= 0")

    keep = values > 0
    samples, features, values = samples[keep], features[keep], values[keep]
    width = np.int64(max(n_features, 1))
    unique_keys, inverse = np.unique(samples * width + features, return_inverse=True)
    # Adding each value to 0.0 is exact, so this only changes repeated (sample, feature) pairs.
    summed = np.bincount(inverse, weights=values, minlength=unique_keys.size).astype(np.float64)
    return (
        (unique_keys // width).astype(np.int64),
        (unique_keys % width).astype(np.int64),
        summed,
        n_features,
    )


def alpha(
    sample_index: npt.ArrayLike,
    feature_index: npt.ArrayLike,
    value: npt.ArrayLike,
    n_samples: int,
    *,
    counts: bool,
) -> dict[str, npt.NDArray[Any]]:
    """Alpha diversity of every sample, vectorised over the whole table.

    Returns a dict of arrays of length ``n_samples``:

    - ``"observed"`` (int64): the number of features with a non-zero value;
    - ``"shannon"``: ``-sum p ln p`` with ``p`` the sample's proportions (natural log, equal to
      ``skbio.diversity.alpha.shannon(x, base=np.e)``, which is also skbio's default);
    - ``"simpson"``: ``1 - sum p^2``, equal to ``skbio.diversity.alpha.simpson(x)``;
    - ``"chao1"``: ``S_obs + F1 (F1 - 1) / (2 (F2 + 1))`` with F1 and F2 the numbers of singletons
      and doubletons, equal to ``skbio.diversity.alpha.chao1(x, bias_corrected=True)``. Only
      defined when ``counts`` is true and every value is an integer; otherwise all NaN.

    A sample with no entries gets ``observed`` 0 and NaN for the other indices.
    """
    samples, _, values, _ = _coalesce(sample_index, feature_index, value, n_samples, None)

    observed = np.bincount(samples, minlength=n_samples).astype(np.int64)
    totals = np.bincount(samples, weights=values, minlength=n_samples)
    empty = observed == 0

    proportions = values / totals[samples]
    shannon = -np.bincount(samples, weights=proportions * np.log(proportions), minlength=n_samples)
    simpson = 1.0 - np.bincount(samples, weights=proportions**2, minlength=n_samples)

    chao1 = np.full(n_samples, np.nan)
    if counts and np.array_equal(values, np.round(values)):
        singletons = np.bincount(samples, weights=values == 1, minlength=n_samples)
        doubletons = np.bincount(samples, weights=values == 2, minlength=n_samples)
        chao1 = observed + singletons * (singletons - 1) / (2 * (doubletons + 1))

    for index in (shannon, simpson, chao1):
        index[empty] = np.nan
    return {
        "observed": observed,
        "shannon": shannon.astype(np.float64, copy=False),
        "simpson": simpson.astype(np.float64, copy=False),
        "chao1": chao1.astype(np.float64, copy=False),
    }


def _shared_sums(
    samples: IntArray,
    features: IntArray,
    weights: FloatArray,
    n_samples: int,
    n_features: int,
) -> FloatArray:
    """``out[i, j] = sum over features f present in both i and j of min(w_if, w_jf)``, i != j.

    Entries are grouped by feature; a feature present in k >= 2 samples contributes the
    k (k - 1) / 2 pairs of those samples. Features with the same k are handled together, in
    chunks of at most ``_PAIR_BUDGET`` pairs, so the work is the number of sample pairs that share
    a feature, never n_samples x n_features. The diagonal is left at zero.
    """
    # Input is sorted by (sample, feature): a stable sort by feature keeps the samples of one
    # feature in increasing order, so every pair below has i < j.
    order = np.argsort(features, kind="stable")
    by_sample = samples[order]
    by_weight = weights[order]
    per_feature = np.bincount(features, minlength=n_features)
    starts = np.concatenate(([0], np.cumsum(per_feature)[:-1])).astype(np.int64)

    flat = np.zeros(n_samples * n_samples, dtype=np.float64)
    for group_size in np.unique(per_feature):
        k = int(group_size)
        if k < 2:
            continue
        first = starts[per_feature == k]
        left, right = np.triu_indices(k, 1)
        chunk = max(1, _PAIR_BUDGET // left.size)
        offsets = np.arange(k, dtype=np.int64)
        for begin in range(0, first.size, chunk):
            rows = first[begin : begin + chunk, None] + offsets
            block_samples = by_sample[rows]
            block_weights = by_weight[rows]
            pair_index = block_samples[:, left] * n_samples + block_samples[:, right]
            pair_value = np.minimum(block_weights[:, left], block_weights[:, right])
            np.add.at(flat, pair_index.ravel(), pair_value.ravel())
    upper = flat.reshape(n_samples, n_samples)
    return upper + upper.T


def _bray_curtis(
    samples: IntArray, features: IntArray, values: FloatArray, n_samples: int, n_features: int
) -> FloatArray:
    sum_min = _shared_sums(samples, features, values, n_samples, n_features)
    totals = np.bincount(samples, weights=values, minlength=n_samples).astype(np.float64)
    denominator = totals[:, None] + totals[None, :]
    similarity = np.divide(
        2.0 * sum_min, denominator, out=np.ones_like(sum_min), where=denominator > 0
    )
    return np.asarray(np.clip(1.0 - similarity, 0.0, 1.0), dtype=np.float64)


def _jaccard(samples: IntArray, features: IntArray, n_samples: int, n_features: int) -> FloatArray:
    ones = np.ones(samples.size, dtype=np.float64)
    shared = _shared_sums(samples, features, ones, n_samples, n_features)
    richness = np.bincount(samples, minlength=n_samples).astype(np.float64)
    union = richness[:, None] + richness[None, :] - shared
    similarity = np.divide(shared, union, out=np.ones_like(shared), where=union > 0)
    return np.asarray(np.clip(1.0 - similarity, 0.0, 1.0), dtype=np.float64)


def _aitchison(
    samples: IntArray, features: IntArray, values: FloatArray, n_samples: int, pseudocount: float
) -> FloatArray:
    present, columns = np.unique(features, return_inverse=True)
    if present.size == 0:
        return np.zeros((n_samples, n_samples), dtype=np.float64)
    dense = np.full((n_samples, present.size), pseudocount, dtype=np.float64)
    dense[samples, columns] += values
    logs = np.log(dense)
    clr = logs - logs.mean(axis=1, keepdims=True)
    # Translating every point by the same vector leaves distances unchanged; centring the
    # columns keeps the norms small, which keeps the Gram-matrix identity accurate.
    clr -= clr.mean(axis=0, keepdims=True)
    gram = clr @ clr.T
    norms = np.diag(gram).copy()
    squared = norms[:, None] + norms[None, :] - 2.0 * gram
    distances = np.sqrt(np.clip(squared, 0.0, None))
    return np.asarray((distances + distances.T) / 2.0, dtype=np.float64)


def beta(
    sample_index: npt.ArrayLike,
    feature_index: npt.ArrayLike,
    value: npt.ArrayLike,
    n_samples: int,
    n_features: int,
    metric: str,
    *,
    pseudocount: float = 1.0,
) -> FloatArray:
    """The n_samples x n_samples distance matrix (symmetric, zero diagonal) for ``metric``.

    - ``"braycurtis"``: ``1 - 2 sum_f min(x_if, x_jf) / (T_i + T_j)`` with T the sample totals,
      on the values as given (equal to scikit-bio / scipy ``braycurtis``).
    - ``"jaccard"``: ``1 - shared / (n_i + n_j - shared)`` on presence/absence.
    - ``"aitchison"``: Euclidean distance between the centred log-ratio transforms of
      ``value + pseudocount`` over the features present in at least one sample of the table
      (dense over those features; memory n_samples x present features).

    Two samples that are both empty are at distance 0 for Bray-Curtis and Jaccard; an empty and
    a non-empty sample are at distance 1.
    """
    if metric not in BETA_METRICS:
        raise ValueError(
            f"unknown beta diversity metric {metric!r}; expected one of {', '.join(BETA_METRICS)}"
        )
    samples, features, values, n_features = _coalesce(
        sample_index, feature_index, value, n_samples, n_features
    )
    if metric == "braycurtis":
        distances = _bray_curtis(samples, features, values, n_samples, n_features)
    elif metric == "jaccard":
        distances = _jaccard(samples, features, n_samples, n_features)
    else:
        if not (np.isfinite(pseudocount) and pseudocount > 0):
            raise ValueError(f"pseudocount must be a positive number, got {pseudocount}")
        distances = _aitchison(samples, features, values, n_samples, pseudocount)
    np.fill_diagonal(distances, 0.0)
    return distances


def pcoa(distances: npt.ArrayLike, dimensions: int = 3) -> tuple[FloatArray, FloatArray]:
    """Classical principal coordinates analysis of a symmetric distance matrix.

    Returns ``(coordinates, proportion_explained)``: an n x ``dimensions`` array and the
    proportion of variance each of those axes explains. It follows
    ``skbio.stats.ordination.pcoa(distances, method="eigh", dimensions=dimensions)``:

    - Gower centring of ``-D**2 / 2`` and an eigen-decomposition with ``numpy.linalg.eigh``;
    - eigenvalues within 1e-8 of zero are set to zero, then sorted in decreasing order;
    - axes with a negative eigenvalue get eigenvalue 0 and all-zero coordinates;
    - coordinates are ``eigenvector * sqrt(eigenvalue)``;
    - proportion explained is ``eigenvalue / trace(centred matrix)`` (the sum of all
      eigenvalues, negative ones included) when ``dimensions < n``, and ``eigenvalue / sum of the
      non-negative eigenvalues`` when ``dimensions == n``, exactly as scikit-bio does. If that
      denominator is not positive (all distances zero) the proportions are NaN.

    The sign of an eigenvector is arbitrary; here each axis is flipped, if needed, so that its
    coordinate of largest magnitude (the first such sample on ties) is positive.
    """
    matrix = np.asarray(distances, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"distances must be a square matrix, got shape {matrix.shape}")
    n = matrix.shape[0]
    if isinstance(dimensions, bool) or not isinstance(dimensions, int | np.integer):
        raise ValueError(f"dimensions must be an integer, got {dimensions!r}")
    if not 1 <= dimensions <= n:
        raise ValueError(f"dimensions must lie in [1, {n}] for {n} samples, got {dimensions}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("distances must be finite")
    if not np.allclose(matrix, matrix.T, rtol=1e-8, atol=1e-10):
        raise ValueError("distances must be symmetric")

    squared = matrix * matrix / -2.0
    centred = (
        squared
        - squared.mean(axis=1, keepdims=True)
        - squared.mean(axis=0, keepdims=True)
        + squared.mean()
    )
    eigenvalues, eigenvectors = np.linalg.eigh(centred)
    eigenvalues = np.where(np.abs(eigenvalues) <= _EIGENVALUE_ZERO_ATOL, 0.0, eigenvalues)
    descending = np.argsort(eigenvalues, kind="stable")[::-1]
    eigenvalues = eigenvalues[descending]
    eigenvectors = eigenvectors[:, descending]
    # Negative eigenvalues become 0, so their axes get all-zero coordinates below.
    eigenvalues[eigenvalues < 0] = 0.0

    denominator = float(np.trace(centred)) if dimensions < n else float(eigenvalues.sum())
    kept = eigenvalues[:dimensions]
    proportion = kept / denominator if denominator > 0 else np.full(dimensions, np.nan)

    coordinates = eigenvectors[:, :dimensions] * np.sqrt(kept)
    largest = np.argmax(np.abs(coordinates), axis=0)
    signs = np.where(coordinates[largest, np.arange(dimensions)] < 0, -1.0, 1.0)
    coordinates = coordinates * signs
    return (
        np.asarray(coordinates, dtype=np.float64),
        np.asarray(proportion, dtype=np.float64),
    )
