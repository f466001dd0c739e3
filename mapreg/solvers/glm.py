r"""The GLM problem ``L(X w + c) + term(w)`` for :func:`~mapreg.solvers.prox_newton.prox_newton`.

:class:`GLMProblem` holds what every X-based path shares: the variables
``x = (w, c)`` (``c`` only when the intercept is fitted), the objective as the
caller defines it, the loss gradient ``[X, 1]' dL/deta`` and the KKT certificate of
the term. The inner solve (the model step) is what differs:

* :class:`CDProblem` (this module): a term ``a |w| + c w**2`` — coordinate descent on
  the local quadratic model plus the exact term (:mod:`mapreg.solvers.kernels`), on
  the augmented Gram matrix ``[X, 1]' H [X, 1]`` when ``n >= p``, on the residual
  otherwise; for a pure ridge term with ``p > n`` the model is solved exactly through
  an ``n x n`` system instead. This is the MAP of Bernoulli and Poisson models under
  Laplace, Gaussian and elastic-net priors (:func:`solve_prox_newton`).
* :class:`~mapreg.solvers.bridge.BridgeProblem`: the bridge kernel, then Newton on the
  support.
* :class:`~mapreg.solvers.mm.SmoothProblem`: a smooth term folded into ``f``, a
  dense Newton step (majorise-minimise steps where that is not a descent method).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from mapreg.results import FitResult
from mapreg.solvers.kernels import cd_gram, cd_residual
from mapreg.solvers.kkt import augment
from mapreg.solvers.prox_newton import CompositeProblem, prox_newton

# Coordinate descent makes at most this many sweeps per inner solve.
MAX_SWEEPS = 100_000


class GLMProblem(CompositeProblem):
    """``objective(w, c)`` with ``f = L(X w + c)`` and ``h = term(w)``, over ``x = (w, c)``."""

    def __init__(self, X, y, family, term, objective, fit_intercept):
        self.X, self.y, self.family, self.term = X, y, family, term
        self.fit_intercept = bool(fit_intercept)
        self.p = X.shape[1]
        self._objective = objective
        self._eta = self._d = None

    # -- variables
    def split(self, x):
        """``(coef, intercept)`` of ``x`` (a copy of the coefficients)."""
        return x[: self.p].copy(), (float(x[self.p]) if self.fit_intercept else 0.0)

    def join(self, coef, intercept):
        return np.append(coef, intercept) if self.fit_intercept else np.array(coef, dtype=float)

    def initial_point(self, start=None):
        """``start`` (default zeros) and a starting intercept: the mean residual for the
        Gaussian family, the intercept-only fit otherwise."""
        coef = np.zeros(self.p) if start is None else np.array(start, dtype=float)
        if not self.fit_intercept:
            return self.join(coef, 0.0)
        if self.family.is_quadratic:
            return self.join(coef, float(np.mean(self.y - self.X @ coef)))
        return self.join(coef, self.family.initial_intercept(self.y))

    # -- the protocol
    def objective(self, x):
        return self._objective(x[: self.p], float(x[self.p]) if self.fit_intercept else 0.0)

    def gradient(self, x):
        """``[X, 1]' dL/deta``; keeps ``eta`` and ``dL/deta`` for the model step."""
        coef = x[: self.p]
        eta = self.X @ coef + (x[self.p] if self.fit_intercept else 0.0)
        d = self.family.dloss(eta, self.y)
        self._eta, self._d = eta, d
        grad = self.X.T @ d
        return np.append(grad, d.sum()) if self.fit_intercept else grad

    def certificate(self, x, grad):
        p = self.p
        kkt = float(np.max(self.term.subdiff_distance(x[:p], grad[:p]), initial=0.0))
        if self.fit_intercept:
            kkt = max(kkt, abs(float(grad[p])))
        return kkt

    def penalty_value(self, x):
        return self.term.value(x[: self.p])

    def curvature(self):
        """``d2L/deta2`` at the point of the last :meth:`gradient` (the IRLS weights)."""
        return self.family.d2loss(self._eta, self.y)


