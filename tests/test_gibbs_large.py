"""Gibbs at p > n: the Gaussian block draws against their exact moments, the whole sampler
against the closed-form posterior and against NUTS, and what ``auto`` picks by cost.

References never come from the code under test: the exact moments are written out here
with explicit inverses, and Monte-Carlo tolerances are ESS-based standard errors.
"""

from __future__ import annotations

import warnings

import arviz_stats as azs
import numpy as np
import pytest
from _reference import assert_quantiles_agree, gibbs_and_nuts

import mapreg
from mapreg.exceptions import SamplingWarning
from mapreg.posterior import gibbs_run
from mapreg.posterior.choose import auto_choice
from mapreg.posterior.gaussian_draw import bcm_draw
from mapreg.posterior.sample import sample_posterior

pytestmark = pytest.mark.slow


def _assert_moments(draws, mean, cov, ess, z=4.5):
    """Means within z ESS-based standard errors; variances within z of theirs (Gaussian)."""
    sd = np.sqrt(np.diag(cov))
    got_mean = draws.mean(0)
    assert np.all(np.abs(got_mean - mean) < z * sd / np.sqrt(ess)), (got_mean - mean) / sd
    # Var of a Gaussian sample variance: 2 sigma^4 / n
    got_var = draws.var(0)
    assert np.all(np.abs(got_var - sd**2) < z * sd**2 * np.sqrt(2.0 / ess)), got_var / sd**2


@pytest.mark.parametrize("centred", [False, True])
def test_bhattacharya_draw_has_the_exact_moments(centred):
    """beta ~ N(A^-1 Phi'alpha, A^-1), A = Phi'Phi + D^-1, Phi = diag(sw)(X - 1 xbar')."""
    rng = np.random.default_rng(0)
    n, p = 5, 8
    X = rng.standard_normal((n, p))
    sw = rng.uniform(0.5, 2.0, n)
    xbar = rng.standard_normal(p) if centred else np.zeros(p)
    alpha = rng.standard_normal(n)
    d = rng.uniform(0.2, 3.0, p)
    Phi = sw[:, None] * (X - xbar)
    cov = np.linalg.inv(Phi.T @ Phi + np.diag(1.0 / d))
    mean = cov @ Phi.T @ alpha
    B = np.empty((n, p))
    out = np.empty((20000, p))
    for i in range(out.shape[0]):
        bcm_draw(rng, X, sw, xbar, alpha, d, B, out[i])
    _assert_moments(out, mean, cov, out.shape[0])
    emp = np.cov(out.T)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / out.shape[0])
    assert np.all(np.abs(emp - cov) < 4.5 * se)


def _p_gt_n(seed, n, p, k=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:k] = [1.5, -1.0, 0.8][:k]
    return X, X @ w + 0.7 + rng.standard_normal(n)


