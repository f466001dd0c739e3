"""The wider prior <-> penalty family against independent references.

References: scipy.stats (gennorm, t, cauchy), scipy.integrate.quad (normalisers,
the horseshoe marginal), scipy.optimize (direct minimisation of objectives written
here from their formulas), scikit-learn ElasticNet / Lasso / Ridge.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.stats
from _reference import loss_derivatives
from sklearn.linear_model import ElasticNet as SkElasticNet

from mapreg import (
    Cauchy,
    ElasticNet,
    Gaussian,
    GeneralizedNormal,
    Horseshoe,
    Laplace,
    Model,
    RegularizedHorseshoe,
    StudentT,
    find_map,
    penalized_fit,
    verify_equivalence,
)
from mapreg.datasets import load_diabetes

DIABETES = load_diabetes()
NOISE = 53.0
W = np.linspace(-4.0, 4.0, 81)


def _problem(family, seed=0, n=120, p=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.array([1.5, -1.0, 0.0, 0.5, 0.0, 0.8])[:p]
    eta = X @ w * 0.5
    if family == "gaussian":
        return X, eta + rng.standard_normal(n), {"noise_sigma": 1.0}
    if family == "bernoulli":
        return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float), {}
    return X, rng.poisson(np.exp(eta)).astype(float), {}


def _penalty_derivative(prior, w):
    """d/dw of the penalty -log p(w) + const at w != 0, and the subgradient half-width at 0.

    Written here from each prior's formula, not taken from mapreg.
    """
    if isinstance(prior, Laplace):
        return np.sign(w) / prior.b, 1.0 / prior.b
    if isinstance(prior, Gaussian):
        return w / prior.sigma**2, 0.0
    if isinstance(prior, ElasticNet):
        return np.sign(w) / prior.b + w / prior.sigma**2, 1.0 / prior.b
    if isinstance(prior, StudentT):  # -log t = (nu + 1)/2 log(1 + w^2 / (nu s^2)) + const
        return (prior.nu + 1) * w / (prior.nu * prior.s**2 + w**2), 0.0
    a, p = prior.alpha, prior.p  # GeneralizedNormal: |w / a|^p
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(w != 0, p * a ** (-p) * np.abs(w) ** (p - 1) * np.sign(w), 0.0)
    return d, (1.0 / a if p == 1 else (0.0 if p > 1 else np.inf))


def _kkt_violation(X, y, family, noise, prior, coef, intercept, fit_intercept=True):
    """Largest violation of the first-order conditions of -log posterior at (coef, intercept).

    Loss derivatives from tests/_reference.py; for a convex prior a zero violation certifies
    the global minimum, for a non-convex one a stationary point.
    """
    _, d, _ = loss_derivatives(family, X @ coef + intercept, y, noise)
    g = X.T @ d
    dpen, width = _penalty_derivative(prior, coef)
    viol = np.where(coef != 0, np.abs(g + dpen), np.maximum(np.abs(g) - width, 0.0))
    return float(max(viol.max(), abs(d.sum()) if fit_intercept else 0.0))


# ------------------------------------------------------------------ densities
@pytest.mark.parametrize("p", [0.3, 0.5, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("alpha", [0.4, 2.5])
def test_generalized_normal_matches_scipy_gennorm(alpha, p):
    prior = GeneralizedNormal(alpha, p)
    np.testing.assert_allclose(prior.logpdf(W), scipy.stats.gennorm(p, scale=alpha).logpdf(W),
                               rtol=1e-12, atol=1e-12)
    assert prior.lam == pytest.approx(alpha ** (-p), rel=1e-15)


def test_bridge_endpoints_are_laplace_and_gaussian_exactly():
    for alpha in (0.3, 1.0, 7.0):
        gn1, lap = GeneralizedNormal(alpha, 1.0), Laplace(alpha)
        gn2, gau = GeneralizedNormal(alpha, 2.0), Gaussian(alpha / math.sqrt(2.0))
        for gn, ref in ((gn1, lap), (gn2, gau)):
            np.testing.assert_allclose(gn.logpdf(W), ref.logpdf(W), rtol=1e-14, atol=1e-14)
            assert gn.lam == pytest.approx(ref.lam, rel=1e-14)
            assert gn.log_normalizer == pytest.approx(ref.log_normalizer, rel=1e-14)
            assert gn.penalty().quadratic_weights() == pytest.approx(
                ref.penalty().quadratic_weights(), rel=1e-14)
    X, y = DIABETES.X, DIABETES.y
    for gn, ref in ((GeneralizedNormal(2.0, 1.0), Laplace(2.0)),
                    (GeneralizedNormal(10.0, 2.0), Gaussian(10.0 / math.sqrt(2.0)))):
        a = find_map(Model(X, y, prior=gn, noise_sigma=NOISE))
        b = find_map(Model(X, y, prior=ref, noise_sigma=NOISE))
        # same path, same weights up to the last bit of 1/(2 (alpha/sqrt 2)^2) vs alpha^-2
        np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(a.coef == 0, b.coef == 0)
        assert a.solver == b.solver
        assert a.neg_log_posterior == pytest.approx(b.neg_log_posterior, rel=1e-14)


@pytest.mark.parametrize(("b", "sigma"), [(0.5, 0.5), (2.0, 3.0), (0.05, 10.0), (50.0, 0.1)])
def test_elasticnet_normaliser_against_quadrature(b, sigma):
    prior = ElasticNet(b, sigma)
    left, _ = scipy.integrate.quad(lambda w: math.exp(w / b - w * w / (2 * sigma**2)),
                                   -np.inf, 0, epsabs=0, epsrel=1e-13)
    # the other half (the density is symmetric; the kink sits at 0)
    half, _ = scipy.integrate.quad(lambda w: math.exp(-w / b - w * w / (2 * sigma**2)), 0,
                                   np.inf, epsabs=0, epsrel=1e-13)
    assert prior.log_normalizer == pytest.approx(math.log(2 * half), rel=1e-10)
    assert prior.log_normalizer == pytest.approx(math.log(left + half), rel=1e-10)
    total = sum(scipy.integrate.quad(lambda w: math.exp(prior.logpdf(w)), lo, hi)[0]
                for lo, hi in ((-np.inf, 0), (0, np.inf)))
    assert total == pytest.approx(1.0, rel=1e-8)


@pytest.mark.parametrize(("nu", "s"), [(1.0, 0.7), (3.0, 2.0), (30.0, 0.1)])
def test_student_t_matches_scipy(nu, s):
    prior = StudentT(nu, s)
    np.testing.assert_allclose(prior.logpdf(W), scipy.stats.t(nu, scale=s).logpdf(W),
                               rtol=1e-12, atol=1e-12)
    assert prior.lam == (nu + 1) / 2 and prior.delta == pytest.approx(nu * s**2)
    np.testing.assert_allclose(Cauchy(s).logpdf(W), scipy.stats.cauchy(scale=s).logpdf(W),
                               rtol=1e-12)


@pytest.mark.parametrize("tau", [0.3, 2.0])
def test_horseshoe_marginal_against_quadrature(tau):
    prior = Horseshoe(tau, fixed_tau=True)
    for w in (0.01, 0.5, 3.0, 40.0 * tau):
        # p(w | tau) = int N(w; 0, lam^2 tau^2) 2 / (pi (1 + lam^2)) dlam
        dens, _ = scipy.integrate.quad(
            lambda lam, w=w: (scipy.stats.norm.pdf(w, scale=lam * tau)
                              * 2 / (math.pi * (1 + lam**2))),
            0, np.inf, epsabs=0, epsrel=1e-11, limit=200)
        assert prior.logpdf(w) == pytest.approx(math.log(dens), rel=1e-8)
    assert np.isinf(prior.logpdf(0.0))


# ------------------------------------------------------------------ 1-D prox against scipy
@pytest.mark.parametrize("p", [0.3, 0.5, 0.8, 1.2, 1.5, 1.9])
def test_bridge_prox_is_the_global_1d_minimiser(p):
    prior = GeneralizedNormal(1.0, p)
    rng = np.random.default_rng(1)
    for v in rng.normal(scale=3.0, size=20):
        step = float(rng.uniform(0.1, 2.0))
        got = float(prior.penalty().prox_1d(v, step)[()])

        def f(w, v=v, step=step):
            return 0.5 * (w - v) ** 2 + step * abs(w) ** p

        # global minimum of the 1-D function on a bracket by dense grid + bounded refinement
        grid = np.linspace(-abs(v) - 1, abs(v) + 1, 4001)
        w0 = grid[np.argmin([f(g) for g in grid])]
        ref = scipy.optimize.minimize_scalar(f, bounds=(w0 - 1e-3, w0 + 1e-3), method="bounded",
                                             options={"xatol": 1e-12})
        best = min(f(0.0), ref.fun)
        assert f(got) <= best + 1e-12


# ------------------------------------------------------------------ equivalence suite
CONVEX = [Laplace(2.0), Gaussian(3.0), ElasticNet(2.0, 3.0), ElasticNet(0.5, 10.0),
          GeneralizedNormal(2.0, 1.0), GeneralizedNormal(5.0, 2.0), GeneralizedNormal(1.0, 1.2),
          GeneralizedNormal(0.5, 1.5), GeneralizedNormal(0.3, 1.8)]


@pytest.mark.parametrize("prior", CONVEX, ids=repr)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_convex_members_pass_the_equivalence_suite_on_diabetes(prior, fit_intercept):
    model = Model(DIABETES.X, DIABETES.y, prior=prior, noise_sigma=NOISE,
                  fit_intercept=fit_intercept)
    rep = verify_equivalence(model)
    assert rep.passed, str(rep)
    scale = max(1.0, float(np.max(np.abs(rep.map.coef))))
    assert rep.max_abs_diff <= 1e-6 * scale
    assert rep.map.kkt_violation <= 1e-8 * scale and rep.penalized.kkt_violation <= 1e-8 * scale
    assert rep.map.convex
    # independent witness: the first-order conditions, recomputed here from the formulas
    # (a wrong lam or p moves the gradient by O(lam) ~ 0.01-1)
    kkt = _kkt_violation(DIABETES.X, DIABETES.y, "gaussian", NOISE, prior, rep.map.coef,
                         rep.map.intercept, fit_intercept)
    assert kkt <= 1e-7, kkt


@pytest.mark.parametrize("family", ["bernoulli", "poisson"])
@pytest.mark.parametrize("prior", [ElasticNet(1.0, 2.0), GeneralizedNormal(1.0, 1.5)], ids=repr)
def test_convex_members_on_glms(family, prior):
    X, y, kw = _problem(family)
    rep = verify_equivalence(Model(X, y, prior=prior, family=family, **kw))
    assert rep.passed, str(rep)
    assert rep.map.kkt_violation <= 1e-8
    # independent witness: first-order conditions from the formulas (convex: the optimum)
    kkt = _kkt_violation(X, y, family, None, prior, rep.map.coef, rep.map.intercept)
    assert kkt <= 1e-7, kkt


@pytest.mark.parametrize(("b", "sigma"), [(0.5, 1.0), (2.0, 3.0), (20.0, 5.0)])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_elasticnet_prior_equals_sklearn_elasticnet(b, sigma, fit_intercept):
    X, y = DIABETES.X, DIABETES.y
    n = len(y)
    # alpha * rho = s^2/(n b), alpha (1 - rho) = s^2/(n sigma^2), derived here from the objectives
    l1, l2 = NOISE**2 / (n * b), NOISE**2 / (n * sigma**2)
    sk = SkElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2), fit_intercept=fit_intercept,
                      tol=1e-14, max_iter=1_000_000).fit(X, y)
    res = find_map(Model(X, y, prior=ElasticNet(b, sigma), noise_sigma=NOISE,
                         fit_intercept=fit_intercept))
    scale = max(1.0, float(np.max(np.abs(sk.coef_))))
    np.testing.assert_allclose(res.coef, sk.coef_, atol=1e-6 * scale, rtol=0)
    np.testing.assert_array_equal(res.coef == 0.0, sk.coef_ == 0.0)


def test_bridge_matches_direct_minimisation():
    """1 < p < 2 is smooth and strictly convex: scipy's BFGS on the formula is a witness."""
    X, y = DIABETES.X, DIABETES.y
    for alpha, p in ((1.0, 1.5), (0.5, 1.3)):
        lam = alpha ** (-p)

        def f(v, lam=lam, p=p):
            r = y - X @ v[:-1] - v[-1]
            return r @ r / (2 * NOISE**2) + lam * np.sum(np.abs(v[:-1]) ** p)

        def grad(v, lam=lam, p=p):
            r = y - X @ v[:-1] - v[-1]
            g = np.append(-X.T @ r, -r.sum()) / NOISE**2
            g[:-1] += lam * p * np.abs(v[:-1]) ** (p - 1) * np.sign(v[:-1])
            return g

        ols = np.linalg.lstsq(np.c_[X, np.ones(len(y))], y, rcond=None)[0]
        ref = scipy.optimize.minimize(f, ols, jac=grad, method="BFGS", options={"gtol": 1e-10})
        res = find_map(Model(X, y, prior=GeneralizedNormal(alpha, p), noise_sigma=NOISE))
        assert f(np.append(res.coef, res.intercept)) <= ref.fun + 1e-10
        np.testing.assert_allclose(res.coef, ref.x[:-1], atol=1e-5 * np.max(np.abs(ref.x)))


