"""The horseshoe Gibbs sampler against quadrature over the local scale, NUTS, and diabetes."""

from __future__ import annotations

import math
import warnings

import arviz_stats as azs
import numpy as np
import pytest
from _reference import assert_quantiles_agree, gibbs_and_nuts
from scipy import integrate

import mapreg
from mapreg.datasets import load_diabetes
from mapreg.exceptions import SamplingWarning
from mapreg.posterior.sample import sample_posterior

pytestmark = pytest.mark.slow


def horseshoe_density_by_quadrature(w: float, tau: float) -> float:
    """``p(w | tau) = int_0^inf N(w; 0, lam**2 tau**2) 2 / (pi (1 + lam**2)) dlam``.

    Integrated numerically over ``t = log(lam)`` (the integrand is then bounded),
    independently of ``Horseshoe.logpdf``'s closed form.
    """

    def integrand(t):
        sd = math.exp(t) * tau
        normal = math.exp(-0.5 * (w / sd) ** 2) / (math.sqrt(2 * math.pi) * sd)
        return normal * 2.0 / (math.pi * (1.0 + math.exp(2 * t))) * math.exp(t)

    # below t = log(|w|/tau) - 6 the normal factor is exp(-e^12 / 2): nothing left
    lo = math.log(abs(w) / tau) - 6.0 if w != 0.0 else -745.0
    mid = math.log(abs(w) / tau) if w != 0.0 else 0.0
    return (integrate.quad(integrand, lo, mid, epsabs=0, epsrel=1e-10, limit=200)[0]
            + integrate.quad(integrand, mid, 60.0, epsabs=0, epsrel=1e-10, limit=200)[0])


def test_quadrature_helper_is_a_density():
    # sanity of the reference itself: it integrates to one (log singularity at 0)
    tau = 0.3
    total = 2 * integrate.quad(lambda w: horseshoe_density_by_quadrature(w, tau), 0, 1e4,
                               points=[tau, 10.0, 100.0], epsrel=1e-8, limit=400)[0]
    # the tails are Cauchy-like, p(w) ~ 2 tau / (sqrt(2 pi^3) w^2): beyond 1e4 they hold
    # 2 * 2 * 0.3 / (7.87 * 1e4) = 1.5e-5 of the mass
    assert total == pytest.approx(1.0, abs=1e-4)


def test_fixed_tau_horseshoe_gibbs_matches_quadrature():
    """One coefficient, no intercept, tau fixed: the posterior is 1-D, integrable by quad."""
    rng = np.random.default_rng(8)
    n, s, tau = 12, 1.0, 0.2
    x = rng.standard_normal(n)
    y = 0.25 * x + s * rng.standard_normal(n)
    model = mapreg.Model(x[:, None], y, mapreg.Horseshoe(tau, fixed_tau=True), noise_sigma=s,
                         fit_intercept=False)

    def loglik(w):
        return -0.5 * np.sum((y - x * w) ** 2) / s**2

    ll_max = max(loglik(w) for w in np.linspace(-2, 2, 401))

    def dens(w):
        return math.exp(loglik(w) - ll_max) * horseshoe_density_by_quadrature(w, tau)

    def integral(f):
        pts = [-0.5, -tau, 0.0, tau, 0.5]
        return (integrate.quad(f, -4, 0, points=pts[:3], epsabs=0, epsrel=1e-9, limit=200)[0]
                + integrate.quad(f, 0, 4, points=pts[2:], epsabs=0, epsrel=1e-9, limit=200)[0])

    z = integral(dens)
    mean = integral(lambda w: w * dens(w)) / z
    sd = math.sqrt(integral(lambda w: (w - mean) ** 2 * dens(w)) / z)
    p_pos = integrate.quad(dens, 0, 4, points=[tau, 0.5], epsrel=1e-9, limit=200)[0] / z
    p_small = integrate.quad(dens, -0.05, 0.05, points=[0.0], epsrel=1e-9, limit=200)[0] / z

    idata = sample_posterior(model, draws=4000, tune=200, chains=2, sampler="gibbs",
                             random_seed=21)
    assert idata.attrs["sampler"] == "gibbs"
    assert "tau" not in idata["posterior"]  # fixed: nothing sampled
    w = idata["posterior"]["coef"].values[..., 0]
    ess = float(azs.ess(w, method="mean"))
    assert abs(w.mean() - mean) < 4.5 * sd / math.sqrt(ess), (w.mean(), mean)
    assert abs(w.std() - sd) < 4.5 * sd / math.sqrt(2 * ess) * 1.5, (w.std(), sd)
    for got, ref in ((np.mean(w > 0), p_pos), (np.mean(np.abs(w) < 0.05), p_small)):
        assert abs(got - ref) < 4.5 * math.sqrt(ref * (1 - ref) / ess), (got, ref)

    # the recorded lp is log p(y | w) + log p(w | tau), the prior again by quadrature
    lp = idata["sample_stats"]["lp"].values
    for c, d in ((0, 0), (1, 17)):
        wd = float(w[c, d])
        ref_lp = (loglik(wd) - 0.5 * n * math.log(2 * math.pi * s**2)
                  + math.log(horseshoe_density_by_quadrature(wd, tau)))
        assert lp[c, d] == pytest.approx(ref_lp, rel=1e-7, abs=1e-7)


