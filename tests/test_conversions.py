"""Conversions to other libraries' parameters, checked against those libraries."""

from __future__ import annotations

import numpy as np
import pytest
from _reference import newton_l2
from conftest import make_problem
from scipy import stats
from sklearn import linear_model as lm

from mapreg import Gaussian, Laplace, Model, conversions, find_map


@pytest.mark.parametrize("b", [0.1, 3.0])
def test_lasso_round_trip(b):
    alpha = conversions.lasso_alpha(Laplace(b), noise_sigma=2.0, n_samples=50)
    assert alpha == pytest.approx(4.0 / (50 * b))
    assert conversions.laplace_from_lasso_alpha(alpha, 2.0, 50).b == pytest.approx(b)


@pytest.mark.parametrize("sigma", [0.1, 3.0])
def test_ridge_poisson_logistic_round_trips(sigma):
    g = Gaussian(sigma)
    # the forward maps in closed form, from each library's objective:
    # Ridge |r|^2 + a|w|^2 = 2 s^2 [|r|^2/(2 s^2) + |w|^2/(2 sigma^2)]  ->  a = s^2 / sigma^2
    # PoissonRegressor (1/n) sum(mu - y eta) + a/2 |w|^2               ->  a = 1 / (n sigma^2)
    # LogisticRegression C L + |w|^2/2 (L2) or C L + |w|_1 (L1)        ->  C = sigma^2, C = b
    assert conversions.ridge_alpha(g, 2.0) == pytest.approx(4.0 / sigma**2, rel=1e-14)
    assert conversions.poisson_alpha(g, 30) == pytest.approx(1.0 / (30 * sigma**2), rel=1e-14)
    assert conversions.logistic_C(g) == pytest.approx(sigma**2, rel=1e-14)
    assert conversions.logistic_C(Laplace(sigma)) == pytest.approx(sigma, rel=1e-14)
    assert conversions.gaussian_from_ridge_alpha(
        conversions.ridge_alpha(g, 2.0), 2.0).sigma == pytest.approx(sigma)
    assert conversions.gaussian_from_poisson_alpha(
        conversions.poisson_alpha(g, 30), 30).sigma == pytest.approx(sigma)
    assert conversions.prior_from_logistic_C(conversions.logistic_C(g), 0).sigma == \
        pytest.approx(sigma)
    assert conversions.prior_from_logistic_C(conversions.logistic_C(Laplace(sigma)), 1).b == \
        pytest.approx(sigma)


def test_elasticnet_round_trip():
    alpha, ratio = conversions.elasticnet_params(Laplace(0.5), Gaussian(2.0), 3.0, 40)
    lap, gau = conversions.priors_from_elasticnet(alpha, ratio, 3.0, 40)
    assert lap.b == pytest.approx(0.5) and gau.sigma == pytest.approx(2.0)


def _elasticnet_posterior_kkt(X, y, coef, intercept, lap, gau, s):
    """KKT violation of -log posterior under Laplace x Gaussian priors, from scipy densities."""
    h = 1e-6

    def smooth_nlp(w, c):
        # likelihood and Gaussian prior from scipy.stats; the Laplace part is handled exactly
        loglik = stats.norm.logpdf(y, X @ w + c, s).sum()
        return -(loglik + stats.norm.logpdf(w, 0, gau.sigma).sum())

    g = np.array([(smooth_nlp(coef + h * e, intercept) - smooth_nlp(coef - h * e, intercept))
                  / (2 * h) for e in np.eye(len(coef))])
    viol = np.where(coef != 0, np.abs(g + np.sign(coef) / lap.b),
                    np.maximum(np.abs(g) - 1 / lap.b, 0))
    return viol.max()


