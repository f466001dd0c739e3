"""Likelihood families against scipy.stats and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mapreg.families import BernoulliFamily, GaussianFamily, PoissonFamily, make_family

rng = np.random.default_rng(7)
ETA = rng.normal(scale=2.0, size=25)
Y = {
    "gaussian": ETA + rng.normal(size=25),
    "bernoulli": (rng.uniform(size=25) < 0.4).astype(float),
    "poisson": rng.poisson(3.0, size=25).astype(float),
}


def scipy_logpdf(name, eta, y):
    if name == "gaussian":
        return stats.norm.logpdf(y, loc=eta, scale=2.5)
    if name == "bernoulli":
        return stats.bernoulli.logpmf(y, 1.0 / (1.0 + np.exp(-eta)))
    return stats.poisson.logpmf(y, np.exp(eta))


FAMILIES = {"gaussian": GaussianFamily(2.5), "bernoulli": BernoulliFamily(),
            "poisson": PoissonFamily()}


@pytest.mark.parametrize("name", FAMILIES)
def test_loglik_matches_scipy(name):
    fam, y = FAMILIES[name], Y[name]
    np.testing.assert_allclose(fam.loglik(ETA, y), scipy_logpdf(name, ETA, y), rtol=1e-10)


@pytest.mark.parametrize("name", FAMILIES)
def test_loss_plus_constant_is_total_negative_loglik(name):
    fam, y = FAMILIES[name], Y[name]
    total = -np.sum(scipy_logpdf(name, ETA, y))
    assert fam.loss(ETA, y) + fam.loss_constant(y) == pytest.approx(total, rel=1e-12)


def test_loss_formulas_are_sums_not_means():
    eta, y = np.array([0.0, 1.0]), np.array([1.0, 0.0])
    assert GaussianFamily(2.0).loss(eta, y) == pytest.approx((1 + 1) / (2 * 4.0))
    assert BernoulliFamily().loss(eta, y) == pytest.approx(np.log(2) + np.log(1 + np.e))
    assert PoissonFamily().loss(eta, y) == pytest.approx(1.0 + np.e)


@pytest.mark.parametrize("name", FAMILIES)
def test_derivatives_against_finite_differences(name):
    fam, y = FAMILIES[name], Y[name]
    h = 1e-6
    for i in range(len(ETA)):
        e_plus, e_minus = ETA.copy(), ETA.copy()
        e_plus[i] += h
        e_minus[i] -= h
        fd1 = (fam.loss(e_plus, y) - fam.loss(e_minus, y)) / (2 * h)
        assert fam.dloss(ETA, y)[i] == pytest.approx(fd1, rel=1e-6, abs=1e-7)
        fd2 = (fam.dloss(e_plus, y)[i] - fam.dloss(e_minus, y)[i]) / (2 * h)
        assert fam.d2loss(ETA, y)[i] == pytest.approx(fd2, rel=1e-5, abs=1e-7)


def test_bernoulli_loss_is_stable_for_large_eta():
    fam = BernoulliFamily()
    eta = np.array([-800.0, 800.0])
    assert np.isfinite(fam.loss(eta, np.array([1.0, 0.0])))
    assert fam.loss(eta, np.array([0.0, 1.0])) == pytest.approx(0.0, abs=1e-300)


@pytest.mark.parametrize("name", FAMILIES)
def test_pymc_likelihood_matches_scipy(name):
    import pymc as pm

    fam, y = FAMILIES[name], Y[name]
    with pm.Model():
        rv = fam.to_pymc("y", ETA, observed=y)
    # PyMC folds its normalising constants in single precision (~1e-8 relative).
    np.testing.assert_allclose(pm.logp(rv, y).eval(), scipy_logpdf(name, ETA, y), rtol=1e-7)


@pytest.mark.parametrize(
    ("fam", "y", "message"),
    [
        (BernoulliFamily(), np.array([0.0, 1.0, 2.0]), r"labels in \{0, 1\}; y\[2\] = 2.0"),
        (BernoulliFamily(), np.array([0.5, 1.0]), r"y\[0\] = 0.5"),
        (PoissonFamily(), np.array([1.0, -1.0]), r"y\[1\] = -1.0 is negative"),
        (PoissonFamily(), np.array([1.5, 1.0]), r"y\[0\] = 1.5 is non-integer"),
    ],
)
def test_label_domain_errors(fam, y, message):
    with pytest.raises(ValueError, match=message):
        fam.validate_y(y)


def test_make_family_errors():
    with pytest.raises(ValueError, match="needs noise_sigma"):
        make_family("gaussian")
    with pytest.raises(ValueError, match="only to the gaussian"):
        make_family("poisson", noise_sigma=1.0)
    with pytest.raises(ValueError, match="family must be one of"):
        make_family("binomial")
    with pytest.raises(ValueError, match="noise_sigma must be a positive"):
        make_family("gaussian", noise_sigma=0.0)


def test_unknown_noise_gaussian_family_refuses_what_needs_the_noise():
    """GaussianFamily(None): a Model with a noise hyperprior. Support and link work; the
    likelihood, the loss and PyMC refuse with one message that says what to do."""
    import pymc as pm

    fam = GaussianFamily(None)
    assert fam.noise_sigma is None and fam.name == "gaussian"
    y = Y["gaussian"]
    np.testing.assert_array_equal(fam.validate_y(y), y)
    np.testing.assert_array_equal(fam.mean(ETA), ETA)
    assert fam.initial_intercept(y) == pytest.approx(np.mean(y))
    for call in (lambda: fam.loglik(ETA, y), lambda: fam.loss(ETA, y),
                 lambda: fam.loss_constant(y), lambda: fam.dloss(ETA, y),
                 lambda: fam.d2loss(ETA, y)):
        with pytest.raises(ValueError, match=r"has a hyperprior \(noise_prior\).*noise_sigma="):
            call()
    with pm.Model(), pytest.raises(ValueError, match="has a hyperprior"):
        fam.to_pymc("y", ETA, observed=y)


def test_softplus_matches_scipy_log_expit():
    """softplus(x) = log(1 + e^x) = -log_expit(-x) (scipy), relative 1e-15, no overflow."""
    from scipy.special import log_expit

    from mapreg.families import softplus

    x = np.concatenate([np.linspace(-50, 50, 2001), [-745.0, -1e-12, 0.0, 1e-12, 710.0, 1e5]])
    ref = -log_expit(-x)
    np.testing.assert_allclose(softplus(x), ref, rtol=2e-15, atol=0)
    assert softplus(x.reshape(3, -1)).shape == (3, x.size // 3)
