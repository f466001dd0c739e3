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
  ``xi ~ InvGamma(1/2, 1/scale**2)``. On the p > n path (Gaussian noise) ``tau`` is instead
  drawn with the coefficients integrated out, by Metropolis on ``log tau``
  (:func:`_horseshoe_tau_collapsed`; Johndrow, Orenstein & Bhattacharya 2020), and each
  local scale with its coefficient integrated out, the pair ``(lam_j, w_j)`` one block
  (:mod:`mapreg.posterior.horseshoe_kernel`): a coefficient with a spike at 0 and a slab
  in its posterior then moves between them at once. The pairs are drawn so on every path
  (from ``Z'Z`` on Rue's, given the weights for the Pólya-Gamma sweep). On Rue's path
  (``k <= n``) ``tau`` is drawn with the coefficients integrated out in ``p``-space, five
  Metropolis steps of a ``k x k`` Cholesky each (:func:`_horseshoe_tau_collapsed_rue`),
  then the coefficients given it: always for the Pólya-Gamma sweep (its ``Z'Omega Z`` costs
  ``2 n k**2`` anyway), for the Gaussian one where a kept draw is one sweep (2,000 x 200:
  tau's bulk ESS 83 -> 447 of 4 x 1,000, R-hat 1.024 -> 1.004, 2.7 -> 7.3 s).
* **RegularizedHorseshoe(scale, slab_scale, slab_df)** (Piironen & Vehtari 2017):
  ``d_j = 1 / (1 / (lam_j**2 tau**2) + 1 / c**2)``, ``c**2 ~ InvGamma(slab_df / 2,
  slab_df slab_scale**2 / 2)``, the rest as the horseshoe. Since
  ``N(w; 0, d) = N(w; 0, a) sqrt(1 + a / c**2) exp(-w**2 / (2 c**2))`` with
  ``a = lam**2 tau**2``, no scale is conjugate any more; :func:`_reg_horseshoe_step` keeps
  every update exact: each ``lam_j**2`` by independence Metropolis-Hastings with the
  horseshoe's conditional as proposal (acceptance ``sqrt(1 + a'/c**2) / sqrt(1 + a/c**2)``),
  ``nu_j`` and ``xi`` as before, ``log tau**2`` and ``log c**2`` by slice sampling
  (Neal 2003) of their exact conditionals, O(p) per density evaluation. Then each
  ``(lam_j, w_j)`` pair as one block, as for the horseshoe, with the slab in ``w_j``'s prior
  variance; on Rue's path ``tau`` is drawn collapsed where the horseshoe's is (the slab in
  ``D``). At p > n ``tau`` is drawn with the coefficients integrated out too (Gaussian
  noise, or given the Pólya-Gamma weights), by :data:`RHS_TAU_MH_STEPS` Metropolis steps
  on ``log tau`` (:func:`rhs_tau_propose`, :func:`rhs_tau_accept`); ``D`` is not linear in
  ``tau**2``, so each proposal forms its own ``n**2 p`` product (numpy's ``syrk`` on the
  Gaussian external-product path). Drawn given the coefficients it mixed slowly (200 x
  1,000 Gaussian: tau's bulk ESS 13 of 4 x 1,000, R-hat 1.22, now 440 and 1.007 for 2.9x
  the time; 300 x 600 logistic: 6 and 1.73, now 183 and 1.034).

Full conditionals (each is a textbook conjugate update), one helper each:

1. ``theta | d, s**2 ~ N(A^{-1} Z'y / s**2, A^{-1})``, ``A = Z'Z / s**2 + diag(1/d, 0)``
   (the 0 is the flat intercept); drawn by Rue's Cholesky of ``A`` or, when ``p > n``, by
   Bhattacharya et al.'s algorithm, which never forms ``A``
   (:mod:`mapreg.posterior.gaussian_draw`). For the Bernoulli family ``Z'Z / s**2`` and
   ``Z'y / s**2`` are ``Z'Omega Z`` and ``Z'kappa`` (Pólya-Gamma weights ``omega_i ~ PG(1,
   eta_i)``, drawn in Python by the ``polyagamma`` package between sweeps, and
   ``kappa = y - 1/2``; Polson, Scott & Windle 2013), and there is no noise step.
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

On Rue's path the Gaussian data enter only through ``Z'Z``, ``Z'y`` and, for the residual
sum of squares, ``RSS(theta) = r0 - 2 (theta - t0)'g0 + (theta - t0)' Z'Z (theta - t0)``
(:mod:`mapreg.posterior.sufficient`); on Bhattacharya's the RSS is summed over the rows.

A chain is :func:`init_state` and then :func:`gibbs_block` over consecutive ranges of
sweeps (or :func:`pg_sweep`, one Pólya-Gamma sweep at a time): its state lives in arrays
between calls, and the draws do not depend on how the sweeps are cut into blocks.

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

from mapreg.posterior.gaussian_draw import (
    RUE,
    bcm_draw,
    bcm_finish,
    design_rows,
    intercept_given_coef,
    rue_draw,
)
from mapreg.posterior.horseshoe_kernel import (
    local_scales_collapsed,
    local_scales_collapsed_gram,
    local_scales_collapsed_weighted,
    prior_variance,
)

# numba keys a cached function by its own file's content: this line changes when a
# module whose jitted code it calls does (tests/test_numba_cache_keys.py)
# numba cache key (callees): gaussian_draw=c1406600 horseshoe_kernel=7d356ede

# the kernel's codes: which coefficient prior (see mapreg.posterior.gibbs.GIBBS_PRIORS) ...
PRIOR_GAUSSIAN, PRIOR_LAPLACE, PRIOR_HORSESHOE, PRIOR_REG_HORSESHOE = 0, 1, 2, 3
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
def _rhs_log_density(which, x, theta, lam2, tau2, c2, xi, slab_a, slab_b):
    """Log conditional density of ``x = log tau**2`` (``which == 0``; given ``xi``) or of
    ``x = log c**2`` (``which == 1``), Jacobian included, up to a constant."""
    e = math.exp(-x)
    acc = 0.0
    if which == 0:
        acc = -0.5 * x - e / xi  # tau**2 | xi ~ InvGamma(1/2, 1/xi)
        for j in range(lam2.shape[0]):
            inv_a = e / lam2[j]
            acc += 0.5 * math.log(inv_a + 1.0 / c2) - 0.5 * theta[j] * theta[j] * inv_a
    else:
        acc = -slab_a * x - slab_b * e  # c**2 ~ InvGamma(slab_a, slab_b)
        for j in range(lam2.shape[0]):
            inv_a = 1.0 / min(max(lam2[j] * tau2, _D_MIN), _D_MAX)
            acc += 0.5 * math.log(inv_a + e) - 0.5 * theta[j] * theta[j] * e
    return acc


