"""Bernoulli models by Pólya-Gamma Gibbs: the PG draws, a 2-D quadrature posterior, NUTS.

References are independent of the sampler: the PG moments in closed form and from the
defining series, the logistic posterior on a grid, and nutpie on the same model.
"""

from __future__ import annotations

import math
import warnings

import arviz_stats as azs
import numpy as np
import pytest
from _reference import assert_quantiles_agree, gibbs_and_nuts
from polyagamma import random_polyagamma

import mapreg
from mapreg.exceptions import SamplingWarning
from mapreg.posterior.sample import sample_posterior

pytestmark = pytest.mark.slow


def _pg_moments_by_series(c, terms=200_000):
    """Mean and variance of PG(1, c) from its definition (Polson, Scott & Windle 2013):
    ``sum_k g_k / (2 pi^2 ((k - 1/2)^2 + c^2 / (4 pi^2)))`` with ``g_k ~ Exp(1)``."""
    k = np.arange(1, terms + 1, dtype=float)
    a = 2 * math.pi**2 * ((k - 0.5) ** 2 + c**2 / (4 * math.pi**2))
    # the tail beyond `terms` is ~ 1/(2 pi^2 terms) in the mean: add it
    return float(np.sum(1 / a) + 1 / (2 * math.pi**2 * terms)), float(np.sum(1 / a**2))


@pytest.mark.parametrize("c", [0.3, 1.0, 4.0, 20.0])
def test_polyagamma_draws_have_the_known_moments(c):
    mean = math.tanh(c / 2) / (2 * c)
    var = (math.sinh(c) - c) / (4 * c**3 * math.cosh(c / 2) ** 2)
    # the closed forms agree with the series that defines PG(1, c)
    s_mean, s_var = _pg_moments_by_series(c)
    assert mean == pytest.approx(s_mean, rel=1e-5) and var == pytest.approx(s_var, rel=1e-5)
    rng = np.random.default_rng(1)
    x = random_polyagamma(1.0, c, size=200_000, random_state=rng)
    n = x.size
    assert abs(x.mean() - mean) < 4.5 * math.sqrt(var / n)
    # sd of the sample variance ~ sqrt((m4 - var^2) / n); m4 <= 20 var^2 is ample here
    assert abs(x.var() - var) < 4.5 * math.sqrt(20 * var**2 / n)


@pytest.mark.parametrize("path", ["block", "coordinate"])
def test_logistic_gibbs_matches_a_quadrature_posterior(path, monkeypatch):
    """One feature and an intercept, Laplace(0.5): the posterior of (w, w0) on a grid; the
    block Pólya-Gamma sweep with its independence steps, and the coordinate-wise path."""
    from mapreg.posterior import gibbs

    refuse = "coordinate_refusal" if path == "block" else "block_refusal"
    monkeypatch.setattr(gibbs, refuse, lambda model: f"the {path} path is measured here")
    rng = np.random.default_rng(2)
    n, b = 40, 0.5
    x = rng.standard_normal(n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * x + 0.5)))).astype(float)
    model = mapreg.Model(x[:, None], y, mapreg.Laplace(b), family="bernoulli")
    w = np.linspace(-3, 6, 721)
    w0 = np.linspace(-3, 4, 561)
    eta = w[:, None, None] * x + w0[None, :, None]
    logp = np.sum(y * eta - np.logaddexp(0, eta), axis=-1) - np.abs(w)[:, None] / b
    dens = np.exp(logp - logp.max())
    dens /= dens.sum()
    moments = {}
    for name, grid, axis in (("w", w, 1), ("w0", w0, 0)):
        marg = dens.sum(axis=axis)
        m = float(marg @ grid)
        moments[name] = (m, math.sqrt(float(marg @ (grid - m) ** 2)))
    assert dens[[0, -1]].max() < 1e-10 and dens[:, [0, -1]].max() < 1e-10  # grid wide enough

    idata = sample_posterior(model, draws=3000, tune=200, chains=2, sampler="gibbs",
                             random_seed=3, progressbar=False)
    if path == "block":  # the sweeps with independence Metropolis-Hastings steps between
        assert idata.attrs["gibbs_independence_steps"] == 30
        assert 0.0 < idata.attrs["gibbs_independence_acceptance"] < 1.0
    else:
        assert idata.attrs["gibbs_method"] == "coordinate" and idata.attrs["gibbs_polya_gamma"]
    for name, draws in (("w", idata["posterior"]["coef"].values[..., 0]),
                        ("w0", idata["posterior"]["intercept"].values)):
        mean, sd = moments[name]
        ess = float(azs.ess(draws, method="mean"))
        assert abs(draws.mean() - mean) < 4.5 * sd / math.sqrt(ess), (name, draws.mean(), mean)
        assert abs(draws.std() - sd) < 4.5 * sd / math.sqrt(2 * ess) * 1.5, (name, draws.std(), sd)




