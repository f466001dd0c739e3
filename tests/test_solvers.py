"""The one proximal-Newton method against references written here, and the path dispatch.

References are independent of mapreg's solvers: scikit-learn's liblinear (logistic + L1),
scipy's L-BFGS-B on the split form ``w = u - v, u, v >= 0`` (L1 and elastic net with an
unpenalised intercept), scipy's trust-region Newton with the exact Hessian (smooth
terms), and a closed form for a separable toy problem handed to
:func:`mapreg.solvers.prox_newton.prox_newton` directly.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.optimize
from scipy.special import expit

import mapreg
from mapreg import (
    ElasticNet,
    Gaussian,
    GeneralizedNormal,
    Laplace,
    Model,
    StudentT,
    find_map,
    penalized_fit,
)
from mapreg.penalties import L1, L2, Bridge, ElasticNetPenalty, LogPenalty, Penalty
from mapreg.solvers import select_path
from mapreg.solvers.prox_newton import CompositeProblem, prox_newton


def _problem(family, n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    w = np.zeros(p)
    w[: min(p, 6)] = rng.normal(scale=0.7, size=min(p, 6))
    eta = X @ w + 0.2
    if family == "gaussian":
        y = eta + rng.normal(size=n)
    elif family == "bernoulli":
        y = (rng.uniform(size=n) < expit(eta)).astype(float)
    else:
        y = rng.poisson(np.exp(0.5 * eta)).astype(float)
    return X, y


def _loss(family, eta, y):
    """Total loss, dL/deta, d2L/deta2, written out here again (not mapreg's families)."""
    if family == "bernoulli":
        mu = expit(eta)
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta)), mu - y, mu * (1.0 - mu)
    mu = np.exp(eta)
    return float(np.sum(mu - y * eta)), mu - y, mu


def _split_lbfgsb(X, y, family, l1, l2, fit_intercept):
    """argmin L(Xw + c) + l1 |w|_1 + l2 |w|^2 by L-BFGS-B on w = u - v, u, v >= 0."""
    p = X.shape[1]

    def fun(z):
        u, v = z[:p], z[p: 2 * p]
        c = z[-1] if fit_intercept else 0.0
        w = u - v
        f, d, _ = _loss(family, X @ w + c, y)
        gw = X.T @ d + 2.0 * l2 * w
        grad = np.concatenate([gw + l1, -gw + l1, [d.sum()] if fit_intercept else []])
        return f + l1 * float(np.sum(u + v)) + l2 * float(w @ w), grad

    z0 = np.zeros(2 * p + fit_intercept)
    bounds = [(0.0, None)] * (2 * p) + [(None, None)] * fit_intercept
    res = scipy.optimize.minimize(fun, z0, jac=True, method="L-BFGS-B", bounds=bounds,
                                  options={"ftol": 0.0, "gtol": 1e-13, "maxiter": 100_000,
                                           "maxcor": 50})
    z = res.x
    return z[:p] - z[p: 2 * p], (float(z[-1]) if fit_intercept else 0.0)


def _trust_newton(X, y, family, pen_grad, pen_hess, pen_value, fit_intercept):
    """argmin L(Xw + c) + pen(w) for a smooth pen, by trust-region Newton (exact Hessian)."""
    p = X.shape[1]
    A = np.hstack([X, np.ones((len(y), 1))]) if fit_intercept else X

    def fun(z):
        return _loss(family, A @ z, y)[0] + pen_value(z[:p])

    def jac(z):
        g = A.T @ _loss(family, A @ z, y)[1]
        g[:p] += pen_grad(z[:p])
        return g

    def hess(z):
        H = A.T @ (_loss(family, A @ z, y)[2][:, None] * A)
        H[np.arange(p), np.arange(p)] += pen_hess(z[:p])
        return H

    res = scipy.optimize.minimize(fun, np.zeros(A.shape[1]), jac=jac, hess=hess,
                                  method="trust-exact", options={"gtol": 1e-12})
    return res.x[:p], (float(res.x[p]) if fit_intercept else 0.0)


# --- the GLM problem against outside references --------------------------------------