@numba.njit(cache=True, nogil=True)
def _rhs_slice(rng, which, x0, theta, lam2, tau2, c2, xi, slab_a, slab_b):
    """One slice-sampling update of ``x0`` (stepping out by 1, then shrinkage; Neal 2003)."""
    level = (_rhs_log_density(which, x0, theta, lam2, tau2, c2, xi, slab_a, slab_b)
             + math.log(1.0 - rng.random()))
    lo = x0 - rng.random()
    hi = lo + 1.0
    for _ in range(100):
        if _rhs_log_density(which, lo, theta, lam2, tau2, c2, xi, slab_a, slab_b) <= level:
            break
        lo -= 1.0
    for _ in range(100):
        if _rhs_log_density(which, hi, theta, lam2, tau2, c2, xi, slab_a, slab_b) <= level:
            break
        hi += 1.0
    while True:
        x = lo + (hi - lo) * rng.random()
        if _rhs_log_density(which, x, theta, lam2, tau2, c2, xi, slab_a, slab_b) > level:
            return x
        if x < x0:
            lo = x
        else:
            hi = x


@numba.njit(cache=True, nogil=True, inline="always")
def _reg_horseshoe_step(rng, theta, d, lam2, nu, tau2, xi, c2, beta, slab_a, slab_b,
                        tau_free):
    """The regularised horseshoe's scales (module docstring); returns ``(tau2, xi, c2)``.
    ``tau_free``: ``tau`` is slice-sampled here (else it was drawn collapsed before)."""
    p = d.shape[0]
    for j in range(p):
        u = 0.5 * theta[j] * theta[j]
        prop = _inv_gamma(rng, 1.0, 1.0 / nu[j] + u / tau2)
        # independence MH: the horseshoe's conditional proposes, the slab factor decides
        if rng.random() * math.sqrt(1.0 + lam2[j] * tau2 / c2) <= math.sqrt(
                1.0 + prop * tau2 / c2):
            lam2[j] = prop
        nu[j] = _inv_gamma(rng, 1.0, 1.0 + 1.0 / lam2[j])
    if tau_free:
        tau2 = math.exp(_rhs_slice(rng, 0, math.log(tau2), theta, lam2, tau2, c2, xi, slab_a,
                                   slab_b))
    xi = _inv_gamma(rng, 1.0, 1.0 / (beta * beta) + 1.0 / tau2)
    c2 = math.exp(_rhs_slice(rng, 1, math.log(c2), theta, lam2, tau2, c2, xi, slab_a, slab_b))
    for j in range(p):
        d[j] = prior_variance(lam2[j], tau2, 1.0 / c2)
    return tau2, xi, c2


@numba.njit(cache=True, nogil=True, inline="always")
def _external(Gext, n):
    """Whether the sweep's ``n x n`` product ``B B'`` was computed outside (by numpy).

    numpy's ``B @ B.T`` recognises the symmetric product and calls BLAS ``syrk`` (half the
    flops of the ``gemm`` numba's ``np.dot`` calls; the whole sweep at 200 x 10,000: 14 ms
    against 21 ms): where that product dominates the sweep, the chain runner computes it
    between kernel calls (:func:`design_next`). ``Gext`` is ``n x n`` then, else ``0 x 0``.
    """
    return Gext.shape[0] == n and Gext.shape[1] == n


@numba.njit(cache=True, nogil=True, inline="always")
def _design(X, xbar, v, s, B):
    """``B = (X - 1 xbar') diag(sqrt(v)) / s``: ``Phi D^{1/2}`` (``v = d``) or
    ``Phi Lambda^{1/2}`` (``v = lam2``)."""
    n, p = X.shape
    c = np.empty(p)
    for j in range(p):
        c[j] = math.sqrt(v[j]) / s
    for i in range(n):
        for j in range(p):
            B[i, j] = (X[i, j] - xbar[j]) * c[j]


# Random-walk Metropolis proposals per sweep, and their sd, for log tau in
# _horseshoe_tau_collapsed (each one n x n Cholesky, a few percent of the sweep) and
# _horseshoe_tau_collapsed_rue (each one k x k Cholesky; 2,000 x 200 logistic: +36%).
TAU_MH_STEPS, TAU_MH_SD = 5, 0.3


@numba.njit(cache=True, nogil=True)
def _collapsed_log_post(G, alpha, log_tau, beta):
    """``log p(tau | lam, y)`` with the coefficients integrated out, on the log-tau scale:
    ``-log|I + tau^2 G| / 2 - alpha'(I + tau^2 G)^-1 alpha / 2 + log HalfCauchy(tau) + log tau``
    (:func:`_tau_log_marginal` with ``Phi D Phi' = tau^2 G``)."""
    return _tau_log_marginal(math.exp(2.0 * log_tau) * G, alpha, log_tau, beta,
                             np.empty(G.shape[0]))


@numba.njit(cache=True, nogil=True)
def _tau_log_marginal(G, alpha, log_tau, beta, v):
    """``log N(alpha; 0, I + G) + log HalfCauchy(tau) + log tau`` (up to a constant), with
    ``G = Phi D Phi'`` at this ``tau`` (not changed); ``v`` (n) is scratch."""
    n = G.shape[0]
    M = G.copy()
    for i in range(n):
        M[i, i] += 1.0
    logdet, q = _logdet_and_quad(M, alpha, v)
    t2 = math.exp(2.0 * log_tau)
    return -0.5 * logdet - 0.5 * q - math.log1p(t2 / (beta * beta)) + log_tau


