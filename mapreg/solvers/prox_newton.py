r"""One proximal-Newton method with one line search.

Minimises a composite objective ``F(x) = f(x) + h(x)``: ``f`` smooth, ``h`` a
separable term that the *model step* handles exactly (the Laplace kink, the bridge
``|w|**p``; ``h = 0`` when a smooth penalty is folded into ``f``). Each iteration

1. evaluates ``g = grad f(x)`` and the problem's KKT certificate; stops once it is
   below ``tol`` (and the problem's extra condition, if any, holds);
2. asks the problem for a model step ``s``: (approximately, to ``inner_tol``) the
   minimiser of ``g's + 1/2 s'H s + h(x + s) - h(x)`` for a positive (semi)definite
   ``H`` — coordinate descent on the Gram matrix or the residual, the bridge kernel, a
   dense Newton solve, a majorise-minimise step;
3. backtracks (Armijo) on the true objective along ``s`` with the composite decrease
   ``D = g's + h(x + s) - h(x)``: ``t = 1, 1/2, ...`` until
   ``F(x + t s) <= F(x) + 1e-4 t D``. A step whose change is below the floating-point
   resolution of ``F`` is accepted too (near the optimum ``F`` cannot resolve the
   decrease any more, while the certificate still improves).

Every path that is not an exact solve runs through :func:`prox_newton`: the GLM MAP
(:mod:`mapreg.solvers.glm`), the bridge (:mod:`mapreg.solvers.bridge`), the smooth and
majorise-minimise paths (:mod:`mapreg.solvers.mm`) and the MAP of a user's PyMC model
(:mod:`mapreg.interop.pymc_map`). They differ only in the *problem* they hand over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

#: Armijo constant: the accepted step achieves this fraction of the model decrease.
ARMIJO = 1e-4
#: Backtracking gives up below this step length.
MIN_STEP = 1e-12
#: Relative floating-point resolution of the objective (see the module docstring).
RESOLUTION = 1e-14
#: The model step is solved to ``max(0.1 tol, INNER * kkt)``: loosely far from the
#: optimum, tightly near it (the outer convergence stays superlinear).
INNER = 1e-2


class CompositeProblem:
    """What :func:`prox_newton` asks of a problem (subclass it and fill in the methods).

    Required: :meth:`objective`, :meth:`gradient`, :meth:`certificate`,
    :meth:`newton_step` and, when ``h`` is not zero, :meth:`penalty_value`. Optional:
    :meth:`certified` (a condition beyond the first-order one), :meth:`decrease` (when a
    step treats ``h`` as smooth), :meth:`trial_point` (the backtracking path),
    :meth:`damp` (what to do when the line search fails) and :attr:`exact`.
    """

    #: The model is the objective (quadratic ``f``, quadratic ``h``): the first accepted
    #: full step is the minimiser, and the loop stops there.
    exact: bool = False

    def objective(self, x) -> float:
        """``F(x) = f(x) + h(x)``, the true objective."""
        raise NotImplementedError

    def gradient(self, x) -> np.ndarray:
        """``grad f(x)``, the smooth part only."""
        raise NotImplementedError

    def certificate(self, x, grad) -> float:
        """KKT violation at ``x`` (``grad`` is :meth:`gradient` there); 0 at a solution."""
        raise NotImplementedError

    def certified(self, x, grad) -> bool:
        """What a small :meth:`certificate` does not say, if anything (default ``True``).

        The bridge with ``p < 1``: the first-order conditions hold at every zero.
        """
        return True

    def penalty_value(self, x) -> float:
        """``h(x)``: the part of :meth:`objective` that :meth:`gradient` leaves out."""
        return 0.0

    def newton_step(self, x, grad, inner_tol) -> np.ndarray | None:
        """The model step ``s`` (see the module docstring), or ``None`` if there is none."""
        raise NotImplementedError

    def decrease(self, x, grad, step) -> float:
        """The decrease the model predicts for ``step``, which Armijo asks a fraction of.

        Default: ``g's + h(x + s) - h(x)``, with ``h`` exact (a proximal step). A problem
        whose step treats ``h`` as smooth (Newton where ``h`` is differentiable) returns
        the directional derivative ``(g + grad h(x))'s`` instead.
        """
        return float(grad @ step) + self.penalty_value(x + step) - self.penalty_value(x)

    def trial_point(self, x, step, t) -> np.ndarray:
        """The point tried at step length ``t`` (default ``x + t step``)."""
        return x + t * step

    def damp(self) -> bool:
        """The line search failed: make the model more conservative and return ``True``
        to try again from the same point, or return ``False`` to stop (the default)."""
        return False


@dataclass(frozen=True)
class ProxNewtonResult:
    x: np.ndarray
    #: the certificate at ``x``
    kkt: float
    #: iterations that took (or tried) a step
    n_iter: int
    converged: bool


def prox_newton(problem: CompositeProblem, x0, *, tol: float, max_iter: int) -> ProxNewtonResult:
    """Minimise ``problem.objective`` from ``x0`` until ``problem.certificate <= tol``.

    Stops after ``max_iter`` iterations (``max_iter = 0`` certifies ``x0`` as it
    stands), when the problem has no model step, or when the line search fails and
    the problem declines to :meth:`~CompositeProblem.damp`. The certificate of the
    returned point is always recomputed at that point.
    """
    x = np.array(x0, dtype=float)
    f_x = problem.objective(x)
    kkt = math.inf
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        grad = problem.gradient(x)
        kkt = problem.certificate(x, grad)
        if kkt <= tol and problem.certified(x, grad):
            converged = True
            n_iter -= 1
            break
        step = problem.newton_step(x, grad, max(0.1 * tol, INNER * kkt))
        if step is None:
            break
        found = line_search(problem, x, f_x, grad, step)
        if found is None:
            if problem.damp():
                continue
            break
        x, f_x, t = found
        if problem.exact and t == 1.0:
            break
    if not converged:
        grad = problem.gradient(x)
        kkt = problem.certificate(x, grad)
        converged = kkt <= tol and problem.certified(x, grad)
    return ProxNewtonResult(x, float(kkt), n_iter, bool(converged))


def line_search(problem: CompositeProblem, x, f_x, grad, step):
    """Armijo backtracking on the composite decrease; ``(x_new, F(x_new), t)`` or ``None``."""
    decrease = problem.decrease(x, grad, step)
    noise = RESOLUTION * max(1.0, abs(f_x))
    t = 1.0
    while t > MIN_STEP:
        trial = problem.trial_point(x, step, t)
        f_t = problem.objective(trial)
        if math.isfinite(f_t) and (f_t <= f_x + ARMIJO * t * decrease
                                   or (abs(f_t - f_x) <= noise and decrease > -noise)):
            return trial, f_t, t
        t *= 0.5
    return None


def newton_direction(H, grad):
    """``-H^-1 grad`` by Cholesky, or ``None`` if ``H`` is not positive definite."""
    try:
        L = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return None
    return scipy.linalg.cho_solve((L, True), -grad)


def levenberg_marquardt(H, shift: float):
    """``(H + shift I, its Cholesky factor, shift, scale)`` with ``H + shift I`` positive definite.

    Starts from a tenth of the previous ``shift`` (0 if ``H`` is positive definite)
    and doubles it, from ``1e-10`` of the largest diagonal entry, until the Cholesky
    factorisation succeeds. ``scale`` (that largest entry) sizes later shifts.
    """
    if not np.all(np.isfinite(H)):
        raise FloatingPointError("the Hessian has non-finite entries: no Newton model here")
    shift = max(shift / 10.0, 0.0)
    scale = max(1e-12, float(np.max(np.abs(np.diag(H)), initial=0.0)))
    eye = np.eye(len(H))
    while True:
        Q = H + shift * eye
        try:
            return Q, np.linalg.cholesky(Q), shift, scale
        except np.linalg.LinAlgError:
            shift = max(2.0 * shift, 1e-10 * scale)
