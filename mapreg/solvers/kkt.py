"""Certificates: the KKT violation (first order) and the smallest curvature (second order).

Every solver path stops on :func:`kkt_violation`, recomputed from scratch at the
point it returns: ``max_j dist(-dL/dw_j, subdifferential of the term at w_j)``
together with ``|dL/dc|`` for the (flat-prior) intercept. Non-convex paths add
:func:`min_curvature`: the smallest eigenvalue of the Hessian of the objective on
the support and the intercept; with the first-order conditions met, a positive value
makes the point a strict local minimum (for the bridge with ``p < 1`` the zero
coordinates are locally optimal on their own: ``|w|**p`` has infinite slope at 0).
"""

from __future__ import annotations

import math

import numpy as np

from mapreg.families import Family


def kkt_violation(X, y, family: Family, term, coef, intercept, fit_intercept) -> float:
    """Largest violation of the optimality conditions at ``(coef, intercept)``.

    ``term`` supplies ``subdiff_distance(w, grad)`` (a prior or a penalty). The
    intercept, when fitted, has a flat prior, so its condition is ``dL/dc = 0``.
    """
    d = family.dloss(X @ coef + intercept, y)
    grad = X.T @ d
    worst = float(np.max(term.subdiff_distance(coef, grad), initial=0.0))
    if fit_intercept:
        worst = max(worst, abs(float(np.sum(d))))
    return worst


def absolute_tolerance(X, y, family: Family, fit_intercept: bool, tol: float) -> float:
    """``tol`` scaled by the size of the loss gradient at the null model (at least 1)."""
    c0 = family.initial_intercept(y) if fit_intercept else 0.0
    d0 = family.dloss(np.full(len(y), c0), y)
    return tol * max(1.0, float(np.max(np.abs(X.T @ d0))))


def augment(X, fit_intercept):
    """``[X, 1]`` when the intercept is fitted, else ``X``."""
    return np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X


def hessian(X, y, family: Family, term, coef, intercept, fit_intercept, idx):
    """Hessian of ``L(X w + c) + term(w)`` over coefficients ``idx`` (and the intercept)."""
    Xa = augment(X[:, idx], fit_intercept)
    h = family.d2loss(X @ coef + intercept, y)
    H = Xa.T @ (h[:, None] * Xa)
    diag = term.hess(coef)[idx]
    H[np.arange(len(idx)), np.arange(len(idx))] += diag
    return H


def min_curvature(X, y, family: Family, term, coef, intercept, fit_intercept) -> float:
    """Smallest eigenvalue of the Hessian restricted to the support (and the intercept).

    Smooth terms use every coefficient; others (the bridge) only the non-zeros, where
    they are twice differentiable.
    """
    idx = np.flatnonzero(coef) if not term.smooth else np.arange(len(coef))
    if idx.size == 0 and not fit_intercept:
        return math.inf
    H = hessian(X, y, family, term, coef, intercept, fit_intercept, idx)
    return float(np.linalg.eigvalsh(0.5 * (H + H.T))[0])


def failure_reason(out) -> str:
    """Why a :class:`~mapreg.results.FitResult` is not ``converged``, in words."""
    kkt, tol = out.kkt_violation, out.tol
    if not kkt <= tol:
        return f"KKT violation {kkt:.3g} > tol {tol:.3g}"
    if not out.convex and not out.min_curvature > 0.0:
        return (f"KKT violation {kkt:.3g} <= tol {tol:.3g}, but the smallest curvature on the "
                f"support is {out.min_curvature:.3g} (no strict local minimum)")
    return (f"KKT violation {kkt:.3g} <= tol {tol:.3g}, but the support is not settled (an "
            "exact one-coordinate step would still change a zero or a sign)")