@numba.njit(cache=True, nogil=True, inline="always")
def _logdet_and_quad(M, b, v):
    """``(log|M|, b'M^-1 b)`` by one Cholesky ``M = L L'`` and ``L v = b`` (``v``: scratch)."""
    L = np.linalg.cholesky(M)
    logdet = 0.0
    q = 0.0
    for i in range(M.shape[0]):
        acc = b[i]
        for j in range(i):
            acc -= L[i, j] * v[j]
        v[i] = acc / L[i, i]
        q += v[i] * v[i]
        logdet += 2.0 * math.log(L[i, i])
    return logdet, q


@numba.njit(cache=True, nogil=True)
def _horseshoe_tau_collapsed(rng, X, xbar, resp, sig2, lam2, tau2, beta, B, Gext):
    """``tau | lam, y`` with the coefficients (and flat intercept) integrated out.

    The global scale of a Gibbs horseshoe mixes very slowly at p >> n when drawn given the
    coefficients (a 200 x 10,000 problem: R-hat 1.98 after 1,000 + 1,000 sweeps); drawn
    from its marginal, then the coefficients given it, it does not (Johndrow, Orenstein &
    Bhattacharya 2020). With ``Phi = (X - 1 xbar') / s``, ``alpha = resp / s`` (``resp`` is
    ``y`` centred when the intercept is fitted) the marginal likelihood is
    ``N(alpha; 0, I + tau^2 Phi Lambda Phi')``; ``G = Phi Lambda Phi'`` costs ``n**2 p``
    once, each Metropolis proposal an ``n**3 / 3`` Cholesky. Returns the new ``tau2`` and
    ``G``, and leaves ``Phi Lambda^{1/2}`` in ``B``: the coefficient draw given ``tau`` reuses
    them (``Phi D Phi' = tau^2 G``), so the sweep costs one ``n**2 p`` product, not two.
    With an external product (:func:`_external`) ``B`` and ``G = B B'`` arrive ready.
    """
    n = X.shape[0]
    s = math.sqrt(sig2)
    if _external(Gext, n):
        G = Gext
    else:
        _design(X, xbar, lam2, s, B)
        G = np.dot(B, B.T)
    alpha = np.empty(n)
    for i in range(n):
        alpha[i] = resp[i] / s
    x = 0.5 * math.log(tau2)
    lp = _collapsed_log_post(G, alpha, x, beta)
    for _ in range(TAU_MH_STEPS):
        x_new = x + TAU_MH_SD * rng.standard_normal()
        lp_new = _collapsed_log_post(G, alpha, x_new, beta)
        if math.log(1.0 - rng.random()) < lp_new - lp:
            x, lp = x_new, lp_new
    return math.exp(2.0 * x), G


@numba.njit(cache=True, nogil=True)
def _rue_collapsed_log_post(A, bvec, lam2, log_tau, beta, M, v, inv_c2):
    """``log p(log tau | lam, data)`` with the coefficients (and flat intercept) integrated
    out, in p-space: with ``d_j = lam_j^2 tau^2`` (or the regularised horseshoe's
    ``1 / (1 / (lam_j^2 tau^2) + inv_c2)``; clipped as the kernel clips it) and
    ``P = A + D^-1`` (``A``, ``b``: the likelihood's precision and linear term in ``theta``),
    ``-sum_j log d_j / 2 - log|P| / 2 + b'P^-1 b / 2 + log HalfCauchy(tau) + log tau``.
    ``M`` (k x k) and ``v`` (k) are scratch."""
    k = A.shape[0]
    t2 = math.exp(2.0 * log_tau)
    for i in range(k):
        for j in range(k):
            M[i, j] = A[i, j]
    half_logdet_d = 0.0
    for j in range(lam2.shape[0]):
        dj = prior_variance(lam2[j], t2, inv_c2)
        M[j, j] += 1.0 / dj
        half_logdet_d += 0.5 * math.log(dj)
    logdet, q = _logdet_and_quad(M, bvec, v)
    return -half_logdet_d - 0.5 * logdet + 0.5 * q - math.log1p(t2 / (beta * beta)) + log_tau


@numba.njit(cache=True, nogil=True)
def _horseshoe_tau_collapsed_rue(rng, A, bvec, lam2, tau2, beta, inv_c2):
    """``tau | lam, data`` with the coefficients integrated out, on Rue's path (``k <= n``):
    :data:`TAU_MH_STEPS` random-walk Metropolis steps on ``log tau``, each a ``k x k``
    Cholesky (:func:`_rue_collapsed_log_post`). Used for the Pólya-Gamma sweep, whose
    ``Z'Omega Z`` (``2 n k**2``) dwarfs them; drawn given the coefficients the global scale
    mixed slowly there (2,000 x 200 logistic horseshoe: tau's bulk ESS 16 of 2 x 1,000)."""
    k = A.shape[0]
    M = np.empty((k, k))
    v = np.empty(k)
    x = 0.5 * math.log(tau2)
    lp = _rue_collapsed_log_post(A, bvec, lam2, x, beta, M, v, inv_c2)
    for _ in range(TAU_MH_STEPS):
        x_new = x + TAU_MH_SD * rng.standard_normal()
        lp_new = _rue_collapsed_log_post(A, bvec, lam2, x_new, beta, M, v, inv_c2)
        if math.log(1.0 - rng.random()) < lp_new - lp:
            x, lp = x_new, lp_new
    return math.exp(2.0 * x)


#: Metropolis steps on ``log tau`` per sweep for the regularised horseshoe at p > n
#: (:func:`rhs_tau_propose`), each with its own ``n x n`` product. 200 x 1,000, 4 x 1,000
#: draws, one BLAS thread, tau's bulk ESS / R-hat / wall: 1 step 232 / 1.042 / 20.5 s,
#: 2: 328 / 1.013 / 23.3 s, 3: 440 / 1.007 / 26.6 s, 6: 634 / 1.004 / 58 s (the 1- and
#: 6-step runs with the products in the kernel, ~1.5x dearer; drawn given the
#: coefficients: 13 / 1.22 / 9.3 s). Three is the fewest that did not warn.
RHS_TAU_MH_STEPS = 3


