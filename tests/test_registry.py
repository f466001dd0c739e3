"""The prior registry and the capabilities each prior declares as class data."""

import dataclasses
import math

import numpy as np
import pytest
import scipy.stats

import mapreg
from mapreg.penalties import L1, L2, Bridge, ElasticNetPenalty, LogPenalty, Penalty
from mapreg.priors import PRIORS, Prior, make_prior, prior_class, prior_names, register_prior

SHIPPED = {
    "laplace": (mapreg.Laplace, {}),
    "gaussian": (mapreg.Gaussian, {}),
    "bridge": (mapreg.GeneralizedNormal, {"p": 0.7}),
    "elasticnet": (mapreg.ElasticNet, {"scale2": 3.0}),
    "student-t": (mapreg.StudentT, {"nu": 4.0}),
    "cauchy": (mapreg.Cauchy, {}),
    "horseshoe": (mapreg.Horseshoe, {}),
    "regularized-horseshoe": (mapreg.RegularizedHorseshoe, {}),
}


def test_every_shipped_prior_is_registered_under_its_cli_name():
    assert set(prior_names()) >= set(SHIPPED)
    for name, (cls, _) in SHIPPED.items():
        assert prior_class(name) is cls
        assert cls.name == name


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_make_prior_sets_the_main_scale_and_options(name):
    cls, options = SHIPPED[name]
    prior = make_prior(name, 2.5, **options)
    assert type(prior) is cls
    assert prior.scale == 2.5 and getattr(prior, cls.scale_param) == 2.5
    for opt in cls.options:
        if opt.name in options:
            assert getattr(prior, opt.field) == options[opt.name]


def test_make_prior_builds_what_the_constructors_build():
    assert make_prior("laplace", 2.0) == mapreg.Laplace(2.0)
    assert make_prior("gaussian", 3.0) == mapreg.Gaussian(3.0)
    assert make_prior("bridge", 2.0, p=0.5) == mapreg.GeneralizedNormal(2.0, 0.5)
    assert make_prior("elasticnet", 2.0, scale2=5.0) == mapreg.ElasticNet(2.0, 5.0)
    assert make_prior("student-t", 1.5, nu=3.0) == mapreg.StudentT(3.0, 1.5)
    assert make_prior("horseshoe", 0.1) == mapreg.Horseshoe(0.1)


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    (("lasso", 1.0), {}, r"prior must be one of \['laplace', 'gaussian'"),
    (("bridge", 1.0), {}, r"prior 'bridge' needs p \(the exponent, 0 < p <= 2\)"),
    (("elasticnet", 1.0), {}, r"needs scale2 \(sigma of the Gaussian factor"),
    (("laplace", 1.0), {"p": 0.5}, r"p does not apply to prior 'laplace'"),
    (("laplace", 0.0), {}, r"Laplace scale b must be a positive finite number, got 0.0"),
    (("bridge", 1.0), {"p": 3.0}, r"exponent p must lie in \(0, 2\], got 3.0"),
])
def test_make_prior_errors_name_the_problem(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_prior(*args, **kwargs)


def test_cauchy_is_student_t_with_one_degree_of_freedom():
    c, t = mapreg.Cauchy(1.7), mapreg.StudentT(1.0, 1.7)
    w = np.linspace(-20, 20, 17)
    np.testing.assert_allclose(c.logpdf(w), scipy.stats.cauchy(scale=1.7).logpdf(w), rtol=1e-13)
    np.testing.assert_allclose(c.logpdf(w), t.logpdf(w), rtol=1e-15)
    assert c.penalty() == t.penalty() == LogPenalty(1.0, 1.7**2)
    assert c.with_scale(3.0) == mapreg.Cauchy(3.0)


@pytest.mark.parametrize(("prior", "expected"), [
    (mapreg.Laplace(4.0), L1(0.25)),
    (mapreg.Gaussian(2.0), L2(1.0 / 8.0)),
    (mapreg.GeneralizedNormal(2.0, 0.5), Bridge(2.0**-0.5, 0.5)),
    (mapreg.ElasticNet(2.0, 5.0), ElasticNetPenalty(0.5, 1.0 / 50.0)),
    (mapreg.StudentT(3.0, 2.0), LogPenalty(2.0, 12.0)),
])
def test_penalty_dual_from_the_closed_forms(prior, expected):
    # lam = 1/b, 1/(2 sigma^2), alpha^-p; (1/b, 1/(2 sigma^2)); ((nu+1)/2, nu s^2)
    pen = prior.penalty()
    assert isinstance(pen, Penalty) and type(pen) is type(expected)
    for field in dataclasses.fields(expected):
        assert getattr(pen, field.name) == pytest.approx(getattr(expected, field.name),
                                                         rel=1e-15)
    # -log p(w) - pen(w) is the same constant log Z at every w
    w = np.array([-3.0, -0.4, 0.0, 0.01, 2.5])
    gaps = [-prior.logpdf(np.array([v]))[0] - pen.value(np.array([v])) for v in w]
    np.testing.assert_allclose(gaps, prior.log_normalizer, rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", ["laplace", "gaussian", "bridge", "student-t", "cauchy",
                                  "horseshoe"])
