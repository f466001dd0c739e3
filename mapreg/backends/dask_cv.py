r"""Cross-validation of a dask-backed gaussian model in one pass over the data.

:func:`fold_scores` reads every row once: each chunk of rows is split by fold and
summarised per fold (:func:`mapreg.backends.gram.summarize_block`: ``n``, means, centred
cross-products), and the ``K`` summaries of all chunks are merged fold by fold with the
Chan–Golub–LeVeque update. Everything after is ``O(K**2 p**2)`` per grid point:

* the **training statistics** of fold ``f`` merge the other ``K - 1`` folds' summaries
  (the same numbers as ``total - fold``, but added, never subtracted: a difference of
  cross-products would cancel when one fold holds most of the rows);
* the **MAP path** of fold ``f`` is :func:`mapreg.backends.gram.solve_gaussian_stats` on
  them at every scale (the exact path of the in-memory solver);
* the **held-out score** is the mean squared error on fold ``f``'s rows, from its own
  statistics: ``sum (y - X w - c)**2 = Syy - 2 w'Sxy + w'Sxx w + n_f r**2``,
  ``r = xbar'w + c - ybar`` (:meth:`mapreg.backends.gram.GramStats.rss`).

**Folds.** ``cv = K`` makes scikit-learn's ``KFold(K)`` folds over the global row index
(contiguous; the first ``n % K`` folds one row longer), the folds of the in-memory
:func:`mapreg.cross_validate`; ``random_state`` assigns each row to fold
``splitmix64(row + seed) mod K`` instead (a hash: no permutation of ``n`` rows is ever
held, fold sizes are equal only in expectation, :func:`hashed_fold_ids` gives them); an
array of fold ids per row (numpy, or a dask array in the rows' chunks) is used as given.
The global row index is a cumulative count over chunks, so partitions whose lengths dask
does not know (a DataFrame read from Parquet) work too.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mapreg.backends.gram import (
    BlockSummary,
    GramStats,
    absolute_tolerance_stats,
    merge_summaries,
    solve_gaussian_stats,
    summarize_block,
)
from mapreg.families import GaussianFamily

_STATS_FAMILY = GaussianFamily(1.0)  # statistics only: the family's checks ran already


class DaskFold(NamedTuple):
    """One fold of a dask-backed cross-validation: its row counts (no index arrays)."""

    n_train: int
    n_test: int


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """Steele, Lea & Flood's SplitMix64 finaliser, elementwise on uint64 (wraps mod 2**64)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def hashed_fold_ids(rows, k: int, seed: int) -> np.ndarray:
    """Fold ``splitmix64(row + seed) mod k`` of each global row index in ``rows``."""
    rows = np.asarray(rows).astype(np.uint64)
    return (_splitmix64(rows + np.uint64(int(seed) % 2**64)) % np.uint64(k)).astype(np.int64)


def _kfold_ids(rows, n: int, k: int) -> np.ndarray:
    """``KFold(k)``'s fold of each row index: the first ``n % k`` folds one row longer."""
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    return np.searchsorted(np.cumsum(sizes), rows, side="right")


