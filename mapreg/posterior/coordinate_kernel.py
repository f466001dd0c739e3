r"""The numba kernel of the coordinate-wise Gibbs sampler (no latent scales).

The model (``w`` the coefficients, a flat intercept ``w0``)::

    y | w, w0, s**2 ~ N(X w + w0, s**2 I)
    p(w_j)          ∝ exp(-alpha |w_j| - gamma w_j**2 / 2)      (i.i.d. over j)

``alpha = 1/b, gamma = 0`` is mapreg's ``Laplace(b)``, ``alpha = 0, gamma = 1/sigma**2``
its ``Gaussian(sigma)`` and ``alpha = 1/b, gamma = 1/sigma**2`` its ``ElasticNet(b,
sigma)``. Each coefficient is drawn from its exact full conditional (Hans 2009, "Bayesian
lasso regression", Biometrika 96(4)), which under these priors is a two-piece Gaussian:
with ``A = |x_j|**2 / s**2 + gamma`` and ``c = x_j'(y - X_{-j} w_{-j}) / s**2``,

.. math::

    p(w_j \mid \cdot) \propto \exp(-A w_j^2 / 2 + c w_j - \alpha |w_j|)
    = \begin{cases} Z_+\, N_{(0,\infty)}((c - \alpha)/A,\ 1/A) \\
                    Z_-\, N_{(-\infty,0)}((c + \alpha)/A,\ 1/A) \end{cases}

``log Z_+ = m_+**2 / 2 + log Phi(m_+)``, ``log Z_- = m_-**2 / 2 + log Phi(-m_-)`` with
``m_+- = (c -+ alpha) / sqrt(A)``: the side is drawn with probability proportional to its
mass, then the one-sided truncated normal (:func:`_tn_excess`). No latent scale ``tau_j``
sits between a coefficient and its prior, so a coefficient near 0 is not held there by its
own small variance — the slow mode of the Park & Casella sampler.

The intercept is integrated out of every coefficient and noise update (its prior is flat):
the data are the centred ``X - 1 xbar'``, ``y - ybar``, the noise sees ``n - 1`` degrees
of freedom, and ``w0 | w, s**2 ~ N(ybar - xbar'w, s**2 / n)`` is drawn for each kept draw
(a partially collapsed Gibbs sampler, van Dyk & Park 2008: nothing is conditioned on
``w0`` afterwards, so drawing it last keeps the target).

Two ways through the data, the same draws up to rounding:

* ``ROWS`` (``p > n``): the centred design, transposed (``p x n``), and the residual
  ``r = yc - Xc w``; a coordinate costs two length-``n`` loops, a sweep ``4 n p`` flops.
* ``GRAM`` (``n >= p``, and dask-backed data): ``G = Xc'Xc`` and ``h = G (w - t0)``
  with ``t0`` the least-squares point; ``c s**2 = g0_j - h_j + G_jj w_j``, a sweep ``2 p**2``
  flops; ``RSS = r0 - 2 (w - t0)'g0 + (w - t0)'h`` (:mod:`mapreg.posterior.sufficient`).

With ``a = fpar[F_OVERRELAX] != 0`` each coordinate is *overrelaxed* instead of drawn
afresh (:func:`overrelax_coordinate`: Adler's reflection through the conditional mean,
exact by a Metropolis-Hastings correction across 0): correlated coefficients then move
persistently rather than by a random walk.

The running ``r`` / ``h`` are recomputed from scratch every :data:`REFRESH` sweeps (at fixed
sweep numbers, so the draws do not depend on how sweeps are cut into kernel calls).
Noise (inverse gamma / half-Cauchy) and the Gaussian prior's scale (same kinds) are the
conjugate steps of :mod:`mapreg.posterior.gibbs_kernel`; the Laplace scale ``b`` under a
``GammaLambdaSq`` or half-Cauchy hyperprior is slice-sampled on ``log b``
(:func:`laplace_scale_logpdf`, log-concave there).
"""

from __future__ import annotations

import math

import numba

