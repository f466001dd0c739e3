"""The lambda grid of mapreg.path and mapreg.cross_validate, against scikit-learn.

Conversions (derived in mapreg.fit.cv): scikit-learn's lasso objective
``||y - Xw||**2 / (2 n) + alpha ||w||_1`` is ours ``||y - Xw||**2 / (2 s**2) + lam ||w||_1``
times ``s**2 / n``, so ``alpha = lam s**2 / n`` with ``n`` the rows fitted (per fold: the
training rows, hence folds of equal size for LassoCV's single alpha grid). Logistic
regression: ``C sum loss + ||w||**2 / 2`` is ours ``sum loss + lam ||w||**2`` over ``C``
when ``C = 1 / (2 lam)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mapreg
from mapreg import ElasticNet, Gaussian, Laplace, Model, StudentT
from mapreg.fit.cv import kfold_indices, mean_deviance
from mapreg.fit.path import default_lambdas, path
from tests.conftest import DIABETES_NOISE as NOISE
from tests.conftest import make_problem

sklearn = pytest.importorskip("sklearn")
from sklearn.linear_model import LassoCV, LogisticRegression, enet_path  # noqa: E402
from sklearn.model_selection import KFold  # noqa: E402


@pytest.fixture(scope="module")
def diabetes440(diabetes):
    """440 of the 442 rows: 5 folds of 88, so every fold trains on 352 rows."""
    return diabetes.X[:440], diabetes.y[:440]


# ------------------------------------------------------------------ the lambda grid
def test_path_on_a_lambda_grid_is_enet_path(diabetes):
    model = Model(diabetes.X, diabetes.y, prior=ElasticNet(1.0, 1.0), noise_sigma=NOISE)
    lam2_over_lam = model.prior.lam2 / model.prior.lam  # 0.5: l1_ratio 1/(1 + 2 * 0.5)
    lams = default_lambdas(model, 20)
    res = path(model, lambdas=lams)
    np.testing.assert_allclose(res.lambdas, lams, rtol=1e-12)
    assert np.all(np.diff(res.lambdas) < 0) and len(res.scales) == 20
    n = len(diabetes.y)
    rho = 1.0 / (1.0 + 2.0 * lam2_over_lam)
    alphas = lams * NOISE**2 / (n * rho)
    Xc, yc = diabetes.X - diabetes.X.mean(0), diabetes.y - diabetes.y.mean()
    _, ref, _ = enet_path(Xc, yc, l1_ratio=rho, alphas=alphas, tol=1e-14, max_iter=10**6)
    np.testing.assert_allclose(res.coef, ref.T, atol=1e-6 * np.abs(ref).max())
    np.testing.assert_array_equal(res.coef == 0.0, ref.T == 0.0)
    # the first lambda is lam_max: everything zero there, not just below
    assert res.n_nonzero[0] == 0 and res.n_nonzero[1] > 0


def test_default_lambdas_and_refusals(diabetes):
    lasso = Model(diabetes.X, diabetes.y, prior=Laplace(1.0), noise_sigma=NOISE)
    lams = default_lambdas(lasso, 100)
    lam_max = np.max(np.abs(diabetes.X.T @ (diabetes.y - diabetes.y.mean()))) / NOISE**2
    np.testing.assert_allclose(lams[[0, -1]], [lam_max, 1e-3 * lam_max], rtol=1e-12)
    np.testing.assert_allclose(default_lambdas(lasso, 5, lambda_min_ratio=1e-2)[-1],
                               1e-2 * lam_max, rtol=1e-12)
    ridge = Model(diabetes.X, diabetes.y, prior=Gaussian(1.0), noise_sigma=NOISE)
    res = path(ridge, lambdas=[2.0, 0.5])
    np.testing.assert_allclose(res.scales, [0.5, 1.0], rtol=1e-14)  # sigma = 1/sqrt(2 lam)
    with pytest.raises(ValueError, match="not both"):
        path(ridge, [1.0], lambdas=[1.0])
    with pytest.raises(ValueError, match="positive"):
        path(ridge, lambdas=[1.0, -1.0])
    with pytest.raises(ValueError, match="n_lambdas"):
        default_lambdas(ridge, 0)
    with pytest.raises(ValueError, match="lambda_min_ratio"):
        default_lambdas(ridge, 3, lambda_min_ratio=2.0)
    student = Model(diabetes.X, diabetes.y, prior=StudentT(3.0, 1.0), noise_sigma=NOISE)
    with pytest.raises(ValueError, match="pass scales"):
        path(student, lambdas=[1.0])


# ------------------------------------------------------------------ cross-validation
def test_cv_curve_is_lasso_cvs(diabetes440):
    X, y = diabetes440
    model = Model(X, y, prior=Laplace(1.0), noise_sigma=NOISE)
    res = mapreg.cross_validate(model, cv=KFold(5), n_lambdas=60)
    alphas = res.lambdas * NOISE**2 / 352
    sk = LassoCV(alphas=alphas, cv=KFold(5), tol=1e-14, max_iter=10**6).fit(X, y)
    np.testing.assert_allclose(sk.alphas_, alphas, rtol=1e-14)  # same order: decreasing
    ref = sk.mse_path_.mean(axis=1)
    # measured: max relative difference 4e-14 (100 lambdas)
    np.testing.assert_allclose(res.mean, ref, rtol=1e-8)
    np.testing.assert_allclose(res.fold_scores, sk.mse_path_.T, rtol=1e-8)
    assert res.lambda_min == pytest.approx(sk.alpha_ * 352 / NOISE**2, rel=1e-12)
    # cv=5 makes the same folds as KFold(5); fold ids and index pairs too
    assert mapreg.cross_validate(model, cv=5, lambdas=res.lambdas).index_min == res.index_min
    ids = np.repeat(np.arange(5), 88)
    by_ids = mapreg.cross_validate(model, cv=ids, lambdas=res.lambdas[:10])
    np.testing.assert_allclose(by_ids.mean, res.mean[:10], rtol=1e-12)
    # the 1-SE rule and the refits
    i0, i1 = res.index_min, res.index_1se
    assert i1 <= i0 and res.mean[i1] <= res.mean[i0] + res.se[i0]
    assert np.all(res.mean[:i1] > res.mean[i0] + res.se[i0])
    np.testing.assert_allclose(res.se, sk.mse_path_.std(axis=1, ddof=1) / np.sqrt(5),
                               rtol=1e-6)
    for fit, lam in ((res.map_min, res.lambda_min), (res.map_1se, res.lambda_1se)):
        direct = mapreg.find_map(Model(X, y, prior=Laplace(1.0 / lam), noise_sigma=NOISE))
        np.testing.assert_allclose(fit.coef, direct.coef, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.path.coef[i0], res.map_min.coef, atol=1e-8)
    assert res.prior_at("1se") == Laplace(res.scale_1se) and res.score == "mse"


def test_bernoulli_cv_deviance_is_logistic_regressions(breast_cancer):
    X, y = breast_cancer
    X, y = X[:300, :8], y[:300]
    model = Model(X, y, prior=Gaussian(1.0), family="bernoulli")
    lams = [3.0, 0.3, 0.03]
    folds = kfold_indices(300, 3, random_state=0)
    res = mapreg.cross_validate(model, cv=folds, lambdas=lams)
    assert res.score == "deviance"
    ref = np.empty((3, 3))
    for f, (tr, te) in enumerate(folds):
        for k, lam in enumerate(lams):
            clf = LogisticRegression(C=1.0 / (2.0 * lam), tol=1e-12, max_iter=100_000)
            p = clf.fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
            ref[f, k] = -2.0 * np.mean(y[te] * np.log(p) + (1 - y[te]) * np.log1p(-p))
    np.testing.assert_allclose(res.fold_scores, ref, rtol=1e-6)
    np.testing.assert_allclose(res.mean, ref.mean(axis=0), rtol=1e-6)


def test_folds_in_parallel_give_the_same_curve():
    import joblib

    X, y = make_problem("poisson", 120, 6, seed=4)
    model = Model(X, y, prior=Laplace(1.0), family="poisson")
    serial = mapreg.cross_validate(model, cv=4, n_lambdas=8, random_state=1)
    with joblib.parallel_config(backend="threading", n_jobs=2):
        threaded = mapreg.cross_validate(model, cv=4, n_lambdas=8, random_state=1)
    np.testing.assert_array_equal(serial.fold_scores, threaded.fold_scores)
    assert serial.score == "deviance" and np.all(serial.mean > 0)


def test_mean_deviance_formulas():
    fam = {name: Model(np.eye(2), [1.0, 0.0], prior=Gaussian(1.0), family=name,
                       noise_sigma=2.0 if name == "gaussian" else None).family
           for name in ("gaussian", "bernoulli", "poisson")}
    y, eta = np.array([1.0, 0.0]), np.array([0.5, -0.3])
    assert mean_deviance(fam["gaussian"], y, eta) == pytest.approx(np.mean((y - eta) ** 2))
    p = 1.0 / (1.0 + np.exp(-eta))
    assert mean_deviance(fam["bernoulli"], y, eta) == pytest.approx(
        -np.mean(2.0 * (y * np.log(p) + (1 - y) * np.log(1 - p))))
    mu = np.exp(eta)  # y log(y/mu) with 0 log 0 = 0
    assert mean_deviance(fam["poisson"], y, eta) == pytest.approx(
        np.mean(2.0 * (np.array([np.log(1 / mu[0]), 0.0]) - (y - mu))))


def test_cv_refusals(diabetes440):
    X, y = diabetes440
    model = Model(X, y, prior=Laplace(1.0), noise_sigma=NOISE)
    with pytest.raises(ValueError, match="number of folds"):
        mapreg.cross_validate(model, cv=1)
    with pytest.raises(ValueError, match="cv must be"):
        mapreg.cross_validate(model, cv="five")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"mapreg\.Model"):
            mapreg.cross_validate((X, y))


# ------------------------------------------------------------------ lambda four ways
def test_lambda_choices_table_and_plot(diabetes):
    import matplotlib.pyplot as plt

    from mapreg.fit.cv import lambda_choices

    model = Model(diabetes.X, diabetes.y, prior=Gaussian(3.0), noise_sigma=NOISE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mapreg.SamplingWarning)  # short chains
        ch = lambda_choices(model, n_lambdas=30, draws=300, tune=200, random_seed=0)
    t = ch.table
    assert list(t.index) == ["cv-min", "cv-1se", "empirical-bayes", "hyperprior"]
    assert t.loc["cv-min", "lam"] == ch.cv.lambda_min
    assert t.loc["cv-1se", "lam"] >= t.loc["cv-min", "lam"]
    eb = mapreg.empirical_bayes_gaussian(model)
    assert t.loc["empirical-bayes", "lam"] == pytest.approx(eb.lam, rel=1e-12)
    np.testing.assert_allclose(t["scale"], 1.0 / np.sqrt(2.0 * t["lam"]), rtol=1e-12)
    lo, hi = t.loc["hyperprior", ["lower", "upper"]]
    assert lo < t.loc["hyperprior", "lam"] < hi and len(ch.hyper_lam) == 600
    # measured (diabetes, Gaussian prior): CV-min 0.0016, EB 0.0025, hyperprior median
    # 0.0027 [0.0011, 0.0055], CV-1SE 0.023 — the Bayesian choices sit near CV-min
    assert lo < t.loc["empirical-bayes", "lam"] < hi
    fig = mapreg.plots.lambda_choices(ch)
    gids = {a.get_gid() for a in fig.axes[0].get_children()}
    assert {"cv-curve", "choice:cv-min", "choice:cv-1se", "choice:empirical-bayes",
            "choice:hyperprior", "hyperprior-interval"} <= gids
    line = next(a for a in fig.axes[0].lines if a.get_gid() == "cv-curve")
    np.testing.assert_allclose(line.get_ydata(), ch.cv.mean)
    plt.close(fig)
