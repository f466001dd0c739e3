"""The posterior beyond the mode: NUTS, exact draws and Gibbs, in one ArviZ DataTree.

:func:`sample_posterior` returns an ``xarray.DataTree`` with

* ``posterior``: ``coef`` (chain, draw, feature) with the feature names as
  coordinates, ``intercept`` (chain, draw; zeros when not fitted), the
  sampled hyperparameters ``noise_sigma`` / ``prior_scale`` when the model has
  hyperpriors, and ``tau`` (the global scale) for a horseshoe whose ``tau`` is sampled;
* ``sample_stats``: the sampler's statistics (``diverging`` etc. for NUTS;
  ``lp`` for the exact and Gibbs paths);
* ``observed_data``: ``y``;
* ``map``: the posterior mode from :func:`mapreg.find_map` (``coef``,
  ``intercept``) — for a model with hyperpriors, the mode conditional on the
  posterior medians of the hyperparameters (``map.attrs["conditional_on"]``);
  NaN for a prior without a finite mode (the horseshoes);
* root ``attrs``: ``sampler`` (the one actually run), ``prior``, ``family``,
  ``noise_sigma``, ``warnings`` (list of diagnostic messages), ``max_rhat``,
  ``min_ess_bulk``, ``min_ess_tail``, ``n_divergent``, ``wall_time_s``
  (for ``"exact"`` draws, i.i.d. by construction: ESS = chains x draws,
  ``max_rhat = nan``); for Gibbs also ``gibbs_sweeps_per_draw`` (10 for the
  horseshoe, whose local scales mix slowly; 1 otherwise).

Speed: for the Gaussian family the log likelihood is written through the
sufficient statistics ``Z'Z``, ``Z'y`` (``Z = [X, 1]``), an O(p**2) instead of
O(np) gradient; chains run with one BLAS thread each.
"""

from __future__ import annotations

import math
import os
import time
import warnings

import numpy as np
import xarray as xr

from mapreg.exceptions import SamplingWarning
from mapreg.fit.map import find_map
from mapreg.model import Model
from mapreg.posterior import gibbs as _gibbs
from mapreg.posterior.diagnostics import Diagnostics, check_diagnostics
from mapreg.posterior.exact import gaussian_posterior
from mapreg.priors import Gaussian, Horseshoe, Laplace, RegularizedHorseshoe
from mapreg.priors.hyper import (
    GammaLambdaSq,
    HalfCauchy,
    InverseGamma,
    pymc_coef,
    pymc_noise_sigma,
)

SAMPLERS = ("auto", "nutpie", "pymc", "numpyro", "exact", "gibbs")
NUTS_SAMPLERS = ("nutpie", "pymc", "numpyro")

# Gibbs costs O(p**3) per sweep (a Cholesky); beyond this many features NUTS on the
# sufficient statistics (O(p**2) per gradient) is the faster choice.
_GIBBS_MAX_FEATURES = 300

# NUTS on a horseshoe meets curvature that changes by orders of magnitude between the
# spike (lam_j tau -> 0) and the tails, even non-centred: at PyMC's default
# target_accept 0.8 the diabetes model diverged in 143-241 of 4,000 transitions
# (Horseshoe) and 4-18 (RegularizedHorseshoe). A smaller step is the standard remedy
# (Piironen & Vehtari 2017 use 0.99 too); it costs longer trajectories, not bias.
_HORSESHOE_TARGET_ACCEPT = 0.99

# Sweeps per kept horseshoe Gibbs draw. A sweep costs microseconds at small p, but the
# local scales lam_j and the coefficients move each other slowly (a coefficient near 0
# pulls its lam_j to 0 and vice versa; correlated features trade mass): on diabetes a
# single sweep per draw gave bulk ESS ~230-340 of 4 x 1,000 and R-hat up to 1.024.
# Thinning keeps the output the size the user asked for at a fraction of NUTS' cost.
_HORSESHOE_GIBBS_THIN = 10

__all__ = ["SAMPLERS", "SamplingWarning", "sample_posterior", "valid_samplers"]


def _n_cores() -> int:
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else (os.cpu_count() or 1), 4))


