"""Exact reference solvers written for the tests, independent of mapreg's code.

The losses and derivatives are written out here again on purpose: a mistake
in mapreg's families or solvers cannot leak into the reference.

* smooth (L2) problems: Newton's method on the full Hessian;
* L1 problems: L-BFGS-B on the split form ``w = u - v, u, v >= 0`` to find the
  support and signs, then Newton on the support with the signs fixed (where
  the objective is smooth), then a check of the KKT conditions off the support.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.special import expit


def loss_derivatives(family: str, eta, y, noise_sigma=None):
    """Total loss, dL/deta and d2L/deta2 for the three families."""
    if family == "gaussian":
        r = y - eta
        s2 = noise_sigma**2
        return float(r @ r) / (2 * s2), -r / s2, np.full_like(eta, 1.0 / s2)
    if family == "bernoulli":
        mu = expit(eta)
        return float(np.sum(np.logaddexp(0, eta) - y * eta)), mu - y, mu * (1 - mu)
    mu = np.exp(eta)
    return float(np.sum(mu - y * eta)), mu - y, mu


def _design(X, fit_intercept):
    return np.hstack([X, np.ones((len(X), 1))]) if fit_intercept else X


def newton_l2(X, y, family, lam, fit_intercept, noise_sigma=None):
    """argmin L(Xw + c) + lam |w|^2 by damped Newton; returns (coef, intercept)."""
    A = _design(X, fit_intercept)
    p = X.shape[1]
    pen = np.full(A.shape[1], lam)
    if fit_intercept:
        pen[-1] = 0.0
    z = np.zeros(A.shape[1])

    def f(z):
        return loss_derivatives(family, A @ z, y, noise_sigma)[0] + float(pen @ z**2)

    for _ in range(100):
        _, d, h = loss_derivatives(family, A @ z, y, noise_sigma)
        g = A.T @ d + 2 * pen * z
        if np.max(np.abs(g)) < 1e-11 * max(1.0, np.max(np.abs(A.T @ y))):
            break
        H = A.T @ (h[:, None] * A) + np.diag(2 * pen)
        step = np.linalg.solve(H, -g)
        t = 1.0
        while f(z + t * step) > f(z) + 1e-4 * t * (g @ step) and t > 1e-10:
            t /= 2
        z = z + t * step
    return z[:p], (float(z[p]) if fit_intercept else 0.0)


def l1_reference(X, y, family, lam, fit_intercept, noise_sigma=None):
    """argmin L(Xw + c) + lam |w|_1; returns (coef with exact zeros, intercept).

    Raises AssertionError if the polished point fails its own KKT check.
    """
    p = X.shape[1]
    k = 1 if fit_intercept else 0

    def split_obj(z):
        u, v = z[:p], z[p:2 * p]
        c = z[2 * p] if fit_intercept else 0.0
        val, d, _ = loss_derivatives(family, X @ (u - v) + c, y, noise_sigma)
        g = X.T @ d
        grad = np.concatenate([g + lam, -g + lam, [d.sum()] if fit_intercept else []])
        return val + lam * float(np.sum(u + v)), grad

    bounds = [(0, None)] * (2 * p) + [(None, None)] * k
    res = optimize.minimize(split_obj, np.zeros(2 * p + k), jac=True, method="L-BFGS-B",
                            bounds=bounds,
                            options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 50_000,
                                     "maxcor": 30})
    w0 = res.x[:p] - res.x[p:2 * p]
    support = np.abs(w0) > 1e-4 * max(1.0, np.max(np.abs(w0)))
    signs = np.sign(w0[support])
    # Newton on the support, where lam |w| = lam * sign * w is linear.
    A = _design(X[:, support], fit_intercept)
    lin = np.concatenate([lam * signs, [0.0] * k])
    z = np.concatenate([w0[support], [res.x[-1]] if fit_intercept else []])

    def f(z):
        return loss_derivatives(family, A @ z, y, noise_sigma)[0] + float(lin @ z)

    for _ in range(100):
        _, d, h = loss_derivatives(family, A @ z, y, noise_sigma)
        g = A.T @ d + lin
        if len(g) == 0 or np.max(np.abs(g)) < 1e-12 * max(1.0, np.max(np.abs(X.T @ y))):
            break
        H = A.T @ (h[:, None] * A)
        step = np.linalg.solve(H, -g)
        t = 1.0
        while f(z + t * step) > f(z) + 1e-4 * t * (g @ step) and t > 1e-10:
            t /= 2
        z = z + t * step
    coef = np.zeros(p)
    coef[support] = z[: support.sum()]
    intercept = float(z[-1]) if fit_intercept else 0.0
    # the reference certifies itself: signs kept, |grad_j| <= lam off the support
    _, d, _ = loss_derivatives(family, X @ coef + intercept, y, noise_sigma)
    g = X.T @ d
    assert np.all(np.sign(coef[support]) == signs), "reference: sign flipped on the support"
    assert np.all(np.abs(g[~support]) <= lam * (1 + 1e-9)), "reference: KKT fails off support"
    return coef, intercept


def assert_quantiles_agree(a, b, var, probs=(0.1, 0.5, 0.9), z=4.5):
    """Two samplers' posterior quantiles of ``var`` agree within ``z`` combined quantile MCSEs."""
    import arviz_stats as azs

    da, db = a["posterior"].to_dataset(), b["posterior"].to_dataset()
    for prob in probs:
        qa = da[var].quantile(prob, dim=("chain", "draw")).values
        qb = db[var].quantile(prob, dim=("chain", "draw")).values
        sa = azs.mcse(da, var_names=[var], method="quantile", prob=prob)[var].values
        sb = azs.mcse(db, var_names=[var], method="quantile", prob=prob)[var].values
        se = np.sqrt(sa**2 + sb**2)
        assert np.all(np.abs(qa - qb) < z * se), (var, prob, qa, qb, se)


