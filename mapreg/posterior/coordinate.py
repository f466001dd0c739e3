"""The coordinate-wise Gibbs sampler: each coefficient from its exact conditional.

For the Gaussian family under the Laplace, Gaussian and elastic-net priors the full
conditional of one coefficient is a two-piece (truncated) Gaussian that can be drawn
exactly (Hans 2009; :mod:`mapreg.posterior.coordinate_kernel`), so the posterior can be
sampled one coordinate at a time with no latent scales at all. A sweep costs ``4 n p``
flops on the rows or ``2 p**2`` on the Gram matrix — against the block sampler's
``min(p**3 / 3, 2 n**2 p)`` — and for a Bayesian lasso it removes the block sampler's slow
mode, a coefficient near 0 held there by its own small latent variance.

Its weakness is the usual one of single-site updates: strongly correlated coefficients
move each other slowly. Each update is therefore *overrelaxed* (Adler 1981; exact for the
two-piece conditional by a Metropolis-Hastings correction across 0,
:func:`mapreg.posterior.coordinate_kernel.overrelax_coordinate`): the coefficient is
reflected through its conditional mean, so that along a correlated direction successive
sweeps keep going the same way instead of diffusing (:data:`OVERRELAX`; at 200 x 1,000
2.3x the effective draws per sweep, for column pairs at rho = 0.99 about 10x).
:func:`coordinate_plan` estimates the mixing from the posterior's Gaussian surrogate
(:func:`slowest_mixing`) and :func:`mapreg.posterior.gibbs.gibbs_plan` weighs it against
the block sampler.

Models: the gaussian family; ``ElasticNet(b, sigma)`` with fixed scales; ``Laplace(b)``
fixed or with a ``GammaLambdaSq`` / half-Cauchy scale prior (the full Bayesian lasso);
``Gaussian(sigma)`` fixed or with an inverse-gamma (variance) / half-Cauchy (sd) scale
prior; the noise fixed or with either noise hyperprior; with or without an intercept;
in memory or dask-backed (then from the one-pass statistics).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from mapreg.posterior import coordinate_kernel as _c
from mapreg.posterior.draws import Draws, n_cores
from mapreg.posterior.gibbs_kernel import FIXED

#: The priors it samples: name -> ``prior -> (alpha, gamma)`` of ``exp(-alpha|w| - gamma w**2/2)``.
COORDINATE_PRIORS = {
    "laplace": lambda pr: (1.0 / pr.b, 0.0),
    "gaussian": lambda pr: (0.0, 1.0 / pr.sigma**2),
    "elasticnet": lambda pr: (1.0 / pr.b, 1.0 / pr.sigma**2),
}
#: The scale hyperpriors it updates (``Hyperprior.on``), by prior: the Gaussian's
#: conjugately, the Laplace's ``b`` by slice sampling.
SCALE_KINDS = {"gaussian": frozenset({"sd", "var"}), "laplace": frozenset({"lam_sq", "sd"})}

# Cost model (one core): flops of a sweep at the rate of a plain numba loop, plus the
# per-coefficient draw (a log Phi pair and a truncated normal, ~0.1 us); 200 x 1,000 on
# the rows: ~0.33 ms per overrelaxed sweep measured, 0.45 modelled.
LOOP_FLOPS_PER_S = 2.7e9
S_PER_COORD = 1.5e-7
# Pólya-Gamma (bernoulli) sweeps: 8 n p flops (two vectorised dot products and two updates
# per coefficient, the coefficient's draw included) at PG_LOOP_FLOPS_PER_S, one PG(1, eta_i)
# draw per row (the polyagamma package: 22 us for 200) and the Python call between sweeps;
# 200 x 1,000: 0.26-0.28 ms a sweep measured (kernel alone 0.23), 0.31 modelled
PG_LOOP_FLOPS_PER_S = 7e9
S_PER_PG_WEIGHT = 1.1e-7
S_PER_PG_ROUND_TRIP = 3e-5
# At p > n the surrogate is optimistic, and more so as p grows: a Laplace prior barely
# shrinks the large coefficients, which then trade mass with the many small ones through
# X's null space. Measured (overrelaxed, n = 200, Laplace(0.1), where the surrogate says
# 6.5): 12 sweeps per effective draw at p = 1,000 (4 x 1,000 draws, thin 9), 15 at 3,000
# (2 x 500, thin 9), 17 at 10,000 and 31 at 20,000 (2 x 500, unthinned: biased high), so
# the surrogate's count is multiplied by P_GT_N_SWEEPS_FACTOR * (p / n) ** 0.25.
P_GT_N_SWEEPS_FACTOR = 1.2
#: Adler's overrelaxation parameter ``a`` of every coordinate update
#: (:func:`mapreg.posterior.coordinate_kernel.overrelax_coordinate`; 0: plain Gibbs draws).
#: Min bulk ESS per sweep (thin 1, 4 x 1,000) for a = 0 / -0.8 / -0.95: column pairs at
#: rho = 0.99 (1,000 x 100, Laplace(0.1)) 0.004 / 0.041 / 0.094; 200 x 1,000 (Laplace(0.1))
#: 0.038 / 0.088 / 0.103; diabetes (Laplace(2)) 0.32 / 0.49 / 0.49; 10,000 x 200 0.71 / 0.93 /
#: 0.92 — no sweep slower (the two-piece draw and its two log Phi are skipped where the
#: conditional is one-sided). Not closer to -1 because the means gain and second moments
#: lose: over 200 replicate runs (12 x 40, Gaussian prior, closed-form posterior) the true
#: ESS of ``w_j**2`` was 687-1,316 of 2,000 draws at -0.95 (plain Gibbs 1,326-1,769, and
#: the estimator said ~1,500: 2x optimistic), 1,470-2,057 at -0.8 (estimated within 20%).
OVERRELAX = -0.8


def coordinate_refusal(model) -> str | None:
    """Why the coordinate sampler does not target ``model``'s posterior; ``None`` if it does."""
    prior = model.prior
    if model.family.name not in ("gaussian", "bernoulli"):
        return f"it needs the gaussian or bernoulli family, not {model.family.name!r}"
    if model.family.name == "bernoulli" and getattr(model, "is_dask", False):
        return ("on dask-backed data it needs the gaussian family (the Pólya-Gamma path draws "
                "a weight per row)")
    if model.family.name == "bernoulli" and model.scale_prior is not None:
        return ("its Pólya-Gamma path (bernoulli) samples fixed prior scales only, not "
                f"scale_prior {model.scale_prior!r}")
    if prior.name not in COORDINATE_PRIORS:
        return (f"the {type(prior).__name__} prior has no two-piece Gaussian conditional "
                f"(it samples {', '.join(COORDINATE_PRIORS)})")
    sp = model.scale_prior
    if sp is not None and sp.on not in SCALE_KINDS.get(prior.name, ()):
        return (f"the {type(prior).__name__} prior's scale_prior {sp!r} has no conjugate "
                "update in the coordinate sampler")
    return None


