"""scikit-learn estimators: the estimator contract, and answers checked against independent fits."""

import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from scipy import stats  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import (  # noqa: E402
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
)
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from mapreg import MAPClassifier, MAPRegressor  # noqa: E402
from mapreg.datasets import load_diabetes  # noqa: E402


@parametrize_with_checks([MAPRegressor(), MAPClassifier(), MAPRegressor(prior="gaussian"),
                          MAPRegressor(prior="elasticnet", scale2=1.0),
                          MAPRegressor(prior="student-t", nu=3.0),
                          MAPRegressor(prior="bridge", p=0.5),
                          MAPClassifier(prior="bridge", p=1.5)])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


def test_package_imports_without_loading_sklearn():
    code = "import sys, mapreg; assert 'sklearn' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes()


@pytest.mark.parametrize("b", [0.5, 2.0, 10.0])
def test_regressor_laplace_matches_sklearn_lasso(diabetes, b):
    s, n = 53.0, diabetes.X.shape[0]
    reg = MAPRegressor(prior="laplace", scale=b, noise_sigma=s).fit(diabetes.X, diabetes.y)
    ref = Lasso(alpha=s**2 / (n * b), tol=1e-14, max_iter=200_000).fit(diabetes.X, diabetes.y)
    scale = max(1.0, np.max(np.abs(ref.coef_)))
    np.testing.assert_allclose(reg.coef_, ref.coef_, atol=1e-6 * scale)
    assert reg.intercept_ == pytest.approx(ref.intercept_, abs=1e-6 * scale)
    np.testing.assert_array_equal(reg.coef_ == 0.0, ref.coef_ == 0.0)
    np.testing.assert_allclose(reg.predict(diabetes.X), ref.predict(diabetes.X),
                               atol=1e-5 * scale)


def test_regressor_gaussian_matches_sklearn_ridge(diabetes):
    s, sigma = 53.0, 3.0
    reg = MAPRegressor(prior="gaussian", scale=sigma, noise_sigma=s).fit(diabetes.X, diabetes.y)
    ref = Ridge(alpha=s**2 / sigma**2).fit(diabetes.X, diabetes.y)
    np.testing.assert_allclose(reg.coef_, ref.coef_, rtol=1e-9, atol=1e-9)
    assert reg.intercept_ == pytest.approx(ref.intercept_, abs=1e-9)


def test_default_noise_is_least_squares_residual_sd(diabetes):
    X, y = diabetes.X, diabetes.y
    ols = LinearRegression().fit(X, y)
    rss = float(np.sum((y - ols.predict(X)) ** 2))
    expected = np.sqrt(rss / (X.shape[0] - X.shape[1] - 1))
    reg = MAPRegressor(scale=2.0).fit(X, y)
    assert reg.noise_sigma_ == pytest.approx(expected, rel=1e-10)
    ref = MAPRegressor(scale=2.0, noise_sigma=expected).fit(X, y)
    np.testing.assert_allclose(reg.coef_, ref.coef_, rtol=1e-12)


def test_classifier_matches_sklearn_logistic_l2():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5))
    w = np.array([1.5, -2.0, 0.0, 0.5, 0.0])
    y = np.where(rng.random(300) < 1 / (1 + np.exp(-(X @ w + 0.3))), "yes", "no")
    sigma = 0.7
    clf = MAPClassifier(prior="gaussian", scale=sigma).fit(X, y)
    ref = LogisticRegression(C=sigma**2, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    np.testing.assert_allclose(clf.coef_, ref.coef_.ravel(), atol=2e-6)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=2e-6)
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(ref.predict_proba(X)), atol=1e-5)


def test_classifier_rejects_multiclass_with_clear_message():
    X = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ValueError, match="Only binary classification"):
        MAPClassifier().fit(X, [0, 1, 2, 0, 1, 2])


def test_regressor_rejects_bad_parameters_at_fit(diabetes):
    with pytest.raises(ValueError, match="prior must be one of"):
        MAPRegressor(prior="lasso").fit(diabetes.X, diabetes.y)
    with pytest.raises(ValueError, match="positive"):
        MAPRegressor(scale=0.0).fit(diabetes.X, diabetes.y)
    with pytest.raises(ValueError, match="MAPClassifier"):
        MAPRegressor(family="bernoulli").fit(diabetes.X, diabetes.y)


