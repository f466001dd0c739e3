"""The Bayesian-lasso Gibbs sampler against quadrature, scipy.stats and NUTS."""

from __future__ import annotations

import warnings

import arviz_stats as azs
import numpy as np
import pytest
from scipy import integrate, stats
from sklearn.linear_model import Lasso

import mapreg
from mapreg.datasets import load_diabetes
from mapreg.exceptions import SamplingWarning
from mapreg.posterior.compare import compare_mode_posterior
from mapreg.posterior.coordinate import OVERRELAX
from mapreg.posterior.gibbs import gibbs_plan, sample_gibbs
from mapreg.posterior.gibbs_kernel import _inv_gauss
from mapreg.posterior.sample import sample_posterior

pytestmark = pytest.mark.slow


def test_inverse_gaussian_draws_match_scipy():
    rng = np.random.default_rng(0)
    for mu, shape in [(0.7, 2.0), (50.0, 0.3), (1e4, 4.0)]:
        x = np.array([_inv_gauss(rng, mu, shape) for _ in range(20000)])
        # scipy: invgauss(mu / shape, scale=shape) has mean mu and shape parameter `shape`
        ref = stats.invgauss(mu / shape, scale=shape)
        assert stats.kstest(x, ref.cdf).pvalue > 1e-3, (mu, shape)


def test_fixed_noise_laplace_gibbs_targets_the_exact_posterior():
    """One coefficient, no intercept: the posterior is a 1-D density we can integrate."""
    rng = np.random.default_rng(3)
    n, s, b = 15, 1.0, 0.25
    x = rng.standard_normal(n)
    y = 0.3 * x + s * rng.standard_normal(n)
    model = mapreg.Model(x[:, None], y, mapreg.Laplace(b), noise_sigma=s, fit_intercept=False)

    def log_unnorm(w):
        return -0.5 * np.sum((y - x * w) ** 2) / s**2 - abs(w) / b

    ref_max = max(log_unnorm(w) for w in np.linspace(-2, 2, 401))

    def dens(w):
        return np.exp(log_unnorm(w) - ref_max)

    z = integrate.quad(dens, -5, 5, points=[0.0], epsabs=0, epsrel=1e-12)[0]
    mean = integrate.quad(lambda w: w * dens(w), -5, 5, points=[0.0], epsrel=1e-12)[0] / z
    p_pos = integrate.quad(dens, 0, 5, epsrel=1e-12)[0] / z
    sd = np.sqrt(integrate.quad(lambda w: (w - mean) ** 2 * dens(w), -5, 5, points=[0.0],
                                epsrel=1e-12)[0] / z)

    idata = sample_posterior(model, draws=5000, tune=200, chains=2, sampler="gibbs",
                             random_seed=11)
    w = idata["posterior"]["coef"].values[..., 0]
    ess = float(azs.ess(w, method="mean"))
    assert abs(w.mean() - mean) < 4.5 * sd / np.sqrt(ess)
    assert abs(np.mean(w > 0) - p_pos) < 4.5 * np.sqrt(p_pos * (1 - p_pos) / ess)
    assert abs(w.std() - sd) < 4.5 * sd / np.sqrt(2 * ess) * 1.5