@pytest.mark.parametrize(("n", "p"), [(300, 12), (60, 150)])
def test_logistic_l1_matches_liblinear(n, p):
    X, y = _problem("bernoulli", n, p, seed=1)
    lam = 2.0
    from sklearn.linear_model import LogisticRegression

    sk = LogisticRegression(C=1.0 / lam, l1_ratio=1.0, solver="liblinear", fit_intercept=False,
                            tol=1e-12, max_iter=100_000).fit(X, y)
    res = penalized_fit(X, y, "l1", lam=lam, family="bernoulli", fit_intercept=False)
    assert res.converged
    assert res.solver == ("prox-newton-gram" if n >= p else "prox-newton-residual")
    np.testing.assert_allclose(res.coef, sk.coef_.ravel(), rtol=1e-6, atol=1e-7)
    assert 0 < res.n_zeros < p
    np.testing.assert_array_equal(res.coef == 0.0, np.abs(sk.coef_.ravel()) < 1e-9)


@pytest.mark.parametrize(("family", "n", "p", "l2"), [("bernoulli", 200, 10, 0.0),
                                                      ("poisson", 200, 10, 0.0),
                                                      ("poisson", 50, 80, 0.0),
                                                      ("bernoulli", 50, 80, 0.5)])
def test_l1_and_elasticnet_with_intercept_match_split_lbfgsb(family, n, p, l2):
    X, y = _problem(family, n, p, seed=2)
    l1 = 3.0
    pen = ElasticNetPenalty(l1, l2) if l2 else L1(l1)
    res = penalized_fit(X, y, pen, family=family)
    coef, intercept = _split_lbfgsb(X, y, family, l1, l2, True)
    assert res.converged and res.kkt_violation <= res.tol
    np.testing.assert_allclose(res.coef, coef, rtol=1e-6, atol=1e-6)
    assert res.intercept == pytest.approx(intercept, rel=1e-6, abs=1e-6)
    assert 0 < res.n_zeros < p
    np.testing.assert_array_equal(res.coef == 0.0, np.abs(coef) < 1e-8)


@pytest.mark.parametrize(("n", "p", "solver"), [(200, 10, "prox-newton-gram"),
                                                (40, 90, "prox-newton-dual")])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_poisson_l2_matches_scipy_newton(n, p, solver, fit_intercept):
    X, y = _problem("poisson", n, p, seed=3)
    lam = 0.7
    res = penalized_fit(X, y, "l2", lam=lam, family="poisson", fit_intercept=fit_intercept)
    coef, intercept = _trust_newton(X, y, "poisson", lambda w: 2 * lam * w,
                                    lambda w: np.full_like(w, 2 * lam), lambda w: lam * w @ w,
                                    fit_intercept)
    assert res.converged and res.solver == solver
    np.testing.assert_allclose(res.coef, coef, rtol=1e-8, atol=1e-9)
    assert res.intercept == pytest.approx(intercept, rel=1e-8, abs=1e-9)


def test_smooth_convex_penalty_without_quadratic_form_takes_prox_newton():
    X, y = _problem("bernoulli", 150, 6, seed=4)
    res = penalized_fit(X, y, _LogCosh(1.3), family="bernoulli")
    c = 1.3
    coef, intercept = _trust_newton(X, y, "bernoulli", lambda w: c * np.tanh(c * w),
                                    lambda w: c**2 / np.cosh(c * w) ** 2,
                                    lambda w: float(np.sum(np.log(np.cosh(c * w)))), True)
    assert res.solver == "prox-newton-smooth" and res.converged and res.convex
    np.testing.assert_allclose(res.coef, coef, rtol=1e-8, atol=1e-9)
    assert res.intercept == pytest.approx(intercept, rel=1e-8, abs=1e-9)


# --- non-convex paths keep their second-order certificate --------------------------

def test_nonconvex_results_are_certified_local_minima():
    X, y = _problem("gaussian", 80, 10, seed=5)
    for prior in (GeneralizedNormal(1.0, 0.5), StudentT(3.0, 0.3)):
        res = find_map(Model(X, y, prior=prior, noise_sigma=1.0))
        assert res.converged and res.convex is False and res.min_curvature > 0
        assert res.kkt_violation <= res.tol
    res = find_map(Model(X, y, prior=GeneralizedNormal(1.0, 1.5), noise_sigma=1.0))
    assert res.converged and res.convex is True and math.isnan(res.min_curvature)


