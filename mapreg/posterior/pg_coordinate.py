"""Logistic models by Pólya-Gamma weights and overrelaxed coordinate-wise updates.

The bernoulli family under a Laplace, Gaussian or elastic-net prior at a fixed scale:
each sweep draws the weights ``omega_i ~ PG(1, eta_i)`` (the ``polyagamma`` package), then
every coefficient, and the flat intercept, from its exact conditional given them
(:mod:`mapreg.posterior.pg_coordinate_kernel`). Nothing ``p x p`` or ``n x n`` is formed
and a sweep costs ~8 n p flops, so it is the logistic sampler for ``p > n``, where HMC and
the independence sampler (which need a Gaussian approximation with ``k <= n``) do not
apply and the block Pólya-Gamma sweep costs ``n**2 p``. Measured on a 200 x 1,000 logistic
lasso (Laplace(0.2), 5 signals): 0.11 effective draws per sweep for the slowest
coefficient at ~0.27 ms a sweep (0.054 without overrelaxation); 9x nutpie's effective
draws per second (``benchmarks/README.md``). On strongly collinear
designs single-site updates mix slowly (the breast-cancer data: 0.022 per sweep);
:func:`mapreg.posterior.coordinate.coordinate_plan` prices that in and ``auto`` takes HMC
there.
"""

from __future__ import annotations

import numpy as np

from mapreg.posterior import pg_coordinate_kernel as _k
from mapreg.posterior.draws import Draws, n_cores


def sample_pg_coordinate(model, draws: int, tune: int, chains: int, seed: int,
                         progressbar: bool = False, thin: int = 1,
                         overrelax: float | None = None) -> Draws:
    """Draw from a bernoulli ``model``'s posterior (module docstring).

    Each chain starts at ``w = 0``, ``w0 = 0`` and makes ``(tune + draws) * thin`` sweeps,
    keeping every ``thin``-th of the last ``draws * thin``; chain ``c`` is seeded with the
    ``c``-th child of ``numpy.random.SeedSequence(seed)`` (its weights and its updates from
    one generator). ``overrelax``: Adler's ``a`` of every update (default
    :data:`mapreg.posterior.coordinate.OVERRELAX`). Progress bar and Ctrl-C as for the other
    Gibbs samplers (:mod:`mapreg.posterior.gibbs_run`). The caller checks that the model
    applies (:func:`mapreg.posterior.coordinate.coordinate_refusal`).
    """
    from polyagamma import random_polyagamma

    from mapreg.posterior.coordinate import COORDINATE_PRIORS, OVERRELAX
    from mapreg.posterior.gibbs_run import _Stopped, run_threads

    X = np.asarray(model.X, dtype=float)
    XT = np.ascontiguousarray(X.T)
    XT2 = XT * XT  # read by every chain: sum_i omega_i x_ij**2 as a dot product
    kappa = np.asarray(model.y, dtype=float) - 0.5
    n, p = X.shape
    alpha, gamma = COORDINATE_PRIORS[model.prior.name](model.prior)
    icpt = bool(model.fit_intercept)
    overrelax = OVERRELAX if overrelax is None else float(overrelax)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(chains)]
    coef = np.empty((chains, draws, p))
    intercept = np.zeros((chains, draws))
    total = (tune + draws) * thin

    def chain(c, stop, progress):
        rng = np.random.default_rng(seeds[c])
        w, w0 = np.zeros(p), np.zeros(1)
        eta = _k.linear_predictor(XT, w, 0.0, np.empty(n))
        omega = np.empty(n)
        for sweep in range(total):
            if stop.is_set():
                raise _Stopped
            random_polyagamma(1.0, eta, out=omega, random_state=rng)
            _k.pg_coordinate_sweep(rng, XT, XT2, kappa, omega, w, w0, icpt, eta, alpha,
                                   gamma, overrelax)
            it = sweep // thin
            if it >= tune and (sweep + 1) % thin == 0:
                coef[c, it - tune] = w
                intercept[c, it - tune] = w0[0]
            progress[c] = sweep + 1

    run_threads(chains, total, n_cores(), progressbar, "Gibbs (Pólya-Gamma, coordinate)", chain)
    return Draws(coef, intercept, attrs={"gibbs_sweeps_per_draw": thin,
                                         "gibbs_method": "coordinate",
                                         "gibbs_polya_gamma": 1,
                                         "gibbs_overrelaxation": float(overrelax)})
