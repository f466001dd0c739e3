r"""Choosing the prior scale from the data: empirical Bayes.

Gaussian prior (closed form)
    With ``theta = (w, [w0])``, ``Z = [X, 1]`` (or ``X``), noise sd ``s``, prior
    ``w_j ~ N(0, sigma**2)`` and a flat intercept with density 1, the evidence is

    .. math::

        \log p(y \mid \sigma, s) = -\tfrac{n}{2}\log(2\pi s^2) - \tfrac{p}{2}\log(2\pi\sigma^2)
            + \tfrac{k}{2}\log(2\pi) - \tfrac12\log|A|
            - \tfrac12\left(y^\top y / s^2 - m^\top A m\right),

    ``A = Z'Z/s**2 + diag(1/sigma**2, ..., 0)``, ``m = A^{-1} Z'y / s**2``,
    ``k = p + [intercept]``. (The flat intercept makes the evidence defined up to
    the constant of that improper density; comparisons over ``sigma`` and ``s``
    are unaffected.) Without an intercept this is exactly the quantity
    scikit-learn's ``BayesianRidge`` maximises when its gamma hyperpriors are
    switched off (``alpha_1 = alpha_2 = lambda_1 = lambda_2 = 0``), with
    ``alpha = 1/s**2`` and ``lambda = 1/sigma**2``.

Laplace prior (Monte-Carlo EM, Park & Casella 2008, sec. 3.1)
    Treating ``tau_j**2`` as missing data, the M-step for ``lam = 1/b`` is
    ``lam**2 <- 2 p / sum_j E[tau_j**2 | y, lam_old]``. The E-step is
    Rao-Blackwellised: ``1/tau_j**2 | w_j ~ InverseGaussian(lam/|w_j|, lam**2)``
    gives ``E[tau_j**2 | w_j] = |w_j| / lam + 1 / lam**2``, averaged over Gibbs
    draws of ``w``. Its fixed point is ``lam = p / sum_j E[|w_j| | y, lam]``, the
    maximiser of the marginal likelihood ``p(y | lam)``.

    Treating ``w`` itself as the missing data gives a second EM with the same
    fixed point and M-step ``lam <- p / sum_j E[|w_j| | y, lam_old]``; it leaves
    out less information (no latent ``tau``), so it converges several times
    faster. Both are offered (``update="direct"`` is the default).

Both run on dask-backed models (gaussian family): the evidence from the one-pass statistics
``Z'Z``, ``Z'y``, ``y'y`` (:func:`mapreg.posterior.sufficient.gram`), the E-step's Gibbs
draws from the same statistics.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from mapreg._validation import check_scale
from mapreg.exceptions import SamplingWarning
from mapreg.posterior.sufficient import gram
from mapreg.priors import Gaussian


def log_evidence_gaussian(X, y, prior_sigma: float, noise_sigma: float,
                          fit_intercept: bool = True) -> float:
    """Log marginal likelihood ``log p(y | sigma, s)`` of Bayesian ridge (formula above)."""
    prior_sigma = check_scale(prior_sigma, "prior_sigma")
    noise_sigma = check_scale(noise_sigma, "noise_sigma")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    Z = np.column_stack([X, np.ones(n)]) if fit_intercept else X
    return log_evidence_from_gram(Z.T @ Z, Z.T @ y, float(y @ y), n, p, prior_sigma,
                                  noise_sigma)


def log_evidence_from_gram(ZtZ, Zty, yty: float, n: int, p: int, prior_sigma: float,
                           noise_sigma: float) -> float:
    """:func:`log_evidence_gaussian` from ``Z'Z``, ``Z'y``, ``y'y`` and ``n`` alone (the
    first ``p`` columns of ``Z`` carry the prior; an intercept column, if any, is last)."""
    k = ZtZ.shape[0]
    s2, v = noise_sigma**2, prior_sigma**2
    A = ZtZ / s2
    A[np.arange(p), np.arange(p)] += 1.0 / v
    L = np.linalg.cholesky(A)
    u = np.linalg.solve(L, Zty / s2)  # m'A m = |L^{-1} Z'y/s^2|^2
    logdet_A = 2.0 * np.sum(np.log(np.diag(L)))
    return float(-0.5 * n * math.log(2 * math.pi * s2) - 0.5 * p * math.log(2 * math.pi * v)
                 + 0.5 * k * math.log(2 * math.pi) - 0.5 * logdet_A
                 - 0.5 * (yty / s2 - u @ u))


class EmpiricalBayesResult(NamedTuple):
    """An empirical-Bayes choice of scales.

    Attributes
    ----------
    prior : Prior
        The prior at the chosen scale (``Gaussian(sigma)`` or ``Laplace(b)``).
    noise_sigma : float
        The noise sd (estimated, or the model's own when held fixed).
    lam : float
        The dual penalty weight of ``prior`` (``1/(2 sigma**2)`` or ``1/b``).
    log_evidence : float
        ``log p(y | scales)`` at the optimum (Gaussian prior; ``nan`` for Laplace).
    history : ndarray
        The MCEM iterates of ``lam`` (Laplace), or the optimiser's ``(sigma, s)`` (Gaussian).
    converged : bool
    """

    prior: object
    noise_sigma: float
    lam: float
    log_evidence: float
    history: np.ndarray
    converged: bool


def empirical_bayes_gaussian(model, estimate_noise: bool = False) -> EmpiricalBayesResult:
    """Maximise the closed-form evidence over the Gaussian prior's ``sigma`` (and ``s``).

    Parameters
    ----------
    model : Model
        Gaussian family with a known ``noise_sigma`` (used as is, or as the
        starting point when ``estimate_noise``); its prior's main scale is the
        starting ``sigma`` (whatever the prior: the result is a ``Gaussian``).
    estimate_noise : bool
        Also maximise over the noise sd ``s`` (type-II maximum likelihood of both,
        as ``BayesianRidge`` does).
    """
    if model.family.name != "gaussian" or model.noise_sigma is None:
        raise ValueError("empirical_bayes_gaussian needs the gaussian family with a known "
                         "noise_sigma (its value or the starting point)")
    x0 = [math.log(model.prior.scale)] + ([math.log(model.noise_sigma)] if estimate_noise else [])
    # the evidence reads Z'Z, Z'y, y'y only: formed once (dask-backed: the one-pass statistics)
    ZtZ, Zty, yty, n = gram(model)

    def neg(logs):
        s = math.exp(logs[1]) if estimate_noise else model.noise_sigma
        return -log_evidence_from_gram(ZtZ, Zty, yty, n, model.n_features, math.exp(logs[0]),
                                       s)

    res = minimize(neg, x0, method="L-BFGS-B", options={"ftol": 1e-14, "gtol": 1e-9})
    sigma = math.exp(res.x[0])
    noise = math.exp(res.x[1]) if estimate_noise else float(model.noise_sigma)
    prior = Gaussian(sigma)
    return EmpiricalBayesResult(prior, noise, prior.lam, -float(res.fun),
                                np.exp(np.asarray(res.x)), bool(res.success))


def empirical_bayes_laplace(model, n_iter: int = 30, draws: int = 1000, tune: int = 200,
                            chains: int = 2, tol: float = 2e-3, n_average: int = 3,
                            update: str = "direct", random_seed=None) -> EmpiricalBayesResult:
    """Park & Casella's Monte-Carlo EM for the Laplace ``lam = 1/b`` (see module docstring).

    Each iteration runs the Gibbs sampler at the current ``lam`` (the noise
    fixed, or sampled when the model has a ``noise_prior``) and updates
    ``lam**2 = 2 p / sum_j E[tau_j**2]`` (``update="park-casella"``) or
    ``lam = p / sum_j E[|w_j|]`` (``update="direct"``, same fixed point, faster).
    Stops when the relative change of ``lam`` is below ``tol``, or after
    ``n_iter`` iterations; the estimate is the mean of the last ``n_average``
    iterates, which averages out the Monte-Carlo jitter of the E-step.
    """
    from mapreg.posterior.gibbs import sample_gibbs  # the Gibbs path sample_posterior uses

    if model.family.name != "gaussian" or model.prior.name != "laplace":
        raise ValueError("empirical_bayes_laplace needs a Laplace prior and the gaussian family")
    if update not in ("direct", "park-casella"):
        raise ValueError(f"update must be 'direct' or 'park-casella', got {update!r}")
    if model.scale_prior is not None:
        raise ValueError("empirical_bayes_laplace estimates the Laplace scale: build the Model "
                         "without scale_prior")
    p = model.n_features
    lam = model.prior.lam  # 1/b, the dual L1 weight
    history = [lam]
    seeds = iter(np.random.SeedSequence(random_seed).spawn(n_iter + n_average))

    def step(lam):
        fixed = _with_prior(model, model.prior.with_scale(1.0 / lam))
        coef = sample_gibbs(fixed, draws, tune, chains, int(next(seeds).generate_state(1)[0])).coef
        e_abs = float(np.sum(np.mean(np.abs(coef), axis=(0, 1))))
        if update == "direct":
            return p / e_abs
        e_tau2 = e_abs / lam + p / lam**2  # Rao-Blackwellised E[tau_j^2], summed
        return math.sqrt(2.0 * p / e_tau2)

    converged = False
    for _ in range(n_iter):
        new = step(lam)
        history.append(new)
        converged = abs(new - lam) <= tol * lam
        lam = new
        if converged:
            break
    # at the (noisy) fixed point: average a few more iterates to damp the MC jitter
    tail = []
    for _ in range(n_average):
        lam = step(lam)
        tail.append(lam)
    history.extend(tail)
    hist = np.asarray(history)
    est = float(np.mean(tail)) if tail else float(hist[-1])
    if not converged:
        warnings.warn(
            f"Monte-Carlo EM did not settle within {n_iter} iterations (relative change "
            f"still > tol {tol}); raise n_iter or draws", SamplingWarning, stacklevel=2)
    prior = model.prior.with_scale(1.0 / est)
    return EmpiricalBayesResult(prior, model.noise_sigma if model.noise_sigma else np.nan,
                                prior.lam, np.nan, hist, converged)


def _with_prior(model, prior):
    """A copy of ``model`` with another prior (same data, family, noise, names)."""
    from mapreg.model import Model

    return Model(model.X, model.y, prior, family=model.family.name,
                 noise_sigma=model.noise_sigma, fit_intercept=model.fit_intercept,
                 feature_names=model.feature_names, noise_prior=model.noise_prior)
