"""Gibbs samplers for the Gaussian family: Bayesian lasso, Bayesian ridge and the horseshoe.

:func:`sample_gibbs` is the one entry, used by :func:`mapreg.sample_posterior` and by
:func:`mapreg.empirical_bayes_laplace`; :func:`gibbs_refusal` says whether it targets a
model's posterior exactly. The conditionals and the numba kernel are in
:mod:`mapreg.posterior.gibbs_kernel`.

Which models: the gaussian family; a prior that lists ``"gibbs"`` in its ``samplers``
and has a row in :data:`GIBBS_PRIORS`; a ``scale_prior`` (if any) whose kind
(:attr:`Hyperprior.on <mapreg.priors.hyper.Hyperprior.on>`) that row updates
conjugately; any noise hyperprior (half-Cauchy on the sd, inverse gamma on the variance).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from mapreg.posterior import gibbs_kernel as _k
from mapreg.posterior.draws import Draws, n_cores
from mapreg.posterior.sufficient import SufficientStats, sufficient_stats

# Sweeps per kept horseshoe draw. A sweep costs microseconds at small p, but the local
# scales lam_j and the coefficients move each other slowly (a coefficient near 0 pulls its
# lam_j to 0 and vice versa; correlated features trade mass): on diabetes a single sweep
# per draw gave bulk ESS ~230-340 of 4 x 1,000 and R-hat up to 1.024. Thinning keeps the
# output the size the user asked for at a fraction of NUTS' cost.
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
    """

    code: int
    scale_hyperpriors: frozenset[str]
    sweeps_per_draw: int = 1


# The priors the kernel samples, by registry name (``Prior.name``). The table lives here and
# not in the prior classes: the kernel's codes, which scale hyperpriors it updates
# conjugately and how long its chains mix are internals of this sampler. A prior only
# declares ``"gibbs"`` in its ``samplers``; this table must then know its name.
GIBBS_PRIORS: dict[str, GibbsPrior] = {
    "gaussian": GibbsPrior(_k.PRIOR_GAUSSIAN, frozenset({"sd", "var"})),
    "laplace": GibbsPrior(_k.PRIOR_LAPLACE, frozenset({"lam_sq"})),
    # tau ~ HalfCauchy(scale) belongs to the prior itself: it takes no scale_prior
    "horseshoe": GibbsPrior(_k.PRIOR_HORSESHOE, frozenset(), _HORSESHOE_SWEEPS_PER_DRAW),
}


def gibbs_refusal(model) -> str | None:
    """Why the Gibbs sampler does not target ``model``'s posterior; ``None`` when it does."""
    prior = model.prior
    what = f"the {type(prior).__name__} prior ({prior.name!r})"
    if model.family.name != "gaussian":
        return f"it needs the gaussian family, not {model.family.name!r}"
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


class _Setup(NamedTuple):
    """The kernel's arguments for one model, and what the chains' scale output is."""

    code: int
    thin: int
    scale_mode: int
    scale_params: tuple[float, float]
    scale_init: float
    scale_name: str | None  # "prior_scale", "tau" or None (the scale is fixed)
    noise_mode: int
    noise_params: tuple[float, float]
    noise_init: float


def _setup(model, st: SufficientStats) -> _Setup:
    prior, row = model.prior, GIBBS_PRIORS[model.prior.name]
    if row.code == _k.PRIOR_HORSESHOE:
        # the global scale: tau = scale (fixed_tau), or tau ~ HalfCauchy(scale)
        tau_free = not prior.fixed_tau
        scale_mode, scale_params = (_k.HALFCAUCHY if tau_free else _k.FIXED), (0.0, prior.scale)
        scale_name = "tau" if tau_free else None
    elif model.scale_prior is None:
        scale_mode, scale_params, scale_name = _k.FIXED, (0.0, 0.0), None
    else:
        (scale_mode, scale_params), scale_name = _hyper_mode(model.scale_prior), "prior_scale"
    npr = model.noise_prior
    if npr is None:
        noise_mode, noise_params, noise_init = _k.FIXED, (0.0, 0.0), model.noise_sigma
    else:
        dof = max(st.n - st.ZtZ.shape[0], 1)
        noise_init = math.sqrt(max(st.r0 / dof, 1e-12 * (float(model.y @ model.y) / st.n)))
        noise_mode, noise_params = _hyper_mode(npr)
    return _Setup(row.code, row.sweeps_per_draw, scale_mode, scale_params, prior.scale,
                  scale_name, noise_mode, noise_params, noise_init)


def _run_chains(st: SufficientStats, s: _Setup, draws: int, tune: int, seeds,
                n_threads: int):
    """Run one chain per seed (in threads: the kernel releases the GIL)."""
    chains = len(seeds)
    k = st.ZtZ.shape[0]
    theta = np.empty((chains, draws, k))
    noise = np.empty((chains, draws))
    scale = np.empty((chains, draws))

    def one(c):
        _k.gibbs_chain(st.ZtZ, st.Zty, st.t0, st.r0, st.g0, st.n, st.p,
                       np.random.default_rng(seeds[c]), tune, draws, int(s.thin), s.code,
                       s.scale_mode, float(s.scale_params[0]), float(s.scale_params[1]),
                       float(s.scale_init), s.noise_mode, float(s.noise_params[0]),
                       float(s.noise_params[1]), float(s.noise_init),
                       theta[c], noise[c], scale[c])

    if n_threads > 1 and chains > 1:
        with ThreadPoolExecutor(max_workers=min(n_threads, chains)) as pool:
            list(pool.map(one, range(chains)))
    else:
        for c in range(chains):
            one(c)
    return theta, noise, scale


def sample_gibbs(model, draws: int, tune: int, chains: int, seed: int) -> Draws:
    """Draw from ``model``'s posterior with the Gibbs sampler.

    Each chain makes ``(tune + draws) * sweeps`` sweeps and keeps every ``sweeps``-th of
    the last ``draws * sweeps`` (``sweeps = GIBBS_PRIORS[prior.name].sweeps_per_draw``).
    Chain ``c`` is seeded with the ``c``-th child of ``numpy.random.SeedSequence(seed)``.

    Raises
    ------
    ValueError
        When :func:`gibbs_refusal` gives a reason.
    """
    from threadpoolctl import threadpool_limits

    reason = gibbs_refusal(model)
    if reason is not None:
        raise ValueError(f"the Gibbs sampler does not apply: {reason}")
    st = sufficient_stats(model.X, model.y, model.fit_intercept)
    setup = _setup(model, st)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(chains)]
    with threadpool_limits(limits=1):
        theta, noise, scale = _run_chains(st, setup, draws, tune, seeds, n_cores())
    hyper = {}
    if model.noise_prior is not None:
        hyper["noise_sigma"] = noise
    if setup.scale_name is not None:
        hyper[setup.scale_name] = scale
    p = st.p
    intercept = theta[:, :, p] if model.fit_intercept else np.zeros((chains, draws))
    return Draws(theta[:, :, :p], intercept, hyper,
                 attrs={"gibbs_sweeps_per_draw": setup.thin})
