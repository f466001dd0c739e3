r"""Hamiltonian Monte Carlo with a dense metric from the Gaussian approximation.

For a GLM posterior at fixed prior scales (bernoulli / poisson, or gaussian with a known
noise; Laplace, Gaussian or elastic-net prior), the posterior over ``theta = (w, [w0])``
is first approximated by ``N(m, Q^{-1})``: the Laplace approximation at the MAP for the
Gaussian prior, expectation propagation for priors with an L1 part
(:func:`mapreg.posterior.independence_proposal.proposal`, the independence sampler's
Gaussian). The chains then run HMC on ``z`` with ``theta = m + L z``, ``L L' = Q^{-1}``
(:mod:`mapreg.posterior.hmc_kernel`, compiled by numba with ``cache=True`` and without the
GIL: no per-run compilation, chains in threads). When the approximation is good, the
posterior of ``z`` is close to ``N(0, I)``, where a trajectory of length ``pi / 2`` maps
``(z, p)`` to ``(p, -z)``: an independent draw in a few leapfrog steps.

Warm-up (the first ``tune`` iterations, discarded): the step size adapts by dual averaging
(Hoffman & Gelman 2014, "The No-U-Turn Sampler", JMLR 15, algorithm 5) to the target
acceptance ``min(1, exp(-dH))`` (:data:`TARGET_ACCEPT`). The states of iterations
``0.15 tune .. 0.6 tune`` (:data:`WINDOW`) of all chains, pooled, then re-estimate the
metric: ``theta = m' + L' z`` with ``m'`` their mean and ``L' L''`` their covariance,
Ledoit-Wolf-shrunk in the approximation's whitened coordinates (:func:`_adapted`); the
chains continue from the same ``theta`` and the step size adapts anew over the rest of
the warm-up. This matters where the approximation is poor: EP's sds are 0.85-0.99 of the
posterior's on the breast-cancer lasso, but 0.4-0.8 on a 40 x 25 logistic problem with a
Laplace(2) prior, where the fixed metric kept a min bulk ESS of 372-475 of 4,000 (seeds
0-2) and the re-estimated one 1,769-2,070; breast-cancer lasso 2,062-2,540 -> 2,787-3,357;
the poisson lasso of ``benchmarks/bench_hmc.py``, whose approximation is near exact,
5,730-6,800 -> 5,506-5,692 (the window's noise).
Each iteration integrates ``n`` leapfrog steps, ``n`` uniform on
``{ceil(n0 / 2), ..., floor(3 n0 / 2)}``, ``n0 = round(PATH / eps)``: the jitter avoids the
periodic orbits of a fixed trajectory length. After warm-up the kernel is fixed, so the
kept draws come from an exact Markov chain (the Metropolis correction on the exact
Hamiltonian; the L1 kink is integrated exactly: module docstring of
:mod:`~mapreg.posterior.hmc_kernel`).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.linalg import solve_triangular

from mapreg.exceptions import SamplingWarning
from mapreg.model import Model
from mapreg.posterior import hmc_kernel as _k
from mapreg.posterior.draws import Draws, n_cores

__all__ = ["PATH", "TARGET_ACCEPT", "approximation", "divergence_message", "hmc_refusal",
           "hmc_seconds_per_draw", "sample_hmc"]

#: Integration time of a trajectory in whitened coordinates (before the jitter): a bit past
#: a quarter period (pi / 2) of the standard normal's Hamiltonian flow, where the draws turn
#: anticorrelated. Breast-cancer lasso, 4 x (1,000 + 1,000), seeds 0-2, in one process, the
#: approximation's metric fixed, min bulk ESS per second of sampling: path 1.0: 400-1,860;
#: pi / 2: 2,050-2,110; 2.2: 2,230-2,380; 3.0: 1,820-2,140.
PATH = 2.2
#: The mean acceptance statistic the step size is tuned to.
TARGET_ACCEPT = 0.8
#: The first step size of the dual averaging (whitened units).
EPS0 = 0.5
#: The warm-up iterations (fractions of ``tune``) whose pooled states re-estimate the dense
#: metric; the step size then adapts anew over the rest of the warm-up.
WINDOW = (0.15, 0.6)
# auto's cost model of one HMC iteration (seconds): HMC_GRADS_PER_DRAW gradients (measured
# 3-5 leapfrog steps per iteration, warm-up included), each a pass over the rows of Z L:
# 4 n k flops at HMC_FLOPS_PER_S, the family's link per row and a fixed part. Fitted on one
# thread (sampling time per gradient): breast cancer 569 x 31 20.7 us, a logistic 5,000 x 31
# 175 us, a poisson 2,000 x 21 30 us.
HMC_GRADS_PER_DRAW = 5.0
HMC_FLOPS_PER_S = 6e9
HMC_S_PER_ROW = {"bernoulli": 1.4e-8, "poisson": 1e-9, "gaussian": 0.0}
HMC_S_PER_GRAD = 2e-6
_PRIORS = ("laplace", "gaussian", "elasticnet")
_FAMILIES = {"bernoulli": _k.BERNOULLI, "poisson": _k.POISSON, "gaussian": _k.GAUSSIAN}


def hmc_refusal(model) -> str | None:
    """Why :func:`sample_hmc` does not apply to ``model``; ``None`` when it does.

    It needs fixed scales (no hyperprior), in-memory data, a bernoulli, poisson or
    known-noise gaussian likelihood, a Laplace, Gaussian or elastic-net prior, and at most
    ``n`` coefficients (intercept included) for the Gaussian approximation of the metric.
    """
    if not isinstance(model, Model):
        return f"it needs a mapreg.Model, got {type(model).__name__}"
    if getattr(model, "is_dask", False):
        return ("the data are dask-backed: every leapfrog step reads every row (sample "
                "Model(X.compute(), y.compute(), ...) in memory)")
    if model.noise_prior is not None or model.scale_prior is not None:
        return ("the model has hyperpriors (noise_prior / scale_prior): HMC here samples the "
                "coefficients at fixed scales")
    if model.family.name not in _FAMILIES:
        return (f"the {model.family.name!r} family has no compiled gradient (bernoulli, "
                "poisson and gaussian only)")
    if model.prior.name not in _PRIORS:
        return (f"the {type(model.prior).__name__} prior has no compiled gradient (Laplace, "
                "Gaussian and ElasticNet only)")
    k = model.n_features + int(model.fit_intercept)
    if k > model.n_samples:
        return (f"{k} coefficients (intercept included) > n = {model.n_samples} rows: the "
                "Gaussian approximation that sets the metric is poor (and dense k x k)")
    return None


def _prior_weights(prior) -> tuple[float, float]:
    """``(alpha, gamma)`` of ``-log p(w) = alpha |w| + gamma w**2 / 2 + const``."""
    if prior.name == "laplace":
        return 1.0 / prior.b, 0.0
    if prior.name == "gaussian":
        return 0.0, prior.sigma**-2
    return 1.0 / prior.b, prior.sigma**-2  # elastic net: lam2 w**2 = w**2 / (2 sigma**2)


def _data(model: Model, mean: np.ndarray, L: np.ndarray) -> tuple:
    """The kernel's arguments after ``z`` (:func:`~mapreg.posterior.hmc_kernel.log_post_grad`)."""
    from mapreg.posterior.independence_proposal import design

    Z = design(model)
    y = np.asarray(model.y, dtype=float)
    kind = _FAMILIES[model.family.name]
    alpha, gamma = _prior_weights(model.prior)
    c0 = float(np.sum(model.prior.logpdf(np.zeros(model.n_features))))
    inv_s2 = 0.0
    if kind == _k.GAUSSIAN:
        s = float(model.noise_sigma)
        inv_s2 = 1.0 / s**2
        c0 -= model.n_samples * (math.log(s) + 0.5 * math.log(2.0 * math.pi))
    else:
        c0 -= model.loss_constant()
    return (np.ascontiguousarray(mean), np.ascontiguousarray(L), np.ascontiguousarray(Z @ L),
            np.ascontiguousarray(Z @ mean), y, kind, model.n_features, float(alpha),
            float(gamma), inv_s2, c0)