def test_bridge_below_one_is_a_coordinatewise_global_minimum():
    # Gaussian family: the local model is the objective, so the certificate is exact
    X, y = _problem("gaussian", 60, 12, seed=6)
    lam, pexp = 4.0, 0.5
    res = penalized_fit(X, y, "bridge", lam=lam, p=pexp, noise_sigma=1.0)
    assert res.converged and 0 < res.n_zeros < 12

    def objective(w):
        r = y - X @ w - res.intercept
        return 0.5 * float(r @ r) + lam * float(np.sum(np.abs(w) ** pexp))

    best = objective(res.coef)
    grid = np.linspace(-3.0, 3.0, 6001)
    for j in range(12):
        trial = np.repeat(res.coef[None, :], grid.size, axis=0)
        trial[:, j] = grid
        values = [objective(t) for t in trial]
        assert best <= min(values) + 1e-9


# --- the loop itself, on a problem with a closed-form answer ---------------------------

class _Separable(CompositeProblem):
    """``sum_i exp(x_i) - y_i x_i + lam |x_i|``: each coordinate in closed form."""

    def __init__(self, y, lam):
        self.y, self.lam = y, lam

    def objective(self, x):
        return float(np.sum(np.exp(x) - self.y * x)) + self.penalty_value(x)

    def gradient(self, x):
        return np.exp(x) - self.y

    def certificate(self, x, grad):
        dist = np.where(x != 0, np.abs(grad + self.lam * np.sign(x)),
                        np.maximum(np.abs(grad) - self.lam, 0.0))
        return float(dist.max())

    def penalty_value(self, x):
        return self.lam * float(np.sum(np.abs(x)))

    def newton_step(self, x, grad, inner_tol):
        h = np.exp(x)  # the model is separable: soft-thresholding solves it exactly
        z = h * x - grad
        return np.sign(z) * np.maximum(np.abs(z) - self.lam, 0.0) / h - x