def _uses_rows(model) -> bool:
    if model.family.name == "bernoulli":  # the weights change every sweep: no fixed Gram
        return True
    return model.n_features > model.n_samples and not getattr(model, "is_dask", False)


def _noise_scale(model) -> float:
    """The noise sd the surrogate assumes: the fixed one, else the null model's residual sd;
    bernoulli: 2 (a Pólya-Gamma weight's mean is 1/4 at ``eta = 0``, its largest)."""
    if model.family.name == "bernoulli":
        return 2.0
    if model.noise_prior is None:
        return float(model.noise_sigma)
    if getattr(model, "is_dask", False):
        st = model._dask.stats()
        return math.sqrt(max(st.Syy / st.n, 1e-300))
    y = np.asarray(model.y, dtype=float)
    return float(np.std(y)) or 1.0


def _prior_precision(model) -> float:
    """The prior precision of the Gaussian surrogate: 1 / the prior's variance per coefficient."""
    alpha, gamma = COORDINATE_PRIORS[model.prior.name](model.prior)
    if model.prior.name == "laplace":
        return alpha * alpha / 2.0  # Var Laplace(b) = 2 b**2
    if model.prior.name == "elasticnet":
        return gamma + alpha * alpha / 2.0
    return gamma


def slowest_mixing(model) -> float:
    """``lambda_min`` of the posterior's Gaussian surrogate in correlation form.

    The surrogate's precision is ``Q = Xc'Xc / s**2 + kappa I`` (``kappa``: 1 / the prior
    variance, ``s``: the noise sd); for ``R = D^-1/2 Q D^-1/2`` (``D = diag Q``) a
    random-scan single-site Gibbs sampler loses correlation at rate ``lambda_min(R) / p`` per
    update (Amit 1991), so about ``1 / lambda_min(R)`` sweeps separate nearly independent
    draws along the slowest direction. At ``p > n``, ``Xc'Xc`` is singular and with equal
    column norms ``lambda_min(R) = kappa / D_jj`` exactly; the bound ``min_j kappa / D_jj`` is
    used there (nothing ``p x p`` is formed). Otherwise one ``eigvalsh`` of ``p x p``.
    """
    # a sampled prior scale (a scale_prior) can be far weaker than the prior's nominal one
    # (diabetes, Laplace(2) with a half-Cauchy on b: b ~ 10 a posteriori, 30 sweeps per
    # effective draw against 2.2 predicted from b = 2): take the weakest, no prior precision
    kappa = 0.0 if model.scale_prior is not None else _prior_precision(model)
    s2 = _noise_scale(model) ** 2
    if getattr(model, "is_dask", False):
        Sxx = model._dask.stats().Sxx if model.fit_intercept else _gram_raw(model)
        colsq = np.diag(Sxx).copy()
    else:
        X = np.asarray(model.X, dtype=float)
        if model.fit_intercept:
            X = X - X.mean(axis=0)
        if model.n_features > model.n_samples:
            colsq = np.einsum("ij,ij->j", X, X)
            return float(np.min(kappa / (colsq / s2 + kappa)))
        Sxx = X.T @ X
        colsq = np.diag(Sxx).copy()
    d = colsq / s2 + kappa
    R = Sxx / s2 / np.sqrt(np.outer(d, d))
    R[np.diag_indices_from(R)] = 1.0
    return float(max(np.linalg.eigvalsh(R)[0], 1e-12))


