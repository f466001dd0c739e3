"""Independence Metropolis-Hastings: against NUTS and quadrature; the gate; refusals.

References are independent of the sampler: NUTS (nutpie), and a posterior computed by
numerical quadrature (scipy.integrate) for a one-coefficient model.
Means and sds agree within 5 Monte Carlo standard errors, the MCSE from both runs' bulk ESS.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate, stats

import mapreg
from mapreg.exceptions import SamplingWarning
from mapreg.posterior.independence import (
    independence_plan,
    independence_refusal,
    sample_independence,
)
from tests._reference import (
    assert_means_sds_agree,
    assert_one_coefficient_agrees,
    one_coefficient_logistic,
    small_dask_model,
    small_model,
    stack_theta,
)


def _breast_cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y.astype(float)


def _reference(tree):
    post = tree["posterior"]
    return stack_theta(post["coef"].values, post["intercept"].values)


def _nuts(model, draws=500, seed=3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mapreg.sample_posterior(model, draws=draws, tune=500, chains=2, sampler="nutpie",
                                       random_seed=seed, progressbar=False,
                                       log_likelihood=False)


def test_breast_cancer_logistic_gaussian_prior_matches_nuts():
    X, y = _breast_cancer()
    model = mapreg.Model(X, y, mapreg.Gaussian(1.0), family="bernoulli")
    plan = independence_plan(model, seed=0)
    assert plan.reliable, plan.reason
    d = sample_independence(model, draws=1000, tune=100, chains=2, seed=1, plan=plan)
    assert d.coef.shape == (2, 1000, 30) and d.intercept.shape == (2, 1000)
    assert d.attrs["independence_thin"] == plan.thin
    assert_means_sds_agree(stack_theta(d.coef, d.intercept), _reference(_nuts(model)))


def test_diabetes_lasso_matches_nuts():
    from mapreg.datasets import load_diabetes

    data = load_diabetes()
    model = mapreg.Model(data.X, data.y, mapreg.Laplace(2.0), noise_sigma=53.0)
    d = sample_independence(model, draws=1000, tune=100, chains=2, seed=2)
    assert 0.2 < d.attrs["independence_acceptance"] < 0.9
    assert_means_sds_agree(stack_theta(d.coef, d.intercept), _reference(_nuts(model, draws=1000)))


def test_poisson_lasso_matches_nuts():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((120, 3))
    y = rng.poisson(np.exp(0.3 + X @ np.array([0.4, -0.3, 0.0]))).astype(float)
    model = mapreg.Model(X, y, mapreg.Laplace(0.3), family="poisson")
    d = sample_independence(model, draws=1000, tune=100, chains=2, seed=6)
    assert_means_sds_agree(stack_theta(d.coef, d.intercept), _reference(_nuts(model, draws=1000)))


def test_one_coefficient_against_quadrature():
    """Bernoulli, one feature, no intercept, Laplace(1): the posterior by scipy.integrate."""
    model, mean, var, cdf = one_coefficient_logistic()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplingWarning)  # the gate passes this one
        d = sample_independence(model, draws=2000, tune=50, chains=2, seed=8)
    assert np.all(d.intercept == 0.0)
    assert_one_coefficient_agrees(d.coef[..., 0], mean, var, cdf, min_ess=0.0)


def test_gate_flags_the_breast_cancer_lasso():
    """Laplace(1) on the collinear breast-cancer features: chains would stick."""
    X, y = _breast_cancer()
    model = mapreg.Model(X, y, mapreg.Laplace(1.0), family="bernoulli")
    plan = independence_plan(model, seed=0)
    assert not plan.reliable
    assert plan.repeat > 0.1 or plan.k_hat > 0.7
    assert "use NUTS" in plan.reason
    with pytest.warns(SamplingWarning, match="independence sampler"):
        sample_independence(model, draws=20, tune=5, chains=1, seed=0, plan=plan)


def test_gate_flags_a_nearly_separable_problem():
    """p close to n, weak prior: a very non-Gaussian posterior gives a large k_hat."""
    rng = np.random.default_rng(9)
    X = rng.standard_normal((40, 25))
    y = (X[:, 0] + 0.3 * rng.standard_normal(40) > 0).astype(float)
    model = mapreg.Model(X, y, mapreg.Gaussian(5.0), family="bernoulli")
    plan = independence_plan(model, seed=0)
    assert not plan.reliable and plan.k_hat > 0.7, plan.reason
    assert "k_hat" in plan.reason


@pytest.mark.parametrize("kwargs, words", [
    ({"scale_prior": mapreg.GammaLambdaSq(1.0, 1.0)}, "hyperprior"),
    ({"noise_prior": mapreg.HalfCauchy(1.0), "noise_sigma": None}, "hyperprior"),
    ({"prior": mapreg.Horseshoe(1.0)}, "no posterior mode"),
    ({"X": np.ones((30, 40)) + np.eye(30, 40)}, "> n = 30 rows"),
])
def test_refusals_name_the_problem(kwargs, words):
    model = small_model(**kwargs)
    assert words in independence_refusal(model)
    with pytest.raises(ValueError, match=words):
        independence_plan(model)
    with pytest.raises(ValueError, match=words):
        sample_independence(model, draws=10, tune=0, chains=1, seed=0)


def test_refuses_dask_data():
    pytest.importorskip("dask.array")
    model = small_dask_model()
    assert "dask" in independence_refusal(model)


def test_same_seed_same_draws_and_blocks_do_not_matter():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 4))
    y = (X[:, 0] + rng.standard_normal(50) > 0).astype(float)
    model = mapreg.Model(X, y, mapreg.Laplace(1.0), family="bernoulli")
    plan = independence_plan(model, seed=3, iterations=2 * 70)  # as sample_independence
    a = sample_independence(model, draws=60, tune=10, chains=2, seed=3, plan=plan)
    b = sample_independence(model, draws=60, tune=10, chains=2, seed=3, plan=plan, block=7)
    c = sample_independence(model, draws=60, tune=10, chains=2, seed=3)
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(a.intercept, b.intercept)
    np.testing.assert_array_equal(a.coef, c.coef)
    d = sample_independence(model, draws=60, tune=10, chains=2, seed=4, plan=plan)
    assert not np.array_equal(a.coef, d.coef)
    assert not np.array_equal(a.coef[0], a.coef[1])  # chains differ


def test_a_long_run_shows_its_progress_on_stderr(capsys):
    """tqdm's bar (it appears after half a second): block 1 makes the run slow enough."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 4))
    y = (X[:, 0] + rng.standard_normal(50) > 0).astype(float)
    model = mapreg.Model(X, y, mapreg.Laplace(1.0), family="bernoulli")
    plan = independence_plan(model, seed=3, iterations=2 * 4000)
    sample_independence(model, draws=3000, tune=1000, chains=2, seed=3, plan=plan, block=1,
                        progressbar=True)
    err = capsys.readouterr().err
    assert "Independence MH, 2 chains" in err and "sweep/s" in err