def approximation(model: Model, prop=None) -> tuple[np.ndarray, np.ndarray]:
    """``(m, L)``: the Gaussian approximation's mean and the upper-triangular ``L`` with
    ``L L' = Q^{-1}`` (``Q = R R'``, ``L = R^{-T}``).

    ``prop``: an unrefined :class:`~mapreg.posterior.independence_proposal.Proposal` of the
    same model (its mean and ``R``; the Student-t's inflation and tails are not used), so
    that a caller who has one does not fit the approximation twice.
    """
    from mapreg.posterior.independence_proposal import proposal

    if prop is None:
        prop = proposal(model, 30.0, 1.0)  # nu unused: only the Gaussian's (m, R)
    L = solve_triangular(prop.chol, np.eye(prop.mean.size), lower=True, trans="T")
    return prop.mean, np.triu(L)


def hmc_seconds_per_draw(model: Model) -> float:
    """The cost model's seconds per HMC iteration of one chain on one core (constants above)."""
    n, k = model.n_samples, model.n_features + int(model.fit_intercept)
    grad = (4.0 * n * k / HMC_FLOPS_PER_S + n * HMC_S_PER_ROW.get(model.family.name, 0.0)
            + HMC_S_PER_GRAD)
    return HMC_GRADS_PER_DRAW * grad


