r"""Dask arrays and DataFrames in: one pass for the statistics, one per Newton step.

:class:`DaskData` holds ``X`` and ``y`` as dask arrays split into chunks of rows (a dask
DataFrame's partitions, or an array's row chunks) and reduces functions of the chunks
with a tree of :func:`dask.delayed` merges, computed by whatever scheduler is active —
the threaded one by default, a ``dask.distributed`` ``Client`` once the user has created
one. Only ``O(p**2)`` numbers per chunk travel; the rows stay where they are.

* **The first pass** (:meth:`DaskData.summary`) computes ``n``, the means and the centred
  cross-products of ``(X, y)`` (:mod:`mapreg.backends.gram`) and, in the same pass, the
  checks of the in-memory path: the first non-finite entry of ``X`` and ``y``, the first
  label outside the family's support, the constant-label check of a flat intercept —
  with the same one-line messages and rows counted over all chunks. Data are therefore
  validated lazily: building a :class:`mapreg.Model` computes nothing, the first fit
  does.
* **The Gaussian family** then needs nothing else: :func:`solve_dask` runs the exact
  path from the statistics (:func:`~mapreg.backends.gram.solve_gaussian_stats`), and
  the log likelihood is a function of them.
* **Posteriors** (:mod:`mapreg.posterior`): the gaussian family's exact and Gibbs draws,
  empirical Bayes and the Laplace approximation read ``X'X``, ``X'y``, ``y'y`` and ``n``
  from the same statistics (:func:`mapreg.posterior.sufficient.gram`); NUTS is refused
  (:func:`mcmc_refusal`). Cross-validation makes one pass of its own for per-fold
  statistics (:mod:`mapreg.backends.dask_cv`).
* **Bernoulli and Poisson**: the proximal Newton of :mod:`mapreg.solvers.prox_newton` on
  :class:`DaskGLMProblem`, whose loss, gradient ``[X, 1]' dL/deta`` and ``[X, 1]' H [X, 1]``
  at a point come from *one* map-reduce (:meth:`DaskData.evaluate`), cached, so that a
  Newton step whose full length is accepted costs one pass over the data. The model
  step is the in-memory path's coordinate descent on that ``(p+1) x (p+1)`` matrix, with
  its exact zeros and KKT certificate.

Both reductions are cached by the dask names of ``X`` and ``y`` (dask's own tokens of
the computation that produces them) and the family: a path over prior scales, or
:func:`mapreg.verify_equivalence`, makes the first pass once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from mapreg.backends.gram import (
    BlockSummary,
    GramStats,
    absolute_tolerance_stats,
    add,
    check_summary,
    gaussian_curvature,
    glm_block,
    merge_summaries,
    solve_gaussian_stats,
    summarize_block,
)
from mapreg.families import Family
from mapreg.results import FitResult
from mapreg.solvers.glm import MAX_SWEEPS, GLMProblem
from mapreg.solvers.kernels import cd_gram
from mapreg.solvers.prox_newton import prox_newton

#: Passes over the data made by this process (``"summary"``, ``"glm"``): tests count them.
PASSES = {"summary": 0, "glm": 0}
_SUMMARIES: OrderedDict = OrderedDict()
_EVALUATIONS: OrderedDict = OrderedDict()
_CACHE_SIZE = {"summary": 32, "glm": 16}
_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every cached reduction (the next fit makes its passes again)."""
    with _LOCK:
        _SUMMARIES.clear()
        _EVALUATIONS.clear()


def _cached(table, kind, key, compute):
    with _LOCK:
        if key in table:
            table.move_to_end(key)
            return table[key]
    value = compute()
    with _LOCK:
        PASSES[kind] += 1
        table[key] = value
        while len(table) > _CACHE_SIZE[kind]:
            table.popitem(last=False)
    return value


def _numeric(dtype) -> bool:
    try:
        return np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_)
    except TypeError:  # a pandas extension dtype
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        return is_numeric_dtype(dtype) or is_bool_dtype(dtype)


