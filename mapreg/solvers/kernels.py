"""Coordinate-descent kernels (numba): a convex quadratic plus a separable penalty.

These are the inner solvers of the proximal-Newton steps (:mod:`mapreg.solvers.glm`,
:mod:`mapreg.solvers.bridge`) and of the exact Gaussian path
(:mod:`mapreg.solvers.quadratic`). :func:`cd_gram` and :func:`cd_residual` minimise,
over ``w`` (and an optional unpenalised intercept ``c``),

    q(w) + sum_j ( l1_j |w_j| + l2_j w_j**2 )

where ``q`` is a convex quadratic given through its *current gradient*, kept up
to date as coordinates move. Soft-thresholding gives exact zeros. A sweep over
all coordinates is followed by sweeps over the active set (non-zeros) until the
largest KKT violation seen there is below ``tol``; the loop ends when a full
sweep sees no violation above ``tol``. The caller recomputes the certificate
from scratch afterwards: these in-place gradients are only a stopping rule.
:func:`cd_gram_on` and :func:`cd_residual_on` run over a given subset of the
coordinates (a screened working set, :mod:`mapreg.solvers.pathwise`).
:func:`cd_gram_bridge` does the same for ``sum_j lam_j |w_j|**p`` with the exact 1-D
bridge prox.
"""

from __future__ import annotations

import numba
import numpy as np

from mapreg.penalties._bridge import bridge_prox_scalar

# numba keys a cached function by its own file's content: this line changes when a
# module whose jitted code it calls does (tests/test_numba_cache_keys.py)
# numba cache key (callees): _bridge=7a37c55d

# Let LLVM reassociate sums (SIMD dot products and axpys, ~2-4x faster sweeps); no
# "no-NaN/no-inf" assumptions. The order of additions only changes the path of
# the iteration: the certificate is recomputed from scratch in numpy afterwards.
_FASTMATH = {"reassoc", "contract", "arcp"}


@numba.njit(cache=True, inline="always")
def _coordinate_update(w_j, a_j, g_j, l1_j, l2_j):
    """Exact minimiser along one coordinate of ``a/2 (x-w)^2 + g (x-w) + l1|x| + l2 x^2``."""
    z = a_j * w_j - g_j
    denom = a_j + 2.0 * l2_j
    if denom <= 0.0:
        return w_j
    if z > l1_j:
        return (z - l1_j) / denom
    if z < -l1_j:
        return (z + l1_j) / denom
    return 0.0


@numba.njit(cache=True, inline="always")
def _violation(w_j, g_j, l1_j, l2_j):
    g = g_j + 2.0 * l2_j * w_j
    if w_j > 0.0:
        return abs(g + l1_j)
    if w_j < 0.0:
        return abs(g - l1_j)
    return max(abs(g) - l1_j, 0.0)


@numba.njit(cache=True, inline="always")
def _collect_active(coords, m, w, l1, active):
    """Write into ``active`` the coordinates of ``coords[:m]`` that can move: non-zero, or
    without an L1 part (never exactly zero); return how many."""
    n_active = 0
    for t in range(m):
        j = coords[t]
        if w[j] != 0.0 or l1[j] == 0.0:
            active[n_active] = j
            n_active += 1
    return n_active


@numba.njit(cache=True, fastmath=_FASTMATH)
def _gram_sweep(Q, G, w, l1, l2, coords, count):
    """One pass over ``coords[:count]``; returns the largest KKT violation seen."""
    worst = 0.0
    p = w.shape[0]
    for t in range(count):
        j = coords[t]
        v = _violation(w[j], G[j], l1[j], l2[j])
        if v > worst:
            worst = v
        new = _coordinate_update(w[j], Q[j, j], G[j], l1[j], l2[j])
        delta = new - w[j]
        if delta != 0.0:
            w[j] = new
            for k in range(p):
                G[k] += Q[j, k] * delta
    return worst


