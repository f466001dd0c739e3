"""A prior mapreg does not ship, registered from outside: every part of mapreg must take it.

The hyperbolic-secant prior ``p(w) = sech(pi w / (2 s)) / (2 s)`` (scipy's ``hypsecant``
with scale ``2 s / pi``) has ``-log p(w) = log cosh(c w) + log(2 s)``, ``c = pi / (2 s)``:
a smooth, convex penalty that is L2-like near 0 and L1-like in the tails. It is defined
here, in the test, against the public extension points only (``Penalty``, ``Prior``,
``register_prior``) — nothing in ``mapreg/`` knows its name.

Every number is checked against an independent reference written here: scipy.stats for
the density, scipy.optimize for the mode, a grid integral for the posterior mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import arviz_stats as azs
import numpy as np
import pytest
import scipy.optimize
import scipy.stats

import mapreg
from mapreg.penalties import Penalty
from mapreg.priors import PRIORS, Prior, register_prior


def _log_cosh(x):
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2.0 * ax)) - math.log(2.0)


@dataclass(frozen=True)
class LogCosh(Penalty):
    """``sum_j log cosh(c w_j)``: smooth and convex."""

    c: float
    name = "logcosh"
    smooth = True

    @property
    def lam(self) -> float:
        return self.c

    def value(self, w) -> float:
        return float(np.sum(_log_cosh(self.c * np.asarray(w, dtype=float))))

    def grad(self, w):
        return self.c * np.tanh(self.c * np.asarray(w, dtype=float))

    def hess(self, w):
        return self.c**2 / np.cosh(self.c * np.asarray(w, dtype=float)) ** 2

    def prox_1d(self, z, step):
        # x + step c tanh(c x) = z is increasing in x with its root between 0 and z
        z = np.asarray(z, dtype=float)
        out = np.empty_like(z)
        for i, zi in np.ndenumerate(z):
            g = lambda x, zi=zi: x + step * self.c * np.tanh(self.c * x) - zi  # noqa: E731
            out[i] = 0.0 if zi == 0.0 else scipy.optimize.brentq(g, min(0.0, zi), max(0.0, zi),
                                                                 xtol=1e-15)
        return out

    def subdiff_distance(self, w, grad):
        return np.abs(np.asarray(grad, dtype=float) + self.grad(w))


@dataclass(frozen=True)
class HypSecant(Prior):
    """``p(w) = sech(pi w / (2 s)) / (2 s)``."""

    s: float
    name = "hypsecant"
    scale_param = "s"
    scale_symbol = "s"

    def penalty(self) -> LogCosh:
        return LogCosh(math.pi / (2.0 * self.s))

    @property
    def log_normalizer(self) -> float:
        return math.log(2.0 * self.s)

    def logpdf(self, w):
        return -_log_cosh(math.pi / (2.0 * self.s) * np.asarray(w, dtype=float)) - math.log(
            2.0 * self.s)

    def to_pymc(self, name, scale=None, **kwargs):
        import pymc as pm
        import pytensor.tensor as pt

        c, log_z = math.pi / (2.0 * self.s), self.log_normalizer

        def logp(value, *_):
            ax = pt.abs(c * value)
            return -(ax + pt.log1p(pt.exp(-2.0 * ax)) - math.log(2.0)) - log_z

        return pm.CustomDist(name, logp=logp, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def registered():
    register_prior(HypSecant)
    yield
    PRIORS.pop("hypsecant")


def _reference(s):
    return scipy.stats.hypsecant(scale=2.0 * s / math.pi)


def _data(n=60, p=4, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X @ np.array([1.5, -2.0, 0.0, 0.4])[:p] + 0.5 + rng.standard_normal(n)
    return X, y


def test_density_is_scipy_hypsecant():
    w = np.linspace(-30, 30, 41)
    for s in (0.3, 1.0, 4.0):
        np.testing.assert_allclose(HypSecant(s).logpdf(w), _reference(s).logpdf(w), rtol=1e-12,
                                   atol=1e-12)


def _nlp_reference(X, y, s, noise, theta):
    """Negative log posterior from scipy.stats alone (no mapreg)."""
    coef, intercept = theta[:-1], theta[-1]
    eta = X @ coef + intercept
    return -(np.sum(scipy.stats.norm(eta, noise).logpdf(y))
             + np.sum(_reference(s).logpdf(coef)))


@pytest.mark.parametrize("s", [0.2, 1.0])
def test_find_map_and_verify_against_scipy_minimiser(s):
    X, y = _data()
    model = mapreg.Model(X, y, prior=HypSecant(s), noise_sigma=0.8)
    mode = mapreg.find_map(model)
    assert mode.converged and mode.kkt_violation <= 1e-8
    ref = scipy.optimize.minimize(lambda t: _nlp_reference(X, y, s, 0.8, t), np.zeros(5),
                                  method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(np.append(mode.coef, mode.intercept), ref.x, rtol=1e-6,
                               atol=1e-6)
    assert mode.neg_log_posterior == pytest.approx(ref.fun, rel=1e-10)
    report = mapreg.verify_equivalence(model)
    assert report.passed, str(report)
    assert report.max_abs_diff <= 1e-8


def test_nuts_posterior_mean_matches_a_grid_integral():
    # two coefficients, no intercept: the posterior mean by brute-force integration
    X, y = _data(n=20, p=2, seed=5)
    s, noise = 0.5, 1.0
    model = mapreg.Model(X, y, prior=HypSecant(s), noise_sigma=noise, fit_intercept=False)
    from mapreg.posterior.sample import valid_samplers

    assert set(valid_samplers(model)) >= {"nutpie", "pymc"}
    idata = mapreg.sample_posterior(model, draws=500, tune=500, chains=2, sampler="nutpie",
                                    random_seed=1, progressbar=False)
    g = np.linspace(-4, 4, 801)
    W1, W2 = np.meshgrid(g, g, indexing="ij")
    coef = np.stack([W1.ravel(), W2.ravel()], axis=1)
    resid = y[None, :] - coef @ X.T
    logpost = (-0.5 * np.sum(resid**2, axis=1) / noise**2
               + _reference(s).logpdf(coef).sum(axis=1))
    wts = np.exp(logpost - logpost.max())
    mean = (wts @ coef) / wts.sum()
    draws = idata.posterior["coef"].values.reshape(-1, 2)
    ess = azs.ess(idata.posterior.to_dataset(), var_names=["coef"], method="bulk")["coef"].values
    se = draws.std(axis=0) / np.sqrt(ess)
    assert np.all(np.abs(draws.mean(axis=0) - mean) <= 4.5 * se), (draws.mean(axis=0), mean)


def test_cli_knows_the_prior(tmp_path, capsys):
    from mapreg.app.cli import main

    X, y = _data()
    path = tmp_path / "d.csv"
    path.write_text("a,b,c,d,y\n" + "".join(
        ",".join(f"{v:.12g}" for v in (*x, t)) + "\n" for x, t in zip(X, y, strict=True)))
    code = main(["verify", str(path), "--target", "y", "--prior", "hypsecant", "--scale", "1",
                 "--noise", "0.8", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASSED: True" in out
    # the CLI's MAP is the scipy minimiser's
    ref = scipy.optimize.minimize(lambda t: _nlp_reference(X, y, 1.0, 0.8, t), np.zeros(5),
                                  method="BFGS", options={"gtol": 1e-10})
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["a"])
    assert float(row[1]) == pytest.approx(ref.x[0], rel=1e-5)  # MAP column, 6 digits


def test_prior_vs_penalty_draws_it():
    from mapreg import plots

    prior = HypSecant(1.0)
    fig = plots.prior_vs_penalty(priors=[prior])
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid()}
    w, pen = lines["penalty"].get_data()
    c = math.pi / 2.0
    np.testing.assert_allclose(pen, np.log(np.cosh(c * np.asarray(w))), rtol=1e-10, atol=1e-12)
    w2, shifted = lines["neg-logpdf-shifted"].get_data()
    np.testing.assert_allclose(shifted, -_reference(1.0).logpdf(w2) - math.log(2.0), rtol=1e-10,
                               atol=1e-10)