def _gram_raw(model):
    from mapreg.posterior.sufficient import gram

    return gram(model)[0]


class CoordinatePlan(NamedTuple):
    """How the coordinate sampler would run a model, and what an effective draw costs.

    Attributes
    ----------
    rows : bool
        Through the rows (``p > n``) or the Gram matrix.
    seconds_per_sweep : float
        The cost model's time per sweep on one core.
    sweeps_per_ess : float
        Sweeps per nearly independent draw: ``1 / slowest_mixing`` (times
        ``P_GT_N_SWEEPS_FACTOR * (p / n)**0.25`` at ``p > n``), plain Gibbs' estimate, kept for the
        overrelaxed sampler (measured per effective draw: 24 sweeps against 19.5 predicted
        for rho = 0.99 pairs; 12 against 11.7 at 200 x 1,000).
    flops : float
        Flops of a sweep: ``4 n p`` on the rows (``8 n p`` on the Pólya-Gamma path),
        ``2 p**2`` on the Gram matrix.
    """

    rows: bool
    seconds_per_sweep: float
    sweeps_per_ess: float
    flops: float


def coordinate_plan(model) -> CoordinatePlan:
    """The cost model of :mod:`mapreg.posterior.coordinate` for ``model``."""
    n, p = model.n_samples, model.n_features
    rows = _uses_rows(model)
    if model.family.name == "bernoulli":
        # the Pólya-Gamma path (constants above); the surrogate (weights 1/4) predicted 9.0
        # sweeps per effective draw at 200 x 1,000 (Laplace(0.2)), measured 9.1 (thin 1) and
        # 11 (thin 9, 4 x 1,000 draws)
        flops = 8.0 * n * p
        sweep = flops / PG_LOOP_FLOPS_PER_S + n * S_PER_PG_WEIGHT + S_PER_PG_ROUND_TRIP
    else:
        flops = 4.0 * n * p if rows else 2.0 * p * p
        sweep = flops / LOOP_FLOPS_PER_S + p * S_PER_COORD
    factor = P_GT_N_SWEEPS_FACTOR * (p / n) ** 0.25 if p > n else 1.0
    return CoordinatePlan(rows, sweep, factor / slowest_mixing(model), flops)


