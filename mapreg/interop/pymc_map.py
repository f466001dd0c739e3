"""MAP of arbitrary PyMC models whose free variables have Laplace or Normal priors.

``pymc.find_MAP`` runs L-BFGS on the whole log density, including the kink of
the Laplace density at its centre: it cannot land exactly on zero and often
stops short of the mode. Here the Laplace terms are split off and handled
exactly: the rest of the log density (likelihood, Normal and other smooth
priors, potentials) is compiled once with its gradient and Hessian, and the
proximal Newton method of :mod:`mapreg.solvers.prox_newton` minimises it plus
the exact Laplace terms: each model step is coordinate descent on its
second-order model (soft-thresholding towards each Laplace centre), with a
Levenberg-Marquardt shift where the Hessian is not positive definite, and the
line search backtracks on the true objective. It stops on the KKT certificate.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from mapreg.exceptions import ConvergenceWarning
from mapreg.penalties._arith import l1_subdiff_distance
from mapreg.solvers.glm import MAX_SWEEPS
from mapreg.solvers.kernels import cd_gram
from mapreg.solvers.prox_newton import CompositeProblem, levenberg_marquardt, prox_newton


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


class _PyMCProblem(CompositeProblem):
    """``f`` = the smooth part of ``-log p`` (compiled), ``h = sum_k |x_k - mu_k| / b_k``.

    The model step is coordinate descent (soft-thresholding towards each Laplace
    centre) on the Hessian of ``f``, shifted (Levenberg-Marquardt) until it is positive
    definite; a failed line search raises the shift and tries again.
    """

    def __init__(self, fgh, mu, inv_b):
        self._fgh, self.mu, self.inv_b = fgh, mu, inv_b
        self._at = None
        self.shift, self.scale = 0.0, 1.0

    def _eval(self, x):
        """``(f, grad f, hess f)`` at ``x``, from one compiled call (kept for the next ask)."""
        if self._at is None or not np.array_equal(self._at[0], x):
            self._at = (x.copy(), *self._fgh(x))
        return self._at[1:]

    def objective(self, x):
        return self._eval(x)[0] + self.penalty_value(x)

    def gradient(self, x):
        return self._eval(x)[1]

    def certificate(self, x, grad):
        return float(np.max(l1_subdiff_distance(x - self.mu, grad, self.inv_b), initial=0.0))

    def penalty_value(self, x):
        return float(self.inv_b @ np.abs(x - self.mu))

    def newton_step(self, x, grad, inner_tol):
        Q, _, self.shift, self.scale = levenberg_marquardt(self._eval(x)[2], self.shift)
        w = x - self.mu
        cd_gram(Q, grad.copy(), w, self.inv_b, np.zeros_like(x), inner_tol, MAX_SWEEPS)
        return (w + self.mu) - x

    def damp(self):
        self.shift = max(10.0 * self.shift, 1e-6 * self.scale)  # trust the model less
        return True


def _compile(model):
    """``(fgh, f_total, report, value_vars, laplace)`` of a PyMC model (see find_map_pymc)."""
    import pytensor
    from pytensor.tensor.random.basic import LaplaceRV

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
    return f_smooth, f_total, report, value_vars, laplace


def find_map_pymc(pymc_model, *, tol: float = 1e-9, max_iter: int = 500,
                  start: dict | None = None) -> PyMCMAPResult:
    """Posterior mode of a PyMC model, with exact kinks for Laplace priors.

    Proximal Newton (:func:`mapreg.solvers.prox_newton.prox_newton`) on the compiled
    smooth part of ``-log p`` plus the exact Laplace terms.

    Parameters
    ----------
    pymc_model : pymc.Model
    tol : float
        Relative KKT tolerance (times ``max(1, gradient norm at the start)``).
    max_iter : int
        Proximal-Newton iterations (``0``: the start, certified as it stands).
    start : dict, optional
        Starting values keyed by value-variable name (default: the model's initial point).
    """
    model = pymc_model
    f_smooth, f_total, report, value_vars, laplace = _compile(model)
    point = model.initial_point() if start is None else {**model.initial_point(), **start}
    shapes = [np.shape(point[v.name]) for v in value_vars]
    splits = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]

    def unpack(x):
        return [np.asarray(part, dtype=v.dtype).reshape(s)
                for part, s, v in zip(np.split(x, splits), shapes, value_vars, strict=True)]

    def per_entry(values, default):
        return np.concatenate([np.broadcast_to(values[v.name], s).ravel() if v.name in values
                               else np.full(int(np.prod(s)), default)
                               for v, s in zip(value_vars, shapes, strict=True)])

    def fgh(x):
        out = f_smooth(*unpack(x))
        grad = np.concatenate([np.ravel(g) for g in out[1:-1]])
        return float(out[0]), grad, np.asarray(out[-1], dtype=float)

    mu = per_entry({k: m for k, (m, _) in laplace.items()}, 0.0)
    inv_b = per_entry({k: 1.0 / b for k, (_, b) in laplace.items()}, 0.0)
    problem = _PyMCProblem(fgh, mu, inv_b)
    x = np.concatenate([np.ravel(point[v.name]) for v in value_vars]).astype(float)
    tol_abs = tol * max(1.0, float(np.max(np.abs(problem.gradient(x)))))
    out = prox_newton(problem, x, tol=tol_abs, max_iter=max_iter)
    if not out.converged:
        warnings.warn(
            f"find_map (PyMC model) did not converge: KKT {out.kkt:.3g} > {tol_abs:.3g} "
            f"after {out.n_iter} iterations",
            ConvergenceWarning,
            stacklevel=3,
        )
    parts = unpack(out.x)
    values = {v.name: np.asarray(val) for v, val in
              zip(model.unobserved_value_vars, report(*parts), strict=True)}
    values = {k: v for k, v in values.items() if not k.endswith("__")}
    return PyMCMAPResult(values, float(f_total(*parts)), out.kkt, tol_abs, out.n_iter,
                         out.converged)


def pymc_find_map(model, **kwargs):
    """Run ``pymc.find_MAP`` (L-BFGS) on ``model.to_pymc()``; return ``(coef, intercept)``.

    For showing what a smooth optimiser does with the Laplace kink; not used
    by mapreg's own fits.
    """
    import pymc as pm

    with model.to_pymc():
        point = pm.find_MAP(progressbar=False, **kwargs)
    return np.asarray(point["coef"], dtype=float), float(point.get("intercept", 0.0))