def divergence_message(divergences: int, step_size: float) -> str:
    """The warning for ``divergences`` divergent trajectories after warm-up."""
    return (f"HMC: {divergences} divergent trajectories after warm-up (energy error > "
            f"{_k.DIVERGENCE:g}, step size {step_size:.3g}): the draws may be biased; use "
            "NUTS (sampler='nutpie') to check")


def _upper_factor(C: np.ndarray) -> np.ndarray:
    """The upper-triangular ``U`` with ``U U' = C`` (the kernel's loops take ``L`` upper):
    the lower Cholesky factor of ``C`` with rows and columns reversed."""
    r = slice(None, None, -1)
    return np.ascontiguousarray(np.linalg.cholesky(C[r, r])[r, r])


class _Metric:
    """The kernel's data for one whitening ``theta = m + L z``: ``args`` and ``S``."""

    def __init__(self, model: Model, mean: np.ndarray, L: np.ndarray):
        self.mean, self.L = mean, L
        self.args = _data(model, mean, L)
        p = model.n_features
        self.S = np.ascontiguousarray((L @ L.T)[:p, :p])  # the L1 drift's (L L')_ww


class _Chain:
    """One chain's state across the warm-up's phases: position, gradient, step-size
    adaptation, generators (momenta and uniforms apart: the draws do not depend on how the
    iterations are cut into blocks), statistics and the recorded states."""

    def __init__(self, seq, metric: _Metric, da, first_out: int, total: int):
        self.gz, self.gu = (np.random.default_rng(s) for s in seq.spawn(2))
        k = metric.mean.size
        self.z, self.grad = self.gz.standard_normal(k), np.empty(k)
        self.da, self.stats = da, np.zeros(_k.N_STATS)
        self.first_out = first_out
        self.out = np.empty((total - first_out, k))
        self.use(metric, None)

    def use(self, metric: _Metric, theta: np.ndarray | None):
        """Switch to ``metric``, at ``theta`` (``None``: keep ``z``; a start that is not
        finite, e.g. poisson overflow in the far tail, moves to the mean)."""
        self.metric = metric
        if theta is not None:
            self.z = solve_triangular(metric.L, theta - metric.mean, lower=False)
        theta_buf = np.empty(self.z.size)
        self.lp = _k.log_post_grad(self.z, *metric.args, False, theta_buf, self.grad)
        if not math.isfinite(self.lp):
            self.z[:] = 0.0
            self.lp = _k.log_post_grad(self.z, *metric.args, False, theta_buf, self.grad)

    def run(self, start: int, stop_at: int, tune: int, path: float, stop, progress, c):
        """Iterations ``start .. stop_at`` in blocks of about
        :data:`mapreg.posterior.gibbs_run.BLOCK_SECONDS`."""
        from mapreg.posterior.gibbs_run import run_blocks

        k, m = self.z.size, self.metric

        def block(a, b):
            a, b = a + start, b + start
            mom, uni = self.gz.standard_normal((b - a, k)), self.gu.random((b - a, 2))
            self.lp = _k.hmc_iterations(self.z, self.grad, self.lp, a, tune, self.first_out,
                                        path, mom, uni, m.S, *m.args, self.da, self.stats,
                                        self.out)

        run_blocks(block, stop_at - start, stop, progress, c)