# ------------------------------------------------------------------ non-convex members
def _neg_log_post_student(X, y, nu, s, v, fit_intercept):
    """Written from the formulas: Gaussian loss + Student-t negative log-density (no mapreg)."""
    c = v[-1] if fit_intercept else 0.0
    w = v[:-1] if fit_intercept else v
    r = y - X @ w - c
    return r @ r / 2.0 - np.sum(scipy.stats.t(nu, scale=s).logpdf(w))


@pytest.mark.parametrize(("nu", "s"), [(1.0, 0.3), (3.0, 0.5), (1.0, 0.05)])
def test_student_t_mode_agrees_with_scipy_from_the_same_start(nu, s):
    X, y, _ = _problem("gaussian", seed=3)
    rng = np.random.default_rng(nu.__hash__() % 7)
    start = rng.normal(scale=0.5, size=X.shape[1])
    res = find_map(Model(X, y, prior=StudentT(nu, s), noise_sigma=1.0), start=start)
    assert not res.convex and res.converged and res.min_curvature > 0
    c0 = float(np.mean(y - X @ start))

    def f(v):
        return _neg_log_post_student(X, y, nu, s, v, True)

    ref = scipy.optimize.minimize(f, np.append(start, c0), method="BFGS",
                                  options={"gtol": 1e-10})
    np.testing.assert_allclose(np.append(res.coef, res.intercept), ref.x, atol=1e-6)
    # the certificate, recomputed independently: a finite-difference Hessian is positive definite
    v0 = np.append(res.coef, res.intercept)
    H = _fd_hessian(f, v0)
    assert np.linalg.eigvalsh(0.5 * (H + H.T))[0] > 0