# ---------------------------------------------------------------- one chain, block by block
# ipar: the integer settings of a chain; fpar: its float settings; sc: its scalar state
I_FAMILY, I_METHOD, I_INTERCEPT, I_PRIOR, I_SCALE_MODE, I_NOISE_MODE, I_THIN, I_TUNE, I_N = range(9)
F_SCALE_A, F_SCALE_B, F_NOISE_A, F_NOISE_B, F_YBAR, F_R0, F_SLAB_A, F_SLAB_B = range(8)
S_SIG2, S_AUX_NOISE, S_AUX_SCALE, S_LAM_SQ, S_SCALE, S_TAU2, S_XI, S_C2 = range(8)
# ... and, within one sweep, the regularised horseshoe's proposed log tau and the log
# marginal at the current one (:func:`rhs_tau_propose`, :func:`rhs_tau_accept`)
S_LOG_TAU_NEW, S_LOG_MARGINAL = 8, 9
N_IPAR, N_FPAR, N_STATE = 9, 8, 10
# the likelihood: Gaussian noise, or Bernoulli through Pólya-Gamma weights omega
GAUSSIAN, BERNOULLI = 0, 1


@numba.njit(cache=True, nogil=True)
def init_state(rng, ipar, fpar, scale_init, noise_init, theta, d, lam2, nu, sc):
    """Starting values: over-dispersed unknown scales, so R-hat can see non-mixing.

    ``theta`` keeps what the caller put there (it is drawn first in a Gaussian sweep; a
    Pólya-Gamma sweep draws the weights from it first).
    """
    prior_kind = ipar[I_PRIOR]
    sig2 = noise_init * noise_init
    if ipar[I_NOISE_MODE] != FIXED:
        sig2 *= math.exp(rng.standard_normal())
    scale = scale_init
    if ipar[I_SCALE_MODE] != FIXED:
        scale *= math.exp(0.5 * rng.standard_normal())
    p = d.shape[0]
    # Laplace: E[tau^2] = 2 / lam^2 = 2 b^2; Gaussian: sigma^2
    for j in range(p):
        d[j] = 2.0 * scale * scale if prior_kind == PRIOR_LAPLACE else scale * scale
        lam2[j] = 1.0
        nu[j] = 1.0
    # horseshoe: local lam_j^2 over-dispersed around 1 (the median of a HalfCauchy(1)^2),
    # their auxiliaries nu_j, the global tau^2 and its auxiliary xi
    tau2 = scale * scale
    c2 = 1.0
    if prior_kind == PRIOR_REG_HORSESHOE:
        # the slab variance, over-dispersed around slab_scale**2
        c2 = fpar[F_SLAB_B] / fpar[F_SLAB_A] * math.exp(0.5 * rng.standard_normal())
    if prior_kind == PRIOR_HORSESHOE or prior_kind == PRIOR_REG_HORSESHOE:
        for j in range(p):
            lam2[j] = math.exp(rng.standard_normal())
            d[j] = prior_variance(lam2[j], tau2,
                                  1.0 / c2 if prior_kind == PRIOR_REG_HORSESHOE else 0.0)
    sc[S_SIG2] = sig2
    sc[S_AUX_NOISE] = 1.0
    sc[S_AUX_SCALE] = 1.0
    sc[S_LAM_SQ] = 1.0 / (scale * scale)
    sc[S_SCALE] = scale
    sc[S_TAU2] = tau2
    sc[S_XI] = 1.0
    sc[S_C2] = c2


@numba.njit(cache=True, nogil=True, inline="always")
def _likelihood_precision(ipar, ZtZ, Zty, X, omega, sig2, A, bvec, B):
    """Rue's ``A`` (likelihood part) and ``b``: ``Z'Z / s^2``, ``Z'y / s^2`` or ``Z'Omega Z``.

    For the Pólya-Gamma path ``Zty`` holds ``Z'kappa`` and ``B`` (n x p) is scratch.
    """
    k = A.shape[0]
    if ipar[I_FAMILY] == GAUSSIAN:
        for i in range(k):
            for j in range(k):
                A[i, j] = ZtZ[i, j] / sig2
        for i in range(k):
            bvec[i] = Zty[i] / sig2
        return
    n, p = X.shape
    for i in range(n):
        s = math.sqrt(omega[i])
        for j in range(p):
            B[i, j] = s * X[i, j]
    XwX = np.dot(B.T, B)
    for i in range(p):
        for j in range(p):
            A[i, j] = XwX[i, j]
    if ipar[I_INTERCEPT] != 0:
        W = 0.0
        for i in range(n):
            W += omega[i]
        for j in range(p):
            acc = 0.0
            for i in range(n):
                acc += omega[i] * X[i, j]
            A[j, p] = acc
            A[p, j] = acc
        A[p, p] = W
    for i in range(k):
        bvec[i] = Zty[i]


@numba.njit(cache=True, nogil=True)
def _pg_working(icpt, X, kappa, omega, xbar, sw, alpha):
    """The Pólya-Gamma sweep's Gaussian working model for Bhattacharya's draw: ``z_i =
    kappa_i / omega_i`` with noise variance ``1 / omega_i``; writes the omega-weighted column
    means ``xbar`` (zeros without intercept), ``sw = sqrt(omega)`` and ``alpha = sw (z -
    zbar)``; returns ``(W, zbar)``, ``W = sum omega``."""
    n, p = X.shape
    W = 0.0
    zk = 0.0
    for i in range(n):
        W += omega[i]
        zk += kappa[i]
    zbar = zk / W if icpt else 0.0
    for j in range(p):
        xbar[j] = 0.0
    if icpt:
        for i in range(n):
            wi = omega[i] / W
            for j in range(p):
                xbar[j] += wi * X[i, j]
    for i in range(n):
        sw[i] = math.sqrt(omega[i])
        alpha[i] = sw[i] * (kappa[i] / omega[i] - zbar)
    return W, zbar


@numba.njit(cache=True, nogil=True, inline="always")
def _bcm_theta(rng, ipar, fpar, X, resp, omega, sig2, theta, d, xbar, B, sw, alpha):
    """``theta`` by Bhattacharya et al., the flat intercept integrated out and drawn after."""
    n, p = X.shape
    icpt = ipar[I_INTERCEPT] != 0
    if ipar[I_FAMILY] == GAUSSIAN:
        # omega_i = 1/s^2, z = y: xbar (the column means) and resp = y - ybar are fixed
        s = math.sqrt(sig2)
        W = n / sig2
        zbar = fpar[F_YBAR]
        for i in range(n):
            sw[i] = 1.0 / s
            alpha[i] = resp[i] / s
    else:
        W, zbar = _pg_working(icpt, X, resp, omega, xbar, sw, alpha)
    coef = theta[:p]
    bcm_draw(rng, X, sw, xbar, alpha, d, B, coef)
    if icpt:
        theta[p] = intercept_given_coef(rng, coef, xbar, zbar, W)


