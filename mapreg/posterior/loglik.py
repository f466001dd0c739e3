"""The pointwise log-likelihood of posterior draws: ArviZ's ``log_likelihood`` group.

``arviz.loo``, ``arviz.compare`` and ``arviz.loo_pit`` read ``log p(y_i | theta^(s))`` for
every draw ``s`` and row ``i`` from the group ``log_likelihood``: one variable named after
the observed variable (``y``) with dims ``(chain, draw, obs)`` — the same ``obs`` dim as
``observed_data`` (and as the PyMC model, :mod:`mapreg.posterior.pymc_model`), so ArviZ
lines the two up. Each value is :meth:`mapreg.families.Family.loglik` at
``eta_i = x_i'w + w0`` (normalising constants included), with the draw's own noise sd
when it is sampled (``noise_prior``); summed over ``obs`` it is
:meth:`mapreg.Model.log_likelihood` at that draw.

The group holds ``chains x draws x n`` doubles: :func:`sample_posterior` stores it by
default up to :data:`MAX_LOG_LIKELIHOOD_VALUES` values (80 MB), beyond only when asked.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mapreg.families import GaussianFamily

__all__ = ["MAX_LOG_LIKELIHOOD_VALUES", "add_log_likelihood", "log_likelihood_dataset",
           "pointwise_log_likelihood", "wants_log_likelihood"]

#: The default ``log_likelihood="auto"`` stores the group up to this many values.
MAX_LOG_LIKELIHOOD_VALUES = 10_000_000


def _eta(X, coef, intercept) -> np.ndarray:
    """``eta[..., i] = x_i' coef[...] + intercept[...]`` for draws with leading axes."""
    coef = np.asarray(coef, dtype=float)
    intercept = np.asarray(intercept, dtype=float)
    return coef @ np.asarray(X, dtype=float).T + intercept[..., None]


def pointwise_log_likelihood(model, coef, intercept, noise_sigma=None, *, X=None,
                             y=None) -> np.ndarray:
    """``log p(y_i | x_i, w, w0[, s])`` for each draw: shape ``coef.shape[:-1] + (n,)``.

    ``coef`` has shape ``(..., p)`` and ``intercept`` shape ``(...)``; ``noise_sigma``
    (same leading shape) gives each draw its noise sd when the model samples it. ``X``
    and ``y`` default to the model's data (pass others to score held-out rows).
    """
    X = model.X if X is None else X
    y = model.y if y is None else np.asarray(y, dtype=float)
    eta = _eta(X, coef, intercept)
    if noise_sigma is None:
        return model.family.loglik(eta, y)
    s = np.asarray(noise_sigma, dtype=float)[..., None]
    if model.family.name != "gaussian":
        raise ValueError("noise_sigma draws apply to the gaussian family only")
    # GaussianFamily.loglik with each draw's own sd (the model's family has none fixed)
    return GaussianFamily(noise_sigma=1.0).loglik(eta / s, y / s) - np.log(s)


def log_likelihood_dataset(model, coef, intercept, noise_sigma=None) -> xr.Dataset:
    """The ``log_likelihood`` group: ``y`` with dims ``(chain, draw, obs)``."""
    ll = pointwise_log_likelihood(model, coef, intercept, noise_sigma)
    chains, draws = ll.shape[:2]
    return xr.Dataset({"y": (("chain", "draw", "obs"), ll)},
                      coords={"chain": np.arange(chains), "draw": np.arange(draws),
                              "obs": np.arange(model.n_samples)})


def wants_log_likelihood(option, chains: int, draws: int, n: int) -> bool:
    """Whether to store the group: ``True``/``False`` as given; ``"auto"``/``None`` by size."""
    if option is None or (isinstance(option, str) and option == "auto"):
        return chains * draws * n <= MAX_LOG_LIKELIHOOD_VALUES
    if isinstance(option, bool | np.bool_):
        return bool(option)
    raise ValueError(f"log_likelihood must be True, False or 'auto', got {option!r}")


def add_log_likelihood(tree: xr.DataTree, model, option="auto") -> xr.DataTree:
    """Add the ``log_likelihood`` group to a result of :func:`mapreg.sample_posterior`.

    Reads ``coef``, ``intercept`` and (when sampled) ``noise_sigma`` from the
    ``posterior`` group; ``option`` as in :func:`wants_log_likelihood`. Returns ``tree``.
    """
    post = tree["posterior"]
    coef = np.asarray(post["coef"].transpose("chain", "draw", "feature").values, dtype=float)
    chains, draws = coef.shape[:2]
    if not wants_log_likelihood(option, chains, draws, model.n_samples):
        return tree
    intercept = np.asarray(post["intercept"].transpose("chain", "draw").values, dtype=float)
    noise = (np.asarray(post["noise_sigma"].transpose("chain", "draw").values, dtype=float)
             if "noise_sigma" in post.data_vars else None)
    tree["log_likelihood"] = xr.DataTree(log_likelihood_dataset(model, coef, intercept, noise))
    return tree