def _as_matrix(X):
    """``(X as a float64 dask array chunked by rows only, column names or None)``."""
    import dask.array as da

    columns = None
    if hasattr(X, "to_dask_array") and X.ndim == 2:  # a dask DataFrame
        _check_frame_dtypes(X)
        columns = [str(c) for c in X.columns]
        X = X.to_dask_array()
    elif hasattr(X, "to_dask_array"):  # a dask Series
        raise ValueError("X must be a 2-D array (n_samples, n_features), got a dask Series")
    elif not isinstance(X, da.Array):
        X = da.from_array(np.asarray(X))
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (n_samples, n_features), got shape {X.shape}")
    if not _numeric(X.dtype):
        raise ValueError(f"X must be numeric: dtype {X.dtype}")
    if X.shape[1] < 1:
        raise ValueError("X has no columns")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X.astype(np.float64), columns


def _as_vector(y, X):
    """``y`` as a float64 dask array in the row chunks of ``X``."""
    import dask.array as da

    if hasattr(y, "to_dask_array"):  # a dask Series or one-column DataFrame
        if y.ndim == 2:
            if len(y.columns) != 1:
                raise ValueError(f"y must be a 1-D array (n_samples,), got {len(y.columns)} "
                                 "columns")
            y = y[y.columns[0]]
        y = y.to_dask_array()
    elif not isinstance(y, da.Array):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim == 1 and not np.isnan(X.shape[0]) and y.shape[0] == X.shape[0]:
            y = da.from_array(y, chunks=(X.chunks[0],))
        else:
            y = da.from_array(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array (n_samples,), got shape {y.shape}")
    if not _numeric(y.dtype):
        raise ValueError(f"y must be numeric: dtype {y.dtype}")
    known = not (np.isnan(X.shape[0]) or np.isnan(y.shape[0]))
    if known:
        from mapreg._validation import check_rows

        check_rows(int(X.shape[0]), int(y.shape[0]))
        if y.chunks[0] != X.chunks[0]:
            y = y.rechunk((X.chunks[0],))
    elif y.numblocks[0] != X.numblocks[0]:
        raise ValueError(
            "X and y must come in the same partitions (e.g. X = df[features], y = df[target] "
            f"of one dask DataFrame): X has {X.numblocks[0]} chunks of rows, y has "
            f"{y.numblocks[0]}")
    return y.astype(np.float64)


def _one_frame(X, y):
    """``(one float64 dask array holding X's columns then y, X's column names)`` for a
    dask DataFrame ``X`` and Series ``y``; ``None`` for other inputs.

    Converted apart, dask may plan their partitions differently (it fuses the narrow
    partitions of a single column read from Parquet), and ``X`` and ``y`` must share row
    chunks; assigned to one frame, they are read, aligned and chunked together.
    """
    frame_x = hasattr(X, "to_dask_array") and X.ndim == 2
    series_y = hasattr(y, "to_dask_array") and (y.ndim == 1 or len(y.columns) == 1)
    if not (frame_x and series_y):
        return None
    _check_frame_dtypes(X)
    if y.ndim == 2:
        y = y[y.columns[0]]
    if not _numeric(y.dtype):
        return None  # refused with its message by _as_vector
    try:
        both = X.assign(__mapreg_y__=y).astype(np.float64).to_dask_array()
    except (ValueError, TypeError, NotImplementedError):  # not alignable: refused later
        return None
    return both, [str(c) for c in X.columns]


def _check_frame_dtypes(X) -> None:
    bad = [f"{c!r} ({t})" for c, t in X.dtypes.items() if not _numeric(t)]
    if bad:
        raise ValueError(f"X must be numeric: column {', '.join(bad)}")


def _reduce(leaves, merge):
    """One delayed value: ``merge`` applied pairwise over ``leaves``, in row order."""
    import dask

    merge = dask.delayed(merge, pure=True)
    while len(leaves) > 1:
        nxt = [merge(a, b) for a, b in zip(leaves[::2], leaves[1::2], strict=False)]
        leaves = nxt + ([leaves[-1]] if len(leaves) % 2 else [])
    return leaves[0]


class DaskData:
    """``X`` and ``y`` of one model as dask arrays, with the reductions the solvers need.

    Parameters
    ----------
    X : dask array or dask DataFrame, shape (n_samples, n_features)
        Numeric; a DataFrame's column names become the feature names.
    y : dask array, dask Series (one column) or array-like
        In the row chunks of ``X`` (a Series of the same DataFrame, or an array with the
        same number of rows, rechunked to match).
    family : Family
        The likelihood family (its label checks run in the first pass).

    Building one checks shapes and dtypes only; :meth:`summary` is the first pass.
    """

    def __init__(self, X, y, family: Family):
        joined = _one_frame(X, y)
        if joined is not None:  # a DataFrame and a Series: one array, one set of chunks
            both, columns = joined
            self.X = _as_matrix(both[:, :-1])[0]
            self.y, self.columns = _as_vector(both[:, -1], self.X), columns
        else:
            self.X, self.columns = _as_matrix(X)
            self.y = _as_vector(y, self.X)
        self.family = family
        self.key = (self.X.name, self.y.name, family)

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def known_n_samples(self) -> int | None:
        """The number of rows if dask knows it without computing (else ``None``)."""
        n = self.X.shape[0]
        if np.isnan(n):
            with _LOCK:
                done = _SUMMARIES.get(self.key)
            return None if done is None else done.n_x
        return int(n)

    @property
    def n_samples(self) -> int:
        known = self.known_n_samples
        return known if known is not None else self.summary().n_x

    def _blocks(self):
        xs = self.X.to_delayed().ravel()
        ys = self.y.to_delayed().ravel()
        return list(zip(xs, ys, strict=True))

    # ---------------------------------------------------------------- the first pass
    def summary(self) -> BlockSummary:
        """The merged :class:`~mapreg.backends.gram.BlockSummary` of every chunk (cached)."""
        import dask

        def compute():
            leaf = dask.delayed(summarize_block, pure=True)
            leaves = [leaf(xb, yb, self.family) for xb, yb in self._blocks()]
            return dask.compute(_reduce(leaves, merge_summaries))[0]

        return _cached(_SUMMARIES, "summary", self.key, compute)

    def validated(self, fit_intercept: bool) -> BlockSummary:
        """:meth:`summary`, after the checks of the in-memory path (``ValueError`` if not)."""
        s = self.summary()
        check_summary(s, self.family, fit_intercept)
        return s

    def stats(self) -> GramStats:
        return GramStats.from_summary(self.summary())

    def loss_constant(self) -> float:
        """``-sum loglik - L`` over all rows (:meth:`Family.loss_constant`)."""
        return float(self.summary().loss_constant)

    # ---------------------------------------------------------------- GLM passes
    def evaluate(self, coef, intercept):
        """``(L, [X, 1]' dL/deta, [X, 1]' H [X, 1])`` at ``(coef, intercept)``: one pass.

        Cached by the point: the line search's objective at a trial point and the next
        iteration's gradient and Hessian at the accepted one are the same pass.
        """
        import dask

        coef = np.ascontiguousarray(coef, dtype=np.float64)
        key = (self.key, coef.tobytes(), float(intercept))

        def compute():
            leaf = dask.delayed(glm_block, pure=True)
            leaves = [leaf(xb, yb, self.family, coef, float(intercept))
                      for xb, yb in self._blocks()]
            return dask.compute(_reduce(leaves, add))[0]

        return _cached(_EVALUATIONS, "glm", key, compute)

    def loss(self, coef, intercept) -> float:
        """The penalised-regression loss ``L(X w + c)`` (:meth:`Family.loss`)."""
        coef = np.asarray(coef, dtype=float)
        if self.family.is_quadratic:  # gaussian: a function of the statistics
            h = gaussian_curvature(self.family)
            return 0.5 * h * self.stats().rss(coef, intercept)
        return float(self.evaluate(coef, intercept)[0])

    def to_numpy(self, max_entries: int | None = None):
        """``(X, y)`` computed into memory, or ``None`` when ``X`` has more than
        ``max_entries`` entries (``None``: no limit)."""
        import dask

        n = self.n_samples
        if max_entries is not None and n * self.n_features > max_entries:
            return None
        X, y = dask.compute(self.X, self.y)
        return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)


