"""The frequentist side: ``min L(w) + lam * pen(w)`` with ``lam`` given directly."""

from __future__ import annotations

import warnings

import numpy as np

from mapreg._validation import check_X_y
from mapreg.exceptions import ConvergenceWarning
from mapreg.families import make_family
from mapreg.penalties import make_penalty
from mapreg.results import PenalizedResult
from mapreg.solvers import absolute_tolerance, solve
from mapreg.solvers.kkt import failure_reason


def penalized_fit(
    X,
    y,
    penalty="l1",
    lam: float | None = None,
    family: str = "gaussian",
    noise_sigma: float | None = None,
    fit_intercept: bool = True,
    *,
    tol: float = 1e-11,
    max_iter: int = 200,
    start=None,
    **penalty_params,
) -> PenalizedResult:
    r"""Minimise ``L(X w + w0) + lam * pen(w)``.

    ``L`` is the family's loss, a **sum** over rows (see :mod:`mapreg.families`):
    ``sum (y - eta)^2 / (2 s^2)`` (gaussian, ``s = noise_sigma``),
    ``sum log(1 + e^eta) - y eta`` (bernoulli), ``sum e^eta - y eta`` (poisson).
    ``pen(w)`` is ``sum |w_j|`` for ``"l1"`` and the squared norm ``sum w_j^2`` for
    ``"l2"``; the wider family (see :mod:`mapreg.penalties`) adds ``"bridge"``
    (``lam sum |w_j|**p``, pass ``p=``), ``"elasticnet"`` (``lam sum |w_j| + lam2 sum w_j**2``,
    pass ``lam2=``) and ``"log"`` (``lam sum log(1 + w_j**2/delta)``, pass ``delta=``).
    ``penalty`` may also be a penalty object (then leave ``lam`` out). ``lam``
    defaults to 1. The intercept ``w0`` is not penalised. Non-convex penalties
    (bridge ``p < 1``, log) give a local minimiser from ``start`` (default zeros),
    certified by ``min_curvature > 0``.

    Returns
    -------
    PenalizedResult
        The same fields as a MAP result, with ``objective`` the value above.
    """
    fam = make_family(family, noise_sigma)
    X, y = check_X_y(X, y, copy=False)
    y = fam.validate_y(y)
    if fit_intercept:
        fam.check_intercept_identified(y)
    if isinstance(penalty, str) and lam is None:
        lam = 1.0
    pen = make_penalty(penalty, lam, **penalty_params)
    tol_abs = absolute_tolerance(X, y, fam, fit_intercept, tol)

    def objective(coef, intercept):
        return fam.loss(X @ coef + intercept, y) + pen.value(coef)

    if start is not None:
        start = np.asarray(start, dtype=float)
        if start.shape != (X.shape[1],):
            raise ValueError(f"start must have shape ({X.shape[1]},), got {start.shape}")
    out = solve(X, y, fam, pen, objective, fit_intercept=fit_intercept, tol=tol_abs,
                max_iter=max_iter, start=start)
    if not out.converged:
        warnings.warn(
            f"penalized_fit did not converge: {failure_reason(out)} after {out.n_iter} "
            "iterations",
            ConvergenceWarning,
            stacklevel=2,
        )
    return PenalizedResult(
        **vars(out),
        objective=objective(out.coef, out.intercept),
        penalty=pen.name,
        lam=pen.lam,
    )


__all__ = ["penalized_fit"]
