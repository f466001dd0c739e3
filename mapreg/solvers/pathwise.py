r"""A whole path of ``a_k |w| + c_k w**2`` penalties: warm starts, strong rules, KKT check.

:func:`solve_path` minimises ``L(X w + c) + sum_j (a_k |w_j| + c_k w_j**2)`` for each
``(a_k, c_k)`` of a grid (``a`` decreasing), each fit starting from the previous answer.
It returns the same minimisers as separate :func:`mapreg.solvers.solve` calls (convex
problems have one), with the same certificates; it only does less work:

* **Data summaries once.** Gaussian family, ``n >= p``: the Gram matrix
  ``Q = h Xc'Xc`` and ``h Xc'yc`` are formed once (``Xc``, ``yc`` centred, ``h`` the
  inverse noise variance) and every fit runs coordinate descent on them
  (:func:`~mapreg.solvers.kernels.cd_gram_on`); ``p > n``: centred ``X`` in Fortran
  order and its column curvatures once, coordinate descent on the residual
  (:func:`~mapreg.solvers.kernels.cd_residual_on`).
* **Sequential strong rule** (Tibshirani et al. 2012, *J. R. Stat. Soc. B* 74:245):
  going from ``a_{k-1}`` to ``a_k`` a zero coefficient whose loss gradient at the
  previous solution satisfies ``|g_j| < 2 a_k - a_{k-1}`` is *discarded*: the fit runs
  on the rest (the working set: the strong set plus the previous non-zeros).
* **KKT check on the discarded set.** The rule is a heuristic, so after each fit the
  full gradient is computed and every discarded ``j`` with ``|g_j| > a_k`` (its zero
  is not optimal) is put back and the fit repeated (:attr:`PathStats.n_violations`
  counts them). Only a fit whose certificate over *all* coordinates is below ``tol``
  is accepted, so the answer is the unscreened one.
* Gaussian family: each fit is finished by the exact solve on its support and signs
  (one Cholesky solve, its factor reused while the support stays), kept only if certified, as in
  :func:`~mapreg.solvers.quadratic.solve_quadratic`; the previous fit's support is
  tried first, before any coordinate descent. Bernoulli and Poisson: proximal
  Newton (:func:`~mapreg.solvers.prox_newton.prox_newton`) on the working-set columns,
  started from the previous answer.

The certificate of each fit is the largest KKT violation over every coefficient (and
``|dL/dc|`` for the intercept), from the gradient ``X'dL/deta`` recomputed at the
returned point; for the Gaussian family with ``n >= p`` that gradient is
``Q w - h Xc'yc`` from the Gram matrix (equal to ``h Xc'(Xc w - yc)`` in exact
arithmetic; the intercept ``y_mean - x_mean'w`` makes ``dL/dc`` zero exactly).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
from scipy.linalg.lapack import dpotrf, dpotrs

from mapreg.results import FitResult
from mapreg.solvers.glm import MAX_SWEEPS, CDProblem
from mapreg.solvers.kernels import cd_gram_on, cd_residual_on, quadratic_kkt, symmetrize_upper
from mapreg.solvers.prox_newton import prox_newton


@dataclass
class PathStats:
    """What screening did at each point of the path (diagnostics; lists, one per fit).

    ``n_strong``: size of the working set the first fit used (strong set plus previous
    non-zeros); ``n_violations``: discarded coefficients the KKT check put back
    (the strong rule was wrong about them); ``n_rounds``: fits run (1 + re-solves).
    """

    n_strong: list = field(default_factory=list)
    n_violations: list = field(default_factory=list)
    n_rounds: list = field(default_factory=list)


def _strong_set(w, grad, a, a_prev):
    """The working set of the sequential strong rule: non-zeros and ``|g_j| >= 2a - a_prev``."""
    return (w != 0.0) | (np.abs(grad) >= 2.0 * a - a_prev)


def solve_path(X, y, family, terms, *, fit_intercept, tol, max_iter):
    """Fit every penalty of ``terms`` (``quadratic_weights() = (a, c)``, ``a`` decreasing).

    ``tol`` is relative, as in :func:`mapreg.find_map`: each fit stops once its KKT
    violation is below ``tol * max(1, max_j |dL/dw_j|)`` at the null model (the
    intercept-only fit), the gradient the path starts from
    (:func:`mapreg.solvers.kkt.absolute_tolerance`, without another pass over ``X``).
    Returns ``(fits, stats)``: a :class:`~mapreg.results.FitResult` per term (its
    ``kkt_violation`` over all coefficients, its ``tol`` absolute) and the
    :class:`PathStats` of the screening.
    """
    stats = PathStats()
    if family.is_quadratic:
        solver = _GaussianPath(X, y, family, fit_intercept)
    else:
        solver = _GLMPath(X, y, family, fit_intercept)
    lam_max = float(np.max(np.abs(solver.grad), initial=0.0))  # |dL/dw| at the null model
    tol = tol * max(1.0, lam_max)
    fits = []
    a_prev = None
    for term in terms:
        a, c = (float(v) for v in term.quadratic_weights())
        if a_prev is None:  # the first step starts from w = 0, i.e. from lam_max
            a_prev = max(a, lam_max)
        fits.append(solver.fit(term, a, c, a_prev, tol, max_iter, stats))
        a_prev = a
    return fits, stats


def _violators(strong, grad, a):
    """Discarded coordinates whose zero the KKT conditions reject (``|g_j| > a``)."""
    return ~strong & (np.abs(grad) > a)


class _GaussianPath:
    """Gaussian family: centred data, Gram matrix (``n >= p``) or residual (``p > n``)."""

    def __init__(self, X, y, family, fit_intercept):
        n, p = X.shape
        self.n, self.p = n, p
        self.h = float(family.d2loss(np.zeros(1), y[:1])[0])  # 1 / noise_sigma**2
        if fit_intercept:
            self.x_mean, self.y_mean = X.mean(axis=0), float(y.mean())
        else:
            self.x_mean, self.y_mean = np.zeros(p), 0.0
        self.use_gram = n >= p
        self._factor = None  # (support, c, Cholesky factor) of the last support solve
        # p > n: coordinate descent walks columns, so centre straight into Fortran order
        Xc = np.subtract(X, self.x_mean, order="C" if self.use_gram else "F")
        self.yc = y - self.y_mean
        self.xty = self.h * (Xc.T @ self.yc)
        self.w = np.zeros(p)
        self.grad = -self.xty  # dL/dw at w = 0
        if self.use_gram:
            # dsyrk: the upper triangle of Xc'Xc at half the flops of a matmul (Xc.T is
            # the Fortran-ordered p x n matrix, so no copy)
            self.Q = scipy.linalg.blas.dsyrk(self.h, Xc.T, trans=0)
            symmetrize_upper(self.Q)
        else:
            self.XF = Xc
            self.hv = np.full(n, self.h)
            self.diag = self.h * np.einsum("ij,ij->j", Xc, Xc)
            self.r = -self.h * self.yc  # dL/deta at w = 0

    # -- the quadratic's pieces
    def _refresh(self, w):
        """The loss gradient at ``w`` from scratch (and the residual when there is one)."""
        if self.use_gram:
            return self.Q @ w - self.xty
        self.r = self.h * (self.XF @ w - self.yc)
        return self.XF.T @ self.r

    def _cd(self, coords, a, c, tol):
        l1, l2 = np.full(self.p, a), np.full(self.p, c)
        if self.use_gram:
            cd_gram_on(self.Q, self.grad, self.w, l1, l2, coords, tol, MAX_SWEEPS)
        else:
            cd_residual_on(self.XF, self.hv, self.r, self.w, np.zeros(1), False, l1, l2,
                           self.diag, coords, tol, MAX_SWEEPS)
            self.grad = self.XF.T @ self.r

    def _ridge(self, c):
        """The exact minimiser of the pure L2 problem from an eigendecomposition made once."""
        if not hasattr(self, "_eig"):
            if self.use_gram:
                self._eig = np.linalg.eigh(self.Q)
            else:  # p > n: w = Xc' U diag(h / (e + 2c)) U' yc with h Xc Xc' = U diag(e) U'
                self._eig = np.linalg.eigh(self.h * (self.XF @ self.XF.T))
        e, V = self._eig
        if self.use_gram:
            return V @ ((V.T @ self.xty) / (e + 2.0 * c))
        return self.XF.T @ (V @ (self.h * (V.T @ self.yc) / (e + 2.0 * c)))

    def fit(self, term, a, c, a_prev, tol, max_iter, stats):
        ridge = a == 0.0 and c > 0.0
        if ridge:  # a Gaussian prior: solved directly, CD polishes if needed
            self.w = self._ridge(c)
            self.grad = self._refresh(self.w)
        strong = _strong_set(self.w, self.grad, a, a_prev)
        stats.n_strong.append(int(strong.sum()))
        # Coordinate descent to a moderate tolerance first, then the exact support solve
        # (as in solve_quadratic); tighter rounds until the certificate accepts.
        stage_tol = max(tol, 1e-3 * max(1.0, float(np.abs(self.grad).max())))
        kkt, n_iter, added, rounds = quadratic_kkt(self.w, self.grad, a, c), 0, 0, 0
        method = "path-cd-gram" if self.use_gram else "path-cd-residual"
        if ridge:
            method = "path-ridge-eigh+cd" if kkt > tol else "path-ridge-eigh"
        # The support and signs of the previous fit often hold at this weight too: try its
        # exact solve before any coordinate descent, unless a zero already violates its
        # condition (then a coefficient enters, and the support must grow).
        entering = np.any((self.w == 0.0) & (np.abs(self.grad) > a))
        if kkt > tol and max_iter > 0 and not entering and self._polish(a, c, tol):
            kkt = quadratic_kkt(self.w, self.grad, a, c)
        while kkt > tol and n_iter < max_iter:
            n_iter += 1
            rounds += 1
            self._cd(np.flatnonzero(strong), a, c, 0.1 * stage_tol)
            if not self._polish(a, c, tol):
                self.grad = self._refresh(self.w)
            kkt = quadratic_kkt(self.w, self.grad, a, c)
            bad = _violators(strong, self.grad, a)
            if bad.any():  # the strong rule discarded a coefficient that belongs in
                added += int(bad.sum())
                strong |= bad
            else:
                stage_tol = max(0.1 * tol, 0.1 * stage_tol)
        stats.n_violations.append(added)
        stats.n_rounds.append(rounds)
        # the reported certificate, from the gradient at the returned point (quadratic_kkt
        # is the subdifferential distance of a|w| + c w**2, the term's own formula)
        kkt = quadratic_kkt(self.w, self.grad, a, c)
        if not self.use_gram:  # the intercept's condition, from the fresh residual
            kkt = max(kkt, abs(float(self.r.sum())))
        coef = self.w.copy()
        intercept = self.y_mean - float(self.x_mean @ coef)
        return FitResult(coef, intercept, kkt, tol, n_iter, kkt <= tol, method)

    def _support_solve(self, a, c):
        """The exact minimiser with the support and signs of ``w`` fixed, or ``None``.

        On the support ``A`` with signs ``z``: ``(Q_AA + 2c I) w_A = h Xc_A'yc - a z``
        (Cholesky, LAPACK ``dpotrf`` on the upper triangle; the factor is kept, so the
        next weight with the same support and ``c`` costs two triangular solves); ``None``
        when that system is not positive definite or a sign flips.
        """
        A = np.flatnonzero(self.w)
        if A.size == 0 or A.size > self.n:
            return None
        z = np.sign(self.w[A])
        cached = self._factor
        if cached is not None and cached[1] == c and np.array_equal(cached[0], A):
            U = cached[2]
        else:
            if self.use_gram:
                M = self.Q[A[:, None], A]
            else:  # dsyrk fills the upper triangle only: all dpotrf reads
                M = scipy.linalg.blas.dsyrk(self.h, self.XF[:, A], trans=1)
            if c:
                M.flat[:: A.size + 1] += 2.0 * c
            U, info = dpotrf(M, lower=0, overwrite_a=1)
            if info != 0:
                return None
            self._factor = (A, c, U)
        wA, info = dpotrs(U, self.xty[A] - a * z, lower=0)
        if info != 0 or not np.all(np.sign(wA) == z):
            return None
        out = np.zeros(self.p)
        out[A] = wA
        return out

    def _polish(self, a, c, tol) -> bool:
        """Replace ``w`` by the exact solve on its support and signs if that is certified.

        Returns whether it did (``grad``, and the residual, are then those of the new ``w``).
        """
        if a == 0.0:
            return False
        polished = self._support_solve(a, c)
        if polished is None:
            return False
        grad = self._refresh(polished)
        if quadratic_kkt(polished, grad, a, c) <= tol:
            self.w, self.grad = polished, grad
            return True
        if not self.use_gram:
            self.r = self.h * (self.XF @ self.w - self.yc)  # back to the CD point
        return False


class _GLMPath:
    """Bernoulli, Poisson: proximal Newton on the working-set columns, warm-started."""

    def __init__(self, X, y, family, fit_intercept):
        self.X, self.y, self.family = X, y, family
        self.fit_intercept = bool(fit_intercept)
        self.w = np.zeros(X.shape[1])
        self.c = family.initial_intercept(y) if fit_intercept else 0.0
        self.grad, self.dc = self._gradient(self.w, self.c)

    def _gradient(self, w, c):
        d = self.family.dloss(self.X @ w + c, self.y)
        return self.X.T @ d, float(d.sum())

    def fit(self, term, a, c2, a_prev, tol, max_iter, stats):
        strong = _strong_set(self.w, self.grad, a, a_prev)
        stats.n_strong.append(int(strong.sum()))
        added = rounds = n_iter = 0
        while True:
            rounds += 1
            n_iter += self._fit_on(np.flatnonzero(strong), term, tol, max_iter)
            self.grad, self.dc = self._gradient(self.w, self.c)
            bad = _violators(strong, self.grad, a)
            if not bad.any():
                break
            added += int(bad.sum())
            strong |= bad
        stats.n_violations.append(added)
        stats.n_rounds.append(rounds)
        kkt = float(np.max(term.subdiff_distance(self.w, self.grad), initial=0.0))
        if self.fit_intercept:
            kkt = max(kkt, abs(self.dc))
        return FitResult(self.w.copy(), float(self.c), kkt, tol, n_iter, kkt <= tol,
                         "path-prox-newton")

    def _fit_on(self, S, term, tol, max_iter):
        """Proximal Newton on the columns ``S`` from the current point; its iterations."""
        XS = np.ascontiguousarray(self.X[:, S])
        family, y = self.family, self.y

        def objective(coef, intercept):
            return family.loss(XS @ coef + intercept, y) + term.value(coef)

        problem = CDProblem(XS, y, family, term, objective, self.fit_intercept)
        out = prox_newton(problem, problem.join(self.w[S], self.c), tol=tol, max_iter=max_iter)
        coef, self.c = problem.split(out.x)
        self.w = np.zeros_like(self.w)
        self.w[S] = coef
        return out.n_iter