def test_sklearn_elasticnet_is_the_mode_of_laplace_times_gaussian(diabetes):
    X, y = diabetes.X, diabetes.y
    lap, gau, s = Laplace(1.0), Gaussian(5.0), 53.0
    alpha, ratio = conversions.elasticnet_params(lap, gau, s, len(y))
    est = lm.ElasticNet(alpha=alpha, l1_ratio=ratio, tol=1e-15, max_iter=10**6).fit(X, y)
    assert (est.coef_ == 0).any()  # the L1 part is active
    kkt = _elasticnet_posterior_kkt(X, y, est.coef_, est.intercept_, lap, gau, s)
    assert kkt < 1e-4  # finite-difference gradient accuracy; a wrong mapping gives O(1)


def test_statsmodels_fit_regularized_pair(diabetes):
    sm = pytest.importorskip("statsmodels.api")
    X, y = diabetes.X, diabetes.y  # centred: no constant column needed
    lap, gau, s = Laplace(1.0), Gaussian(5.0), 53.0
    params = conversions.statsmodels_params(lap, gau, s, len(y))
    res = sm.OLS(y, X).fit_regularized(method="elastic_net", alpha=params["alpha"],
                                       L1_wt=params["L1_wt"], cnvrg_tol=1e-14, maxiter=10000)
    alpha, ratio = conversions.elasticnet_params(lap, gau, s, len(y))
    est = lm.ElasticNet(alpha=alpha, l1_ratio=ratio, fit_intercept=False, tol=1e-15,
                        max_iter=10**6).fit(X, y)
    np.testing.assert_allclose(res.params, est.coef_, atol=1e-4)


def test_sklearn_estimator_factory_matches_map(diabetes):
    for prior in (Laplace(2.0), Gaussian(10.0)):
        model = Model(diabetes.X, diabetes.y, prior=prior, noise_sigma=53.0)
        est = conversions.sklearn_estimator(model).fit(model.X, model.y)
        np.testing.assert_allclose(est.coef_, find_map(model).coef, atol=1e-6)
    # the GLM branches against the exact Newton solve of tests/_reference.py (lam = 1/(2 sigma^2))
    for family in ("bernoulli", "poisson"):
        X, y = make_problem(family, n=120, p=6, seed=11)
        model = Model(X, y, prior=Gaussian(0.5), family=family)
        est = conversions.sklearn_estimator(model).fit(X, y)
        ref, ref_c = newton_l2(X, y, family, 1.0 / (2 * 0.5**2), True)
        np.testing.assert_allclose(np.ravel(est.coef_), ref, atol=1e-6)
        assert float(np.ravel(est.intercept_)[0]) == pytest.approx(ref_c, abs=1e-6)
    pois = Model(np.ones((3, 1)), np.array([1.0, 2.0, 0.0]), prior=Laplace(1.0),
                 family="poisson")
    assert conversions.sklearn_estimator(pois) is None


@pytest.mark.parametrize(
    ("func", "args", "message"),
    [
        (conversions.lasso_alpha, (Laplace(1.0), 0.0, 10), "noise_sigma"),
        (conversions.lasso_alpha, (Laplace(1.0), 1.0, 0), "n_samples"),
        (conversions.laplace_from_lasso_alpha, (-1.0, 1.0, 10), "alpha"),
        (conversions.priors_from_elasticnet, (1.0, 1.0, 1.0, 10), "l1_ratio"),
        (conversions.prior_from_logistic_C, (1.0, 0.5), "l1_ratio"),
        (conversions.poisson_alpha, (Laplace(1.0), 10), "only an L2 penalty"),
    ],
)
def test_conversion_errors(func, args, message):
    with pytest.raises(ValueError, match=message):
        func(*args)


