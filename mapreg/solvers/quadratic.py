"""The Gaussian family: minimise a quadratic loss plus ``sum_j (a |w_j| + c w_j**2)`` exactly.

Not Newton: the loss is quadratic, so the problem is solved as it stands. Centre ``X``
and ``y`` (the unpenalised intercept then has a closed form), then

* a pure L2 term: one Cholesky solve (primal when ``n >= p``, dual when ``p > n``);
* with an L1 part and ``p >= 64``: first coordinate descent on the Gram blocks of
  growing working sets (a sparse answer never needs all of ``X'X``), given up for a
  dense answer;
* otherwise coordinate descent (:mod:`mapreg.solvers.kernels`) on the Gram matrix when
  ``n >= p`` and on the residual when ``p > n``, to a moderate tolerance first, then the
  exact solve on the support and signs it found (kept only if the KKT certificate
  accepts it); rounds with tighter tolerances repeat until it does.

Stopping is decided by the KKT certificate recomputed from scratch
(:func:`mapreg.solvers.kkt.kkt_violation`).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import scipy.linalg

from mapreg.results import FitResult
from mapreg.solvers.glm import MAX_SWEEPS
from mapreg.solvers.kernels import cd_gram, cd_residual, symmetrize_upper
from mapreg.solvers.kkt import kkt_violation


def _weights(term, p):
    a, c = term.quadratic_weights()
    return np.full(p, float(a)), np.full(p, float(c))


def solve_quadratic(X, y, family, term, objective=None, *, fit_intercept, tol, max_iter,
                    start=None):
    """Minimise ``L(X w + c) + a |w| + c w**2`` for the Gaussian family (convex: ``start``
    and ``objective`` are not needed)."""
    n, p = X.shape
    h = family.d2loss(np.zeros(1), y[:1])[0]  # 1 / noise_sigma**2
    l1, l2 = _weights(term, p)
    if fit_intercept:
        x_mean, y_mean = X.mean(axis=0), float(y.mean())
        yc = y - y_mean
    else:
        x_mean, y_mean = np.zeros(p), 0.0
        yc = y
    if p >= WS_MIN_P and l1.any() and max_iter > 0:
        # X'yc = Xc'yc (yc sums to 0): the working sets never need all of Xc
        found = _working_set(X, y, h, l1, l2, -h * (X.T @ yc), tol, max_iter, term,
                             (x_mean, y_mean, fit_intercept))
        if found is not None:  # certified from the data, over every coefficient
            coef, intercept, kkt, rounds = found
            return FitResult(coef, intercept, kkt, tol, rounds, True,
                             "cd-gram-ws+support-solve")
    # p > n: coordinate descent walks columns, so centre straight into Fortran order
    Xc = np.subtract(X, x_mean, order="F" if n < p else "C") if fit_intercept else X
    coef = np.zeros(p)
    direct = not l1.any() and l2[0] > 0
    if max_iter <= 0:  # no iteration: the start (w = 0), certified as it stands
        kkt = kkt_violation(X, y, family, term, coef, y_mean, fit_intercept)
        return FitResult(coef, y_mean, kkt, tol, 0, kkt <= tol,
                         "cholesky" if direct else "cd-gram" if n >= p else "cd-residual")
    if direct:
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
            cd_gram(gram, G, coef, l1, l2, 0.1 * stage_tol, MAX_SWEEPS)
        else:
            if XF is None:
                XF = np.asfortranarray(Xc)
            s = h * (XF @ coef - yc)
            cd_residual(XF, np.full(n, h), s, coef, np.zeros(1), False, l1, l2,
                        0.1 * stage_tol, MAX_SWEEPS)
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


#: From this many features on, an L1 fit first tries working sets.
WS_MIN_P = 64
#: The first working set: the non-zeros and up to this many of the worst violators.
WS_START = 32


def _working_set(X, y, h, l1, l2, grad0, tol, max_iter, term, centring):
    """Coordinate descent on the Gram matrix of a *working set* only.

    The full Gram matrix costs ``n p**2``; a sparse answer needs only the block of its
    support (and that block only its own columns centred). Each round takes the
    non-zeros and the largest KKT violators among the zeros (at most
    ``max(WS_START, 2 nnz)`` of them), solves on that block (coordinate descent, then
    the exact support solve) and computes the certificate of
    :func:`~mapreg.solvers.kkt.kkt_violation` from the data: ``d = h (X w + c - y)``,
    ``g = X'd``, the term's subdifferential
    distance and ``|sum d|`` for the intercept. Returns ``(w, c, kkt, rounds)`` once that
    is below ``tol``, or ``None`` (the caller then solves on the full Gram matrix or the
    residual) when the working set passes ``p / 2`` (``n / 4`` when ``p > n``) or
    ``max_iter`` rounds do not suffice.
    """
    x_mean, y_mean, fit_intercept = centring
    n, p = X.shape
    # past this size a block costs more than the whole Gram matrix (n >= p), or than
    # coordinate descent on the residual (p > n: a dense support, long CD on big blocks)
    limit = p // 2 if n >= p else n // 4
    a, xty = float(l1[0]), -grad0
    w, g = np.zeros(p), grad0
    stage_tol = max(tol, 1e-3 * max(1.0, float(np.max(np.abs(grad0)))))
    A_prev = Q = None
    for rounds in range(1, max_iter + 1):
        viol = np.where(w == 0.0, np.abs(g) - a, 0.0)
        cand = np.flatnonzero(viol > 0.0)
        k = max(WS_START, 2 * int(np.count_nonzero(w)))
        if cand.size > k:
            cand = cand[np.argpartition(-viol[cand], k)[:k]]
        A = np.union1d(np.flatnonzero(w), cand)
        if A.size > limit:
            return None
        if A_prev is None or not np.array_equal(A, A_prev):
            XA = X[:, A]  # Fortran order: what dsyrk takes without a copy
            XA -= x_mean[A]  # the centred block (zero means without intercept)
            Q = scipy.linalg.blas.dsyrk(h, XA, trans=1)  # upper triangle of h XA'XA
            symmetrize_upper(Q)
            A_prev = A
        wA = w[A].copy()
        cd_gram(Q, Q @ wA - xty[A], wA, l1[A], l2[A], 0.1 * stage_tol, MAX_SWEEPS)
        polished = _solve_on_support(wA, l1[A], l2[A],
                                     partial(_gram_block, gram=Q, xty=xty[A]), n)
        w = np.zeros(p)
        w[A] = wA if polished is None else polished
        c = y_mean - float(x_mean @ w)
        d = h * (X @ w + c - y)
        g = X.T @ d
        kkt = float(np.max(term.subdiff_distance(w, g), initial=0.0))
        if fit_intercept:
            kkt = max(kkt, abs(float(d.sum())))
        if kkt <= tol:
            return w, c, kkt, rounds
        stage_tol = max(0.1 * tol, 0.1 * stage_tol)
    return None


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