def _small_problem(seed=4, n=40):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    X[:, 2] = 0.7 * X[:, 0] + 0.7 * X[:, 2]  # correlated, as real designs are
    y = X @ np.array([1.2, 0.0, 0.15]) + 0.5 + rng.standard_normal(n)
    return X, y




@pytest.mark.parametrize("noise_prior", [None, mapreg.HalfCauchy(2.0)],
                         ids=["known-noise", "halfcauchy-noise"])
def test_horseshoe_gibbs_agrees_with_nuts(noise_prior):
    X, y = _small_problem()
    kw = {"noise_sigma": 1.0} if noise_prior is None else {"noise_prior": noise_prior}
    model = mapreg.Model(X, y, mapreg.Horseshoe(1.0), **kw)
    gibbs, nuts = gibbs_and_nuts(model, 3)
    assert nuts.attrs["sampler"] == "nutpie" and gibbs.attrs["sampler"] == "gibbs"
    for var in ("coef", "intercept", "tau", *(["noise_sigma"] if noise_prior else [])):
        assert var in gibbs["posterior"] and var in nuts["posterior"]
        assert_quantiles_agree(gibbs, nuts, var)
    # NUTS on a horseshoe defaults to target_accept 0.99 (PyMC's own default is 0.8):
    # the realised mean acceptance sits near the target
    accept = nuts["sample_stats"]["mean_tree_accept"].values
    assert accept.mean() > 0.95


@pytest.mark.parametrize("noise_prior", [None, mapreg.HalfCauchy(2.0)],
                         ids=["known-noise", "halfcauchy-noise"])
def test_unthinned_rue_horseshoe_with_collapsed_tau_agrees_with_nuts(noise_prior,
                                                                      monkeypatch):
    """Rue's path where a draw is one sweep (p >~ 150: forced here on the small problem): tau
    drawn with the coefficients integrated out, then the (lam_j, w_j) pairs from Z'Z."""
    from mapreg.posterior import gibbs

    monkeypatch.setattr(gibbs, "_CHEAP_SWEEP_FLOPS", 0.0)
    X, y = _small_problem()
    kw = {"noise_sigma": 1.0} if noise_prior is None else {"noise_prior": noise_prior}
    model = mapreg.Model(X, y, mapreg.Horseshoe(1.0), **kw)
    assert gibbs.gibbs_plan(model).thin == 1
    g, nuts = gibbs_and_nuts(model, 4, chains=4, gibbs_draws=3000)
    assert g.attrs["gibbs_method"] == "rue" and g.attrs["gibbs_sweeps_per_draw"] == 1
    for var in ("coef", "intercept", "tau", *(["noise_sigma"] if noise_prior else [])):
        assert_quantiles_agree(g, nuts, var, z=5.0)


