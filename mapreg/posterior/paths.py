"""Posterior summaries over a grid of prior scales (Park & Casella 2008, Figure 1).

:func:`posterior_median_path` samples the posterior of a model at several prior
scales (or reads posteriors already drawn) and returns the coefficients' posterior
medians as a :class:`MedianPath`; :func:`mapreg.plots.posterior_median_path` draws it
beside the MAP path of :func:`mapreg.fit.path.path`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mapreg.model import Model
from mapreg.priors import Prior

__all__ = ["MedianPath", "coef_draws", "posterior_median_path"]


@dataclass(frozen=True)
class MedianPath:
    """Posterior medians of the coefficients at each prior scale.

    Attributes
    ----------
    scales : ndarray, shape (n,)
        Ascending prior scales.
    median : ndarray, shape (n, p)
    feature_names : tuple of str
    prior : Prior
        The model's prior (the grid moves it along its family).
    samplers : tuple of str
        The sampler that ran at each scale (``""`` when the posterior did not say).
    """

    scales: np.ndarray
    median: np.ndarray
    feature_names: tuple[str, ...]
    prior: Prior
    samplers: tuple[str, ...]


def coef_draws(idata) -> tuple[np.ndarray, list[str]]:
    """Posterior coefficient draws as ``(draws, features)`` and the feature names."""
    coef = idata["posterior"]["coef"]
    sample_dims = [d for d in ("chain", "draw") if d in coef.dims]
    feat_dims = [d for d in coef.dims if d not in sample_dims]
    if len(feat_dims) != 1:
        raise ValueError(f"posterior coef must have one coefficient dimension, got {coef.dims}")
    (fdim,) = feat_dims
    values = coef.transpose(*sample_dims, fdim).values.reshape(-1, coef.sizes[fdim])
    names = [str(v) for v in coef[fdim].values] if fdim in coef.coords else [
        f"x{j}" for j in range(coef.sizes[fdim])]
    return values, names


def posterior_median_path(model: Model, scales: Sequence[float] | None = None, *,
                          idatas: Sequence | None = None, draws: int = 4000, tune: int = 1000,
                          chains: int = 2, sampler: str = "auto",
                          random_seed: int = 0) -> MedianPath:
    """The posterior median of each coefficient at each prior scale.

    Parameters
    ----------
    model : Model
        Data, family and prior; the prior is moved along its family to each scale
        (:func:`mapreg.fit.path.at_scale`).
    scales : sequence of float, optional
        Prior scales (default: 10 points of :func:`mapreg.fit.path.default_scales`).
    idatas : sequence of DataTree, optional
        Posteriors already drawn, one per scale in the order of ``scales`` (which is
        then required); otherwise :func:`mapreg.sample_posterior` draws them.
    draws, tune, chains, sampler, random_seed
        Passed to :func:`mapreg.sample_posterior` (seed ``random_seed + i`` at the
        i-th scale). The Gibbs sampler mixes slowest under strong shrinkage (small
        scales), hence the generous default ``draws``.

    Returns
    -------
    MedianPath
        Sorted by scale.
    """
    from mapreg.fit.path import at_scale, default_scales

    if idatas is not None:
        if scales is None or len(scales) != len(idatas):
            raise ValueError("with idatas, pass scales of the same length (one scale per idata)")
    elif scales is None:
        scales = default_scales(model, num=10)
    scales = np.asarray(scales, dtype=float)
    if idatas is None:
        from mapreg.posterior.sample import sample_posterior

        idatas = [sample_posterior(at_scale(model, s), draws=draws, tune=tune, chains=chains,
                                   sampler=sampler, random_seed=random_seed + i,
                                   progressbar=False)
                  for i, s in enumerate(scales)]
    names = list(model.feature_names)
    medians = []
    for idata in idatas:
        d, idata_names = coef_draws(idata)
        if list(idata_names) != names:
            raise ValueError(f"posterior coefficients {idata_names} differ from the model's "
                             f"features {names}")
        medians.append(np.median(d, axis=0))
    order = np.argsort(scales)
    used = [str(getattr(idata, "attrs", {}).get("sampler", "")) for idata in idatas]
    return MedianPath(scales=scales[order], median=np.array(medians)[order],
                      feature_names=tuple(names), prior=model.prior,
                      samplers=tuple(used[i] for i in order))