@numba.njit(cache=True, fastmath=_FASTMATH)
def cd_gram(Q, G, w, l1, l2, tol, max_sweeps):
    """Coordinate descent on ``1/2 d' Q d + G' d + pen(w + d)``, updating ``w`` and ``G``.

    ``Q`` is the (p, p) Hessian of the quadratic, ``G`` its gradient at the
    current ``w``; an unpenalised coordinate (the intercept column) simply has
    ``l1 = l2 = 0``. Returns the number of sweeps.
    """
    return cd_gram_on(Q, G, w, l1, l2, np.arange(w.shape[0]), tol, max_sweeps)


@numba.njit(cache=True, fastmath=_FASTMATH)
def cd_gram_on(Q, G, w, l1, l2, coords, tol, max_sweeps):
    """:func:`cd_gram` over the coordinates ``coords`` only (a screened working set).

    The others stay where they are, but ``G`` is kept up to date for every
    coordinate (each move updates the whole gradient row), so the caller can check
    the KKT conditions of the discarded ones for free. Returns the number of sweeps.
    """
    m = coords.shape[0]
    active = np.empty(m, dtype=np.int64)
    sweeps = 0
    while sweeps < max_sweeps:
        worst = _gram_sweep(Q, G, w, l1, l2, coords, m)
        sweeps += 1
        if worst <= tol:
            break
        n_active = _collect_active(coords, m, w, l1, active)
        while sweeps < max_sweeps:
            worst = _gram_sweep(Q, G, w, l1, l2, active, n_active)
            sweeps += 1
            if worst <= tol:
                break
    return sweeps


@numba.njit(cache=True, fastmath=_FASTMATH)
def cd_residual(X, h, s, w, c, fit_intercept, l1, l2, tol, max_sweeps):
    """Coordinate descent on a quadratic in ``eta = X w + c`` kept as a residual vector.

    The quadratic is ``sum_i h_i/2 (eta_i - eta0_i)^2 + s0_i (eta_i - eta0_i)``;
    ``s`` holds its gradient with respect to ``eta`` at the current point and is
    updated in place (``O(n)`` per coordinate, the right choice when p > n).
    ``X`` should be Fortran-ordered. ``c`` is a length-1 array (the intercept).
    Returns the number of sweeps.
    """
    n, p = X.shape
    a = np.empty(p)
    for j in range(p):
        acc = 0.0
        for i in range(n):
            acc += h[i] * X[i, j] * X[i, j]
        a[j] = acc
    return cd_residual_on(X, h, s, w, c, fit_intercept, l1, l2, a, np.arange(p), tol,
                          max_sweeps)


@numba.njit(cache=True, fastmath=_FASTMATH)
def cd_residual_on(X, h, s, w, c, fit_intercept, l1, l2, a, coords, tol, max_sweeps):
    """:func:`cd_residual` over the columns ``coords`` only, with their curvatures given.

    ``a[j] = sum_i h_i X_ij**2`` (read for ``j`` in ``coords``). A full sweep over
    ``coords`` alternates with sweeps over its non-zeros until a full sweep sees no
    violation above ``tol``. Returns the number of sweeps.
    """
    n = X.shape[0]
    m = coords.shape[0]
    h_sum = 0.0
    for i in range(n):
        h_sum += h[i]
    active = np.empty(m, dtype=np.int64)
    sweeps = 0
    full = True
    n_active = 0
    while sweeps < max_sweeps:
        worst = 0.0
        if fit_intercept and h_sum > 0.0:
            g = 0.0
            for i in range(n):
                g += s[i]
            worst = abs(g)
            delta = -g / h_sum
            c[0] += delta
            for i in range(n):
                s[i] += h[i] * delta
        count = m if full else n_active
        for t in range(count):
            j = coords[t] if full else active[t]
            g = 0.0
            for i in range(n):
                g += X[i, j] * s[i]
            v = _violation(w[j], g, l1[j], l2[j])
            if v > worst:
                worst = v
            new = _coordinate_update(w[j], a[j], g, l1[j], l2[j])
            delta = new - w[j]
            if delta != 0.0:
                w[j] = new
                for i in range(n):
                    s[i] += h[i] * X[i, j] * delta
        sweeps += 1
        if worst <= tol:
            if full:
                break
            full = True  # the active set has converged: check every coordinate
        else:
            if full:
                n_active = _collect_active(coords, m, w, l1, active)
                full = n_active == m
    return sweeps