@pytest.mark.parametrize("inv_c2", [0.0, 0.8], ids=["horseshoe", "regularized"])
def test_gram_pair_updates_equal_the_rows_ones(inv_c2):
    """The (lam_j, w_j) block updates from Z'Z, Z'y (Rue's path) draw what the row-wise ones
    (tested against quadrature below) draw: same random stream, same states to rounding."""
    from mapreg.posterior.horseshoe_kernel import (
        local_scales_collapsed,
        local_scales_collapsed_gram,
        prior_variance,
    )

    rng = np.random.default_rng(8)
    n, p, sig2, tau2 = 30, 6, 1.7, 0.3
    X = rng.standard_normal((n, p))
    y = X[:, 0] * 1.5 + 0.4 + rng.standard_normal(n)
    Z = np.column_stack([X, np.ones(n)])
    start = (rng.standard_normal(p + 1), rng.uniform(0.2, 2.0, p), rng.uniform(0.5, 2.0, p))
    states = []
    for rows in (True, False):
        theta, lam2, nu = (a.copy() for a in start)
        d = np.array([prior_variance(v, tau2, inv_c2) for v in lam2])
        gen = np.random.default_rng(11)
        for _ in range(5):
            if rows:
                local_scales_collapsed(gen, X, np.ascontiguousarray(X.T), (X**2).sum(0), y,
                                       theta, True, lam2, nu, d, tau2, sig2, inv_c2)
            else:
                local_scales_collapsed_gram(gen, Z.T @ Z, Z.T @ y, theta, lam2, nu, d, tau2,
                                            sig2, inv_c2)
        states.append((theta, lam2, nu, d))
    for a, b in zip(*states, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert not np.allclose(states[0][0], start[0])  # the coefficients moved


@pytest.mark.parametrize("thin", [10, 1], ids=["thinned", "unthinned-collapsed-tau"])
def test_regularized_horseshoe_gibbs_agrees_with_nuts(thin, monkeypatch):
    """Metropolis and slice steps for the slab's non-conjugate scales, then the (lam_j, w_j)
    pairs with the slab in their prior variance: still exact. Unthinned (forced here), tau
    is drawn with the coefficients integrated out, the slab in ``D``."""
    from mapreg.posterior import gibbs as gibbs_module

    if thin == 1:
        monkeypatch.setattr(gibbs_module, "_CHEAP_SWEEP_FLOPS", 0.0)
    X, y = _small_problem()
    X[:, 0] /= 4.0  # its coefficient becomes ~4.8, which the slab (scale 1) pulls in
    model = mapreg.Model(X, y, mapreg.RegularizedHorseshoe(1.0, slab_scale=1.0, slab_df=4.0),
                         noise_prior=mapreg.HalfCauchy(2.0))
    gibbs, nuts = gibbs_and_nuts(model, 3, chains=2 if thin == 10 else 4,
                                 gibbs_draws=2000 if thin == 10 else 3000)
    assert gibbs.attrs["gibbs_sweeps_per_draw"] == thin
    assert np.all(np.isnan(gibbs["sample_stats"]["lp"].values))  # no closed-form density
    for var in ("coef", "intercept", "tau", "noise_sigma"):
        assert var in gibbs["posterior"] and var in nuts["posterior"]
        assert_quantiles_agree(gibbs, nuts, var)


def test_diabetes_horseshoe_default_settings_converge():
    """The issue's criterion: default sample_posterior, R-hat <= 1.01, no divergences."""
    data = load_diabetes()
    model = mapreg.Model(data.X, data.y, mapreg.Horseshoe(1.0), noise_sigma=53.0,
                         feature_names=data.feature_names)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplingWarning)  # any diagnostic problem fails
        idata = sample_posterior(model, random_seed=2024, progressbar=False)
    attrs = idata.attrs
    assert attrs["sampler_requested"] == "auto" and attrs["sampler"] == "gibbs"
    assert (attrs["chains"], attrs["draws"], attrs["tune"]) == (4, 1000, 1000)
    assert attrs["gibbs_sweeps_per_draw"] >= 1
    assert attrs["n_divergent"] == 0
    assert attrs["max_rhat"] <= 1.01
    assert attrs["min_ess_bulk"] >= 400 and attrs["warnings"] == []
    post = idata["posterior"]
    assert post["coef"].shape == (4, 1000, 10) and post["tau"].shape == (4, 1000)
    # the horseshoe has no finite mode: the map group says so with NaN
    assert np.all(np.isnan(idata["map"]["coef"].values))
    med = post["coef"].median(("chain", "draw")).to_series()
    # strong signals survive, weak ones pile up near zero (the horseshoe's point)
    assert med["bmi"] > 15 and med["s5"] > 15
    assert float(np.mean(np.abs(post["coef"].sel(feature="age").values) < 1.0)) > 0.3