def stack_theta(coef, intercept):
    """(chains, draws, k): the coefficients, then the intercept."""
    return np.concatenate([coef, intercept[..., None]], axis=-1)


def assert_means_sds_agree(a, b, z=5.0):
    """Means and sds of every coordinate of two (chain, draw, k) samples within ``z``
    Monte Carlo standard errors, each from both samples' bulk ESS (the sd's MCSE
    ~ sd / sqrt(2 ESS): near-Gaussian draws, kurtosis adds a little)."""
    from mapreg.posterior.diagnostics import ess_bulk  # equal to arviz_stats' (tested)

    flat_a, flat_b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    ess_a, ess_b = ess_bulk(a), ess_bulk(b)
    assert np.all(ess_a > 100), ess_a
    sd_a, sd_b = flat_a.std(0), flat_b.std(0)
    mcse_mean = np.sqrt(sd_a**2 / ess_a + sd_b**2 / ess_b)
    np.testing.assert_array_less(np.abs(flat_a.mean(0) - flat_b.mean(0)), z * mcse_mean)
    mcse_sd = np.sqrt(sd_a**2 / (2 * ess_a) + sd_b**2 / (2 * ess_b))
    np.testing.assert_array_less(np.abs(sd_a - sd_b), z * mcse_sd)


def one_coefficient_logistic():
    """Bernoulli, one feature (40 rows), no intercept, Laplace(1); its posterior by
    ``scipy.integrate``: ``(model, mean, var, cdf)``."""
    from scipy import integrate

    import mapreg

    rng = np.random.default_rng(7)
    x = rng.standard_normal(40)
    y = (rng.random(40) < 1 / (1 + np.exp(-0.8 * x))).astype(float)
    model = mapreg.Model(x[:, None], y, mapreg.Laplace(1.0), family="bernoulli",
                         fit_intercept=False)

    def log_post(w):
        eta = w * x
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)) - abs(w))

    mode = max(np.linspace(-5, 5, 2001), key=log_post)
    c = log_post(mode)

    def dens(w):
        return np.exp(log_post(w) - c)

    lo, hi = mode - 12.0, mode + 12.0
    z = integrate.quad(dens, lo, hi, points=[0.0], limit=200)[0]
    mean = integrate.quad(lambda w: w * dens(w), lo, hi, points=[0.0], limit=200)[0] / z
    var = integrate.quad(lambda w: (w - mean) ** 2 * dens(w), lo, hi, points=[0.0],
                         limit=200)[0] / z

    def cdf(w):
        return np.array([integrate.quad(dens, lo, v, points=[0.0] if lo < 0 < v else None,
                                        limit=200)[0] for v in np.atleast_1d(w)]) / z

    return model, mean, var, cdf


def assert_one_coefficient_agrees(w, mean, var, cdf, min_ess=0.0):
    """Draws ``w`` (chains, draws) against the posterior's mean and sd (5 MCSE from their
    bulk ESS) and its CDF (KS on every 4th draw: near-independent ones)."""
    from scipy import stats

    from mapreg.posterior.diagnostics import ess_bulk

    ess = float(ess_bulk(w[..., None])[0])
    assert ess > min_ess, ess
    assert abs(w.mean() - mean) < 5 * np.sqrt(var / ess)
    assert abs(w.std() - np.sqrt(var)) < 5 * np.sqrt(var / (2 * ess))
    assert stats.kstest(w.ravel()[::4], cdf).pvalue > 1e-3


def gibbs_and_nuts(model, seed: int, *, chains: int = 2, gibbs_draws: int = 2000,
                   gibbs_tune: int = 300, nuts_tune: int = 1000):
    """``model`` sampled by mapreg's Gibbs sampler and by nutpie (1,000 draws a chain), the
    same seed, progress bars off and :class:`~mapreg.exceptions.SamplingWarning` silenced
    (short test runs; the comparison decides)."""
    import warnings

    from mapreg.exceptions import SamplingWarning
    from mapreg.posterior.sample import sample_posterior

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        gibbs = sample_posterior(model, draws=gibbs_draws, tune=gibbs_tune, chains=chains,
                                 sampler="gibbs", random_seed=seed, progressbar=False)
        nuts = sample_posterior(model, draws=1000, tune=nuts_tune, chains=chains,
                                sampler="nutpie", random_seed=seed, progressbar=False)
    return gibbs, nuts


def small_model(**kwargs):
    """A 30 x 3 gaussian model, Laplace(1), noise 1, with ``kwargs`` replacing any of
    ``Model``'s arguments (the refusal tests' starting point)."""
    import mapreg

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.standard_normal(30)
    args = {"X": X, "y": y, "prior": mapreg.Laplace(1.0), "noise_sigma": 1.0, **kwargs}
    return mapreg.Model(**args)


def small_dask_model():
    """:func:`small_model`'s data as dask arrays (chunks of 10 rows)."""
    import dask.array as da

    m = small_model()
    return type(m)(da.from_array(m.X, chunks=10), da.from_array(m.y, chunks=10), m.prior,
                   noise_sigma=1.0)
