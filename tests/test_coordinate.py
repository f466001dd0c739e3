"""The coordinate-wise Gibbs sampler against references independent of it.

The one-coordinate draw against quadrature of its density (scipy), ``log_ndtr`` against
scipy's, whole chains against the closed-form Gaussian posterior, against NUTS (nutpie)
and against the block (latent-scale) Gibbs sampler — a different algorithm.
"""

from __future__ import annotations

import warnings

import arviz_stats as azs
import numpy as np
import pytest
from scipy import integrate, special, stats

import mapreg
import mapreg.datasets
from mapreg.exceptions import SamplingWarning
from mapreg.posterior import coordinate_kernel as ck
from mapreg.posterior.coordinate import (
    OVERRELAX,
    coordinate_plan,
    coordinate_refusal,
    sample_coordinate,
    slowest_mixing,
)
from mapreg.posterior.gibbs import block_plan, gibbs_plan
from mapreg.posterior.sample import sample_posterior
from tests._reference import assert_quantiles_agree


def test_log_ndtr_matches_scipy_everywhere():
    x = np.concatenate([-np.logspace(3, -3, 200), [0.0], np.logspace(-3, 1.6, 200),
                        [-30.0, -29.999999, -30.000001, 5.0, 5.000001]])
    ours = np.array([ck.log_ndtr(v) for v in x])
    ref = special.log_ndtr(x)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-300)


def _quadrature(A, c, alpha):
    """The density ``exp(-A w^2/2 + c w - alpha|w|)`` by quadrature: (cdf, mean)."""
    def dens(w):
        return np.exp(-A * w * w / 2 + c * w - alpha * abs(w) - (c * c / (2 * A)))

    sd, mu = 1 / np.sqrt(A), c / A
    lo, hi = min(mu, 0.0) - 15 * sd - 1, max(mu, 0.0) + 15 * sd + 1
    Z = integrate.quad(dens, lo, hi, points=[0.0], limit=400)[0]

    def cdf(t):
        return np.array([integrate.quad(dens, lo, ti, points=[0.0] if lo < 0 < ti else None,
                                        limit=400)[0] / Z for ti in np.atleast_1d(t)])

    return cdf, integrate.quad(lambda w: w * dens(w), lo, hi, points=[0.0], limit=400)[0] / Z


@pytest.mark.parametrize("A,c,alpha", [
    (1.0, 0.3, 1.0),      # both sides carry mass
    (200.0, 5.0, 10.0),   # the kink's pull: mass hugs 0 from both sides
    (50.0, -40.0, 3.0),   # all mass on the negative side
    (4.0, 0.0, 0.1),      # symmetric
    (1e4, 0.1, 100.0),    # far tail of each piece: the truncated normals' Robert sampler
    (2.0, 3.0, 0.0),      # no L1 part: a plain Gaussian
])
def test_one_coordinate_draws_follow_the_density(A, c, alpha):
    """KS test against the CDF of exp(-A w^2/2 + c w - alpha|w|) by quadrature; the mean
    within 5 standard errors of the quadrature mean."""
    rng = np.random.default_rng(11)
    draws = np.array([ck.draw_coordinate(rng, A, c, alpha) for _ in range(20_000)])
    cdf, mean = _quadrature(A, c, alpha)
    assert stats.kstest(draws, cdf).pvalue > 1e-3
    assert abs(draws.mean() - mean) < 5 * draws.std() / np.sqrt(draws.size)


@pytest.mark.parametrize("a", [-0.8, -0.99])
@pytest.mark.parametrize("A,c,alpha", [
    (1.0, 1.1, 1.0),      # the mode just right of 0, much mass left: proposals cross 0
    (1e4, 25.0, 20.0),    # a null of the 10,000 x 200 lasso: the kink inside the bulk
    (50.0, -40.0, 3.0),   # one-sided (negative)
    (1.0, 0.3, 1.0),      # mode at 0: always the exact draw
    (2.0, 3.0, 0.0),      # no L1 part: Adler's move, no correction
])
def test_overrelaxed_update_leaves_the_conditional_invariant(A, c, alpha, a):
    """From 20,000 independent exact draws, one overrelaxed update each: the results are
    again distributed as the density (KS against its quadrature CDF, the mean within 5
    standard errors). With every proposal accepted (no correction across 0) the first two
    cases fail at both ``a`` (KS p down to 1e-273)."""
    rng = np.random.default_rng(12)
    start = np.array([ck.draw_coordinate(rng, A, c, alpha) for _ in range(20_000)])
    moved = np.array([ck.overrelax_coordinate(rng, A, c, alpha, x, a) for x in start])
    assert np.mean(moved != start) > 0.5  # it does move
    cdf, mean = _quadrature(A, c, alpha)
    assert stats.kstest(moved, cdf).pvalue > 1e-3
    assert abs(moved.mean() - mean) < 5 * moved.std() / np.sqrt(moved.size)


