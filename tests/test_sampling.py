"""sample_posterior against the closed-form posterior, the output contract, diagnostics.

Reference values never come from mapreg: the conjugate posterior is written
out here (mean from scikit-learn's Ridge, covariance from an explicit inverse),
and Monte-Carlo tolerances are ESS-based standard errors.
"""

from __future__ import annotations

import warnings

import arviz_stats as azs
import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import Ridge

import mapreg
from mapreg.datasets import load_diabetes
from mapreg.exceptions import SamplingWarning
from mapreg.posterior.choose import auto_choice, choose_sampler, valid_samplers
from mapreg.posterior.diagnostics import check_diagnostics
from mapreg.posterior.pymc_model import pymc_model
from mapreg.posterior.sample import sample_posterior
from mapreg.priors.hyper import GammaLambdaSq, HalfCauchy, InverseGamma

pytestmark = pytest.mark.slow

S_NOISE, S_PRIOR = 1.5, 0.8


@pytest.fixture(scope="module")
def small_gaussian():
    """n=40, p=3, intercept; correlated columns so the covariance has off-diagonals."""
    rng = np.random.default_rng(7)
    n, p = 40, 3
    X = rng.standard_normal((n, p)) @ np.array([[1, 0.6, 0], [0, 1, 0.3], [0, 0, 1.0]])
    y = X @ np.array([1.0, -0.5, 0.0]) + 2.0 + S_NOISE * rng.standard_normal(n)
    model = mapreg.Model(X, y, mapreg.Gaussian(S_PRIOR), noise_sigma=S_NOISE)
    # truth: mean = ridge with alpha = s^2 / sigma^2 (centring = flat intercept) ...
    ridge = Ridge(alpha=S_NOISE**2 / S_PRIOR**2, fit_intercept=True, tol=1e-14).fit(X, y)
    mean = np.append(ridge.coef_, ridge.intercept_)
    # ... covariance = (Z'Z / s^2 + diag(1/sigma^2, 0))^-1, by explicit inversion
    Z = np.column_stack([X, np.ones(n)])
    prec = Z.T @ Z / S_NOISE**2 + np.diag([1 / S_PRIOR**2] * p + [0.0])
    return model, mean, np.linalg.inv(prec)


def _theta(idata):
    post = idata["posterior"]
    coef = post["coef"].transpose("chain", "draw", "feature").values
    return np.concatenate([coef, post["intercept"].values[..., None]], axis=-1)


def _check_moments(idata, mean, cov, z=4.5):
    """Mean and covariance within z ESS-based standard errors of the truth."""
    th = _theta(idata)
    flat = th.reshape(-1, th.shape[-1])
    ess = np.array([float(azs.ess(th[..., j], method="mean")) for j in range(th.shape[-1])])
    sd = np.sqrt(np.diag(cov))
    se_mean = sd / np.sqrt(ess)
    assert np.all(np.abs(flat.mean(0) - mean) < z * se_mean), (flat.mean(0), mean, se_mean)
    # Gaussian: Var(x_i x_j) = S_ii S_jj + S_ij^2; use the smaller ESS of the pair
    emp = np.cov(flat.T)
    ess_pair = np.minimum.outer(ess, ess)
    se_cov = np.sqrt((np.outer(sd**2, sd**2) + cov**2) / ess_pair)
    assert np.all(np.abs(emp - cov) < z * se_cov), (emp, cov, se_cov)


@pytest.mark.parametrize("sampler", ["exact", "gibbs", "nutpie", "pymc", "numpyro"])
def test_matches_closed_form_posterior(small_gaussian, sampler):
    model, mean, cov = small_gaussian
    draws = 2000 if sampler in ("exact", "gibbs") else 500
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        idata = sample_posterior(model, draws=draws, tune=300, chains=2, sampler=sampler,
                                 random_seed=3, progressbar=False)
    assert idata.attrs["sampler"] == sampler
    _check_moments(idata, mean, cov)