# ------------------------------------------------------------------ bridge
@numba.njit(cache=True)
def _bridge_violation(w, g, lam, p, a, delta):
    """Stopping measure of one coordinate (gradient units): stationarity or a move."""
    if lam == 0.0:
        v = abs(g)
    elif w != 0.0:
        v = abs(g + lam * p * abs(w) ** (p - 1.0) * (1.0 if w > 0.0 else -1.0))
    elif p > 1.0:
        v = abs(g)
    else:
        v = 0.0
    return max(v, a * abs(delta))


@numba.njit(cache=True)
def cd_gram_bridge(Q, G, w, lam, p, tol, max_sweeps):
    """Coordinate descent on ``1/2 d'Q d + G'd + sum_j lam_j |w_j + d_j|**p``.

    ``G`` (the gradient at the current ``w``) is updated in place with ``w``; an
    unpenalised coordinate (the intercept) has ``lam_j = 0``. Each coordinate moves
    to the *global* minimiser of its 1-D problem (:func:`bridge_prox_scalar`), so for
    ``p < 1`` this is a descent method ending in a coordinate-wise minimum. Stops when
    a full sweep sees no stationarity violation and no move above ``tol``.
    """
    n = w.shape[0]
    sweeps = 0
    while sweeps < max_sweeps:
        worst = 0.0
        for j in range(n):
            a = Q[j, j]
            if a <= 0.0:
                continue
            new = bridge_prox_scalar(a * w[j] - G[j], a, lam[j], p)
            delta = new - w[j]
            v = _bridge_violation(w[j], G[j], lam[j], p, a, delta)
            if v > worst:
                worst = v
            if delta != 0.0:
                w[j] = new
                for k in range(n):
                    G[k] += Q[j, k] * delta
        sweeps += 1
        if worst <= tol:
            break
    return sweeps


@numba.njit(cache=True)
def bridge_support_moves(w, G, a, lam, p):
    """Whether one exact 1-D bridge step on some coordinate would change its zero or sign.

    The step on coordinate ``j`` goes to the global minimiser over ``x`` of
    ``a_j/2 (x - w_j)**2 + G_j (x - w_j) + lam |x|**p`` (the local model with its
    diagonal curvature ``a``). ``False`` means every zero is the global minimiser of its
    own 1-D model and no non-zero wants to jump to 0 or across it: for ``p < 1`` this is
    what the first-order conditions alone do not say (they hold at every zero).
    """
    for j in range(w.shape[0]):
        if a[j] <= 0.0:
            continue
        new = bridge_prox_scalar(a[j] * w[j] - G[j], a[j], lam, p)
        if (new == 0.0) != (w[j] == 0.0) or new * w[j] < 0.0:
            return True
    return False


# ------------------------------------------------------------------ path helpers
@numba.njit(cache=True)
def quadratic_kkt(w, g, a, c):
    """``max_j`` KKT violation of ``sum_j (a |w_j| + c w_j**2)`` with loss gradient ``g``.

    The same number as ``max(ElasticNetPenalty(a, c).subdiff_distance(w, g))``, without
    the temporaries: the inner stopping test of :mod:`mapreg.solvers.pathwise` (each
    fit's reported certificate still comes from the penalty's own method).
    """
    worst = 0.0
    for j in range(w.shape[0]):
        v = _violation(w[j], g[j], a, c)
        if v > worst:
            worst = v
    return worst


@numba.njit(cache=True)
def symmetrize_upper(Q):
    """Copy the upper triangle of the square ``Q`` into its lower one, in place."""
    p = Q.shape[0]
    for j in range(p):
        for k in range(j + 1, p):
            Q[k, j] = Q[j, k]