def test_with_scale_moves_only_the_main_scale(name):
    cls, options = SHIPPED[name]
    prior = make_prior(name, 2.0, **options)
    moved = prior.with_scale(5.0)
    assert type(moved) is cls and moved.scale == 5.0
    for f in dataclasses.fields(prior):
        if f.name != cls.scale_param:
            assert getattr(moved, f.name) == getattr(prior, f.name)


def test_elasticnet_with_scale_keeps_the_l1_ratio():
    # moving b moves sigma with it so that lam2 / lam (scikit-learn's l1_ratio) is fixed
    prior = mapreg.ElasticNet(2.0, 5.0)
    moved = prior.with_scale(8.0)
    assert moved.b == 8.0
    ratio = prior.penalty().lam2 / prior.penalty().lam
    assert moved.penalty().lam2 / moved.penalty().lam == pytest.approx(ratio, rel=1e-14)


def test_capabilities_are_consistent():
    for cls in PRIORS.values():
        assert cls.samplers <= {"exact", "gibbs", "nuts"} and "nuts" in cls.samplers
    assert "exact" in mapreg.Gaussian.samplers and "exact" not in mapreg.Laplace.samplers
    assert not mapreg.Horseshoe.has_mode
    assert mapreg.GeneralizedNormal(1.0, 0.5).convex is False
    assert mapreg.GeneralizedNormal(1.0, 1.5).convex is True
    assert mapreg.StudentT.convex is False
    with pytest.raises(ValueError, match="no penalty dual"):
        mapreg.Horseshoe(1.0).penalty()


def test_register_prior_refuses_duplicates_and_non_priors():
    @dataclasses.dataclass(frozen=True)
    class Impostor(mapreg.Laplace):
        pass  # inherits name = "laplace"

    with pytest.raises(ValueError, match="already registered"):
        register_prior(Impostor)
    with pytest.raises(TypeError, match="needs a Prior subclass"):
        register_prior(dict)
    assert issubclass(PRIORS["laplace"], Prior) and PRIORS["laplace"] is mapreg.Laplace
    assert math.isclose(PRIORS["laplace"](2.0).lam, 0.5)


@pytest.mark.parametrize("build", [
    lambda: mapreg.Gaussian(1e-200),  # lam = 1/(2 sigma^2) overflows
    lambda: mapreg.Laplace(1e-310),  # lam = 1/b overflows
    lambda: mapreg.Cauchy(1e-300),  # delta = s^2 underflows to 0
    lambda: mapreg.ElasticNet(1e-300, 1e300),  # the erfcx normaliser overflows
    lambda: mapreg.GeneralizedNormal(1e-200, 2.0),  # alpha^-p overflows
], ids=["gaussian", "laplace", "cauchy", "elasticnet", "bridge"])
def test_extreme_scales_are_refused_with_one_clear_message(build):
    with pytest.raises(ValueError, match=r"is out of range: its penalty or normaliser is not a "
                                         r"finite double .*; choose a less extreme"):
        build()


def test_huge_gaussian_scale_stays_finite():
    # sigma**2 overflows, yet lam and log Z are representable: log Z = -log N(0 | 0, sigma)
    prior = mapreg.Gaussian(1e200)
    assert prior.lam == 0.0  # 1/(2 sigma^2) = 5e-401 underflows: numerically a flat prior
    assert prior.log_normalizer == pytest.approx(-scipy.stats.norm(scale=1e200).logpdf(0.0),
                                                 rel=1e-14)
    w = np.array([-1e199, 0.0, 3e199])
    np.testing.assert_allclose(prior.logpdf(w), scipy.stats.norm(scale=1e200).logpdf(w),
                               rtol=1e-14)