def _fd_hessian(f, x, h=1e-4):
    n = len(x)
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            e_i, e_j = np.eye(n)[i] * h, np.eye(n)[j] * h
            H[i, j] = (f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j)
                       + f(x - e_i - e_j)) / (4 * h * h)
    return H


@pytest.mark.parametrize("family", ["bernoulli", "poisson"])
def test_student_t_on_glms_matches_scipy(family):
    X, y, _ = _problem(family, seed=5)
    nu, s = 3.0, 0.4
    res = find_map(Model(X, y, prior=StudentT(nu, s), family=family))

    def f(v):
        eta = X @ v[:-1] + v[-1]
        if family == "bernoulli":
            nll = np.sum(np.logaddexp(0, eta) - y * eta)
        else:
            nll = np.sum(np.exp(eta) - y * eta)
        return nll - np.sum(scipy.stats.t(nu, scale=s).logpdf(v[:-1]))

    m = float(np.mean(y))
    c0 = math.log(m / (1 - m)) if family == "bernoulli" else math.log(m)
    ref = scipy.optimize.minimize(f, np.append(np.zeros(X.shape[1]), c0), method="BFGS",
                                  options={"gtol": 1e-10})
    assert res.converged and res.min_curvature > 0
    np.testing.assert_allclose(np.append(res.coef, res.intercept), ref.x, atol=1e-5)