@pytest.fixture(scope="module")
def diabetes_lasso():
    """The diabetes Bayesian lasso (Laplace b=2, noise 53): Gibbs and nutpie, sampled once."""
    data = load_diabetes()
    model = mapreg.Model(data.X, data.y, mapreg.Laplace(2.0), noise_sigma=53.0,
                         feature_names=data.feature_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        gibbs = sample_posterior(model, draws=2000, tune=300, chains=2, sampler="gibbs",
                                 random_seed=5)
        nuts = sample_posterior(model, draws=1000, tune=500, chains=2, sampler="nutpie",
                                random_seed=5, progressbar=False)
    return model, gibbs, nuts


def test_gibbs_and_nuts_quantiles_agree_on_diabetes(diabetes_lasso):
    _, gibbs, nuts = diabetes_lasso
    for prob in (0.05, 0.5, 0.95):
        qa = gibbs["posterior"]["coef"].quantile(prob, dim=("chain", "draw")).values
        qb = nuts["posterior"]["coef"].quantile(prob, dim=("chain", "draw")).values
        sa = azs.mcse(gibbs["posterior"].to_dataset(), var_names=["coef"], method="quantile",
                      prob=prob)["coef"].values
        sb = azs.mcse(nuts["posterior"].to_dataset(), var_names=["coef"], method="quantile",
                      prob=prob)["coef"].values
        se = np.sqrt(sa**2 + sb**2)
        assert np.all(np.abs(qa - qb) < 4.5 * se), (prob, qa, qb, se)


def test_mode_has_exact_zeros_posterior_has_none(diabetes_lasso):
    model, gibbs, _ = diabetes_lasso
    table = compare_mode_posterior(gibbs, eps=0.1)
    # the map column against scikit-learn's lasso, alpha = s^2 / (n b), not mapreg's find_map
    sk = Lasso(alpha=53.0**2 / (model.n_samples * 2.0), tol=1e-15, max_iter=10**6).fit(
        model.X, model.y)
    np.testing.assert_allclose(table["map"].to_numpy(), sk.coef_,
                               atol=1e-6 * max(1.0, np.max(np.abs(sk.coef_))))
    zeros = sk.coef_ == 0.0
    np.testing.assert_array_equal(table["map"].to_numpy() == 0.0, zeros)
    assert zeros.any(), "the diabetes lasso at b=2 has exact zeros at the mode"
    draws = gibbs["posterior"]["coef"].values.reshape(-1, model.n_features)
    # a continuous prior puts no mass on exactly 0: every draw is non-zero
    assert np.all(draws != 0.0)
    np.testing.assert_allclose(table["p_pos"] + table["p_neg"], 1.0)
    np.testing.assert_allclose(table["p_near_zero"], np.mean(np.abs(draws) <= 0.1, axis=0))
    np.testing.assert_allclose(table["median"], np.median(draws, axis=0))
    assert np.all(table["median"].to_numpy()[zeros] != 0.0)
    assert np.all(table["p_near_zero"].to_numpy()[zeros] < 0.5)
    assert list(table.index) == list(model.feature_names)


def test_sample_gibbs_is_the_path_sample_posterior_runs():
    """One Gibbs entry: the same seed gives the same draws through either door."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((30, 3))
    y = X @ np.array([1.0, 0.0, -0.5]) + rng.standard_normal(30)
    model = mapreg.Model(X, y, mapreg.Laplace(0.5), noise_prior=mapreg.HalfCauchy(1.0))
    d = sample_gibbs(model, draws=50, tune=20, chains=2, seed=13)
    idata = sample_posterior(model, draws=50, tune=20, chains=2, sampler="gibbs",
                             random_seed=13)
    np.testing.assert_array_equal(d.coef, idata["posterior"]["coef"].values)
    np.testing.assert_array_equal(d.intercept, idata["posterior"]["intercept"].values)
    assert set(d.hyper) == {"noise_sigma"}
    np.testing.assert_array_equal(d.hyper["noise_sigma"], idata["posterior"]["noise_sigma"])
    plan = gibbs_plan(model)
    expected = {"gibbs_sweeps_per_draw": plan.thin, "gibbs_method": plan.label}
    if plan.label == "coordinate":
        expected["gibbs_overrelaxation"] = OVERRELAX
    assert d.attrs == expected
    assert d.stats is None
    pois = mapreg.Model(X, np.round(np.exp(X[:, 0])), mapreg.Laplace(0.5), family="poisson")
    with pytest.raises(ValueError, match="Gibbs sampler does not apply: it needs the gaussian "
                                         "or bernoulli family, not 'poisson'"):
        sample_gibbs(pois, draws=5, tune=0, chains=1, seed=0)
