r"""Smooth terms without a quadratic form: Newton, and majorise-minimise where it is non-convex.

Both paths run :func:`~mapreg.solvers.prox_newton.prox_newton` on a
:class:`SmoothProblem`: the term is smooth, so it is folded into the smooth part
(``h = 0``) and the model step is a plain Newton step on the loss plus the term's
``grad``/``hess``.

* **smooth** (:func:`solve_smooth`) — a smooth penalty that is convex, or non-convex
  without a majoriser (say a user's ``log cosh``): damped Newton, with a
  Levenberg-Marquardt shift wherever the Hessian is not positive definite.
* **mm** (:func:`solve_mm`) — a smooth non-convex term with a quadratic majoriser
  ``c_j(w_k) w_j**2`` tight at ``w_k`` (``term.majorizer_weights``; the Student-t
  prior's ``log(1 + w**2/delta)``). Far from a mode the model step is an MM step:
  the minimiser of the loss plus the majoriser, a weighted ridge problem, itself solved
  by :func:`prox_newton` (one exact step for the Gaussian family). MM never increases
  the objective, so the iterates stay in the start's basin. Once the gradient is below
  ``1e-3`` of its initial size the model step is the Newton step, wherever the Hessian
  is positive definite and the step is accepted; an MM step otherwise.

Results of non-convex terms are local minimisers (``convex=False``) certified by
``min_curvature > 0`` (:func:`mapreg.solvers.kkt.min_curvature`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from mapreg.results import FitResult
from mapreg.solvers.glm import GLMProblem
from mapreg.solvers.kkt import augment, kkt_violation, min_curvature
from mapreg.solvers.prox_newton import levenberg_marquardt, newton_direction, prox_newton

#: MM steps converge linearly: the mm path allows this many times ``max_iter`` steps.
MM_ITER_FACTOR = 50


class SmoothProblem(GLMProblem):
    """``f = L(X w + c) + term(w)`` (``h = 0``): the model step is a Newton step.

    ``exact``: the loss and the term are quadratic, so one Newton step is the answer.
    ``damped``: shift a Hessian that is not positive definite (Levenberg-Marquardt)
    rather than give up.
    """

    def __init__(self, X, y, family, term, objective, fit_intercept, *, exact=False,
                 damped=True, Xa=None):
        super().__init__(X, y, family, term, objective, fit_intercept)
        self.Xa = augment(X, self.fit_intercept) if Xa is None else Xa
        self.exact, self.damped = exact, damped
        self.shift, self.scale = 0.0, 1.0

    def gradient(self, x):
        grad = super().gradient(x)
        grad[: self.p] += self.term.grad(x[: self.p])
        return grad

    def certificate(self, x, grad):
        return float(np.max(np.abs(grad), initial=0.0))

    def penalty_value(self, x):
        return 0.0  # folded into f

    def hessian(self, x):
        H = self.Xa.T @ (self.curvature()[:, None] * self.Xa)
        H[np.arange(self.p), np.arange(self.p)] += self.term.hess(x[: self.p])
        return H

    def newton_step(self, x, grad, inner_tol):
        H = self.hessian(x)
        if self.damped:
            _, L, self.shift, self.scale = levenberg_marquardt(H, self.shift)
            return scipy.linalg.cho_solve((L, True), -grad)
        return newton_direction(H, grad)

    def damp(self):
        if not self.damped:
            return False
        self.shift = max(10.0 * self.shift, 1e-6 * self.scale)  # trust the model less
        return True


class _WeightedSquares:
    """``sum_j c_j w_j**2``: the quadratic majoriser of an MM step (a smooth term)."""

    def __init__(self, weights):
        self.weights = weights

    def value(self, w):
        return float(self.weights @ np.asarray(w) ** 2)

    def grad(self, w):
        return 2.0 * self.weights * w

    def hess(self, w):
        return 2.0 * self.weights


class MMProblem(SmoothProblem):
    """Model step: an MM step (a weighted ridge fit), or Newton once the gradient is small."""

    def __init__(self, X, y, family, term, objective, fit_intercept, *, tol):
        super().__init__(X, y, family, term, objective, fit_intercept, damped=False)
        #: Newton steps are tried once the certificate is below ``switch``
        self.tol, self.switch = tol, tol
        self.mm_steps = 0
        self._newton = self._refused = False

    def newton_step(self, x, grad, inner_tol):
        self._newton = self.certificate(x, grad) <= self.switch and not self._refused
        self._refused = False
        if self._newton:
            step = super().newton_step(x, grad, inner_tol)
            if step is not None:
                return step
            self._newton = False
        self.mm_steps += 1
        return self._mm_step(x)

    def damp(self):
        """A rejected Newton step: take an MM step instead. A rejected MM step: stop."""
        self._refused = self._newton
        return self._newton

    def _mm_step(self, x):
        coef, _ = self.split(x)
        squares = _WeightedSquares(self.term.majorizer_weights(coef))
        X, y, family = self.X, self.y, self.family

        def surrogate(w, c):
            return family.loss(X @ w + c, y) + squares.value(w)

        ridge = SmoothProblem(X, y, family, squares, surrogate, self.fit_intercept,
                              exact=family.is_quadratic, damped=False, Xa=self.Xa)
        return prox_newton(ridge, x, tol=1e-3 * self.tol, max_iter=100).x - x


def _local_result(X, y, family, term, out, problem, tol, solver):
    coef, intercept = problem.split(out.x)
    kkt = kkt_violation(X, y, family, term, coef, intercept, problem.fit_intercept)
    convex = bool(term.convex)
    curv = np.nan if convex else min_curvature(X, y, family, term, coef, intercept,
                                               problem.fit_intercept)
    converged = bool(kkt <= tol and (convex or curv > 0.0))
    return FitResult(coef, intercept, kkt, tol, out.n_iter, converged, solver, convex=convex,
                     min_curvature=curv)


def solve_mm(X, y, family, term, objective, *, fit_intercept, tol, max_iter, start=None):
    """Local minimiser of ``L(X w + c) + term(w)`` from ``start`` (default 0): MM, then Newton."""
    problem = MMProblem(X, y, family, term, objective, fit_intercept, tol=tol)
    x0 = problem.initial_point(start)
    problem.switch = max(tol, 1e-3 * problem.certificate(x0, problem.gradient(x0)))
    out = prox_newton(problem, x0, tol=tol, max_iter=MM_ITER_FACTOR * max_iter)
    return _local_result(X, y, family, term, out, problem, tol,
                         f"mm-weighted-ridge({problem.mm_steps})+newton")


def solve_smooth(X, y, family, term, objective, *, fit_intercept, tol, max_iter, start=None):
    """Minimise ``L(X w + c) + sum_j pen(w_j)`` for a smooth penalty by damped Newton.

    Convex penalties give the global minimiser (``start`` is then only where Newton
    begins); otherwise ``min_curvature`` certifies a local one.
    """
    problem = SmoothProblem(X, y, family, term, objective, fit_intercept)
    out = prox_newton(problem, problem.initial_point(start), tol=tol, max_iter=max_iter)
    return _local_result(X, y, family, term, out, problem, tol, "prox-newton-smooth")
