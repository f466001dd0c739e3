"""Sufficient statistics of the Gaussian likelihood: the data as ``Z'Z``, ``Z'y``.

The Gibbs kernel, NUTS's PyMC model and the per-draw log density all read the
Gaussian likelihood through these, an O(p**2) instead of O(np) cost per evaluation.
The residual sum of squares is expanded about the least-squares fit ``t0``::

    RSS(theta) = r0 - 2 (theta - t0)'g0 + (theta - t0)' Z'Z (theta - t0),

``r0 = |y - Z t0|**2``, ``g0 = Z'(y - Z t0)``; the identity holds for any ``t0``,
and the least-squares one makes ``g0 ≈ 0`` and avoids the cancellation of
``y'y - 2 theta'Z'y + ...``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class SufficientStats(NamedTuple):
    """``Z'Z``, ``Z'y`` and the least-squares expansion point of the RSS."""

    ZtZ: np.ndarray
    Zty: np.ndarray
    t0: np.ndarray
    r0: float
    g0: np.ndarray
    n: int
    p: int

    def rss(self, theta: np.ndarray) -> np.ndarray:
        """``RSS(theta)`` over the last axis of ``theta`` (any leading axes), clipped at 0."""
        delta = theta - self.t0
        quad = np.einsum("...i,ij,...j->...", delta, self.ZtZ, delta)
        return np.maximum(self.r0 - 2.0 * delta @ self.g0 + quad, 0.0)


def sufficient_stats(X, y, fit_intercept: bool) -> SufficientStats:
    """Gram statistics of ``Z = [X, 1]`` (or ``X``), and the RSS expansion point."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    Z = np.column_stack([X, np.ones(n)]) if fit_intercept else X
    t0 = np.linalg.lstsq(Z, y, rcond=None)[0]
    r = y - Z @ t0
    return SufficientStats(Z.T @ Z, Z.T @ y, t0, float(r @ r), Z.T @ r, n, p)
