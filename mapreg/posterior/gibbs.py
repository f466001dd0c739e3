"""Gibbs samplers for the Gaussian family: Bayesian lasso, Bayesian ridge and the horseshoe.

The conditionals and the numba kernel are in :mod:`mapreg.posterior.gibbs_kernel`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from mapreg.posterior.gibbs_kernel import (  # noqa: F401 - the kernel's codes, used by callers
    FIXED,
    GAMMA_LAM_SQ,
    HALFCAUCHY,
    INVGAMMA,
    PRIOR_GAUSSIAN,
    PRIOR_HORSESHOE,
    PRIOR_LAPLACE,
    gibbs_chain,
)


class SufficientStats(NamedTuple):
    """``Z'Z``, ``Z'y`` and the least-squares expansion point of the RSS."""

    ZtZ: np.ndarray
    Zty: np.ndarray
    t0: np.ndarray
    r0: float
    g0: np.ndarray
    n: int
    p: int


def sufficient_stats(X, y, fit_intercept: bool) -> SufficientStats:
    """Gram statistics of ``Z = [X, 1]`` (or ``X``), and the RSS expansion point.

    ``RSS(theta) = r0 - 2 (theta - t0)'g0 + (theta - t0)'Z'Z(theta - t0)`` exactly,
    for any ``t0``; the least-squares ``t0`` makes ``g0 ≈ 0`` and avoids cancellation.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    Z = np.column_stack([X, np.ones(n)]) if fit_intercept else X
    t0 = np.linalg.lstsq(Z, y, rcond=None)[0]
    r = y - Z @ t0
    return SufficientStats(Z.T @ Z, Z.T @ y, t0, float(r @ r), Z.T @ r, n, p)


class GibbsDraws(NamedTuple):
    """Draws of one Gibbs run, each with leading axes (chain, draw)."""

    coef: np.ndarray
    intercept: np.ndarray
    noise_sigma: np.ndarray
    prior_scale: np.ndarray


def run_gibbs(stats: SufficientStats, *, fit_intercept: bool, prior_kind: int,
              scale_mode: int, scale_params: tuple[float, float], scale_init: float,
              noise_mode: int, noise_params: tuple[float, float], noise_init: float,
              draws: int, tune: int, chains: int, seeds, n_threads: int = 2,
              thin: int = 1) -> GibbsDraws:
    """Run ``chains`` independent chains (in threads; the kernel releases the GIL).

    Each chain makes ``(tune + draws) * thin`` sweeps and keeps every ``thin``-th
    of the last ``draws * thin``.
    """
    k = stats.ZtZ.shape[0]
    theta = np.empty((chains, draws, k))
    noise = np.empty((chains, draws))
    scale = np.empty((chains, draws))

    def one(c):
        gibbs_chain(stats.ZtZ, stats.Zty, stats.t0, stats.r0, stats.g0, stats.n, stats.p,
                    np.random.default_rng(seeds[c]), tune, draws, int(thin), prior_kind,
                    scale_mode,
                    float(scale_params[0]), float(scale_params[1]), float(scale_init),
                    noise_mode, float(noise_params[0]), float(noise_params[1]),
                    float(noise_init), theta[c], noise[c], scale[c])

    if n_threads > 1 and chains > 1:
        with ThreadPoolExecutor(max_workers=min(n_threads, chains)) as pool:
            list(pool.map(one, range(chains)))
    else:
        for c in range(chains):
            one(c)
    intercept = theta[:, :, stats.p] if fit_intercept else np.zeros((chains, draws))
    return GibbsDraws(theta[:, :, : stats.p], intercept, noise, scale)
