"""Gibbs samplers: Bayesian lasso, Bayesian ridge and the horseshoe; Gaussian or Bernoulli.

:func:`sample_gibbs` is the one entry, used by :func:`mapreg.sample_posterior` and by
:func:`mapreg.empirical_bayes_laplace`; :func:`gibbs_refusal` says whether it targets a
model's posterior exactly, :func:`gibbs_plan` how it would sample it and at what cost. The
conditionals and the numba kernel are in :mod:`mapreg.posterior.gibbs_kernel`, the Gaussian
block draw in :mod:`mapreg.posterior.gaussian_draw`, the threads, progress bar and Ctrl-C in
:mod:`mapreg.posterior.gibbs_run`.

Which models: a family in :data:`GIBBS_FAMILIES` (gaussian; bernoulli through Pólya-Gamma
augmentation); a prior that lists ``"gibbs"`` in its ``samplers`` and has a row in
:data:`GIBBS_PRIORS`; a ``scale_prior`` (if any) whose kind
(:attr:`Hyperprior.on <mapreg.priors.hyper.Hyperprior.on>`) that row updates
conjugately; any noise hyperprior (half-Cauchy on the sd, inverse gamma on the variance).

The coefficient block is drawn by Rue's Cholesky in p-space when that is cheaper
(``n >= p``, roughly) and by Bhattacharya, Chakraborty & Mallick's algorithm in n-space
otherwise (:func:`gibbs_plan`); nothing ``p x p`` is formed on the second path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from mapreg.posterior import gibbs_kernel as _k
from mapreg.posterior.coordinate import (
    COORDINATE_PRIORS,
    coordinate_plan,
    coordinate_refusal,
    sample_coordinate,
)
from mapreg.posterior.draws import Draws, n_cores
from mapreg.posterior.gaussian_draw import BCM, RUE, bcm_flops, rue_flops
from mapreg.posterior.gibbs_run import EXTERNAL_PRODUCT_MIN
from mapreg.posterior.independence import _cost as independence_cost
from mapreg.posterior.independence import independence_refusal
from mapreg.posterior.sufficient import gram, model_sufficient_stats

# Sweeps per kept horseshoe (and regularised-horseshoe) draw. A sweep costs microseconds
# at small p, but the local scales lam_j and the coefficients move each other slowly (a
# coefficient near 0 pulls its lam_j to 0 and vice versa; correlated features trade mass):
# on diabetes a single sweep per draw gave bulk ESS ~230-340 of 4 x 1,000 and R-hat up to
# 1.024. Thinning keeps the output the size the user asked for at a fraction of NUTS' cost.
_HORSESHOE_SWEEPS_PER_DRAW = 10


class GibbsPrior(NamedTuple):
    """How the kernel samples one coefficient prior.

    Attributes
    ----------
    code : int
        The kernel's prior code (``gibbs_kernel.PRIOR_*``).
    scale_hyperpriors : frozenset of str
        The kinds (``Hyperprior.on``) of ``scale_prior`` with a conjugate update.
    sweeps_per_draw : int
        Sweeps per kept draw and per warm-up step (thinning).
    global_scale : bool
        Whether the prior's main scale is a global ``tau ~ HalfCauchy(scale)`` of its own
        (fixed instead when the prior's ``fixed_tau`` is true).
    slab : callable, optional
        ``prior -> (a, b)``, the ``InverseGamma(a, b)`` of a slab variance ``c**2``.
    """

    code: int
    scale_hyperpriors: frozenset[str]
    sweeps_per_draw: int = 1
    global_scale: bool = False
    slab: Callable | None = None


def _slab(prior) -> tuple[float, float]:
    """The regularised horseshoe's ``c**2 ~ InvGamma(slab_df / 2, slab_df slab_scale**2 / 2)``."""
    return prior.slab_df / 2.0, prior.slab_df * prior.slab_scale**2 / 2.0


# The priors the kernel samples, by registry name (``Prior.name``). The table lives here and
# not in the prior classes: the kernel's codes, which scale hyperpriors it updates
# conjugately and how long its chains mix are internals of this sampler. A prior only
# declares ``"gibbs"`` in its ``samplers``; this table must then know its name.
GIBBS_PRIORS: dict[str, GibbsPrior] = {
    "gaussian": GibbsPrior(_k.PRIOR_GAUSSIAN, frozenset({"sd", "var"})),
    "laplace": GibbsPrior(_k.PRIOR_LAPLACE, frozenset({"lam_sq"})),
    # tau ~ HalfCauchy(scale) belongs to the prior itself: it takes no scale_prior
    "horseshoe": GibbsPrior(_k.PRIOR_HORSESHOE, frozenset(), _HORSESHOE_SWEEPS_PER_DRAW,
                            global_scale=True),
    "regularized-horseshoe": GibbsPrior(_k.PRIOR_REG_HORSESHOE, frozenset(),
                                        _HORSESHOE_SWEEPS_PER_DRAW, global_scale=True,
                                        slab=_slab),
}

# The likelihoods the kernel samples, by family name (``Family.name``): Gaussian noise, and
# Bernoulli through Pólya-Gamma augmentation (Polson, Scott & Windle 2013): with
# ``omega_i ~ PG(1, eta_i)`` the logistic likelihood is Gaussian in ``theta`` and every
# prior step is the Gaussian family's. Poisson stays on NUTS: its log link has no exact,
# efficient augmentation — the negative-binomial Pólya-Gamma scheme reaches the Poisson only
# as its dispersion r -> infinity (PG(y + r, .) draws then cost O(r) and the chain mixes ever
# slower), and the auxiliary-mixture samplers (Frühwirth-Schnatter et al. 2009) replace the
# log-gamma error by a finite normal mixture, exact only with a Metropolis correction.
GIBBS_FAMILIES: dict[str, int] = {"gaussian": _k.GAUSSIAN, "bernoulli": _k.BERNOULLI}


def _coordinate_only() -> frozenset[str]:
    return frozenset(COORDINATE_PRIORS) - frozenset(GIBBS_PRIORS)


def gibbs_refusal(model) -> str | None:
    """Why no Gibbs sampler targets ``model``'s posterior; ``None`` when one does.

    Two apply: the block sampler (:func:`block_refusal`) and the coordinate-wise one
    (:func:`mapreg.posterior.coordinate.coordinate_refusal`; the only one for the elastic net).
    """
    block = block_refusal(model)
    if block is None:
        return None
    coordinate = coordinate_refusal(model)
    if coordinate is None:
        return None
    # the elastic net is the coordinate sampler's alone: its reason is the one that applies
    return coordinate if model.prior.name in _coordinate_only() else block


def block_refusal(model) -> str | None:
    """Why the block (latent-scale) Gibbs sampler does not target ``model``'s posterior."""
    prior = model.prior
    what = f"the {type(prior).__name__} prior ({prior.name!r})"
    if model.family.name not in GIBBS_FAMILIES:
        return (f"it needs the {' or '.join(GIBBS_FAMILIES)} family, not "
                f"{model.family.name!r}")
    if getattr(model, "is_dask", False) and model.family.name != "gaussian":
        return ("on dask-backed data it needs the gaussian family (read through X'X, X'y); "
                "the Pólya-Gamma sweep draws a weight per row")
    if "gibbs" not in prior.samplers:
        return (f"{what} has no conjugate Gibbs sampler (its samplers: "
                f"{', '.join(sorted(prior.samplers))})")
    row = GIBBS_PRIORS.get(prior.name)
    if row is None:
        return f"{what} lists 'gibbs' among its samplers, but the Gibbs kernel does not know it"
    sp = model.scale_prior
    if sp is not None and sp.on not in row.scale_hyperpriors:
        kinds = ", ".join(sorted(row.scale_hyperpriors)) or "none"
        return (f"{what} with scale_prior {sp!r} (on {sp.on!r}) has no conjugate scale update "
                f"(conjugate kinds: {kinds})")
    return None


def _hyper_mode(hp) -> tuple[int, tuple[float, float]]:
    """The kernel's ``(mode, (a, b))`` for a hyperprior, by the quantity it is a density of.

    Each kind has one distribution in :mod:`mapreg.priors.hyper`: ``"sd"`` the
    ``HalfCauchy(beta)``, ``"var"`` the ``InverseGamma(a, b)``, ``"lam_sq"`` the
    ``GammaLambdaSq(r, delta)``.
    """
    if hp.on == "sd":
        return _k.HALFCAUCHY, (0.0, hp.beta)
    if hp.on == "var":
        return _k.INVGAMMA, (hp.a, hp.b)
    return _k.GAMMA_LAM_SQ, (hp.r, hp.delta)




# A horseshoe draw is GibbsPrior.sweeps_per_draw sweeps only while a sweep is cheap: thinning
# keeps the output the size asked for, but it never raises the ESS per sweep, so where every
# sweep costs real time (large p) each one is kept. Cheap: at most 1e6 flops, or for a
# Pólya-Gamma sweep, whose per-row work (a PG draw, eta) the flops do not count, at most a
# millisecond by the cost model below. The flops alone left the breast-cancer logistic
# horseshoe (1.1e6 flops, ~0.45 ms a sweep) unthinned: min bulk ESS 94 of 4 x 1,000 draws,
# R-hat 1.067 (benchmarks/README.md has it thinned).
_CHEAP_SWEEP_FLOPS = 1e6
_CHEAP_SWEEP_S = 1e-3
# The coordinate sampler's sweeps are thinned up to 4 n p = 4e6 flops (p = 5,000 at n = 200,
# ~3 ms): unthinned, 4 x (1,000 + 1,000) sweeps at 200 x 2,000 gave a min ESS of 181 (a
# warning) in 4.5 s where the block sampler took 22 s for 575.
_CHEAP_COORDINATE_SWEEP_FLOPS = 4e6
_MAX_COORDINATE_THIN = 9
# The cost model (seconds) of a sweep, measured on one core of the project's machine
# (benchmarks/README.md): BLAS-bound flops, the per-coefficient scale updates (a few random
# draws each), a Pólya-Gamma draw per row, and the Python round trip of a Pólya-Gamma sweep.
FLOPS_PER_S = 4e9
# Bhattacharya's B B' by numpy's syrk (Gaussian chains, n**2 p >= EXTERNAL_PRODUCT_MIN):
# measured 1.37 / 3.98 / 14.1 / 29.0 ms per sweep at n = 200, p = 1,000 / 3,000 / 10,000 /
# 20,000 (one thread; benchmarks/README.md), ~2.9e10 n**2 p per second; at 4e9 the model
# overstated these sweeps 7x and kept p > n lassos off the block sampler where it is faster.
SYRK_FLOPS_PER_S = 2.5e10
S_PER_COEF = 6e-8
# The horseshoe's collapsed local-scale sweep (mapreg.posterior.horseshoe_kernel): two
# length-n passes per coefficient (4 n p flops) and one slice-sampling update, ~10 density
# evaluations, measured 2.5 ms per 10,000 coefficients (4.6 ms a sweep at 200 x 10,000).
S_PER_COLLAPSED_SCALE = 2.5e-7
S_PER_PG_DRAW = 2.5e-7
S_PER_PG_SWEEP = 3e-5
# Pólya-Gamma sweeps it takes to be worth one NUTS draw (in bulk ESS): the weights and the
# coefficients move each other slowly. Measured on the breast-cancer Bayesian lasso (569 x
# 30, standardised, Laplace(1)): min bulk ESS 147-285 of 4 x 1,000 sweeps, against 1,950 of
# 4 x 1,000 NUTS draws.
PG_SWEEPS_PER_NUTS_DRAW = 10
# Where an independence proposal exists (mapreg.posterior.independence: fixed scales, a
# prior with a mode, k <= n), each Pólya-Gamma sweep is followed by PG_IMH_STEPS independence
# Metropolis-Hastings steps (the proposal adapted during warm-up from its own importance
# weights: IndependenceSteps): the sweeps move locally, the proposal globally, and neither
# alone mixes well. Breast-cancer lasso, 4 x (1,000 + 1,000), seeds 0-2, min bulk ESS and
# ESS per second of sample_posterior: sweeps alone 252 (185/s); 12 steps 1,190-1,530 (770/s);
# 20 steps 1,880-1,920 (970/s); 30 steps 2,490-2,620 (1,030/s); 40 steps 2,630-2,850
# (980/s); the proposal alone 207-1,197. So a sweep with its steps is worth about a NUTS
# draw (NUTS: 1,677 of 4,000).
PG_IMH_STEPS = 30
PG_IMH_SWEEPS_PER_NUTS_DRAW = 1.0


# The block sampler's sweeps per effective draw (bulk ESS), by prior, for weighing it
# against the coordinate sampler: the Bayesian lasso's latent scales hold coefficients near
# 0 (min bulk ESS 987 of 4 x 1,000 sweeps at 200 x 1,000, 3,039 at 10,000 x 200 with
# b = 0.05: ~1.3-4 sweeps); a Gaussian prior's block draw is exact given its scale.
BLOCK_SWEEPS_PER_ESS = {"laplace": 4.0, "gaussian": 1.0}
#: The block samplers' method codes, and the coordinate-wise sampler's.
COORDINATE = 2


class GibbsPlan(NamedTuple):
    """How :func:`sample_gibbs` samples a model, and what a kept draw costs (estimated).

    Attributes
    ----------
    method : int
        ``gaussian_draw.RUE`` (Cholesky in p-space), ``gaussian_draw.BCM`` (n-space) or
        :data:`COORDINATE` (:mod:`mapreg.posterior.coordinate`).
    flops_per_sweep : float
        Floating-point operations of the coefficient block draw.
    thin : int
        Sweeps per kept draw.
    seconds_per_draw : float
        The cost model's time per kept draw on one core, and per draw worth a NUTS draw
        for the Pólya-Gamma sampler (:data:`PG_SWEEPS_PER_NUTS_DRAW`) and the coordinate
        sampler (its sweeps per effective draw,
        :func:`~mapreg.posterior.coordinate.coordinate_plan`).
    imh_steps : int
        Independence Metropolis-Hastings steps after each Pólya-Gamma sweep (0: none;
        :data:`PG_IMH_STEPS`).
    setup_seconds : float
        Estimated once-per-run cost before the chains (the independence steps' plan).
    """

    method: int
    flops_per_sweep: float
    thin: int
    seconds_per_draw: float
    imh_steps: int = 0
    setup_seconds: float = 0.0

    @property
    def method_name(self) -> str:
        if self.method == COORDINATE:
            return "coordinate-wise, O(min(n p, p^2))"
        name = "Rue's Cholesky, O(p^3)" if self.method == RUE else "Bhattacharya's, O(n^2 p)"
        if self.imh_steps:
            name += f", then {self.imh_steps} independence Metropolis-Hastings steps"
        return name

    @property
    def label(self) -> str:
        """The method as ``attrs["gibbs_method"]`` names it."""
        return {RUE: "rue", BCM: "bhattacharya", COORDINATE: "coordinate"}[self.method]


def gibbs_plan(model) -> GibbsPlan:
    """The Gibbs sampler to run and its estimated cost.

    The block sampler (:func:`block_plan`) or the coordinate-wise one, whichever the cost
    models give the lower time per effective draw (:data:`BLOCK_SWEEPS_PER_ESS`,
    :func:`~mapreg.posterior.coordinate.coordinate_plan`); the only one that applies
    otherwise.
    """
    block = block_plan(model) if block_refusal(model) is None else None
    if coordinate_refusal(model) is not None:
        return block
    coordinate = coordinate_gibbs_plan(model)
    if block is None:
        return coordinate
    # a Pólya-Gamma block plan is already priced per NUTS-equivalent (effective) draw
    per_ess = 1.0 if model.family.name == "bernoulli" else \
        BLOCK_SWEEPS_PER_ESS[model.prior.name]
    return block if block.seconds_per_draw * per_ess < coordinate.seconds_per_draw \
        else coordinate


def coordinate_gibbs_plan(model) -> GibbsPlan:
    """The coordinate-wise sampler's plan (:func:`gibbs_plan` compares it with the block
    sampler's): its flops per sweep, odd thinning, and seconds per effective draw."""
    cp = coordinate_plan(model)
    per_ess = cp.seconds_per_sweep * cp.sweeps_per_ess
    flops = cp.flops
    # cheap sweeps: thin to about one effective draw per kept draw (as the horseshoe does),
    # by an odd number: overrelaxed draws are anti-correlated at odd lags, positively at even
    thin = 1
    if flops <= _CHEAP_COORDINATE_SWEEP_FLOPS:
        thin = min(_MAX_COORDINATE_THIN, 2 * int(max(cp.sweeps_per_ess - 1.0, 0.0) / 2.0) + 1)
    return GibbsPlan(COORDINATE, flops, thin, per_ess)


def block_plan(model) -> GibbsPlan:
    """Rue or Bhattacharya et al., whichever needs fewer flops; the thinning; the cost."""
    n, p = model.n_samples, model.n_features
    k = p + int(model.fit_intercept)
    weighted = GIBBS_FAMILIES[model.family.name] == _k.BERNOULLI
    rue = rue_flops(n, k, weighted)
    bcm = bcm_flops(n, p, symmetric=not weighted and n * n * p >= EXTERNAL_PRODUCT_MIN)
    method, flops = (RUE, rue) if rue <= bcm else (BCM, bcm)
    if getattr(model, "is_dask", False):  # only Z'Z, Z'y exist: Rue's path
        method, flops = RUE, rue
    rate = SYRK_FLOPS_PER_S if method == BCM and not weighted and \
        n * n * p >= EXTERNAL_PRODUCT_MIN else FLOPS_PER_S
    # a Pólya-Gamma Rue sweep forms Z'Omega Z by BLAS (np.dot): measured 3.5 ms a sweep at
    # 2,000 x 200 and 5.6 ms at 1,000 x 400 (one thread), ~5e10 flop/s; at FLOPS_PER_S the
    # model had them 12-15x slower, and kept logistic horseshoes there on NUTS
    product = rue_flops(n, k, True) - rue_flops(n, k, False) if method == RUE and weighted \
        else 0.0
    sweep = (flops - product) / rate + product / SYRK_FLOPS_PER_S + p * S_PER_COEF
    pairs = collapsed_local_scales(model)
    gram_pairs = method == RUE and not weighted  # the pairs from Z'Z: O(k**2) a sweep
    if pairs:  # else two length-n passes per coefficient
        passes = 2.0 * k * k if gram_pairs else (6.0 if weighted else 4.0) * n * p
        sweep += passes / FLOPS_PER_S + p * S_PER_COLLAPSED_SCALE
    if weighted:
        sweep += n * S_PER_PG_DRAW + S_PER_PG_SWEEP
    # tau with the coefficients integrated out on Rue's path: TAU_MH_STEPS k x k Choleskys
    # (gibbs_kernel._horseshoe_tau_collapsed_rue), always for the Pólya-Gamma sweep
    tau_collapsed = (method == RUE and pairs
                     and not getattr(model.prior, "fixed_tau", False))
    tau_cost = _k.TAU_MH_STEPS * (k**3 / 3.0 + k * k) / FLOPS_PER_S if tau_collapsed else 0.0
    if weighted:
        sweep += tau_cost
    cheap = flops <= _CHEAP_SWEEP_FLOPS or (weighted and sweep <= _CHEAP_SWEEP_S)
    thin = GIBBS_PRIORS[model.prior.name].sweeps_per_draw if cheap else 1
    if not weighted and thin == 1:  # ... and for the Gaussian one where a draw is one sweep
        sweep += tau_cost
    if (method == BCM and model.prior.name == "regularized-horseshoe"
            and not getattr(model.prior, "fixed_tau", False)):
        # its tau collapsed at p > n: each Metropolis proposal forms its own Phi D Phi' and
        # Cholesky, a sweep's worth of flops (gibbs_kernel.rhs_tau_propose)
        sweep += _k.RHS_TAU_MH_STEPS * flops / rate
    if not weighted:
        return GibbsPlan(method, flops, thin, thin * sweep)
    if independence_refusal(model) is not None:
        # PG_SWEEPS_PER_NUTS_DRAW sweeps are worth a NUTS draw, however they are thinned:
        # a horseshoe draw of 10 sweeps is one (measured 5-8 sweeps per NUTS draw on four
        # logistic horseshoes, where NUTS draws are worth less: benchmarks/README.md)
        return GibbsPlan(method, flops, thin, max(thin, PG_SWEEPS_PER_NUTS_DRAW) * sweep)
    # a proposal exists (fixed scales, a mode, k <= n): global independence steps too
    sweep += independence_cost(model, PG_IMH_STEPS)
    return GibbsPlan(method, flops, thin, thin * PG_IMH_SWEEPS_PER_NUTS_DRAW * sweep,
                     PG_IMH_STEPS)


def collapsed_local_scales(model) -> bool:
    """Whether the local scales are drawn with their coefficients integrated out
    (:mod:`mapreg.posterior.horseshoe_kernel`): always for the horseshoe and the regularised
    one (the gaussian family on Bhattacharya's path from the rows, on Rue's from ``Z'Z``;
    the bernoulli family given the Pólya-Gamma weights)."""
    return GIBBS_PRIORS[model.prior.name].code in (_k.PRIOR_HORSESHOE, _k.PRIOR_REG_HORSESHOE)


class ChainData(NamedTuple):
    """What every chain of one run reads (never writes): settings and data arrays."""

    ipar: np.ndarray
    fpar: np.ndarray
    ZtZ: np.ndarray  # Rue, gaussian: Z'Z
    Zty: np.ndarray  # Rue: Z'y (gaussian) or Z'kappa (bernoulli)
    t0: np.ndarray
    g0: np.ndarray
    X: np.ndarray  # Bhattacharya or bernoulli: X (n x p)
    y: np.ndarray
    resp: np.ndarray  # Bhattacharya, gaussian: y - ybar; bernoulli: kappa = y - 1/2
    xbar: np.ndarray  # Bhattacharya, gaussian: the column means (zeros without intercept)
    k: int
    scale_init: float
    noise_init: float
    scale_name: str | None  # "prior_scale", "tau" or None (the scale is fixed)
    # the horseshoe on Bhattacharya's path, gaussian: X' (p x n, contiguous) and |x_j|**2
    # for the collapsed local-scale sweep (mapreg.posterior.horseshoe_kernel); else empty
    XT: np.ndarray = np.empty((0, 0))
    colsq: np.ndarray = np.empty(0)


def _scale_setup(model) -> tuple[int, tuple[float, float], str | None]:
    prior, row = model.prior, GIBBS_PRIORS[model.prior.name]
    if row.global_scale:
        # the global scale: tau = scale (fixed_tau), or tau ~ HalfCauchy(scale)
        tau_free = not getattr(prior, "fixed_tau", False)
        return (_k.HALFCAUCHY if tau_free else _k.FIXED), (0.0, prior.scale), \
            ("tau" if tau_free else None)
    if model.scale_prior is None:
        return _k.FIXED, (0.0, 0.0), None
    mode, params = _hyper_mode(model.scale_prior)
    return mode, params, "prior_scale"


def chain_data(model, plan: GibbsPlan, draws: int, tune: int) -> ChainData:
    """The kernel's settings and data for ``model`` sampled as ``plan`` says."""
    dask = getattr(model, "is_dask", False)  # Rue, gaussian: the statistics are enough
    X = np.zeros((1, 1)) if dask else np.ascontiguousarray(model.X, dtype=float)
    y = np.zeros(1) if dask else np.asarray(model.y, dtype=float)
    n, p = model.n_samples, model.n_features
    k = p + int(model.fit_intercept)
    family = GIBBS_FAMILIES[model.family.name]
    scale_mode, scale_params, scale_name = _scale_setup(model)
    none1, none2 = np.zeros(1), np.zeros((1, 1))
    ZtZ, Zty, t0, g0, r0 = none2, none1, none1, none1, 0.0
    xbar, resp, ybar = np.zeros(p), y, 0.0
    noise_init = 1.0
    if family == _k.BERNOULLI:
        resp = y - 0.5
        if plan.method == RUE:
            Zty = np.append(X.T @ resp, resp.sum()) if model.fit_intercept else X.T @ resp
        else:
            Zty = np.zeros(k)
    elif plan.method == RUE:
        st = model_sufficient_stats(model)
        ZtZ, Zty, t0, g0, r0 = st.ZtZ, st.Zty, st.t0, st.g0, st.r0
        dof = max(n - k, 1)
        yty = gram(model)[2] if dask else float(y @ y)
        noise_init = math.sqrt(max(r0 / dof, 1e-12 * (yty / n)))
    else:
        if model.fit_intercept:
            ybar = float(y.mean())
            xbar = X.mean(axis=0)
        resp = y - ybar
        # p >= n: least squares interpolates, so start from the null model's residual sd
        noise_init = math.sqrt(max(float(resp @ resp) / n, 1e-300))
    npr = model.noise_prior
    noise_mode, noise_params = _k.FIXED, (0.0, 0.0)
    if family == _k.GAUSSIAN and npr is None:
        noise_init = float(model.noise_sigma)
    elif npr is not None:
        noise_mode, noise_params = _hyper_mode(npr)
    ipar = np.zeros(_k.N_IPAR, dtype=np.int64)
    ipar[[_k.I_FAMILY, _k.I_METHOD, _k.I_INTERCEPT, _k.I_PRIOR, _k.I_SCALE_MODE,
          _k.I_NOISE_MODE, _k.I_THIN, _k.I_TUNE, _k.I_N]] = (
        family, plan.method, int(model.fit_intercept), GIBBS_PRIORS[model.prior.name].code,
        scale_mode, noise_mode, plan.thin, tune, n)
    fpar = np.zeros(_k.N_FPAR)
    row = GIBBS_PRIORS[model.prior.name]
    slab = row.slab(model.prior) if row.slab is not None else (0.0, 0.0)
    fpar[[_k.F_SCALE_A, _k.F_SCALE_B, _k.F_NOISE_A, _k.F_NOISE_B, _k.F_YBAR, _k.F_R0,
          _k.F_SLAB_A, _k.F_SLAB_B]] = (*scale_params, *noise_params, ybar, r0, *slab)
    if family == _k.GAUSSIAN and plan.method == RUE:
        X = none2  # Rue on Z'Z: the data are no longer needed
    XT, colsq = np.empty((0, 0)), np.empty(0)
    if collapsed_local_scales(model) and not (
            family == _k.GAUSSIAN and plan.method == RUE):  # (that one reads Z'Z)
        XT = np.ascontiguousarray(X.T)  # the columns, each contiguous: one more n x p
        colsq = np.einsum("ij,ij->j", X, X)
    return ChainData(ipar, fpar, ZtZ, Zty, t0, g0, X, y, resp, xbar, k,
                     float(model.prior.scale), noise_init, scale_name, XT, colsq)


def sample_gibbs(model, draws: int, tune: int, chains: int, seed: int,
                 progressbar: bool = False, plan: GibbsPlan | None = None) -> Draws:
    """Draw from ``model``'s posterior with the Gibbs sampler.

    Each chain makes ``(tune + draws) * thin`` sweeps and keeps every ``thin``-th of
    the last ``draws * thin`` (``thin``: :func:`gibbs_plan`). Chain ``c`` is seeded with the
    ``c``-th child of ``numpy.random.SeedSequence(seed)``. ``progressbar`` shows a tqdm bar
    on stderr; Ctrl-C stops every chain within about a block of sweeps (a fraction of a
    second) and raises ``KeyboardInterrupt`` (:mod:`mapreg.posterior.gibbs_run`).

    Raises
    ------
    ValueError
        When :func:`gibbs_refusal` gives a reason.
    """
    from threadpoolctl import threadpool_limits

    from mapreg.posterior.gibbs_run import run_chains

    reason = gibbs_refusal(model)
    if reason is not None:
        raise ValueError(f"the Gibbs sampler does not apply: {reason}")
    if plan is None:  # auto passes the plan it chose by (its surrogate costs an eigvalsh)
        plan = gibbs_plan(model)
    if plan.method == COORDINATE:
        return sample_coordinate(model, draws, tune, chains, seed, progressbar, plan.thin)
    data = chain_data(model, plan, draws, tune)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(chains)]
    imh, moves, attrs = _independence_steps(model, plan, draws, tune, chains, seed)
    with threadpool_limits(limits=1):
        coef, intercept, noise, scale = run_chains(data, draws, tune, plan.thin, seeds,
                                                   n_cores(), progressbar, imh)
    if moves:
        attrs["gibbs_independence_acceptance"] = (
            sum(m.accepted for m in moves) / max(1, sum(m.proposed for m in moves)))
        attrs["gibbs_independence_adapted"] = int(all(m.adapted for m in moves))
        attrs["gibbs_independence_steps_adapted"] = float(np.mean([m.steps for m in moves]))
    hyper = {}
    if model.noise_prior is not None:
        hyper["noise_sigma"] = noise
    if data.scale_name is not None:
        hyper[data.scale_name] = scale
    return Draws(coef, intercept, hyper,
                 attrs={"gibbs_sweeps_per_draw": plan.thin, "gibbs_method": plan.label,
                        **attrs})


def _independence_steps(model, plan: GibbsPlan, draws: int, tune: int, chains: int,
                        seed: int):
    """The independence steps' factory for :func:`run_chains`, the list it fills, and the
    attrs describing them; ``(None, [], {})`` when the plan has none, and no steps when no
    proposal exists (the Gaussian approximation's precision is not positive definite)."""
    if not plan.imh_steps:
        return None, [], {}
    from mapreg.posterior.independence import INFLATION, NU
    from mapreg.posterior.independence_proposal import Target, proposal
    from mapreg.posterior.independence_steps import IndependenceSteps

    try:
        start = proposal(model, NU, INFLATION)
    except ValueError as err:
        return None, [], {"gibbs_independence_steps": 0,
                          "gibbs_independence_skipped": str(err)}
    target = Target(model)
    moves = []

    def factory(rng):
        moves.append(IndependenceSteps(start, target, plan.imh_steps, rng, tune))
        return moves[-1]

    return factory, moves, {"gibbs_independence_steps": plan.imh_steps}