@numba.njit(cache=True, nogil=True, inline="always")
def _rss_direct(X, y, theta, icpt):
    """``|y - X w - w0|^2`` in O(np), for the path that keeps no ``Z'Z``."""
    n, p = X.shape
    w0 = theta[p] if icpt else 0.0
    rss = 0.0
    for i in range(n):
        r = y[i] - w0
        for j in range(p):
            r -= X[i, j] * theta[j]
        rss += r * r
    return rss


@numba.njit(cache=True, nogil=True, inline="always")
def _pairs(rng, ipar, ZtZ, Zty, X, XT, colsq, y, theta, lam2, nu, d, tau2, sig2, inv_c2):
    """The Gaussian sweep's ``(lam_j, w_j)`` blocks (:mod:`mapreg.posterior.horseshoe_kernel`):
    from the rows where ``XT`` is given (Bhattacharya's path), from ``Z'Z`` on Rue's; the
    Pólya-Gamma sweep draws its own given the weights (:func:`pg_sweep`)."""
    if XT.shape[0] > 0:
        local_scales_collapsed(rng, X, XT, colsq, y, theta, ipar[I_INTERCEPT] != 0, lam2, nu,
                               d, tau2, sig2, inv_c2)
    elif ipar[I_METHOD] == RUE and ipar[I_FAMILY] == GAUSSIAN:
        local_scales_collapsed_gram(rng, ZtZ, Zty, theta, lam2, nu, d, tau2, sig2, inv_c2)


@numba.njit(cache=True, nogil=True)
def rhs_collapsed_tau(ipar):
    """Whether the regularised horseshoe's ``tau`` is drawn collapsed at p > n (half-Cauchy
    ``tau``, Bhattacharya's path, Gaussian noise or Pólya-Gamma weights;
    :func:`rhs_tau_propose`)."""
    return (ipar[I_PRIOR] == PRIOR_REG_HORSESHOE and ipar[I_SCALE_MODE] == HALFCAUCHY
            and ipar[I_METHOD] != RUE)


@numba.njit(cache=True, nogil=True)
def rhs_tau_propose(rng, X, xbar, lam2, sc, sw, B2):
    """A random-walk proposal for the regularised horseshoe's ``log tau`` at p > n, with the
    coefficients and the flat intercept integrated out.

    The marginal likelihood is ``N(alpha; 0, I + Phi D Phi')``: Gaussian noise ``s``,
    ``Phi = (X - 1 xbar') / s``, ``alpha = resp / s`` (``sw`` empty), as for the horseshoe
    (:func:`_horseshoe_tau_collapsed`); given Pólya-Gamma weights, the working model's
    ``Phi = diag(sw) (X - 1 xbar')``, ``alpha = sw (z - zbar)`` (:func:`_pg_working`; the
    flat intercept integrated out is the projection off ``sw``, where ``alpha`` and ``Phi``
    have no component). The slab makes ``d_j = 1 / (1 / (lam_j^2 tau^2) + 1 / c^2)``
    non-linear in ``tau^2``: each proposal needs its own product ``Phi D Phi'``
    (``n**2 p``), not one ``n x n`` Cholesky. This draws ``log tau' = log tau + TAU_MH_SD e``
    into the state and writes ``B2 = Phi D(tau')^{1/2}``; its product ``G2 = B2 B2'`` is
    formed next (by numpy's ``syrk`` on the Gaussian external-product path), then
    :func:`rhs_tau_accept` decides. :data:`RHS_TAU_MH_STEPS` such steps a sweep.
    """
    x_new = 0.5 * math.log(sc[S_TAU2]) + TAU_MH_SD * rng.standard_normal()
    sc[S_LOG_TAU_NEW] = x_new
    t2 = math.exp(2.0 * x_new)
    inv_c2 = 1.0 / sc[S_C2]
    d2 = np.empty(lam2.shape[0])
    for j in range(lam2.shape[0]):
        d2[j] = prior_variance(lam2[j], t2, inv_c2)
    if sw.shape[0] == 0:
        _design(X, xbar, d2, math.sqrt(sc[S_SIG2]), B2)
    else:
        design_rows(X, xbar, d2, sw, B2)


@numba.njit(cache=True, nogil=True)
def gaussian_alpha(resp, sc, alpha):
    """``alpha = resp / s`` for :func:`rhs_tau_accept` (Gaussian noise)."""
    s = math.sqrt(sc[S_SIG2])
    for i in range(resp.shape[0]):
        alpha[i] = resp[i] / s


@numba.njit(cache=True, nogil=True)
def rhs_tau_accept(rng, fpar, lam2, d, sc, G, G2, first, alpha):
    """Accept or refuse :func:`rhs_tau_propose`'s ``tau'`` (Metropolis on ``log tau``).

    ``G = Phi D Phi'`` at the current ``tau``, ``G2`` at ``tau'``; ``alpha`` as there.
    ``first``: the first step of the sweep (the current log marginal is computed, else
    reused from the state). On acceptance ``tau`` and ``d`` move to ``tau'``; returns
    whether they did (the caller then swaps its ``B, B2`` and ``G, G2``)."""
    beta = fpar[F_SCALE_B]
    v = np.empty(G.shape[0])
    if first:
        sc[S_LOG_MARGINAL] = _tau_log_marginal(G, alpha, 0.5 * math.log(sc[S_TAU2]), beta, v)
    x_new = sc[S_LOG_TAU_NEW]
    lp_new = _tau_log_marginal(G2, alpha, x_new, beta, v)
    if math.log(1.0 - rng.random()) < lp_new - sc[S_LOG_MARGINAL]:
        sc[S_LOG_MARGINAL] = lp_new
        t2 = math.exp(2.0 * x_new)
        sc[S_TAU2] = t2
        inv_c2 = 1.0 / sc[S_C2]
        for j in range(lam2.shape[0]):
            d[j] = prior_variance(lam2[j], t2, inv_c2)
        return True
    return False