@pytest.mark.parametrize(("alpha", "p"), [(0.3, 0.5), (2.0, 0.3), (1.0, 0.8)])
def test_bridge_below_one_returns_a_certified_local_mode(alpha, p):
    X, y = DIABETES.X, DIABETES.y
    lam = alpha ** (-p)

    def f(v):  # the objective from its formula
        r = y - X @ v[:-1] - v[-1]
        return r @ r / (2 * NOISE**2) + lam * np.sum(np.abs(v[:-1]) ** p)

    res = find_map(Model(X, y, prior=GeneralizedNormal(alpha, p), noise_sigma=NOISE))
    assert not res.convex and res.converged and res.min_curvature > 0
    v0 = np.append(res.coef, res.intercept)
    support = np.append(res.coef != 0, True)
    # (1) on the support the objective is smooth: scipy from the same point does not move
    def f_support(u):
        v = v0.copy()
        v[support] = u
        return f(v)

    ref = scipy.optimize.minimize(f_support, v0[support], method="BFGS", options={"gtol": 1e-9})
    np.testing.assert_allclose(ref.x, v0[support], atol=1e-5 * max(1, np.max(np.abs(v0))))
    assert f(v0) <= ref.fun + 1e-9
    # (2) random small perturbations in every direction never lower the objective
    rng = np.random.default_rng(0)
    for radius in (1e-6, 1e-4, 1e-2):
        for _ in range(200):
            d = rng.normal(size=v0.size)
            assert f(v0 + radius * d / np.linalg.norm(d)) >= f(v0) - 1e-12
    # (3) every coordinate sits at its global 1-D minimiser given the others
    for j in range(X.shape[1]):
        grid = np.linspace(-60, 60, 6001)
        vals = [f(np.where(np.arange(v0.size) == j, g, v0)) for g in grid]
        assert f(v0) <= min(vals) + 1e-9


