r"""One draw from the Gaussian conditional of a Gibbs sweep, by whichever algorithm is cheaper.

Every Gibbs sampler here (Bayesian lasso, Bayesian ridge, horseshoe; Gaussian noise or
Pólya-Gamma-augmented Bernoulli) has the same block update::

    beta | rest ~ N(A^{-1} Phi' alpha, A^{-1}),   A = Phi' Phi + D^{-1},   D = diag(d),

with ``Phi = Omega^{1/2} Z`` the (weighted) design and ``alpha`` the (weighted) working
response. Two exact algorithms:

* **Rue (2001)**, :func:`rue_draw`: the Cholesky factor ``A = L L'`` in p-space, then
  ``beta = L'^{-1} (L^{-1} Phi' alpha + e)``, ``e ~ N(0, I_p)``. ``A``'s likelihood part
  comes from sufficient statistics (Gaussian noise: ``Z'Z`` computed once) or one
  ``O(n p**2)`` product (Pólya-Gamma). ``O(p**3)`` per draw: the choice when ``n >= p``.
* **Bhattacharya, Chakraborty & Mallick (2016)**, :func:`bcm_draw`: ``u ~ N(0, D)``,
  ``delta ~ N(0, I_n)``, ``v = Phi u + delta``, solve ``(Phi D Phi' + I_n) w = alpha - v``,
  ``beta = u + D Phi' w``. ``O(n**2 p)`` per draw and nothing ``p x p``: the choice when
  ``p > n``. With ``B = Phi D^{1/2}`` (what is stored) and ``u = D^{1/2} e``:
  ``v = B e + delta``, ``beta = D^{1/2} (e + B' w)``.

The flat intercept. :func:`rue_draw` carries it in ``A`` with prior precision 0, exactly as
the closed form does (:mod:`mapreg.posterior.exact`). ``D^{-1}`` has no such entry in
:func:`bcm_draw`, so the intercept is integrated out instead, which is just as exact: with
weights ``omega_i`` and working response ``z_i``, ``sum_i omega_i (z_i - x_i'w - w0)**2``
splits into ``W (w0 - zbar + xbar'w)**2`` (``W = sum omega_i``, ``xbar``, ``zbar`` the
``omega``-weighted means) plus the same sum with ``x_i - xbar``, ``z_i - zbar`` and no ``w0``.
So ``w`` is drawn with the centred ``Phi = Omega^{1/2} (X - 1 xbar')``,
``alpha = Omega^{1/2} (z - zbar)``, and then ``w0 | w ~ N(zbar - xbar'w, 1/W)``
(:func:`intercept_given_coef`): together a draw of ``(w, w0)`` from their joint conditional.

Numba's on-disk cache of :mod:`mapreg.posterior.gibbs_kernel`, which inlines these, does not
notice an edit of this file: after one, delete ``mapreg/posterior/__pycache__/*.nb[ic]``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# the two algorithms (mapreg.posterior.gibbs chooses by cost)
RUE, BCM = 0, 1


@numba.njit(cache=True, nogil=True, inline="always")
def rue_draw(rng, A, b, d, z, theta):
    """``theta ~ N(A^-1 b, A^-1)`` with ``A += diag(1/d)`` first (entries ``j < len(d)``).

    ``A`` (k x k) holds the likelihood precision on entry and is overwritten; ``b`` the
    linear term; ``z`` (k) is scratch. Entries of ``theta`` beyond ``len(d)`` (a flat
    intercept) get no prior precision. Rue (2001): ``A = L L'``, ``L u = b``,
    ``L' theta = u + e``.
    """
    k = A.shape[0]
    for j in range(d.shape[0]):
        A[j, j] += 1.0 / d[j]
    L = np.linalg.cholesky(A)
    # forward: L u = b
    for i in range(k):
        acc = b[i]
        for j in range(i):
            acc -= L[i, j] * z[j]
        z[i] = acc / L[i, i]
    # add noise in the whitened space, then back-substitute L' theta = u + e
    for i in range(k):
        z[i] += rng.standard_normal()
    for i in range(k - 1, -1, -1):
        acc = z[i]
        for j in range(i + 1, k):
            acc -= L[j, i] * theta[j]
        theta[i] = acc / L[i, i]


@numba.njit(cache=True, nogil=True, inline="always")
def design_rows(X, xbar, d, sw, B):
    """``B = diag(sw) (X - 1 xbar') D^{1/2}`` (``Phi D^{1/2}``); returns ``D^{1/2}``."""
    n, p = X.shape
    sd = np.sqrt(d)
    for i in range(n):
        s = sw[i]
        for j in range(p):
            B[i, j] = s * (X[i, j] - xbar[j]) * sd[j]
    return sd


@numba.njit(cache=True, nogil=True)
def bcm_draw(rng, X, sw, xbar, alpha, d, B, out):
    """``out ~ N(A^-1 Phi' alpha, A^-1)``, ``A = Phi'Phi + D^-1``, ``Phi = diag(sw) (X - 1 xbar')``.

    Bhattacharya, Chakraborty & Mallick (2016), ``O(n**2 p)``; ``B`` (n x p) is scratch
    (it receives ``Phi D^{1/2}``). ``xbar = 0`` for no centring. Returns nothing; the only
    ``n x n`` array is ``Phi D Phi' + I``.
    """
    sd = design_rows(X, xbar, d, sw, B)
    M = np.dot(B, B.T)
    for i in range(X.shape[0]):
        M[i, i] += 1.0
    bcm_finish(rng, B, M, alpha, sd, out)


@numba.njit(cache=True, nogil=True)
def bcm_finish(rng, B, M, alpha, sd, out, bscale=1.0):
    """The rest of :func:`bcm_draw`: ``Phi D^{1/2} = bscale B``, ``M = Phi D Phi' + I``,
    ``sd = d^{1/2}``.

    ``bscale`` lets a caller that holds ``B`` up to a scalar (the horseshoe's collapsed
    global-scale step: ``Phi Lambda^{1/2}``, with ``tau`` drawn after) skip an ``n x p`` pass.
    """
    n, p = B.shape
    e = np.empty(p)
    for j in range(p):
        e[j] = rng.standard_normal()
    r = alpha - bscale * np.dot(B, e)
    for i in range(n):
        r[i] -= rng.standard_normal()
    L = np.linalg.cholesky(M)
    # (L L') w = r
    w = np.empty(n)
    for i in range(n):
        acc = r[i]
        for j in range(i):
            acc -= L[i, j] * w[j]
        w[i] = acc / L[i, i]
    for i in range(n - 1, -1, -1):
        acc = w[i]
        for j in range(i + 1, n):
            acc -= L[j, i] * w[j]
        w[i] = acc / L[i, i]
    btw = np.dot(B.T, w)
    for j in range(p):
        out[j] = sd[j] * (e[j] + bscale * btw[j])


@numba.njit(cache=True, nogil=True, inline="always")
def intercept_given_coef(rng, coef, xbar, zbar, W):
    """``w0 | w ~ N(zbar - xbar'w, 1/W)``: the flat intercept after :func:`bcm_draw`."""
    m = zbar
    for j in range(coef.shape[0]):
        m -= xbar[j] * coef[j]
    return m + rng.standard_normal() / math.sqrt(W)


def rue_flops(n: int, k: int, weighted: bool) -> float:
    """Floating-point operations of one :func:`rue_draw` (``weighted``: forming ``Z'Omega Z``)."""
    return k**3 / 3.0 + 4.0 * k * k + (2.0 * n * k * k + 2.0 * n * k if weighted else 0.0)


def bcm_flops(n: int, p: int, symmetric: bool = False) -> float:
    """Floating-point operations of one :func:`bcm_draw` (the ``B B'`` product dominates).

    ``symmetric``: the product by BLAS ``syrk`` (``n**2 p``, half of ``gemm``'s), as the
    Gaussian chains at large ``n**2 p`` form it (:mod:`mapreg.posterior.gibbs_run`).
    """
    return (1.0 if symmetric else 2.0) * n * n * p + n**3 / 3.0 + 8.0 * n * p