class DaskGLMProblem(GLMProblem):
    """``L(X w + c) + a |w| + c w**2`` for :func:`~mapreg.solvers.prox_newton.prox_newton`
    with every data-sized computation a map-reduce (:meth:`DaskData.evaluate`).

    The model step is the in-memory :class:`~mapreg.solvers.glm.CDProblem`'s Gram step:
    coordinate descent on ``[X, 1]' H [X, 1]`` plus the exact term.
    """

    name = "prox-newton-gram"

    def __init__(self, data: DaskData, family, term, objective, fit_intercept):
        self.data, self.family, self.term = data, family, term
        self.fit_intercept = bool(fit_intercept)
        self.p = data.n_features
        self._objective = objective
        a, c = term.quadratic_weights()
        k = self.p + self.fit_intercept
        self.l1a, self.l2a = np.zeros(k), np.zeros(k)
        self.l1a[: self.p], self.l2a[: self.p] = float(a), float(c)
        self._hess = None

    def initial_point(self, start=None):
        """``w = 0`` and the intercept-only fit (the in-memory path's start)."""
        st = self.data.stats()
        c0 = self.family.initial_intercept(np.array([st.y_mean])) if self.fit_intercept else 0
        return self.join(np.zeros(self.p), c0)

    def _at(self, x):
        coef, c = self.split(x)
        return self.data.evaluate(coef, c)

    def gradient(self, x):
        _, grad, hess = self._at(x)
        k = self.p + self.fit_intercept
        self._hess = hess[:k, :k]
        return grad[:k].copy()

    def newton_step(self, x, grad, inner_tol):
        w = x.copy()
        cd_gram(self._hess, grad.copy(), w, self.l1a, self.l2a, inner_tol, MAX_SWEEPS)
        return w - x


