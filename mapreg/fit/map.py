"""The Bayesian side: the posterior mode (MAP) of a model, built from log densities."""

from __future__ import annotations

import warnings

import numpy as np

from mapreg.exceptions import ConvergenceWarning
from mapreg.model import Model
from mapreg.results import MAPResult
from mapreg.solvers import absolute_tolerance, solve


def find_map(model, *, tol: float = 1e-11, max_iter: int = 200, start=None,
             **kwargs) -> MAPResult:
    """Posterior mode of ``model`` with exact zeros and a KKT certificate.

    The objective is the negative log posterior
    ``-sum_i log p(y_i | eta_i) - sum_j log p(w_j)`` with no Jacobian term
    (the mode of the density of the weights themselves). Its non-smooth
    part — the Laplace ``|w_j| / b`` — is handled by coordinate-wise
    soft-thresholding, so coefficients at the mode are exactly zero where
    the subgradient condition ``|dL/dw_j| <= 1/b`` holds.

    Parameters
    ----------
    model : Model or pymc.Model
        A :class:`mapreg.Model`, or your own PyMC model whose free variables
        have Laplace or Normal priors (see :func:`mapreg.interop.pymc_map.find_map_pymc`).
    tol : float
        Relative KKT tolerance: the solver stops once the certificate is below
        ``tol * max(1, ||dL/dw at the null model||_inf)``.
    max_iter : int
        Maximum outer iterations.
    start : array-like, optional
        Starting coefficients for non-convex priors (``GeneralizedNormal`` with
        ``p < 1``, ``StudentT``), whose MAP is a *local* mode that depends on the
        start (default zeros). Convex priors have one mode and ignore it.

    Returns
    -------
    MAPResult
        ``coef``, ``intercept``, ``neg_log_posterior``, ``kkt_violation``,
        ``n_iter``, ``converged``. A :class:`ConvergenceWarning` is emitted when
        the certificate did not reach the tolerance.
    """
    if not isinstance(model, Model):
        import pymc as pm

        if isinstance(model, pm.Model):
            from mapreg.interop.pymc_map import find_map_pymc

            return find_map_pymc(model, **kwargs)
        raise ValueError(f"find_map needs a mapreg.Model or a pymc.Model, got {type(model)}")
    if kwargs:
        raise TypeError(f"unexpected arguments: {sorted(kwargs)}")
    if getattr(model, "has_hyperpriors", False):
        raise ValueError(
            "find_map needs fixed scales, but this model has hyperpriors (noise_prior / "
            "scale_prior): build the Model with fixed noise_sigma and prior scale for the MAP, "
            "or sample the joint posterior with mapreg.sample_posterior"
        )
    if not model.prior.has_mode:
        raise ValueError(
            f"find_map: the {type(model.prior).__name__} prior has no usable mode (its density "
            "is infinite at w = 0, so the posterior mode is degenerate at 0 and there is no "
            "penalty dual). Use mapreg.sample_posterior for this prior."
        )
    if start is not None:
        start = np.asarray(start, dtype=float)
        if start.shape != (model.n_features,):
            raise ValueError(f"start must have shape ({model.n_features},), got {start.shape}")
    tol_abs = absolute_tolerance(model.X, model.y, model.family, model.fit_intercept, tol)

    def objective(coef, intercept):
        return model.neg_log_posterior(coef, intercept)

    out = solve(model.X, model.y, model.family, model.prior.penalty(), objective,
                fit_intercept=model.fit_intercept, tol=tol_abs, max_iter=max_iter, start=start)
    if not out.converged:
        warnings.warn(
            f"find_map did not converge: KKT violation {out.kkt_violation:.3g} > tol "
            f"{tol_abs:.3g} after {out.n_iter} iterations; raise max_iter, or check that the "
            "mode exists (e.g. separable classes with a weak prior)",
            ConvergenceWarning,
            stacklevel=2,
        )
    return MAPResult(
        **vars(out),
        neg_log_posterior=model.neg_log_posterior(out.coef, out.intercept),
        feature_names=model.feature_names,
    )
