r"""One coordinate-wise sweep of a logistic model given its Pólya-Gamma weights (numba).

With ``omega_i ~ PG(1, eta_i)`` (Polson, Scott & Windle 2013) the logistic likelihood of
``eta = X w + w0`` becomes Gaussian in ``eta``: ``p(y | eta, omega) ∝ exp(kappa'eta -
eta' Omega eta / 2)``, ``kappa = y - 1/2``. Given the weights each coefficient's conditional
under a Laplace / Gaussian / elastic-net prior is then the same two-piece Gaussian as the
gaussian family's (:func:`mapreg.posterior.coordinate_kernel.draw_coordinate`) with::

    A_j = sum_i omega_i x_ij**2 + gamma,   c_j = x_j'e + (A_j - gamma) w_j,
    e = kappa - Omega eta        (the weighted working residual)

and the flat intercept's is Gaussian with ``A = sum_i omega_i``, ``c = sum_i e_i + A w0``.
Every update is overrelaxed as in the gaussian family's sampler
(:func:`~mapreg.posterior.coordinate_kernel.overrelax_coordinate`); no latent scales, no
``p x p`` or ``n x n`` matrix: per coefficient two dot products (``x_j'e``, and
``omega'x_j**2`` over a stored ``X'**2``) and one pass updating ``e`` and ``eta``. The weights
are drawn between sweeps in Python by the ``polyagamma`` package
(:mod:`mapreg.posterior.pg_coordinate`).
"""

from __future__ import annotations

import numba
import numpy as np

from mapreg.posterior.coordinate_kernel import update_coordinate

# numba keys a cached function by its own file's content: this line changes when a
# module whose jitted code it calls does (tests/test_numba_cache_keys.py)
# numba cache key (callees): coordinate_kernel=fda83f4a


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _dot(u, v):
    """``u'v``, its sum reassociated so that LLVM vectorises it (the order of the additions
    only; no assumptions about NaN or infinities). A separate function: its instructions keep
    the flags when LLVM inlines it, and the sampler's own arithmetic stays as written."""
    acc = 0.0
    for i in range(u.shape[0]):
        acc += u[i] * v[i]
    return acc


@numba.njit(cache=True, nogil=True)
def pg_coordinate_sweep(rng, XT, XT2, kappa, omega, w, w0, icpt, eta, alpha, gamma, a):
    """One sweep over ``w`` (and ``w0[0]`` when ``icpt``) given ``omega``; updates ``w``,
    ``w0`` and ``eta = X w + w0`` in place (module docstring). ``XT2`` holds ``XT**2``, so
    both sums over the rows are dot products (:func:`_dot`)."""
    p, n = XT.shape
    e = np.empty(n)
    for i in range(n):
        e[i] = kappa[i] - omega[i] * eta[i]
    for j in range(p):
        xj = XT[j]
        dot = _dot(xj, e)
        a0 = _dot(XT2[j], omega)
        wj = w[j]
        new = update_coordinate(rng, a0 + gamma, dot + a0 * wj, alpha, wj, a)
        delta = new - wj
        if delta != 0.0:
            for i in range(n):
                e[i] -= omega[i] * xj[i] * delta
                eta[i] += xj[i] * delta
        w[j] = new
    if icpt:
        big_a = 0.0
        c = 0.0
        for i in range(n):
            big_a += omega[i]
            c += e[i]
        old = w0[0]
        new = update_coordinate(rng, big_a, c + big_a * old, 0.0, old, a)
        delta = new - old
        w0[0] = new
        for i in range(n):
            eta[i] += delta


@numba.njit(cache=True, nogil=True)
def linear_predictor(XT, w, w0, eta):
    """``eta = X w + w0`` from scratch (the chain's start)."""
    p, n = XT.shape
    for i in range(n):
        eta[i] = w0
    for j in range(p):
        if w[j] != 0.0:
            for i in range(n):
                eta[i] += XT[j, i] * w[j]
    return eta