def quadratic_penalty_refusal(term) -> str | None:
    """Why ``term`` has no path on dask-backed data (``None`` when it has one)."""
    if term.quadratic_weights() is not None:
        return None
    return (f"dask-backed data support penalties a|w| + c w**2 (the Laplace, Gaussian and "
            f"ElasticNet priors, GeneralizedNormal with p = 1 or 2); the {term.name!r} "
            "penalty needs the in-memory solvers: pass X.compute() and y.compute() when "
            "the data fit in memory")


def solve_dask(data: DaskData, family, term, objective, *, fit_intercept: bool, tol: float,
               max_iter: int) -> FitResult:
    """Minimise ``L(X w + c) + term(w)`` on dask-backed data; ``tol`` is *relative*.

    The first pass validates the data (the in-memory path's errors) and gives the
    statistics; the absolute tolerance is ``tol * max(1, ||X'dL/deta at the null
    model||_inf)``, as in :func:`mapreg.solvers.kkt.absolute_tolerance`.
    """
    reason = quadratic_penalty_refusal(term)
    if reason is not None:
        raise NotImplementedError(reason)
    data.validated(fit_intercept)
    if family.is_quadratic:
        st = data.stats()
        tol_abs = absolute_tolerance_stats(st, family, fit_intercept, tol)
        return solve_gaussian_stats(st, family, term, fit_intercept=fit_intercept,
                                    tol=tol_abs, max_iter=max_iter)
    problem = DaskGLMProblem(data, family, term, objective, fit_intercept)
    x0 = problem.initial_point()
    grad0 = problem.gradient(x0)  # the first iteration's pass: the null-model gradient
    tol_abs = tol * max(1.0, float(np.max(np.abs(grad0[: problem.p]))))
    out = prox_newton(problem, x0, tol=tol_abs, max_iter=max_iter)
    coef, intercept = problem.split(out.x)
    return FitResult(coef, intercept, out.kkt, tol_abs, out.n_iter, out.converged,
                     problem.name)


def mcmc_refusal(model) -> str | None:
    """Why MCMC does not run on ``model``'s dask-backed data (``None`` when it may)."""
    if not getattr(model, "is_dask", False):
        return None
    return ("its data are dask-backed, and MCMC evaluates the likelihood on every row at "
            "every step: on dask data, find_map gives the mode (with its KKT certificate) "
            "from one pass per Newton step, laplace_approximation a Gaussian at it, and the "
            "gaussian family samples exactly from X'X, X'y (sampler='exact' for a Gaussian "
            "prior, 'gibbs' for Laplace / horseshoe); for NUTS, bring the data into memory "
            "on one large machine (Model(X.compute(), y.compute(), ...)) and sample there, "
            "e.g. with sampler='numpyro' (NUTS through JAX, on a GPU if JAX sees one)")


__all__ = ["PASSES", "DaskData", "DaskGLMProblem", "clear_cache", "mcmc_refusal", "solve_dask"]