@pytest.mark.parametrize("tau2, s, b, inv_c2", [
    (1.0, 12.0, 0.0, 0.0), (0.04, 12.0, 3.0, 0.0), (0.5, 200.0, 90.0, 0.0),
    (1e-4, 50.0, -20.0, 0.0), (0.5, 200.0, 90.0, 4.0), (0.04, 12.0, 3.0, 25.0)])
def test_collapsed_local_scale_density_matches_quadrature(tau2, s, b, inv_c2):
    """``log p(log lam | rest)`` with the coefficient integrated out: differences between
    points equal ``log[HalfCauchy(lam) lam int N(w; 0, a) e^(b w - s w**2/2) dw]`` integrated
    numerically over ``w``, ``a = lam**2 tau**2`` (the horseshoe) or ``1 / (1 / (lam**2
    tau**2) + 1 / c**2)`` (the regularised horseshoe, ``inv_c2 = 1 / c**2 > 0``)."""
    from mapreg.posterior.horseshoe_kernel import collapsed_log_density

    def reference(eta):
        lam = math.exp(eta)
        a = lam * lam * tau2
        if inv_c2:
            a = 1.0 / (1.0 / a + inv_c2)
        q = s + 1.0 / a
        mode, sd = b / q, 1.0 / math.sqrt(q)

        def log_integrand(w):
            return -0.5 * w * w / a - 0.5 * math.log(2 * math.pi * a) + b * w - 0.5 * s * w * w

        top = log_integrand(mode)
        val = integrate.quad(lambda w: math.exp(log_integrand(w) - top), mode - 12 * sd,
                             mode + 12 * sd, epsabs=0, epsrel=1e-11, limit=200)[0]
        return math.log(2 / math.pi) - math.log1p(lam * lam) + eta + top + math.log(val)

    etas = np.linspace(-6.0, 5.0, 12)
    got = np.array([collapsed_log_density(e, tau2, s, b, inv_c2) for e in etas])
    ref = np.array([reference(e) for e in etas])
    np.testing.assert_allclose(got - got[0], ref - ref[0], rtol=0, atol=1e-8)


