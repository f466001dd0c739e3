r"""The horseshoe's local scales drawn with their coefficient integrated out (numba).

On the p > n path the Gibbs horseshoe draws all coefficients jointly given the scales
(Bhattacharya et al.) and then each local scale given its coefficient,
``lam_j**2 | w_j``. For a coefficient whose posterior has a spike at 0 and a slab away
from it (the data weakly support it) that pair moves between the two slowly: a ``w_j``
near 0 makes ``lam_j`` small, which keeps ``w_j`` near 0 (a null of the 200 x 10,000
benchmark had bulk ESS 69 of 4,000 and R-hat 1.06; 74 on a 200 x 2,000 one; with this
sweep 869 and 1.005, and 1,032).

This sweep instead updates each pair ``(lam_j, w_j)`` as one block given everything else
(partially collapsed Gibbs, van Dyk & Park 2008): ``lam_j`` from its conditional with
``w_j`` integrated out, then ``w_j`` given ``lam_j``. With ``r = y - w0 - X w`` the
residual, ``c_j = x_j'r + |x_j|**2 w_j`` (``x_j'`` times the residual without ``w_j``),
``s = |x_j|**2 / sigma**2``, ``b = c_j / sigma**2`` and ``a = lam_j**2 tau**2``::

    p(lam_j | rest) ∝ HalfCauchy(lam_j; 1) (1 + a s)**(-1/2) exp(b**2 a / (2 (1 + a s)))
    w_j | lam_j, rest ~ N(b / q, 1 / q),   q = s + 1 / a

(the Gaussian integral ``∫ N(w; 0, a) exp(b w - s w**2 / 2) dw``). ``log lam_j`` is
updated by one slice-sampling step (Neal 2003; stepping out, then shrinkage): it leaves the
marginal conditional invariant, and drawing ``w_j`` exactly after it makes the pair's
update leave ``p(lam_j, w_j | rest)`` invariant. The half-Cauchy's auxiliary ``nu_j`` is
then drawn given the new ``lam_j``. Cost per sweep: ``r`` (2 n p flops) and two length-n
passes per coefficient over the columns of ``X'`` (``XT``, contiguous), plus a few
scalar density evaluations.

The regularised horseshoe's pairs are the same with ``a = 1 / (1 / (lam_j**2 tau**2) + 1 /
c**2)`` (:func:`prior_variance`; ``c**2`` the slab, held fixed during the sweep).

On Rue's path (``k <= n``) the Gaussian sweep runs them from the sufficient statistics
``Z'Z``, ``Z'y`` (:func:`local_scales_collapsed_gram`, O(k**2) a sweep), and the Pólya-Gamma
sweep (bernoulli family, either path) runs them given its
weights, with ``s`` and ``b`` from the weighted likelihood
(:func:`local_scales_collapsed_weighted`): on a 2,000 x 200 logistic horseshoe the worst
null's bulk ESS went from 89 to over 240 of 2 x 1,000 draws (+18% time).

numba caches a compiled function by its own file's content, and ``gibbs_kernel``'s cached
kernel contains these functions: it names this file's hash in its ``numba cache key`` line
(``tests/test_numba_cache_keys.py`` says when that line must change).
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: The slice sampler's initial bracket on ``log lam`` (the half-Cauchy's log has sd pi/2).
SLICE_WIDTH = 3.0
#: The local variances are kept in the Gibbs kernel's range (its ``_D_MIN``, ``_D_MAX``).
_D_MIN, _D_MAX = 1e-100, 1e100
_MAX_STEPS = 60


@numba.njit(cache=True, nogil=True, inline="always")
def prior_variance(lam2, tau2, inv_c2):
    """``d_j``, clipped as the Gibbs kernel clips it: ``lam**2 tau**2`` (the horseshoe,
    ``inv_c2 = 0``) or ``1 / (1 / (lam**2 tau**2) + 1 / c**2)`` (the regularised one)."""
    a = min(max(lam2 * tau2, _D_MIN), _D_MAX)
    if inv_c2 > 0.0:
        a = min(max(1.0 / (1.0 / a + inv_c2), _D_MIN), _D_MAX)
    return a


@numba.njit(cache=True, nogil=True)
def collapsed_log_density(eta, tau2, s, b, inv_c2):
    """``log p(log lam = eta | rest)`` up to a constant (module docstring): ``eta - log(1 +
    lam**2) - log(1 + a s) / 2 + b**2 a / (2 (1 + a s))`` with ``lam = e**eta`` and ``a`` the
    prior variance of ``w_j`` (:func:`prior_variance`: ``lam**2 tau**2``, or with the
    regularised horseshoe's slab ``1 / c**2 = inv_c2``)."""
    lam2 = math.exp(min(2.0 * eta, 700.0))
    a = prior_variance(lam2, tau2, inv_c2)
    return eta - math.log1p(lam2) - 0.5 * math.log1p(a * s) + 0.5 * b * b * a / (1.0 + a * s)


@numba.njit(cache=True, nogil=True)
def _slice_log_lam(rng, eta, tau2, s, b, inv_c2):
    """One slice-sampling update of ``eta = log lam`` (stepping out, shrinkage)."""
    level = collapsed_log_density(eta, tau2, s, b, inv_c2) + math.log(1.0 - rng.random())
    lo = eta - SLICE_WIDTH * rng.random()
    hi = lo + SLICE_WIDTH
    for _ in range(_MAX_STEPS):
        if collapsed_log_density(lo, tau2, s, b, inv_c2) <= level:
            break
        lo -= SLICE_WIDTH
    for _ in range(_MAX_STEPS):
        if collapsed_log_density(hi, tau2, s, b, inv_c2) <= level:
            break
        hi += SLICE_WIDTH
    for _ in range(200):
        x = lo + (hi - lo) * rng.random()
        if collapsed_log_density(x, tau2, s, b, inv_c2) > level:
            return x
        if x < eta:
            lo = x
        else:
            hi = x
    return eta  # not reached in practice: the bracket shrinks onto eta, inside the slice


@numba.njit(cache=True, nogil=True)
def local_scales_collapsed(rng, X, XT, colsq, y, theta, icpt, lam2, nu, d, tau2, sig2,
                           inv_c2):
    """One sweep of ``(lam_j, w_j)`` block updates over ``j`` (module docstring).

    ``X`` (n x p) and ``XT`` (its transpose, contiguous), ``colsq[j] = |x_j|**2``,
    ``theta = (w, [w0])``; updates ``theta[:p]``, ``lam2``, ``nu`` and ``d`` in place.
    """
    n, p = X.shape
    w0 = theta[p] if icpt else 0.0
    r = y - w0 - np.dot(X, theta[:p])  # BLAS gemv
    inv_s2 = 1.0 / sig2
    for j in range(p):
        xj = XT[j]
        dot = np.dot(xj, r)  # BLAS ddot: numba's own loop is not vectorised (a reduction)
        delta = _pair(rng, j, colsq[j] * inv_s2, (dot + colsq[j] * theta[j]) * inv_s2,
                      theta, lam2, nu, d, tau2, inv_c2)
        for i in range(n):
            r[i] -= xj[i] * delta


@numba.njit(cache=True, nogil=True)
def local_scales_collapsed_weighted(rng, XT, omega, kappa, eta, theta, lam2, nu, d, tau2,
                                    inv_c2):
    """:func:`local_scales_collapsed` for the Pólya-Gamma likelihood given its weights.

    ``exp(kappa_i eta_i - omega_i eta_i**2 / 2)`` is Gaussian in ``w_j``: ``s = sum_i
    omega_i x_ij**2`` and ``b = sum_i x_ij (kappa_i - omega_i eta_-j,i)`` (``eta_-j``: the
    linear predictor without ``w_j``, intercept included) take the place of ``|x_j|**2 /
    sigma**2`` and ``c_j / sigma**2``. ``eta`` (``X w + w0``) is updated in place with
    ``theta[:p]``, ``lam2``, ``nu`` and ``d``. Two length-n passes per coefficient.
    """
    p, n = XT.shape
    for j in range(p):
        xj = XT[j]
        s = 0.0
        dot = 0.0
        for i in range(n):
            wx = omega[i] * xj[i]
            s += wx * xj[i]
            dot += xj[i] * kappa[i] - wx * eta[i]
        delta = _pair(rng, j, s, dot + s * theta[j], theta, lam2, nu, d, tau2, inv_c2)
        for i in range(n):
            eta[i] += xj[i] * delta


@numba.njit(cache=True, nogil=True)
def local_scales_collapsed_gram(rng, ZtZ, Zty, theta, lam2, nu, d, tau2, sig2, inv_c2):
    """:func:`local_scales_collapsed` from the sufficient statistics ``Z'Z``, ``Z'y``
    (Rue's path, ``k <= n``; ``theta = (w, [w0])`` over the columns of ``Z``): with
    ``h = Z'Z theta``, ``c_j = (Z'y)_j - h_j + (Z'Z)_jj w_j``, ``s = (Z'Z)_jj / sigma**2``,
    ``b = c_j / sigma**2``; ``h`` follows each change of ``w_j`` (O(k) a coefficient, O(k**2) a
    sweep, against the draw's ``k**3 / 3``)."""
    k = ZtZ.shape[0]
    p = lam2.shape[0]
    h = np.dot(ZtZ, theta[:k])
    inv_s2 = 1.0 / sig2
    for j in range(p):
        gjj = ZtZ[j, j]
        delta = _pair(rng, j, gjj * inv_s2, (Zty[j] - h[j] + gjj * theta[j]) * inv_s2,
                      theta, lam2, nu, d, tau2, inv_c2)
        for i in range(k):
            h[i] += ZtZ[i, j] * delta


@numba.njit(cache=True, nogil=True, inline="always")
def _pair(rng, j, s, b, theta, lam2, nu, d, tau2, inv_c2):
    """The block ``(lam_j, w_j)`` given ``s``, ``b`` (module docstring); returns the change
    of ``w_j``. ``theta[j]``, ``lam2[j]``, ``nu[j]`` and ``d[j]`` are updated."""
    eta = _slice_log_lam(rng, 0.5 * math.log(max(lam2[j], 1e-300)), tau2, s, b, inv_c2)
    lam2[j] = math.exp(min(2.0 * eta, 700.0))
    a = prior_variance(lam2[j], tau2, inv_c2)
    q = s + 1.0 / a
    w_new = b / q + rng.standard_normal() / math.sqrt(q)
    delta = w_new - theta[j]
    theta[j] = w_new
    nu[j] = (1.0 + 1.0 / lam2[j]) / rng.gamma(1.0, 1.0)  # InvGamma(1, 1 + 1/lam_j**2)
    d[j] = a
    return delta
