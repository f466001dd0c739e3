"""HMC with the Gaussian approximation's dense metric: its log posterior and gradient, the
exact L1 drift, and its draws against quadrature and NUTS; seeds, refusals, divergences.

References are independent of the code under test: ``Model.neg_log_posterior`` and the
independence sampler's :func:`~mapreg.posterior.independence_proposal.log_posterior`
(numpy), central finite differences of the latter, a numpy energy, scipy quadrature, and
nutpie. Means and sds agree within 5 Monte Carlo standard errors.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import mapreg
from mapreg.exceptions import SamplingWarning
from mapreg.posterior import hmc_kernel as K
from mapreg.posterior.diagnostics import ess_bulk
from mapreg.posterior.hmc import _data, approximation, hmc_refusal, sample_hmc
from mapreg.posterior.independence_proposal import log_posterior
from tests._reference import (
    assert_means_sds_agree,
    assert_one_coefficient_agrees,
    one_coefficient_logistic,
    small_dask_model,
    small_model,
    stack_theta,
)

PRIORS = {"laplace": mapreg.Laplace(0.7), "gaussian": mapreg.Gaussian(1.3),
          "elasticnet": mapreg.ElasticNet(0.7, 1.5)}


def _model(family, prior, intercept=True, n=60, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    eta = 0.3 + X @ np.array([0.5, -0.4, 0.0, 0.2])[:p]
    if family == "bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    else:
        y = eta + 0.8 * rng.standard_normal(n)
    kw = {"noise_sigma": 0.8} if family == "gaussian" else {}
    return mapreg.Model(X, y, PRIORS[prior], family=family, fit_intercept=intercept, **kw)


def _kernel_at(model, z, kink=True):
    mean, L = approximation(model)
    args = _data(model, mean, L)
    theta, grad = np.empty(z.size), np.empty(z.size)
    lp = K.log_post_grad(z, *args, kink, theta, grad)
    return lp, theta, grad, mean, L


@pytest.mark.parametrize("family", ["bernoulli", "poisson", "gaussian"])
@pytest.mark.parametrize("prior", list(PRIORS))
@pytest.mark.parametrize("intercept", [True, False])
def test_log_posterior_matches_the_model(family, prior, intercept):
    model = _model(family, prior, intercept)
    k = model.n_features + int(intercept)
    for z in np.random.default_rng(1).standard_normal((3, k)):
        lp, theta, _, mean, L = _kernel_at(model, z)
        np.testing.assert_allclose(theta, mean + L @ z, rtol=1e-12, atol=1e-12)
        b0 = theta[-1] if intercept else 0.0
        ref = -model.neg_log_posterior(theta[:model.n_features], b0)
        assert lp == pytest.approx(ref, rel=1e-10, abs=1e-9)


@pytest.mark.parametrize("family", ["bernoulli", "poisson", "gaussian"])
@pytest.mark.parametrize("prior", list(PRIORS))
def test_gradient_matches_finite_differences(family, prior):
    """Central differences in z of the numpy log posterior at theta = m + L z, away from the
    kinks (every |w_j| > 1e-3); without the L1 force (kink=False) the difference is exactly
    L' (-alpha sign(w)), computed here in numpy."""
    model = _model(family, prior)
    p, k = model.n_features, model.n_features + 1
    rng = np.random.default_rng(2)
    z = rng.standard_normal(k)
    _, theta, grad, mean, L = _kernel_at(model, z)
    assert np.all(np.abs(theta[:p]) > 1e-3)
    h = 1e-5

    def ref(zz):
        return float(log_posterior(model, (mean + L @ zz)[None])[0])

    fd = np.array([(ref(z + h * e) - ref(z - h * e)) / (2 * h) for e in np.eye(k)])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(fd).max()))
    _, _, smooth, _, _ = _kernel_at(model, z, kink=False)
    alpha = 1.0 / model.prior.b if prior != "gaussian" else 0.0
    l1 = np.zeros(k)
    l1[:p] = -alpha * np.sign(theta[:p])
    np.testing.assert_allclose(grad - smooth, L.T @ l1, rtol=1e-10, atol=1e-10)


def test_stable_far_from_the_data():
    """Huge linear predictors: softplus / exp do not overflow into nan."""
    model = _model("bernoulli", "laplace")
    lp, _, grad, _, _ = _kernel_at(model, np.full(5, 300.0))
    assert np.isfinite(lp) and np.all(np.isfinite(grad))
    model = _model("poisson", "gaussian")
    lp, _, grad, _, _ = _kernel_at(model, np.full(5, 1e3))
    assert not np.isnan(lp) and np.all(np.isfinite(grad))


