"""Column scaling and a plug-in noise level: statistics of the data (CLI, estimators)."""

from __future__ import annotations

import math

import numpy as np

from mapreg.exceptions import DataError


def standardize(X: np.ndarray, feature_names) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale each column to mean 0 and standard deviation 1 (divisor n).

    Returns
    -------
    Xs, mean, scale : ndarray
        The standardised matrix and the column means and standard deviations, so
        that ``coef_original = coef_standardised / scale``.

    Raises
    ------
    DataError
        If a column is constant (it cannot be scaled to unit variance).
    """
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    const = np.flatnonzero(scale == 0.0)
    if const.size:
        raise DataError(
            f"column {feature_names[const[0]]!r} is constant, so it cannot be standardised; "
            "drop it or leave out --standardize"
        )
    return (X - mean) / scale, mean, scale


def estimate_noise_sigma(X: np.ndarray, y: np.ndarray, fit_intercept: bool = True) -> float:
    """A plug-in noise standard deviation from a least-squares fit's residuals.

    ``sqrt(RSS / (n - rank))`` of the minimum-norm least-squares fit of ``y`` on
    ``X`` (plus a column of ones when ``fit_intercept``). When that is zero or
    undefined (as many columns as rows, an exact fit) it falls back to the
    standard deviation of ``y``, and to ``1.0`` when ``y`` is constant.

    This is an empirical-Bayes shortcut for when no noise level is known; it
    uses the data twice, so the posterior it gives is slightly too confident.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    A = np.column_stack([np.ones(len(y)), X]) if fit_intercept else X
    coef, _, rank, _ = np.linalg.lstsq(A, y, rcond=None)
    dof = len(y) - int(rank)
    if dof > 0:
        r = y - A @ coef
        s = math.sqrt(float(r @ r) / dof)
        if math.isfinite(s) and s > 1e-12 * max(1.0, float(np.max(np.abs(y)))):
            return s
    s = float(np.std(y))
    return s if s > 0.0 and math.isfinite(s) else 1.0