@numba.njit(cache=True, nogil=True, inline="always")
def _rhs_tau_collapsed(rng, fpar, X, xbar, lam2, d, sc, sw, B, B2, alpha):
    """:data:`RHS_TAU_MH_STEPS` steps of :func:`rhs_tau_propose` / :func:`rhs_tau_accept`
    with the products formed here (the fused kernel's path and the Pólya-Gamma sweep's; the
    Gaussian external-product runner makes the same calls, in the same order, from Python).
    ``alpha`` (and ``sw``, ``xbar`` for the weights) filled. Returns ``B`` and ``G`` at the
    accepted ``tau`` for the coefficient draw."""
    if sw.shape[0] == 0:
        _design(X, xbar, d, math.sqrt(sc[S_SIG2]), B)
    else:
        design_rows(X, xbar, d, sw, B)
    G = np.dot(B, B.T)
    for step in range(RHS_TAU_MH_STEPS):
        rhs_tau_propose(rng, X, xbar, lam2, sc, sw, B2)
        G2 = np.dot(B2, B2.T)
        if rhs_tau_accept(rng, fpar, lam2, d, sc, G, G2, step == 0, alpha):
            B, B2 = B2, B
            G, G2 = G2, G
    return B, G


@numba.njit(cache=True, nogil=True, inline="always")
def _sweep(rng, ipar, fpar, ZtZ, Zty, t0, g0, X, y, resp, omega, theta, d, lam2, nu, sc,
           A, bvec, z, xbar, B, sw, alpha, Gext, XT, colsq, B2):
    """One Gibbs sweep: ``theta``, then the prior's scales, then the noise (Gaussian).

    ``XT`` (``X'``, contiguous) and ``colsq`` (``|x_j|**2``), when not empty, make the
    horseshoe's local scales one block update with their coefficients each
    (:func:`mapreg.posterior.horseshoe_kernel.local_scales_collapsed`).

    With an external product (:func:`_external`; Gaussian noise, Bhattacharya's path) the
    sweep starts from ``B`` and ``G = B B'`` made from the current state and ends by
    writing the next sweep's ``B`` (:func:`design_next`).
    """
    sig2 = sc[S_SIG2]
    prior_kind = ipar[I_PRIOR]
    scale_mode = ipar[I_SCALE_MODE]
    # 0. the horseshoe's global scale with the coefficients integrated out (p > n, Gaussian)
    collapsed = (prior_kind == PRIOR_HORSESHOE and scale_mode == HALFCAUCHY
                 and ipar[I_METHOD] != RUE and ipar[I_FAMILY] == GAUSSIAN)
    # ... and in p-space on Rue's path (k <= n): for the Pólya-Gamma sweep, whose Z'Omega Z
    # dwarfs the five k x k Choleskys, and for the Gaussian one where a kept draw is a single
    # sweep (a Gaussian Rue sweep is one such Cholesky: where sweeps are cheap enough to
    # thin, ten of them mix tau for less; 500 x 100: 287 against 217 ESS/s)
    horseshoes = prior_kind == PRIOR_HORSESHOE or prior_kind == PRIOR_REG_HORSESHOE
    rue_collapsed = (horseshoes and scale_mode == HALFCAUCHY and ipar[I_METHOD] == RUE
                     and (ipar[I_FAMILY] == BERNOULLI or ipar[I_THIN] == 1))
    # the regularised horseshoe's slab: d_j = 1 / (1 / (lam_j^2 tau^2) + inv_c2)
    inv_c2 = 1.0 / sc[S_C2] if prior_kind == PRIOR_REG_HORSESHOE else 0.0
    rhs_collapsed = rhs_collapsed_tau(ipar)
    if collapsed:
        tau2, G = _horseshoe_tau_collapsed(rng, X, xbar, resp, sig2, lam2, sc[S_TAU2],
                                           fpar[F_SCALE_B], B, Gext)
        sc[S_TAU2] = tau2
        n, p = X.shape
        tau = math.sqrt(tau2)
        sd = np.empty(p)
        for j in range(p):
            d[j] = min(max(lam2[j] * tau2, _D_MIN), _D_MAX)
            sd[j] = math.sqrt(lam2[j]) * tau  # D^{1/2}, as in B (d is clipped for later)
        M = tau2 * G
        s = math.sqrt(sig2)
        for i in range(n):
            M[i, i] += 1.0
            alpha[i] = resp[i] / s
        # B holds Phi Lambda^{1/2}; Phi D^{1/2} = tau B, passed as a scalar (no n x p pass)
        bcm_finish(rng, B, M, alpha, sd, theta[:p], tau)
        if ipar[I_INTERCEPT] != 0:
            theta[p] = intercept_given_coef(rng, theta[:p], xbar, fpar[F_YBAR], n / sig2)
    elif rhs_collapsed and not _external(Gext, X.shape[0]):
        # the regularised horseshoe's (tau, theta) as one block at p > n; on the external-
        # product path the runner has drawn tau already and the branch below draws theta
        if ipar[I_FAMILY] == GAUSSIAN:
            gaussian_alpha(resp, sc, alpha)
            Bacc, G = _rhs_tau_collapsed(rng, fpar, X, xbar, lam2, d, sc, np.empty(0), B, B2,
                                         alpha)
            _bcm_theta_external(rng, ipar, fpar, resp, sig2, theta, d, xbar, Bacc, G)
        else:
            n, p = X.shape
            W, zbar = _pg_working(ipar[I_INTERCEPT] != 0, X, resp, omega, xbar, sw, alpha)
            Bacc, G = _rhs_tau_collapsed(rng, fpar, X, xbar, lam2, d, sc, sw, B, B2, alpha)
            M = G.copy()
            for i in range(n):
                M[i, i] += 1.0
            bcm_finish(rng, Bacc, M, alpha, np.sqrt(d), theta[:p])
            if ipar[I_INTERCEPT] != 0:
                theta[p] = intercept_given_coef(rng, theta[:p], xbar, zbar, W)
    # 1. theta | d, s^2 (or omega)
    elif ipar[I_METHOD] == RUE:
        _likelihood_precision(ipar, ZtZ, Zty, X, omega, sig2, A, bvec, B)
        if rue_collapsed:  # (tau, theta) as one block: tau with theta integrated out first
            tau2 = _horseshoe_tau_collapsed_rue(rng, A, bvec, lam2, sc[S_TAU2],
                                                fpar[F_SCALE_B], inv_c2)
            sc[S_TAU2] = tau2
            for j in range(d.shape[0]):
                d[j] = prior_variance(lam2[j], tau2, inv_c2)
        rue_draw(rng, A, bvec, d, z, theta)
    elif _external(Gext, X.shape[0]):
        _bcm_theta_external(rng, ipar, fpar, resp, sig2, theta, d, xbar, B, Gext)
    else:
        _bcm_theta(rng, ipar, fpar, X, resp, omega, sig2, theta, d, xbar, B, sw, alpha)
    # 2. the prior's variances d_j and scales
    if prior_kind == PRIOR_HORSESHOE and XT.shape[0] > 0:
        # tau is fixed or drawn collapsed above: only the (lam_j, w_j) blocks
        _pairs(rng, ipar, ZtZ, Zty, X, XT, colsq, y, theta, lam2, nu, d, sc[S_TAU2], sig2, 0.0)
        sc[S_SCALE] = math.sqrt(sc[S_TAU2])
    elif prior_kind == PRIOR_HORSESHOE:
        tau2, xi = _horseshoe_step(rng, theta, d, lam2, nu, sc[S_TAU2], sc[S_XI],
                                   scale_mode == HALFCAUCHY and not collapsed
                                   and not rue_collapsed, fpar[F_SCALE_B])
        sc[S_TAU2] = tau2
        sc[S_XI] = xi
        sc[S_SCALE] = math.sqrt(tau2)
        # then each (lam_j, w_j) as one block (a null's spike and slab)
        _pairs(rng, ipar, ZtZ, Zty, X, XT, colsq, y, theta, lam2, nu, d, tau2, sig2, 0.0)
    elif prior_kind == PRIOR_REG_HORSESHOE:
        tau2, xi, c2 = _reg_horseshoe_step(rng, theta, d, lam2, nu, sc[S_TAU2], sc[S_XI],
                                           sc[S_C2], fpar[F_SCALE_B], fpar[F_SLAB_A],
                                           fpar[F_SLAB_B],
                                           not rue_collapsed and not rhs_collapsed)
        sc[S_TAU2] = tau2
        sc[S_XI] = xi
        sc[S_C2] = c2
        # then each (lam_j, w_j) as one block given tau and c^2 (a null's spike and slab)
        _pairs(rng, ipar, ZtZ, Zty, X, XT, colsq, y, theta, lam2, nu, d, tau2, sig2, 1.0 / c2)
        sc[S_SCALE] = math.sqrt(tau2)
    elif prior_kind == PRIOR_LAPLACE:
        lam_sq = _laplace_step(rng, theta, d, sc[S_LAM_SQ], scale_mode, fpar[F_SCALE_A],
                               fpar[F_SCALE_B])
        sc[S_LAM_SQ] = lam_sq
        sc[S_SCALE] = 1.0 / math.sqrt(lam_sq)
    else:
        scale, aux = _gaussian_step(rng, theta, d, sc[S_SCALE], sc[S_AUX_SCALE], scale_mode,
                                    fpar[F_SCALE_A], fpar[F_SCALE_B])
        sc[S_SCALE] = scale
        sc[S_AUX_SCALE] = aux
    # 3. the noise
    if ipar[I_FAMILY] == GAUSSIAN and ipar[I_NOISE_MODE] != FIXED:
        if ipar[I_METHOD] == RUE:
            rss = _rss(theta, ZtZ, t0, fpar[F_R0], g0)
        else:
            rss = _rss_direct(X, y, theta, ipar[I_INTERCEPT] != 0)
        sig2, aux = _noise_step(rng, ipar[I_NOISE_MODE], fpar[F_NOISE_A], fpar[F_NOISE_B],
                                ipar[I_N], rss, sc[S_AUX_NOISE])
        sc[S_SIG2] = sig2
        sc[S_AUX_NOISE] = aux
    if _external(Gext, X.shape[0]):
        design_next(ipar, X, xbar, lam2, d, sc, B)


