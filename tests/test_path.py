"""Paths over prior scales (mapreg.fit.path, mapreg.posterior.paths), checked against
independent fits: scikit-learn's lasso_path / ElasticNet, closed-form ridge, find_map
from scratch at each scale, and the medians of the draws themselves."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from sklearn.linear_model import ElasticNet as SkElasticNet
from sklearn.linear_model import Lasso, lasso_path

from mapreg import (
    Cauchy,
    ElasticNet,
    Gaussian,
    GeneralizedNormal,
    Horseshoe,
    Laplace,
    Model,
    StudentT,
    find_map,
)
from mapreg.fit.path import (
    at_scale,
    compare_paths,
    default_scales,
    path,
    penalized_path,
    prior_spread,
    scale_law,
)
from mapreg.posterior.paths import posterior_median_path

NOISE = 53.0


def _model(diabetes, prior):
    return Model(diabetes.X, diabetes.y, prior=prior, noise_sigma=NOISE,
                 feature_names=diabetes.feature_names)


def test_laplace_path_is_scikit_learns_lasso_path(diabetes):
    model = _model(diabetes, Laplace(2.0))
    scales = [10.0, 0.3, 2.0, 100.0]  # unsorted: the path sorts them
    res = path(model, scales)
    np.testing.assert_array_equal(res.scales, np.sort(scales))
    np.testing.assert_allclose(res.lambdas, 1.0 / res.scales, rtol=1e-15)
    n = len(diabetes.y)
    Xc, yc = diabetes.X - diabetes.X.mean(0), diabetes.y - diabetes.y.mean()
    alphas = NOISE**2 / (n * res.scales)  # decreasing, as lasso_path wants
    _, ref, _ = lasso_path(Xc, yc, alphas=alphas, tol=1e-14, max_iter=1_000_000)
    np.testing.assert_allclose(res.coef, ref.T, atol=1e-6 * np.abs(ref).max())
    np.testing.assert_array_equal(res.coef == 0.0, ref.T == 0.0)
    np.testing.assert_array_equal(res.n_nonzero, np.count_nonzero(ref.T, axis=1))
    np.testing.assert_allclose(res.intercept, yc.mean() + diabetes.y.mean()
                               - diabetes.X.mean(0) @ res.coef.T, atol=1e-8)
    assert res.converged.all() and np.all(res.kkt_violation < 1e-6)
    assert res.kind == "map" and res.penalty == "l1" and res.prior == Laplace(2.0)


def test_gaussian_path_is_closed_form_ridge_and_its_default_grid(diabetes):
    model = _model(diabetes, Gaussian(10.0))
    res = path(model)
    Xc, yc = diabetes.X - diabetes.X.mean(0), diabetes.y - diabetes.y.mean()
    for k, sigma in enumerate(res.scales):
        ridge = np.linalg.solve(Xc.T @ Xc / NOISE**2 + np.eye(10) / sigma**2,
                                Xc.T @ yc / NOISE**2)
        np.testing.assert_allclose(res.coef[k], ridge, rtol=1e-8, atol=1e-10)
    # the default grid: lam = 1/(2 sigma^2) from 100 to 0.01 times the mean curvature
    h = np.mean(np.sum(diabetes.X**2, axis=0)) / NOISE**2
    np.testing.assert_allclose(np.sort(res.lambdas)[[0, -1]], [0.01 * h, 100 * h], rtol=1e-12)
    assert len(res.scales) == 100  # default_lambdas: n_lambdas=100


def test_default_lasso_grid_starts_where_the_lasso_is_empty(diabetes):
    model = _model(diabetes, Laplace(1.0))
    scales = default_scales(model, num=12)
    assert np.all(np.diff(scales) > 0)
    lam_max = np.max(np.abs(diabetes.X.T @ (diabetes.y - diabetes.y.mean()))) / NOISE**2
    assert scales[0] == pytest.approx(1 / lam_max)
    assert scales[-1] == pytest.approx(1000 / lam_max)
    n = len(diabetes.y)

    def lasso(b):
        return Lasso(alpha=NOISE**2 / (n * b), tol=1e-14, max_iter=100_000).fit(
            diabetes.X, diabetes.y).coef_

    assert np.all(lasso(scales[0] * 0.999) == 0.0)
    assert np.any(lasso(scales[1]) != 0.0)
    # the elastic net has the same kink at 0: the same grid in b
    np.testing.assert_allclose(default_scales(_model(diabetes, ElasticNet(1.0, 3.0)), num=12),
                               scales, rtol=1e-12)
    wider = default_scales(model, num=12, covering=[1e-9, 5.0])
    assert wider[0] == pytest.approx(1e-9) and wider[-1] == pytest.approx(scales[-1])


def test_elasticnet_paths_match_scikit_learn_at_each_scale(diabetes):
    prior = ElasticNet(2.0, 5.0)
    model = _model(diabetes, prior)
    scales = [0.5, 2.0, 8.0]
    comparison = compare_paths(model, scales)
    n = len(diabetes.y)
    for k, b in enumerate(scales):
        sigma = prior.sigma * math.sqrt(b / prior.b)  # lam2 / lam held along the path
        l1, l2 = NOISE**2 / (n * b), NOISE**2 / (n * sigma**2)
        ref = SkElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2), tol=1e-14,
                           max_iter=1_000_000).fit(diabetes.X, diabetes.y).coef_
        np.testing.assert_allclose(comparison.map.coef[k], ref, atol=1e-6)
        np.testing.assert_allclose(comparison.penalized.coef[k], ref, atol=1e-6)
        np.testing.assert_allclose(comparison.sklearn.coef[k], ref, atol=1e-5)
    assert comparison.penalized.kind == "penalized"
    assert comparison.sklearn.label == "scikit-learn ElasticNet"


@pytest.mark.parametrize("prior", [GeneralizedNormal(1.0, 1.5), GeneralizedNormal(1.0, 0.5),
                                   StudentT(3.0, 1.0)], ids=repr)
def test_each_point_is_the_mode_find_map_reaches_on_its_own(diabetes, prior):
    # convex priors are warm-started along the path (same mode, found faster); non-convex
    # ones are solved from w = 0 at every scale, exactly as find_map does
    model = _model(diabetes, prior)
    scales = [0.3, 1.0, 3.0]
    res, pen = path(model, scales), penalized_path(model, scales)
    for k, s in enumerate(scales):
        alone = find_map(at_scale(model, s)).coef
        if prior.convex:
            np.testing.assert_allclose(res.coef[k], alone, atol=1e-8 * max(1, abs(alone).max()))
        else:
            np.testing.assert_array_equal(res.coef[k], alone)
        np.testing.assert_allclose(pen.coef[k], res.coef[k], atol=1e-8 * max(1, abs(alone).max()))
    assert res.converged.all() and pen.converged.all()


def test_compare_paths_says_when_scikit_learn_has_no_peer(diabetes):
    comparison = compare_paths(_model(diabetes, StudentT(3.0, 1.0)), [1.0])
    assert comparison.sklearn is None and comparison.sklearn_note == "no scikit-learn equivalent"
    assert compare_paths(_model(diabetes, Laplace(1.0)), [1.0], sklearn=False).sklearn is None


def test_a_prior_without_a_mode_has_no_path(diabetes):
    model = _model(diabetes, Horseshoe(1.0))
    for fn in (path, penalized_path, compare_paths, default_scales):
        with pytest.raises(ValueError, match="no posterior mode"):
            fn(model)
    with pytest.raises(ValueError, match="positive finite"):
        path(_model(diabetes, Laplace(1.0)), [0.0, 1.0])
    from mapreg.priors import HalfCauchy

    unknown_noise = Model(diabetes.X, diabetes.y, prior=Laplace(1.0), noise_prior=HalfCauchy(50.0))
    with pytest.raises(ValueError, match="fixed noise_sigma and prior scale"):
        path(unknown_noise, [1.0])


def test_scale_laws_name_the_penalty_parameter_that_moves():
    cases = [
        (Laplace(2.0), "lam", "penalty λ = 1/b", 0.5),
        (Gaussian(2.0), "lam", "penalty λ = 1/(2σ²)", 0.125),
        (GeneralizedNormal(2.0, 0.5), "lam", "penalty λ = 1/α^0.5", 2.0**-0.5),
        (ElasticNet(2.0, 5.0), "lam", "penalty λ = 1/b (λ₂/λ fixed)", 0.5),
        (StudentT(3.0, 2.0), "delta", "penalty δ = 3s²", 12.0),  # lam = 2 stays fixed
        (Cauchy(2.0), "delta", "penalty δ = s²", 4.0),
    ]
    for prior, field, label, at_two in cases:
        law = scale_law(prior)
        assert law.field == field and law.label(prior.scale_symbol) == label
        assert law(2.0) == pytest.approx(at_two, rel=1e-12)
        assert law.inverse(law(np.array([0.3, 7.0]))) == pytest.approx([0.3, 7.0], rel=1e-12)
        assert law(2.0) == pytest.approx(getattr(prior.with_scale(2.0).penalty(), field))
    assert scale_law(Horseshoe(1.0)) is None


def test_prior_spread_is_the_central_68_percent_half_width():
    q = 0.682689492137086
    assert prior_spread(Gaussian(3.0)) == pytest.approx(3.0, rel=1e-9)
    assert prior_spread(Laplace(2.0)) == pytest.approx(-2.0 * math.log(1 - q), rel=1e-9)
    assert prior_spread(Cauchy(1.5)) == pytest.approx(1.5 * math.tan(q * math.pi / 2),
                                                      rel=1e-9)


# --- posterior medians over scales -------------------------------------------------------

def _fake_idata(draws, names):
    draws = np.asarray(draws, dtype=float).reshape(2, -1, len(names))
    post = xr.Dataset({"coef": (("chain", "draw", "feature"), draws)},
                      coords={"feature": names})
    tree = xr.DataTree.from_dict({"posterior": post})
    tree.attrs["sampler"] = "test"
    return tree


def test_posterior_median_path_reads_given_posteriors(diabetes):
    model = _model(diabetes, Laplace(2.0))
    names = list(diabetes.feature_names)
    rng = np.random.default_rng(2)
    samples = [rng.normal(loc=k, size=(100, 10)) for k in range(3)]
    medians = posterior_median_path(model, [5.0, 0.5, 50.0],
                                    idatas=[_fake_idata(s, names) for s in samples])
    np.testing.assert_array_equal(medians.scales, [0.5, 5.0, 50.0])
    np.testing.assert_allclose(medians.median, [np.median(samples[k], axis=0) for k in (1, 0, 2)])
    assert medians.feature_names == tuple(names) and medians.samplers == ("test",) * 3
    with pytest.raises(ValueError, match="same length"):
        posterior_median_path(model, [1.0, 2.0], idatas=[_fake_idata(samples[0], names)])
    wrong = [f"z{j}" for j in range(10)]
    with pytest.raises(ValueError, match="differ"):
        posterior_median_path(model, [1.0], idatas=[_fake_idata(samples[0], wrong)])


def test_posterior_median_path_samples_each_scale(diabetes):
    model = _model(diabetes, Laplace(2.0))
    medians = posterior_median_path(model, [10.0, 1.0], draws=2000, tune=300, chains=2,
                                    sampler="gibbs", random_seed=1)
    assert medians.samplers == ("gibbs", "gibbs")
    # bmi is the strongest effect: its posterior median is near the mode (scikit-learn's
    # lasso, alpha = s^2 / (n b); the posterior sd of bmi is ~2.5) and well away from 0.
    n = len(diabetes.y)
    for k, b in enumerate([1.0, 10.0]):
        ref = Lasso(alpha=NOISE**2 / (n * b), tol=1e-14, max_iter=100_000).fit(
            diabetes.X, diabetes.y).coef_
        assert medians.median[k, 2] == pytest.approx(ref[2], abs=3.0)
        assert medians.median[k, 2] > 10.0