def _window(tune: int, chains: int, k: int) -> tuple[int, int] | None:
    """The warm-up iterations whose states set the metric (``None``: too few to estimate a
    ``k x k`` covariance, at least ``10 k`` pooled states)."""
    w0, w1 = int(WINDOW[0] * tune), int(WINDOW[1] * tune)
    return (w0, w1) if (w1 - w0) * chains >= 10 * k else None


def _ledoit_wolf(z: np.ndarray) -> np.ndarray:
    """Ledoit & Wolf's (2004, J. Multivariate Anal. 88) shrinkage of the covariance of the
    rows of ``z`` (N, k) towards ``mu I``, ``mu = tr(S) / k``: ``s mu I + (1 - s) S`` with
    ``s = min(1, b**2 / d**2)``, ``d**2 = |S - mu I|_F**2``,
    ``b**2 = sum_i |x_i x_i' - S|_F**2 / N**2`` (``x_i`` the centred rows)."""
    x = z - z.mean(axis=0)
    n, k = x.shape
    S = x.T @ x / n
    mu = np.trace(S) / k
    d2 = float(np.sum((S - mu * np.eye(k)) ** 2))
    # sum_i |x_i x_i' - S|_F**2 = sum_i |x_i|**4 - n |S|_F**2
    b2 = (float(np.sum(np.sum(x**2, axis=1) ** 2)) - n * float(np.sum(S**2))) / n**2
    shrink = 1.0 if d2 <= 0.0 else min(1.0, max(b2, 0.0) / d2)
    return shrink * mu * np.eye(k) + (1.0 - shrink) * S


def _adapted(model: Model, metric: _Metric, states: np.ndarray) -> _Metric:
    """The metric of the pooled window ``states`` (N, k) of ``theta``: their mean, and their
    covariance in the current whitened coordinates shrunk towards a multiple of the identity
    (:func:`_ledoit_wolf`: where the approximation was already good, what the window adds is
    mostly noise and is shrunk away), mapped back: ``L' = L U``, ``U U' = C_z``."""
    z = solve_triangular(metric.L, (states - metric.mean).T, lower=False).T
    try:
        U = _upper_factor(_ledoit_wolf(z))
    except np.linalg.LinAlgError:
        return metric
    return _Metric(model, states.mean(axis=0), np.ascontiguousarray(metric.L @ U))