@pytest.mark.parametrize("inv_c2", [0.0, 0.5], ids=["horseshoe", "regularized"])
@pytest.mark.parametrize("intercept", [False, True], ids=["no-intercept", "intercept"])
def test_collapsed_global_scale_in_p_space_matches_the_n_space_marginal(intercept, inv_c2):
    """The Pólya-Gamma sweep's ``log p(log tau | lam, data)`` (Rue's path, ``p``-space:
    ``A = Z'WZ``, ``b = Z'Wz``) against ``log N(z; 0, W^-1 + Z D Z')`` in ``n``-space by
    scipy, plus ``log HalfCauchy(tau) + log tau``: equal differences between points. A
    flat intercept is a column of prior variance 1e8 in the reference."""
    from scipy import stats

    from mapreg.posterior.gibbs_kernel import _rue_collapsed_log_post

    rng = np.random.default_rng(3)
    n, p, beta = 12, 4, 0.7
    X = rng.standard_normal((n, p))
    Z = np.column_stack([X, np.ones(n)]) if intercept else X
    W = rng.uniform(0.05, 0.3, n)            # Pólya-Gamma-like weights
    z = rng.standard_normal(n) / W * 0.3     # a working response kappa / omega
    lam2 = rng.uniform(0.1, 3.0, p)
    A, b = Z.T @ (W[:, None] * Z), Z.T @ (W * z)
    k = Z.shape[1]

    def reference(log_tau):
        a = lam2 * math.exp(2 * log_tau)
        if inv_c2:  # the regularised horseshoe's slab
            a = 1 / (1 / a + inv_c2)
        d = np.append(a, [1e8] * intercept)
        cov = np.diag(1 / W) + (Z * d) @ Z.T
        hc = math.log(2 / (math.pi * beta)) - math.log1p(math.exp(2 * log_tau) / beta**2)
        # the flat intercept's log(2 pi 1e8) / 2 is the same at every tau: it cancels
        return stats.multivariate_normal(np.zeros(n), cov).logpdf(z) + hc + log_tau

    xs = np.linspace(-3.0, 2.0, 9)
    got = np.array([_rue_collapsed_log_post(A, b, lam2, x, beta, np.empty((k, k)),
                                            np.empty(k), inv_c2) for x in xs])
    ref = np.array([reference(x) for x in xs])
    np.testing.assert_allclose(got - got[0], ref - ref[0], rtol=0, atol=1e-6 if intercept
                               else 1e-10)


@pytest.mark.parametrize("intercept", [False, True], ids=["no-intercept", "intercept"])
def test_regularized_collapsed_global_scale_at_p_gt_n_matches_scipy(intercept):
    """The regularised horseshoe's ``log p(log tau | lam, c, y)`` at p > n as its sweep forms
    it (:func:`rhs_tau_propose`'s ``Phi D(tau)^{1/2}``, the log marginal from its product)
    against ``log N(y; 0, s^2 I + X D X')`` by scipy, plus ``log HalfCauchy(tau) + log
    tau``: equal differences between the proposed points. A flat intercept is a column of
    prior variance 1e8 in the reference."""
    from scipy import stats

    from mapreg.posterior import gibbs_kernel as k

    rng = np.random.default_rng(5)
    n, p, beta, s, c2 = 8, 15, 0.7, 0.8, 0.6
    X = rng.standard_normal((n, p))
    y = X[:, 0] * 1.5 + 0.4 + s * rng.standard_normal(n)
    lam2 = rng.uniform(0.1, 30.0, p)
    xbar = X.mean(0) if intercept else np.zeros(p)
    resp = y - y.mean() if intercept else y

    def reference(log_tau):
        a = lam2 * math.exp(2 * log_tau)
        d = 1 / (1 / a + 1 / c2)
        Z = np.column_stack([X, np.ones(n)]) if intercept else X
        cov = s**2 * np.eye(n) + (Z * np.append(d, [1e8] * intercept)) @ Z.T
        hc = -math.log1p(math.exp(2 * log_tau) / beta**2)
        return stats.multivariate_normal(np.zeros(n), cov).logpdf(y) + hc + log_tau

    sc = np.zeros(k.N_STATE)
    sc[k.S_SIG2], sc[k.S_C2], sc[k.S_TAU2] = s * s, c2, 0.3
    B2 = np.empty((n, p))
    draws = np.random.default_rng(1)
    xs, got = [], []
    for _ in range(8):
        k.rhs_tau_propose(draws, X, xbar, lam2, sc, np.empty(0), B2)
        x = sc[k.S_LOG_TAU_NEW]
        xs.append(x)
        got.append(k._tau_log_marginal(B2 @ B2.T, resp / s, x, beta, np.empty(n)))
    assert np.ptp(xs) > 0.3  # the proposals spread: the differences are a real check
    ref = np.array([reference(x) for x in xs])
    got = np.array(got)
    np.testing.assert_allclose(got - got[0], ref - ref[0], rtol=0,
                               atol=1e-6 if intercept else 1e-10)