@pytest.mark.parametrize("b, sigma", [(2.0, 5.0), (0.5, 1.0)])
def test_regressor_elasticnet_matches_sklearn_elasticnet(diabetes, b, sigma):
    s, n = 53.0, diabetes.X.shape[0]
    # scikit-learn: alpha l1_ratio = s^2/(n b), alpha (1 - l1_ratio) = s^2/(n sigma^2)
    l1, l2 = s**2 / (n * b), s**2 / (n * sigma**2)
    reg = MAPRegressor(prior="elasticnet", scale=b, scale2=sigma, noise_sigma=s)
    reg.fit(diabetes.X, diabetes.y)
    ref = ElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2), tol=1e-14, max_iter=200_000)
    ref.fit(diabetes.X, diabetes.y)
    scale = max(1.0, np.max(np.abs(ref.coef_)))
    np.testing.assert_allclose(reg.coef_, ref.coef_, atol=1e-6 * scale)
    assert reg.intercept_ == pytest.approx(ref.intercept_, abs=1e-6 * scale)
    np.testing.assert_array_equal(reg.coef_ == 0.0, ref.coef_ == 0.0)


def test_regressor_bridge_two_is_ridge(diabetes):
    # GeneralizedNormal(alpha, p=2): lam = alpha**-2 = 1/(2 sigma^2), so sigma = alpha/sqrt(2)
    # and Ridge(alpha_ridge = s^2/sigma^2 = 2 s^2/alpha^2).
    s, alpha = 53.0, 4.0
    reg = MAPRegressor(prior="bridge", p=2.0, scale=alpha, noise_sigma=s)
    reg.fit(diabetes.X, diabetes.y)
    ref = Ridge(alpha=2 * s**2 / alpha**2).fit(diabetes.X, diabetes.y)
    np.testing.assert_allclose(reg.coef_, ref.coef_, rtol=1e-8, atol=1e-8)


def test_regressor_student_t_is_a_stationary_local_mode(diabetes):
    # -log p(w) = lam log(1 + w^2/delta), lam = (nu+1)/2, delta = nu s^2: at the MAP the
    # gradient of the likelihood balances 2 lam w / (delta + w^2) in every coordinate.
    X, y, s, nu, scale = diabetes.X, diabetes.y, 53.0, 3.0, 2.0
    reg = MAPRegressor(prior="student-t", nu=nu, scale=scale, noise_sigma=s).fit(X, y)
    w, w0 = reg.coef_, reg.intercept_
    lam, delta = (nu + 1) / 2, nu * scale**2
    grad = X.T @ (y - X @ w - w0) / s**2
    np.testing.assert_allclose(grad, 2 * lam * w / (delta + w**2), atol=1e-9)
    assert abs(np.sum(y - X @ w - w0)) < 1e-6  # the flat-prior intercept
    # a strict local minimum: the Hessian of the negative log posterior is positive definite
    hess = X.T @ X / s**2 + np.diag(2 * lam * (delta - w**2) / (delta + w**2) ** 2)
    assert np.linalg.eigvalsh(hess)[0] > 0
    assert reg.map_.convex is False and reg.map_.min_curvature > 0
    cauchy = MAPRegressor(prior="cauchy", scale=scale, noise_sigma=s).fit(X, y)
    one = MAPRegressor(prior="student-t", nu=1.0, scale=scale, noise_sigma=s).fit(X, y)
    np.testing.assert_array_equal(cauchy.coef_, one.coef_)