@numba.njit(cache=True, nogil=True)
def design_next(ipar, X, xbar, lam2, d, sc, B):
    """The next sweep's ``B`` on the external-product path, from the chain's state.

    The collapsed horseshoe's ``Phi Lambda^{1/2}`` (``tau`` is drawn next), else
    ``Phi D^{1/2}``; ``Phi = (X - 1 xbar') / s``.
    """
    s = math.sqrt(sc[S_SIG2])
    if ipar[I_PRIOR] == PRIOR_HORSESHOE and ipar[I_SCALE_MODE] == HALFCAUCHY:
        _design(X, xbar, lam2, s, B)
    else:
        _design(X, xbar, d, s, B)


@numba.njit(cache=True, nogil=True, inline="always")
def _bcm_theta_external(rng, ipar, fpar, resp, sig2, theta, d, xbar, B, G):
    """:func:`_bcm_theta` (Gaussian noise) from ``B = Phi D^{1/2}`` and ``G = B B'`` given."""
    n, p = B.shape
    s = math.sqrt(sig2)
    M = G.copy()
    alpha = np.empty(n)
    for i in range(n):
        M[i, i] += 1.0
        alpha[i] = resp[i] / s
    sd = np.sqrt(d)
    coef = theta[:p]
    bcm_finish(rng, B, M, alpha, sd, coef)
    if ipar[I_INTERCEPT] != 0:
        theta[p] = intercept_given_coef(rng, coef, xbar, fpar[F_YBAR], n / sig2)


@numba.njit(cache=True, nogil=True, inline="always")
def _keep(sweep, ipar, theta, sc, out_coef, out_icpt, out_noise, out_scale):
    """Store the state after ``sweep`` if it is a kept draw (past warm-up, every thin-th)."""
    thin = ipar[I_THIN]
    it = sweep // thin
    if it >= ipar[I_TUNE] and (sweep + 1) % thin == 0:
        t = it - ipar[I_TUNE]
        p = out_coef.shape[1]
        for i in range(p):
            out_coef[t, i] = theta[i]
        out_icpt[t] = theta[p] if ipar[I_INTERCEPT] != 0 else 0.0
        out_noise[t] = math.sqrt(sc[S_SIG2])
        out_scale[t] = sc[S_SCALE]