@pytest.mark.parametrize("n, p", [(80, 4), (10, 24)], ids=["rue", "bhattacharya"])
def test_logistic_lasso_gibbs_agrees_with_nuts(n, p, monkeypatch):
    """The block Pólya-Gamma sweeps (the coordinate-wise path has its own test below)."""
    from mapreg.posterior import gibbs as gibbs_module

    monkeypatch.setattr(gibbs_module, "coordinate_refusal", lambda model: "block path here")
    rng = np.random.default_rng(4)
    X = rng.standard_normal((n, p))
    X[:, 1] = 0.6 * X[:, 0] + 0.8 * X[:, 1]
    eta = X[:, :3] @ np.array([1.2, -0.8, 0.5]) - 0.4
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    model = mapreg.Model(X, y, mapreg.Laplace(0.7), family="bernoulli")
    gibbs, nuts = gibbs_and_nuts(model, 5, nuts_tune=700)
    assert gibbs.attrs["gibbs_method"] == ("rue" if n > p else "bhattacharya")
    # k <= n: independence steps between the sweeps; k > n: no proposal, sweeps alone
    assert gibbs.attrs.get("gibbs_independence_steps", 0) == (30 if n > p else 0)
    for var in ("coef", "intercept"):
        assert_quantiles_agree(gibbs, nuts, var, z=5.0)
    # the recorded lp is the Bernoulli log-likelihood plus the Laplace prior, by hand here
    coef = gibbs["posterior"]["coef"].values[0, 7]
    b0 = float(gibbs["posterior"]["intercept"].values[0, 7])
    e = X @ coef + b0
    ref = float(np.sum(y * e - np.logaddexp(0, e)) - np.sum(np.abs(coef)) / 0.7
                - p * math.log(2 * 0.7))
    assert float(gibbs["sample_stats"]["lp"].values[0, 7]) == pytest.approx(ref, rel=1e-10)


def test_breast_cancer_lasso_sweeps_with_independence_steps_agree_with_nuts():
    """The issue's logistic case (569 x 30, standardised, Laplace(1)): Pólya-Gamma sweeps
    with independence steps between them (neither alone mixes well here) against nutpie."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    model = mapreg.Model(X, y.astype(float), mapreg.Laplace(1.0), family="bernoulli")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        gibbs = sample_posterior(model, draws=1500, tune=300, chains=2, sampler="gibbs",
                                 random_seed=1, progressbar=False)
        nuts = sample_posterior(model, draws=1000, tune=1000, chains=2, sampler="nutpie",
                                random_seed=1, progressbar=False)
    assert gibbs.attrs["gibbs_independence_steps"] == 30
    assert gibbs.attrs["gibbs_independence_adapted"] == 1
    assert gibbs.attrs["max_rhat"] < 1.02
    for var in ("coef", "intercept"):
        assert_quantiles_agree(gibbs, nuts, var, z=5.0)


# ---------------------------------------------------------------- the coordinate-wise path
def _correlated_logistic(seed, n, p, prior):
    """A logistic model with an intercept, x_1 correlated with x_0 (0.6) and two signals."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1] = 0.6 * X[:, 0] + 0.8 * X[:, 1]
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * X[:, 0] - 1.0 * X[:, 2] + 0.3)))).astype(float)
    return mapreg.Model(X, y, prior, family="bernoulli")


def test_pg_coordinate_one_coefficient_matches_quadrature():
    """Pólya-Gamma weights with overrelaxed two-piece coordinate updates: one coefficient
    (no intercept, Laplace(1)) against its posterior by quadrature (mean, sd, KS)."""
    from _reference import assert_one_coefficient_agrees, one_coefficient_logistic

    from mapreg.posterior.pg_coordinate import sample_pg_coordinate

    model, mean, var, cdf = one_coefficient_logistic()
    d = sample_pg_coordinate(model, draws=4000, tune=200, chains=2, seed=3)
    assert d.attrs["gibbs_polya_gamma"] == 1 and np.all(d.intercept == 0.0)
    assert_one_coefficient_agrees(d.coef[..., 0], mean, var, cdf, min_ess=1000)
    again = sample_pg_coordinate(model, draws=50, tune=10, chains=2, seed=3)
    np.testing.assert_array_equal(again.coef, sample_pg_coordinate(
        model, draws=50, tune=10, chains=2, seed=3).coef)  # the seed fixes the draws