def _gibbs_supported(model: Model) -> bool:
    if model.family.name != "gaussian":
        return False
    if type(model.prior) is Horseshoe:
        # not RegularizedHorseshoe: its slab makes the local scales non-conjugate
        ok_scale = model.scale_prior is None
    elif isinstance(model.prior, Laplace):
        ok_scale = model.scale_prior is None or isinstance(model.scale_prior, GammaLambdaSq)
    elif isinstance(model.prior, Gaussian):
        ok_scale = model.scale_prior is None or isinstance(model.scale_prior,
                                                           HalfCauchy | InverseGamma)
    else:
        ok_scale = False
    return ok_scale


def _exact_supported(model: Model) -> bool:
    return (isinstance(model.prior, Gaussian) and model.family.name == "gaussian"
            and not model.has_hyperpriors)


def valid_samplers(model: Model) -> tuple[str, ...]:
    """The samplers that target this model's posterior exactly."""
    out = list(NUTS_SAMPLERS)
    if _gibbs_supported(model):
        out.append("gibbs")
    if _exact_supported(model):
        out.append("exact")
    return tuple(out)


def choose_sampler(model: Model) -> str:
    """What ``sampler="auto"`` runs: exact > Gibbs (p <= 300) > nutpie > pymc.

    Exact i.i.d. draws need no chain at all; the numba Gibbs sampler runs
    thousands of sweeps per millisecond on small p and needs no compilation of
    the model; nutpie is PyMC's fastest NUTS.
    """
    if _exact_supported(model):
        return "exact"
    if _gibbs_supported(model) and model.n_features <= _GIBBS_MAX_FEATURES:
        return "gibbs"
    try:
        import nutpie  # noqa: F401
    except ImportError:  # pragma: no cover - nutpie is a dependency
        return "pymc"
    return "nutpie"


