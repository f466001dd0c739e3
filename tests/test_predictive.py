"""ArviZ-complete posteriors: the log_likelihood group, LOO, posterior/prior predictive.

References are independent of the code under test: exact leave-one-out by n refits of the
closed-form posterior (:func:`mapreg.posterior.exact.gaussian_posterior`, each row's
predictive density a Gaussian), and the conjugate model's predictive mean and variance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import norm

import mapreg
from mapreg import Gaussian, Laplace, Model
from mapreg.posterior import loglik
from mapreg.posterior.exact import gaussian_posterior
from mapreg.priors import InverseGamma
from tests.conftest import DIABETES_NOISE as NOISE
from tests.conftest import make_problem

az = pytest.importorskip("arviz")


@pytest.fixture(scope="module")
def ridge(diabetes):
    model = Model(diabetes.X, diabetes.y, prior=Gaussian(10.0), noise_sigma=NOISE,
                  feature_names=diabetes.feature_names)
    idata = mapreg.sample_posterior(model, draws=1000, chains=4, random_seed=11)
    return model, idata


def _exact_loo(X, y, prior, noise):
    """elpd_i by n closed-form refits: log N(y_i | z_i'm_-i, s**2 + z_i'C_-i z_i)."""
    n = len(y)
    out = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        post = gaussian_posterior(Model(X[keep], y[keep], prior=prior, noise_sigma=noise))
        z = np.append(X[i], 1.0)
        out[i] = norm.logpdf(y[i], z @ post.mean, np.sqrt(noise**2 + z @ post.cov @ z))
    return out


# ------------------------------------------------------------------ log_likelihood group
def test_log_likelihood_group_sums_to_the_models_log_likelihood(ridge):
    model, idata = ridge
    ll = idata["log_likelihood"]["y"]
    assert ll.dims == ("chain", "draw", "obs") and ll.shape == (4, 1000, model.n_samples)
    coef, b0 = idata["posterior"]["coef"].values, idata["posterior"]["intercept"].values
    for c, k in [(0, 0), (1, 17), (3, 999)]:
        assert ll.values[c, k].sum() == pytest.approx(model.log_likelihood(coef[c, k], b0[c, k]),
                                                      rel=1e-12)
    # the obs dim is observed_data's: ArviZ lines them up
    np.testing.assert_array_equal(ll["obs"].values, idata["observed_data"]["obs"].values)


def test_loo_matches_exact_leave_one_out(ridge, diabetes):
    """PSIS-LOO on the exact sampler's draws vs n closed-form refits (independent)."""
    _, idata = ridge
    res = az.loo(idata, pointwise=True)
    exact = _exact_loo(diabetes.X, diabetes.y, Gaussian(10.0), NOISE)
    # measured: elpd_loo -2396.98 vs exact -2397.05 (4,000 draws, all Pareto k good)
    assert abs(res.elpd - exact.sum()) < 0.5
    np.testing.assert_allclose(res.elpd_i.values, exact, atol=0.05)
    assert not res.warning and float(res.pareto_k.max()) < 0.5


def test_compare_works_and_prefers_nothing_absurd(ridge, diabetes):
    _, idata = ridge
    lasso = Model(diabetes.X, diabetes.y, prior=Laplace(5.0), noise_sigma=NOISE,
                  feature_names=diabetes.feature_names)
    other = mapreg.sample_posterior(lasso, draws=500, chains=2, random_seed=3)
    table = az.compare({"ridge": idata, "lasso": other})
    assert set(table.index) == {"ridge", "lasso"}
    assert np.all(np.isfinite(table["elpd"]))