def test_l1_drift_conserves_energy_and_reverses():
    """The exact flow of |p|**2/2 + alpha |w|_1: energy (numpy) constant over a drift with
    many crossings; flipping the momentum and drifting again returns to the start."""
    rng = np.random.default_rng(3)
    k, p, alpha = 6, 5, 2.0
    A = rng.standard_normal((k, k))
    L = np.triu(np.linalg.cholesky(A @ A.T + k * np.eye(k)).T) * 0.3
    m = 0.05 * rng.standard_normal(k)
    S = np.ascontiguousarray((L @ L.T)[:p, :p])
    z0, p0 = rng.standard_normal(k), 3.0 * rng.standard_normal(k)

    def energy(z, pm):
        return 0.5 * pm @ pm + alpha * np.abs((m + L @ z)[:p]).sum()

    z, pm = z0.copy(), p0.copy()
    signs0 = np.sign((m + L @ z)[:p])
    assert K._drift(z, pm, 4.0, m, L, S, alpha, p)
    assert np.any(np.sign((m + L @ z)[:p]) != signs0)  # it crossed
    assert energy(z, pm) == pytest.approx(energy(z0, p0), rel=1e-10)
    pm = -pm
    assert K._drift(z, pm, 4.0, m, L, S, alpha, p)
    np.testing.assert_allclose(z, z0, atol=1e-9)
    np.testing.assert_allclose(-pm, p0, atol=1e-9)


def test_one_coefficient_against_quadrature():
    """Bernoulli, one feature, no intercept, Laplace(1): the posterior by scipy.integrate."""
    model, mean, var, cdf = one_coefficient_logistic()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplingWarning)  # no divergences
        d = sample_hmc(model, draws=2000, tune=300, chains=2, seed=8)
    assert np.all(d.intercept == 0.0)
    assert_one_coefficient_agrees(d.coef[..., 0], mean, var, cdf, min_ess=1000)


def _nuts(model, draws=500, seed=3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = mapreg.sample_posterior(model, draws=draws, tune=500, chains=2,
                                       sampler="nutpie", random_seed=seed, progressbar=False,
                                       log_likelihood=False)
    post = tree["posterior"]
    return stack_theta(post["coef"].values, post["intercept"].values)


def test_breast_cancer_lasso_matches_nuts(breast_cancer):
    X, y = breast_cancer
    model = mapreg.Model(X, y, mapreg.Laplace(1.0), family="bernoulli")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplingWarning)
        d = sample_hmc(model, draws=1000, tune=400, chains=2, seed=1)
    assert d.coef.shape == (2, 1000, 30) and d.intercept.shape == (2, 1000)
    assert d.attrs["hmc_divergences"] == 0 and d.attrs["hmc_metric_adapted"] == 1
    assert 0.6 < d.attrs["hmc_acceptance"] < 0.95
    assert_means_sds_agree(stack_theta(d.coef, d.intercept), _nuts(model))


def test_poisson_elastic_net_matches_nuts():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((120, 3))
    y = rng.poisson(np.exp(0.3 + X @ np.array([0.4, -0.3, 0.0]))).astype(float)
    model = mapreg.Model(X, y, mapreg.ElasticNet(0.3, 1.0), family="poisson")
    d = sample_hmc(model, draws=1000, tune=300, chains=2, seed=6)
    assert_means_sds_agree(stack_theta(d.coef, d.intercept), _nuts(model, draws=1000))


def test_fixed_metric_breast_cancer_lasso_matches_nuts(breast_cancer):
    """The approximation's metric alone (no warm-up re-estimate): EP's, with the kinks."""
    X, y = breast_cancer
    model = mapreg.Model(X, y, mapreg.Laplace(1.0), family="bernoulli")
    d = sample_hmc(model, draws=800, tune=200, chains=2, seed=2, adapt_metric=False)
    assert d.attrs["hmc_metric_adapted"] == 0
    assert_means_sds_agree(stack_theta(d.coef, d.intercept), _nuts(model))


