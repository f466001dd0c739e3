"""The frequentist side: ``min L(w) + lam * pen(w)`` with ``lam`` given directly."""

from __future__ import annotations

import warnings

import numpy as np

from mapreg._validation import check_X_y
from mapreg.backends import check_backend, is_dask
from mapreg.exceptions import ConvergenceWarning
from mapreg.families import make_family
from mapreg.fit.map import _DASK_JAX
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
    backend: str = "numpy",
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

    ``X`` and ``y`` may be dask arrays (or a dask DataFrame and Series): the fit then
    runs from one pass of sufficient statistics (gaussian) or one map-reduce per Newton
    step (other families), for penalties ``a|w| + c w**2`` (:mod:`mapreg.backends.
    dask_stats`). ``backend="jax"`` runs the jit-compiled float64 solver of
    :mod:`mapreg.backends.jax_solver` (``"l1"``, ``"l2"``, ``"elasticnet"``; float32 input
    is refused), certified by the same numpy KKT check.

    Returns
    -------
    PenalizedResult
        The same fields as a MAP result, with ``objective`` the value above.
    """
    check_backend(backend)
    fam = make_family(family, noise_sigma)
    data = None
    if is_dask(X) or is_dask(y):
        from mapreg.backends.dask_stats import DaskData

        data = DaskData(X, y, fam)  # values are checked in the first pass
        p = data.n_features
    else:
        dtypes = (getattr(X, "dtype", None), getattr(y, "dtype", None))
        X, y = check_X_y(X, y, copy=False)
        y = fam.validate_y(y)
        if fit_intercept:
            fam.check_intercept_identified(y)
        p = X.shape[1]
    if isinstance(penalty, str) and lam is None:
        lam = 1.0
    pen = make_penalty(penalty, lam, **penalty_params)

    def objective(coef, intercept):
        if data is not None:
            return data.loss(coef, intercept) + pen.value(coef)
        return fam.loss(X @ coef + intercept, y) + pen.value(coef)

    if start is not None:
        start = np.asarray(start, dtype=float)
        if start.shape != (p,):
            raise ValueError(f"start must have shape ({p},), got {start.shape}")
    if data is not None:
        if backend == "jax":
            raise NotImplementedError(_DASK_JAX)
        from mapreg.backends.dask_stats import solve_dask

        out = solve_dask(data, fam, pen, objective, fit_intercept=fit_intercept, tol=tol,
                         max_iter=max_iter)
    elif backend == "jax":
        from mapreg.backends.jax_solver import solve_jax

        out = solve_jax(X, y, fam, pen, fit_intercept=fit_intercept, tol=tol,
                        max_iter=max_iter, input_dtypes=dtypes)
    else:
        tol_abs = absolute_tolerance(X, y, fam, fit_intercept, tol)
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
