"""Priors against scipy.stats, their penalty duals, proxes and input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from mapreg import Gaussian, Laplace

# One case table drives every reference test: (prior, frozen scipy distribution).
CASES = [
    (Laplace(0.5), stats.laplace(scale=0.5)),
    (Laplace(2.0), stats.laplace(scale=2.0)),
    (Laplace(100.0), stats.laplace(scale=100.0)),
    (Gaussian(0.1), stats.norm(scale=0.1)),
    (Gaussian(1.0), stats.norm(scale=1.0)),
    (Gaussian(30.0), stats.norm(scale=30.0)),
]
IDS = [repr(c[0]) for c in CASES]
W = np.array([-50.0, -3.0, -1.0, -1e-3, 0.0, 1e-3, 0.7, 2.0, 40.0])


@pytest.mark.parametrize(("prior", "ref"), CASES, ids=IDS)
def test_logpdf_matches_scipy(prior, ref):
    np.testing.assert_allclose(prior.logpdf(W), ref.logpdf(W), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(("prior", "ref"), CASES, ids=IDS)
def test_negative_logpdf_is_lam_times_penalty_plus_normaliser(prior, ref):
    # -log p(w) - lam * pen(w) must be the same constant log Z for every w,
    # with pen = |w| (Laplace) or w**2 (Gaussian): the penalty dual.
    power = 1 if isinstance(prior, Laplace) else 2
    penalty_terms = prior.lam * np.abs(W) ** power
    residual = -ref.logpdf(W) - penalty_terms
    # cancellation: the error is relative to the size of the terms subtracted
    np.testing.assert_allclose(residual, prior.log_normalizer, rtol=0,
                               atol=1e-13 * max(1.0, penalty_terms.max()))
    # the dual penalty object evaluates lam * sum |w|**power from its own formula
    assert prior.penalty().value(W) == pytest.approx(penalty_terms.sum(), rel=1e-14)


def test_lam_formulas():
    assert Laplace(4.0).lam == 0.25  # lam = 1 / b
    assert Gaussian(2.0).lam == 1.0 / 8.0  # 2 lam = 1 / sigma^2


@pytest.mark.parametrize("lam", [1e-6, 0.03, 1.0, 7.5, 1e5])
@pytest.mark.parametrize("cls", [Laplace, Gaussian])
def test_from_lam_round_trip(cls, lam):
    prior = cls.from_lam(lam)
    assert prior.lam == pytest.approx(lam, rel=1e-14)
    # the scale in closed form: lam = 1/b (Laplace), lam = 1/(2 sigma^2) (Gaussian)
    if cls is Laplace:
        assert prior.b == pytest.approx(1.0 / lam, rel=1e-14)
    else:
        assert prior.sigma == pytest.approx(1.0 / np.sqrt(2.0 * lam), rel=1e-14)


@pytest.mark.parametrize(("prior", "ref"), CASES, ids=IDS)
@pytest.mark.parametrize("step", [0.01, 1.0, 5.0])
@pytest.mark.parametrize("v", [-3.0, -0.2, 0.0, 0.004, 1.5])
def test_prox_minimises_its_objective(prior, ref, step, v):
    # prox(v) = argmin_w (w - v)^2 / 2 - step * log p(w), found here by brute force.
    def objective(w):
        return 0.5 * (w - v) ** 2 - step * ref.logpdf(w)

    numeric = optimize.minimize_scalar(objective, bracket=(-10, 10), tol=1e-14).x
    got = float(prior.penalty().prox_1d(v, step))
    assert objective(got) <= objective(numeric) + 1e-12
    assert got == pytest.approx(numeric, abs=1e-6)


def test_laplace_prox_gives_exact_zero_inside_threshold():
    # threshold = step / b = 0.5: everything with |v| <= 0.5 maps to exactly 0.
    out = Laplace(2.0).penalty().prox_1d(np.array([-0.5, -0.1, 0.0, 0.3, 0.5, 0.6]), 1.0)
    assert np.array_equal(out[:5], np.zeros(5))
    assert out[5] == pytest.approx(0.1)


@pytest.mark.parametrize(("prior", "ref"), CASES, ids=IDS)
def test_subdiff_distance_against_finite_differences(prior, ref):
    # away from 0, the distance is |grad + d(-log p)/dw|; use a numeric derivative.
    w = np.array([-2.0, -0.3, 0.8, 3.0])
    grad = np.array([0.1, -0.4, 2.0, -1.0])
    h = 1e-6
    dneglog = -(ref.logpdf(w + h) - ref.logpdf(w - h)) / (2 * h)
    np.testing.assert_allclose(prior.penalty().subdiff_distance(w, grad), np.abs(grad + dneglog),
                               rtol=1e-6, atol=1e-6)


def test_laplace_subdifferential_at_zero_is_an_interval():
    prior = Laplace(0.5)  # lam = 2: any gradient in [-2, 2] is optimal at 0
    grads = np.array([-2.0, -1.0, 0.0, 1.999, 2.5, -3.0])
    np.testing.assert_allclose(prior.penalty().subdiff_distance(np.zeros(6), grads),
                               [0, 0, 0, 0, 0.5, 1.0], atol=1e-15)


@pytest.mark.parametrize("cls", [Laplace, Gaussian])
@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, -math.inf, "2", None, True])
def test_invalid_scale_raises(cls, bad):
    with pytest.raises(ValueError, match="positive finite"):
        cls(bad)


@pytest.mark.parametrize("cls", [Laplace, Gaussian])
@pytest.mark.parametrize("bad", [0.0, -2.0, math.nan])
def test_invalid_lam_raises(cls, bad):
    with pytest.raises(ValueError, match="lam"):
        cls.from_lam(bad)


def test_pymc_distributions_match_scipy():
    import pymc as pm

    for prior, ref in CASES:
        with pm.Model():
            rv = prior.to_pymc("w", shape=len(W))
        logp = pm.logp(rv, W).eval()
        # PyMC folds its normalising constants in single precision (~1e-8 relative).
        np.testing.assert_allclose(logp, ref.logpdf(W), rtol=1e-7)