def sample_hmc(model: Model, draws: int = 1000, tune: int = 1000, chains: int = 4, seed=None,
               progressbar: bool = False, *, path: float = PATH,
               target_accept: float = TARGET_ACCEPT, step_size: float | None = None,
               approx: tuple[np.ndarray, np.ndarray] | None = None,
               adapt_metric: bool = True) -> Draws:
    """HMC draws of ``model``'s posterior with the approximation's dense metric (module
    docstring).

    Chain ``c`` draws from ``np.random.SeedSequence(seed).spawn(chains)[c]`` (same seed,
    same draws); the chains run on :func:`~mapreg.posterior.draws.n_cores` threads through
    :func:`mapreg.posterior.gibbs_run.run_threads` (progress bar, Ctrl-C stops them at their
    next block and raises ``KeyboardInterrupt``). ``path``: the mean integration time in
    whitened units; ``step_size``: a fixed step size instead of the dual averaging;
    ``approx``: ``(m, L)`` from :func:`approximation` (computed here when ``None``).
    Divergent trajectories (energy error > 1,000) after warm-up emit a
    :class:`~mapreg.exceptions.SamplingWarning`.

    Returns
    -------
    Draws
        ``coef`` (chains, draws, p), ``intercept`` (chains, draws; zeros without one) and
        ``attrs``: ``hmc_step_size`` (mean over chains), ``hmc_steps`` (mean leapfrog steps
        per kept draw), ``hmc_acceptance`` (mean ``min(1, exp(-dH))`` over kept draws),
        ``hmc_moves`` (share of kept iterations that moved), ``hmc_divergences`` (after
        warm-up, all chains), ``hmc_divergences_tune``, ``hmc_path``, ``hmc_metric_adapted``
        (1 when the warm-up re-estimated the metric).
    """
    reason = hmc_refusal(model)
    if reason is not None:
        raise ValueError(f"HMC sampler does not apply: {reason}")
    draws, tune, chains = int(draws), int(tune), int(chains)
    if draws < 1 or tune < 0 or chains < 1:
        raise ValueError(f"need draws >= 1, tune >= 0, chains >= 1; got {draws}, {tune}, "
                         f"{chains}")
    if not (path > 0 and math.isfinite(path)):
        raise ValueError(f"path must be a positive integration time, got {path!r}")
    if not 0.0 < target_accept < 1.0:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}")
    if step_size is not None and not (step_size > 0 and math.isfinite(step_size)):
        raise ValueError(f"step_size must be positive, got {step_size!r}")
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    try:
        mean, L = approx if approx is not None else approximation(model)
    except ValueError as err:
        raise ValueError(f"HMC sampler: {err}") from None
    metric = _Metric(model, mean, L)
    total = tune + draws
    window = _window(tune, chains, mean.size) if adapt_metric and step_size is None else None
    first_out = tune if window is None else window[0]
    seqs = np.random.SeedSequence(int(seed)).spawn(chains)
    runs = [_Chain(seqs[c], metric, (_k.dual_averaging_state(EPS0, float(target_accept))
                                     if step_size is None
                                     else _k.dual_averaging_state(float(step_size), 0.0)),
                   first_out, total) for c in range(chains)]

    from mapreg.posterior.gibbs_run import run_threads

    def phase(start, stop_at, desc):
        def chain(c, stop, progress):
            runs[c].run(start, stop_at, tune, float(path), stop, progress, c)

        run_threads(chains, stop_at - start, n_cores(), progressbar, desc, chain)

    start = 0
    if window is not None:
        w0, w1 = window
        phase(0, w1, "HMC warm-up")
        states = np.concatenate([r.out[:w1 - w0] for r in runs])
        metric = _adapted(model, metric, states)
        for r in runs:  # the same states in the new coordinates; the step size restarts
            theta = r.out[w1 - w0 - 1].copy()
            r.use(metric, theta)
            eps = math.exp(r.da[_k.LOG_EPS_BAR])
            r.da = _k.dual_averaging_state(eps, float(target_accept), w1)
        start = w1
    phase(start, total, "HMC")
    theta = np.stack([r.out[tune - first_out:] for r in runs])
    stats = np.stack([r.stats for r in runs])
    p = model.n_features
    b0 = theta[..., p] if model.fit_intercept else np.zeros(theta.shape[:2])
    div = int(stats[:, _k.S_DIV].sum())
    attrs = {"hmc_step_size": float(np.mean([r.da[_k.EPS] for r in runs])),
             "hmc_steps": float(stats[:, _k.S_STEPS].sum() / (chains * draws)),
             "hmc_acceptance": float(stats[:, _k.S_ACCEPT].sum() / (chains * draws)),
             "hmc_moves": float(stats[:, _k.S_MOVES].sum() / (chains * draws)),
             "hmc_divergences": div,
             "hmc_divergences_tune": int(stats[:, _k.S_DIV_TUNE].sum()),
             "hmc_path": float(path), "hmc_metric_adapted": int(window is not None)}
    if div:
        warnings.warn(divergence_message(div, attrs["hmc_step_size"]), SamplingWarning,
                      stacklevel=2)
    return Draws(np.ascontiguousarray(theta[..., :p]), np.ascontiguousarray(b0), attrs=attrs)
