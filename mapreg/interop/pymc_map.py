"""MAP of arbitrary PyMC models whose free variables have Laplace or Normal priors.

``pymc.find_MAP`` runs L-BFGS on the whole log density, including the kink of
the Laplace density at its centre: it cannot land exactly on zero and often
stops short of the mode. Here the Laplace terms are split off and handled
exactly: the rest of the log density (likelihood, Normal and other smooth
priors, potentials) is compiled once with its gradient and Hessian, and a
proximal Newton method minimises its second-order model plus the exact
Laplace terms by coordinate descent (soft-thresholding towards each Laplace
centre), with a Levenberg-Marquardt shift where the Hessian is not positive
definite and backtracking on the true objective. It stops on the KKT
certificate.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from mapreg.exceptions import ConvergenceWarning
from mapreg.penalties._arith import l1_subdiff_distance
from mapreg.solvers._cd import cd_gram


@dataclass(frozen=True)
class PyMCMAPResult:
    """Mode of a PyMC model.

    Attributes
    ----------
    values : dict[str, ndarray]
        The mode of every free variable, in its own (constrained) space, plus
        deterministics, as ``pymc.find_MAP`` reports them.
    neg_log_posterior : float
        ``-log p`` at the mode without Jacobian terms (the model's ``logp(jacobian=False)``).
    kkt_violation : float
        Largest optimality violation over all free variables (in the space the
        sampler sees, with the Laplace subdifferential at the kinks).
    n_iter : int
    converged : bool
    """

    values: dict
    neg_log_posterior: float
    kkt_violation: float
    tol: float
    n_iter: int
    converged: bool
    solver: str = "prox-newton"

    @property
    def coef(self) -> np.ndarray:
        return np.asarray(self.values["coef"])

    @property
    def intercept(self) -> float:
        return float(self.values.get("intercept", 0.0))


def _laplace_parameters(rv):
    """``(mu, b)`` of a Laplace random variable as arrays; must not depend on other RVs."""
    _rng, _size, mu, b = rv.owner.inputs
    try:
        return np.asarray(mu.eval(), dtype=float), np.asarray(b.eval(), dtype=float)
    except Exception as exc:  # pytensor raises several types for missing inputs
        raise ValueError(
            f"the Laplace prior of {rv.name!r} must have constant mu and b for find_map "
            f"(hierarchical scales have no proximal step): {exc}"
        ) from None


def find_map_pymc(pymc_model, *, tol: float = 1e-9, max_iter: int = 500,
                  start: dict | None = None) -> PyMCMAPResult:
    """Posterior mode of a PyMC model, with exact kinks for Laplace priors.

    Parameters
    ----------
    pymc_model : pymc.Model
    tol : float
        Relative KKT tolerance (times ``max(1, gradient norm at the start)``).
    max_iter : int
    start : dict, optional
        Starting values keyed by value-variable name (default: the model's initial point).
    """
    import pytensor
    from pytensor.tensor.random.basic import LaplaceRV

    model = pymc_model
    value_vars = list(model.value_vars)
    rv_of = {model.rvs_to_values[rv]: rv for rv in model.free_RVs}
    laplace = {}
    for v in value_vars:
        rv = rv_of[v]
        if isinstance(rv.owner.op, LaplaceRV):
            if model.rvs_to_transforms.get(rv) is not None:
                raise ValueError(f"{rv.name!r} has a transform; find_map needs it untransformed")
            laplace[v.name] = _laplace_parameters(rv)
    total = model.logp(jacobian=False)
    kinked = [rv_of[v] for v in value_vars if v.name in laplace]
    smooth = total - (model.logp(vars=kinked, jacobian=False) if kinked else 0.0)
    grads = pytensor.grad(smooth, value_vars)
    # The Laplace terms are piecewise linear: their Hessian is zero wherever it
    # exists, so the Hessian of the whole log density is the smooth part's.
    hess = -model.d2logp(vars=[rv_of[v] for v in value_vars], jacobian=False,
                         negate_output=False)
    f_smooth = pytensor.function(value_vars, [-smooth, *[-g for g in grads], hess],
                                 on_unused_input="ignore")
    f_total = pytensor.function(value_vars, -total, on_unused_input="ignore")
    report = pytensor.function(value_vars, model.unobserved_value_vars, on_unused_input="ignore")

    point = model.initial_point() if start is None else {**model.initial_point(), **start}
    shapes = [np.shape(point[v.name]) for v in value_vars]
    sizes = [int(np.prod(s)) for s in shapes]
    splits = np.cumsum(sizes)[:-1]

    def unpack(x):
        return [np.asarray(part, dtype=v.dtype).reshape(s)
                for part, s, v in zip(np.split(x, splits), shapes, value_vars, strict=True)]

    mu = np.concatenate([np.broadcast_to(laplace[v.name][0], s).ravel() if v.name in laplace
                         else np.zeros(int(np.prod(s))) for v, s in zip(value_vars, shapes,
                                                                         strict=True)])
    inv_b = np.concatenate([np.broadcast_to(1.0 / laplace[v.name][1], s).ravel()
                            if v.name in laplace else np.zeros(int(np.prod(s)))
                            for v, s in zip(value_vars, shapes, strict=True)])

    def fgh(x):
        out = f_smooth(*unpack(x))
        grad = np.concatenate([np.ravel(g) for g in out[1:-1]])
        return float(out[0]), grad, np.asarray(out[-1], dtype=float)

    def objective(x, f_s):
        return f_s + float(inv_b @ np.abs(x - mu))

    def certificate(x, g):
        return float(np.max(l1_subdiff_distance(x - mu, g, inv_b), initial=0.0))

    x = np.concatenate([np.ravel(point[v.name]) for v in value_vars]).astype(float)
    f_x, g_x, H = fgh(x)
    tol_abs = tol * max(1.0, float(np.max(np.abs(g_x))))
    kkt = certificate(x, g_x)
    shift = 0.0
    converged = False
    n_iter = 0
    zeros = np.zeros_like(x)
    for n_iter in range(1, max_iter + 1):
        if kkt <= tol_abs:
            converged = True
            n_iter -= 1
            break
        # Levenberg-Marquardt: shift the Hessian until it is positive definite.
        shift = max(shift / 10.0, 0.0)
        scale = max(1e-12, float(np.max(np.abs(np.diag(H)))))
        while True:
            Q = H + shift * np.eye(len(x))
            try:
                np.linalg.cholesky(Q)
                break
            except np.linalg.LinAlgError:
                shift = max(2.0 * shift, 1e-10 * scale)
        w = x - mu
        G = g_x.copy()
        cd_gram(Q, G, w, inv_b, zeros, max(0.1 * tol_abs, 1e-2 * kkt), 100_000)
        step = (w + mu) - x
        F_x = objective(x, f_x)
        decrease = float(g_x @ step) + float(inv_b @ (np.abs(w) - np.abs(x - mu)))
        t = 1.0
        while t > 1e-12:
            trial = x + t * step
            f_t, g_t, H_t = fgh(trial)
            F_t = objective(trial, f_t)
            noise = 1e-14 * max(1.0, abs(F_x))
            if np.isfinite(F_t) and (F_t <= F_x + 1e-4 * t * decrease
                                     or (abs(F_t - F_x) <= noise and decrease > -noise)):
                break
            t *= 0.5
        else:
            shift = max(10.0 * shift, 1e-6 * scale)  # no progress: trust the model less
            continue
        x, f_x, g_x, H = trial, f_t, g_t, H_t
        kkt = certificate(x, g_x)
    if not converged:

        warnings.warn(
            f"find_map (PyMC model) did not converge: KKT {kkt:.3g} > {tol_abs:.3g} "
            f"after {n_iter} iterations",
            ConvergenceWarning,
            stacklevel=3,
        )
    parts = unpack(x)
    values = {v.name: np.asarray(val) for v, val in
              zip(model.unobserved_value_vars, report(*parts), strict=True)}
    values = {k: v for k, v in values.items() if not k.endswith("__")}
    return PyMCMAPResult(values, float(f_total(*parts)), kkt, tol_abs, n_iter, converged)


def pymc_find_map(model, **kwargs):
    """Run ``pymc.find_MAP`` (L-BFGS) on ``model.to_pymc()``; return ``(coef, intercept)``.

    For showing what a smooth optimiser does with the Laplace kink; not used
    by mapreg's own fits.
    """
    import pymc as pm

    with model.to_pymc():
        point = pm.find_MAP(progressbar=False, **kwargs)
    return np.asarray(point["coef"], dtype=float), float(point.get("intercept", 0.0))


