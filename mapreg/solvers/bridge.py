r"""The bridge path: ``L(X w + c) + lam sum_j |w_j|**p`` with ``0 < p < 2``, ``p != 1``.

Proximal Newton (:func:`~mapreg.solvers.prox_newton.prox_newton`) on
:class:`BridgeProblem`, whose model step is one of two:

* **coordinate descent** on the local quadratic model ``[X, 1]' H [X, 1]`` plus the
  exact bridge term, every coordinate moving to the *global* minimiser of its 1-D
  problem (a safeguarded Newton root, :func:`~mapreg.penalties._bridge.
  bridge_prox_scalar`). This step finds the support and the signs. For ``p < 1`` the
  1-D problem is non-convex (0 or the larger stationary point wins), so coordinate
  descent is a descent method that ends in a coordinate-wise minimum;
* **Newton on the support**, where the objective is smooth (the Hessian of the loss
  plus the bridge's own curvature ``lam p (p-1) |w|**(p-2)``), shortened to keep every
  sign. It converges quadratically where coordinate descent would crawl.

After a coordinate-descent step, Newton steps follow while the gradient on the
support exceeds ``POLISH * tol`` and keeps falling; a Newton step that had to be
shortened, stalled or was rejected hands over to coordinate descent again.

For ``p < 1`` the first-order conditions hold at every zero, so the fit is certified
only when, in addition, no exact 1-D step would change a zero or a sign
(:meth:`BridgeProblem.certified`). Such results are local minimisers
(``convex=False``) with the second-order certificate ``min_curvature``
(:func:`mapreg.solvers.kkt.min_curvature`).
"""

from __future__ import annotations

import math

import numpy as np

from mapreg.results import FitResult
from mapreg.solvers.glm import MAX_SWEEPS, GLMProblem
from mapreg.solvers.kernels import bridge_support_moves, cd_gram_bridge
from mapreg.solvers.kkt import augment, kkt_violation, min_curvature
from mapreg.solvers.prox_newton import newton_direction, prox_newton

#: Newton on the support runs until the conditions there hold to ``POLISH * tol``.
POLISH = 1e-2


class BridgeProblem(GLMProblem):
    """``f = L(X w + c)``, ``h = lam sum |w_j|**p``; model step: support Newton, or bridge CD.

    ``tol`` is the absolute tolerance of the fit (Newton on the support stops at
    ``POLISH * tol``; see the module docstring for the choice between the two steps).
    """

    def __init__(self, X, y, family, term, objective, fit_intercept, *, tol):
        super().__init__(X, y, family, term, objective, fit_intercept)
        self.lam, self.pexp, self.tol = float(term.lam), float(term.p), tol
        self.lam_vec = np.full(self.p + self.fit_intercept, self.lam)
        if self.fit_intercept:
            self.lam_vec[self.p] = 0.0  # the intercept is not penalised
        self.Xa = augment(X, self.fit_intercept)
        self.X2 = X**2 if self.pexp < 1.0 else None
        self._newton = self._cd_next = False
        self._size = math.inf

    def certified(self, x, grad):
        """For ``p < 1``: no exact 1-D step would change a zero or a sign
        (:func:`~mapreg.solvers.kernels.bridge_support_moves`); the first-order conditions
        hold at every zero, so they cannot tell."""
        if self.pexp >= 1.0:
            return True
        a = self.X2.T @ self.curvature()  # the diagonal of X' H X
        return not bridge_support_moves(x[: self.p], grad[: self.p], a, self.lam, self.pexp)

    def newton_step(self, x, grad, inner_tol):
        idx = self._support(x)
        k = idx.size - self.fit_intercept  # the coefficients among idx
        g = grad[idx].copy()  # the gradient of the objective on the support
        g[:k] += self.term.grad(x[: self.p])[idx[:k]]
        size = float(np.max(np.abs(g), initial=0.0))
        # Newton while needed and making progress on the support (``size`` falls); after a
        # stalled, shortened or rejected Newton step, one coordinate-descent step
        stalled = self._newton and size >= self._size
        self._newton = idx.size > 0 and size > POLISH * self.tol and not (
            stalled or self._cd_next)
        self._cd_next, self._size = False, size
        if self._newton:
            step = self._support_newton(x, idx, g)
            if step is not None:
                return step
            self._newton = False
        h = self.curvature()
        Q = self.Xa.T @ (h[:, None] * self.Xa)
        w = x.copy()
        cd_gram_bridge(Q, grad.copy(), w, self.lam_vec, self.pexp, inner_tol, MAX_SWEEPS)
        return w - x

    def decrease(self, x, grad, step):
        if not self._newton:
            return super().decrease(x, grad, step)
        # Newton on the support treats h as smooth there: its directional derivative
        return float(grad @ step) + float(self.term.grad(x[: self.p]) @ step[: self.p])

    def damp(self):
        """A rejected Newton step: take a coordinate-descent step instead. Else stop."""
        self._cd_next = self._newton
        return self._newton

    def _support(self, x):
        """Indices of the non-zeros of ``x`` (and the intercept), where ``h`` is smooth."""
        support = np.flatnonzero(x[: self.p])
        return np.append(support, self.p) if self.fit_intercept else support

    def _support_newton(self, x, idx, g):
        """Newton step on ``idx`` (gradient ``g`` there), shortened to keep every sign;
        ``None`` if the Hessian there is not positive definite."""
        Xs = self.Xa[:, idx]
        H = Xs.T @ (self.curvature()[:, None] * Xs)
        k = idx.size - self.fit_intercept  # the coefficients among idx
        H[np.arange(k), np.arange(k)] += self.term.hess(x[: self.p])[idx[:k]]
        s = newton_direction(H, g)
        if s is None:
            return None  # not positive definite on the support (p < 1, far from a mode)
        # h is smooth only inside the orthant of x: halve the step until it stays there
        # (no objective evaluations: not a line search) and leave the sign change to the
        # next, coordinate-descent step
        w = x[idx[:k]]
        while np.any(np.sign(w + s[:k]) != np.sign(w)):
            s = 0.5 * s
            self._cd_next = True
        step = np.zeros_like(x)
        step[idx] = s
        return step

    def trial_point(self, x, step, t):
        trial = x + t * step
        if t < 1.0:  # exact zeros of the model step survive a partial step too
            trial[: self.p][x[: self.p] + step[: self.p] == 0.0] = 0.0
        return trial


def solve_bridge(X, y, family, term, objective, *, fit_intercept, tol, max_iter, start=None):
    """Minimise ``L(X w + c) + lam sum |w_j|**p`` from ``start`` (default zeros)."""
    problem = BridgeProblem(X, y, family, term, objective, fit_intercept, tol=tol)
    out = prox_newton(problem, problem.initial_point(start), tol=tol, max_iter=max_iter)
    coef, intercept = problem.split(out.x)
    kkt = kkt_violation(X, y, family, term, coef, intercept, fit_intercept)
    converged = out.converged  # first order, and for p < 1 every 1-D step stays put
    curv = np.nan
    if problem.pexp < 1.0:
        curv = min_curvature(X, y, family, term, coef, intercept, fit_intercept)
        converged = converged and curv > 0.0
    return FitResult(coef, intercept, kkt, tol, out.n_iter, bool(converged),
                     "bridge-prox-newton-cd+newton", convex=problem.pexp >= 1.0,
                     min_curvature=curv)
