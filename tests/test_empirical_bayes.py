"""Empirical Bayes against numerical integration and scikit-learn's BayesianRidge."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize
from sklearn.linear_model import BayesianRidge

import mapreg
from mapreg.datasets import load_diabetes
from mapreg.posterior.empirical_bayes import (
    empirical_bayes_gaussian,
    empirical_bayes_laplace,
    log_evidence_gaussian,
)


def _normal_loglik(y, mu, s):
    return -0.5 * np.sum((y - mu) ** 2) / s**2 - len(y) * math.log(s * math.sqrt(2 * math.pi))


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_evidence_equals_numerical_integration(fit_intercept):
    """p(y) = ∫∫ N(y | x w + c, s²) N(w | 0, σ²) dw dc (flat c, density 1), by dblquad."""
    rng = np.random.default_rng(2)
    n, s, sigma = 8, 0.7, 1.3
    X = rng.standard_normal((n, 2 if not fit_intercept else 1))
    y = X @ np.full(X.shape[1], 0.8) + (1.0 if fit_intercept else 0.0) + s * rng.standard_normal(n)
    prior = -0.5 * math.log(2 * math.pi * sigma**2)

    if fit_intercept:
        def logf(c, w):
            return _normal_loglik(y, X[:, 0] * w + c, s) - 0.5 * w**2 / sigma**2 + prior
    else:
        def logf(w2, w1):
            return (_normal_loglik(y, X @ np.array([w1, w2]), s)
                    - 0.5 * (w1**2 + w2**2) / sigma**2 + 2 * prior)

    shift = max(logf(a, b) for a in np.linspace(-3, 4, 36) for b in np.linspace(-3, 4, 36))
    val, _err = integrate.dblquad(lambda a, b: math.exp(logf(a, b) - shift), -8, 8, -8, 8,
                                 epsabs=0, epsrel=1e-10)
    expected = math.log(val) + shift
    got = log_evidence_gaussian(X, y, sigma, s, fit_intercept=fit_intercept)
    assert abs(got - expected) < 1e-7, (got, expected)


def test_evidence_maximum_matches_bayesian_ridge():
    """No intercept, no gamma hyperpriors: BayesianRidge maximises the same evidence."""
    data = load_diabetes()
    br = BayesianRidge(fit_intercept=False, alpha_1=0.0, alpha_2=0.0, lambda_1=0.0,
                       lambda_2=0.0, tol=1e-12, max_iter=100_000, compute_score=True)
    br.fit(data.X, data.y)
    model = mapreg.Model(data.X, data.y, mapreg.Gaussian(5.0), noise_sigma=40.0,
                         fit_intercept=False)
    eb = empirical_bayes_gaussian(model, estimate_noise=True)
    assert eb.converged
    np.testing.assert_allclose(eb.prior.sigma, 1 / math.sqrt(br.lambda_), rtol=1e-5)
    np.testing.assert_allclose(eb.noise_sigma, 1 / math.sqrt(br.alpha_), rtol=1e-5)
    np.testing.assert_allclose(eb.log_evidence, br.scores_[-1], rtol=1e-10)
    # with the noise held at scikit-learn's value, only sigma moves, to the same optimum
    fixed = mapreg.Model(data.X, data.y, mapreg.Gaussian(5.0),
                         noise_sigma=1 / math.sqrt(br.alpha_), fit_intercept=False)
    np.testing.assert_allclose(empirical_bayes_gaussian(fixed).prior.sigma,
                               1 / math.sqrt(br.lambda_), rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("update", ["direct", "park-casella"])
def test_mcem_laplace_finds_the_marginal_likelihood_maximum(update):
    """One coefficient: maximise p(y | lam) = ∫ N(y | x w, s²) (lam/2) e^{-lam |w|} dw by quad."""
    rng = np.random.default_rng(4)
    n, s = 20, 1.0
    x = rng.standard_normal(n)
    y = 0.5 * x + s * rng.standard_normal(n)

    def neg_log_marginal(log_lam):
        lam = math.exp(log_lam)
        f = lambda w: math.exp(_normal_loglik(y, x * w, s) + 20.0) * 0.5 * lam * math.exp(  # noqa: E731
            -lam * abs(w))
        return -math.log(integrate.quad(f, -10, 10, points=[0.0], epsrel=1e-12)[0])

    best = optimize.minimize_scalar(neg_log_marginal, bounds=(-5, 5), method="bounded",
                                    options={"xatol": 1e-8})
    lam_star = math.exp(best.x)
    model = mapreg.Model(x[:, None], y, mapreg.Laplace(1.0), noise_sigma=s, fit_intercept=False)
    eb = empirical_bayes_laplace(model, n_iter=200, draws=4000, chains=2, tol=1e-3,
                                 n_average=10, update=update, random_seed=1)
    assert abs(eb.lam - lam_star) < 0.05 * lam_star, (eb.lam, lam_star)