def test_sklearn_estimator_is_none_without_a_peer_and_renames_bridges(diabetes):
    from dataclasses import dataclass

    from mapreg import GeneralizedNormal, StudentT
    from mapreg.priors import PRIORS, register_prior

    def model(prior):
        return Model(diabetes.X, diabetes.y, prior=prior, noise_sigma=53.0)

    # a bridge with p = 1 is the Laplace prior: the same Lasso, alpha = s^2 / (n alpha)
    est = conversions.sklearn_estimator(model(GeneralizedNormal(2.0, 1.0)))
    assert type(est).__name__ == "Lasso"
    assert est.alpha == pytest.approx(53.0**2 / (442 * 2.0), rel=1e-15)
    est = conversions.sklearn_estimator(model(GeneralizedNormal(2.0, 2.0)))
    assert type(est).__name__ == "Ridge"
    assert est.alpha == pytest.approx(53.0**2 / (2.0 / np.sqrt(2)) ** 2, rel=1e-14)
    assert conversions.sklearn_estimator(model(GeneralizedNormal(2.0, 1.5))) is None
    assert conversions.sklearn_estimator(model(StudentT(3.0, 1.0))) is None

    @dataclass(frozen=True)
    class Renamed(Gaussian):  # a prior mapreg does not know: no peer, whatever its penalty
        name = "renamed-gaussian-test"

    register_prior(Renamed)
    try:
        assert conversions.sklearn_estimator(model(Renamed(1.0))) is None
        assert conversions.sklearn_path(model(Renamed(1.0)), [1.0]) is None
    finally:
        PRIORS.pop("renamed-gaussian-test")
    with pytest.raises(ValueError, match="no LogisticRegression equivalent"):
        conversions.logistic_C(StudentT(3.0, 1.0))


def test_sklearn_path_for_the_lasso_is_lasso_at_each_scale(diabetes):
    model = Model(diabetes.X, diabetes.y, prior=Laplace(2.0), noise_sigma=53.0)
    scales = np.array([0.5, 5.0])
    witness = conversions.sklearn_path(model, scales)
    for k, b in enumerate(scales):
        ref = lm.Lasso(alpha=53.0**2 / (442 * b), tol=1e-14, max_iter=100_000).fit(
            diabetes.X, diabetes.y).coef_
        np.testing.assert_allclose(witness.coef[k], ref, atol=1e-6 * np.abs(ref).max())
    assert "lasso_path" in witness.label


def test_sklearn_path_leaves_out_fits_that_did_not_converge_and_keeps_its_budget(monkeypatch):
    """An L1 logistic path: converged fits equal the MAP; a fit stopped by its iteration cap
    is NaN and the label says so; a time budget stops the fits and the label says so too."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 4))
    y = (rng.random(60) < 1 / (1 + np.exp(-(1.5 * X[:, 0] - X[:, 1])))).astype(float)
    model = Model(X, y, prior=Laplace(1.0), family="bernoulli")
    scales = np.array([0.3, 1.0])
    witness = conversions.sklearn_path(model, scales)
    for k, b in enumerate(scales):  # converged: the witness is the MAP
        ref = find_map(Model(X, y, prior=Laplace(b), family="bernoulli")).coef
        np.testing.assert_allclose(witness.coef[k], ref, atol=1e-5)
    assert "left out" not in witness.label and "budget" not in witness.label

    # saga capped at 2 epochs cannot converge: no witness at any scale
    capped = conversions._SKLEARN_PEERS[("laplace", "bernoulli")]
    monkeypatch.setitem(conversions._SKLEARN_PEERS, ("laplace", "bernoulli"),
                        lambda lm_, prior, family, n, common: capped(
                            lm_, prior, family, n, {**common, "max_iter": 2}))
    stopped = conversions.sklearn_path(model, scales)
    assert np.all(np.isnan(stopped.coef))
    assert "2 of 2 fits left out: not converged in 2 iterations" in stopped.label

    monkeypatch.undo()
    quick = conversions.sklearn_path(model, scales, budget_s=0.0)  # time's up after one fit
    assert np.all(np.isfinite(quick.coef[0])) and np.all(np.isnan(quick.coef[1]))
    assert "1 not fitted within the 0 s budget" in quick.label