def test_sufficient_statistics_model_has_the_full_log_density(small_gaussian):
    """The X'X form (Potential) and model.to_pymc() (Normal on each y_i) agree everywhere."""
    model, _, _ = small_gaussian
    for m in (model, mapreg.Model(model.X, model.y, mapreg.Laplace(0.7),
                                  noise_prior=HalfCauchy(2.0), scale_prior=GammaLambdaSq(1, 1))):
        fast = pymc_model(m)
        full = m.to_pymc()
        lp_fast = fast.compile_logp(jacobian=False)
        lp_full = full.compile_logp(jacobian=False)
        rng = np.random.default_rng(0)
        start = full.initial_point()
        fast_vals, full_vals = [], []
        for _ in range(6):
            pt = {k: rng.normal(size=np.shape(v)) for k, v in start.items()}
            for k in pt:
                if "log__" in k:  # positive hyperparameters, on the log scale
                    pt[k] = np.asarray(0.3 * pt[k])
            fast_vals.append(lp_fast(pt))
            full_vals.append(lp_full(pt))
        # PyMC's Normal rounds its constant log(sqrt(2 pi)) to ~1e-8 per row, so the
        # levels agree to ~n * 1e-8; differences between points cancel it exactly.
        np.testing.assert_allclose(fast_vals, full_vals, rtol=0, atol=1e-7 * m.n_samples)
        np.testing.assert_allclose(np.diff(fast_vals), np.diff(full_vals), rtol=1e-10,
                                   atol=1e-9)


@pytest.mark.parametrize("shape, collinear", [((500, 8), False), ((60, 12), True)])
def test_sufficient_statistics_rss_equals_the_residuals(shape, collinear):
    """RSS from Z'Z about the expansion point equals |y - Z theta|**2 from the rows, also for a
    rank-deficient Z (a duplicated column) and far from the least-squares fit."""
    from mapreg.posterior.sufficient import sufficient_stats

    rng = np.random.default_rng(3)
    X = rng.standard_normal(shape) + 2.0
    if collinear:
        X[:, 1] = X[:, 0]
    y = X @ rng.standard_normal(shape[1]) + 5.0 + rng.standard_normal(shape[0])
    for fit_intercept in (True, False):
        st = sufficient_stats(X, y, fit_intercept)
        Z = np.column_stack([X, np.ones(len(y))]) if fit_intercept else X
        spread = np.array([0.01, 1.0, 30.0])[:, None, None]   # near, at and far from t0
        theta = st.t0 + rng.standard_normal((3, 7, Z.shape[1])) * spread
        direct = np.sum((y - theta @ Z.T) ** 2, axis=-1)
        np.testing.assert_allclose(st.rss(theta), direct, rtol=1e-9, atol=1e-8 * float(y @ y))
        ols = np.linalg.lstsq(Z, y, rcond=None)[0]   # the minimum of the RSS, from the rows
        assert st.rss(st.t0) == pytest.approx(np.sum((y - Z @ ols) ** 2), rel=1e-9)


def test_output_contract_and_map_group(small_gaussian):
    model, _, _ = small_gaussian
    idata = sample_posterior(model, draws=100, chains=2, sampler="exact", random_seed=0)
    assert {"posterior", "sample_stats", "observed_data", "map"} <= set(idata.children)
    post = idata["posterior"]
    assert post["coef"].dims == ("chain", "draw", "feature")
    assert list(post["feature"].values) == list(model.feature_names)
    assert post["intercept"].dims == ("chain", "draw")
    np.testing.assert_array_equal(idata["observed_data"]["y"].values, model.y)
    ref = Ridge(alpha=S_NOISE**2 / S_PRIOR**2, tol=1e-14).fit(model.X, model.y)
    np.testing.assert_allclose(idata["map"]["coef"].values, ref.coef_, rtol=1e-7)
    np.testing.assert_allclose(float(idata["map"]["intercept"]), ref.intercept_, rtol=1e-7)
    for key in ("sampler", "prior", "family", "warnings", "max_rhat", "min_ess_bulk"):
        assert key in idata.attrs
    assert idata.attrs["warnings"] == []
    # sample_stats.lp is the log posterior density, draw by draw: from scipy.stats here,
    # log N(y | Xw + c, s^2) + log N(w | 0, sigma^2) (the intercept's prior is flat)
    lp = idata["sample_stats"]["lp"].values
    coef = post["coef"].values
    for c, d in [(0, 0), (1, 57), (1, 99)]:
        w, b0 = coef[c, d], float(post["intercept"].values[c, d])
        ref = (stats.norm.logpdf(model.y, model.X @ w + b0, S_NOISE).sum()
               + stats.norm.logpdf(w, 0.0, S_PRIOR).sum())
        np.testing.assert_allclose(lp[c, d], ref, rtol=1e-10)
    assert idata.attrs["prior"] == "Gaussian(sigma=0.8)" and idata.attrs["family"] == "gaussian"