def test_overrelaxed_chain_returns_from_far_in_a_tail():
    """A coefficient 30 conditional sds out, across 0 from the mode's side of its
    conditional: Adler's reflection alone would land across 0 and be refused forever (seen
    in a 10,000 x 200 run); the occasional exact draw brings every chain back."""
    A, c, alpha = 1e4, 60.0, 20.0     # mode 0.004, sd 0.01
    rng = np.random.default_rng(4)
    for start in (0.32, -0.3):
        for _ in range(20):
            x = start
            for _ in range(300):
                x = ck.overrelax_coordinate(rng, A, c, alpha, x, -0.8)
            assert abs(x - 0.004) < 0.06


def _moments_agree(th, mean, cov, z=4.5):
    """Means and covariances of the chains ``th`` (chains, draws, k) against the exact ones,
    each within ``z`` standard errors from its own ESS: the mean's from the coordinate's,
    a covariance's from that of the centred products (an overrelaxed chain is antithetic in
    ``x`` but not in ``x**2``: the means' ESS would understate the covariances' error)."""
    k = th.shape[-1]
    ess = azs.ess(th, method="mean")
    flat = th.reshape(-1, k)
    assert np.all(np.abs(flat.mean(0) - mean) < z * np.sqrt(np.diag(cov) / ess))
    centred = th - mean
    prod = centred[..., :, None] * centred[..., None, :]
    ess_prod = azs.ess(prod.reshape(*th.shape[:2], k * k), method="mean").reshape(k, k)
    sd2 = np.diag(cov)
    se_c = np.sqrt((np.outer(sd2, sd2) + cov**2) / ess_prod)
    assert np.all(np.abs(np.cov(flat.T) - cov) < z * se_c)


