r"""The numba kernel of the Gibbs samplers: one chain of conjugate updates.

The model (``theta = (w, w0)``, design ``Z = [X, 1]`` when the intercept is fitted)::

    y | theta, s**2  ~ N(Z theta, s**2 I)
    w_j | d_j        ~ N(0, d_j)                      (i.i.d. over j)
    p(w0)            ∝ 1

* **Laplace(b) prior** (the Bayesian lasso): ``d_j = tau_j**2`` with
  ``tau_j**2 ~ Exponential(rate lam**2 / 2)``, ``lam = 1/b``. Integrating
  ``tau_j**2`` out gives exactly ``p(w_j) = (lam / 2) exp(-lam |w_j|)`` — mapreg's
  ``Laplace(b)``, *unconditional on the noise*. Park & Casella (2008) instead
  use the sigma-scaled prior ``w_j | s ~ Laplace(s / lam)`` (``d_j = s**2 tau_j**2``)
  to get a unimodal joint posterior; that is a different model. Here the
  coefficient prior never involves ``s``, so with a fixed noise the chain
  targets exactly the posterior of ``mapreg.Model(X, y, Laplace(b), noise_sigma=s)``.
* **Gaussian(sigma) prior** (Bayesian ridge): ``d_j = sigma**2`` for every j.
* **Horseshoe(scale) prior** (Makalic & Schmidt 2016, "A simple sampler for the
  horseshoe estimator", IEEE SPL 23(1)): ``d_j = lam_j**2 tau**2`` with
  ``lam_j ~ HalfCauchy(1)`` and ``tau ~ HalfCauchy(scale)`` (or ``tau = scale``
  when ``fixed_tau``) — exactly ``Horseshoe.to_pymc``'s ``w_j = z_j lam_j tau``.
  As for the lasso, the coefficient prior is *not* scaled by the noise ``s``
  (Makalic & Schmidt's is, ``d_j = s**2 lam_j**2 tau**2``; their conditionals
  below are rewritten without the ``s**2``). Each half-Cauchy is a scale mixture
  of inverse gammas: ``lam_j**2 | nu_j ~ InvGamma(1/2, 1/nu_j)``,
  ``nu_j ~ InvGamma(1/2, 1)``; ``tau**2 | xi ~ InvGamma(1/2, 1/xi)``,
  ``xi ~ InvGamma(1/2, 1/scale**2)``.
  The regularised horseshoe has no such sampler here: with its slab the
  conditional of ``lam_j`` is not conjugate (nor is that of ``c**2``), so it is
  left to NUTS.

Full conditionals (each is a textbook conjugate update), one helper each:

1. ``theta | d, s**2 ~ N(A^{-1} Z'y / s**2, A^{-1})``, ``A = Z'Z / s**2 + diag(1/d, 0)``
   (the 0 is the flat intercept); drawn through the Cholesky factor of ``A``
   (:func:`_draw_theta`).
2. Laplace: ``1/tau_j**2 | w_j, lam ~ InverseGaussian(mean = lam / |w_j|, shape = lam**2)``.
3. Laplace scale, ``GammaLambdaSq(r, delta)`` on ``lam**2``:
   ``lam**2 | tau ~ Gamma(shape p + r, rate delta + sum_j tau_j**2 / 2)``
   (:func:`_laplace_step`).
   Gaussian scale, ``InverseGamma(a, b)`` on ``sigma**2``:
   ``sigma**2 | w ~ InvGamma(a + p/2, b + |w|**2 / 2)``; ``HalfCauchy(beta)`` on
   ``sigma`` through ``sigma**2 | c ~ InvGamma(1/2, 1/c)``, ``c ~ InvGamma(1/2, 1/beta**2)``:
   ``sigma**2 | w, c ~ InvGamma((p + 1)/2, 1/c + |w|**2/2)``, ``c | sigma**2 ~
   InvGamma(1, 1/sigma**2 + 1/beta**2)`` (Makalic & Schmidt 2016; :func:`_gaussian_step`).
   Horseshoe (``u_j = w_j**2 / 2``; :func:`_horseshoe_step`):
   ``lam_j**2 | w_j, nu_j, tau**2 ~ InvGamma(1, 1/nu_j + u_j / tau**2)``,
   ``nu_j | lam_j**2 ~ InvGamma(1, 1 + 1/lam_j**2)``,
   ``tau**2 | w, lam, xi ~ InvGamma((p + 1)/2, 1/xi + sum_j u_j / lam_j**2)``,
   ``xi | tau**2 ~ InvGamma(1, 1/scale**2 + 1/tau**2)``.
4. Noise, ``InverseGamma(a, b)`` on ``s**2``: ``s**2 | theta ~ InvGamma(a + n/2, b + RSS/2)``;
   ``HalfCauchy(beta)`` on ``s``: the same auxiliary trick with ``n`` and ``RSS``
   (:func:`_noise_step`).

The data enter only through ``Z'Z``, ``Z'y`` and, for the residual sum of
squares, ``RSS(theta) = r0 - 2 (theta - t0)'g0 + (theta - t0)' Z'Z (theta - t0)``
(:mod:`mapreg.posterior.sufficient`).

The sweep is split into one ``@numba.njit(inline="always")`` helper per step, inlined
into :func:`gibbs_chain` by numba itself. Measured against the single 128-line kernel it
replaced (diabetes, one thread, 20,000 + 20,000 sweeps, runs alternated): 0.99-1.06x the
time, median about 1.01x, the same draws bit for bit. Without ``inline="always"`` the split
cost 6-13%.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# the kernel's codes: which coefficient prior (see mapreg.posterior.gibbs.GIBBS_PRIORS) ...
PRIOR_GAUSSIAN, PRIOR_LAPLACE, PRIOR_HORSESHOE = 0, 1, 2
# ... and how a scale (the prior's, the noise's) is given: fixed, or by which hyperprior
FIXED, INVGAMMA, HALFCAUCHY, GAMMA_LAM_SQ = 0, 1, 2, 3

# The horseshoe's variances d_j = lam_j**2 tau**2 are kept inside [_D_MIN, _D_MAX]: a
# coefficient pinned at ~0 drives lam_j**2 towards 0 geometrically, and 1/d_j must stay
# finite for the Cholesky of A. Far beyond any scale the data can resolve.
_D_MIN, _D_MAX = 1e-100, 1e100


@numba.njit(cache=True, nogil=True)
def _inv_gauss(rng, mu, shape):
    """One draw from InverseGaussian(mean mu, shape) (Michael, Schucany & Haas 1976).

    The root ``mu (1 + r - sqrt(r (r + 2)))`` with ``r = mu nu**2 / (2 shape)`` is
    written as ``mu / (1 + r + sqrt(r (r + 2)))``: no cancellation when
    ``mu`` is huge (a coefficient near zero).
    """
    nu = rng.standard_normal()
    r = mu * nu * nu / (2.0 * shape)
    x = mu / (1.0 + r + math.sqrt(r * (r + 2.0)))
    if rng.random() * (mu + x) <= mu:
        return x
    return mu * (mu / x)


@numba.njit(cache=True, nogil=True)
def _inv_gamma(rng, shape, scale):
    """One draw from InvGamma(shape, scale): ``scale / Gamma(shape, 1)``."""
    return scale / rng.gamma(shape, 1.0)


@numba.njit(cache=True, nogil=True, inline="always")
def _draw_theta(rng, ZtZ, Zty, sig2, d, A, z, theta):
    """Step 1, in place: ``theta | d, s^2 ~ N(A^-1 Z'y / s^2, A^-1)``; ``A``, ``z`` are scratch."""
    k = ZtZ.shape[0]
    for i in range(k):
        for j in range(k):
            A[i, j] = ZtZ[i, j] / sig2
    for j in range(d.shape[0]):
        A[j, j] += 1.0 / d[j]
    L = np.linalg.cholesky(A)
    # forward: L u = Z'y / s^2
    for i in range(k):
        acc = Zty[i] / sig2
        for j in range(i):
            acc -= L[i, j] * z[j]
        z[i] = acc / L[i, i]
    # add noise in the whitened space, then back-substitute L' theta = u + eps
    for i in range(k):
        z[i] += rng.standard_normal()
    for i in range(k - 1, -1, -1):
        acc = z[i]
        for j in range(i + 1, k):
            acc -= L[j, i] * theta[j]
        theta[i] = acc / L[i, i]


@numba.njit(cache=True, nogil=True, inline="always")
def _horseshoe_step(rng, theta, d, lam2, nu, tau2, xi, tau_free, beta):
    """Local scales ``lam_j^2`` (and ``nu_j``), then ``tau^2`` (and ``xi``) if it is free.

    Makalic & Schmidt (2016) without their noise factor: mapreg's prior is
    ``w_j ~ N(0, lam_j^2 tau^2)``. Updates ``lam2``, ``nu`` and ``d`` in place;
    returns the new ``(tau2, xi)``.
    """
    p = d.shape[0]
    sum_u = 0.0
    for j in range(p):
        u = 0.5 * theta[j] * theta[j]
        lam2[j] = _inv_gamma(rng, 1.0, 1.0 / nu[j] + u / tau2)
        nu[j] = _inv_gamma(rng, 1.0, 1.0 + 1.0 / lam2[j])
        sum_u += u / lam2[j]
    if tau_free:
        tau2 = _inv_gamma(rng, 0.5 * (p + 1), 1.0 / xi + sum_u)
        xi = _inv_gamma(rng, 1.0, 1.0 / (beta * beta) + 1.0 / tau2)
    for j in range(p):
        d[j] = min(max(lam2[j] * tau2, _D_MIN), _D_MAX)
    return tau2, xi


@numba.njit(cache=True, nogil=True, inline="always")
def _laplace_step(rng, theta, d, lam_sq, scale_mode, r, delta):
    """``1/tau_j^2`` (into ``d`` as ``tau_j^2``), then ``lam^2`` under ``GAMMA_LAM_SQ``."""
    p = d.shape[0]
    sum_tau2 = 0.0
    lam = math.sqrt(lam_sq)
    for j in range(p):
        aw = max(abs(theta[j]), 1e-300)
        inv_tau2 = _inv_gauss(rng, lam / aw, lam_sq)
        d[j] = 1.0 / inv_tau2
        sum_tau2 += d[j]
    if scale_mode == GAMMA_LAM_SQ:
        lam_sq = rng.gamma(p + r, 1.0 / (delta + 0.5 * sum_tau2))
    return lam_sq


@numba.njit(cache=True, nogil=True, inline="always")
def _gaussian_step(rng, theta, d, scale, aux, scale_mode, a, b):
    """The prior sd ``sigma`` under ``INVGAMMA`` / ``HALFCAUCHY`` (``aux``: its mixing variable).

    Fills ``d`` with ``sigma^2``; returns the new ``(sigma, aux)``.
    """
    p = d.shape[0]
    ssw = 0.0
    for j in range(p):
        ssw += theta[j] * theta[j]
    if scale_mode == INVGAMMA:
        scale = math.sqrt(_inv_gamma(rng, a + 0.5 * p, b + 0.5 * ssw))
    elif scale_mode == HALFCAUCHY:
        s2w = _inv_gamma(rng, 0.5 * (p + 1), 1.0 / aux + 0.5 * ssw)
        aux = _inv_gamma(rng, 1.0, 1.0 / s2w + 1.0 / (b * b))
        scale = math.sqrt(s2w)
    for j in range(p):
        d[j] = scale * scale
    return scale, aux


@numba.njit(cache=True, nogil=True, inline="always")
def _rss(theta, ZtZ, t0, r0, g0):
    """``RSS(theta) = r0 - 2 (theta - t0)'g0 + (theta - t0)'Z'Z(theta - t0)``, at least 0."""
    k = ZtZ.shape[0]
    rss = r0
    for i in range(k):
        di = theta[i] - t0[i]
        rss -= 2.0 * di * g0[i]
        q = 0.0
        for j in range(k):
            q += ZtZ[i, j] * (theta[j] - t0[j])
        rss += di * q
    return max(rss, 0.0)


@numba.njit(cache=True, nogil=True, inline="always")
def _noise_step(rng, noise_mode, a, b, n, rss, aux):
    """The noise variance ``s^2`` under ``INVGAMMA`` or ``HALFCAUCHY``; returns ``(s^2, aux)``."""
    if noise_mode == INVGAMMA:
        return _inv_gamma(rng, a + 0.5 * n, b + 0.5 * rss), aux
    sig2 = _inv_gamma(rng, 0.5 * (n + 1), 1.0 / aux + 0.5 * rss)
    return sig2, _inv_gamma(rng, 1.0, 1.0 / sig2 + 1.0 / (b * b))


@numba.njit(cache=True, nogil=True)
def gibbs_chain(ZtZ, Zty, t0, r0, g0, n, p, rng, n_tune, n_draws, thin,
                prior_kind, scale_mode, scale_a, scale_b, scale_init,
                noise_mode, noise_a, noise_b, noise_init,
                out_theta, out_noise, out_scale):
    """Run one chain; fill ``out_theta`` (draws, k), ``out_noise`` (s) and ``out_scale``.

    ``out_scale`` holds the Laplace ``b = 1/lam``, the Gaussian ``sigma`` or the
    horseshoe's global ``tau``. ``rng`` is the chain's own ``numpy.random.Generator``.
    Codes: ``prior_kind`` in {PRIOR_GAUSSIAN, PRIOR_LAPLACE, PRIOR_HORSESHOE};
    ``scale_mode`` in {FIXED, INVGAMMA, HALFCAUCHY, GAMMA_LAM_SQ} (the horseshoe
    takes FIXED, ``tau = scale_init``, or HALFCAUCHY, ``tau ~ HalfCauchy(scale_b)``);
    ``noise_mode`` in {FIXED, INVGAMMA, HALFCAUCHY};
    ``(a, b)`` are the hyperprior's parameters (for HALFCAUCHY, ``a`` is unused
    and ``b`` is beta). Every kept draw (and every warm-up step) is ``thin`` sweeps.
    """
    k = ZtZ.shape[0]
    # over-dispersed starting values for unknown scales, so R-hat can see non-mixing
    sig2 = noise_init * noise_init
    if noise_mode != FIXED:
        sig2 *= math.exp(rng.standard_normal())
    scale = scale_init
    if scale_mode != FIXED:
        scale *= math.exp(0.5 * rng.standard_normal())
    lam_sq = 1.0 / (scale * scale)
    # Laplace: E[tau^2] = 2 / lam^2 = 2 b^2; Gaussian: sigma^2
    d = np.full(p, 2.0 * scale * scale if prior_kind == PRIOR_LAPLACE else scale * scale)
    # horseshoe state: local lam_j^2 (over-dispersed around 1, the median of a
    # HalfCauchy(1)^2), their auxiliaries nu_j, the global tau^2 and its auxiliary xi
    hs_lam2 = np.ones(p)
    hs_nu = np.ones(p)
    hs_tau2 = scale * scale
    hs_xi = 1.0
    if prior_kind == PRIOR_HORSESHOE:
        for j in range(p):
            hs_lam2[j] = math.exp(rng.standard_normal())
            d[j] = min(max(hs_lam2[j] * hs_tau2, _D_MIN), _D_MAX)
    aux_noise = 1.0
    aux_scale = 1.0
    A = np.empty((k, k))
    theta = t0.copy()
    z = np.empty(k)
    for sweep in range((n_tune + n_draws) * thin):
        _draw_theta(rng, ZtZ, Zty, sig2, d, A, z, theta)
        if prior_kind == PRIOR_HORSESHOE:
            hs_tau2, hs_xi = _horseshoe_step(rng, theta, d, hs_lam2, hs_nu, hs_tau2, hs_xi,
                                             scale_mode == HALFCAUCHY, scale_b)
            scale = math.sqrt(hs_tau2)
        elif prior_kind == PRIOR_LAPLACE:
            lam_sq = _laplace_step(rng, theta, d, lam_sq, scale_mode, scale_a, scale_b)
            scale = 1.0 / math.sqrt(lam_sq)
        else:
            scale, aux_scale = _gaussian_step(rng, theta, d, scale, aux_scale, scale_mode,
                                              scale_a, scale_b)
        if noise_mode != FIXED:
            sig2, aux_noise = _noise_step(rng, noise_mode, noise_a, noise_b, n,
                                          _rss(theta, ZtZ, t0, r0, g0), aux_noise)
        it = sweep // thin
        if it >= n_tune and (sweep + 1) % thin == 0:
            t = it - n_tune
            for i in range(k):
                out_theta[t, i] = theta[i]
            out_noise[t] = math.sqrt(sig2)
            out_scale[t] = scale