def test_sampled_noise_enters_each_draws_log_likelihood(diabetes):
    model = Model(diabetes.X, diabetes.y, prior=Gaussian(10.0),
                  noise_prior=InverseGamma(2.0, 2000.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mapreg.SamplingWarning)
        idata = mapreg.sample_posterior(model, draws=50, tune=50, chains=1, sampler="gibbs",
                                        random_seed=0)
    post = idata["posterior"]
    ll = idata["log_likelihood"]["y"].values
    for k in (0, 49):
        s = float(post["noise_sigma"].values[0, k])
        fixed = Model(diabetes.X, diabetes.y, prior=Gaussian(10.0), noise_sigma=s)
        assert ll[0, k].sum() == pytest.approx(fixed.log_likelihood(
            post["coef"].values[0, k], float(post["intercept"].values[0, k])), rel=1e-12)


def test_log_likelihood_opt_in_and_out(monkeypatch):
    X, y = make_problem("gaussian", 30, 3, seed=1)
    model = Model(X, y, prior=Gaussian(1.0), noise_sigma=1.0)
    off = mapreg.sample_posterior(model, draws=20, chains=1, random_seed=0,
                                  log_likelihood=False)
    assert "log_likelihood" not in off.children
    monkeypatch.setattr(loglik, "MAX_LOG_LIKELIHOOD_VALUES", 100)
    auto = mapreg.sample_posterior(model, draws=20, chains=1, random_seed=0)
    assert "log_likelihood" not in auto.children  # 600 values > 100
    forced = mapreg.sample_posterior(model, draws=20, chains=1, random_seed=0,
                                     log_likelihood=True)
    assert forced["log_likelihood"]["y"].shape == (1, 20, 30)
    with pytest.raises(ValueError, match="log_likelihood must be"):
        mapreg.sample_posterior(model, draws=20, chains=1, log_likelihood="yes")


def test_bernoulli_pointwise_log_likelihood():
    X, y = make_problem("bernoulli", 40, 3, seed=2)
    model = Model(X, y, prior=Gaussian(1.0), family="bernoulli")
    rng = np.random.default_rng(0)
    coef, b0 = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5))
    ll = loglik.pointwise_log_likelihood(model, coef, b0)
    p = 1.0 / (1.0 + np.exp(-(coef @ X.T + b0[..., None])))
    np.testing.assert_allclose(ll, np.where(y == 1.0, np.log(p), np.log1p(-p)), rtol=1e-10)


# ------------------------------------------------------------------ predictive draws
def test_posterior_predictive_matches_the_closed_form(ridge, diabetes):
    model, idata = ridge
    post = gaussian_posterior(model)
    Xnew = diabetes.X[[0, 5, 100, 441]] * np.array([[1.0], [2.0], [-1.0], [0.5]])
    out = mapreg.sample_posterior_predictive(idata, model, Xnew, random_seed=0,
                                             extend_inferencedata=False)
    y = out["predictions"]["y"]
    assert y.dims == ("chain", "draw", "obs") and y.shape == (4, 1000, 4)
    np.testing.assert_array_equal(out["predictions_constant_data"]["X"].values, Xnew)
    Z = np.column_stack([Xnew, np.ones(4)])
    mean = Z @ post.mean
    var = NOISE**2 + np.einsum("ij,jk,ik->i", Z, post.cov, Z)
    draws = y.values.reshape(-1, 4)
    assert np.all(np.abs(draws.mean(0) - mean) < 4.5 * np.sqrt(var / 4000))
    np.testing.assert_allclose(draws.var(0), var, rtol=0.08)  # sd of the ratio: 2.2%
    assert "predictions" not in idata.children


def test_posterior_predictive_group_for_ppc(ridge):
    model, idata = ridge
    tree = mapreg.sample_posterior_predictive(idata.copy(), model, random_seed=1)
    pp = tree["posterior_predictive"]["y"]
    assert pp.shape == (4, 1000, model.n_samples)
    np.testing.assert_array_equal(pp["obs"].values, tree["observed_data"]["obs"].values)
    pit = az.loo_pit(tree)  # reads posterior_predictive, observed_data and log_likelihood
    assert np.all((pit["y"].values >= 0) & (pit["y"].values <= 1))
    import matplotlib.pyplot as plt

    az.plot_ppc_dist(tree)  # arviz 1.x's plot_ppc
    plt.close("all")
    with pytest.raises(ValueError, match="coefficients"):
        mapreg.sample_posterior_predictive(
            idata, Model(model.X[:, :3], model.y, prior=Gaussian(1.0), noise_sigma=1.0))