class _Data(NamedTuple):
    ipar: np.ndarray
    fpar: np.ndarray
    XT: np.ndarray
    yc: np.ndarray
    colsq: np.ndarray
    G: np.ndarray
    g0: np.ndarray
    t0: np.ndarray
    xbar: np.ndarray
    noise_init: float
    scale_init: float


def _centred_gram(model):
    """``(G, g0, t0, r0, xbar, ybar)`` of the centred problem (or raw, no intercept)."""
    if getattr(model, "is_dask", False):
        from mapreg.posterior.sufficient import stats_from_gram

        st = model._dask.stats()
        if model.fit_intercept:
            s = stats_from_gram(st, True)
            p = st.p
            return (np.ascontiguousarray(st.Sxx), s.g0[:p], s.t0[:p], s.r0,
                    np.asarray(st.x_mean, float), float(st.y_mean))
        s = stats_from_gram(st, False)
        return s.ZtZ, s.g0, s.t0, s.r0, np.zeros(st.p), 0.0
    X = np.asarray(model.X, dtype=float)
    y = np.asarray(model.y, dtype=float)
    xbar, ybar = (X.mean(axis=0), float(y.mean())) if model.fit_intercept else \
        (np.zeros(X.shape[1]), 0.0)
    Xc, yc = X - xbar, y - ybar
    G = Xc.T @ Xc
    # t0 is only the point the RSS is expanded about (g0, from the rows, absorbs its
    # error): the p x p normal equations are enough, no n x p factorisation
    t0 = np.linalg.lstsq(G, Xc.T @ yc, rcond=None)[0]
    r = yc - Xc @ t0
    return G, Xc.T @ r, t0, float(r @ r), xbar, ybar


def _chain_data(model, tune: int, thin: int, overrelax: float = 0.0) -> _Data:
    from mapreg.posterior.gibbs import _hyper_mode

    n, p = model.n_samples, model.n_features
    alpha, gamma = COORDINATE_PRIORS[model.prior.name](model.prior)
    ipar = np.zeros(_c.N_IPAR, dtype=np.int64)
    fpar = np.zeros(_c.N_FPAR)
    none1, none2 = np.zeros(1), np.zeros((1, 1))
    if _uses_rows(model):
        X = np.asarray(model.X, dtype=float)
        y = np.asarray(model.y, dtype=float)
        xbar, ybar = (X.mean(axis=0), float(y.mean())) if model.fit_intercept else \
            (np.zeros(p), 0.0)
        XT = np.ascontiguousarray((X - xbar).T)
        yc = y - ybar
        colsq = np.einsum("ij,ij->i", XT, XT)
        G, g0, t0, r0 = none2, none1, np.zeros(p), 0.0
        data_kind = _c.ROWS
    else:
        G, g0, t0, r0, xbar, ybar = _centred_gram(model)
        XT, yc, colsq = none2, none1, none1
        data_kind = _c.GRAM
    noise_mode, noise_par = FIXED, (0.0, 0.0)
    if model.noise_prior is not None:
        noise_mode, noise_par = _hyper_mode(model.noise_prior)
    scale_mode, scale_par = FIXED, (0.0, 0.0)
    if model.scale_prior is not None:
        scale_mode, scale_par = _hyper_mode(model.scale_prior)
    scale_of = _c.SCALE_OF_LAPLACE if model.prior.name == "laplace" else _c.SCALE_OF_GAUSSIAN
    ipar[[_c.I_DATA, _c.I_INTERCEPT, _c.I_NOISE_MODE, _c.I_SCALE_MODE, _c.I_TUNE, _c.I_N,
          _c.I_THIN, _c.I_SCALE_OF]] = (data_kind, int(model.fit_intercept), noise_mode,
                                        scale_mode, tune, n, thin, scale_of)
    fpar[[_c.F_ALPHA, _c.F_GAMMA, _c.F_NOISE_A, _c.F_NOISE_B, _c.F_SCALE_A, _c.F_SCALE_B,
          _c.F_YBAR, _c.F_R0, _c.F_OVERRELAX]] = (alpha, gamma, *noise_par, *scale_par, ybar,
                                                  r0, overrelax)
    return _Data(ipar, fpar, XT, np.ascontiguousarray(yc), colsq, np.ascontiguousarray(G),
                 g0, t0, np.asarray(xbar, float), _noise_scale(model),
                 float(model.prior.scale))