class CDProblem(GLMProblem):
    """A term ``a |w| + c w**2``: the model step is coordinate descent (numba kernels)."""

    def __init__(self, X, y, family, term, objective, fit_intercept):
        super().__init__(X, y, family, term, objective, fit_intercept)
        n, p = X.shape
        a, c = term.quadratic_weights()
        self.l1, self.l2 = np.full(p, float(a)), np.full(p, float(c))
        self.use_gram = n >= p
        # a pure ridge term with p > n: the model step is one n x n solve (see _dual_step)
        self.use_dual = not self.use_gram and not self.l1.any() and self.l2[0] > 0.0
        if self.use_dual:
            self.K = X @ X.T
        elif self.use_gram:
            self.Xa = augment(X, self.fit_intercept)
            self.l1a = np.append(self.l1, 0.0) if self.fit_intercept else self.l1
            self.l2a = np.append(self.l2, 0.0) if self.fit_intercept else self.l2
        else:
            self.XF = np.asfortranarray(X)

    @property
    def name(self) -> str:
        if self.use_dual:
            return "prox-newton-dual"
        return "prox-newton-gram" if self.use_gram else "prox-newton-residual"

    def newton_step(self, x, grad, inner_tol):
        h = self.curvature()
        if self.use_dual:
            return self._dual_step(x, grad, h)
        if self.use_gram:
            Q = self.Xa.T @ (h[:, None] * self.Xa)
            w = x.copy()
            cd_gram(Q, grad.copy(), w, self.l1a, self.l2a, inner_tol, MAX_SWEEPS)
            return w - x
        coef, c = self.split(x)
        c = np.array([c])
        cd_residual(self.XF, h, self._d.copy(), coef, c, self.fit_intercept, self.l1, self.l2,
                    inner_tol, MAX_SWEEPS)
        return self.join(coef, c[0]) - x


    def _dual_step(self, x, grad, h):
        """The exact model step of ``L + c |w|**2`` when ``p > n``, through an n x n system.

        The step ``(b, d)`` (coefficients, intercept) solves ``A b + u d = -r``,
        ``u'b + sigma d = -g_c`` with ``A = Z'Z + 2c I``, ``Z = sqrt(h) X``, ``u = X'h``,
        ``sigma = sum h``, ``r`` the gradient of the objective in ``w``. Woodbury:
        ``A^-1 v = (v - Z' M^-1 Z v) / 2c`` with ``M = 2c I + Z Z'`` (n x n, from ``K = X X'``),
        and the Schur complement ``sigma - u'A^-1 u = 2c sqrt(h)' M^-1 sqrt(h)`` stays
        positive.
        """
        c2 = 2.0 * float(self.l2[0])
        sq = np.sqrt(h)
        M = sq[:, None] * self.K * sq[None, :]
        M[np.diag_indices_from(M)] += c2
        chol = scipy.linalg.cho_factor(M, lower=True)

        def a_inv(v):  # A^-1 v
            return (v - self.X.T @ (sq * scipy.linalg.cho_solve(chol, sq * (self.X @ v)))) / c2

        r = grad[: self.p] + c2 * x[: self.p]
        a_r = a_inv(r)
        if not self.fit_intercept:
            return -a_r
        u = self.X.T @ h
        d = (float(u @ a_r) - float(grad[self.p])) / (
            c2 * float(sq @ scipy.linalg.cho_solve(chol, sq)))
        return np.append(-a_r - d * a_inv(u), d)


def solve_prox_newton(X, y, family, term, objective, *, fit_intercept, tol, max_iter,
                      start=None):
    """Minimise ``L(X w + c) + a |w| + c w**2`` (a non-quadratic family) by proximal Newton.

    Convex: one minimiser, so ``start`` is ignored (the start is ``w = 0`` with the
    intercept-only fit).
    """
    problem = CDProblem(X, y, family, term, objective, fit_intercept)
    out = prox_newton(problem, problem.initial_point(), tol=tol, max_iter=max_iter)
    coef, intercept = problem.split(out.x)
    return FitResult(coef, intercept, out.kkt, tol, out.n_iter, out.converged, problem.name)
