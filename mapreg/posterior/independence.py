r"""Independence Metropolis-Hastings from a heavy-tailed Gaussian approximation, PSIS-gated.

The proposal does not depend on the chain's state: a multivariate Student-t
``q(theta) = t_nu(theta | m, c**2 Q^{-1})`` with ``nu`` (:data:`NU`) degrees of freedom and
scale inflation ``c`` (:data:`INFLATION`) on a Gaussian approximation ``N(m, Q^{-1})`` of
the posterior over ``theta = (w, [w0])``: the Laplace approximation at the MAP on all
coordinates for smooth priors, expectation propagation for priors with an L1 part, whose
MAP zeros have no curvature (:mod:`mapreg.posterior.independence_proposal`); then, where
it costs little next to the run, moved to the PSIS-weighted mean and covariance of
:data:`REFINE_PROPOSALS` of its own draws while that raises the importance-sampling ESS.

A move from ``theta`` to a proposal ``theta'`` is accepted with probability
``min(1, w(theta') / w(theta))``, ``w = p(theta | y) / q(theta)`` (unnormalised: the log
posterior is ``loglik + sum_j log p(w_j)``, the flat intercept adds 0). When ``w`` is
bounded by ``W`` the chain is uniformly ergodic and each step forgets its state with
probability at least ``1/W`` (Mengersen & Tweedie 1996); heavy-tailed weights make it stick.
:func:`independence_plan` reads that off ``M`` (:data:`PLAN_PROPOSALS`) proposals: the
Pareto-smoothed importance-sampling shape ``k_hat`` (``arviz_stats``' PSIS; Vehtari,
Simpson, Gelman, Yao & Gabry 2024, "Pareto smoothed importance sampling", JMLR 25) against
their sample-size-dependent threshold ``min(1 - 1/log10(M), 0.7)`` (0.7 at ``M = 4,000``),
above which the ratios' variance is effectively infinite (unless every sampled ratio is
within :data:`MAX_WEIGHT` of their mean: the shape of a bounded, narrow tail does not
matter); and, because ``k_hat <= 0.7`` alone did not predict mixing (a variational
proposal on the breast-cancer lasso: ``k_hat`` 0.63, 9 effective draws of 4,000), the
estimated probability that a kept draw repeats the previous one (at most
:data:`REPEAT_MAX`). A plan failing either is "unreliable": :func:`sample_independence`
still runs and warns.

Cost: one log-density evaluation per step, for a block of proposals at once (``X @ W'``,
``2 n k`` flops per proposal, plus the family's log-likelihood on ``n`` values; gaussian:
``2 k**2`` on ``Z'Z``), and an ``O(1)`` sequential accept / reject per step; the chains
run on threads. A kept draw is every :attr:`IndependencePlan.thin`-th step.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from typing import NamedTuple

import numpy as np

from mapreg.exceptions import SamplingWarning
from mapreg.model import Model
from mapreg.posterior.draws import Draws, n_cores
from mapreg.posterior.independence_proposal import Proposal as _Proposal
from mapreg.posterior.independence_proposal import Target as _Target
from mapreg.posterior.independence_proposal import block_size as _block_size
from mapreg.posterior.independence_proposal import log_posterior
from mapreg.posterior.independence_proposal import proposal as _proposal
from mapreg.posterior.independence_proposal import streams as _streams
from mapreg.posterior.independence_proposal import weights as _weights

__all__ = ["IndependencePlan", "independence_plan", "independence_refusal", "log_posterior",
           "plan_cost", "sample_independence"]

# The proposal's tails and width, by measurement (sample_independence, 4 x (1,000 + 1,000),
# min bulk ESS over 4 seeds): breast-cancer logistic, Gaussian(1) prior: nu = 5, c = 1.1:
# 608-1,313; nu = 10, c = 1.0: 72-1,840; nu = 10, c = 1.1: 627-1,826; nu = 30, c = 1.1:
# 1,063-2,306. Diabetes lasso: 2,747-3,436 for all four. A log-concave posterior's tails are
# lighter than any Student-t's, so nu = 30 still bounds the weights there; the inflation
# covers EP's sds, 0.85-0.99 of the posterior's.
#: Degrees of freedom of the Student-t proposal.
NU = 30.0
#: Factor on the proposal's scale (``S = INFLATION**2 Q^{-1}``).
INFLATION = 1.1
#: Proposals drawn by :func:`independence_plan` to estimate ``k_hat`` and the acceptance.
PLAN_PROPOSALS = 4000
#: Proposals whose PSIS-weighted mean and covariance refine the proposal, and the most
#: rounds (each kept only if it raises the IS ESS), attempted while the weights' k_hat is
#: below REFINE_K_HAT_MAX (PSIS-smoothed moments still improve a proposal at k_hat
#: 0.7-1; a worse one is dropped). Breast cancer, Laplace(1), nu = 30, c = 1.1: acceptance
#: 0.11 (EP) -> 0.17 (8,000 proposals: no gain, the weights too noisy); Gaussian(1) prior:
#: 0.22 -> 0.45.
REFINE_PROPOSALS = 32000
REFINE_ROUNDS = 2
REFINE_K_HAT_MAX = 1.0
REFINE_SHARE = 0.25
#: The largest allowed probability that a kept draw repeats the previous kept one.
STICK = 0.05
#: The most steps per kept draw (beyond it the proposal is too poor to be worth it).
MAX_THIN = 20
#: The largest estimated probability that a kept draw repeats the previous one for a
#: reliable plan (4 x (1,000 + 1,000), seeds 0-4: the breast-cancer Laplace(1) model at
#: repeat 0.14-0.21 kept 207-1,197 effective draws, sticking episodes; every model at
#: <= 0.05 (breast cancer with a Gaussian(1) prior, the diabetes, poisson and n >> p
#: lassos) kept 2,978-3,756).
REPEAT_MAX = 0.1
#: Largest ratio (over the mean) at which a large ``k_hat`` is ignored: the state with the
#: largest sampled weight then holds the chain ~3 steps. A kink makes ``k_hat`` meaningless
#: on near-constant ratios (a one-coefficient bernoulli Laplace(1) model: ``k_hat`` 1.38
#: with every ratio within 15% of the largest, IS ESS 97%, acceptance 0.94).
MAX_WEIGHT = 3.0
#: PSIS' largest reliable ``k_hat`` (Vehtari et al. 2024: ``min(1 - 1/log10(S), 0.7)``).
K_HAT_MAX = 0.7
# The cost model of one proposal (seconds): its draw (a triangular solve, 2 k**2 flops), the
# likelihood (gaussian, k <= n: 2 k**2 flops on Z'Z; other families: 2 n k flops of X @ W'
# and the elementwise softplus / exp at S_PER_ROW per row) and S_PER_STEP of bookkeeping
# (the prior's logpdf, the accept / reject). Fitted to benchmarks/bench_independence.py on
# the project machine (one BLAS thread; sampling time, plan excluded, against the model):
# breast cancer 1.1 s / 1.07 s (thin 20), 0.6 / 0.43 (thin 8); poisson 2,000 x 20 0.4 /
# 0.52; n >> p 10,000 x 200 0.83 / 1.04; diabetes 0.16 / 0.10.
FLOPS_PER_S = 2e10
S_PER_ROW = 5e-9
S_PER_STEP = 2e-6


class IndependencePlan(NamedTuple):
    """What :func:`independence_plan` found.

    Attributes
    ----------
    k_hat : float
        PSIS Pareto shape of the importance ratios ``p(theta | y) / q(theta)`` of
        :data:`PLAN_PROPOSALS` proposals.
    reliable : bool
        ``repeat <= REPEAT_MAX``, and ``k_hat <= min(1 - 1/log10(M), K_HAT_MAX)`` unless
        ``max_weight <= MAX_WEIGHT``.
    accept_estimate : float
        The stationary acceptance rate ``E_p E_q min(1, w(theta') / w(theta))``, estimated
        with the Pareto-smoothed weights.
    ess_fraction : float
        The importance-sampling effective sample size per proposal,
        ``1 / (M sum_i W_i**2)`` (``W`` the normalised smoothed weights).
    thin : int
        Steps per kept draw: the least ``t`` with ``sum_i W_i r_i**t <= STICK``
        (``r_i`` the rejection probability at proposal ``i``), at most :data:`MAX_THIN`.
    repeat : float
        ``sum_i W_i r_i**thin``: the estimated probability that a kept draw repeats the
        previous one.
    max_weight : float
        The largest importance ratio of the ``M`` proposals over their mean.
    seconds_per_draw : float
        The cost model's seconds per kept draw (``thin`` proposals; module docstring).
    plan_seconds : float
        What the plan took (MAP, Hessian and the ``M`` evaluations).
    reason : str
        One line: the figures, and why the gate fails when it does.
    proposal : Proposal
        The proposal planned for (what :func:`sample_independence` runs with this plan).
    """

    k_hat: float
    reliable: bool
    accept_estimate: float
    ess_fraction: float
    thin: int
    repeat: float
    max_weight: float
    seconds_per_draw: float
    plan_seconds: float
    reason: str
    proposal: _Proposal


def independence_refusal(model) -> str | None:
    """Why the independence sampler does not apply to ``model``; ``None`` when it does.

    It needs a fixed-scale posterior with a MAP on in-memory rows: no hyperprior (the scales
    would be sampled too), no dask data (each step reads every row), a prior with a mode,
    and at most ``n`` coefficients (intercept included).
    """
    if not isinstance(model, Model):
        return f"it needs a mapreg.Model, got {type(model).__name__}"
    if getattr(model, "is_dask", False):
        return ("the data are dask-backed: every proposal reads every row (sample "
                "Model(X.compute(), y.compute(), ...) in memory)")
    if model.noise_prior is not None or model.scale_prior is not None:
        return ("the model has hyperpriors (noise_prior / scale_prior): the proposal is "
                "built at the MAP of fixed scales")
    if model.family.name == "gaussian" and model.noise_sigma is None:
        return "the gaussian family's noise is unknown: it needs a fixed noise_sigma"
    if not model.prior.has_mode:
        return (f"the {type(model.prior).__name__} prior has no posterior mode to centre "
                "the proposal at")
    k = model.n_features + int(model.fit_intercept)
    if k > model.n_samples:
        return (f"{k} coefficients (intercept included) > n = {model.n_samples} rows: the "
                "likelihood leaves directions to the prior alone, where a Gaussian "
                "approximation of the posterior is poor (and its fit O(k**3) per iteration)")
    return None


def _sticking(lw: np.ndarray, log_ratio: np.ndarray, max_t: int) -> tuple[float, np.ndarray]:
    """Acceptance ``E_p E_q min(1, w'/w)`` and ``P(stay t steps) = E_p r**t``, t = 1..max_t.

    ``r_i = 1 - mean_j min(1, w_j / w_i)`` from the raw ratios (sorted: ``O(M log M)``),
    averaged over the chain's stationary law with the smoothed weights ``exp(lw)``.
    """
    order = np.argsort(log_ratio)
    lr = log_ratio[order]
    m = lr.size
    # mean_j min(1, w_j/w_i): w_j >= w_i count 1 each (ties to the upper side), else
    # w_j/w_i, summed in logs: log sum_{j<i} w_j - log w_i <= log i, no overflow
    log_below = np.concatenate([[-np.inf], np.logaddexp.accumulate(lr)[:-1]])
    with np.errstate(invalid="ignore"):  # -inf - -inf where ratios are 0
        below = np.nan_to_num(np.exp(log_below - lr))
    acc = ((m - np.arange(m)) + below) / m
    r = np.clip(1.0 - acc, 0.0, 1.0)
    w = np.exp(lw[order])
    stick = np.array([np.sum(w * r**t) for t in range(1, max_t + 1)])
    return float(np.sum(w * (1.0 - r))), stick


def _cost(model: Model, steps: float) -> float:
    n, k = model.n_samples, model.n_features + int(model.fit_intercept)
    if model.family.name == "gaussian":  # through Z'Z (k <= n: independence_refusal)
        return steps * (4.0 * k * k / FLOPS_PER_S + S_PER_STEP)
    return steps * ((2.0 * k * k + 2.0 * n * k) / FLOPS_PER_S + n * S_PER_ROW + S_PER_STEP)


def plan_cost(model: Model, refine: bool) -> float:
    """The cost model's seconds for :func:`independence_plan`'s importance weights: the
    plan's :data:`PLAN_PROPOSALS`, and with ``refine`` at most :data:`REFINE_ROUNDS` rounds
    of :data:`REFINE_PROPOSALS` more and a new plan each (a model, not a clock: the choice
    that reads it must not depend on the machine's load)."""
    rounds = REFINE_ROUNDS if refine else 0
    return _cost(model, PLAN_PROPOSALS + rounds * (REFINE_PROPOSALS + PLAN_PROPOSALS))


def independence_plan(model: Model, seed=0, *, nu: float = NU, inflation: float = INFLATION,
                      proposals: int = PLAN_PROPOSALS,
                      iterations: int = 8000, refine: bool = True) -> IndependencePlan:
    """How well the proposal covers ``model``'s posterior, the thinning and the cost.

    ``iterations``: the run planned for, ``chains * (tune + draws)`` (the proposal is
    refined only where that costs at most :data:`REFINE_SHARE` of it, and not at all with
    ``refine=False``: a quick look, ~0.1 s, for a caller with another sampler at hand). Raises
    ``ValueError`` when :func:`independence_refusal` refuses the model.
    """
    reason = independence_refusal(model)
    if reason is not None:
        raise ValueError(f"independence sampler does not apply: {reason}")
    return _fitted_plan(model, _Target(model), seed, nu, inflation, proposals,
                        iterations if refine else 0)


def _psis(prop: _Proposal, target: _Target, m: int, seq) -> tuple:
    """``m`` proposals, their log ratios, PSIS-smoothed normalised log weights and ``k_hat``."""
    from arviz_stats.base import array_stats

    theta, log_ratio = _weights(prop, target, int(m), _streams(seq))
    log_ratio = np.where(np.isfinite(log_ratio), log_ratio, -np.inf)
    lw, k_hat = array_stats.psislw(-log_ratio)  # psislw smooths -ary (loo's convention)
    return theta, log_ratio, np.asarray(lw, dtype=float), float(k_hat)


def _refined(prop: _Proposal, target: _Target, seed, rnd: int) -> _Proposal | None:
    """The proposal moved to the PSIS-weighted mean and covariance of
    :data:`REFINE_PROPOSALS` of its own draws; ``None`` where those weights are unreliable."""
    theta, _, lw, k_hat = _psis(prop, target, REFINE_PROPOSALS,
                                np.random.SeedSequence([int(seed), 0x2E, rnd]))
    if not k_hat < REFINE_K_HAT_MAX:
        return None
    w = np.exp(lw)
    mean = w @ theta
    centred = theta - mean
    try:
        chol = np.linalg.cholesky(np.linalg.inv(centred.T @ (centred * w[:, None])))
    except np.linalg.LinAlgError:
        return None
    return prop._replace(mean=mean, chol=chol) if np.all(np.isfinite(chol)) else None


def _fitted_plan(model: Model, target: _Target, seed, nu: float, inflation: float,
                 proposals: int = PLAN_PROPOSALS, iterations: int = 8000) -> IndependencePlan:
    """The Gaussian-approximation proposal, refined while its IS ESS grows, and its plan.

    A refinement round is tried only where it costs at most :data:`REFINE_SHARE` of the run
    (``iterations`` kept and warm-up draws, all chains, ``thin`` steps each).
    """
    t0 = time.perf_counter()
    prop = _proposal(model, nu, inflation)
    plan = _plan(target, prop, seed, proposals, t0)
    if REFINE_PROPOSALS > REFINE_SHARE * iterations * plan.thin:
        return plan
    for rnd in range(REFINE_ROUNDS):
        new = _refined(prop, target, seed, rnd)
        new_plan = None if new is None else _plan(target, new, seed, proposals, t0)
        if new_plan is None or new_plan.ess_fraction <= plan.ess_fraction:
            break
        prop, plan = new, new_plan
    return plan._replace(plan_seconds=time.perf_counter() - t0)


def _plan(target: _Target, prop: _Proposal, seed, proposals: int,
          t0: float) -> IndependencePlan:
    _, log_ratio, lw, k_hat = _psis(prop, target, proposals,
                                    np.random.SeedSequence([int(seed), 0x1D]))
    ess_fraction = float(1.0 / (proposals * np.sum(np.exp(2.0 * lw))))
    accept, stick = _sticking(lw, log_ratio, MAX_THIN)
    thin = int(np.argmax(stick <= STICK) + 1) if np.any(stick <= STICK) else MAX_THIN
    k_max = min(1.0 - 1.0 / math.log10(proposals), K_HAT_MAX)
    repeat = float(stick[thin - 1])
    finite = log_ratio[np.isfinite(log_ratio)]
    top = float(np.exp(finite.max() - (np.logaddexp.reduce(finite) - math.log(finite.size))))
    heavy = k_hat > k_max and top > MAX_WEIGHT
    reliable = bool(not heavy and repeat <= REPEAT_MAX)
    text = (f"k_hat {k_hat:.2f} (PSIS, {proposals} proposals; largest ratio {top:.3g} x the "
            f"mean), acceptance ~{accept:.2f}, IS ESS {ess_fraction:.0%} of proposals, {thin} "
            f"step{'s' * (thin > 1)} per draw")
    if heavy:
        text += (f"; k_hat > {k_max:.2f}: the importance ratios are too heavy-tailed for the "
                 "Student-t proposal (the chain would stick); use NUTS")
    elif repeat > REPEAT_MAX:
        text += (f"; a kept draw repeats the previous one with probability {repeat:.2f} "
                 f"(> {REPEAT_MAX}) even at {thin} steps: the chain would stick; use NUTS")
    return IndependencePlan(k_hat, reliable, accept, ess_fraction, thin, repeat, top,
                            _cost(target.model, thin), time.perf_counter() - t0, text, prop)


def _run_chains(prop, target, seqs, steps: int, thin: int, block: int,
                progressbar: bool = False):
    """The chains on :func:`~mapreg.posterior.draws.n_cores` threads (BLAS and numpy's
    ufuncs release the GIL), by :func:`mapreg.posterior.gibbs_run.run_threads`: its
    progress bar, and Ctrl-C stops them at their next block and propagates."""
    from mapreg.posterior.gibbs_run import run_threads

    results = [None] * len(seqs)

    def chain(c, stop, progress):
        results[c] = _chain(prop, target, seqs[c], steps, thin, block, stop, progress, c)

    run_threads(len(seqs), steps, n_cores(), progressbar, "Independence MH", chain)
    return results


def _chain(prop: _Proposal, target: _Target, seq, steps: int, thin: int, block: int,
           stop: threading.Event | None = None, progress=None, c: int = 0):
    """One chain: ``steps`` proposals, every ``thin``-th state kept; returns (states, acc)."""
    streams = _streams(seq)
    gu = streams[2]
    cur, cur_lw = _weights(prop, target, 1, streams)  # the start: a proposal
    cur, cur_lw = cur[0], float(cur_lw[0])
    kept = np.empty((steps // thin, prop.mean.size))
    accepted, j = 0, 0
    for i0 in range(0, steps, block):
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt
        if progress is not None:
            progress[c] = i0
        m = min(block, steps - i0)
        theta, lr = _weights(prop, target, m, streams)
        log_u = np.log(gu.random(m))
        lr_list, lu_list = lr.tolist(), log_u.tolist()
        idx = -1  # index into this block of the current state; -1: carried over
        for i in range(m):
            if lu_list[i] < lr_list[i] - cur_lw:
                idx, cur_lw = i, lr_list[i]
                accepted += 1
            if (i0 + i + 1) % thin == 0:
                kept[j] = theta[idx] if idx >= 0 else cur
                j += 1
        if idx >= 0:
            cur = theta[idx].copy()
    return kept, accepted / max(steps, 1)


def sample_independence(model: Model, draws: int = 1000, tune: int = 1000, chains: int = 4,
                        seed=None, progressbar: bool = False, *, plan: IndependencePlan
                        | None = None, nu: float = NU, inflation: float = INFLATION,
                        block: int | None = None) -> Draws:
    """Independence Metropolis-Hastings draws of ``model``'s posterior (module docstring).

    Each chain starts from a proposal and runs ``(tune + draws) * thin`` steps, keeping
    every ``thin``-th state after the first ``tune * thin``; ``thin`` comes from
    :func:`independence_plan` (run here unless ``plan`` is given). Chain ``c`` draws from
    ``np.random.SeedSequence(seed).spawn(chains)[c]``; ``block`` (proposals evaluated at
    once, default from a 16 MiB budget for ``X @ W'``) does not change the draws.
    ``progressbar``: tqdm's on stderr (shown for runs longer than half a second).
    An unreliable plan (:attr:`IndependencePlan.reliable`) emits a :class:`SamplingWarning`.
    Ctrl-C stops the chains at their next block and raises ``KeyboardInterrupt``.

    Returns
    -------
    Draws
        ``coef`` (chains, draws, p), ``intercept`` (chains, draws) and ``attrs``
        ``independence_acceptance`` (the realised rate over all steps), ``independence_k_hat``,
        ``independence_thin``, ``independence_reliable`` (0/1: the plan's gate),
        ``independence_repeat``, ``independence_nu``, ``independence_inflation``,
        ``independence_plan`` (the plan's line).
    """
    reason = independence_refusal(model)
    if reason is not None:
        raise ValueError(f"independence sampler does not apply: {reason}")
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    target = _Target(model)
    if plan is None:
        plan = _fitted_plan(model, target, seed, nu, inflation,
                            iterations=int(chains) * (int(tune) + int(draws)))
    prop = plan.proposal
    if not plan.reliable:
        warnings.warn(f"independence sampler: {plan.reason}", SamplingWarning, stacklevel=2)
    thin = int(plan.thin)
    steps = (int(tune) + int(draws)) * thin
    block = max(1, int(block) if block is not None else _block_size(model))
    results = _run_chains(prop, target, np.random.SeedSequence(int(seed)).spawn(int(chains)),
                          steps, thin, block, progressbar)
    theta = np.stack([kept[int(tune):] for kept, _ in results])
    acc = [a for _, a in results]
    p = model.n_features
    b0 = theta[..., p] if model.fit_intercept else np.zeros(theta.shape[:2])
    attrs = {"independence_acceptance": float(np.mean(acc)),
             "independence_k_hat": float(plan.k_hat), "independence_thin": thin,
             "independence_reliable": int(plan.reliable),
             "independence_repeat": float(plan.repeat),
             "independence_nu": prop.nu, "independence_inflation": prop.inflation,
             "independence_plan": plan.reason}
    return Draws(np.ascontiguousarray(theta[..., :p]), np.ascontiguousarray(b0), attrs=attrs)
