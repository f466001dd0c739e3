r"""Solver paths for terms beyond ``a|w| + c w**2``: the bridge and majorise-minimise.

:func:`mapreg.solvers.solve` dispatches here on the penalty's protocol:

* ``"bridge"`` — ``lam sum |w_j|**p`` with ``0 < p < 2``, ``p != 1``. Proximal
  Newton on the augmented Gram matrix ``[X, 1]' H [X, 1]`` (exact for the Gaussian
  family, so one outer step there), whose inner problem is solved by coordinate
  descent with the exact one-dimensional bridge prox (:func:`_bridge_prox`, a
  safeguarded Newton root); then Newton steps on the support, where the
  objective is smooth. For ``p < 1`` the 1-D prox is the *global* minimiser of a
  non-convex function (0 or the larger stationary point), so coordinate descent
  is a descent method that ends in a coordinate-wise minimum.
* ``"mm"`` — a smooth non-convex term with a quadratic majoriser
  ``c_j(w_k) w_j**2`` tight at ``w_k`` (``term.majorizer_weights``); each MM step is a
  weighted ridge solve (exact for the Gaussian family, Newton otherwise), and
  once the gradient is small, Newton steps on the full objective finish the job.

Non-convex results carry a second-order certificate: ``min_curvature``, the
smallest eigenvalue of the Hessian of the objective restricted to the support
and the intercept. With the first-order conditions below tolerance, a positive
value makes the point a strict local minimum (for ``p < 1`` the off-support
coordinates are locally optimal on their own: ``|w|**p`` has infinite slope at 0
and dominates every smooth term there).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.linalg

from mapreg.penalties._bridge import bridge_prox_scalar

_MAX_SWEEPS = 200_000


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
    unpenalised coordinate (the intercept) has ``lam_j = 0``. Stops when a full
    sweep sees no stationarity violation and no move above ``tol``.
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


# ------------------------------------------------------------------ helpers
def _starting_point(X, y, family, fit_intercept, start):
    """``start`` (default zeros) and the intercept that fits best given it."""
    coef = np.zeros(X.shape[1]) if start is None else np.array(start, dtype=float)
    if not fit_intercept:
        return coef, 0.0
    if family.is_quadratic:
        return coef, float(np.mean(y - X @ coef))
    return coef, family.initial_intercept(y)


def _augment(X, fit_intercept):
    return np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X


def _kkt(X, y, family, term, coef, intercept, fit_intercept):
    d = family.dloss(X @ coef + intercept, y)
    worst = float(np.max(term.subdiff_distance(coef, X.T @ d), initial=0.0))
    if fit_intercept:
        worst = max(worst, abs(float(np.sum(d))))
    return worst


def _hessian(X, y, family, term, coef, intercept, fit_intercept, idx):
    """Hessian of the objective over coefficients ``idx`` (and the intercept)."""
    Xa = _augment(X[:, idx], fit_intercept)
    h = family.d2loss(X @ coef + intercept, y)
    H = Xa.T @ (h[:, None] * Xa)
    diag = term.hess(coef)[idx]
    H[np.arange(len(idx)), np.arange(len(idx))] += diag
    return H


def min_curvature(X, y, family, term, coef, intercept, fit_intercept) -> float:
    """Smallest eigenvalue of the Hessian restricted to the support (and the intercept)."""
    idx = np.flatnonzero(coef) if not term.smooth else np.arange(len(coef))
    if idx.size == 0 and not fit_intercept:
        return math.inf
    H = _hessian(X, y, family, term, coef, intercept, fit_intercept, idx)
    return float(np.linalg.eigvalsh(0.5 * (H + H.T))[0])


def _newton_polish(X, y, family, term, objective, coef, intercept, fit_intercept, tol,
                   max_steps=50):
    """Newton steps on the smooth restriction of the objective to the support.

    A step is kept only if it keeps every sign on the support (the bridge is smooth
    only there), does not increase the objective beyond rounding and lowers the KKT
    violation. Returns the improved ``(coef, intercept)``.
    """
    bridge = not term.smooth  # smooth only on the support
    kkt = _kkt(X, y, family, term, coef, intercept, fit_intercept)
    f_now = objective(coef, intercept)
    for _ in range(max_steps):
        if kkt <= 0.01 * tol:
            break
        idx = np.flatnonzero(coef) if bridge else np.arange(len(coef))
        if idx.size == 0 and not fit_intercept:
            break
        d = family.dloss(X @ coef + intercept, y)
        g = X[:, idx].T @ d + term.grad(coef)[idx]
        if fit_intercept:
            g = np.append(g, d.sum())
        H = _hessian(X, y, family, term, coef, intercept, fit_intercept, idx)
        try:
            step = -scipy.linalg.solve(H, g, assume_a="pos")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            break
        t, improved = 1.0, False
        while t > 1e-6:
            new_coef = coef.copy()
            new_coef[idx] += t * step[: idx.size]
            new_c = intercept + (t * step[-1] if fit_intercept else 0.0)
            if not bridge or np.all(np.sign(new_coef[idx]) == np.sign(coef[idx])):
                f_new = objective(new_coef, new_c)
                k_new = _kkt(X, y, family, term, new_coef, new_c, fit_intercept)
                if f_new <= f_now + 1e-13 * max(1.0, abs(f_now)) and k_new < kkt:
                    improved = True
                    break
            t *= 0.5
        if not improved:
            break
        coef, intercept, f_now, kkt = new_coef, new_c, f_new, k_new
    return coef, intercept


# ------------------------------------------------------------------ bridge path
def solve_bridge(X, y, family, term, objective, *, fit_intercept, tol, max_iter, start=None):
    """Minimise ``L(X w + c) + lam sum |w_j|**p`` (proximal Newton + bridge CD + polish)."""
    from mapreg.results import FitResult

    p_feat = X.shape[1]
    lam, pexp = term.lam, term.p
    Xa = _augment(X, fit_intercept)
    lam_vec = np.append(np.full(p_feat, lam), 0.0) if fit_intercept else np.full(p_feat, lam)
    coef, intercept = _starting_point(X, y, family, fit_intercept, start)
    f_now = objective(coef, intercept)
    kkt = np.inf
    n_iter = 0
    # For p < 1 every zero is locally optimal, so the first-order check alone would
    # accept the start; the run also needs a coordinate-descent pass that moves nothing
    # (every coordinate at its global 1-D minimiser given the others).
    settled = pexp >= 1.0
    for n_iter in range(1, max_iter + 1):
        kkt = _kkt(X, y, family, term, coef, intercept, fit_intercept)
        if kkt <= tol and settled:
            n_iter -= 1
            break
        eta = X @ coef + intercept
        d = family.dloss(eta, y)
        h = family.d2loss(eta, y)
        Q = Xa.T @ (h[:, None] * Xa)
        G = Xa.T @ d
        wa = np.append(coef, intercept) if fit_intercept else coef.copy()
        cd_gram_bridge(Q, G, wa, lam_vec, pexp, max(0.1 * tol, 1e-3 * kkt), _MAX_SWEEPS)
        step = wa - (np.append(coef, intercept) if fit_intercept else coef)
        settled = settled or not np.any(np.abs(step) > 1e-12 * (1.0 + np.abs(wa)))
        t, accepted = 1.0, False
        while t > 1e-10:
            trial = (np.append(coef, intercept) if fit_intercept else coef) + t * step
            tc, ti = trial[:p_feat], (float(trial[p_feat]) if fit_intercept else 0.0)
            # exact zeros from the prox survive a full step only
            if t < 1.0:
                tc = np.where(wa[:p_feat] == 0.0, 0.0, tc)
            f_trial = objective(tc, ti)
            if f_trial <= f_now + 1e-13 * max(1.0, abs(f_now)):
                accepted = True
                break
            t *= 0.5
        if accepted:
            coef, intercept, f_now = tc, ti, f_trial
        coef, intercept = _newton_polish(X, y, family, term, objective, coef, intercept,
                                         fit_intercept, tol)
        f_now = objective(coef, intercept)
        if not accepted and _kkt(X, y, family, term, coef, intercept, fit_intercept) >= kkt:
            break
    kkt = _kkt(X, y, family, term, coef, intercept, fit_intercept)
    converged = kkt <= tol and settled
    curv = np.nan
    if pexp < 1.0:
        curv = min_curvature(X, y, family, term, coef, intercept, fit_intercept)
        converged = converged and curv > 0.0
    return FitResult(coef, float(intercept), kkt, tol, n_iter, converged,
                        "bridge-prox-newton-cd+newton", convex=pexp >= 1.0, min_curvature=curv)


# ------------------------------------------------------------------ majorise-minimise path
def _weighted_ridge(X, y, family, weights, coef, intercept, fit_intercept, tol):
    """``argmin L(X w + c) + sum_j weights_j w_j**2`` (Newton; one step when L is quadratic)."""
    Xa = _augment(X, fit_intercept)
    reg = np.append(2.0 * weights, 0.0) if fit_intercept else 2.0 * weights
    wa = np.append(coef, intercept) if fit_intercept else coef.copy()
    p = len(coef)

    def obj(v):
        c = float(v[p]) if fit_intercept else 0.0
        return family.loss(X @ v[:p] + c, y) + float(weights @ v[:p] ** 2)

    for _ in range(100):
        eta = Xa @ wa
        g = Xa.T @ family.dloss(eta, y) + reg * wa
        if np.max(np.abs(g)) <= tol:
            break
        H = Xa.T @ (family.d2loss(eta, y)[:, None] * Xa)
        H[np.diag_indices_from(H)] += reg
        step = -scipy.linalg.solve(H, g, assume_a="pos")
        if family.is_quadratic:
            wa = wa + step
            break
        t, f0 = 1.0, obj(wa)
        while t > 1e-10 and obj(wa + t * step) > f0 + 1e-4 * t * float(g @ step):
            t *= 0.5
        wa = wa + t * step
    return wa[:p].copy(), (float(wa[p]) if fit_intercept else 0.0)


def solve_mm(X, y, family, term, objective, *, fit_intercept, tol, max_iter, start=None):
    """Local minimiser of ``L(X w + c) + term(w)`` by MM (weighted ridge), then Newton.

    MM steps never increase the objective, so the iterates descend towards the
    local mode of the start's basin; once the gradient is below ``1e-3`` of its
    initial size, Newton steps (kept only when they decrease the objective and the
    gradient) converge quadratically to the same mode.
    """
    from mapreg.results import FitResult

    coef, intercept = _starting_point(X, y, family, fit_intercept, start)
    kkt0 = _kkt(X, y, family, term, coef, intercept, fit_intercept)
    switch = max(tol, 1e-3 * kkt0)
    kkt = kkt0
    n_iter = 0
    mm_steps = 0
    for n_iter in range(1, 50 * max_iter + 1):
        if kkt <= tol:
            n_iter -= 1
            break
        if kkt <= switch:
            new = _newton_polish(X, y, family, term, objective, coef, intercept,
                                 fit_intercept, tol, max_steps=1)
            k_new = _kkt(X, y, family, term, *new, fit_intercept)
            if k_new < kkt:
                coef, intercept, kkt = new[0], new[1], k_new
                continue
        coef, intercept = _weighted_ridge(X, y, family, term.majorizer_weights(coef), coef,
                                          intercept, fit_intercept, 1e-3 * tol)
        mm_steps += 1
        kkt = _kkt(X, y, family, term, coef, intercept, fit_intercept)
    curv = min_curvature(X, y, family, term, coef, intercept, fit_intercept)
    converged = bool(kkt <= tol and curv > 0.0)
    return FitResult(coef, float(intercept), kkt, tol, n_iter, converged,
                        f"mm-weighted-ridge({mm_steps})+newton", convex=False,
                        min_curvature=curv)


# ------------------------------------------------------------------ smooth convex path
def solve_smooth(X, y, family, term, objective, *, fit_intercept, tol, max_iter, start=None):
    """Minimise ``L(X w + c) + sum_j pen(w_j)`` for a smooth penalty by damped Newton.

    Used for smooth penalties without a quadratic form (a prior that a user
    registers, say a hyperbolic-secant prior's ``log cosh``). Convex penalties
    give the global minimiser; otherwise ``min_curvature`` certifies a local one.
    """
    from mapreg.results import FitResult

    coef, intercept = _starting_point(X, y, family, fit_intercept, start)
    coef, intercept = _newton_polish(X, y, family, term, objective, coef, intercept,
                                     fit_intercept, tol, max_steps=max_iter)
    kkt = _kkt(X, y, family, term, coef, intercept, fit_intercept)
    convex = bool(term.convex)
    curv = np.nan if convex else min_curvature(X, y, family, term, coef, intercept,
                                               fit_intercept)
    converged = bool(kkt <= tol and (convex or curv > 0.0))
    return FitResult(coef, float(intercept), kkt, tol, max_iter, converged, "newton",
                     convex=convex, min_curvature=curv)