@pytest.mark.parametrize("intercept", [False, True], ids=["no-intercept", "intercept"])
def test_regularized_collapsed_global_scale_given_polya_gamma_weights_matches_scipy(intercept):
    """The same for the Pólya-Gamma sweep at p > n: given weights ``omega``, the working
    response ``z = kappa / omega`` has ``log N(z; 0, Omega^-1 + X D X')`` (scipy; a flat
    intercept a column of prior variance 1e8), and the sweep's whitened, weight-centred
    ``alpha``, ``Phi`` (``_pg_working``, ``rhs_tau_propose`` with ``sw``) give the same
    differences in log tau."""
    from scipy import stats

    from mapreg.posterior import gibbs_kernel as k

    rng = np.random.default_rng(6)
    n, p, beta, c2 = 9, 16, 0.7, 0.6
    X = rng.standard_normal((n, p))
    kappa = rng.integers(0, 2, n) - 0.5
    omega = rng.uniform(0.05, 0.3, n)
    lam2 = rng.uniform(0.1, 30.0, p)

    def reference(log_tau):
        d = 1 / (1 / (lam2 * math.exp(2 * log_tau)) + 1 / c2)
        Z = np.column_stack([X, np.ones(n)]) if intercept else X
        cov = np.diag(1 / omega) + (Z * np.append(d, [1e8] * intercept)) @ Z.T
        hc = -math.log1p(math.exp(2 * log_tau) / beta**2)
        return stats.multivariate_normal(np.zeros(n), cov).logpdf(kappa / omega) + hc + log_tau

    xbar, sw, alpha = np.empty(p), np.empty(n), np.empty(n)
    k._pg_working(intercept, X, kappa, omega, xbar, sw, alpha)
    sc = np.zeros(k.N_STATE)
    sc[k.S_C2], sc[k.S_TAU2] = c2, 0.3
    B2 = np.empty((n, p))
    draws = np.random.default_rng(2)
    xs, got = [], []
    for _ in range(8):
        k.rhs_tau_propose(draws, X, xbar, lam2, sc, sw, B2)
        x = sc[k.S_LOG_TAU_NEW]
        xs.append(x)
        got.append(k._tau_log_marginal(B2 @ B2.T, alpha, x, beta, np.empty(n)))
    assert np.ptp(xs) > 0.3
    ref = np.array([reference(x) for x in xs])
    got = np.array(got)
    np.testing.assert_allclose(got - got[0], ref - ref[0], rtol=0,
                               atol=1e-6 if intercept else 1e-10)