@pytest.mark.parametrize("external", [False, True], ids=["fused", "external-product"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_p_gt_n_gaussian_prior_gibbs_matches_the_closed_form(fit_intercept, external,
                                                             monkeypatch):
    """n = 12, p = 60: the Bhattacharya path (flat intercept integrated out) is exact,
    with ``B B'`` formed in the kernel or by numpy between sweeps (the large-p path)."""
    if external:
        monkeypatch.setattr(gibbs_run, "EXTERNAL_PRODUCT_MIN", 0)
    # noise large enough that w0's own conditional variance s^2/n is a good part of its
    # marginal variance (the rest, xbar'Cov(w)xbar, comes through the coefficients)
    n, p, s, sigma = 12, 60, 2.0, 0.3
    X, y = _p_gt_n(1, n, p)
    model = mapreg.Model(X, y, mapreg.Gaussian(sigma), noise_sigma=s, fit_intercept=fit_intercept)
    # truth by explicit inversion: (Z'Z / s^2 + diag(1/sigma^2, [0]))^-1
    Z = np.column_stack([X, np.ones(n)]) if fit_intercept else X
    prior_prec = np.r_[np.full(p, 1 / sigma**2), [0.0] * fit_intercept]
    cov = np.linalg.inv(Z.T @ Z / s**2 + np.diag(prior_prec))
    mean = cov @ Z.T @ y / s**2
    idata = sample_posterior(model, draws=2000, tune=50, chains=2, sampler="gibbs",
                             random_seed=2, progressbar=False)
    assert idata.attrs["gibbs_method"] == "bhattacharya"
    coef = idata["posterior"]["coef"].values
    th = np.concatenate([coef, idata["posterior"]["intercept"].values[..., None]], -1) \
        if fit_intercept else coef
    ess = np.array([float(azs.ess(th[..., j], method="mean")) for j in range(th.shape[-1])])
    flat = th.reshape(-1, th.shape[-1])
    _assert_moments(flat, mean, cov, ess)
    # the covariances too (the intercept's with every coefficient is -xbar'Cov(w))
    emp = np.cov(flat.T)
    sd2 = np.diag(cov)
    se = np.sqrt((np.outer(sd2, sd2) + cov**2) / np.minimum.outer(ess, ess))
    assert np.all(np.abs(emp - cov) < 4.5 * se)




def test_p_gt_n_bayesian_lasso_gibbs_agrees_with_nuts():
    """n = 12, p = 40, Laplace(0.5), unknown noise (half-Cauchy): Gibbs and nutpie agree."""
    X, y = _p_gt_n(3, 12, 40)
    model = mapreg.Model(X, y, mapreg.Laplace(0.5), noise_prior=mapreg.HalfCauchy(1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        gibbs = sample_posterior(model, draws=2000, tune=300, chains=2, sampler="gibbs",
                                 random_seed=4, progressbar=False)
        # The reference must itself be sound: at the default target_accept (0.8) this
        # Laplace x half-Cauchy posterior at p > n diverged in 9-92 of 2,000 transitions
        # depending on the seed, and a run with 92 was off by 15 MCSE in one tail.
        nuts = sample_posterior(model, draws=1000, tune=1000, chains=2, sampler="nutpie",
                                random_seed=4, progressbar=False, target_accept=0.95)
    assert int(nuts["sample_stats"]["diverging"].sum()) <= 10
    assert gibbs.attrs["gibbs_method"] == "bhattacharya"
    for var in ("coef", "intercept", "noise_sigma"):
        assert_quantiles_agree(gibbs, nuts, var, z=5.0)


def test_auto_picks_gibbs_by_cost_and_says_why():
    X, y = _p_gt_n(5, 200, 2000)
    big = auto_choice(mapreg.Model(X, y, mapreg.Laplace(0.1), noise_sigma=1.0))
    # p > n at p = 10 n: the overrelaxed coordinate-wise sweep (4 n p flops) beats
    # Bhattacharya's O(n^2 p) block draw (measured at 200 x 1,000: 251 against 143 ESS per
    # second), thinned by an odd number ...
    assert big.sampler == "gibbs" and big.plan.thin % 2 == 1
    assert "coordinate-wise" in big.reason and "n = 200, p = 2000" in big.reason
    # ... but not at p = 50 n, where the block sampler's latent scales mix far better
    # (200 x 10,000: 31 against 99 s per 1,000 ESS, benchmarks/README.md)
    X, y = _p_gt_n(5, 200, 10_000)
    wide = auto_choice(mapreg.Model(X, y, mapreg.Laplace(0.1), noise_sigma=1.0))
    assert "Bhattacharya" in wide.reason
    tall = np.random.default_rng(0).standard_normal((10_000, 200))
    choice = auto_choice(mapreg.Model(tall, tall[:, 0], mapreg.Laplace(0.1), noise_sigma=1.0))
    # n >> p, near-orthogonal columns: the coordinate-wise sweep (2 p^2 flops) beats Rue's
    # p^3 / 3 Cholesky
    assert choice.sampler == "gibbs" and "coordinate-wise" in choice.reason
    collinear = tall.copy()
    collinear[:, 1::2] = collinear[:, ::2] + 0.01 * collinear[:, 1::2]  # pairs at rho ~ 1
    choice = auto_choice(mapreg.Model(collinear, tall[:, 0], mapreg.Laplace(0.1),
                                      noise_sigma=1.0))
    assert choice.sampler == "gibbs" and "Rue's Cholesky" in choice.reason


def test_p_gt_n_horseshoe_gibbs_agrees_with_nuts():
    """n = 12, p = 40: the global scale drawn with the coefficients integrated out."""
    X, y = _p_gt_n(6, 12, 40, k=2)
    model = mapreg.Model(X, y, mapreg.Horseshoe(1.0), noise_sigma=1.0)
    gibbs, nuts = gibbs_and_nuts(model, 7)
    assert gibbs.attrs["gibbs_method"] == "bhattacharya"
    for var in ("coef", "intercept", "tau"):
        assert_quantiles_agree(gibbs, nuts, var, z=5.0)


@pytest.mark.parametrize("noise", [dict(noise_sigma=1.0),
                                   dict(noise_prior=mapreg.HalfCauchy(1.0))],
                         ids=["known-noise", "half-cauchy-noise"])
def test_p_gt_n_regularized_horseshoe_gibbs_agrees_with_nuts(noise):
    """n = 12, p = 40: tau with the coefficients integrated out (Metropolis, each proposal
    its own n x n product: gibbs_kernel.rhs_tau_propose), the slab's c^2 by slice steps,
    then the (lam_j, w_j) pairs from the rows with the slab in w_j's prior variance."""
    X, y = _p_gt_n(6, 12, 40, k=2)
    model = mapreg.Model(X, y, mapreg.RegularizedHorseshoe(1.0, slab_scale=2.0), **noise)
    gibbs, nuts = gibbs_and_nuts(model, 7, chains=4, gibbs_draws=3000)
    assert gibbs.attrs["gibbs_method"] == "bhattacharya"
    for var in ("coef", "intercept", "tau") + ("noise_sigma",) * ("noise_prior" in noise):
        assert_quantiles_agree(gibbs, nuts, var, z=5.0)


@pytest.mark.parametrize("prior,noise", [
    (mapreg.Laplace(0.5), dict(noise_prior=mapreg.HalfCauchy(1.0))),
    (mapreg.Horseshoe(1.0), dict(noise_sigma=1.0)),
    (mapreg.RegularizedHorseshoe(1.0), dict(noise_sigma=1.0)),
    (mapreg.RegularizedHorseshoe(1.0), dict(noise_prior=mapreg.HalfCauchy(1.0))),
    (mapreg.Gaussian(0.3), dict(noise_prior=mapreg.InverseGamma(2.0, 1.0))),
], ids=["lasso", "horseshoe", "regularized-horseshoe", "regularized-horseshoe-noise",
        "ridge"])
def test_external_product_gives_the_fused_kernels_draws(prior, noise, monkeypatch):
    """The same chain (same seed, same random stream) with ``B B'`` formed in numpy between
    kernel calls: the draws equal the fused kernel's up to rounding (the fused kernel is
    the one checked against NUTS and the closed form above)."""
    X, y = _p_gt_n(8, 12, 40)
    model = mapreg.Model(X, y, prior, **noise)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplingWarning)
            t = sample_posterior(model, draws=15, tune=5, chains=2, sampler="gibbs",
                                 random_seed=3, progressbar=False, log_likelihood=False)
        return {k: t["posterior"][k].values for k in t["posterior"].data_vars}

    assert not gibbs_run.external_product(
        mapreg.posterior.gibbs.chain_data(model, mapreg.posterior.gibbs.gibbs_plan(model),
                                          15, 5))
    fused = run()
    monkeypatch.setattr(gibbs_run, "EXTERNAL_PRODUCT_MIN", 0)
    external = run()
    assert fused.keys() == external.keys()
    for k in fused:
        np.testing.assert_allclose(external[k], fused[k], rtol=1e-7, atol=1e-9, err_msg=k)