def test_upper_factor_and_change_of_metric():
    """U upper with U U' = C (numpy), and a chain moved to a new metric keeps its theta."""
    from mapreg.posterior.hmc import _Chain, _Metric, _upper_factor

    rng = np.random.default_rng(4)
    A = rng.standard_normal((5, 5))
    C = A @ A.T + np.eye(5)
    U = _upper_factor(C)
    np.testing.assert_allclose(U @ U.T, C, rtol=1e-12, atol=1e-12)
    assert np.array_equal(U, np.triu(U))
    model = _model("bernoulli", "laplace")
    mean, L = approximation(model)
    chain = _Chain(np.random.SeedSequence(0), _Metric(model, mean, L),
                   K.dual_averaging_state(0.5, 0.8), 0, 10)
    theta = rng.standard_normal(5)
    new = _Metric(model, mean + 0.1, U)
    chain.use(new, theta)
    np.testing.assert_allclose(new.mean + U @ chain.z, theta, rtol=1e-12, atol=1e-12)
    ref = float(log_posterior(model, theta[None])[0])
    assert chain.lp == pytest.approx(ref, rel=1e-10)


def test_ledoit_wolf_matches_scikit_learn():
    from sklearn.covariance import ledoit_wolf

    from mapreg.posterior.hmc import _ledoit_wolf

    rng = np.random.default_rng(5)
    for n, scales in ((40, [1.0, 1.0, 1.0, 1.0]), (300, [0.5, 1.0, 2.0, 4.0])):
        z = rng.standard_normal((n, 4)) * scales
        np.testing.assert_allclose(_ledoit_wolf(z), ledoit_wolf(z)[0], rtol=1e-10,
                                   atol=1e-12)


def test_gaussian_family_matches_the_closed_form():
    """Known noise, Gaussian prior: N(Q^{-1} Z'y / s**2, Q^{-1}), Q = Z'Z / s**2 + D (numpy)."""
    model = _model("gaussian", "gaussian", n=50)
    Z = np.column_stack([model.X, np.ones(50)])
    s2, sig2 = 0.8**2, 1.3**2
    Q = Z.T @ Z / s2 + np.diag([1 / sig2] * 4 + [0.0])
    cov = np.linalg.inv(Q)
    mean = cov @ Z.T @ model.y / s2
    d = sample_hmc(model, draws=1000, tune=300, chains=2, seed=9)
    th = stack_theta(d.coef, d.intercept)
    ess = ess_bulk(th)
    flat = th.reshape(-1, 5)
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_array_less(np.abs(flat.mean(0) - mean), 5 * sd / np.sqrt(ess))
    np.testing.assert_array_less(np.abs(flat.std(0) - sd), 5 * sd / np.sqrt(2 * ess))


def test_same_seed_same_draws():
    model = _model("bernoulli", "laplace")
    a = sample_hmc(model, draws=50, tune=60, chains=2, seed=3)
    assert a.attrs["hmc_metric_adapted"] == 1
    b = sample_hmc(model, draws=50, tune=60, chains=2, seed=3)
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(a.intercept, b.intercept)
    c = sample_hmc(model, draws=50, tune=60, chains=2, seed=4)
    assert not np.array_equal(a.coef, c.coef)
    assert not np.array_equal(a.coef[0], a.coef[1])  # chains differ


def test_huge_step_size_warns_of_divergences():
    model = _model("bernoulli", "gaussian")
    with pytest.warns(SamplingWarning, match="divergent"):
        d = sample_hmc(model, draws=30, tune=0, chains=1, seed=0, step_size=50.0)
    assert d.attrs["hmc_divergences"] > 0
    assert d.attrs["hmc_step_size"] == 50.0


@pytest.mark.parametrize("kwargs, words", [
    ({"scale_prior": mapreg.GammaLambdaSq(1.0, 1.0)}, "hyperprior"),
    ({"noise_prior": mapreg.HalfCauchy(1.0), "noise_sigma": None}, "hyperprior"),
    ({"prior": mapreg.Horseshoe(1.0)}, "Horseshoe prior has no compiled gradient"),
    ({"prior": mapreg.StudentT(3.0, 1.0)}, "StudentT prior"),
    ({"X": np.ones((30, 40)) + np.eye(30, 40)}, "> n = 30 rows"),
])
def test_refusals_name_the_problem(kwargs, words):
    model = small_model(**kwargs)
    assert words in hmc_refusal(model)
    with pytest.raises(ValueError, match=words):
        sample_hmc(model, draws=10, tune=0, chains=1, seed=0)


def test_refuses_dask_data_and_bad_arguments():
    pytest.importorskip("dask.array")
    model = small_dask_model()
    assert "dask" in hmc_refusal(model)
    assert "mapreg.Model" in hmc_refusal("not a model")
    model = _model("bernoulli", "laplace")
    for kw, words in (({"path": -1.0}, "path"), ({"target_accept": 1.5}, "target_accept"),
                      ({"step_size": 0.0}, "step_size"), ({"draws": 0}, "draws")):
        with pytest.raises(ValueError, match=words):
            sample_hmc(model, **{"draws": 10, "tune": 0, "chains": 1, "seed": 0, **kw})


