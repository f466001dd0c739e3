"""Which samplers target a model's posterior, and what ``sampler="auto"`` runs and why.

Every sampler says for itself which models it targets exactly
(:func:`~mapreg.posterior.exact.exact_refusal`,
:func:`~mapreg.posterior.gibbs.gibbs_refusal`; NUTS takes any model). The automatic
choice is exact, else (gaussian family) Gibbs where a cost model says it is faster than
NUTS, else the cheapest by that cost model of Gibbs, HMC with a dense metric
(:mod:`mapreg.posterior.hmc`), the independence Metropolis-Hastings sampler where its plan
is reliable, and nutpie (pymc without it); its reason, with the estimated costs, is kept
in the result's ``attrs["sampler_reason"]``. On dask-backed data (:attr:`mapreg.Model.is_dask`) only
the samplers that read ``Z'Z`` and ``Z'y`` apply — exact and the gaussian Gibbs sampler —
and ``"auto"`` takes them in that order; NUTS is refused
(:func:`mapreg.backends.dask_stats.mcmc_refusal`).

The cost model (:func:`nuts_seconds`, :func:`mapreg.posterior.gibbs.gibbs_plan`) counts
flops. A Gibbs sweep costs ``min(p**3/3, 2 n**2 p)`` (Rue / Bhattacharya et al.), plus
``2 n p**2`` to form ``Z'Omega Z`` for a Pólya-Gamma sweep. A NUTS draw costs about
``L = 4 sqrt(k)`` gradients (measured with nutpie: 12.5 on diabetes, k = 11; 33 on the
breast-cancer logistic model, k = 31; 130 at n = 200, p = 500; about 200 at p = 1,000 to
2,000; under a horseshoe prior ``19 sqrt(k)`` and more,
:data:`NUTS_GRADS_PER_SQRT_K_BY_PRIOR`), each ``4 k**2`` flops on the Gaussian sufficient
statistics (where ``k <= n``) or ``4 n k`` on the rows (other families, and the Gaussian
one at ``p > n``), plus a few microseconds, and NUTS compiles its model first (a few
seconds).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from mapreg.posterior.exact import exact_refusal
from mapreg.posterior.gibbs import gibbs_plan, gibbs_refusal
from mapreg.posterior.hmc import (
    HMC_GRADS_PER_DRAW,
    approximation,
    hmc_refusal,
    hmc_seconds_per_draw,
)
from mapreg.posterior.independence import independence_plan, independence_refusal, plan_cost
from mapreg.posterior.nuts import NUTS_SAMPLERS

SAMPLERS = ("auto", *NUTS_SAMPLERS, "exact", "gibbs", "independence", "hmc")

# NUTS' side of the cost model (see the module docstring): gradients per draw = 4 sqrt(k)
# (at most 1,023, the tree-depth limit), the flop rate of a gradient's matrix-vector
# products and its fixed cost, and the model's compilation.
NUTS_GRADS_PER_SQRT_K = 4.0
# The horseshoes' NUTS runs at target_accept 0.99 (mapreg.posterior.nuts.TARGET_ACCEPT) through
# the funnel of each w_j and its local scale: nutpie took 19, 24 and 77 gradients per sqrt(k)
# per draw on three logistic horseshoes (500 x 100, 200 x 30 and breast cancer) against 1.5,
# 1.6 and 6.2 under a Laplace prior (benchmarks/README.md); the lowest is kept.
NUTS_GRADS_PER_SQRT_K_BY_PRIOR = {"horseshoe": 19.0, "regularized-horseshoe": 19.0}
NUTS_FLOPS_PER_S = 2e9
NUTS_S_PER_GRAD = 5e-6
NUTS_COMPILE_S = 5.0


class Choice(NamedTuple):
    """A sampler, the reason it was chosen, and the plan it was chosen by (if any).

    ``plan``: the :class:`~mapreg.posterior.independence.IndependencePlan` behind an
    ``"independence"`` choice (the run reuses its proposal), the
    :class:`~mapreg.posterior.gibbs.GibbsPlan` behind a ``"gibbs"`` one (not recomputed),
    or the Gaussian approximation ``(m, L)`` behind an ``"hmc"`` one (its metric).
    """

    sampler: str
    reason: str
    plan: object = None


def refusal(model, sampler: str) -> str | None:
    """Why ``sampler`` does not target ``model``'s posterior exactly; ``None`` when it does."""
    if sampler == "exact":
        return exact_refusal(model)
    if sampler == "gibbs":
        return gibbs_refusal(model)
    if sampler == "independence":
        return independence_refusal(model)
    if sampler == "hmc":
        return hmc_refusal(model)
    if getattr(model, "is_dask", False):
        from mapreg.backends.dask_stats import mcmc_refusal

        return mcmc_refusal(model)
    return None  # NUTS: any family, any prior with a to_pymc, any hyperprior