@pytest.mark.parametrize("overrelax", [OVERRELAX, 0.0], ids=["overrelaxed", "plain"])
@pytest.mark.parametrize("n,p", [(12, 40), (60, 8)], ids=["rows-p>n", "gram-n>p"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gaussian_prior_matches_the_closed_form(n, p, fit_intercept, overrelax):
    """Gaussian(0.4) prior, known noise: the posterior is N(mean, cov) in closed form
    (explicit inverse here); the means within 4.5 ESS-based errors, the covariances too;
    overrelaxed (the default) and plain Gibbs."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, p)) + 0.5  # uncentred columns: the intercept is coupled
    y = X[:, :3] @ np.array([1.0, -0.5, 0.3]) + 1.0 + 1.5 * rng.standard_normal(n)
    s, sigma = 1.5, 0.4
    model = mapreg.Model(X, y, mapreg.Gaussian(sigma), noise_sigma=s,
                         fit_intercept=fit_intercept)
    assert coordinate_plan(model).rows == (p > n)
    Z = np.column_stack([X, np.ones(n)]) if fit_intercept else X
    prec = Z.T @ Z / s**2 + np.diag(np.r_[np.full(p, 1 / sigma**2), [0.0] * fit_intercept])
    cov = np.linalg.inv(prec)
    mean = cov @ Z.T @ y / s**2
    d = sample_coordinate(model, draws=3000, tune=100, chains=2, seed=5, overrelax=overrelax)
    assert d.attrs["gibbs_overrelaxation"] == overrelax
    th = np.concatenate([d.coef, d.intercept[..., None]], -1) if fit_intercept else d.coef
    _moments_agree(th, mean, cov)


def test_p_gt_n_lasso_agrees_with_nuts():
    """n = 12, p = 40, Laplace(0.5), half-Cauchy noise: coordinate draws and nutpie agree
    (NUTS at target_accept 0.95: see test_gibbs_large for why)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 40))
    y = X[:, :3] @ np.array([1.5, -1.0, 0.8]) + 0.7 + rng.standard_normal(12)
    model = mapreg.Model(X, y, mapreg.Laplace(0.5), noise_prior=mapreg.HalfCauchy(1.0))
    d = sample_coordinate(model, draws=2000, tune=300, chains=2, seed=4, thin=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        nuts = sample_posterior(model, draws=1000, tune=1000, chains=2, sampler="nutpie",
                                random_seed=4, progressbar=False, target_accept=0.95)
    assert int(nuts["sample_stats"]["diverging"].sum()) <= 10
    coord = _as_tree(d)
    for var in ("coef", "intercept", "noise_sigma"):
        assert_quantiles_agree(coord, nuts, var, z=5.0)


def _as_tree(d):
    import xarray as xr

    post = {"coef": (("chain", "draw", "coef_dim"), d.coef),
            "intercept": (("chain", "draw"), d.intercept)}
    post.update({k: (("chain", "draw"), v) for k, v in d.hyper.items()})
    return xr.DataTree.from_dict({"posterior": xr.Dataset(post)})


def _diabetes(prior, **kw):
    data = mapreg.datasets.load_diabetes()
    return mapreg.Model(data.X, data.y, prior, **kw)


def test_elastic_net_gibbs_agrees_with_nuts():
    """The elastic net's first Gibbs sampler (diabetes, ElasticNet(2, 10), noise 53):
    quantiles agree with nutpie's; auto picks it over NUTS and says so."""
    model = _diabetes(mapreg.ElasticNet(2.0, 10.0), noise_sigma=53.0)
    assert gibbs_plan(model).label == "coordinate"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        gibbs = sample_posterior(model, draws=2000, tune=300, chains=2, random_seed=1,
                                 progressbar=False)
        nuts = sample_posterior(model, draws=1000, tune=1000, chains=2, sampler="nutpie",
                                random_seed=1, progressbar=False)
    assert gibbs.attrs["sampler"] == "gibbs" and gibbs.attrs["gibbs_method"] == "coordinate"
    assert "coordinate-wise" in gibbs.attrs["sampler_reason"]
    for var in ("coef", "intercept"):
        assert_quantiles_agree(gibbs, nuts, var, z=5.0)


def _block_and_coordinate(model, monkeypatch, thin=1):
    """The block (latent-scale, Rue) sampler's result and the coordinate sampler's draws."""
    import mapreg.posterior.gibbs as gibbs_mod

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        monkeypatch.setattr(gibbs_mod, "gibbs_plan", block_plan)
        block = sample_posterior(model, draws=3000, tune=300, chains=2, sampler="gibbs",
                                 random_seed=2, progressbar=False)
        monkeypatch.undo()
        coord = _as_tree(sample_coordinate(model, draws=3000, tune=300, chains=2, seed=3,
                                           thin=thin))
    assert block.attrs["gibbs_method"] == "rue"
    return block, coord


@pytest.mark.parametrize("prior,kw", [
    (mapreg.Laplace(2.0), dict(noise_prior=mapreg.InverseGamma(2.0, 2000.0))),
    (mapreg.Gaussian(10.0), dict(noise_prior=mapreg.HalfCauchy(60.0),
                                 scale_prior=mapreg.InverseGamma(2.0, 100.0))),
], ids=["lasso-invgamma-noise", "ridge-halfcauchy-noise-invgamma-scale"])
def test_hyperpriors_agree_with_the_block_sampler(prior, kw, monkeypatch):
    """Unknown noise (and a Gaussian prior's unknown scale): the coordinate sampler and the
    block (latent-scale, Rue) sampler — a different algorithm — agree in every quantile."""
    model = _diabetes(prior, **kw)
    block, coord = _block_and_coordinate(model, monkeypatch)
    for var in ("coef", "intercept", *(v for v in ("noise_sigma", "prior_scale")
                                        if v in block["posterior"])):
        assert_quantiles_agree(coord, block, var, z=5.0)


@pytest.mark.parametrize("kind", ["gamma-lam-sq", "half-cauchy"])
def test_laplace_scale_log_density_is_the_change_of_variables(kind):
    """log p(log b | w) against scipy's densities of the hyperprior, transformed by hand:
    differences between points agree (the constant cancels)."""
    p, s1 = 7, 3.2
    xs = np.linspace(-3.0, 2.0, 9)
    b = np.exp(xs)
    if kind == "gamma-lam-sq":
        r, delta = 1.5, 0.7
        ours = np.array([ck.laplace_scale_logpdf(x, ck.GAMMA_LAM_SQ, r, delta, p, s1)
                         for x in xs])
        # lam^2 = b^-2 ~ Gamma(r, rate delta); |d(b^-2)/db| = 2 b^-3; d b / d x = b
        prior = stats.gamma.logpdf(b**-2, r, scale=1 / delta) + np.log(2 * b**-3) + xs
    else:
        beta = 0.8
        ours = np.array([ck.laplace_scale_logpdf(x, 2, 0.0, beta, p, s1) for x in xs])
        prior = stats.halfcauchy.logpdf(b, scale=beta) + xs
    lik = -p * np.log(2 * b) - s1 / b
    np.testing.assert_allclose(np.diff(ours), np.diff(prior + lik), rtol=1e-10, atol=1e-10)


def test_full_bayesian_lasso_agrees_with_the_block_sampler_and_nuts(monkeypatch):
    """Laplace with its scale unknown: GammaLambdaSq on 1/b^2 against the block sampler's
    conjugate lam^2 step; a half-Cauchy on b (no block sampler) against nutpie."""
    model = _diabetes(mapreg.Laplace(2.0), noise_sigma=53.0,
                      scale_prior=mapreg.GammaLambdaSq(1.0, 1.0))
    block, coord = _block_and_coordinate(model, monkeypatch, thin=2)
    for var in ("coef", "intercept", "prior_scale"):
        assert_quantiles_agree(coord, block, var, z=5.0)
    hc = _diabetes(mapreg.Laplace(2.0), noise_sigma=53.0, scale_prior=mapreg.HalfCauchy(5.0))
    assert gibbs_plan(hc).label == "coordinate"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        coord = sample_posterior(hc, draws=3000, tune=300, chains=2, sampler="gibbs",
                                 random_seed=4, progressbar=False)
        nuts = sample_posterior(hc, draws=1000, tune=1000, chains=2, sampler="nutpie",
                                random_seed=4, progressbar=False, target_accept=0.95)
    assert int(nuts["sample_stats"]["diverging"].sum()) <= 10
    for var in ("coef", "intercept", "prior_scale"):
        assert_quantiles_agree(coord, nuts, var, z=5.0)


def test_same_seed_same_draws_however_the_sweeps_are_cut(monkeypatch):
    """Blocks of sweeps per kernel call change nothing (the refresh of the running residual
    happens at fixed sweep numbers); a seed reproduces the draws."""
    import mapreg.posterior.gibbs_run as run

    model = _diabetes(mapreg.Laplace(2.0), noise_prior=mapreg.HalfCauchy(60.0))
    a = sample_coordinate(model, draws=300, tune=100, chains=2, seed=9)
    monkeypatch.setattr(run, "BLOCK_SECONDS", 1e-9)  # one sweep per call
    b = sample_coordinate(model, draws=300, tune=100, chains=2, seed=9)
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(a.hyper["noise_sigma"], b.hyper["noise_sigma"])
    c = sample_coordinate(model, draws=300, tune=100, chains=2, seed=10)
    assert not np.array_equal(a.coef, c.coef)


def test_mixing_estimate_sees_collinearity():
    """lambda_min of the surrogate's correlation matrix: ~1 for orthogonal columns, ~0 for
    a nearly duplicated column — checked against numpy's eigvalsh of the same matrix built
    here; and auto leaves such a design to the block sampler."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 6))
    Xd = X.copy()
    Xd[:, 1] = X[:, 0] + 1e-3 * X[:, 1]
    b, s = 0.5, 1.0
    for design in (X, Xd):
        model = mapreg.Model(design, design[:, 0], mapreg.Laplace(b), noise_sigma=s)
        Xc = design - design.mean(0)
        Q = Xc.T @ Xc / s**2 + np.eye(6) / (2 * b * b)
        dq = np.sqrt(np.diag(Q))
        ref = np.linalg.eigvalsh(Q / np.outer(dq, dq))[0]
        assert slowest_mixing(model) == pytest.approx(ref, rel=1e-8)
    model = mapreg.Model(Xd, Xd[:, 0], mapreg.Laplace(b), noise_sigma=s)
    assert gibbs_plan(model).label == "rue"


def test_refusals_name_the_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    y = (X[:, 0] > 0).astype(float)
    # bernoulli through Pólya-Gamma weights, at fixed prior scales only; not poisson
    assert coordinate_refusal(mapreg.Model(X, y, mapreg.Laplace(1.0), family="bernoulli")) is None
    assert "fixed prior scales only" in coordinate_refusal(
        mapreg.Model(X, y, mapreg.Laplace(1.0), family="bernoulli",
                     scale_prior=mapreg.GammaLambdaSq(1.0, 1.0)))
    assert "gaussian or bernoulli family, not 'poisson'" in coordinate_refusal(
        mapreg.Model(X, y, mapreg.Laplace(1.0), family="poisson"))
    assert "Horseshoe" in coordinate_refusal(
        mapreg.Model(X, X[:, 0], mapreg.Horseshoe(1.0), noise_sigma=1.0))
    lam = mapreg.Model(X, X[:, 0], mapreg.Laplace(1.0), noise_sigma=1.0,
                       scale_prior=mapreg.GammaLambdaSq(1.0, 1.0))
    assert coordinate_refusal(lam) is None
    with pytest.raises(ValueError, match=r"overrelax must be in \(-1, 0\], got -1.0"):
        sample_coordinate(mapreg.Model(X, X[:, 0], mapreg.Laplace(1.0), noise_sigma=1.0),
                          10, 10, 1, 0, overrelax=-1.0)
    with pytest.raises(ValueError, match="coordinate Gibbs sampler does not apply: it needs"):
        sample_coordinate(mapreg.Model(X, y, mapreg.Laplace(1.0), family="poisson"),
                          10, 10, 1, 0)
    # the elastic net outside the gaussian and bernoulli families: no Gibbs sampler, and the
    # reason says why
    enet = mapreg.Model(X, y, mapreg.ElasticNet(1.0, 1.0), family="poisson")
    with pytest.raises(ValueError, match="needs the gaussian or bernoulli family"):
        sample_posterior(enet, sampler="gibbs")