def _start(data: _Data, rng, p: int, free_noise: bool, free_scale: bool):
    """Over-dispersed starting values: ``w`` around 0 at the prior's scale, scales jittered."""
    w = rng.standard_normal(p) * data.scale_init
    sc = np.zeros(_c.N_STATE)
    sc[_c.S_SIG2] = data.noise_init**2 * (math.exp(rng.standard_normal()) if free_noise else 1)
    sc[_c.S_AUX_NOISE] = 1.0
    sc[_c.S_SCALE] = data.scale_init * (math.exp(0.5 * rng.standard_normal())
                                        if free_scale else 1.0)
    sc[_c.S_AUX_SCALE] = 1.0
    return w, sc


def sample_coordinate(model, draws: int, tune: int, chains: int, seed: int,
                      progressbar: bool = False, thin: int = 1,
                      overrelax: float = OVERRELAX) -> Draws:
    """Draw from ``model``'s posterior with the coordinate-wise Gibbs sampler.

    Each chain makes ``(tune + draws) * thin`` sweeps and keeps every ``thin``-th of the
    last ``draws * thin``; every coordinate update is overrelaxed with Adler's ``a =
    overrelax`` (default :data:`OVERRELAX`; ``0`` draws each coefficient afresh, plain
    Gibbs). Overrelaxed chains are antithetic at odd lags: keep ``thin`` odd. Chain ``c`` is
    seeded with the ``c``-th child of ``numpy.random.SeedSequence(seed)``; progress bar and
    Ctrl-C as for :func:`mapreg.posterior.gibbs.sample_gibbs` (:mod:`mapreg.posterior.gibbs_run`).

    Raises
    ------
    ValueError
        When :func:`coordinate_refusal` gives a reason.
    """
    from threadpoolctl import threadpool_limits

    from mapreg.posterior.gibbs_run import run_blocks, run_threads

    reason = coordinate_refusal(model)
    if reason is not None:
        raise ValueError(f"the coordinate Gibbs sampler does not apply: {reason}")
    p = model.n_features
    if not -1.0 < overrelax <= 0.0:
        raise ValueError(f"overrelax must be in (-1, 0], got {overrelax!r}")
    if model.family.name == "bernoulli":
        from mapreg.posterior.pg_coordinate import sample_pg_coordinate

        return sample_pg_coordinate(model, draws, tune, chains, seed, progressbar, thin,
                                    overrelax)
    data = _chain_data(model, tune, thin, float(overrelax))
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(chains)]
    coef = np.empty((chains, draws, p))
    icpt = np.empty((chains, draws))
    noise = np.empty((chains, draws))
    scale = np.empty((chains, draws))
    total = (tune + draws) * thin
    free_noise = model.noise_prior is not None
    free_scale = model.scale_prior is not None
    n_res = data.yc.shape[0] if data.ipar[_c.I_DATA] == _c.ROWS else 1

    def chain(c, stop, progress):
        rng = np.random.default_rng(seeds[c])
        w, sc = _start(data, rng, p, free_noise, free_scale)
        r, h, dscr = np.empty(n_res), np.empty(p), np.empty(p)
        out = (coef[c], icpt[c], noise[c], scale[c])

        def sweeps(start, stop_):
            _c.coordinate_block(rng, data.ipar, data.fpar, data.XT, data.yc, data.colsq,
                                data.G, data.g0, data.t0, data.xbar, w, r, h, sc, dscr,
                                start, stop_, *out)

        run_blocks(sweeps, total, stop, progress, c)

    with threadpool_limits(limits=1):
        run_threads(chains, total, n_cores(), progressbar, "Gibbs (coordinate)", chain)
    hyper = {}
    if free_noise:
        hyper["noise_sigma"] = noise
    if free_scale:
        hyper["prior_scale"] = scale
    return Draws(coef, icpt, hyper, attrs={"gibbs_sweeps_per_draw": thin,
                                           "gibbs_method": "coordinate",
                                           "gibbs_overrelaxation": float(overrelax)})