@pytest.mark.parametrize("family, intercept", [("gaussian", True), ("bernoulli", True),
                                               ("poisson", False), ("poisson", True)])
def test_log_posterior_matches_the_model(family, intercept):
    """The batched log density (gram / Z'y shortcuts) against Model.neg_log_posterior."""
    from mapreg.posterior.independence import log_posterior

    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 4))
    y = {"gaussian": rng.standard_normal(60), "bernoulli": (rng.random(60) < 0.5) * 1.0,
         "poisson": rng.poisson(2.0, 60) * 1.0}[family]
    model = mapreg.Model(X, y, mapreg.Laplace(0.7), family=family, fit_intercept=intercept,
                         noise_sigma=1.3 if family == "gaussian" else None)
    theta = rng.standard_normal((9, 4 + intercept)) * 2.0
    if family == "poisson":
        theta[0, 0] = 400.0  # past the family's clip of the log rate
    want = [-model.neg_log_posterior(t[:4], t[4] if intercept else 0.0) for t in theta]
    np.testing.assert_allclose(log_posterior(model, theta), want, rtol=1e-10)


@pytest.mark.parametrize("mc, vc, a", [(0.3, 0.5, 1.0), (-2.0, 0.1, 3.0), (4.0, 1.0, 0.5),
                                       (0.0, 2.0, 2.0), (-30.0, 4.0, 1.0)])