def test_bridge_penalised_fit_equals_map_for_nonconvex_members():
    X, y = DIABETES.X, DIABETES.y
    for prior in (GeneralizedNormal(0.3, 0.5), StudentT(1.0, 1.0)):
        rep = verify_equivalence(Model(X, y, prior=prior, noise_sigma=NOISE))
        assert rep.passed and rep.max_abs_diff <= 1e-10, str(rep)
        assert "non-convex" in rep.penalty
        # independent witness: a stationary point of the objective written from the formulas
        # (on the support for the bridge; its |w|^0.5 has an infinite slope at 0)
        kkt = _kkt_violation(X, y, "gaussian", NOISE, prior, rep.map.coef, rep.map.intercept)
        assert kkt <= 1e-7, kkt


def test_penalized_fit_takes_the_new_penalties_by_name():
    X, y = DIABETES.X, DIABETES.y
    a = penalized_fit(X, y, "bridge", lam=0.5, p=1.5, noise_sigma=NOISE)
    b = find_map(Model(X, y, prior=GeneralizedNormal(0.5 ** (-1 / 1.5), 1.5), noise_sigma=NOISE))
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-9)
    # independent witness: the gradient of |r|^2 / (2 s^2) + 0.5 sum |w|^1.5 vanishes
    _, d, _ = loss_derivatives("gaussian", X @ a.coef + a.intercept, y, NOISE)
    grad = X.T @ d + 0.5 * 1.5 * np.abs(a.coef) ** 0.5 * np.sign(a.coef)
    assert np.max(np.abs(grad)) <= 1e-7 and abs(d.sum()) <= 1e-7
    with pytest.raises(ValueError, match="p must lie in"):
        penalized_fit(X, y, "bridge", lam=0.5, p=3.0, noise_sigma=NOISE)
    with pytest.raises(ValueError, match="penalty must be one of"):
        penalized_fit(X, y, "lq", lam=0.5, noise_sigma=NOISE)