def test_bernoulli_predictive_draws_are_labels_with_the_right_mean():
    X, y = make_problem("bernoulli", 60, 3, seed=5)
    model = Model(X, y, prior=Gaussian(1.0), family="bernoulli")
    idata = mapreg.laplace_approximation(model).sample(1000, chains=2, random_seed=2)
    tree = mapreg.sample_posterior_predictive(idata, model, random_seed=3)
    draws = tree["posterior_predictive"]["y"].values
    assert set(np.unique(draws)) == {0.0, 1.0}
    coef, b0 = idata["posterior"]["coef"].values, idata["posterior"]["intercept"].values
    p = 1.0 / (1.0 + np.exp(-(coef @ X.T + b0[..., None])))
    expected = p.mean(axis=(0, 1))
    se = np.sqrt(expected * (1 - expected) / 2000)
    assert np.all(np.abs(draws.mean(axis=(0, 1)) - expected) < 4.5 * se + 1e-9)


def test_prior_predictive_moments(diabetes):
    X = diabetes.X[:20]
    y = diabetes.y[:20]
    model = Model(X, y, prior=Gaussian(3.0), noise_sigma=2.0)
    tree = mapreg.sample_prior_predictive(model, draws=4000, random_seed=0)
    assert {"prior", "prior_predictive", "observed_data"} <= set(tree.children)
    assert tree.attrs["intercept"] == pytest.approx(np.mean(y))
    pp = tree["prior_predictive"]["y"].values.reshape(4000, 20)
    var = 4.0 + 9.0 * np.sum(X**2, axis=1)  # s**2 + sigma**2 ||x_i||**2
    np.testing.assert_allclose(pp.var(0), var, rtol=0.1)
    coef = tree["prior"]["coef"].values.reshape(-1, 10)
    assert coef.std() == pytest.approx(3.0, rel=0.03)


def test_prior_predictive_without_a_pymc_generator_and_with_hyperpriors():
    from scipy.integrate import quad

    X, y = make_problem("poisson", 15, 2, seed=0)
    prior = mapreg.ElasticNet(1.0, 0.7)  # its PyMC CustomDist has no random: grid inverse CDF
    model = Model(X, y, prior=prior, family="poisson")
    tree = mapreg.sample_prior_predictive(model, draws=3000, random_seed=1)
    var = 2 * quad(lambda w: w**2 * np.exp(prior.logpdf(np.array([w]))[0]), 0, np.inf)[0]
    assert tree["prior"]["coef"].values.var() == pytest.approx(var, rel=0.06)
    pp = tree["prior_predictive"]["y"].values
    assert np.all(pp >= 0) and np.all(pp == np.round(pp))
    hyper = Model(X, y.astype(float) + 0.5, prior=Laplace(1.0),
                  noise_prior=InverseGamma(3.0, 2.0))
    tree = mapreg.sample_prior_predictive(hyper, draws=50, random_seed=2, intercept=0.0)
    assert tree["prior"]["noise_sigma"].shape == (1, 50)
    with pytest.raises(ValueError, match="draws"):
        mapreg.sample_prior_predictive(model, draws=0)


