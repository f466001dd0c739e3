r"""Predictive draws: ``y~ | y`` from the posterior, ``y~`` from the prior, ``y~ | x_new``.

* :func:`sample_posterior_predictive` — one replicate ``y~_i ~ family(eta_i^(s))`` per
  posterior draw ``s`` (``eta = X w^(s) + w0^(s)``, the draw's own noise sd when it is
  sampled): the ``posterior_predictive`` group for the observed rows (what
  ``arviz.plot_ppc`` and ``arviz.loo_pit`` read), or ``predictions`` (with
  ``predictions_constant_data``: ``X``) for new rows ``X``.
* :func:`sample_prior_predictive` — ``w ~ prior`` (and the hyperpriors), then
  ``y~ ~ family(X w + w0)``: the ``prior`` and ``prior_predictive`` groups. The intercept's
  flat prior is improper and has no draws: ``w0`` is held at a fixed value (default the
  family's intercept-only fit, e.g. ``mean(y)`` or ``logit(mean(y))``).

Every group uses the dims of :func:`mapreg.sample_posterior`'s result: ``chain``,
``draw``, ``obs`` (the rows), ``feature``.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.special import expit

from mapreg.model import Model

__all__ = ["sample_posterior_predictive", "sample_prior_predictive"]


# ------------------------------------------------------------------ y ~ family(eta)
def _gaussian(eta, rng, noise):
    return eta + noise * rng.standard_normal(eta.shape)


def _bernoulli(eta, rng, noise):
    return (rng.random(eta.shape) < expit(eta)).astype(float)


def _poisson(eta, rng, noise):
    return rng.poisson(np.exp(np.minimum(eta, 700.0))).astype(float)


#: Draw ``y ~ family(eta)`` by family name.
SIMULATORS = {"gaussian": _gaussian, "bernoulli": _bernoulli, "poisson": _poisson}


def simulate(family, eta, rng, noise_sigma=None) -> np.ndarray:
    """One draw of ``y`` per entry of ``eta``; ``noise_sigma`` broadcasts against ``eta``."""
    if family.name not in SIMULATORS:
        raise ValueError(f"no simulator for the {family.name!r} family "
                         f"(known: {sorted(SIMULATORS)})")
    if family.name == "gaussian" and noise_sigma is None:
        noise_sigma = family.noise_sigma
        if noise_sigma is None:
            raise ValueError("the noise sd is unknown: pass noise_sigma draws")
    return SIMULATORS[family.name](np.asarray(eta, dtype=float), rng, noise_sigma)


def _rng_seed(random_seed) -> tuple[np.random.Generator, int]:
    seed = (int(np.random.SeedSequence().generate_state(1)[0]) if random_seed is None
            else int(random_seed))
    return np.random.default_rng(seed), seed


def _check_X(model: Model, X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != model.n_features:
        raise ValueError(f"X must have shape (m, {model.n_features}), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite")
    return X


# ------------------------------------------------------------------ posterior predictive
def sample_posterior_predictive(idata: xr.DataTree, model: Model, X=None, *, random_seed=None,
                                extend_inferencedata: bool = True) -> xr.DataTree:
    """Replicated or new-row ``y`` for every posterior draw in ``idata``.

    Parameters
    ----------
    idata : xarray.DataTree
        A result of :func:`mapreg.sample_posterior` (or
        :meth:`~mapreg.posterior.laplace.LaplaceApproximation.sample`) for ``model``.
    model : Model
        The model the draws are of (its family, noise and, for ``X=None``, rows).
    X : array-like, shape (m, p), optional
        New rows: the draws go to the ``predictions`` group (``y``, dims chain x draw x
        obs) with ``predictions_constant_data`` holding ``X``. Default: the model's own
        rows, into ``posterior_predictive``.
    random_seed : int, optional
    extend_inferencedata : bool
        Add the group(s) to ``idata`` and return it (default, as ``pymc`` does with
        ``extend_inferencedata=True``); ``False``: return a new DataTree holding only them.
    """
    if not isinstance(model, Model):
        raise ValueError(f"sample_posterior_predictive needs a mapreg.Model, got "
                         f"{type(model).__name__}")
    post = idata["posterior"]
    coef = np.asarray(post["coef"].transpose("chain", "draw", "feature").values, dtype=float)
    if coef.shape[-1] != model.n_features:
        raise ValueError(f"the posterior has {coef.shape[-1]} coefficients but the model "
                         f"{model.n_features}: pass the model that was sampled")
    b0 = np.asarray(post["intercept"].transpose("chain", "draw").values, dtype=float)
    noise = (np.asarray(post["noise_sigma"].transpose("chain", "draw").values,
                        dtype=float)[..., None] if "noise_sigma" in post.data_vars else None)
    new = X is not None
    X = _check_X(model, X) if new else model.X
    rng, seed = _rng_seed(random_seed)
    y = simulate(model.family, coef @ X.T + b0[..., None], rng, noise)
    chains, draws = b0.shape
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "obs": np.arange(len(X))}
    attrs = {"random_seed": seed, "family": model.family.name}
    ds = xr.Dataset({"y": (("chain", "draw", "obs"), y)}, coords=coords, attrs=attrs)
    groups = {"predictions": ds,
              "predictions_constant_data": xr.Dataset(
                  {"X": (("obs", "feature"), X)},
                  coords={"obs": coords["obs"], "feature": list(model.feature_names)})} \
        if new else {"posterior_predictive": ds}
    if not extend_inferencedata:
        return xr.DataTree.from_dict(groups)
    for name, group in groups.items():
        idata[name] = xr.DataTree(group)
    return idata


# ------------------------------------------------------------------ prior predictive
def _grid_draws(prior, size, rng, points: int = 40001) -> np.ndarray:
    """I.i.d. draws from a fixed-scale prior by the inverse of its CDF on a grid.

    For a prior whose PyMC distribution has no random generator (a ``CustomDist`` such
    as the elastic net's): the density ``exp(prior.logpdf)`` on ``[-W, W]``, ``W`` 60
    times its central-68% half-width (:func:`mapreg.fit.path.prior_spread`), integrated
    by the trapezoid rule and inverted by linear interpolation.
    """
    from mapreg.fit.path import prior_spread

    width = 60.0 * prior_spread(prior)
    grid = np.linspace(-width, width, points)
    dens = np.exp(prior.logpdf(grid) - np.max(prior.logpdf(grid)))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    return np.interp(rng.random(size), cdf, grid)


def _prior_draws(model: Model, draws: int, seed: int, rng) -> dict[str, np.ndarray]:
    """``coef`` (draws, p) and the sampled hyperparameters, from PyMC's generators."""
    import pymc as pm

    from mapreg.posterior.pymc_model import pymc_coef, pymc_noise_sigma

    with pm.Model(coords={"feature": list(model.feature_names)}):
        coef = pymc_coef(model.prior, model.scale_prior, "coef", dims="feature")
        out = {"coef": coef}
        if model.noise_prior is not None:
            out["noise_sigma"] = pymc_noise_sigma(model.noise_prior)
        if model.scale_prior is not None:
            out["prior_scale"] = pm.modelcontext(None)["prior_scale"]
    try:
        with warnings.catch_warnings():  # pytensor: a CustomDist's perform in object mode
            warnings.filterwarnings("ignore", message=".*object mode.*")
            values = pm.draw(list(out.values()), draws=draws, random_seed=seed)
    except NotImplementedError:
        if model.scale_prior is not None:
            raise
        values = [_grid_draws(model.prior, (draws, model.n_features), rng)]
        if model.noise_prior is not None:
            values.append(pm.draw(out["noise_sigma"], draws=draws, random_seed=seed))
    return {k: np.asarray(v, dtype=float) for k, v in zip(out, values, strict=True)}


def sample_prior_predictive(model: Model, draws: int = 500, *, random_seed=None,
                            intercept: float | None = None) -> xr.DataTree:
    """Draws of ``w`` from the prior and of ``y~`` given them, on the model's rows.

    Parameters
    ----------
    model : Model
        Its prior (and hyperpriors: ``noise_prior``, ``scale_prior``) are drawn from.
    draws : int
        Number of draws (one chain).
    random_seed : int, optional
    intercept : float, optional
        The fixed ``w0`` (its flat prior is improper: nothing to draw). Default: the
        family's intercept-only fit to ``model.y`` when the model fits an intercept, else 0.

    Returns
    -------
    xarray.DataTree
        Groups ``prior`` (``coef``, ``intercept`` and the hyperparameters, dims chain x
        draw [x feature]), ``prior_predictive`` (``y``, chain x draw x obs) and
        ``observed_data``; ``attrs["intercept"]`` records the fixed intercept.
    """
    if not isinstance(model, Model):
        raise ValueError(f"sample_prior_predictive needs a mapreg.Model, got "
                         f"{type(model).__name__}")
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        raise ValueError(f"draws must be an integer >= 1, got {draws!r}")
    if intercept is None:
        intercept = model.family.initial_intercept(model.y) if model.fit_intercept else 0.0
    intercept = float(intercept)
    rng, seed = _rng_seed(random_seed)
    values = _prior_draws(model, int(draws), seed, rng)
    coef = values.pop("coef").reshape(1, draws, model.n_features)
    noise = values.get("noise_sigma")
    noise = None if noise is None else noise.reshape(1, draws, 1)
    y = simulate(model.family, coef @ model.X.T + intercept, rng, noise)
    coords = {"chain": [0], "draw": np.arange(draws), "feature": list(model.feature_names)}
    prior_vars = {"coef": (("chain", "draw", "feature"), coef),
                  "intercept": (("chain", "draw"), np.full((1, draws), intercept))}
    prior_vars.update({k: (("chain", "draw"), v.reshape(1, draws)) for k, v in values.items()})
    obs = {"obs": np.arange(model.n_samples)}
    tree = xr.DataTree.from_dict({
        "prior": xr.Dataset(prior_vars, coords=coords),
        "prior_predictive": xr.Dataset({"y": (("chain", "draw", "obs"), y)},
                                       coords={"chain": [0], "draw": coords["draw"], **obs}),
        "observed_data": xr.Dataset({"y": (("obs",), model.y)}, coords=obs),
    })
    tree.attrs.update({"prior": repr(model.prior), "family": model.family.name,
                       "intercept": intercept, "random_seed": seed,
                       "intercept_note": "fixed: the flat intercept prior is improper"})
    return tree
