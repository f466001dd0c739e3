r"""The Laplace approximation: a Gaussian at the mode with the curvature of the posterior there.

With ``theta = (w, [w0])`` and ``theta*`` the MAP (:func:`mapreg.find_map`),

.. math::

    p(\theta \mid y) \approx N(\theta^*, H^{-1}), \qquad
    H = \nabla^2_\theta [-\log p(\theta \mid y)]_{\theta^*}
      = Z^\top \operatorname{diag}(L''(\eta^*)) Z + \operatorname{diag}(\mathrm{pen}''(w^*), 0),

``Z = [X, 1]``, ``L''`` the family's ``d2loss`` (the likelihood's curvature in ``eta``) and
``pen''`` the penalty's, i.e. the prior's (``-log p(w) = pen(w) + const``); the flat
intercept adds nothing.

* **Gaussian prior, Gaussian noise**: ``-log p(theta | y)`` is quadratic, so the
  approximation *is* the posterior (:mod:`mapreg.posterior.exact`), and
  :attr:`LaplaceApproximation.log_evidence` is the exact evidence
  (:func:`mapreg.log_evidence_gaussian`).
* **Smooth priors, other families**: a second-order expansion, good when the likelihood
  dominates.
* **Priors with a kink at 0 (Laplace, elastic net)**: ``-log p`` has no Hessian at
  ``w_j = 0`` — the MAP's exact zeros sit exactly on the kink. The approximation is made on
  the **support** (the nonzero coordinates, where ``pen''`` exists: 0 for the L1 part) and
  each zero is a **point mass at 0**: variance 0, all draws exactly 0. That is the mode's
  picture, not the posterior's: under a continuous Laplace prior ``P(w_j = 0 | y) = 0`` and
  the posterior of a "zero" coefficient is a spread, kinked density around 0
  (:func:`mapreg.compare_mode_posterior` shows it on real draws), while the support's
  marginals ignore the pull of the kink on their neighbours. The evidence is then not
  approximated (``log_evidence`` is NaN).

Dask-backed models (:attr:`mapreg.Model.is_dask`): ``H`` comes from the one-pass
statistics (gaussian) or from one map-reduce of ``[X, 1]' diag(L'') [X, 1]`` at the MAP
(bernoulli, poisson); :meth:`LaplaceApproximation.sample` then stores no per-row group
(``attrs["row_groups"]``) and, off the gaussian family, no ``lp`` (NaN: it would take a
pass per draw).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_solve

from mapreg.fit.map import find_map
from mapreg.model import Model
from mapreg.results import MAPResult

__all__ = ["LaplaceApproximation", "laplace_approximation", "penalty_hessian"]


def penalty_hessian(penalty, w) -> np.ndarray:
    """``pen''(w_j)`` elementwise where it exists (off zero for a kinked penalty).

    From ``penalty.hess``; for a penalty ``a |w| + c w**2`` without one
    (``quadratic_weights``), ``2 c``.
    """
    w = np.asarray(w, dtype=float)
    try:
        return np.asarray(penalty.hess(w), dtype=float)
    except NotImplementedError:
        weights = penalty.quadratic_weights()
        if weights is None:
            raise ValueError(f"the {penalty.name} penalty states no second derivative: no "
                             "Laplace approximation") from None
        return np.full(w.shape, 2.0 * weights[1])


@dataclass(frozen=True, eq=False)
class LaplaceApproximation:
    """``N(mean, cov)`` over ``theta = (coef, [intercept])`` at the MAP.

    Attributes
    ----------
    mean : ndarray, shape (k,)
        The MAP ``(coef, intercept)`` (``k = p + 1``; ``p`` without an intercept).
    cov : ndarray, shape (k, k)
        ``H^{-1}`` on the free coordinates; rows and columns of coefficients off the
        support are 0 (point masses at 0).
    support : ndarray of bool, shape (p,)
        The coefficients approximated by a Gaussian: all of them for a smooth prior, the
        MAP's nonzeros for a prior with a kink at 0.
    hessian : ndarray
        ``H`` on the free coordinates (support, then intercept).
    map : MAPResult
    log_evidence : float
        ``-neg_log_posterior(theta*) + (m/2) log(2 pi) - (1/2) log|H|`` (``m`` free
        coordinates): exact for Gaussian prior + Gaussian noise; NaN when the support is
        restricted (the point masses make it no evidence of this model).
    model : Model
    """

    mean: np.ndarray
    cov: np.ndarray
    support: np.ndarray
    hessian: np.ndarray
    map: MAPResult
    log_evidence: float
    model: Model

    @property
    def free(self) -> np.ndarray:
        """Indices into ``theta`` of the Gaussian coordinates (support, then intercept)."""
        idx = np.flatnonzero(self.support)
        return np.append(idx, self.model.n_features) if self.model.fit_intercept else idx

    @property
    def coef_mean(self) -> np.ndarray:
        return self.mean[: self.model.n_features]

    @property
    def coef_sd(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov)[: self.model.n_features])

    @property
    def intercept_sd(self) -> float:
        return float(np.sqrt(self.cov[-1, -1])) if self.model.fit_intercept else 0.0

    def sample(self, draws: int = 1000, chains: int = 4, random_seed=None,
               log_likelihood="auto"):
        """I.i.d. draws from the approximation, as a DataTree like :func:`sample_posterior`'s.

        Groups ``posterior`` (``coef`` with exact zeros off the support, ``intercept``),
        ``sample_stats`` (``lp``: log-likelihood plus log prior at each draw),
        ``observed_data``, ``map`` and ``log_likelihood``; ``attrs["sampler"]`` is
        ``"laplace"``.
        """
        import xarray as xr

        from mapreg.posterior.datatree import build_tree
        from mapreg.posterior.draws import Draws
        from mapreg.posterior.loglik import add_log_likelihood, pointwise_log_likelihood

        for name, val in (("draws", draws), ("chains", chains)):
            if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {val!r}")
        seed = (int(np.random.SeedSequence().generate_state(1)[0]) if random_seed is None
                else int(random_seed))
        rng = np.random.default_rng(seed)
        model, free = self.model, self.free
        theta = np.broadcast_to(self.mean, (chains, draws, self.mean.size)).copy()
        if free.size:
            chol = np.linalg.cholesky(self.hessian)
            e = rng.standard_normal((chains * draws, free.size))
            # x = L^{-T} e has covariance (L L')^{-1} = H^{-1}
            x = np.linalg.solve(chol.T, e.T).T
            theta[..., free] += x.reshape(chains, draws, free.size)
        p = model.n_features
        coef = theta[..., :p]
        b0 = theta[..., p] if model.fit_intercept else np.zeros((chains, draws))
        if model.is_dask:  # no rows: lp from the statistics (gaussian) or unknown
            stats = None if model.family.name == "gaussian" else xr.Dataset(
                {"lp": (("chain", "draw"), np.full((chains, draws), np.nan))},
                coords={"chain": np.arange(chains), "draw": np.arange(draws)})
            tree = build_tree(model, Draws(coef, b0, stats=stats), "laplace")
            from mapreg.posterior.sample import DASK_ROW_GROUPS_NOTE

            tree.attrs["row_groups"] = DASK_ROW_GROUPS_NOTE
        else:
            lp = (pointwise_log_likelihood(model, coef, b0).sum(axis=-1)
                  + np.sum(model.prior.logpdf(coef), axis=-1))
            stats = xr.Dataset({"lp": (("chain", "draw"), lp)},
                               coords={"chain": np.arange(chains), "draw": np.arange(draws)})
            tree = add_log_likelihood(build_tree(model, Draws(coef, b0, stats=stats),
                                                 "laplace"), model, log_likelihood)
        tree.attrs.update({
            "sampler": "laplace", "prior": repr(model.prior), "family": model.family.name,
            "fit_intercept": int(model.fit_intercept), "draws": int(draws),
            "chains": int(chains), "random_seed": seed,
            "n_support": int(self.support.sum()),
            "approximation": ("Gaussian at the MAP with the Hessian of -log posterior"
                              + ("" if self.support.all() else
                                 "; zeros of the MAP as point masses at 0")),
            "warnings": [],
        })
        return tree


def _likelihood_hessian(model: Model, coef, intercept, idx) -> np.ndarray:
    """``Z_S' diag(L''(eta)) Z_S`` on the columns ``idx`` (and the intercept's, last).

    Dask-backed data never give their rows: the gaussian family's ``Z'Z / s**2`` comes from
    the one-pass statistics, the other families' ``[X, 1]' diag(L'') [X, 1]`` from one
    map-reduce at the MAP (:meth:`mapreg.backends.dask_stats.DaskData.evaluate`, the pass
    that certified it, cached).
    """
    if model.is_dask:
        free = np.append(idx, model.n_features) if model.fit_intercept else idx
        if model.family.name == "gaussian":
            from mapreg.posterior.sufficient import gram

            full = gram(model)[0] / model.noise_sigma**2
            return full[np.ix_(free, free)].copy()
        full = model._dask.evaluate(np.asarray(coef, dtype=float), float(intercept))[2]
        return full[np.ix_(free, free)].copy()
    eta = model.linear_predictor(coef, intercept)
    Z = model.X[:, idx]
    if model.fit_intercept:
        Z = np.column_stack([Z, np.ones(model.n_samples)])
    curv = model.family.d2loss(eta, model.y)
    return (Z * curv[:, None]).T @ Z


def laplace_approximation(model: Model, *, tol: float = 1e-11,
                          max_iter: int = 200) -> LaplaceApproximation:
    """The Laplace approximation of ``model``'s posterior at its MAP (module docstring).

    Raises
    ------
    ValueError
        The model has hyperpriors or its prior no mode (no MAP), or the Hessian on the
        free coordinates is not positive definite (a saddle of a non-convex posterior).
    """
    if not isinstance(model, Model):
        raise ValueError(f"laplace_approximation needs a mapreg.Model, got "
                         f"{type(model).__name__}")
    fit = find_map(model, tol=tol, max_iter=max_iter)
    penalty = model.prior.penalty()
    p = model.n_features
    coef = np.asarray(fit.coef, dtype=float)
    support = np.ones(p, bool) if penalty.smooth else coef != 0.0
    idx = np.flatnonzero(support)
    H = _likelihood_hessian(model, coef, fit.intercept, idx)
    H[np.arange(idx.size), np.arange(idx.size)] += penalty_hessian(penalty, coef[idx])
    m = H.shape[0]
    k = p + int(model.fit_intercept)
    cov = np.zeros((k, k))
    log_evidence = math.nan
    if m:
        try:
            chol = np.linalg.cholesky(H)
        except np.linalg.LinAlgError:
            raise ValueError("the Hessian of -log posterior at the MAP is not positive "
                             "definite: no Gaussian approximation there") from None
        free = np.append(idx, p) if model.fit_intercept else idx
        cov[np.ix_(free, free)] = cho_solve((chol, True), np.eye(m))
        if support.all():
            log_evidence = (-fit.neg_log_posterior + 0.5 * m * math.log(2.0 * math.pi)
                            - float(np.sum(np.log(np.diag(chol)))))
    mean = np.append(coef, fit.intercept) if model.fit_intercept else coef.copy()
    return LaplaceApproximation(mean=mean, cov=cov, support=support, hessian=H, map=fit,
                                log_evidence=float(log_evidence), model=model)