from mapreg.posterior.gibbs_kernel import (
    FIXED,
    GAMMA_LAM_SQ,
    _gaussian_step,
    _noise_step,
)

# numba keys a cached function by its own file's content: this line changes when a
# module whose jitted code it calls does (tests/test_numba_cache_keys.py)
# numba cache key (callees): gibbs_kernel=10bdd2fc

ROWS, GRAM = 0, 1
# whose scale a scale hyperprior sets: the Gaussian prior's sigma or the Laplace prior's b
SCALE_OF_GAUSSIAN, SCALE_OF_LAPLACE = 0, 1
I_DATA, I_INTERCEPT, I_NOISE_MODE, I_SCALE_MODE, I_TUNE, I_N, I_THIN, I_SCALE_OF = range(8)
F_ALPHA, F_GAMMA, F_NOISE_A, F_NOISE_B, F_SCALE_A, F_SCALE_B, F_YBAR, F_R0, F_OVERRELAX = range(9)
S_SIG2, S_AUX_NOISE, S_SCALE, S_AUX_SCALE = range(4)
N_IPAR, N_FPAR, N_STATE = 8, 9, 4
#: The probability that an overrelaxed coordinate update is an exact draw instead
#: (:func:`overrelax_coordinate`): what lets a coefficient far in a tail come back. Its cost
#: to mixing is small: min bulk ESS per sweep at 200 x 1,000 (2 seeds) 0.085 / 0.081 / 0.072
#: at 0.02 / 0.1 / 0.3.
EXACT_FRACTION = 0.1
#: Sweeps between exact recomputations of the running residual (or ``h``).
REFRESH = 64