def test_new_prior_parameters_are_checked_at_fit(diabetes):
    X, y = diabetes.X, diabetes.y
    reg = MAPRegressor(prior="bridge", p=3.0)  # stored as given, checked in fit
    assert reg.get_params()["p"] == 3.0
    cases = [
        (dict(prior="bridge"), r"prior='bridge' needs p= \(the exponent, 0 < p <= 2\)"),
        # the prior's own check, prefixed with the estimator parameter it came from
        (dict(prior="bridge", p=3.0), r"^p=3.0: .*exponent p must lie in \(0, 2\], got 3.0$"),
        (dict(prior="bridge", p=0.0), r"^p=0.0: .*p must be a positive finite number, got 0.0$"),
        (dict(prior="elasticnet"), r"prior='elasticnet' needs scale2="),
        (dict(prior="elasticnet", scale2=-1.0),
         r"^scale2=-1.0: .*sigma must be a positive finite number, got -1.0$"),
        (dict(prior="student-t"), r"prior='student-t' needs nu="),
        (dict(prior="student-t", nu=np.inf), r"^nu=inf: .*nu must be a positive finite number"),
        (dict(prior="horseshoe"), r"prior='horseshoe' has no posterior mode"),
    ]
    for params, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            MAPRegressor(noise_sigma=53.0, **params).fit(X, y)
    with pytest.raises(ValueError, match=r"horseshoe.*sample_posterior"):
        MAPClassifier(prior="horseshoe").fit(X, y > np.median(y))
    # parameters a prior does not use are ignored (a grid over prior may keep them fixed)
    a = MAPRegressor(prior="laplace", scale=2.0, noise_sigma=53.0, p=0.5, nu=3.0).fit(X, y)
    b = MAPRegressor(prior="laplace", scale=2.0, noise_sigma=53.0).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_new_parameters_clone_and_set_params(diabetes):
    reg = MAPRegressor(prior="bridge", p=0.5, scale=2.0, noise_sigma=53.0)
    twin = clone(reg)
    assert twin.get_params() == reg.get_params()
    assert {"p", "scale2", "nu"} <= set(MAPClassifier().get_params())
    twin.set_params(prior="elasticnet", p=None, scale2=5.0)
    assert twin.get_params()["scale2"] == 5.0 and twin.get_params()["p"] is None
    grid = GridSearchCV(MAPRegressor(noise_sigma=53.0, p=0.5, scale2=5.0),
                        {"prior": ["laplace", "bridge", "elasticnet"], "scale": [2.0]}, cv=3)
    grid.fit(diabetes.X, diabetes.y)
    assert grid.best_params_["prior"] in ("laplace", "bridge", "elasticnet")


def test_pipeline_and_grid_search(diabetes):
    # Raw (unstandardised) features: the scaler inside the pipeline does the work.
    from mapreg.datasets import load_diabetes as load

    raw = load(standardize=False, center_y=False)
    pipe = make_pipeline(StandardScaler(), MAPRegressor(noise_sigma=53.0))
    grid = GridSearchCV(pipe, {"mapregressor__scale": [0.01, 2.0, 100.0]}, cv=3)
    grid.fit(raw.X, raw.y)
    assert grid.best_params_["mapregressor__scale"] in (2.0, 100.0)
    # the winning pipeline's coefficients are the lasso's on the standardised data
    best = grid.best_estimator_[-1]
    n = raw.X.shape[0]
    ref = Lasso(alpha=53.0**2 / (n * best.scale), tol=1e-14, max_iter=200_000)
    ref.fit(diabetes.X, raw.y)
    np.testing.assert_allclose(best.coef_, ref.coef_, atol=1e-5)

    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 3))
    y = (X[:, 0] + 0.3 * rng.standard_normal(120) > 0).astype(int)
    gs = GridSearchCV(MAPClassifier(), {"prior": ["laplace", "gaussian"], "scale": [0.1, 1.0]},
                      cv=3).fit(X, y)
    assert gs.best_score_ > 0.8


def _closed_form_posterior(X, y, s, sigma):
    """Gaussian prior + Gaussian noise, intercept included with a flat prior: N(mean, cov)."""
    A = np.column_stack([np.ones(len(y)), X])
    prec = A.T @ A / s**2 + np.diag([0.0] + [1.0 / sigma**2] * X.shape[1])
    cov = np.linalg.inv(prec)
    return cov @ (A.T @ y) / s**2, cov