_LONG_RUN = """
import numpy as np, mapreg
from mapreg.posterior.hmc import sample_hmc
rng = np.random.default_rng(0)
X = rng.standard_normal((2000, 20))
y = (X[:, 0] + rng.standard_normal(2000) > 0).astype(float)
model = mapreg.Model(X, y, mapreg.Laplace(1.0), family="bernoulli")
sample_hmc(model, 5, 5, 1, 0)  # numba's cache loaded before the clock
print("start", flush=True)
sample_hmc(model, 10**6, 100, 2, 0, progressbar=True)
"""


@pytest.mark.slow
def test_ctrl_c_stops_the_chains():
    """SIGINT two seconds into a run of minutes: KeyboardInterrupt, not the end of the run."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _LONG_RUN], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "start"
        time.sleep(2.0)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        elapsed = time.monotonic() - t0
    finally:
        proc.kill()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err, err[-2000:]
    assert elapsed < 10.0, elapsed  # blocks of ~0.2 s: typically well under a second


def test_auto_picks_hmc_for_the_breast_cancer_lasso_and_sample_posterior_runs_it(
        breast_cancer, monkeypatch):
    """The breast-cancer lasso: auto's cost model takes HMC (measured 2.6-4.3x the ESS per
    second of the Pólya-Gamma sweeps with independence steps it took before, 10-16x
    nutpie's: benchmarks/README.md), reuses the independence plan's approximation as the
    metric, and the result carries the usual groups; divergences reach the result's
    ``n_divergent`` and ``warnings``."""
    from mapreg.posterior import sample as sample_module
    from mapreg.posterior.choose import auto_choice
    from mapreg.posterior.sample import sample_posterior

    X, y = breast_cancer
    model = mapreg.Model(X, y, mapreg.Laplace(1.0), family="bernoulli")
    choice = auto_choice(model)
    assert choice.sampler == "hmc" and "HMC is the cheapest" in choice.reason
    m, L = choice.plan
    m0, L0 = approximation(model)
    np.testing.assert_allclose(m, m0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(L @ L.T, L0 @ L0.T, rtol=1e-8, atol=1e-12)
    idata = sample_posterior(model, draws=200, tune=200, chains=2, random_seed=1,
                             progressbar=False)
    assert idata.attrs["sampler"] == "hmc" and idata.attrs["sampler_requested"] == "auto"
    assert idata.attrs["hmc_divergences"] == 0 and idata.attrs["n_divergent"] == 0
    assert idata["log_likelihood"]["y"].shape == (2, 200, 569)
    same = sample_posterior(model, draws=200, tune=200, chains=2, random_seed=1,
                            sampler="hmc", progressbar=False)
    np.testing.assert_array_equal(idata["posterior"]["coef"].values,
                                  same["posterior"]["coef"].values)

    def too_big_a_step(*args, **kwargs):
        return sample_hmc(*args, **kwargs, step_size=50.0)

    monkeypatch.setattr(sample_module, "sample_hmc", too_big_a_step)
    small = _model("bernoulli", "gaussian")
    with pytest.warns(SamplingWarning, match="divergent"):
        bad = sample_posterior(small, draws=30, tune=5, chains=1, sampler="hmc",
                               random_seed=0, progressbar=False)
    assert bad.attrs["n_divergent"] == bad.attrs["hmc_divergences"] > 0
    assert any("divergent trajectories" in w for w in bad.attrs["warnings"])


def test_nearly_separable_logistic_matches_nuts():
    """40 x 25, Gaussian(5): a posterior far from Gaussian (the independence sampler's gate
    fails on it: k-hat > 0.7, tests/test_independence.py), which auto still gives to HMC;
    the warm-up metric carries it (step 0.17, ~13 steps per draw measured)."""
    from mapreg.posterior.choose import auto_choice

    rng = np.random.default_rng(9)
    X = rng.standard_normal((40, 25))
    y = (X[:, 0] + 0.3 * rng.standard_normal(40) > 0).astype(float)
    model = mapreg.Model(X, y, mapreg.Gaussian(5.0), family="bernoulli")
    assert auto_choice(model).sampler == "hmc"
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplingWarning)  # no divergences
        d = sample_hmc(model, draws=1000, tune=1000, chains=2, seed=1)
    assert_means_sds_agree(stack_theta(d.coef, d.intercept), _nuts(model, draws=1000))
