"""Posteriors of dask-backed models from their one-pass statistics, against the same model
in memory (:mod:`mapreg.posterior.sufficient`, :mod:`mapreg.backends.dask_stats`).

The in-memory references multiply the rows (``Z'Z`` of the numpy arrays); the dask models
never read a row after their first pass (``dask_stats.PASSES`` counts it). Exact posterior
mean and covariance to 1e-10, Gibbs draws with the same seed to 1e-8, the empirical-Bayes
evidence to 1e-10 (its optimum to the optimiser's resolution), the Laplace approximation
to 1e-8; the closed forms are also checked directly against numpy here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mapreg
from mapreg import Gaussian, Laplace, Model

da = pytest.importorskip("dask.array")

from mapreg.backends import dask_stats  # noqa: E402
from mapreg.posterior.empirical_bayes import empirical_bayes_gaussian  # noqa: E402
from mapreg.posterior.exact import gaussian_posterior  # noqa: E402
from mapreg.posterior.laplace import laplace_approximation  # noqa: E402

N, P = 900, 6


def _data(family="gaussian", seed=0, shift=2.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, P)) + shift
    eta = (X - shift) @ np.array([1.0, -0.7, 0.4, 0.0, 0.0, 0.2]) + 0.3
    if family == "gaussian":
        y = eta + rng.normal(size=N)
    elif family == "bernoulli":
        y = (rng.uniform(size=N) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    else:
        y = rng.poisson(np.exp(0.5 * eta)).astype(float)
    return X, y


def _pair(prior, family="gaussian", seed=0, fit_intercept=True, rows=200, **kw):
    X, y = _data(family, seed)
    noise = {"noise_sigma": 1.1} if family == "gaussian" else {}
    mem = Model(X, y, prior=prior, family=family, fit_intercept=fit_intercept, **noise, **kw)
    lazy = Model(da.from_array(X, chunks=(rows, P)), da.from_array(y, chunks=rows),
                 prior=prior, family=family, fit_intercept=fit_intercept, **noise, **kw)
    return mem, lazy, X, y


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_exact_posterior_equals_in_memory_and_closed_form(fit_intercept):
    mem, lazy, X, y = _pair(Gaussian(sigma=0.5), fit_intercept=fit_intercept)
    ref, got = gaussian_posterior(mem), gaussian_posterior(lazy)
    scale = np.max(np.abs(ref.cov))
    assert np.max(np.abs(got.mean - ref.mean)) <= 1e-10 * max(1.0, np.max(np.abs(ref.mean)))
    assert np.max(np.abs(got.cov - ref.cov)) <= 1e-10 * scale
    # the closed form, by hand: A = Z'Z/s^2 + diag(1/sigma^2, .., 0), m = A^-1 Z'y/s^2
    Z = np.column_stack([X, np.ones(N)]) if fit_intercept else X
    A = Z.T @ Z / 1.1**2 + np.diag([4.0] * P + [0.0] * fit_intercept)
    assert np.allclose(got.cov, np.linalg.inv(A), rtol=1e-9, atol=1e-14)
    assert np.allclose(got.mean, np.linalg.solve(A, Z.T @ y / 1.1**2), rtol=1e-9)


def test_sample_posterior_exact_and_auto_on_dask_read_no_rows():
    mem, lazy, _, _ = _pair(Gaussian(sigma=0.5), seed=1)
    lazy.check_data()
    before = dict(dask_stats.PASSES)
    for sampler in ("exact", "auto"):
        got = mapreg.sample_posterior(lazy, draws=200, chains=2, sampler=sampler,
                                      random_seed=3, progressbar=False)
        assert got.attrs["sampler"] == "exact"
        ref = mapreg.sample_posterior(mem, draws=200, chains=2, sampler="exact",
                                      random_seed=3, progressbar=False)
        diff = got["posterior"]["coef"].values - ref["posterior"]["coef"].values
        assert np.max(np.abs(diff)) <= 1e-9
        assert "log_likelihood" not in got.children and "observed_data" not in got.children
        assert "omitted" in got.attrs["row_groups"]
        np.testing.assert_allclose(got["sample_stats"]["lp"].values,
                                   ref["sample_stats"]["lp"].values, rtol=1e-9)
        np.testing.assert_allclose(got["map"]["coef"].values, ref["map"]["coef"].values,
                                   rtol=1e-9, atol=1e-12)
    assert dask_stats.PASSES == before  # everything from the cached statistics


@pytest.mark.parametrize("noise_prior", [None, mapreg.InverseGamma(2.0, 2.0)],
                         ids=["known-noise", "noise-prior"])
def test_gibbs_draws_equal_in_memory_draws(noise_prior):
    kw = ({"noise_prior": noise_prior} if noise_prior is not None else {})
    X, y = _data(seed=2)
    if noise_prior is None:
        mem, lazy, _, _ = _pair(Laplace(b=0.5), seed=2)
    else:
        mem = Model(X, y, prior=Laplace(b=0.5), **kw)
        lazy = Model(da.from_array(X, chunks=(300, P)), da.from_array(y, chunks=300),
                     prior=Laplace(b=0.5), **kw)
    args = dict(draws=150, tune=50, chains=2, sampler="gibbs", random_seed=5,
                progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mapreg.SamplingWarning)  # short chains
        ref = mapreg.sample_posterior(mem, **args)
        got = mapreg.sample_posterior(lazy, **args)
    # the Gram path (Rue's block sampler or the coordinate-wise one on X'X), as in memory
    assert got.attrs["gibbs_method"] == ref.attrs["gibbs_method"] in ("rue", "coordinate")
    for var in ["coef", "intercept"] + (["noise_sigma"] if noise_prior else []):
        a, b = got["posterior"][var].values, ref["posterior"][var].values
        assert np.max(np.abs(a - b)) <= 1e-8 * max(1.0, np.max(np.abs(b))), var
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mapreg.SamplingWarning)  # 20 draws: low ESS
        auto = mapreg.sample_posterior(lazy, draws=20, tune=20, chains=1, random_seed=1,
                                       progressbar=False)
    assert auto.attrs["sampler"] == "gibbs" and "dask-backed" in auto.attrs["sampler_reason"]


def test_empirical_bayes_gaussian_equals_in_memory():
    """The evidence from the statistics equals the rows' to 1e-10 at any scale; the optimum
    agrees to the optimiser's own resolution (L-BFGS-B with finite-difference gradients on a
    flat maximum: ~1e-6 relative in sigma, 1e-12 in the evidence)."""
    from mapreg.posterior.empirical_bayes import log_evidence_from_gram, log_evidence_gaussian
    from mapreg.posterior.sufficient import gram

    mem, lazy, X, y = _pair(Gaussian(sigma=1.0), seed=3)
    ZtZ, Zty, yty, n = gram(lazy)
    for sigma, s in [(0.1, 1.1), (0.53, 0.9), (3.0, 2.0)]:
        assert log_evidence_from_gram(ZtZ, Zty, yty, n, P, sigma, s) == pytest.approx(
            log_evidence_gaussian(X, y, sigma, s), rel=1e-10)
    for estimate_noise in (False, True):
        ref = empirical_bayes_gaussian(mem, estimate_noise=estimate_noise)
        got = empirical_bayes_gaussian(lazy, estimate_noise=estimate_noise)
        assert got.prior.sigma == pytest.approx(ref.prior.sigma, rel=1e-5)
        assert got.noise_sigma == pytest.approx(ref.noise_sigma, rel=1e-5)
        assert got.log_evidence == pytest.approx(ref.log_evidence, rel=1e-12)


def test_empirical_bayes_laplace_runs_on_dask_statistics():
    mem, lazy, _, _ = _pair(Laplace(b=1.0), seed=4)
    kw = dict(n_iter=3, draws=100, tune=20, chains=1, n_average=1, random_seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mapreg.SamplingWarning)  # 3 short EM steps
        ref = mapreg.empirical_bayes_laplace(mem, **kw)
        got = mapreg.empirical_bayes_laplace(lazy, **kw)
    np.testing.assert_allclose(got.history, ref.history, rtol=1e-8)


@pytest.mark.parametrize("family, prior", [
    ("gaussian", Laplace(b=0.2)), ("gaussian", Gaussian(sigma=0.5)),
    ("bernoulli", Laplace(b=0.2)), ("poisson", Gaussian(sigma=0.5)),
])
def test_laplace_approximation_equals_in_memory(family, prior):
    mem, lazy, _, _ = _pair(prior, family=family, seed=5)
    ref, got = laplace_approximation(mem), laplace_approximation(lazy)
    assert np.array_equal(ref.support, got.support)
    assert np.max(np.abs(got.mean - ref.mean)) <= 1e-8 * max(1.0, np.max(np.abs(ref.mean)))
    assert np.max(np.abs(got.cov - ref.cov)) <= 1e-8 * np.max(np.abs(ref.cov))
    if np.isfinite(ref.log_evidence):
        assert got.log_evidence == pytest.approx(ref.log_evidence, rel=1e-10)
    tree = got.sample(draws=50, chains=1, random_seed=0)
    assert "log_likelihood" not in tree.children and "omitted" in tree.attrs["row_groups"]
    off = ~np.asarray(got.support)
    assert np.all(tree["posterior"]["coef"].values[..., off] == 0.0)


def test_mcmc_and_pointwise_log_likelihood_are_refused_on_dask():
    _, lazy, _, _ = _pair(Laplace(b=0.5), seed=6)
    with pytest.raises(ValueError, match=r"no MCMC.*dask-backed"):
        mapreg.sample_posterior(lazy, sampler="nutpie", draws=10, tune=10, chains=1)
    with pytest.raises(ValueError, match="log_likelihood=True needs the rows"):
        mapreg.sample_posterior(lazy, sampler="gibbs", draws=10, tune=10, chains=1,
                                log_likelihood=True)
    _, glm, _, _ = _pair(Laplace(b=0.5), family="poisson", seed=6)
    with pytest.raises(ValueError, match=r"no sampler for this model.*no NUTS.*X\.compute"):
        mapreg.sample_posterior(glm, draws=10, tune=10, chains=1)
    assert mapreg.posterior.choose.valid_samplers(glm) == ()


# ------------------------------------------------------------------ cross-validation
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("prior", [Laplace(b=0.05), Gaussian(sigma=0.3)],
                         ids=["laplace", "gaussian"])
def test_cross_validate_in_one_pass_equals_in_memory(prior, fit_intercept):
    """Same KFold folds and grid: the fold curves and the choices equal the in-memory ones;
    the held-out MSE is also recomputed here by hand from the in-memory fold fits."""
    mem, lazy, X, y = _pair(prior, seed=7, fit_intercept=fit_intercept, rows=130)
    ref = mapreg.cross_validate(mem, cv=4, n_lambdas=12)
    lazy.check_data()
    before = dict(dask_stats.PASSES)
    got = mapreg.cross_validate(lazy, cv=4, n_lambdas=12)
    assert dask_stats.PASSES == before  # the fold pass is its own (not a summary/glm pass)
    np.testing.assert_allclose(got.lambdas, ref.lambdas, rtol=1e-12)
    scale = np.max(np.abs(ref.fold_scores))
    assert np.max(np.abs(got.fold_scores - ref.fold_scores)) <= 1e-8 * scale
    assert (got.index_min, got.index_1se) == (ref.index_min, ref.index_1se)
    assert [f.n_test for f in got.folds] == [len(te) for _, te in ref.folds]
    # fold 0's held-out MSE at the last scale, by hand from the rows
    tr, te = ref.folds[0]
    fit = mapreg.find_map(Model(X[tr], y[tr], prior=prior.with_scale(got.scales[-1]),
                                noise_sigma=1.1, fit_intercept=fit_intercept))
    mse = np.mean((y[te] - X[te] @ fit.coef - fit.intercept) ** 2)
    assert got.fold_scores[0, -1] == pytest.approx(mse, rel=1e-8)


def test_cross_validate_fold_ids_and_hashed_folds():
    from mapreg.backends.dask_cv import hashed_fold_ids

    mem, lazy, _, _ = _pair(Laplace(b=0.05), seed=8, rows=250)
    ids = np.random.default_rng(0).integers(10, 13, size=N)  # ids need not start at 0
    ref = mapreg.cross_validate(mem, cv=ids, n_lambdas=8)
    got = mapreg.cross_validate(lazy, cv=ids, n_lambdas=8)
    assert np.max(np.abs(got.fold_scores - ref.fold_scores)) <= 1e-8 * np.max(ref.fold_scores)
    hashed = mapreg.cross_validate(lazy, cv=3, n_lambdas=8, random_state=4)
    same = mapreg.cross_validate(mem, cv=hashed_fold_ids(np.arange(N), 3, 4), n_lambdas=8)
    assert np.max(np.abs(hashed.fold_scores - same.fold_scores)) <= 1e-8 * np.max(
        same.fold_scores)
    sizes = np.bincount(hashed_fold_ids(np.arange(N), 3, 4))
    assert sizes.min() > 0.25 * N  # a hash, not contiguous blocks: about N/3 each
    _, glm, _, _ = _pair(Laplace(b=0.05), family="bernoulli", seed=8)
    with pytest.raises(NotImplementedError, match="gaussian family only"):
        mapreg.cross_validate(glm, cv=3, n_lambdas=4)