def test_auto_picks_the_fastest_valid_sampler(small_gaussian):
    model, _, _ = small_gaussian
    X, y = model.X, model.y
    assert choose_sampler(model) == "exact"
    assert choose_sampler(mapreg.Model(X, y, mapreg.Laplace(1.0), noise_sigma=1.0)) == "gibbs"
    assert choose_sampler(mapreg.Model(X, y, mapreg.Gaussian(1.0),
                                       noise_prior=InverseGamma(2, 2))) == "gibbs"
    # a half-Cauchy on the Laplace scale: the coordinate sampler's slice step on log b
    assert choose_sampler(mapreg.Model(X, y, mapreg.Laplace(1.0), noise_sigma=1.0,
                                       scale_prior=HalfCauchy(1.0))) == "gibbs"
    # no Gibbs sampler; the independence sampler's plan is reliable on this small problem
    assert choose_sampler(mapreg.Model(X, y, mapreg.StudentT(3.0, 1.0),
                                       noise_sigma=1.0)) == "independence"
    # ... and refused with a hyperprior (its scales would be sampled too): NUTS
    assert choose_sampler(mapreg.Model(X, np.round(np.abs(y)), mapreg.Laplace(1.0),
                                       family="poisson", scale_prior=HalfCauchy(1.0))) \
        == "nutpie"
    # a small logistic lasso (40 x 3): the quick independence plan is reliable, and at
    # ~2 steps of 2n k flops per draw cheaper than HMC's 5 gradients (weighed in the reason;
    # breast cancer takes HMC: tests/test_hmc.py)
    logistic = mapreg.Model(X, (y > 2).astype(float), mapreg.Laplace(1.0), family="bernoulli")
    assert choose_sampler(logistic) == "independence"
    assert "cheapest" in auto_choice(logistic).reason
    assert "hmc: ~" in auto_choice(logistic).reason
    assert choose_sampler(mapreg.Model(X, np.round(np.abs(y)), mapreg.Laplace(1.0),
                                       family="poisson")) == "independence"
    # Poisson with a Student-t prior: no Gibbs, no HMC; independence where its plan holds
    assert choose_sampler(mapreg.Model(X, np.round(np.abs(y)), mapreg.StudentT(3.0, 1.0),
                                       family="poisson")) == "independence"
    idata = sample_posterior(mapreg.Model(X, y, mapreg.Laplace(1.0), noise_sigma=1.0),
                             draws=200, chains=2, random_seed=1)
    assert idata.attrs["sampler"] == "gibbs" and idata.attrs["sampler_requested"] == "auto"
    # the reasoning is recorded: why not exact, why Gibbs
    reason = idata.attrs["sampler_reason"]
    assert "not exact" in reason and "Laplace" in reason and "n = 40, p = 3" in reason
    assert "Rue's Cholesky" in reason and "for NUTS" in reason
    hier = mapreg.Model(X, y, mapreg.StudentT(3.0, 1.0), noise_sigma=1.0)
    reason = auto_choice(hier).reason
    assert "gibbs: the StudentT prior" in reason and "k-hat" in reason
    assert "hmc: the StudentT prior has no compiled gradient" in reason
    assert valid_samplers(hier) == ("nutpie", "pymc", "numpyro", "independence")
    assert valid_samplers(model) == ("nutpie", "pymc", "numpyro", "gibbs", "exact",
                                     "independence", "hmc")


