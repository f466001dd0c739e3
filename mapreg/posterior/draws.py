"""What every sampler hands back (:class:`Draws`), and the cores the chains may use."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

#: The sampled hyperparameters a posterior may hold, in the order they are reported:
#: the noise sd, the prior's main scale (a ``scale_prior``), the horseshoe's global scale.
HYPER_NAMES = ("noise_sigma", "prior_scale", "tau")


@dataclass(frozen=True)
class Draws:
    """The draws of one sampling run, each array with leading axes ``(chain, draw)``.

    Attributes
    ----------
    coef : ndarray, shape (chains, draws, n_features)
    intercept : ndarray, shape (chains, draws)
        Zeros when the model has no intercept.
    hyper : dict of str to ndarray
        The sampled hyperparameters among :data:`HYPER_NAMES` (only those the model has).
    stats : xarray.Dataset, optional
        The sampler's own statistics (NUTS); ``None``: the log density is computed instead.
    attrs : dict
        Sampler-specific root attributes of the result (e.g. ``gibbs_sweeps_per_draw``).
    """

    coef: np.ndarray
    intercept: np.ndarray
    hyper: dict[str, np.ndarray] = field(default_factory=dict)
    stats: object = None
    attrs: dict = field(default_factory=dict)


def n_cpus() -> int:
    """The CPUs this process may use."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, n or 1)


def n_cores() -> int:
    """The cores chains may run on at once: :func:`n_cpus`, at most 4."""
    return min(n_cpus(), 4)
