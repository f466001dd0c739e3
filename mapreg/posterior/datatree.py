"""The result of :func:`mapreg.sample_posterior`: an ArviZ ``xarray.DataTree``.

Groups:

* ``posterior``: ``coef`` (chain, draw, feature) with the feature names as
  coordinates, ``intercept`` (chain, draw; zeros when not fitted), the
  sampled hyperparameters ``noise_sigma`` / ``prior_scale`` when the model has
  hyperpriors, and ``tau`` (the global scale) for a horseshoe whose ``tau`` is sampled;
* ``sample_stats``: the sampler's statistics (``diverging`` etc. for NUTS;
  ``lp``, the log density of the data and the coefficients given the scales, for the
  exact and Gibbs paths);
* ``observed_data``: ``y``;
* ``map``: the posterior mode from :func:`mapreg.find_map` (``coef``,
  ``intercept``) — for a model with hyperpriors, the mode conditional on the
  posterior medians of the hyperparameters (``map.attrs["conditional_on"]``);
  NaN for a prior without a finite mode (``has_mode`` false: the horseshoes);
* ``log_likelihood`` (added by :func:`mapreg.posterior.loglik.add_log_likelihood`, by
  default when it holds at most 10**7 values): ``y`` (chain, draw, obs), the pointwise
  ``log p(y_i | draw)`` that ``arviz.loo`` and ``arviz.compare`` read.

Root ``attrs`` (:func:`result_attrs`): ``sampler`` (the one actually run),
``sampler_requested``, ``sampler_reason`` (why ``"auto"`` chose it), ``prior``,
``family``, ``noise_sigma``, ``noise_prior``, ``scale_prior``, ``fit_intercept``,
``draws``, ``tune``, ``chains``, ``random_seed``, ``warnings`` (list of diagnostic
messages), ``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``, ``n_divergent``,
``sampling_time_s``, ``wall_time_s`` (for ``"exact"`` draws, i.i.d. by construction:
ESS = chains x draws, ``max_rhat = nan``); for Gibbs also ``gibbs_sweeps_per_draw``
(the thinning: 10 for the horseshoe while a sweep is cheap, its local scales mixing
slowly; up to 9 for cheap coordinate-wise sweeps; 1 otherwise), ``gibbs_method``
(``"rue"``, ``"bhattacharya"`` or ``"coordinate"``, how the coefficients were drawn) and,
coordinate-wise, ``gibbs_overrelaxation`` (Adler's ``a``; 0 for plain Gibbs draws).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from mapreg.fit.map import find_map
from mapreg.model import Model
from mapreg.posterior.draws import HYPER_NAMES, Draws
from mapreg.posterior.sufficient import model_sufficient_stats


def build_tree(model, d: Draws, sampler: str) -> xr.DataTree:
    """The ``posterior``, ``sample_stats``, ``observed_data`` and ``map`` groups of ``d``."""
    chains, draws = d.intercept.shape
    coords = {"chain": np.arange(chains), "draw": np.arange(draws),
              "feature": list(model.feature_names)}
    pvars = {"coef": (("chain", "draw", "feature"), d.coef),
             "intercept": (("chain", "draw"), d.intercept)}
    for name in HYPER_NAMES:
        if name in d.hyper:
            pvars[name] = (("chain", "draw"), d.hyper[name])
    stats = d.stats
    if stats is None:
        stats = xr.Dataset({"lp": (("chain", "draw"), _conditional_lp(model, d))},
                           coords={"chain": coords["chain"], "draw": coords["draw"]})
    groups = {
        "posterior": xr.Dataset(pvars, coords=coords, attrs={"sampler": sampler}),
        "sample_stats": stats,
    }
    if not getattr(model, "is_dask", False):  # dask-backed: no per-row group (sample.py)
        groups["observed_data"] = xr.Dataset({"y": (("obs",), model.y)},
                                             coords={"obs": np.arange(model.n_samples)})
    groups["map"] = _map_dataset(model, d)
    return xr.DataTree.from_dict(groups)


def _by_rows(model, coef, b0, per_draw) -> np.ndarray:
    """``per_draw(eta)`` for ``eta = X w + w0`` of every draw, a block of draws at a time."""
    out = np.empty(b0.shape)
    step = max(1, (1 << 20) // max(model.n_samples, 1))  # ~8 MB of eta at a time
    for c in range(b0.shape[0]):
        for i in range(0, b0.shape[1], step):
            eta = coef[c, i:i + step] @ model.X.T + b0[c, i:i + step, None]
            out[c, i:i + step] = per_draw(eta)
    return out


def _conditional_lp(model, d: Draws) -> np.ndarray:
    """``log p(y | theta, s) + sum_j log p(w_j | scale)`` at every draw (hyperpriors excluded).

    The Gaussian residual sum of squares comes from the sufficient statistics
    (:mod:`mapreg.posterior.sufficient`) when ``p < n``: O(p**2) per draw instead of O(n p);
    otherwise (and for the other families) from the rows, never forming ``Z'Z``.
    """
    coef, b0 = d.coef, d.intercept
    n = model.n_samples
    k = model.n_features + int(model.fit_intercept)
    y = model.y
    if model.family.name != "gaussian":
        loglik = _by_rows(model, coef, b0, lambda eta: np.sum(model.family.loglik(eta, y), -1))
    else:
        if k <= n or getattr(model, "is_dask", False):
            st = model_sufficient_stats(model)  # dask-backed: from the one-pass statistics
            theta = np.concatenate([coef, b0[..., None]], axis=-1) if model.fit_intercept \
                else coef
            rss = st.rss(theta)
        else:
            rss = _by_rows(model, coef, b0, lambda eta: np.sum((y - eta) ** 2, axis=-1))
        s = d.hyper.get("noise_sigma", np.full(b0.shape, model.noise_sigma or np.nan))
        loglik = -0.5 * rss / s**2 - n * np.log(s) - 0.5 * n * math.log(2 * math.pi)
    prior = model.prior
    scale = d.hyper.get("prior_scale", d.hyper.get("tau"))
    unit = prior.with_scale(1.0) if scale is not None else None

    def log_prior(w, s):
        if s is None:
            return np.sum(prior.logpdf(w), axis=-1)
        # a sampled scale: log p(w | s) = log p(w / s | 1) - log s. The priors with a sampled
        # scale here are the Gibbs sampler's (NUTS reports its own lp), and their main scale
        # is a pure scale parameter (Laplace b, Gaussian sigma, the horseshoe's tau).
        return np.sum(unit.logpdf(w / s[:, None]) - np.log(s[:, None]), axis=-1)

    # a chain and a block of draws at a time: logpdf makes temporaries the size of its input
    out = np.empty(b0.shape)
    step = max(1, (1 << 20) // max(coef.shape[-1], 1))
    try:
        for c in range(b0.shape[0]):
            for i in range(0, b0.shape[1], step):
                out[c, i:i + step] = log_prior(
                    coef[c, i:i + step], None if scale is None else scale[c, i:i + step])
    except ValueError:
        # no closed-form marginal density (the regularised horseshoe): lp is unknown
        return np.full(b0.shape, np.nan)
    return loglik + out


def _map_dataset(model, d: Draws) -> xr.Dataset:
    """The MAP as a Dataset; for hyperprior models, conditional on posterior medians."""
    coords = {"feature": list(model.feature_names)}
    if not model.prior.has_mode:
        # e.g. the horseshoe: its density is infinite at 0, so there is no MAP to store
        return xr.Dataset(
            {"coef": (("feature",), np.full(model.n_features, np.nan)),
             "intercept": ((), np.nan)}, coords=coords,
            attrs={"kkt_violation": np.nan, "solver": "none (the prior has no finite mode)",
                   "conditional_on": ""},
        )
    conditional_on = ""
    fixed = model
    if model.has_hyperpriors:
        prior, noise, parts = model.prior, model.noise_sigma, []
        if "prior_scale" in d.hyper:
            med = float(np.median(d.hyper["prior_scale"]))
            prior = prior.with_scale(med)
            parts.append(f"prior_scale={med:.6g}")
        if "noise_sigma" in d.hyper:
            noise = float(np.median(d.hyper["noise_sigma"]))
            parts.append(f"noise_sigma={noise:.6g}")
        conditional_on = "posterior medians: " + ", ".join(parts)
        fixed = Model(model.X, model.y, prior, family=model.family.name,
                      noise_sigma=noise if model.family.name == "gaussian" else None,
                      fit_intercept=model.fit_intercept, feature_names=model.feature_names)
    res = find_map(fixed)
    return xr.Dataset(
        {"coef": (("feature",), np.asarray(res.coef, dtype=float)),
         "intercept": ((), float(res.intercept))}, coords=coords,
        attrs={"kkt_violation": float(res.kkt_violation), "solver": res.solver,
               "conditional_on": conditional_on},
    )


def result_attrs(model, d: Draws, *, sampler: str, requested: str, reason: str, draws: int,
                 tune: int, chains: int, seed: int, diag, sampling_time_s: float,
                 wall_time_s: float) -> dict:
    """The root ``attrs`` of the result (see the module docstring)."""
    return {
        "sampler": sampler,
        "sampler_requested": requested,
        "sampler_reason": reason,
        "prior": repr(model.prior),
        "family": model.family.name,
        "noise_sigma": float(model.noise_sigma) if model.noise_sigma is not None else np.nan,
        "noise_prior": repr(model.noise_prior) if model.noise_prior is not None else "",
        "scale_prior": repr(model.scale_prior) if model.scale_prior is not None else "",
        "fit_intercept": int(model.fit_intercept),
        "draws": int(draws), "tune": int(tune), "chains": int(chains), "random_seed": seed,
        # sampler-specific: a Gibbs "draw" (and warm-up step) may be several sweeps
        **d.attrs,
        "warnings": list(diag.warnings),
        "max_rhat": diag.max_rhat, "min_ess_bulk": diag.min_ess_bulk,
        "min_ess_tail": diag.min_ess_tail, "n_divergent": diag.n_divergent,
        "sampling_time_s": sampling_time_s,
        "wall_time_s": wall_time_s,
    }