def test_invalid_requests_are_refused(small_gaussian):
    model, _, _ = small_gaussian
    lap = mapreg.Model(model.X, model.y, mapreg.Laplace(1.0), noise_sigma=1.0)
    with pytest.raises(ValueError, match=r"'exact' does not apply .* Laplace prior .* "
                                         r"Samplers that do: nutpie, pymc, numpyro, gibbs, "
                                         r"independence, hmc$"):
        sample_posterior(lap, sampler="exact")
    pois = mapreg.Model(model.X, np.round(np.abs(model.y)), mapreg.Laplace(1.0),
                        family="poisson")
    with pytest.raises(ValueError, match=r"'gibbs' does not apply .* not 'poisson'"):
        sample_posterior(pois, sampler="gibbs")
    with pytest.raises(ValueError, match="sampler must be"):
        sample_posterior(model, sampler="metropolis")
    with pytest.raises(ValueError, match="draws"):
        sample_posterior(model, draws=0)
    hyper = mapreg.Model(model.X, model.y, mapreg.Laplace(1.0), noise_prior=HalfCauchy(1.0))
    with pytest.raises(ValueError, match="hyperpriors"):
        mapreg.find_map(hyper)


def test_too_little_tuning_on_a_funnel_warns_and_is_recorded():
    """Hierarchical logistic model, 20 rows: a funnel between prior_scale and coef."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((20, 4))
    y = (rng.random(20) < 0.5).astype(float)
    model = mapreg.Model(X, y, mapreg.Gaussian(1.0), family="bernoulli",
                         scale_prior=HalfCauchy(1.0))
    with pytest.warns(SamplingWarning) as rec:
        idata = sample_posterior(model, draws=40, tune=3, chains=2, sampler="pymc",
                                 random_seed=2, progressbar=False)
    assert len(idata.attrs["warnings"]) >= 1
    assert any("ESS" in str(w.message) or "R-hat" in str(w.message) for w in rec)
    assert idata.attrs["warnings"] == [str(w.message) for w in rec
                                       if issubclass(w.category, SamplingWarning)]


def test_diagnostics_flag_chains_that_disagree():
    import xarray as xr

    rng = np.random.default_rng(0)
    good = rng.standard_normal((4, 500))
    bad = good + np.array([0.0, 0.0, 0.0, 3.0])[:, None]  # one chain stuck elsewhere
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset(
        {"a": (("chain", "draw"), good), "b": (("chain", "draw"), bad)})})
    with pytest.warns(SamplingWarning, match=r"R-hat .* for b"):
        d = check_diagnostics(tree, ["a", "b"], sampler="test", chains=4, tune=0)
    assert d.max_rhat > 1.2
    assert d.n_divergent == 0


def test_hyperpriors_gibbs_agrees_with_nuts_on_diabetes():
    """Unknown noise (HalfCauchy) and Laplace scale (Gamma on lam^2): Gibbs and NUTS agree."""
    data = load_diabetes()
    model = mapreg.Model(data.X, data.y, mapreg.Laplace(2.0), noise_prior=HalfCauchy(50.0),
                         scale_prior=GammaLambdaSq(1.0, 0.1), feature_names=data.feature_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        g = sample_posterior(model, draws=2000, tune=500, chains=2, sampler="gibbs",
                             random_seed=4)
        n = sample_posterior(model, draws=1000, tune=500, chains=2, sampler="nutpie",
                             random_seed=4, progressbar=False)
    for name in ("noise_sigma", "prior_scale"):
        a, b = g["posterior"][name].values, n["posterior"][name].values
        se = np.sqrt(a.var() / float(azs.ess(a, method="mean"))
                     + b.var() / float(azs.ess(b, method="mean")))
        assert abs(a.mean() - b.mean()) < 4.5 * se, (name, a.mean(), b.mean(), se)
    # the MAP group is conditional on the posterior-median hyperparameters
    assert "prior_scale=" in g["map"].attrs["conditional_on"]


def test_gaussian_prior_hyperpriors_gibbs_agrees_with_nuts():
    """Bayesian ridge with HalfCauchy prior scale and InverseGamma noise variance."""
    data = load_diabetes()
    model = mapreg.Model(data.X, data.y, mapreg.Gaussian(10.0), noise_prior=InverseGamma(2, 2000),
                         scale_prior=HalfCauchy(10.0), feature_names=data.feature_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        g = sample_posterior(model, draws=2000, tune=500, chains=2, sampler="gibbs",
                             random_seed=6)
        n = sample_posterior(model, draws=1000, tune=500, chains=2, sampler="nutpie",
                             random_seed=6, progressbar=False)
    for name in ("noise_sigma", "prior_scale"):
        a, b = g["posterior"][name].values, n["posterior"][name].values
        se = np.sqrt(a.var() / float(azs.ess(a, method="mean"))
                     + b.var() / float(azs.ess(b, method="mean")))
        assert abs(a.mean() - b.mean()) < 4.5 * se, (name, a.mean(), b.mean(), se)
    a = g["posterior"]["coef"].values.reshape(-1, 10)
    b = n["posterior"]["coef"].values.reshape(-1, 10)
    se = np.sqrt(a.var(0) / 1000 + b.var(0) / 500)  # conservative ESS floors
    assert np.all(np.abs(a.mean(0) - b.mean(0)) < 4.5 * se)


def test_sampler_tables_agree_with_the_priors_class_data():
    """The Gibbs kernels' name tables hold exactly the registered priors that declare
    "gibbs"; the NUTS settings table names registered priors."""
    from mapreg.posterior.coordinate import COORDINATE_PRIORS
    from mapreg.posterior.gibbs import GIBBS_PRIORS
    from mapreg.posterior.nuts import TARGET_ACCEPT
    from mapreg.priors import PRIORS

    declared = {name for name, cls in PRIORS.items() if "gibbs" in cls.samplers}
    assert declared == set(GIBBS_PRIORS) | set(COORDINATE_PRIORS)
    assert set(TARGET_ACCEPT) <= set(PRIORS)
    for name, row in GIBBS_PRIORS.items():
        assert row.scale_hyperpriors <= {hp.on for hp in PRIORS[name].scale_hyperpriors}


def test_samplers_read_the_name_not_the_class(small_gaussian):
    """A subclass of Laplace under another name is not the Gibbs kernel's Laplace."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class ShiftedName(mapreg.Laplace):
        name = "laplace-variant"

    model, _, _ = small_gaussian
    m = mapreg.Model(model.X, model.y, ShiftedName(1.0), noise_sigma=1.0)
    assert valid_samplers(m) == ("nutpie", "pymc", "numpyro", "independence")
    with pytest.raises(ValueError, match="lists 'gibbs' among its samplers, but the Gibbs"):
        sample_posterior(m, sampler="gibbs")


def test_nuts_reads_rows_when_p_exceeds_n():
    """At p > n a gradient through the rows (O(np)) beats one through Z'Z (O(p^2))."""
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 40)), rng.normal(size=20)
    wide = mapreg.Model(X, y, mapreg.Laplace(0.5), noise_sigma=1.0)
    tall = mapreg.Model(X[:, :5], y, mapreg.Laplace(0.5), noise_sigma=1.0)
    assert "y" in pymc_model(wide).observed_RVs[0].name and not pymc_model(wide).potentials
    assert pymc_model(tall).potentials and not pymc_model(tall).observed_RVs
    # either form has the same log density (differences between points, as above)
    rows, stats = pymc_model(wide), pymc_model(wide, sufficient_stats=True)
    lp_rows = rows.compile_logp(jacobian=False)
    lp_stats = stats.compile_logp(jacobian=False)
    pts = [{k: rng.normal(size=np.shape(v)) for k, v in rows.initial_point().items()}
           for _ in range(4)]
    np.testing.assert_allclose(np.diff([lp_rows(p) for p in pts]),
                               np.diff([lp_stats(p) for p in pts]), rtol=1e-10, atol=1e-9)