# ------------------------------------------------------------------ validation, horseshoe
@pytest.mark.parametrize("bad", [
    lambda: GeneralizedNormal(1.0, 2.5), lambda: GeneralizedNormal(1.0, 0.0),
    lambda: GeneralizedNormal(-1.0, 1.0), lambda: ElasticNet(1.0, np.nan),
    lambda: StudentT(0.0, 1.0), lambda: StudentT(1.0, np.inf), lambda: Horseshoe(-1.0),
    lambda: RegularizedHorseshoe(1.0, slab_scale=0.0),
])
def test_invalid_parameters_raise(bad):
    with pytest.raises(ValueError):
        bad()


def test_horseshoe_has_no_map():
    model = Model(DIABETES.X, DIABETES.y, prior=Horseshoe(1.0), noise_sigma=NOISE)
    with pytest.raises(ValueError, match="no usable mode"):
        find_map(model)
    with pytest.raises(ValueError, match="no penalty dual"):
        verify_equivalence(model)


def test_pymc_log_densities_match(monkeypatch):
    """PyMC's compiled prior log-density equals the formulas (through scipy)."""
    import pymc as pm

    w = np.array([-2.0, -0.3, 0.4, 1.7])
    cases = [(GeneralizedNormal(1.3, 1.5), scipy.stats.gennorm(1.5, scale=1.3).logpdf(w)),
             (StudentT(3.0, 0.8), scipy.stats.t(3.0, scale=0.8).logpdf(w))]
    en = ElasticNet(2.0, 3.0)
    cases.append((en, -np.abs(w) / 2.0 - w**2 / 18.0 - en.log_normalizer))
    for prior, ref in cases:
        with pm.Model() as m:
            prior.to_pymc("coef", shape=4)
        logp = m.compile_logp(jacobian=False)({"coef": w})
        assert logp == pytest.approx(float(np.sum(ref)), rel=1e-8)


