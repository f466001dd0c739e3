"""Minimise ``smooth(X w + c) + sum_j (l1_j |w_j| + l2_j w_j**2)`` with a certificate.

One solver serves both sides of the equivalence; each side supplies its own
objective (for the line search and the reported value) and its own separable
term (for the coordinate weights and the KKT certificate):

* Gaussian family (quadratic loss): centre ``X`` and ``y`` (the unpenalised
  intercept then has a closed form) and solve the quadratic exactly —
  Cholesky for a pure L2 term, coordinate descent otherwise, on the Gram
  matrix when ``n >= p`` and on the residual when ``p > n``.
* Bernoulli and Poisson: proximal Newton. Each outer step minimises the
  second-order model of the loss plus the exact penalty by coordinate descent,
  then backtracks on the true objective (Armijo).

Stopping is decided by the KKT certificate recomputed from scratch:
``max_j dist(-dL/dw_j, subdifferential of the term at w_j)`` together with
``|dL/dc|`` for the intercept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import scipy.linalg

from mapreg.families import Family
from mapreg.penalties import Bridge
from mapreg.results import FitResult
from mapreg.solvers._cd import cd_gram, cd_residual

# Coordinate descent makes at most this many sweeps per inner solve.
_MAX_SWEEPS = 100_000


def kkt_violation(X, y, family: Family, term, coef, intercept, fit_intercept) -> float:
    """Largest violation of the optimality conditions at ``(coef, intercept)``.

    ``term`` supplies ``subdiff_distance(w, grad)`` (a prior or a penalty). The
    intercept, when fitted, has a flat prior, so its condition is ``dL/dc = 0``.
    """
    d = family.dloss(X @ coef + intercept, y)
    grad = X.T @ d
    worst = float(np.max(term.subdiff_distance(coef, grad), initial=0.0))
    if fit_intercept:
        worst = max(worst, abs(float(np.sum(d))))
    return worst


def absolute_tolerance(X, y, family: Family, fit_intercept: bool, tol: float) -> float:
    """``tol`` scaled by the size of the loss gradient at the null model (at least 1)."""
    c0 = family.initial_intercept(y) if fit_intercept else 0.0
    d0 = family.dloss(np.full(len(y), c0), y)
    return tol * max(1.0, float(np.max(np.abs(X.T @ d0))))


def solve(
    X: np.ndarray,
    y: np.ndarray,
    family: Family,
    term,
    objective: Callable[[np.ndarray, float], float],
    *,
    fit_intercept: bool,
    tol: float,
    max_iter: int,
    start: np.ndarray | None = None,
) -> FitResult:
    """Minimise ``L(X w + c) + term(w)`` to a KKT violation below ``tol`` (absolute).

    Parameters
    ----------
    term
        A prior or a penalty: ``cd_weights()`` gives the ``(l1, l2)`` weights of
        its non-constant part, ``subdiff_distance`` its optimality conditions.
    objective
        ``objective(coef, intercept)``: the quantity being minimised, as the
        caller defines it (used for the line search of non-quadratic families).
    start
        Starting coefficients for the non-convex paths (default zeros); the convex
        paths have one answer and ignore it.

    Terms whose ``solver_kind`` is ``"bridge"`` (``lam |w|**p``, ``p`` not 1 or 2) or
    ``"mm"`` (a smooth term with a quadratic majoriser) go to :mod:`mapreg.solvers.nonconvex`.
    """
    if term.quadratic_weights() is None:
        from mapreg.solvers import nonconvex as _general

        if isinstance(term, Bridge):  # the bridge's own CD kernel needs (lam, p)
            path = _general.solve_bridge
        elif term.smooth and term.majorizer_weights(np.zeros(1)) is not None:
            path = _general.solve_mm
        elif term.smooth:
            path = _general.solve_smooth
        else:
            raise ValueError(
                f"no solver for the penalty {term!r}: give it quadratic_weights() "
                "(a |w| + c w**2), or make it smooth (grad and hess)"
            )
        return path(X, y, family, term, objective, fit_intercept=fit_intercept, tol=tol,
                    max_iter=max_iter, start=start)
    if family.is_quadratic:
        return _solve_quadratic(X, y, family, term, fit_intercept=fit_intercept, tol=tol,
                                max_iter=max_iter)
    return _solve_prox_newton(X, y, family, term, objective, fit_intercept=fit_intercept,
                              tol=tol, max_iter=max_iter)


def _weights(term, p):
    a, c = term.quadratic_weights()
    return np.full(p, float(a)), np.full(p, float(c))


def _solve_quadratic(X, y, family, term, *, fit_intercept, tol, max_iter):
    n, p = X.shape
    h = family.d2loss(np.zeros(1), y[:1])[0]  # 1 / noise_sigma**2
    if fit_intercept:
        x_mean, y_mean = X.mean(axis=0), float(y.mean())
        # p > n: coordinate descent walks columns, so centre straight into Fortran order
        Xc = np.subtract(X, x_mean, order="F" if n < p else "C")
        yc = y - y_mean
    else:
        x_mean, y_mean = np.zeros(p), 0.0
        Xc, yc = X, y
    l1, l2 = _weights(term, p)
    coef = np.zeros(p)
    if not l1.any() and l2[0] > 0:
        method = "cholesky"
        coef = _ridge_direct(Xc, yc, h, l2[0])
        stage_tol = tol
    else:
        method = "cd-gram" if n >= p else "cd-residual"
        # Coordinate descent converges linearly; run it to a moderate tolerance
        # first, then try the exact solve on the support it found (below).
        grad0 = -h * (Xc.T @ yc)  # dL/dw at w = 0 (intercept at its optimum, y_mean)
        stage_tol = max(tol, 1e-3 * max(1.0, float(np.max(np.abs(grad0)))))
    gram = XF = None
    n_iter = 0
    converged = False
    for _ in range(max_iter):
        intercept = y_mean - float(x_mean @ coef)
        if n_iter == 0 and method.startswith("cd"):
            # coef = 0: the certificate needs only grad0, already at hand (saves two
            # passes over X); the intercept condition holds exactly after centring.
            kkt = float(np.max(term.subdiff_distance(coef, grad0), initial=0.0))
        else:
            kkt = kkt_violation(X, y, family, term, coef, intercept, fit_intercept)
        if kkt <= tol:
            converged = True
            break
        n_iter += 1
        if method == "cholesky":  # ill-conditioned direct solve: polish with CD
            method = "cholesky+cd"
        if n >= p:
            if gram is None:
                gram = h * (Xc.T @ Xc)
                xty = h * (Xc.T @ yc)
            G = gram @ coef - xty
            cd_gram(gram, G, coef, l1, l2, 0.1 * stage_tol, _MAX_SWEEPS)
        else:
            if XF is None:
                XF = np.asfortranarray(Xc)
            s = h * (XF @ coef - yc)
            cd_residual(XF, np.full(n, h), s, coef, np.zeros(1), False, l1, l2,
                        0.1 * stage_tol, _MAX_SWEEPS)
        block = (partial(_gram_block, gram=gram, xty=xty) if n >= p
                 else partial(_residual_block, XF=XF, yc=yc, h=h))
        polished = _solve_on_support(coef, l1, l2, block, n) if l1.any() else None
        if polished is not None:
            c_pol = y_mean - float(x_mean @ polished)
            if kkt_violation(X, y, family, term, polished, c_pol, fit_intercept) <= tol:
                coef = polished
                method += "+support-solve"
        stage_tol = max(0.1 * tol, 0.1 * stage_tol)
    intercept = y_mean - float(x_mean @ coef)
    return FitResult(coef, intercept, kkt, tol, n_iter, converged, method)


def _gram_block(A, gram, xty):
    return gram[np.ix_(A, A)], xty[A]


def _residual_block(A, XF, yc, h):
    XA = XF[:, A]  # Fortran order: contiguous columns
    # dsyrk computes only the upper triangle of X_A'X_A: half the flops of a matmul
    return h * scipy.linalg.blas.dsyrk(1.0, XA, trans=1), h * (XA.T @ yc)


def _solve_on_support(coef, l1, l2, block, n_samples):
    """Exact minimiser with the support and signs of ``coef`` held fixed, or ``None``.

    On the support ``A`` with signs ``z`` the objective is smooth:
    ``(h X_A'X_A + 2 diag(l2_A)) w_A = h X_A'y - l1_A z``. ``block(A)`` returns
    ``(h X_A'X_A, h X_A'y)`` (a slice of the Gram matrix when it exists). The
    answer is kept only if no sign flips (the caller then checks the full KKT
    conditions).
    """
    support = np.flatnonzero(coef)
    if support.size == 0 or support.size > n_samples:
        return None
    signs = np.sign(coef[support])
    M, rhs = block(support)
    M[np.diag_indices_from(M)] += 2.0 * l2[support]
    try:
        # only the upper triangle is read (dsyrk fills just that one)
        wA = scipy.linalg.solve(M, rhs - l1[support] * signs, assume_a="pos", lower=False)
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        return None
    if not np.all(np.sign(wA) == signs):
        return None
    out = np.zeros_like(coef)
    out[support] = wA
    return out


def _ridge_direct(Xc, yc, h, l2):
    """Solve ``(h X'X + 2 l2 I) w = h X'y`` (primal when n >= p, dual when p > n)."""
    n, p = Xc.shape
    try:
        if n >= p:
            A = h * (Xc.T @ Xc)
            A[np.diag_indices_from(A)] += 2.0 * l2
            return scipy.linalg.solve(A, h * (Xc.T @ yc), assume_a="pos")
        # w = X' (X X' + (2 l2 / h) I)^-1 y: an n x n system.
        K = Xc @ Xc.T
        K[np.diag_indices_from(K)] += 2.0 * l2 / h
        return Xc.T @ scipy.linalg.solve(K, yc, assume_a="pos")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        return np.zeros(p)  # the CD polish takes over


def _solve_prox_newton(X, y, family, term, objective, *, fit_intercept, tol, max_iter):
    n, p = X.shape
    l1, l2 = _weights(term, p)
    use_gram = n >= p
    if use_gram:
        Xa = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
        l1a = np.append(l1, 0.0) if fit_intercept else l1
        l2a = np.append(l2, 0.0) if fit_intercept else l2
    else:
        XF = np.asfortranarray(X)
    coef = np.zeros(p)
    intercept = family.initial_intercept(y) if fit_intercept else 0.0
    f_now = objective(coef, intercept)
    converged = False
    kkt = np.inf
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        eta = X @ coef + intercept
        d = family.dloss(eta, y)
        grad = X.T @ d
        kkt = float(np.max(term.subdiff_distance(coef, grad), initial=0.0))
        if fit_intercept:
            kkt = max(kkt, abs(float(d.sum())))
        if kkt <= tol:
            converged = True
            n_iter -= 1
            break
        h = family.d2loss(eta, y)
        inner_tol = max(0.1 * tol, 1e-2 * kkt)
        if use_gram:
            wa = np.append(coef, intercept) if fit_intercept else coef.copy()
            Q = Xa.T @ (h[:, None] * Xa)
            G = np.append(grad, d.sum()) if fit_intercept else grad.copy()
            cd_gram(Q, G, wa, l1a, l2a, inner_tol, _MAX_SWEEPS)
            new_coef = wa[:p]
            new_intercept = float(wa[p]) if fit_intercept else 0.0
        else:
            new_coef, c = coef.copy(), np.array([intercept])
            cd_residual(XF, h, d.copy(), new_coef, c, fit_intercept, l1, l2, inner_tol,
                        _MAX_SWEEPS)
            new_intercept = float(c[0])
        step_coef, step_c = new_coef - coef, new_intercept - intercept
        pen_now = float(l1 @ np.abs(coef) + l2 @ coef**2)
        pen_new = float(l1 @ np.abs(new_coef) + l2 @ new_coef**2)
        decrease = float(grad @ step_coef + d.sum() * step_c) + pen_new - pen_now
        t = 1.0
        accepted = False
        while t > 1e-12:
            trial_coef = coef + t * step_coef
            trial_c = intercept + t * step_c
            f_trial = objective(trial_coef, trial_c)
            # Armijo on the composite objective; the second clause accepts steps
            # whose change is below floating-point resolution of the objective.
            noise = 1e-14 * max(1.0, abs(f_now))
            if f_trial <= f_now + 1e-4 * t * decrease or (
                abs(f_trial - f_now) <= noise and decrease > -noise
            ):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        coef, intercept, f_now = trial_coef, trial_c, f_trial
    if not converged:
        kkt = kkt_violation(X, y, family, term, coef, intercept, fit_intercept)
        converged = kkt <= tol
    return FitResult(coef, float(intercept), kkt, tol, n_iter, converged,
                        "prox-newton-gram" if use_gram else "prox-newton-residual")