@numba.njit(cache=True, nogil=True)
def gibbs_block(rng, ipar, fpar, ZtZ, Zty, t0, g0, X, y, resp, theta, d, lam2, nu, sc,
                A, bvec, z, xbar, B, sw, alpha, Gext, XT, colsq, B2, start, stop, out_coef,
                out_icpt, out_noise, out_scale):
    """Sweeps ``start, ..., stop - 1`` of a Gaussian-noise chain, from and into its state.

    The chain is ``init_state`` followed by blocks covering ``0 .. (tune + draws) * thin``;
    however it is cut into blocks, the draws are the same (``rng`` carries on).
    ``Gext``: ``0 x 0``, or ``B B'`` computed outside (one sweep per call; :func:`_external`).
    """
    omega = np.empty(0)
    for sweep in range(start, stop):
        _sweep(rng, ipar, fpar, ZtZ, Zty, t0, g0, X, y, resp, omega, theta, d, lam2, nu, sc,
               A, bvec, z, xbar, B, sw, alpha, Gext, XT, colsq, B2)
        _keep(sweep, ipar, theta, sc, out_coef, out_icpt, out_noise, out_scale)


@numba.njit(cache=True, nogil=True, inline="always")
def _logistic_loglik(xw, kappa, w0):
    """``sum_i y_i eta_i - log(1 + e^eta_i)``, ``eta_i = xw_i + w0``, ``y_i = kappa_i + 1/2``."""
    acc = 0.0
    for i in range(xw.shape[0]):
        e = xw[i] + w0
        acc += (kappa[i] + 0.5) * e - (max(e, 0.0) + math.log1p(math.exp(-abs(e))))
    return acc


@numba.njit(cache=True, nogil=True)
def _slice_intercept(rng, xw, kappa, w0, width):
    """``w0 | w, y`` under the logistic likelihood itself (flat prior): one slice-sampling
    update with stepping out and shrinkage (Neal 2003), O(n) per density evaluation."""
    level = _logistic_loglik(xw, kappa, w0) + math.log(1.0 - rng.random())
    lo = w0 - width * rng.random()
    hi = lo + width
    for _ in range(200):
        if _logistic_loglik(xw, kappa, lo) <= level:
            break
        lo -= width
    for _ in range(200):
        if _logistic_loglik(xw, kappa, hi) <= level:
            break
        hi += width
    while True:
        x = lo + (hi - lo) * rng.random()
        if _logistic_loglik(xw, kappa, x) > level:
            return x
        if x < w0:
            lo = x
        else:
            hi = x


@numba.njit(cache=True, nogil=True)
def after_move(rng, ipar, X, theta, d, sc, eta):
    """After a move of ``theta`` made outside the sweep (the independence steps between
    Pólya-Gamma sweeps, :mod:`mapreg.posterior.gibbs_run`): ``eta = Z theta``, and the
    Laplace prior's latent variances ``d`` redrawn given ``theta`` (fixed scale) — the next
    sweep draws ``theta`` given ``d``, so ``d`` must be a draw given the ``theta`` it starts
    from. A fixed Gaussian prior's ``d`` does not depend on ``theta``.
    """
    if ipar[I_PRIOR] == PRIOR_LAPLACE:
        _laplace_step(rng, theta, d, sc[S_LAM_SQ], FIXED, 0.0, 0.0)
    n, p = X.shape
    w0 = theta[p] if ipar[I_INTERCEPT] != 0 else 0.0
    for i in range(n):
        acc = w0
        for j in range(p):
            acc += X[i, j] * theta[j]
        eta[i] = acc


@numba.njit(cache=True, nogil=True)
def pg_sweep(rng, ipar, fpar, ZtZ, Zty, X, kappa, omega, eta, theta, d, lam2, nu, sc,
             A, bvec, z, xbar, B, sw, alpha, XT, B2, sweep, out_coef, out_icpt, out_noise,
             out_scale):
    """One Pólya-Gamma sweep given the weights ``omega ~ PG(1, eta)``; then ``eta = Z theta``.

    ``Zty`` holds ``Z'kappa``, ``kappa = y - 1/2`` (Polson, Scott & Windle 2013). With an
    intercept the sweep ends with a slice-sampling update of ``w0`` from its conditional
    with the weights integrated out, ``p(w0 | w, y)``: the intercept and the weights move
    each other slowly (on the breast-cancer Bayesian lasso its bulk ESS was 72 of 4,000
    without this step). Drawing ``w0`` with ``omega`` marginalised and then ``omega`` afresh
    (the next sweep begins with it) is one blocked draw of ``(w0, omega)``: exact
    (partially collapsed Gibbs, van Dyk & Park 2008). The slice width depends on ``n`` only.

    For the horseshoe ``XT`` (``X'``, contiguous; else empty) adds, before the intercept,
    the ``(lam_j, w_j)`` block updates given the weights
    (:func:`mapreg.posterior.horseshoe_kernel.local_scales_collapsed_weighted`).
    """
    _sweep(rng, ipar, fpar, ZtZ, Zty, Zty, Zty, X, kappa, kappa, omega, theta, d, lam2, nu,
           sc, A, bvec, z, xbar, B, sw, alpha, np.empty((0, 0)), np.empty((0, 0)),
           np.empty(0), B2)
    n, p = X.shape
    icpt = ipar[I_INTERCEPT] != 0
    w0 = theta[p] if icpt else 0.0
    for i in range(n):
        acc = 0.0
        for j in range(p):
            acc += X[i, j] * theta[j]
        eta[i] = acc
    if XT.shape[0] > 0:  # the pairs see the whole linear predictor, intercept included
        for i in range(n):
            eta[i] += w0
        local_scales_collapsed_weighted(
            rng, XT, omega, kappa, eta, theta, lam2, nu, d, sc[S_TAU2],
            1.0 / sc[S_C2] if ipar[I_PRIOR] == PRIOR_REG_HORSESHOE else 0.0)
        for i in range(n):
            eta[i] -= w0
    if icpt:
        theta[p] = _slice_intercept(rng, eta, kappa, w0, 8.0 / math.sqrt(n))
        for i in range(n):
            eta[i] += theta[p]
    _keep(sweep, ipar, theta, sc, out_coef, out_icpt, out_noise, out_scale)