# ------------------------------------------------------------------ which prior?
@pytest.mark.filterwarnings("ignore:R-hat:mapreg.exceptions.SamplingWarning")  # short chains
def test_compare_priors_table(diabetes):
    priors = {"lasso": Laplace(2.0), "ridge": Gaussian(3.0), "horseshoe": mapreg.Horseshoe(1.0)}
    table, idatas = mapreg.compare_priors(diabetes.X, diabetes.y, priors, noise_sigma=NOISE,
                                          draws=300, tune=300, chains=2, random_seed=0,
                                          return_idata=True)
    assert set(table.index) == set(priors) and table["rank"].min() == 0
    assert table["weight"].sum() == pytest.approx(1.0, abs=0.02)
    assert dict(table["sampler"]) == {"lasso": "gibbs", "ridge": "exact", "horseshoe": "gibbs"}
    for name, idata in idatas.items():
        res = az.loo(idata, pointwise=True)
        assert table.loc[name, "max_pareto_k"] == pytest.approx(float(res.pareto_k.max()))
        assert table.loc[name, "n_high_pareto_k"] == 0
    # measured (diabetes, 2 x 500 draws, with ElasticNet(2, 5) by nutpie): horseshoe 0.96
    # of the stacking weight, lasso -3.0 (dse 2.1), enet -10, ridge Gaussian(3) -20 (dse 5.8)
    with pytest.raises(ValueError, match="at least two"):
        mapreg.compare_priors(diabetes.X, diabetes.y, [Laplace(1.0)], noise_sigma=NOISE)


def test_compare_priors_surfaces_high_pareto_k():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(25, 12))
    y = X[:, 0] + 0.3 * rng.normal(size=25)
    y[3] += 8.0  # an outlier with high leverage: leaving it out moves the posterior
    X[3] *= 3.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = mapreg.compare_priors(X, y, [Gaussian(100.0), Laplace(0.5)], noise_sigma=0.3,
                                      draws=300, tune=200, chains=2, random_seed=0,
                                      sampler={"gaussian": "exact", "laplace": "gibbs"})
    emitted = [str(w.message) for w in caught if issubclass(w.category, mapreg.SamplingWarning)]
    assert any("unreliable for prior 'gaussian'" in m for m in emitted)
    assert any("unreliable for prior 'laplace'" in m for m in emitted)
    assert set(table.index) == {"gaussian", "laplace"}
    assert np.all(table["n_high_pareto_k"] > 0) and np.all(table["max_pareto_k"] > 0.7)
    assert len(table.attrs["warnings"]) == 2


def test_compare_priors_takes_posteriors_already_sampled(diabetes):
    """A posterior you have (any sampler; NUTS here) joins the table as it is: its elpd is
    arviz's loo of exactly those draws, and the others are sampled as usual."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enet = mapreg.sample_posterior(Model(diabetes.X, diabetes.y, mapreg.ElasticNet(2.0, 5.0),
                                      noise_sigma=NOISE), draws=200, tune=200, chains=2,
                                sampler="nutpie", random_seed=1, progressbar=False)
        table = mapreg.compare_priors(diabetes.X, diabetes.y, {"lasso": Laplace(2.0)},
                                      noise_sigma=NOISE, draws=300, tune=300, chains=2,
                                      random_seed=0, posteriors={"enet (nutpie)": enet})
    assert set(table.index) == {"lasso", "enet (nutpie)"}
    assert table.loc["enet (nutpie)", "sampler"] == "nutpie"
    assert table.loc["enet (nutpie)", "prior"] == repr(mapreg.ElasticNet(2.0, 5.0))
    ref = az.loo(enet, pointwise=True)
    assert table.loc["enet (nutpie)", "elpd"] == pytest.approx(float(ref.elpd), rel=1e-12)
    # bad inputs name the problem
    no_ll = enet.copy()
    del no_ll["log_likelihood"]
    with pytest.raises(ValueError, match="no log_likelihood group"):
        mapreg.compare_priors(diabetes.X, diabetes.y, {"lasso": Laplace(2.0)},
                              noise_sigma=NOISE, posteriors={"enet": no_ll})
    with pytest.raises(ValueError, match="observations, y has"):
        mapreg.compare_priors(diabetes.X[:100], diabetes.y[:100], {"lasso": Laplace(2.0)},
                              noise_sigma=NOISE, posteriors={"enet": enet})
    with pytest.raises(ValueError, match="names in both"):
        mapreg.compare_priors(diabetes.X, diabetes.y, {"enet": Laplace(2.0)},
                              noise_sigma=NOISE, posteriors={"enet": enet})