def test_prox_newton_on_a_problem_with_a_closed_form():
    y = np.array([0.1, 0.5, 1.0, 1.4, 2.0, 4.0, 9.0])
    lam = 0.5
    out = prox_newton(_Separable(y, lam), np.zeros_like(y), tol=1e-12, max_iter=100)
    exact = np.where(y - lam > 1.0, np.log(np.maximum(y - lam, 1e-300)),
                     np.where(y + lam < 1.0, np.log(y + lam), 0.0))
    assert out.converged and out.kkt <= 1e-12 and out.n_iter < 20
    np.testing.assert_allclose(out.x, exact, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(out.x == 0.0, exact == 0.0)
    start = prox_newton(_Separable(y, lam), np.zeros_like(y), tol=1e-12, max_iter=0)
    assert start.n_iter == 0 and not start.converged and np.all(start.x == 0.0)


# --- dispatch -------------------------------------------------------------------------

@dataclass(frozen=True)
class _LogCosh(Penalty):
    """``sum_j log cosh(c w_j)``: smooth and convex, no quadratic form (a user's penalty)."""

    c: float
    name = "logcosh"
    smooth = True

    @property
    def lam(self):
        return self.c

    def value(self, w):
        return float(np.sum(np.log(np.cosh(self.c * np.asarray(w, dtype=float)))))

    def grad(self, w):
        return self.c * np.tanh(self.c * np.asarray(w, dtype=float))

    def hess(self, w):
        return self.c**2 / np.cosh(self.c * np.asarray(w, dtype=float)) ** 2

    def prox_1d(self, z, step):
        raise NotImplementedError

    def subdiff_distance(self, w, grad):
        return np.abs(np.asarray(grad, dtype=float) + self.grad(w))


@dataclass(frozen=True)
class _Capped(Penalty):
    """``lam min(|w|, 1)``: neither of the form ``a|w| + c w**2`` nor smooth."""

    lam: float
    name = "capped"

    def value(self, w):
        return self.lam * float(np.sum(np.minimum(np.abs(w), 1.0)))

    def prox_1d(self, z, step):
        raise NotImplementedError

    def subdiff_distance(self, w, grad):
        return np.abs(grad)


DISPATCH = [
    # (penalty, family, n, p, FitResult.solver)
    (L1(5.0), "gaussian", 80, 6, "cd-gram"),
    (L1(5.0), "gaussian", 30, 60, "cd-residual"),
    (L2(0.5), "gaussian", 80, 6, "cholesky"),
    (ElasticNetPenalty(5.0, 1.0), "gaussian", 80, 6, "cd-gram"),
    (Bridge(3.0, 1.0), "gaussian", 80, 6, "cd-gram"),
    (Bridge(3.0, 2.0), "gaussian", 80, 6, "cholesky"),
    (L1(5.0), "bernoulli", 80, 6, "prox-newton-gram"),
    (L1(2.0), "bernoulli", 30, 60, "prox-newton-residual"),
    (L2(0.5), "poisson", 80, 6, "prox-newton-gram"),
    (L2(0.5), "poisson", 30, 60, "prox-newton-dual"),
    (ElasticNetPenalty(2.0, 1.0), "poisson", 30, 60, "prox-newton-residual"),
    (Bridge(3.0, 0.5), "gaussian", 80, 6, "bridge-prox-newton-cd+newton"),
    (Bridge(3.0, 1.5), "bernoulli", 80, 6, "bridge-prox-newton-cd+newton"),
    (LogPenalty(2.0, 0.5), "poisson", 80, 6, "mm-weighted-ridge"),
    (_LogCosh(1.0), "gaussian", 80, 6, "prox-newton-smooth"),
]


@pytest.mark.parametrize(("pen", "family", "n", "p", "solver"), DISPATCH,
                         ids=[f"{d[0].name}-{d[1]}-{d[2]}x{d[3]}" for d in DISPATCH])
def test_each_penalty_takes_its_path(pen, family, n, p, solver):
    X, y = _problem(family, n, p, seed=7)
    res = penalized_fit(X, y, pen, family=family,
                        noise_sigma=1.0 if family == "gaussian" else None)
    assert res.solver.startswith(solver), res.solver
    assert res.converged


def test_the_shipped_priors_take_the_documented_paths():
    X, y = _problem("bernoulli", 80, 6, seed=8)
    paths = {type(prior).__name__: find_map(Model(X, y, prior=prior, family="bernoulli")).solver
             for prior in (Laplace(1.0), Gaussian(1.0), ElasticNet(1.0, 2.0),
                           GeneralizedNormal(1.0, 0.6), StudentT(3.0, 0.5))}
    assert paths["Laplace"] == paths["Gaussian"] == paths["ElasticNet"] == "prox-newton-gram"
    assert paths["GeneralizedNormal"] == "bridge-prox-newton-cd+newton"
    assert paths["StudentT"].startswith("mm-weighted-ridge(")
    assert select_path(L1(1.0), Model(X, y, prior=Laplace(1.0), family="bernoulli").family
                       ).__name__ == "solve_prox_newton"


def test_a_penalty_with_no_path_says_what_to_implement():
    X, y = _problem("gaussian", 40, 3)
    with pytest.raises(ValueError, match=r"quadratic_weights\(\).*smooth = True.*grad\(\)"):
        penalized_fit(X, y, _Capped(1.0), noise_sigma=1.0)


# --- max_iter = 0: the start, certified as it stands ----------------------------------

@pytest.mark.parametrize(("pen", "family", "n", "p", "solver"), DISPATCH,
                         ids=[f"{d[0].name}-{d[1]}-{d[2]}x{d[3]}" for d in DISPATCH])
def test_max_iter_zero_returns_the_start_with_a_warning(pen, family, n, p, solver):
    X, y = _problem(family, n, p, seed=9)
    with pytest.warns(mapreg.ConvergenceWarning, match="after 0 iterations"):
        res = penalized_fit(X, y, pen, family=family, max_iter=0,
                            noise_sigma=1.0 if family == "gaussian" else None)
    assert res.n_iter == 0 and not res.converged and np.all(res.coef == 0.0)
    assert res.solver.startswith(solver)
    if res.convex:
        assert res.kkt_violation > res.tol
    else:  # bridge p < 1: every zero meets the first-order conditions, the support does not
        assert res.kkt_violation > res.tol or isinstance(pen, Bridge)


def test_find_map_max_iter_zero_on_every_prior_and_a_pymc_model():
    X, y = _problem("poisson", 40, 5, seed=10)
    for prior in (Laplace(1.0), Gaussian(1.0), GeneralizedNormal(1.0, 0.5), StudentT(3.0, 1.0)):
        with pytest.warns(mapreg.ConvergenceWarning):
            res = find_map(Model(X, y, prior=prior, family="poisson"), max_iter=0)
        assert res.n_iter == 0 and not res.converged and np.all(res.coef == 0.0)
    pm_model = Model(X, y, prior=Laplace(1.0), family="poisson").to_pymc()
    with pytest.warns(mapreg.ConvergenceWarning, match="PyMC model"):
        res = find_map(pm_model, max_iter=0)
    assert res.n_iter == 0 and not res.converged and np.all(res.coef == 0.0)


def test_pymc_model_map_is_the_glm_map():
    # the same posterior through two problem objects of the one prox-Newton loop
    X, y = _problem("bernoulli", 120, 5, seed=11)
    model = Model(X, y, prior=Laplace(0.1), family="bernoulli")
    glm = find_map(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pm = find_map(model.to_pymc(), tol=1e-11)
    assert pm.converged and glm.converged and 0 < glm.n_zeros < 5
    np.testing.assert_array_equal(pm.coef == 0.0, glm.coef == 0.0)
    np.testing.assert_allclose(pm.coef, glm.coef, rtol=1e-7, atol=1e-8)
    assert pm.intercept == pytest.approx(glm.intercept, rel=1e-7, abs=1e-8)


# --- the working-set Gram solve of the Gaussian family (n >= p >= 64) ------------------

@pytest.mark.parametrize(("n", "p", "fraction", "l1_ratio", "solver"), [
    (400, 90, 0.1, 1.0, "cd-gram-ws+support-solve"),  # sparse: Gram blocks of working sets
    (400, 90, 0.1, 0.5, "cd-gram-ws+support-solve"),  # elastic net, same
    (400, 90, 1e-4, 1.0, "cd-gram+support-solve"),  # nearly all enter: the full Gram matrix
    (150, 300, 0.2, 1.0, "cd-gram-ws+support-solve"),  # p > n, sparse
    (150, 300, 0.01, 1.0, "cd-residual+support-solve"),  # p > n, dense: the residual
])
def test_gaussian_working_set_solve_is_sklearns_enet(n, p, fraction, l1_ratio, solver):
    from sklearn.linear_model import ElasticNet as SkElasticNet

    rng = np.random.default_rng(11)
    X = rng.normal(size=(n, p)) + 2.0  # non-zero means: the blocks are centred
    X[:, 1] = X[:, 0] + 0.2 * rng.normal(size=n)
    y = X[:, :8] @ rng.normal(size=8) + rng.normal(size=n)
    alpha = fraction * np.max(np.abs((X - X.mean(0)).T @ (y - y.mean()))) / (n * l1_ratio)
    ref = SkElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000).fit(X, y)
    lam, lam2 = n * alpha * l1_ratio, n * alpha * (1 - l1_ratio) / 2
    pen = ElasticNetPenalty(lam, lam2) if l1_ratio < 1 else L1(lam)
    res = penalized_fit(X, y, pen, noise_sigma=1.0)
    assert res.converged and res.solver == solver
    np.testing.assert_allclose(res.coef, ref.coef_, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(res.coef == 0.0, ref.coef_ == 0.0)
    assert res.intercept == pytest.approx(ref.intercept_, abs=1e-8)
    # the certificate, recomputed here
    d = X @ res.coef + res.intercept - y
    g = X.T @ d + 2 * lam2 * res.coef
    kkt = np.where(res.coef != 0, np.abs(g + lam * np.sign(res.coef)),
                   np.maximum(np.abs(g) - lam, 0.0)).max()
    assert max(kkt, abs(d.sum())) == pytest.approx(res.kkt_violation, abs=1e-9 * lam)
    assert res.kkt_violation <= res.tol