_SQRT2 = math.sqrt(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@numba.njit(cache=True, nogil=True)
def log_ndtr(x):
    """``log Phi(x)``, the standard normal log CDF, to ~1e-12 relative for every ``x``.

    ``log1p(-Phi(-x))`` for ``x > 0`` (no loss where ``Phi`` is near 1), ``erfc`` directly
    down to ``x = -30``; below, the asymptotic series
    ``Phi(x) = phi(x) / |x| (1 - x**-2 + 3 x**-4 - 15 x**-6 + 105 x**-8 - ...)``
    (next term ``945 x**-10`` < 2e-12 there).
    """
    if x > 0.0:
        return math.log1p(-0.5 * math.erfc(x / _SQRT2))
    if x > -30.0:
        return math.log(0.5 * math.erfc(-x / _SQRT2))
    z = 1.0 / (x * x)
    s = 1.0 - z * (1.0 - 3.0 * z * (1.0 - 5.0 * z * (1.0 - 7.0 * z)))
    return -0.5 * x * x - math.log(-x) - _HALF_LOG_2PI + math.log(s)


@numba.njit(cache=True, nogil=True)
def _tn_excess(rng, lo):
    """``z - lo`` for ``z ~ N(0, 1)`` conditioned on ``z > lo`` (the excess, >= 0).

    ``lo < 0``: plain rejection from N(0, 1) (acceptance > 1/2). ``lo >= 0``: Robert (1995)
    — ``lo + Exponential(rate a)`` accepted with probability ``exp(-(z - a)**2 / 2)``,
    ``a = (lo + sqrt(lo**2 + 4)) / 2`` (acceptance > 0.76 for every ``lo``). Returning the
    excess, not ``z``, keeps full relative precision when the mass hugs the bound.
    """
    if lo < 0.0:
        while True:
            z = rng.standard_normal()
            if z > lo:
                return z - lo
    a = 0.5 * (lo + math.sqrt(lo * lo + 4.0))
    while True:
        e = -math.log(1.0 - rng.random()) / a
        t = lo + e - a
        if rng.random() <= math.exp(-0.5 * t * t):
            return e


@numba.njit(cache=True, nogil=True)
def draw_coordinate(rng, A, c, alpha):
    """One draw from the density ``∝ exp(-A w**2 / 2 + c w - alpha |w|)`` (module docstring)."""
    sa = math.sqrt(A)
    if alpha == 0.0:
        return c / A + rng.standard_normal() / sa
    mp = (c - alpha) / sa
    mm = (c + alpha) / sa
    log_ratio = (0.5 * mm * mm + log_ndtr(-mm)) - (0.5 * mp * mp + log_ndtr(mp))
    if log_ratio > 700.0:
        positive = False
    elif log_ratio < -700.0:
        positive = True
    else:
        positive = rng.random() * (1.0 + math.exp(log_ratio)) < 1.0
    if positive:
        return _tn_excess(rng, -mp) / sa
    return -_tn_excess(rng, mm) / sa


@numba.njit(cache=True, nogil=True)
def overrelax_coordinate(rng, A, c, alpha, x, a):
    r"""Adler's overrelaxation of ``x`` under the density of :func:`draw_coordinate`.

    With probability :data:`EXACT_FRACTION`, or when the density's mode is 0
    (``|c| <= alpha``), an exact draw. Otherwise, with ``s = sign(c)`` the side of the
    mode and ``mu = (c - s alpha) / A``, the density is
    ``N(w; mu, 1/A) g(w)`` up to a constant, ``g(w) = exp(-alpha (|w| - s w))`` (1 on the
    mode's side, ``exp(-2 alpha |w|)`` across 0), and Adler's (1981) move

    .. math:: x' = \mu + a (x - \mu) + \sqrt{(1 - a^2) / A}\, z, \quad z \sim N(0, 1)

    (reversible with respect to ``N(mu, 1/A)``) is a Metropolis-Hastings proposal accepted
    with probability ``min(1, g(x') / g(x))``: always unless it lands across 0. The choice of
    move depends on ``c`` and ``A`` (the other coordinates), never on ``x``, and each move
    leaves the conditional invariant, so the Gibbs sweep keeps the posterior exactly.

    ``a < 0`` reflects ``x`` through the conditional mean: along a direction in which the
    coefficients are correlated, successive sweeps then keep moving the same way instead
    of diffusing (Neal 1998, "Suppressing random walks in Markov chain Monte Carlo using
    ordered overrelaxation"). The occasional exact draw is what lets a coefficient that
    starts far in a tail return: its reflection lands across 0, where ``g`` is ~0, and would
    be refused every time (measured: a 10,000 x 200 lasso chain held a null coefficient at
    0.32, 30 posterior sds out, for 3,000 sweeps without it).
    """
    if alpha == 0.0:
        mu = c / A
        return mu + a * (x - mu) + math.sqrt((1.0 - a * a) / A) * rng.standard_normal()
    if abs(c) <= alpha or rng.random() < EXACT_FRACTION:
        return draw_coordinate(rng, A, c, alpha)
    s = 1.0 if c > 0.0 else -1.0
    mu = (c - s * alpha) / A
    xn = mu + a * (x - mu) + math.sqrt((1.0 - a * a) / A) * rng.standard_normal()
    # log g(xn) - log g(x), with log g(w) = -alpha (|w| - s w): 0 on the mode's side
    log_r = alpha * (abs(x) - s * x) - alpha * (abs(xn) - s * xn)
    if log_r >= 0.0 or math.log(1.0 - rng.random()) < log_r:
        return xn
    return x


@numba.njit(cache=True, nogil=True, inline="always")
def update_coordinate(rng, A, c, alpha, x, a):
    """The update of one coefficient: a fresh draw (``a = 0``) or Adler's overrelaxation."""
    if a == 0.0:
        return draw_coordinate(rng, A, c, alpha)
    return overrelax_coordinate(rng, A, c, alpha, x, a)


@numba.njit(cache=True, nogil=True)
def refresh(ipar, XT, yc, G, t0, w, r, h):
    """``r = yc - Xc w`` (ROWS) or ``h = G (w - t0)`` (GRAM), from scratch."""
    p = w.shape[0]
    if ipar[I_DATA] == ROWS:
        n = r.shape[0]
        for i in range(n):
            r[i] = yc[i]
        for j in range(p):
            wj = w[j]
            if wj != 0.0:
                for i in range(n):
                    r[i] -= wj * XT[j, i]
    else:
        for i in range(p):
            acc = 0.0
            for j in range(p):
                acc += G[i, j] * (w[j] - t0[j])
            h[i] = acc


@numba.njit(cache=True, nogil=True, inline="always")
def _rows_sweep(rng, XT, colsq, w, r, inv_s2, alpha, gamma, a):
    n = r.shape[0]
    # always forward: alternating forward and backward sweeps makes consecutive overrelaxed
    # sweeps nearly undo each other (200 x 1,000, thin 9: min ESS 104-119 against 2,911-2,928)
    for j in range(w.shape[0]):
        dot = 0.0
        for i in range(n):
            dot += XT[j, i] * r[i]
        wj = w[j]
        new = update_coordinate(rng, colsq[j] * inv_s2 + gamma,
                                (dot + colsq[j] * wj) * inv_s2, alpha, wj, a)
        delta = new - wj
        for i in range(n):
            r[i] -= delta * XT[j, i]
        w[j] = new


@numba.njit(cache=True, nogil=True, inline="always")
def _gram_sweep(rng, G, g0, w, h, inv_s2, alpha, gamma, a):
    p = w.shape[0]
    for j in range(p):
        wj = w[j]
        gjj = G[j, j]
        new = update_coordinate(rng, gjj * inv_s2 + gamma,
                                (g0[j] - h[j] + gjj * wj) * inv_s2, alpha, wj, a)
        delta = new - wj
        for i in range(p):  # G is symmetric: row j is column j, and contiguous
            h[i] += delta * G[j, i]
        w[j] = new


@numba.njit(cache=True, nogil=True, inline="always")
def _rss(ipar, fpar, g0, t0, w, r, h):
    acc = 0.0
    if ipar[I_DATA] == ROWS:
        for i in range(r.shape[0]):
            acc += r[i] * r[i]
        return acc
    acc = fpar[F_R0]
    for j in range(w.shape[0]):
        dj = w[j] - t0[j]
        acc += dj * (h[j] - 2.0 * g0[j])
    return max(acc, 0.0)


@numba.njit(cache=True, nogil=True, inline="always")
def _gamma(ipar, fpar, sc):
    if ipar[I_SCALE_MODE] != FIXED and ipar[I_SCALE_OF] == SCALE_OF_GAUSSIAN:
        return 1.0 / (sc[S_SCALE] * sc[S_SCALE])
    return fpar[F_GAMMA]


@numba.njit(cache=True, nogil=True, inline="always")
def _alpha(ipar, fpar, sc):
    if ipar[I_SCALE_MODE] != FIXED and ipar[I_SCALE_OF] == SCALE_OF_LAPLACE:
        return 1.0 / sc[S_SCALE]
    return fpar[F_ALPHA]


@numba.njit(cache=True, nogil=True)
def laplace_scale_logpdf(x, mode, a, b, p, s1):
    """``log p(log b | w)`` up to a constant, for the Laplace scale ``b`` (Jacobian included).

    ``p(w | b) = (2 b)**-p exp(-s1 / b)``, ``s1 = sum |w_j|``. ``GAMMA_LAM_SQ``:
    ``lam**2 = b**-2 ~ Gamma(a, rate b)`` (``GammaLambdaSq(r=a, delta=b)``), so
    ``-(p + 2a) x - s1 e**-x - b e**-2x``; ``HALFCAUCHY``: ``b ~ HalfCauchy(beta=b)``, so
    ``-(p - 1) x - s1 e**-x - log(1 + e**2x / beta**2)``. Both are concave in ``x``.
    """
    e = math.exp(-x)
    if mode == GAMMA_LAM_SQ:
        return -(p + 2.0 * a) * x - s1 * e - b * e * e
    return -(p - 1.0) * x - s1 * e - math.log1p(math.exp(2.0 * x) / (b * b))


@numba.njit(cache=True, nogil=True)
def _laplace_scale_step(rng, ipar, fpar, w, b_old):
    """A slice-sampling update (Neal 2003: step out by 1, shrink) of ``log b`` given ``w``."""
    p = w.shape[0]
    s1 = 0.0
    for j in range(p):
        s1 += abs(w[j])
    mode, a, b = ipar[I_SCALE_MODE], fpar[F_SCALE_A], fpar[F_SCALE_B]
    x0 = math.log(b_old)
    level = laplace_scale_logpdf(x0, mode, a, b, p, s1) + math.log(1.0 - rng.random())
    lo = x0 - rng.random()
    hi = lo + 1.0
    while laplace_scale_logpdf(lo, mode, a, b, p, s1) > level:
        lo -= 1.0
    while laplace_scale_logpdf(hi, mode, a, b, p, s1) > level:
        hi += 1.0
    while True:
        x = lo + (hi - lo) * rng.random()
        if laplace_scale_logpdf(x, mode, a, b, p, s1) > level:
            return math.exp(x)
        if x < x0:
            lo = x
        else:
            hi = x


@numba.njit(cache=True, nogil=True)
def coordinate_block(rng, ipar, fpar, XT, yc, colsq, G, g0, t0, xbar, w, r, h, sc, dscr,
                     start, stop, out_coef, out_icpt, out_noise, out_scale):
    """Sweeps ``start, ..., stop - 1`` of one chain, from and into its state.

    State: ``w``, the running ``r`` (ROWS) or ``h`` (GRAM), and ``sc`` (``s**2``, the noise
    auxiliary, the Gaussian prior's scale and its auxiliary). A sweep draws every
    coefficient in turn, then ``s**2`` and the prior scale if they are free; kept draws
    (after ``tune * thin`` sweeps, every ``thin``-th) add the intercept.
    """
    n = ipar[I_N]
    dof = n - 1 if ipar[I_INTERCEPT] != 0 else n
    thin = ipar[I_THIN]
    a = fpar[F_OVERRELAX]
    for sweep in range(start, stop):
        if sweep % REFRESH == 0:
            refresh(ipar, XT, yc, G, t0, w, r, h)
        gamma = _gamma(ipar, fpar, sc)
        alpha = _alpha(ipar, fpar, sc)
        inv_s2 = 1.0 / sc[S_SIG2]
        if ipar[I_DATA] == ROWS:
            _rows_sweep(rng, XT, colsq, w, r, inv_s2, alpha, gamma, a)
        else:
            _gram_sweep(rng, G, g0, w, h, inv_s2, alpha, gamma, a)
        if ipar[I_NOISE_MODE] != FIXED:
            rss = _rss(ipar, fpar, g0, t0, w, r, h)
            sc[S_SIG2], sc[S_AUX_NOISE] = _noise_step(rng, ipar[I_NOISE_MODE], fpar[F_NOISE_A],
                                                      fpar[F_NOISE_B], dof, rss,
                                                      sc[S_AUX_NOISE])
        if ipar[I_SCALE_MODE] != FIXED and ipar[I_SCALE_OF] == SCALE_OF_LAPLACE:
            sc[S_SCALE] = _laplace_scale_step(rng, ipar, fpar, w, sc[S_SCALE])
        elif ipar[I_SCALE_MODE] != FIXED:
            sc[S_SCALE], sc[S_AUX_SCALE] = _gaussian_step(
                rng, w, dscr, sc[S_SCALE], sc[S_AUX_SCALE], ipar[I_SCALE_MODE],
                fpar[F_SCALE_A], fpar[F_SCALE_B])
        it = sweep // thin
        if it >= ipar[I_TUNE] and (sweep + 1) % thin == 0:
            t = it - ipar[I_TUNE]
            sig2 = sc[S_SIG2]
            w0 = 0.0
            if ipar[I_INTERCEPT] != 0:
                fit = 0.0
                for j in range(w.shape[0]):
                    fit += xbar[j] * w[j]
                w0 = fpar[F_YBAR] - fit + math.sqrt(sig2 / n) * rng.standard_normal()
            for j in range(w.shape[0]):
                out_coef[t, j] = w[j]
            out_icpt[t] = w0
            out_noise[t] = math.sqrt(sig2)
            out_scale[t] = sc[S_SCALE]