def test_ep_tilted_moments_against_quadrature(mc, vc, a):
    """EP's site update: moments of N(w | mc, vc) exp(-a |w|) by scipy.integrate."""
    from mapreg.posterior.independence_proposal import _laplace_tilted

    def f(w, j):
        return w**j * stats.norm.pdf(w, mc, np.sqrt(vc)) * np.exp(-a * abs(w))

    lo, hi = mc - 40 * np.sqrt(vc), mc + 40 * np.sqrt(vc)
    pts = [0.0, mc, mc - a * vc, mc + a * vc]  # where the mass is: quad must not miss it
    z, m1, m2 = (integrate.quad(f, lo, hi, args=(j,), points=pts, limit=400)[0]
                 for j in range(3))
    mean, var = _laplace_tilted(np.array([mc]), np.array([vc]), a)
    np.testing.assert_allclose(mean[0], m1 / z, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(var[0], m2 / z - (m1 / z) ** 2, rtol=1e-6)


def test_elastic_net_bernoulli_matches_nuts():
    """The EP proposal with an L2 part (elastic net), bernoulli with an intercept."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((150, 4))
    y = (rng.random(150) < 1 / (1 + np.exp(-(0.2 + X @ [1.0, -0.5, 0.0, 0.0])))) * 1.0
    model = mapreg.Model(X, y, mapreg.ElasticNet(b=0.5, sigma=1.0), family="bernoulli")
    d = sample_independence(model, draws=1000, tune=100, chains=2, seed=12)
    assert d.attrs["independence_reliable"] == 1
    assert_means_sds_agree(stack_theta(d.coef, d.intercept), _reference(_nuts(model, draws=1000)))


def test_sample_posterior_runs_it_and_auto_picks_it():
    """Poisson with a Student-t prior (no Gibbs sampler, no HMC gradient): auto takes the
    independence sampler, says why, and the result carries the usual groups and
    diagnostics; a plan that fails its gate still runs when asked for by name, warns, and
    the warning is kept in attrs["warnings"]."""
    from mapreg.posterior.sample import sample_posterior

    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 5))
    y = rng.poisson(np.exp(0.3 + X @ np.array([0.5, -0.3, 0.0, 0.0, 0.2]))).astype(float)
    model = mapreg.Model(X, y, mapreg.StudentT(3.0, 1.0), family="poisson")
    idata = sample_posterior(model, draws=300, tune=100, chains=2, random_seed=3,
                             progressbar=False)
    assert idata.attrs["sampler"] == "independence"
    assert idata.attrs["sampler_requested"] == "auto"
    assert "k-hat" in idata.attrs["sampler_reason"] and "NUTS" in idata.attrs["sampler_reason"]
    assert idata.attrs["max_rhat"] < 1.05 and idata.attrs["warnings"] == []
    assert idata["log_likelihood"]["y"].shape == (2, 300, 300)
    X2, y2 = _breast_cancer()
    bc = mapreg.Model(X2, y2, mapreg.Laplace(1.0), family="bernoulli")
    with pytest.warns(SamplingWarning, match="independence sampler"):
        res = sample_posterior(bc, draws=50, tune=20, chains=1, sampler="independence",
                               random_seed=0, progressbar=False)
    assert any("independence sampler" in w for w in res.attrs["warnings"])


@pytest.mark.parametrize("family", ["bernoulli", "poisson", "gaussian"])
def test_log_posterior_from_the_linear_predictor_is_the_same(family):
    """Target.at_linear_predictor (a sampler's own eta) = Target() on the rows, to 1e-10."""
    from mapreg.posterior.independence_proposal import Target

    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 4))
    eta = X @ np.array([0.5, -0.2, 0.0, 0.3]) + 0.2
    y = {"bernoulli": (rng.random(60) < 1 / (1 + np.exp(-eta))).astype(float),
         "poisson": rng.poisson(np.exp(eta)).astype(float),
         "gaussian": eta + rng.standard_normal(60)}[family]
    kw = {"noise_sigma": 1.0} if family == "gaussian" else {}
    model = mapreg.Model(X, y, mapreg.Laplace(0.5), family=family, **kw)
    target = Target(model)
    theta = np.array([0.4, -0.1, 0.05, 0.2, 0.1])
    ref = float(target(theta[None])[0])
    got = target.at_linear_predictor(theta, X @ theta[:4] + theta[4])
    assert got == pytest.approx(ref, rel=1e-10, abs=1e-10)


def test_compiled_logistic_steps_equal_the_numpy_steps():
    """The GIL-free accept step (logistic, Laplace / Gaussian prior) makes the same moves as
    the generic one from the same random numbers."""
    from mapreg.posterior.independence_proposal import Target, proposal
    from mapreg.posterior.independence_steps import IndependenceSteps

    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 4))
    y = (rng.random(120) < 1 / (1 + np.exp(-(X[:, 0] - X[:, 1] + 0.2)))).astype(float)
    for prior in (mapreg.Laplace(0.7), mapreg.Gaussian(1.5)):
        model = mapreg.Model(X, y, prior, family="bernoulli")
        target, prop = Target(model), proposal(model, 30.0, 1.1)
        fast = IndependenceSteps(prop, target, 7, np.random.default_rng(5))
        slow = IndependenceSteps(prop, target, 7, np.random.default_rng(5))
        slow._logistic = None
        assert fast._logistic is not None
        a = prop.mean.copy()
        b = prop.mean.copy()
        for _ in range(40):
            moved_a = fast.move(a, X @ a[:4] + a[4])
            moved_b = slow.move(b, X @ b[:4] + b[4])
            assert moved_a == moved_b
            np.testing.assert_array_equal(a, b)
        assert fast.accepted == slow.accepted > 0