@pytest.mark.parametrize("prior", [mapreg.Laplace(0.5), mapreg.Gaussian(0.7),
                                   mapreg.ElasticNet(0.5, 1.0)],
                         ids=["laplace", "gaussian", "elasticnet"])
def test_pg_coordinate_p_gt_n_agrees_with_nuts(prior, monkeypatch):
    """p > n logistic (16 x 40, an intercept, correlated columns): the coordinate-wise
    Pólya-Gamma sampler against nutpie, quantiles of every coefficient and the intercept."""
    from mapreg.posterior import gibbs

    # the block Pólya-Gamma sweep would be cheaper at this size: measure the coordinate path
    monkeypatch.setattr(gibbs, "block_refusal", lambda model: "not here")
    model = _correlated_logistic(9, 16, 40, prior)
    gibbs_tree, nuts = gibbs_and_nuts(model, 4, chains=4)
    assert gibbs_tree.attrs["gibbs_method"] == "coordinate"
    assert gibbs_tree.attrs["gibbs_polya_gamma"] == 1
    for var in ("coef", "intercept"):
        assert_quantiles_agree(gibbs_tree, nuts, var, z=5.0)


def test_auto_takes_the_pg_coordinate_sampler_for_a_wide_logistic_lasso():
    """200 x 1,000 logistic lasso: HMC and the independence sampler need k <= n, the block
    Pólya-Gamma sweep costs n**2 p; auto takes the coordinate-wise one (benchmarks/README.md:
    ~8x nutpie's ESS per second). Breast cancer (collinear, n > p) stays on HMC
    (tests/test_hmc.py)."""
    from mapreg.posterior.choose import auto_choice

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 1000))
    y = (rng.random(200) < 1 / (1 + np.exp(-(2 * X[:, 0] - 2 * X[:, 1])))).astype(float)
    choice = auto_choice(mapreg.Model(X, y, mapreg.Laplace(0.2), family="bernoulli"))
    assert choice.sampler == "gibbs" and choice.plan.label == "coordinate", choice.reason
    assert "coordinate-wise" in choice.reason and "hmc: 1001 coefficients" in choice.reason


# ---------------------------------------------------------------- the horseshoes
@pytest.mark.parametrize("prior", [mapreg.Horseshoe(1.0), mapreg.RegularizedHorseshoe(1.0)],
                         ids=["horseshoe", "regularized"])
def test_logistic_horseshoe_gibbs_agrees_with_nuts(prior):
    """The block Pólya-Gamma sweep under the horseshoes (10 sweeps a kept draw: the local
    scales, the weights and the coefficients move each other slowly) against nutpie."""
    model = _correlated_logistic(5, 60, 6, prior)
    gibbs, nuts = gibbs_and_nuts(model, 3, gibbs_draws=1000)
    assert gibbs.attrs["gibbs_method"] == "rue" and gibbs.attrs["gibbs_sweeps_per_draw"] == 10
    for var in ("coef", "intercept", "tau"):
        assert_quantiles_agree(gibbs, nuts, var, z=5.0)


def test_p_gt_n_logistic_regularized_horseshoe_gibbs_agrees_with_nuts():
    """p > n (Bhattacharya's path given the weights): tau with the coefficients integrated
    out, each Metropolis proposal its own weighted n x n product
    (``gibbs_kernel.rhs_tau_propose`` with ``sw``), against nutpie. The data are separable
    (p > n); the slab keeps the posterior's tails light."""
    model = _correlated_logistic(4, 20, 30, mapreg.RegularizedHorseshoe(1.0, slab_scale=2.0))
    gibbs, nuts = gibbs_and_nuts(model, 2, chains=4, gibbs_draws=2000)
    assert gibbs.attrs["gibbs_method"] == "bhattacharya"
    for var in ("coef", "intercept", "tau"):
        assert_quantiles_agree(gibbs, nuts, var, z=5.0)


def test_auto_takes_the_pg_gibbs_sampler_for_the_breast_cancer_horseshoe(breast_cancer):
    """The logistic horseshoe on breast cancer: auto takes the Pólya-Gamma sweeps, 10 to a
    draw (benchmarks/README.md: ~6x nutpie's ESS per second, R-hat 1.005, where nutpie takes
    ~420 gradients a draw at target_accept 0.99). It took nutpie while the cost model
    priced those sweeps 10 x 10 to a NUTS draw and NUTS at 4 sqrt(k) gradients."""
    from mapreg.posterior.choose import auto_choice

    X, y = breast_cancer
    choice = auto_choice(mapreg.Model(X, y, mapreg.Horseshoe(1.0), family="bernoulli"))
    assert choice.sampler == "gibbs" and choice.plan.thin == 10, choice.reason
    assert "Rue's Cholesky" in choice.reason