def _fold_id_array(model, cv, random_state, n: int):
    """``(fold ids as a dask array in y's chunks, K)``."""
    import dask.array as da

    y = model._dask.y
    if isinstance(cv, int | np.integer) and not isinstance(cv, bool):
        k = int(cv)
        if not 2 <= k <= n:
            raise ValueError(f"cv must be an integer number of folds in [2, n_samples={n}], "
                             f"got {cv!r}")
        ones = y.map_blocks(lambda b: np.ones(b.shape, np.int64), dtype=np.int64)
        rows = ones.cumsum(axis=0) - 1  # the global row index, chunk sizes known or not
        if random_state is None:
            return rows.map_blocks(_kfold_ids, n, k, dtype=np.int64), k
        return rows.map_blocks(hashed_fold_ids, k, int(random_state), dtype=np.int64), k
    if isinstance(cv, np.ndarray | da.Array) and cv.ndim == 1:
        if cv.shape[0] != n and not np.isnan(cv.shape[0]):
            raise ValueError(f"fold ids must have one entry per row ({n}), got {cv.shape[0]}")
        if isinstance(cv, np.ndarray):
            if np.isnan(y.shape[0]):
                raise ValueError("fold ids as a numpy array need row chunks of known size; "
                                 "pass them as a dask array in the chunks of y")
            ids = np.unique(cv)
            codes = np.searchsorted(ids, cv)  # fold ids -> 0..K-1 in sorted order
            return da.from_array(codes, chunks=(y.chunks[0],)), int(ids.size)
        if cv.numblocks[0] != y.numblocks[0]:
            raise ValueError("fold ids as a dask array must come in the row chunks of y")
        k = int(cv.max().compute()) + 1
        return cv.astype(np.int64), k
    raise ValueError("cv for dask-backed data must be a number of folds or an array of fold "
                     f"ids per row (0..K-1 for a dask array); got {cv!r}")


def _summarize_folds(Xb, yb, fb, k: int) -> tuple[BlockSummary, ...]:
    """The :class:`BlockSummary` of each fold's rows within one chunk."""
    X = np.asarray(Xb, dtype=np.float64)
    y = np.asarray(yb, dtype=np.float64).reshape(-1)
    f = np.asarray(fb).reshape(-1)
    return tuple(summarize_block(X[f == j], y[f == j], _STATS_FAMILY) for j in range(k))


def _merge_folds(a, b):
    return tuple(merge_summaries(u, v) for u, v in zip(a, b, strict=True))


def fold_summaries(model, cv, random_state) -> list[BlockSummary]:
    """The merged summary of every fold's rows: one pass over the data."""
    import dask

    from mapreg.backends.dask_stats import _reduce

    n = model.n_samples  # the first pass (validates the data; cached)
    folds, k = _fold_id_array(model, cv, random_state, n)
    data = model._dask
    leaf = dask.delayed(_summarize_folds, pure=True)
    leaves = [leaf(xb, yb, fb, k) for (xb, yb), fb
              in zip(data._blocks(), folds.to_delayed().ravel(), strict=True)]
    return list(dask.compute(_reduce(leaves, _merge_folds))[0])


def _training(summaries, f: int) -> GramStats:
    """The statistics of every fold but ``f``, merged in row order."""
    rest = [s for j, s in enumerate(summaries) if j != f]
    total = rest[0]
    for s in rest[1:]:
        total = merge_summaries(total, s)
    return GramStats.from_summary(total)


def fold_scores(model, cv, scales, random_state, tol: float, max_iter: int):
    """``(scores (K, len(scales)), folds as DaskFold)``: held-out MSE along the MAP path."""
    if model.family.name != "gaussian":
        raise NotImplementedError(
            "cross-validation of dask-backed data runs from per-fold sufficient statistics: "
            f"the gaussian family only, not {model.family.name!r}; pass X.compute() and "
            "y.compute() when the data fit in memory")
    summaries = fold_summaries(model, cv, random_state)
    if any(s.n_x == 0 for s in summaries):
        raise ValueError("a fold holds no rows: use fewer folds")
    scores = np.empty((len(summaries), len(scales)))
    folds = []
    for f, held in enumerate(summaries):
        train, test = _training(summaries, f), GramStats.from_summary(held)
        tol_abs = absolute_tolerance_stats(train, model.family, model.fit_intercept, tol)
        for i, s in enumerate(scales):
            term = model.prior.with_scale(float(s)).penalty()
            res = solve_gaussian_stats(train, model.family, term,
                                       fit_intercept=model.fit_intercept, tol=tol_abs,
                                       max_iter=max_iter)
            scores[f, i] = test.rss(res.coef, res.intercept) / test.n
        folds.append(DaskFold(train.n, test.n))
    return scores, tuple(folds)


__all__ = ["DaskFold", "fold_scores", "fold_summaries", "hashed_fold_ids"]
