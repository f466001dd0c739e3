"""The exact one-dimensional bridge prox, ``argmin_x a/2 x**2 - z x + lam |x|**p`` (numba).

The one home of the bridge arithmetic: :class:`mapreg.penalties.Bridge` vectorises it
for ``prox_1d`` and the bridge coordinate-descent kernel calls it per coordinate.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True)
def _bridge_root(target, a, k, p, lo, hi):
    """Root in ``[lo, hi]`` of ``g(t) = a t + k t**(p-1) - target`` (g increasing there)."""
    t = hi
    for _ in range(200):
        g = a * t + k * t ** (p - 1.0) - target
        if g > 0.0:
            hi = t
        else:
            lo = t
        if g == 0.0 or hi - lo <= 4e-16 * hi:
            break
        dg = a + k * (p - 1.0) * t ** (p - 2.0)
        t_new = t - g / dg if dg > 0.0 else -1.0
        if not (lo < t_new < hi):
            t_new = math.sqrt(lo * hi) if lo > 0.0 else 0.5 * hi
        if t_new == t:
            break
        t = t_new
    return t


@numba.njit(cache=True)
def bridge_prox_scalar(z, a, lam, p):
    """``argmin_x a/2 x**2 - z x + lam |x|**p`` (global minimiser; ties go to 0)."""
    if lam == 0.0:
        return z / a
    if z == 0.0:
        return 0.0
    az = abs(z)
    sgn = 1.0 if z > 0.0 else -1.0
    k = lam * p
    if p == 1.0:
        return sgn * max(az - lam, 0.0) / a
    if p == 2.0:
        return z / (a + 2.0 * lam)
    if p > 1.0:
        # a t + k t^(p-1) = |z| has one root; each term alone bounds it from above,
        # and half of each from below.
        hi = min(az / a, (az / k) ** (1.0 / (p - 1.0)))
        lo = min(0.5 * az / a, (0.5 * az / k) ** (1.0 / (p - 1.0)))
        return sgn * _bridge_root(az, a, k, p, lo, hi)
    # p < 1: g(t) = a t + k t^(p-1) is convex with minimum at t_star; a local minimiser
    # exists only if g(t_star) < |z| (the larger root), and wins only if it beats 0.
    t_star = (k * (1.0 - p) / a) ** (1.0 / (2.0 - p))
    if a * t_star + k * t_star ** (p - 1.0) >= az:
        return 0.0
    hi = az / a
    t = _bridge_root(az, a, k, p, t_star, hi)
    h = 0.5 * a * t * t - az * t + lam * t**p
    return sgn * t if h < 0.0 else 0.0


def bridge_prox(z, a, lam, p) -> np.ndarray:
    """:func:`bridge_prox_scalar` elementwise over ``z`` (``a > 0``, ``lam >= 0``, ``0 < p <= 2``).

    For ``p >= 1`` the minimiser is unique. For ``p < 1`` the problem is non-convex:
    the global minimiser (``0`` or the larger stationary point) is returned, ties
    going to ``0``.
    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    flat_z, flat_o = z.reshape(-1), out.reshape(-1)
    for i in range(flat_z.size):
        flat_o[i] = bridge_prox_scalar(float(flat_z[i]), float(a), float(lam), float(p))
    return out
