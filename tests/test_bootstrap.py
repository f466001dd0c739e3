"""mapreg.bootstrap: each replicate equals an independent refit on its rows.

The reference is scikit-learn (``Lasso`` / ``LogisticRegression`` on the same rows, through
the documented conversions), so the replicate loop, the batching and the joblib plumbing
are checked against fits mapreg did not make.
"""

from __future__ import annotations

import numpy as np
import pytest
from joblib import parallel_config

from mapreg import Gaussian, Laplace, Model, StudentT, bootstrap
from mapreg.fit.conversions import sklearn_estimator


def _gaussian_model(prior=None, n=120, p=6, seed=0):
    prior = Laplace(0.02) if prior is None else prior
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = X @ np.array([1.5, -1.0, 0.0, 0.0, 0.5, 0.0]) + 0.3 + rng.normal(size=n)
    return Model(X, y, prior=prior, noise_sigma=1.0)


def _sklearn_coef(model, rows):
    sub = Model(model.X[rows], model.y[rows], prior=model.prior, family=model.family,
                noise_sigma=getattr(model.family, "noise_sigma", None))
    est = sklearn_estimator(sub)
    est.fit(sub.X, sub.y)
    return np.ravel(est.coef_), float(np.ravel(est.intercept_)[0])


def test_replicates_equal_sklearn_on_the_same_rows():
    model = _gaussian_model()
    res = bootstrap(model, n_boot=12, random_state=1)
    assert res.coef.shape == (12, 6) and res.indices.shape == (12, 120) and res.converged.all()
    for b in range(res.n_boot):
        coef, intercept = _sklearn_coef(model, res.indices[b])
        np.testing.assert_allclose(res.coef[b], coef, atol=1e-8)
        assert res.intercept[b] == pytest.approx(intercept, abs=1e-8)
    # the summaries are the plain numpy statistics of those replicates
    np.testing.assert_array_equal(res.selection_frequency, np.mean(res.coef != 0, axis=0))
    lo, hi = res.interval(0.8)
    np.testing.assert_allclose(lo, np.quantile(res.coef, 0.1, axis=0))
    np.testing.assert_allclose(hi, np.quantile(res.coef, 0.9, axis=0))
    assert list(res.summary().columns) == ["map", "boot_std", "q05", "q95", "selected"]


def test_rows_are_drawn_with_replacement_from_the_seed():
    model = _gaussian_model(Gaussian(0.5))
    res = bootstrap(model, n_boot=3, random_state=7)
    expected = np.random.default_rng(7).integers(0, 120, size=(3, 120))
    np.testing.assert_array_equal(res.indices, expected)
    # ridge with known noise: the closed form (X'X/s^2 + I/sigma^2) w = X'(y - c)/s^2 on
    # centred rows (flat intercept) for one replicate
    rows = res.indices[0]
    X, y = model.X[rows], model.y[rows]
    Xc, yc = X - X.mean(0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc + np.eye(6) / 0.25, Xc.T @ yc)
    np.testing.assert_allclose(res.coef[0], w, atol=1e-10)


def test_answer_does_not_depend_on_n_jobs_or_backend():
    model = _gaussian_model()
    one = bootstrap(model, n_boot=6, n_jobs=1, random_state=3)
    two = bootstrap(model, n_boot=6, n_jobs=2, random_state=3)
    with parallel_config(backend="threading", n_jobs=3):
        three = bootstrap(model, n_boot=6, random_state=3)
    np.testing.assert_array_equal(one.coef, two.coef)
    np.testing.assert_array_equal(one.coef, three.coef)


def test_bernoulli_replicate_equals_logistic_regression():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 4))
    y = (rng.uniform(size=150) < 1 / (1 + np.exp(-(X @ [1.0, -1.0, 0.0, 0.5])))).astype(float)
    model = Model(X, y, prior=Gaussian(1.0), family="bernoulli")
    res = bootstrap(model, n_boot=3, random_state=0)
    for b in range(3):
        rows = res.indices[b]
        est = sklearn_estimator(Model(X[rows], y[rows], prior=Gaussian(1.0),
                                      family="bernoulli"))
        est.fit(X[rows], y[rows])
        np.testing.assert_allclose(res.coef[b], est.coef_.ravel(), atol=1e-7)


@pytest.mark.parametrize("bad, match", [(1, "n_boot"), (2.5, "n_boot"), (True, "n_boot")])
def test_bad_n_boot(bad, match):
    with pytest.raises(ValueError, match=match):
        bootstrap(_gaussian_model(), n_boot=bad)


def test_refusals_name_the_problem():
    from mapreg import Horseshoe

    with pytest.raises(ValueError, match="no posterior mode"):
        bootstrap(_gaussian_model(Horseshoe(1.0)), n_boot=2)
    with pytest.raises(ValueError, match="level must lie"):
        bootstrap(_gaussian_model(StudentT(3, 1.0)), n_boot=2).interval(1.5)
