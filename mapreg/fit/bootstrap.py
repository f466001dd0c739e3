r"""The nonparametric bootstrap of the MAP: refits on rows drawn with replacement.

The posterior answers "how sure are we, *given the model*"; the bootstrap answers "how
much would the mode move with another sample of rows" — the frequentist spread of the
same estimator. For a sparse prior the question users ask most is *how often is feature
j selected* (``selection_frequency``, the stability-selection count of Meinshausen &
Bühlmann 2010 on bootstrap samples instead of halves).

Replicate ``b`` refits ``model``'s MAP on the rows ``indices[b]`` (``n`` draws with
replacement, from ``numpy.random.default_rng(random_state)``, drawn up front so the
answer does not depend on ``n_jobs``). The replicates run through
:class:`joblib.Parallel` in ``n_jobs`` batches: ``None`` defers to an enclosing
``joblib.parallel_config``, so ``backend="dask"`` spreads them over a cluster unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mapreg.fit.map import find_map
from mapreg.model import Model

__all__ = ["BootstrapResult", "bootstrap"]


@dataclass(frozen=True)
class BootstrapResult:
    """MAP fits on ``n_boot`` bootstrap samples of the rows.

    Attributes
    ----------
    coef : ndarray, shape (n_boot, p)
        The MAP coefficients of each replicate (exact zeros where the prior has them).
    intercept : ndarray, shape (n_boot,)
    converged : ndarray of bool, shape (n_boot,)
        Each replicate's KKT certificate (:attr:`mapreg.MAPResult.converged`).
    indices : ndarray of int, shape (n_boot, n)
        The rows of each replicate.
    estimate : MAPResult
        The MAP on all rows.
    feature_names : tuple of str
    """

    coef: np.ndarray
    intercept: np.ndarray
    converged: np.ndarray
    indices: np.ndarray
    estimate: object
    feature_names: tuple[str, ...]

    @property
    def n_boot(self) -> int:
        return int(self.coef.shape[0])

    @property
    def selection_frequency(self) -> np.ndarray:
        """Fraction of replicates in which each coefficient is not exactly zero."""
        return np.mean(self.coef != 0.0, axis=0)

    @property
    def std(self) -> np.ndarray:
        """Bootstrap standard error of each coefficient (``ddof=1``)."""
        return self.coef.std(axis=0, ddof=1)

    def interval(self, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval ``(lower, upper)`` holding ``level`` of the replicates.

        The ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of each coefficient (numpy's
        default linear interpolation). For a sparse prior an interval that reaches 0 is
        often *exactly* 0 at one end: the feature was dropped in that share of replicates.
        """
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie in (0, 1), got {level!r}")
        q = np.quantile(self.coef, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=0)
        return q[0], q[1]

    def summary(self):
        """A pandas DataFrame: MAP, bootstrap std, 90 % interval, selection frequency."""
        import pandas as pd

        lo, hi = self.interval(0.9)
        return pd.DataFrame({"map": self.estimate.coef, "boot_std": self.std, "q05": lo,
                             "q95": hi, "selected": self.selection_frequency},
                            index=list(self.feature_names))


def _fit_rows(model: Model, batch, tol, max_iter):
    """``(coef, intercept, converged)`` of the MAP on each row set in ``batch``."""
    out = []
    for rows in batch:
        sub = Model(model.X[rows], model.y[rows], prior=model.prior, family=model.family,
                    fit_intercept=model.fit_intercept, feature_names=model.feature_names)
        res = find_map(sub, tol=tol, max_iter=max_iter)
        out.append((res.coef, res.intercept, res.converged))
    return out


def _check_n_boot(n_boot) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    return int(n_boot)


def bootstrap(model: Model, n_boot: int = 200, n_jobs: int | None = None, *,
              random_state=None, tol: float = 1e-11, max_iter: int = 200) -> BootstrapResult:
    """Refit the MAP of ``model`` on ``n_boot`` bootstrap samples of its rows.

    Parameters
    ----------
    model : Model
        An in-memory model whose prior has a mode and whose noise and prior scale are
        fixed (no hyperpriors).
    n_boot : int
        Number of replicates (at least 2).
    n_jobs : int, optional
        Replicates run in parallel through joblib, in about ``n_jobs`` batches; ``None``
        defers to ``joblib.parallel_config`` (``backend="dask"`` scales out unchanged).
    random_state : int or numpy Generator, optional
        Seeds the row draws (the answer is the same for every ``n_jobs``).
    tol, max_iter :
        Passed to every MAP fit.

    Returns
    -------
    BootstrapResult

    Warns
    -----
    ConvergenceWarning
        From each replicate whose MAP is not certified (``converged`` records it too).
    """
    from joblib import Parallel, delayed, effective_n_jobs

    if not isinstance(model, Model):
        raise ValueError(f"bootstrap needs a mapreg.Model, got {type(model).__name__}")
    if model.is_dask:
        raise NotImplementedError("bootstrap resamples rows in memory; a dask-backed model is "
                                  "out of core: bootstrap a sample of it, or use "
                                  "mapreg.laplace_approximation for the spread")
    if not model.prior.has_mode:
        raise ValueError(f"the {model.prior.name} prior has no posterior mode to bootstrap; "
                         "sample its posterior with mapreg.sample_posterior")
    if model.has_hyperpriors:
        raise ValueError("bootstrap refits the MAP at a fixed noise and prior scale: build the "
                         "Model without noise_prior / scale_prior")
    n_boot = _check_n_boot(n_boot)
    estimate = find_map(model, tol=tol, max_iter=max_iter)
    n = model.n_samples
    indices = np.random.default_rng(random_state).integers(0, n, size=(n_boot, n))
    n_batches = max(1, min(n_boot, effective_n_jobs(n_jobs)))
    size = math.ceil(n_boot / n_batches)
    batches = [indices[i:i + size] for i in range(0, n_boot, size)]
    parts = Parallel(n_jobs=n_jobs)(delayed(_fit_rows)(model, b, tol, max_iter)
                                    for b in batches)
    fits = [f for part in parts for f in part]
    return BootstrapResult(
        coef=np.array([f[0] for f in fits]),
        intercept=np.array([f[1] for f in fits], dtype=float),
        converged=np.array([bool(f[2]) for f in fits]),
        indices=indices, estimate=estimate, feature_names=tuple(model.feature_names))