# ---------------------------------------------------------------- PyMC model
def pymc_model(model: Model, sufficient_stats: bool = True):
    """The PyMC model NUTS samples.

    For the Gaussian family (and ``sufficient_stats=True``) the likelihood is a
    ``pm.Potential`` equal to ``sum_i log N(y_i | eta_i, s**2)``::

        -n log s - (n/2) log(2 pi) - RSS(theta) / (2 s**2),
        RSS(theta) = r0 - 2 (theta - t0)'g0 + (theta - t0)' Z'Z (theta - t0),

    (see :func:`mapreg.posterior.gibbs.sufficient_stats`), so its log density equals that
    of ``model.to_pymc()`` at every point. Other families use ``model.to_pymc()``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    if model.family.name != "gaussian" or not sufficient_stats:
        return model.to_pymc()
    st = _gibbs.sufficient_stats(model.X, model.y, model.fit_intercept)
    n = st.n
    with pm.Model(coords={"feature": list(model.feature_names)}) as pm_model:
        coef = pymc_coef(model.prior, model.scale_prior, "coef", dims="feature")
        theta = coef
        if model.fit_intercept:
            intercept = pm.Flat("intercept")
            theta = pt.concatenate([coef, intercept[None]])
        delta = theta - st.t0
        rss = st.r0 - 2.0 * pt.dot(delta, st.g0) + pt.dot(delta, pt.dot(st.ZtZ, delta))
        if model.noise_prior is None:
            s = float(model.noise_sigma)
            log_s = math.log(s)
        else:
            s = pymc_noise_sigma(model.noise_prior)
            log_s = pt.log(s)
        pm.Potential("loglik", -n * log_s - 0.5 * n * math.log(2 * math.pi)
                     - rss / (2.0 * s**2))
    return pm_model


def _samples_tau(model: Model) -> bool:
    """Whether the prior has a sampled global scale ``tau`` (a horseshoe, tau not fixed)."""
    prior = model.prior
    return (isinstance(prior, RegularizedHorseshoe)
            or (isinstance(prior, Horseshoe) and not prior.fixed_tau))


def _hyper_names(model: Model) -> list[str]:
    names = []
    if model.noise_prior is not None:
        names.append("noise_sigma")
    if model.scale_prior is not None:
        names.append("prior_scale")
    if _samples_tau(model):
        names.append("tau")
    return names


def _with_horseshoe_defaults(model: Model, kwargs: dict) -> dict:
    """``target_accept = 0.99`` for a horseshoe unless the caller set it (in any form)."""
    if not isinstance(model.prior, Horseshoe | RegularizedHorseshoe):
        return kwargs
    given = ("target_accept" in kwargs
             or "target_accept" in (kwargs.get("nuts") or {})
             or "target_accept" in (kwargs.get("nuts_sampler_kwargs") or {}))
    return kwargs if given else {**kwargs, "target_accept": _HORSESHOE_TARGET_ACCEPT}


def _run_nuts(model, sampler, draws, tune, chains, seed, progressbar, kwargs):
    import pymc as pm
    from threadpoolctl import threadpool_limits

    pm_model = pymc_model(model)
    cores = min(chains, _n_cores())
    kwargs = _with_horseshoe_defaults(model, kwargs)
    # the horseshoe's global scale is the PyMC variable "coef_tau" (Horseshoe.to_pymc)
    pm_names = {"tau": "coef_tau"}
    hyper = _hyper_names(model)
    var_names = ["coef", *(["intercept"] if model.fit_intercept else []),
                 *(pm_names.get(h, h) for h in hyper)]
    with threadpool_limits(limits=1), warnings.catch_warnings():
        # PyMC's own convergence report is replaced by ours
        warnings.filterwarnings("ignore", message=".*rhat.*|.*effective sample.*")
        idata = pm.sample(
            draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed,
            nuts_sampler=sampler, progressbar=progressbar, quiet=not progressbar,
            model=pm_model, var_names=var_names, compute_convergence_checks=False,
            blas_cores=cores if sampler == "pymc" else None, **kwargs,
        )
    post = idata["posterior"].to_dataset()
    coef = np.asarray(post["coef"].transpose("chain", "draw", ...).values, dtype=float)
    out = {"coef": coef}
    shape = coef.shape[:2]
    out["intercept"] = (np.asarray(post["intercept"].values, dtype=float)
                        if model.fit_intercept else np.zeros(shape))
    for name in hyper:
        out[name] = np.asarray(post[pm_names.get(name, name)].values, dtype=float)
    stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata.children else None
    if stats is not None:
        # drop object-typed stats (messages): they do not serialise
        stats = stats[[v for v in stats.data_vars if stats[v].dtype != object]]
    return out, stats


def _run_exact(model, draws, chains, seed):
    post = gaussian_posterior(model)
    rng = np.random.default_rng(seed)
    theta = post.sample((chains, draws), rng)
    p = model.n_features
    intercept = theta[..., p] if model.fit_intercept else np.zeros((chains, draws))
    return {"coef": theta[..., :p], "intercept": intercept}


def _run_gibbs(model, draws, tune, chains, seed):
    from threadpoolctl import threadpool_limits

    st = _gibbs.sufficient_stats(model.X, model.y, model.fit_intercept)
    sp = model.scale_prior
    if isinstance(model.prior, Horseshoe):
        kind, scale_init = _gibbs.PRIOR_HORSESHOE, model.prior.scale
    elif isinstance(model.prior, Laplace):
        kind, scale_init = _gibbs.PRIOR_LAPLACE, model.prior.b
    else:
        kind, scale_init = _gibbs.PRIOR_GAUSSIAN, model.prior.sigma
    if kind == _gibbs.PRIOR_HORSESHOE:
        # tau ~ HalfCauchy(scale), or tau = scale
        smode = _gibbs.FIXED if model.prior.fixed_tau else _gibbs.HALFCAUCHY
        sparams = (0.0, model.prior.scale)
    elif sp is None:
        smode, sparams = _gibbs.FIXED, (0.0, 0.0)
    elif isinstance(sp, GammaLambdaSq):
        smode, sparams = _gibbs.GAMMA_LAM_SQ, (sp.r, sp.delta)
    elif isinstance(sp, InverseGamma):
        smode, sparams = _gibbs.INVGAMMA, (sp.a, sp.b)
    else:
        smode, sparams = _gibbs.HALFCAUCHY, (0.0, sp.beta)
    npr = model.noise_prior
    if npr is None:
        nmode, nparams, noise_init = _gibbs.FIXED, (0.0, 0.0), model.noise_sigma
    else:
        dof = max(st.n - st.ZtZ.shape[0], 1)
        noise_init = math.sqrt(max(st.r0 / dof, 1e-12 * (float(model.y @ model.y) / st.n)))
        if isinstance(npr, InverseGamma):
            nmode, nparams = _gibbs.INVGAMMA, (npr.a, npr.b)
        else:
            nmode, nparams = _gibbs.HALFCAUCHY, (0.0, npr.beta)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(chains)]
    with threadpool_limits(limits=1):
        d = _gibbs.run_gibbs(st, fit_intercept=model.fit_intercept, prior_kind=kind,
                             scale_mode=smode, scale_params=sparams, scale_init=scale_init,
                             noise_mode=nmode, noise_params=nparams, noise_init=noise_init,
                             draws=draws, tune=tune, chains=chains, seeds=seeds,
                             n_threads=_n_cores(), thin=_gibbs_thin(model))
    out = {"coef": d.coef, "intercept": d.intercept}
    if npr is not None:
        out["noise_sigma"] = d.noise_sigma
    if sp is not None:
        out["prior_scale"] = d.prior_scale
    if _samples_tau(model):
        out["tau"] = d.prior_scale
    return out


def _gibbs_thin(model: Model) -> int:
    return _HORSESHOE_GIBBS_THIN if isinstance(model.prior, Horseshoe) else 1


def _conditional_lp(model, post) -> np.ndarray:
    """``log p(y | theta, s) + sum_j log p(w_j | scale)`` at every draw (hyperpriors excluded).

    The Gaussian residual sum of squares comes from the sufficient statistics
    (:func:`mapreg.posterior.gibbs.sufficient_stats`): O(p**2) per draw instead of O(n p).
    """
    coef, b0 = post["coef"], post["intercept"]
    st = _gibbs.sufficient_stats(model.X, model.y, model.fit_intercept)
    theta = np.concatenate([coef, b0[..., None]], axis=-1) if model.fit_intercept else coef
    delta = theta - st.t0
    rss = st.r0 - 2.0 * delta @ st.g0 + np.einsum("cdi,ij,cdj->cd", delta, st.ZtZ, delta)
    rss = np.maximum(rss, 0.0)
    s = post.get("noise_sigma", np.full(b0.shape, model.noise_sigma or np.nan))
    n = model.n_samples
    loglik = -0.5 * rss / s**2 - n * np.log(s) - 0.5 * n * math.log(2 * math.pi)
    scale = post.get("prior_scale")
    if isinstance(model.prior, Horseshoe):
        # log p(w | tau) = log p(w / tau | tau = 1) - log tau, the closed-form marginal
        tau = post["tau"][..., None] if "tau" in post else model.prior.scale
        unit = Horseshoe(1.0)
        logprior = np.sum(unit.logpdf(coef / tau) - np.log(tau), axis=-1)
    elif isinstance(model.prior, Laplace):
        b = model.prior.b if scale is None else scale[..., None]
        logprior = np.sum(-np.abs(coef) / b - np.log(2 * b), axis=-1)
    else:
        sg = model.prior.sigma if scale is None else scale[..., None]
        logprior = np.sum(-0.5 * (coef / sg) ** 2 - 0.5 * np.log(2 * math.pi * sg**2), axis=-1)
    return loglik + logprior


def _map_dataset(model, post):
    """The MAP as a Dataset; for hyperprior models, conditional on posterior medians."""
    conditional_on = ""
    fixed = model
    if not getattr(model.prior, "has_mode", True):
        # e.g. the horseshoe: its density is infinite at 0, so there is no MAP to store
        return xr.Dataset(
            {"coef": (("feature",), np.full(model.n_features, np.nan)),
             "intercept": ((), np.nan)},
            coords={"feature": list(model.feature_names)},
            attrs={"kkt_violation": np.nan, "solver": "none (the prior has no finite mode)",
                   "conditional_on": ""},
        )
    if model.has_hyperpriors:
        prior = model.prior
        noise = model.noise_sigma
        parts = []
        if "prior_scale" in post:
            med = float(np.median(post["prior_scale"]))
            prior = type(prior)(med)
            parts.append(f"prior_scale={med:.6g}")
        if "noise_sigma" in post:
            noise = float(np.median(post["noise_sigma"]))
            parts.append(f"noise_sigma={noise:.6g}")
        conditional_on = "posterior medians: " + ", ".join(parts)
        fixed = Model(model.X, model.y, prior, family=model.family.name,
                      noise_sigma=noise if model.family.name == "gaussian" else None,
                      fit_intercept=model.fit_intercept, feature_names=model.feature_names)
    res = find_map(fixed)
    ds = xr.Dataset(
        {"coef": (("feature",), np.asarray(res.coef, dtype=float)),
         "intercept": ((), float(res.intercept))},
        coords={"feature": list(model.feature_names)},
        attrs={"kkt_violation": float(res.kkt_violation), "solver": res.solver,
               "conditional_on": conditional_on},
    )
    return ds


def sample_posterior(model: Model, draws: int = 1000, tune: int = 1000, chains: int = 4,
                     sampler: str = "auto", random_seed=None, progressbar: bool = True,
                     **sampler_kwargs) -> xr.DataTree:
    """Draw from the posterior of ``model`` and return an ArviZ ``DataTree``.

    Parameters
    ----------
    model : Model
        The model; hyperpriors (``noise_prior``, ``scale_prior``) are sampled jointly.
    draws, tune, chains : int
        Kept draws per chain, warm-up iterations per chain (NUTS adaptation /
        Gibbs burn-in; unused by ``"exact"``), and number of chains.
    sampler : {"auto", "nutpie", "pymc", "numpyro", "exact", "gibbs"}
        ``"nutpie"``, ``"pymc"``, ``"numpyro"``: NUTS through PyMC on
        :func:`pymc_model` (any family, any hyperprior).
        ``"exact"``: i.i.d. draws from the closed-form Gaussian posterior
        (Gaussian prior, gaussian family, fixed scales; :mod:`mapreg.posterior.exact`).
        ``"gibbs"``: the Bayesian-lasso / Bayesian-ridge / horseshoe Gibbs
        sampler (gaussian family; :mod:`mapreg.posterior.gibbs`). Its Laplace prior is
        mapreg's ``Laplace(b)``, *not* Park & Casella's noise-scaled version,
        and its horseshoe is ``Horseshoe``'s ``w_j ~ N(0, lam_j**2 tau**2)``, not
        Makalic & Schmidt's noise-scaled one, so each targets exactly this
        model's posterior. ``RegularizedHorseshoe`` is NUTS-only.
        ``"auto"``: :func:`choose_sampler` (exact, else Gibbs, else nutpie).
    random_seed : int, optional
        Seed for reproducible draws.
    progressbar : bool
        Show PyMC's progress bar (NUTS only; exact and Gibbs take milliseconds).
    **sampler_kwargs
        Passed to ``pymc.sample`` for the NUTS samplers (e.g. ``target_accept``).
        For a ``Horseshoe`` / ``RegularizedHorseshoe`` prior ``target_accept``
        defaults to 0.99 instead of PyMC's 0.8 (fewer divergences in the spike).

    Returns
    -------
    xarray.DataTree
        Groups ``posterior``, ``sample_stats``, ``observed_data``, ``map``;
        see the module docstring for variables and attributes. Diagnostics
        (R-hat, bulk/tail ESS, divergences) are checked after every run and
        each problem is emitted as a :class:`SamplingWarning` and listed in
        ``attrs["warnings"]``.
    """
    if not isinstance(model, Model):
        raise ValueError(f"sample_posterior needs a mapreg.Model, got {type(model).__name__}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    for name, val, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {val!r}")
    if sampler_kwargs and sampler not in NUTS_SAMPLERS and sampler != "auto":
        raise TypeError(f"unexpected arguments for sampler {sampler!r}: {sorted(sampler_kwargs)}")
    requested = sampler
    if sampler == "auto":
        sampler = choose_sampler(model)
        if sampler not in NUTS_SAMPLERS and sampler_kwargs:
            raise TypeError(f"arguments {sorted(sampler_kwargs)} apply to NUTS only, but "
                            f"sampler='auto' chose {sampler!r}")
    if sampler == "exact" and not _exact_supported(model):
        raise ValueError("sampler='exact' needs a Gaussian prior, the gaussian family and fixed "
                         "noise and prior scales; use 'gibbs' or a NUTS sampler")
    if sampler == "gibbs" and not _gibbs_supported(model):
        raise ValueError(
            "sampler='gibbs' needs the gaussian family with a Laplace prior (scale fixed or "
            "GammaLambdaSq), a Gaussian prior (scale fixed, HalfCauchy or InverseGamma) or a "
            "Horseshoe (not RegularizedHorseshoe); use a NUTS sampler ('nutpie', 'pymc', "
            "'numpyro')"
        )
    seed = None if random_seed is None else int(random_seed)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])

    t_start = time.perf_counter()
    stats = None
    if sampler in NUTS_SAMPLERS:
        post, stats = _run_nuts(model, sampler, draws, tune, chains, seed, progressbar,
                                sampler_kwargs)
    elif sampler == "exact":
        post = _run_exact(model, draws, chains, seed)
    else:
        post = _run_gibbs(model, draws, tune, chains, seed)
    sample_time = time.perf_counter() - t_start

    coords = {"chain": np.arange(chains), "draw": np.arange(draws),
              "feature": list(model.feature_names)}
    pvars = {"coef": (("chain", "draw", "feature"), post["coef"]),
             "intercept": (("chain", "draw"), post["intercept"])}
    for name in ("noise_sigma", "prior_scale", "tau"):
        if name in post:
            pvars[name] = (("chain", "draw"), post[name])
    posterior = xr.Dataset(pvars, coords=coords, attrs={"sampler": sampler})
    if stats is None:
        stats = xr.Dataset({"lp": (("chain", "draw"), _conditional_lp(model, post))},
                           coords={"chain": coords["chain"], "draw": coords["draw"]})
    observed = xr.Dataset({"y": (("obs",), model.y)}, coords={"obs": np.arange(model.n_samples)})
    tree = xr.DataTree.from_dict({
        "posterior": posterior,
        "sample_stats": stats,
        "observed_data": observed,
        "map": _map_dataset(model, post),
    })
    check_vars = ["coef", *(["intercept"] if model.fit_intercept else []), *_hyper_names(model)]
    if sampler == "exact":
        # i.i.d. draws by construction: the effective sample size is the number of draws,
        # there is no chain to converge (R-hat undefined), nothing to warn about
        total = float(chains * draws)
        diag = Diagnostics(np.nan, total, total, 0, 0, ())
    else:
        diag = check_diagnostics(tree, check_vars, sampler=sampler, chains=chains, tune=tune,
                                 stacklevel=3)
    tree.attrs.update({
        "sampler": sampler,
        "sampler_requested": requested,
        "prior": repr(model.prior),
        "family": model.family.name,
        "noise_sigma": float(model.noise_sigma) if model.noise_sigma is not None else np.nan,
        "noise_prior": repr(model.noise_prior) if model.noise_prior is not None else "",
        "scale_prior": repr(model.scale_prior) if model.scale_prior is not None else "",
        "fit_intercept": int(model.fit_intercept),
        "draws": int(draws), "tune": int(tune), "chains": int(chains), "random_seed": seed,
        # a Gibbs "draw" (and warm-up step) may be several sweeps (the horseshoe's thinning)
        **({"gibbs_sweeps_per_draw": _gibbs_thin(model)} if sampler == "gibbs" else {}),
        "warnings": list(diag.warnings),
        "max_rhat": diag.max_rhat, "min_ess_bulk": diag.min_ess_bulk,
        "min_ess_tail": diag.min_ess_tail, "n_divergent": diag.n_divergent,
        "sampling_time_s": sample_time,
        "wall_time_s": time.perf_counter() - t_start,
    })
    return tree
