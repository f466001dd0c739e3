"""The Bayesian side: the posterior mode (MAP) of a model, built from log densities."""

from __future__ import annotations

import warnings

import numpy as np

from mapreg.backends import check_backend
from mapreg.exceptions import ConvergenceWarning
from mapreg.model import Model
from mapreg.results import MAPResult
from mapreg.solvers import absolute_tolerance, solve
from mapreg.solvers.kkt import failure_reason


def find_map(model, *, tol: float | None = None, max_iter: int | None = None, start=None,
             backend: str = "numpy", **kwargs) -> MAPResult:
    """Posterior mode of ``model`` with exact zeros and a KKT certificate.

    The objective is the negative log posterior
    ``-sum_i log p(y_i | eta_i) - sum_j log p(w_j)`` with no Jacobian term
    (the mode of the density of the weights themselves), minimised through the
    prior's penalty dual ``-log p(w) = pen(w) + const``
    (:meth:`mapreg.priors.Prior.penalty`). The solver path follows the penalty
    (:mod:`mapreg.solvers.dispatch`):

    * Laplace, Gaussian, elastic net (and ``GeneralizedNormal`` with ``p`` 1 or 2),
      Gaussian family: solved exactly — Cholesky for the Gaussian prior, otherwise
      coordinate descent with soft-thresholding then the exact solve on its support;
    * the same priors, Bernoulli and Poisson families: proximal Newton, each model
      step coordinate descent on the local quadratic model plus the exact penalty (an
      exact ``n x n`` solve for the Gaussian prior when ``p > n``);
    * ``GeneralizedNormal`` with other ``p``: proximal Newton with bridge
      coordinate descent, then Newton on the support;
    * ``StudentT``: majorise-minimise (weighted ridge steps), then Newton;
    * any other smooth prior (one you register): damped Newton.

    All but the first are the one proximal-Newton method of
    :mod:`mapreg.solvers.prox_newton`. Non-smooth priors give exact zeros wherever the
    subgradient condition holds (Laplace: ``|dL/dw_j| <= 1/b``).

    Parameters
    ----------
    model : Model or pymc.Model
        A :class:`mapreg.Model`, or your own PyMC model whose free variables
        have Laplace or Normal priors (see :func:`mapreg.interop.pymc_map.find_map_pymc`).
    tol : float, optional
        Relative KKT tolerance: the solver stops once the certificate is below
        ``tol * max(1, ||dL/dw at the null model||_inf)``. Default ``1e-11``
        (``1e-9`` for a PyMC model).
    max_iter : int, optional
        Maximum outer iterations (default 200; 500 for a PyMC model). ``0`` returns the
        start, certified as it stands (``converged`` only if it already is the mode).
    start : array-like, optional
        Starting coefficients for non-convex priors (``GeneralizedNormal`` with
        ``p < 1``, ``StudentT``), whose MAP is a *local* mode that depends on the
        start (default zeros). Convex priors have one mode and ignore it. For a PyMC
        model: a dict of starting values keyed by value-variable name.
    backend : {"numpy", "jax"}
        ``"numpy"`` (default): the paths above, on numpy arrays — or, for a model on
        dask data (:attr:`Model.is_dask`), the same paths from one pass of sufficient
        statistics (gaussian family) or with one map-reduce per Newton step (bernoulli,
        poisson; priors whose penalty is ``a|w| + c w**2``), see
        :mod:`mapreg.backends.dask_stats`. ``"jax"``: jit-compiled proximal gradient and
        proximal Newton in float64 on the device JAX sees
        (:mod:`mapreg.backends.jax_solver`; Laplace, Gaussian and elastic-net priors),
        certified by the same numpy KKT check.

    Returns
    -------
    MAPResult
        ``coef``, ``intercept``, ``neg_log_posterior``, ``kkt_violation``, ``n_iter``,
        ``converged``, ``solver`` (the path), and for non-convex priors
        ``convex=False`` and ``min_curvature`` (see :class:`mapreg.results.FitResult`).
        A :class:`ConvergenceWarning` is emitted when the certificate did not reach
        the tolerance. For a PyMC model, a
        :class:`~mapreg.interop.pymc_map.PyMCMAPResult`.
    """
    check_backend(backend)
    if not isinstance(model, Model):
        if backend != "numpy":
            raise ValueError(f"backend={backend!r} needs a mapreg.Model, not a PyMC model")
        given = {"tol": tol, "max_iter": max_iter, "start": start, **kwargs}
        return _pymc_path(model)(model, **{k: v for k, v in given.items() if v is not None})
    if kwargs:
        raise TypeError(f"unexpected arguments: {sorted(kwargs)}")
    start = _check_model(model, start)
    tol = 1e-11 if tol is None else tol
    max_iter = 200 if max_iter is None else max_iter
    term = model.prior.penalty()

    def objective(coef, intercept):
        return model.neg_log_posterior(coef, intercept)

    if model.is_dask:
        if backend == "jax":
            raise NotImplementedError(_DASK_JAX)
        from mapreg.backends.dask_stats import solve_dask

        out = solve_dask(model._dask, model.family, term, objective,
                         fit_intercept=model.fit_intercept, tol=tol, max_iter=max_iter)
    elif backend == "jax":
        from mapreg.backends.jax_solver import solve_jax

        out = solve_jax(model.X, model.y, model.family, term, fit_intercept=model.fit_intercept,
                        tol=tol, max_iter=max_iter, input_dtypes=model._input_dtypes,
                        start=start)
    else:
        tol_abs = absolute_tolerance(model.X, model.y, model.family, model.fit_intercept, tol)
        out = solve(model.X, model.y, model.family, term, objective,
                    fit_intercept=model.fit_intercept, tol=tol_abs, max_iter=max_iter,
                    start=start)
    if not out.converged:
        warnings.warn(
            f"find_map did not converge: {failure_reason(out)} after {out.n_iter} "
            "iterations; raise max_iter, or check that the mode exists (e.g. separable "
            "classes with a weak prior)",
            ConvergenceWarning,
            stacklevel=2,
        )
    return MAPResult(
        **vars(out),
        neg_log_posterior=model.neg_log_posterior(out.coef, out.intercept),
        feature_names=model.feature_names,
    )


#: Why ``backend="jax"`` does not take dask-backed data.
_DASK_JAX = ("backend='jax' needs the data in one device's memory; a dask-backed model is "
             "fitted by backend='numpy' (sufficient statistics / one map-reduce per Newton "
             "step), or build the Model from X.compute(), y.compute() to use JAX")


def _pymc_path(model):
    """:func:`mapreg.interop.pymc_map.find_map_pymc` for a ``pymc.Model``, else ValueError."""
    import pymc as pm

    if not isinstance(model, pm.Model):
        raise ValueError(f"find_map needs a mapreg.Model or a pymc.Model, got {type(model)}")
    from mapreg.interop.pymc_map import find_map_pymc

    return find_map_pymc


def _check_model(model: Model, start):
    """Refuse a model without a usable mode; ``start`` as a float array of the right shape."""
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
    if start is None:
        return None
    start = np.asarray(start, dtype=float)
    if start.shape != (model.n_features,):
        raise ValueError(f"start must have shape ({model.n_features},), got {start.shape}")
    return start