@pytest.mark.slow
def test_regularized_horseshoe_samples_diabetes_cleanly():
    from mapreg import compare_mode_posterior, sample_posterior

    model = Model(DIABETES.X, DIABETES.y, noise_sigma=NOISE, feature_names=DIABETES.feature_names,
                  prior=RegularizedHorseshoe(1.0, slab_scale=30.0, slab_df=50.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = sample_posterior(model, draws=1000, tune=1000, chains=2, random_seed=1,
                                 progressbar=False)
    assert idata.attrs["n_divergent"] == 0
    assert idata.attrs["max_rhat"] <= 1.02
    table = compare_mode_posterior(idata, eps=1.0)
    assert np.all(np.isnan(table["map"]))
    # the horseshoe keeps the strong signals (bmi, s5) and piles weak ones near zero
    assert table.loc["bmi", "median"] > 15 and table.loc["s5", "median"] > 15
    assert table.loc["age", "p_near_zero"] > 0.3


# ------------------------------------------------------------------ plots
def test_prior_vs_penalty_draws_each_penalty_from_its_formula():
    import matplotlib

    matplotlib.use("Agg")
    from mapreg import plots

    priors = [GeneralizedNormal(1.0, 0.5), ElasticNet(1.0, 2.0), StudentT(3.0, 1.0),
              Horseshoe(1.0, fixed_tau=True)]
    fig = plots.prior_vs_penalty(priors=priors, w_max=3.0)
    formulas = [lambda w: np.abs(w) ** 0.5, lambda w: np.abs(w) + w**2 / 8.0,
                lambda w: 2.0 * np.log1p(w**2 / 3.0)]
    bottoms = fig.axes[len(priors):]
    for ax, formula in zip(bottoms, formulas, strict=False):
        line = next(ln for ln in ax.lines if ln.get_gid() == "penalty")
        x, yv = line.get_data()
        np.testing.assert_allclose(yv, formula(x), rtol=1e-12, atol=1e-12)
        shifted = next(ln for ln in ax.lines if ln.get_gid() == "neg-logpdf-shifted")
        np.testing.assert_allclose(shifted.get_ydata(), formula(x), rtol=1e-9, atol=1e-9)
    assert not any(ln.get_gid() == "penalty" for ln in bottoms[-1].lines)


@pytest.mark.parametrize("prior", [ElasticNet(2.0, 5.0), GeneralizedNormal(1.0, 0.5)], ids=repr)
def test_map_path_accepts_the_new_priors(prior):
    import matplotlib

    matplotlib.use("Agg")
    from mapreg import plots

    model = Model(DIABETES.X, DIABETES.y, prior=prior, noise_sigma=NOISE,
                  feature_names=DIABETES.feature_names)
    scales = [0.1, 1.0, 10.0]
    fig = plots.map_path(model, scales=scales)
    lines = {ln.get_gid(): ln for ln in fig.axes[0].lines if ln.get_gid()}
    assert sum(g.startswith("map-path:") for g in lines) == 10
    bmi = lines["map-path:bmi"].get_ydata()
    np.testing.assert_allclose(bmi, lines["penalized-path:bmi"].get_ydata(), atol=1e-9)
    if isinstance(prior, ElasticNet):
        # scikit-learn's ElasticNet at each scale (l1_ratio constant along the path)
        n = len(DIABETES.y)
        for k, b in enumerate(scales):
            sigma = prior.sigma * math.sqrt(b / prior.b)
            l1, l2 = NOISE**2 / (n * b), NOISE**2 / (n * sigma**2)
            sk = SkElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2), tol=1e-14,
                              max_iter=1_000_000).fit(DIABETES.X, DIABETES.y)
            assert bmi[k] == pytest.approx(sk.coef_[2], abs=1e-6 * max(1, abs(sk.coef_[2])))
            assert lines["sklearn-path:bmi"].get_ydata()[k] == pytest.approx(sk.coef_[2],
                                                                              abs=1e-5)
    else:
        # non-convex bridge (p = 0.5, alpha = scale): no outside solver; each path point is
        # checked from the formula: stationary on its support, and every coordinate at its
        # global 1-D minimiser given the others (exact quadratic loss + lam |w|^p on a grid)
        X, y, names = DIABETES.X, DIABETES.y, DIABETES.feature_names
        W = np.array([lines[f"map-path:{name}"].get_ydata() for name in names]).T
        grid = np.linspace(-60.0, 60.0, 12001)
        for k, alpha in enumerate(scales):
            w = W[k]
            c = float(np.mean(y - X @ w))  # the flat intercept's optimum given w
            gn = GeneralizedNormal(alpha, prior.p)
            assert _kkt_violation(X, y, "gaussian", NOISE, gn, w, c) <= 1e-6
            lam, r = alpha ** (-prior.p), y - X @ w - c
            for j in range(X.shape[1]):
                rj, xj = r + X[:, j] * w[j], X[:, j]

                def fj(g, rj=rj, xj=xj, lam=lam):
                    g = np.asarray(g, float)
                    return ((rj @ rj - 2 * g * (xj @ rj) + g**2 * (xj @ xj)) / (2 * NOISE**2)
                            + lam * np.abs(g) ** prior.p)

                assert fj(w[j]) <= fj(grid).min() + 1e-9, (alpha, names[j])