def valid_samplers(model) -> tuple[str, ...]:
    """The samplers that target this model's posterior exactly."""
    return tuple(s for s in (*NUTS_SAMPLERS, "gibbs", "exact", "independence", "hmc")
                 if refusal(model, s) is None)


def nuts_seconds(model, iterations: int) -> tuple[float, float]:
    """The cost model's NUTS time for ``iterations`` draws of one chain, and its gradients/draw."""
    n, k = model.n_samples, model.n_features + int(model.fit_intercept)
    per_sqrt_k = NUTS_GRADS_PER_SQRT_K_BY_PRIOR.get(model.prior.name, NUTS_GRADS_PER_SQRT_K)
    grads = min(1023.0, per_sqrt_k * math.sqrt(k))
    # The Gaussian likelihood goes through Z'Z only where that is cheaper than the rows
    # (mapreg.posterior.pymc_model.uses_sufficient_stats: k <= n).
    flops = 4.0 * k * min(k, n) if model.family.name == "gaussian" else 4.0 * n * k
    return NUTS_COMPILE_S + iterations * grads * (flops / NUTS_FLOPS_PER_S + NUTS_S_PER_GRAD), \
        grads


def auto_choice(model, draws: int = 1000, tune: int = 1000, chains: int = 4) -> Choice:
    """What ``sampler="auto"`` runs: exact, else the cheapest of Gibbs, HMC, independence
    Metropolis-Hastings and NUTS by the cost model, else nutpie.

    Exact i.i.d. draws need no chain at all. Gibbs against NUTS is decided by the cost
    model of the module docstring for one chain of ``tune + draws`` iterations. The
    independence sampler (:mod:`mapreg.posterior.independence`) is planned — a Gaussian
    approximation, a few thousand importance weights (at most about a second; without the
    refinement rounds, ~0.1 s, where a Gibbs sampler applies) — for the non-Gaussian
    families always, for the Gaussian one when Gibbs does not win, and is a candidate when
    its plan is reliable (Pareto k-hat and repeat probability); its cost includes the plan.
    HMC (:func:`~mapreg.posterior.hmc.hmc_seconds_per_draw`) is a candidate where it
    applies, its metric the plan's unrefined Gaussian approximation (handed to the run in
    ``Choice.plan``). The reason gives the estimates.
    """
    not_exact = exact_refusal(model)
    if not_exact is None:
        return Choice("exact", "the closed-form posterior gives i.i.d. draws (no chain)")
    not_gibbs = gibbs_refusal(model)
    if getattr(model, "is_dask", False):
        return _dask_choice(model, not_exact, not_gibbs)
    n, p = model.n_samples, model.n_features
    its = draws + tune
    nuts_s, grads = nuts_seconds(model, its)
    nuts_words = (f"~{nuts_s:.3g} s for NUTS (~{grads:.0f} gradients per draw, compilation "
                  f"included), {its} iterations")
    gibbs_s = math.inf
    if not_gibbs is None:
        plan = gibbs_plan(model)
        gibbs_s = plan.setup_seconds + its * plan.seconds_per_draw
        gibbs_words = (f"n = {n}, p = {p}: a Gibbs chain ({plan.method_name} per sweep, "
                       f"{plan.thin} sweep{'s' * (plan.thin > 1)} per draw) ~{gibbs_s:.3g} s")
        if gibbs_s <= nuts_s and model.family.name == "gaussian":
            return Choice("gibbs", f"not exact: {not_exact}; the conjugate Gibbs sampler "
                                   f"applies and is the cheaper: {gibbs_words} against "
                                   f"{nuts_words}", plan)
        not_gibbs = f"it applies: {gibbs_words}"
    not_hmc = hmc_refusal(model)
    not_independence = independence_refusal(model)
    imh_s, ip = math.inf, None
    if not_independence is None:
        # with a Gibbs sampler or HMC at hand (the Pólya-Gamma sweeps have their own adapted
        # independence steps) only the quick, unrefined plan is paid for
        refine = gibbs_s == math.inf and not_hmc is not None
        ip = independence_plan(model, iterations=chains * its, refine=refine)
        cost = plan_cost(model, refine) + its * ip.seconds_per_draw
        imh_s = cost if ip.reliable else math.inf
        not_independence = (f"k-hat {ip.k_hat:.2f}, acceptance ~{ip.accept_estimate:.2f}, "
                            f"{ip.thin} steps per draw: ~{cost:.3g} s a chain, plan included"
                            if ip.reliable else ip.reason)
    hmc_s, approx = math.inf, None
    if not_hmc is None:
        try:  # the independence plan's (unrefined) approximation, when there is one
            approx = approximation(model, None if ip is None else ip.proposal)
        except ValueError as err:
            not_hmc = str(err)
        else:
            # (the approximation, a MAP and EP, is not counted: the independence plan
            # needs the same one)
            hmc_s = its * hmc_seconds_per_draw(model)
            not_hmc = (f"~{hmc_s:.3g} s a chain ({HMC_GRADS_PER_DRAW:g} gradients per draw "
                       "with a dense metric from the Gaussian approximation)")
    best = min(gibbs_s, imh_s, hmc_s, nuts_s)
    why = (f"not exact: {not_exact}; gibbs: {not_gibbs}; independence: {not_independence}; "
           f"hmc: {not_hmc}")
    if best == hmc_s:
        return Choice("hmc", f"{why}; HMC is the cheapest, against {nuts_words}", approx)
    if best == imh_s:
        return Choice("independence", f"{why}; the independence sampler is the cheapest, "
                                      f"against {nuts_words}", ip)
    if best == gibbs_s:
        return Choice("gibbs", f"{why}; the Gibbs sampler is the cheapest, against "
                               f"{nuts_words}", plan)
    try:
        import nutpie  # noqa: F401
    except ImportError:  # pragma: no cover - nutpie is a dependency
        return Choice("pymc", f"{why}; NUTS is the cheapest ({nuts_words}); nutpie is not "
                              "installed")
    return Choice("nutpie", f"{why}; NUTS is the cheapest ({nuts_words}); nutpie is PyMC's "
                            "fastest NUTS")


def _dask_choice(model, not_exact: str, not_gibbs: str | None) -> Choice:
    """Dask-backed data: Gibbs from ``Z'Z``, ``Z'y`` when it applies; no NUTS (rows)."""
    if not_gibbs is None:
        return Choice("gibbs", f"not exact: {not_exact}; the data are dask-backed, so the "
                               "Gibbs sampler runs from the one-pass statistics X'X, X'y "
                               "(NUTS would read every row at every step)")
    from mapreg.backends.dask_stats import mcmc_refusal

    raise ValueError(f"sample_posterior: no sampler for this model: not exact: {not_exact}; "
                     f"not gibbs: {not_gibbs}; no NUTS: {mcmc_refusal(model)}")


def choose_sampler(model) -> str:
    """The sampler ``sampler="auto"`` runs (:func:`auto_choice`)."""
    return auto_choice(model).sampler