def _fake_posterior(mean, cov, n_draws, seed=0):
    import xarray as xr

    draws = np.random.default_rng(seed).multivariate_normal(mean, cov, size=n_draws)
    post = xr.Dataset({
        "intercept": (("chain", "draw"), draws[:, 0].reshape(2, -1)),
        "coef": (("chain", "draw", "feature"), draws[:, 1:].reshape(2, n_draws // 2, -1)),
    })
    return xr.DataTree.from_dict({"posterior": post})


def test_predict_interval_matches_closed_form(diabetes):
    # Draws from the exact conjugate posterior, attached by hand: the interval code
    # must turn them into the closed-form predictive quantiles.
    s, sigma = 53.0, 5.0
    X, y = diabetes.X, diabetes.y
    reg = MAPRegressor(prior="gaussian", scale=sigma, noise_sigma=s).fit(X, y)
    mean, cov = _closed_form_posterior(X, y, s, sigma)
    np.testing.assert_allclose(np.append(reg.intercept_, reg.coef_), mean, atol=1e-8)
    reg.posterior_ = _fake_posterior(mean, cov, 40_000)
    Xn = X[:5]
    An = np.column_stack([np.ones(5), Xn])
    mu = An @ mean
    sd_mean = np.sqrt(np.einsum("ij,jk,ik->i", An, cov, An))
    z = stats.norm.ppf(0.95)
    got = reg.predict_interval(Xn, prob=0.9, kind="mean")
    np.testing.assert_allclose(got[:, 0], mu - z * sd_mean, atol=0.05 * sd_mean.max())
    np.testing.assert_allclose(got[:, 1], mu + z * sd_mean, atol=0.05 * sd_mean.max())
    sd_obs = np.sqrt(sd_mean**2 + s**2)
    got = reg.predict_interval(Xn, prob=0.9, random_state=0)
    np.testing.assert_allclose(got[:, 0], mu - z * sd_obs, atol=0.03 * sd_obs.max())
    np.testing.assert_allclose(got[:, 1], mu + z * sd_obs, atol=0.03 * sd_obs.max())


def test_predict_interval_needs_posterior(diabetes):
    reg = MAPRegressor(noise_sigma=53.0).fit(diabetes.X, diabetes.y)
    with pytest.raises(ValueError, match="sample_posterior"):
        reg.predict_interval(diabetes.X[:2])


@pytest.mark.slow
def test_sample_posterior_after_fit(diabetes):
    s, sigma = 53.0, 5.0
    reg = MAPRegressor(prior="gaussian", scale=sigma, noise_sigma=s).fit(diabetes.X, diabetes.y)
    idata = reg.sample_posterior(draws=2000, chains=2, random_seed=3)
    assert idata is reg.posterior_
    mean, cov = _closed_form_posterior(diabetes.X, diabetes.y, s, sigma)
    coef = np.asarray(idata["posterior"]["coef"].values).reshape(-1, diabetes.X.shape[1])
    se = np.sqrt(np.diag(cov)[1:] / coef.shape[0])
    np.testing.assert_array_less(np.abs(coef.mean(axis=0) - mean[1:]), 5 * se + 1e-9)
    lo, hi = reg.predict_interval(diabetes.X[:3], prob=0.5, kind="mean").T
    assert np.all(lo < reg.predict(diabetes.X[:3])) and np.all(reg.predict(diabetes.X[:3]) < hi)


def test_a_registered_prior_and_its_option_reach_the_estimators(diabetes):
    # The estimators read the prior registry: a prior registered from outside mapreg, with
    # an option of its own, is a valid prior= and takes that option through prior_options.
    from dataclasses import dataclass

    from mapreg.priors import PRIORS, GeneralizedNormal, Option, register_prior

    @dataclass(frozen=True)
    class Power(GeneralizedNormal):
        name = "power-test"
        options = (Option("power", "p", "the exponent, 0 < p <= 2"),)

    register_prior(Power)
    try:
        X, y = diabetes.X, diabetes.y
        reg = MAPRegressor(prior="power-test", scale=4.0, noise_sigma=53.0,
                           prior_options={"power": 2.0}).fit(X, y)
        # p = 2: lam = alpha**-2 = 1/(2 sigma^2), the ridge with alpha_ridge = 2 s^2 / alpha^2
        ref = Ridge(alpha=2 * 53.0**2 / 4.0**2).fit(X, y)
        np.testing.assert_allclose(reg.coef_, ref.coef_, rtol=1e-8, atol=1e-8)
        with pytest.raises(ValueError, match=r"prior='power-test' needs power= \(the exponent"):
            MAPRegressor(prior="power-test", noise_sigma=53.0).fit(X, y)
        with pytest.raises(ValueError, match=r"^power=3.0: .*p must lie in \(0, 2\]"):
            MAPRegressor(prior="power-test", noise_sigma=53.0,
                         prior_options={"power": 3.0}).fit(X, y)
    finally:
        PRIORS.pop("power-test")
