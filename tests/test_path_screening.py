"""The screened path (strong rules + KKT check, mapreg.solvers.pathwise) against references.

References, written independently of mapreg's solvers: scikit-learn's ``lasso_path`` and
``enet_path`` at a tight tolerance, liblinear's L1 logistic regression, and for
Bernoulli / Poisson with an intercept scipy's L-BFGS-B on the split form
``w = u - v, u, v >= 0`` polished by a Newton iteration written here on the support and
signs it found (smooth there: Newton converges to machine precision), with the KKT
conditions of its zeros checked here. Also the unscreened path (``screen=False``:
``find_map`` at each point) and KKT certificates recomputed in the test with numpy.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.optimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression, enet_path, lasso_path

from mapreg import ElasticNet, Gaussian, Laplace, Model
from mapreg.exceptions import ConvergenceWarning
from mapreg.fit.path import path


def _violating_design():
    """A small correlated design on which the sequential strong rule is wrong (found by a
    search over seeds): it discards coefficients that enter, in all three families."""
    rng = np.random.default_rng(86)
    n, p = 20, 6
    Z = rng.normal(size=(n, 2))
    X = Z @ rng.normal(size=(2, p)) + 0.2 * rng.normal(size=(n, p))
    y = X @ rng.normal(size=p) + 0.5 * rng.normal(size=n)
    ys = {"gaussian": y, "bernoulli": (y > np.median(y)).astype(float)}
    ys["poisson"] = rng.poisson(np.exp(0.3 * np.clip(y, -3, 3))).astype(float)
    return X, ys


def _sparse_problem(n, p, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, 1] = X[:, 0] + 0.3 * rng.normal(size=n)  # correlated pair
    w = np.zeros(p)
    w[:5] = [2.0, -1.5, 1.0, 0.8, -0.6]
    return X, X @ w + rng.normal(size=n)


def _kkt(X, y, family, coef, intercept, l1, l2):
    """Largest KKT violation of L(Xw + c) + l1 |w|_1 + l2 |w|^2, computed here."""
    eta = X @ coef + intercept
    d = {"gaussian": eta - y, "bernoulli": expit(eta) - y, "poisson": np.exp(eta) - y}[family]
    g = X.T @ d + 2.0 * l2 * coef
    v = np.where(coef != 0, np.abs(g + l1 * np.sign(coef)), np.maximum(np.abs(g) - l1, 0.0))
    return max(float(v.max()), abs(float(d.sum())))


# --- Gaussian family: scikit-learn's paths --------------------------------------------

@pytest.mark.parametrize(("n", "p"), [(120, 30), (40, 100)], ids=["gram", "residual"])
def test_screened_lasso_path_is_lasso_path(n, p):
    X, y = _sparse_problem(n, p, seed=5)
    res = path(Model(X, y, prior=Laplace(1.0), noise_sigma=1.0), n_lambdas=40,
               lambda_min_ratio=1e-2)
    Xc, yc = X - X.mean(0), y - y.mean()
    _, ref, _ = lasso_path(Xc, yc, alphas=res.lambdas / n, tol=1e-14, max_iter=1_000_000)
    np.testing.assert_allclose(res.coef, ref.T, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(res.coef == 0.0, ref.T == 0.0)
    assert res.converged.all() and res.screening is not None
    assert min(res.screening.n_strong[1:]) < p  # the rule did discard coefficients
    for k, lam in enumerate(res.lambdas):  # the certificate, recomputed here
        kkt = _kkt(X, y, "gaussian", res.coef[k], res.intercept[k], lam, 0.0)
        assert kkt <= 1e-9 * np.abs(Xc.T @ yc).max()
        assert res.kkt_violation[k] == pytest.approx(kkt, abs=1e-9 * np.abs(Xc.T @ yc).max())


@pytest.mark.parametrize(("n", "p"), [(120, 30), (40, 100)], ids=["gram", "residual"])
def test_screened_enet_path_is_enet_path(n, p):
    X, y = _sparse_problem(n, p, seed=6)
    rho = 0.5  # sklearn: alpha (rho |w|_1 + (1 - rho)/2 |w|^2) per sample
    res = path(Model(X, y, prior=ElasticNet.from_lam(1.0, (1 - rho) / (2 * rho)),
                     noise_sigma=1.0), n_lambdas=30, lambda_min_ratio=1e-2)
    alphas = res.lambdas / (n * rho)
    _, ref, _ = enet_path(X - X.mean(0), y - y.mean(), l1_ratio=rho, alphas=alphas,
                          tol=1e-14, max_iter=1_000_000)
    np.testing.assert_allclose(res.coef, ref.T, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(res.coef == 0.0, ref.T == 0.0)
    assert res.converged.all()


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_screened_equals_unscreened_and_ridge_is_closed_form(fit_intercept):
    X, y = _sparse_problem(80, 25, seed=7)
    model = Model(X, y + 3.0, prior=Laplace(1.0), noise_sigma=2.0, fit_intercept=fit_intercept)
    fast = path(model, n_lambdas=25)
    slow = path(model, n_lambdas=25, screen=False)
    assert slow.screening is None
    np.testing.assert_allclose(fast.coef, slow.coef, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(fast.coef == 0.0, slow.coef == 0.0)
    np.testing.assert_allclose(fast.intercept, slow.intercept, atol=1e-9)
    if not fit_intercept:
        return
    ridge = path(Model(X, y, prior=Gaussian(1.0), noise_sigma=2.0), n_lambdas=15)
    Xc, yc = X - X.mean(0), y - y.mean()
    for k, lam in enumerate(ridge.lambdas):
        w = np.linalg.solve(Xc.T @ Xc / 4.0 + 2 * lam * np.eye(25), Xc.T @ yc / 4.0)
        np.testing.assert_allclose(ridge.coef[k], w, rtol=1e-9, atol=1e-11)
    assert ridge.converged.all()


def test_strong_rule_violation_is_caught_gaussian():
    X, ys = _violating_design()
    n = len(ys["gaussian"])
    res = path(Model(X, ys["gaussian"], prior=Laplace(1.0), noise_sigma=1.0), n_lambdas=12,
               lambda_min_ratio=0.1)
    assert sum(res.screening.n_violations) > 0  # the rule was wrong, and it was noticed
    violated = np.flatnonzero(res.screening.n_violations)
    assert all(res.screening.n_rounds[k] >= 2 for k in violated)  # and re-solved
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its duality gap stops at rounding level
        _, ref, _ = lasso_path(X - X.mean(0), ys["gaussian"] - ys["gaussian"].mean(),
                               alphas=res.lambdas / n, tol=1e-14, max_iter=1_000_000)
    np.testing.assert_allclose(res.coef, ref.T, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(res.coef == 0.0, ref.T == 0.0)


# --- Bernoulli and Poisson: precise references from scipy ----------------------------

def _glm_loss(family, eta, y):
    if family == "bernoulli":
        mu = expit(eta)
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta)), mu - y, mu * (1.0 - mu)
    mu = np.exp(eta)
    return float(np.sum(mu - y * eta)), mu - y, mu


def _glm_reference(X, y, family, l1):
    """argmin L(Xw + c) + l1 |w|_1: L-BFGS-B on w = u - v, then Newton on its support."""
    p = X.shape[1]

    def split(z):
        w = z[:p] - z[p:2 * p]
        f, d, _ = _glm_loss(family, X @ w + z[-1], y)
        gw = X.T @ d
        return f + l1 * float(np.sum(z[:2 * p])), np.concatenate([gw + l1, l1 - gw, [d.sum()]])

    z = scipy.optimize.minimize(split, np.zeros(2 * p + 1), jac=True, method="L-BFGS-B",
                                bounds=[(0.0, None)] * (2 * p) + [(None, None)],
                                options={"ftol": 0.0, "gtol": 1e-12, "maxiter": 50_000}).x
    w0, c0 = z[:p] - z[p:2 * p], z[-1]
    S = np.abs(w0) > 1e-6
    for _ in range(p + 1):  # an active-set loop: a zero whose condition fails joins S
        coef, c0 = _newton_on_support(X, y, family, l1, np.where(S, w0, 0.0), c0)
        eta = X @ coef + c0
        g = X.T @ _glm_loss(family, eta, y)[1]
        bad = (coef == 0.0) & (np.abs(g) > l1)
        if not bad.any():
            break
        S, w0 = S | bad, np.where(bad, -1e-8 * np.sign(g), coef)
    assert _kkt(X, y, family, coef, c0, l1, 0.0) < 1e-9  # the minimiser, checked here
    return coef, c0


def _newton_on_support(X, y, family, l1, w0, c0):
    """Newton (exact Hessian) on the support and signs of ``w0``, where it is smooth."""
    S = np.flatnonzero(w0)
    s = np.sign(w0[S])
    A = np.hstack([X[:, S], np.ones((len(y), 1))])

    def f(v):
        return _glm_loss(family, A @ v, y)[0] + l1 * float(s @ v[:-1])

    def jac(v):
        g = A.T @ _glm_loss(family, A @ v, y)[1]
        g[:-1] += l1 * s
        return g

    def hess(v):
        return A.T @ (_glm_loss(family, A @ v, y)[2][:, None] * A)

    v = np.append(w0[S], c0)
    for _ in range(100):  # Newton with backtracking, started next to the answer
        g = jac(v)
        if np.abs(g).max() < 1e-13:
            break
        step, t = np.linalg.solve(hess(v), g), 1.0
        while f(v - t * step) > f(v) + 1e-14 * abs(f(v)) and t > 1e-10:
            t *= 0.5
        v = v - t * step
    coef = np.zeros(X.shape[1])
    coef[S] = np.where(np.sign(v[:-1]) == s, v[:-1], 0.0)  # a sign flip leaves the support
    return coef, float(v[-1])


@pytest.mark.parametrize("family", ["bernoulli", "poisson"])
def test_glm_screened_path_catches_violations_and_matches_scipy(family):
    X, ys = _violating_design()
    y = ys[family]
    res = path(Model(X, y, prior=Laplace(1.0), family=family), n_lambdas=12,
               lambda_min_ratio=0.1)
    assert sum(res.screening.n_violations) > 0
    assert res.converged.all()
    for k in range(1, len(res.lambdas), 3):
        coef, intercept = _glm_reference(X, y, family, res.lambdas[k])
        np.testing.assert_allclose(res.coef[k], coef, rtol=0, atol=1e-8)
        np.testing.assert_array_equal(res.coef[k] == 0.0, coef == 0.0)
        assert res.intercept[k] == pytest.approx(intercept, abs=1e-8)
        assert res.kkt_violation[k] == pytest.approx(
            _kkt(X, y, family, res.coef[k], res.intercept[k], res.lambdas[k], 0.0), abs=1e-10)


def test_logistic_path_matches_liblinear_at_each_point_and_unscreened():
    X, y = _sparse_problem(150, 12, seed=8)
    y = (y > 0).astype(float)
    model = Model(X, y, prior=Laplace(1.0), family="bernoulli", fit_intercept=False)
    res = path(model, n_lambdas=8, lambda_min_ratio=0.05)
    clf = LogisticRegression(l1_ratio=1.0, solver="liblinear", fit_intercept=False,
                             tol=1e-12, max_iter=100_000)
    for k, lam in enumerate(res.lambdas):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # liblinear's own convergence notes
            ref = clf.set_params(C=1.0 / lam).fit(X, y).coef_.ravel()
        np.testing.assert_allclose(res.coef[k], ref, rtol=0, atol=1e-7)
        np.testing.assert_array_equal(res.coef[k] == 0.0, np.abs(ref) < 1e-10)
    slow = path(model, n_lambdas=8, lambda_min_ratio=0.05, screen=False)
    np.testing.assert_allclose(res.coef, slow.coef, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(res.coef == 0.0, slow.coef == 0.0)


def test_a_path_that_cannot_iterate_warns_and_says_so():
    X, y = _sparse_problem(60, 8, seed=9)
    model = Model(X, y, prior=Laplace(1.0), noise_sigma=1.0)
    with pytest.warns(ConvergenceWarning, match="did not reach the KKT tolerance"):
        res = path(model, n_lambdas=5, max_iter=0)
    assert not res.converged[1:].any() and np.all(res.coef == 0.0)
    assert res.converged[0]  # lam_max: w = 0 is the answer, certified as it stands


@pytest.mark.parametrize("family", ["bernoulli", "poisson"])
def test_glm_screened_path_with_more_features_than_samples(family):
    rng = np.random.default_rng(10)
    X = rng.normal(size=(40, 100))
    eta = X[:, :4] @ np.array([1.0, -1.0, 0.8, 0.5])
    y = ((rng.uniform(size=40) < expit(eta)) if family == "bernoulli"
         else rng.poisson(np.exp(0.5 * eta))).astype(float)
    model = Model(X, y, prior=Laplace(1.0), family=family)
    fast = path(model, n_lambdas=10, lambda_min_ratio=0.05)
    slow = path(model, n_lambdas=10, lambda_min_ratio=0.05, screen=False)
    assert fast.converged.all() and min(fast.screening.n_strong[1:]) < 100
    np.testing.assert_allclose(fast.coef, slow.coef, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(fast.coef == 0.0, slow.coef == 0.0)
    for k in (3, 9):  # and the certificate, recomputed here
        assert _kkt(X, y, family, fast.coef[k], fast.intercept[k], fast.lambdas[k], 0.0) \
            <= 1e-9 * np.abs(X.T @ (y - y.mean())).max()


def test_ridge_path_with_more_features_than_samples_is_closed_form():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(30, 60)) + 1.0
    y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=30)
    res = path(Model(X, y, prior=Gaussian(1.0), noise_sigma=1.5), n_lambdas=12)
    Xc, yc = X - X.mean(0), y - y.mean()
    for k, lam in enumerate(res.lambdas):  # the primal normal equations, solved here
        w = np.linalg.solve(Xc.T @ Xc / 2.25 + 2 * lam * np.eye(60), Xc.T @ yc / 2.25)
        np.testing.assert_allclose(res.coef[k], w, rtol=1e-8, atol=1e-10)
        assert res.intercept[k] == pytest.approx(y.mean() - X.mean(0) @ w, abs=1e-9)
    assert res.converged.all()
