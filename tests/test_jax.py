"""``backend="jax"`` on JAX's CPU backend against the numpy backend (:mod:`mapreg.backends.
jax_solver`): coefficients to 1e-8 relative, the same exact zeros, the numpy certificate.
"""

from __future__ import annotations

import numpy as np
import pytest

from mapreg import (
    ElasticNet,
    Gaussian,
    GeneralizedNormal,
    Laplace,
    Model,
    StudentT,
    find_map,
    penalized_fit,
)
from mapreg.solvers import kkt_violation

jax = pytest.importorskip("jax")

N, P = 600, 9


def _data(family, seed=0, n=N, p=P):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    w = np.zeros(p)
    w[:4] = [1.0, -1.5, 0.5, 0.25]
    eta = X @ w + 0.2
    if family == "gaussian":
        y = eta + rng.normal(size=n)
    elif family == "bernoulli":
        y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    else:
        y = rng.poisson(np.exp(0.4 * eta)).astype(float)
    return X, y


def _noise(family):
    return {"noise_sigma": 1.0} if family == "gaussian" else {}


def _check(res_np, res_jax, rtol=1e-8):
    u = np.append(res_np.coef, res_np.intercept)
    v = np.append(res_jax.coef, res_jax.intercept)
    assert res_jax.converged and res_jax.kkt_violation <= res_jax.tol
    assert np.max(np.abs(u - v)) <= rtol * max(1.0, np.max(np.abs(u)))
    assert np.array_equal(res_np.coef == 0.0, res_jax.coef == 0.0)
    assert not np.any(np.signbit(res_jax.coef[res_jax.coef == 0.0]))  # +0.0 only
    assert res_jax.tol == pytest.approx(res_np.tol, rel=1e-12)  # the same tolerance


@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "poisson"])
@pytest.mark.parametrize("prior", [Laplace(b=0.05), Gaussian(sigma=0.4),
                                   ElasticNet(b=0.05, sigma=0.7)],
                         ids=lambda p: type(p).__name__)
def test_jax_map_equals_numpy(family, prior):
    X, y = _data(family)
    model = Model(X, y, prior=prior, family=family, **_noise(family))
    res_np, res = find_map(model), find_map(model, backend="jax")
    _check(res_np, res)
    assert res.solver.startswith("jax-fista(")
    # the certificate is mapreg's numpy one, on the numpy data
    assert res.kkt_violation == kkt_violation(X, y, model.family, prior.penalty(), res.coef,
                                              res.intercept, True)
    assert res.neg_log_posterior == pytest.approx(res_np.neg_log_posterior, rel=1e-10)
    if isinstance(prior, Laplace):
        assert res.n_zeros > 0


@pytest.mark.parametrize("family, penalty, kw", [
    ("gaussian", "l1", {"lam": 30.0}),
    ("bernoulli", "elasticnet", {"lam": 8.0, "lam2": 2.0}),
    ("poisson", "l2", {"lam": 3.0}),
])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_jax_penalized_fit_equals_numpy(family, penalty, kw, fit_intercept):
    X, y = _data(family, seed=1)
    args = dict(penalty=penalty, family=family, fit_intercept=fit_intercept, **kw,
                **_noise(family))
    res_np, res = penalized_fit(X, y, **args), penalized_fit(X, y, backend="jax", **args)
    _check(res_np, res)
    assert res.objective == pytest.approx(res_np.objective, rel=1e-12)
    if not fit_intercept:
        assert res.intercept == 0.0


def test_float32_is_refused():
    X, y = _data("gaussian")
    with pytest.raises(ValueError, match="float64 only, and X is float32"):
        penalized_fit(X.astype(np.float32), y, lam=10.0, noise_sigma=1.0, backend="jax")
    with pytest.raises(ValueError, match="float64 only, and y is float32"):
        find_map(Model(X, y.astype(np.float32), prior=Laplace(b=1.0), noise_sigma=1.0),
                 backend="jax")
    import jax.numpy as jnp

    with pytest.raises(ValueError, match="float64 only, and X is float32"):
        penalized_fit(jnp.asarray(X, dtype=jnp.float32), y, lam=10.0, noise_sigma=1.0,
                      backend="jax")
    # the numpy backend still takes float32 input (converted to float64, as always)
    assert penalized_fit(X.astype(np.float32), y, lam=10.0, noise_sigma=1.0).converged