def test_collapsed_local_scale_sweep_alone_samples_the_fixed_tau_posterior():
    """The (lam, w) block update by itself is a complete sampler for one coefficient with
    tau fixed: its draws match the 1-D posterior by quadrature (a spike at 0 and a slab)."""
    from mapreg.posterior.horseshoe_kernel import local_scales_collapsed

    rng = np.random.default_rng(8)
    n, s, tau = 12, 1.0, 0.2
    x = rng.standard_normal(n)
    y = 0.25 * x + s * rng.standard_normal(n)   # weak support: a bimodal posterior

    def dens(w):
        return math.exp(-0.5 * np.sum((y - x * w) ** 2) / s**2) * \
            horseshoe_density_by_quadrature(w, tau)

    pts = [-0.5, -tau, 0.0, tau, 0.5]

    def integral(f):
        return (integrate.quad(f, -4, 0, points=pts[:3], epsabs=0, epsrel=1e-9, limit=200)[0]
                + integrate.quad(f, 0, 4, points=pts[2:], epsabs=0, epsrel=1e-9, limit=200)[0])

    z = integral(dens)
    mean = integral(lambda w: w * dens(w)) / z
    p_small = integrate.quad(dens, -0.05, 0.05, points=[0.0], epsrel=1e-9, limit=200)[0] / z
    # the slab's far side, by quadrature too
    p_big = integrate.quad(dens, 0.2, 4, points=[0.5], epsrel=1e-9, limit=200)[0] / z

    X = x[:, None]
    XT, colsq = np.ascontiguousarray(X.T), np.array([x @ x])
    theta, lam2, nu, d = np.zeros(1), np.ones(1), np.ones(1), np.ones(1)
    gen = np.random.default_rng(5)
    draws = np.empty(30_000)
    for t in range(-500, draws.size):
        local_scales_collapsed(gen, X, XT, colsq, y, theta, False, lam2, nu, d, tau**2, s**2,
                               0.0)
        if t >= 0:
            draws[t] = theta[0]
    ess = float(azs.ess(draws[None, :], method="mean"))
    sd = draws.std()
    assert ess > 3000  # nearly independent: the pair moves between spike and slab at once
    assert abs(draws.mean() - mean) < 4.5 * sd / math.sqrt(ess), (draws.mean(), mean)
    got_small = np.mean(np.abs(draws) < 0.05)
    assert abs(got_small - p_small) < 4.5 * math.sqrt(p_small * (1 - p_small) / ess), \
        (got_small, p_small)
    got_big = np.mean(draws > 0.2)
    assert abs(got_big - p_big) < 4.5 * math.sqrt(p_big * (1 - p_big) / ess), (got_big, p_big)


@pytest.mark.parametrize("setting", ["known-noise", "halfcauchy-noise", "fixed-tau"])
def test_p_gt_n_horseshoe_weakly_supported_coefficient_agrees_with_nuts(setting):
    """p > n with a coefficient the data barely support (spike and slab in its posterior):
    the Gibbs sampler's collapsed local-scale steps against NUTS, including the mass near 0,
    with the noise known or sampled (the steps read the current noise) and with tau fixed
    (no collapsed tau step before them)."""
    rng = np.random.default_rng(11)
    n, p = 14, 50
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:2] = [2.0, 0.45]
    y = X @ w + 0.3 + rng.standard_normal(n)
    prior = mapreg.Horseshoe(0.1, fixed_tau=True) if setting == "fixed-tau" else \
        mapreg.Horseshoe(1.0)
    noise = {"noise_prior": mapreg.HalfCauchy(1.0)} if setting == "halfcauchy-noise" else \
        {"noise_sigma": 1.0}
    model = mapreg.Model(X, y, prior, **noise)
    gibbs, nuts = gibbs_and_nuts(model, 5, chains=4)
    assert gibbs.attrs["gibbs_method"] == "bhattacharya"
    sampled = [v for v in ("tau", "noise_sigma") if v in nuts["posterior"]]
    assert sampled == {"known-noise": ["tau"], "halfcauchy-noise": ["tau", "noise_sigma"],
                       "fixed-tau": []}[setting]
    for var in ("coef", "intercept", *sampled):
        assert_quantiles_agree(gibbs, nuts, var, z=5.0)
    near0 = []
    for t in (gibbs, nuts):
        c = t["posterior"]["coef"].values[..., 1]
        ess = float(azs.ess(np.abs(c) < 0.05, method="mean"))
        near0.append((np.mean(np.abs(c) < 0.05), ess))
    (pg, eg), (pn, en) = near0
    assert 0.1 < pn < 0.9  # the weak coefficient really has mass at 0 and away from it
    se = math.sqrt(pg * (1 - pg) / eg + pn * (1 - pn) / en)
    assert abs(pg - pn) < 5 * se, (pg, pn, se)