def test_x64_is_scoped_and_the_kernels_are_float64():
    from mapreg.backends.jax_solver import _kernels, x64

    before = bool(jax.config.jax_enable_x64)
    X, y = _data("bernoulli", seed=2)
    find_map(Model(X, y, prior=Laplace(b=0.1), family="bernoulli"), backend="jax")
    assert bool(jax.config.jax_enable_x64) == before  # the user's setting is untouched
    import jax.numpy as jnp

    with x64():
        v = _kernels()["value"](jnp.asarray(X), jnp.asarray(y), jnp.zeros(P + 1), 1.0,
                                family="bernoulli")
        assert v.dtype == jnp.float64


def test_other_priors_and_backends_are_refused_by_name():
    X, y = _data("gaussian")
    for prior in (StudentT(nu=3.0, s=1.0), GeneralizedNormal(alpha=1.0, p=1.5)):
        with pytest.raises(NotImplementedError, match="backend='numpy'"):
            find_map(Model(X, y, prior=prior, noise_sigma=1.0), backend="jax")
    with pytest.raises(ValueError, match="backend must be one of"):
        find_map(Model(X, y, prior=Laplace(b=1.0), noise_sigma=1.0), backend="torch")


def test_max_iter_zero_certifies_the_start():
    X, y = _data("bernoulli", seed=3)
    model = Model(X, y, prior=Laplace(b=1e-4), family="bernoulli")
    res = find_map(model, backend="jax", max_iter=0)
    assert np.all(res.coef == 0.0) and res.n_iter == 0
    assert res.converged == find_map(model, max_iter=0).converged


@pytest.mark.parametrize("family", ["gaussian", "bernoulli", "poisson"])
@pytest.mark.parametrize("prior", [Laplace(b=0.05), ElasticNet(b=0.05, sigma=0.7)],
                         ids=lambda p: type(p).__name__)
def test_jax_path_equals_numpy_path(family, prior):
    from mapreg import path

    X, y = _data(family, seed=3)
    model = Model(X, y, prior=prior, family=family, **_noise(family))
    ref = path(model, n_lambdas=12)
    got = path(model, n_lambdas=12, backend="jax")
    np.testing.assert_allclose(got.lambdas, ref.lambdas, rtol=1e-14)
    assert got.converged.all()
    scale = max(1.0, float(np.max(np.abs(ref.coef))))
    assert np.max(np.abs(got.coef - ref.coef)) <= 1e-8 * scale
    assert np.max(np.abs(got.intercept - ref.intercept)) <= 1e-8 * scale
    # Same exact zeros, except where the zero is a tie: at lam_max the first coefficient's
    # |dL/dw_j| equals lam (that is what lam_max means), so the last bit of a sum decides
    # whether it is 0 or 1e-13 — allowed only there, and only that small.
    for s, w, v, c in zip(got.scales, got.coef, ref.coef, ref.intercept, strict=True):
        differ = (w == 0.0) != (v == 0.0)
        if differ.any():
            lam = prior.with_scale(s).penalty().quadratic_weights()[0]
            g = X.T @ model.family.dloss(X @ v + c, y)
            assert np.all(np.abs(w[differ] - v[differ]) <= 1e-10 * scale)
            assert np.allclose(np.abs(g[differ]), lam, rtol=1e-9)
    # the device certificate is the numpy formula: recompute it on the host
    for s, w, c, k in zip(got.scales, got.coef, got.intercept, got.kkt_violation, strict=True):
        host = kkt_violation(X, y, model.family, prior.with_scale(s).penalty(), w, c, True)
        assert k == pytest.approx(host, rel=1e-6, abs=1e-12)


def test_jax_find_map_takes_a_warm_start():
    X, y = _data("bernoulli", seed=4)
    model = Model(X, y, prior=Laplace(b=0.05), family="bernoulli")
    cold = find_map(model, backend="jax")
    warm = find_map(model, backend="jax", start=cold.coef)
    _check(cold, warm, rtol=1e-10)
    # FISTA from the mode's coefficients stops within a couple of steps (only the
    # intercept, started at the intercept-only fit, still moves); from zero it needs more.
    def fista_steps(res):
        return int(res.solver.split("(")[1].split(")")[0])

    assert fista_steps(warm) <= 3 < fista_steps(cold)
