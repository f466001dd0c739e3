"""NUTS through PyMC — nutpie, PyMC's own sampler or numpyro — on :func:`pymc_model`.

Any family, any prior with a ``to_pymc``, any hyperprior. Chains run with one BLAS
thread each.
"""

from __future__ import annotations

import warnings

import numpy as np

from mapreg.posterior.draws import Draws, n_cores
from mapreg.posterior.pymc_model import pymc_model

NUTS_SAMPLERS = ("nutpie", "pymc", "numpyro")

# target_accept by prior name (Prior.name) where PyMC's default 0.8 is not enough. NUTS on a
# horseshoe meets curvature that changes by orders of magnitude between the spike
# (lam_j tau -> 0) and the tails, even non-centred: at 0.8 the diabetes model diverged in
# 143-241 of 4,000 transitions (Horseshoe) and 4-18 (RegularizedHorseshoe). A smaller step is
# the standard remedy (Piironen & Vehtari 2017 use 0.99 too); it costs longer trajectories,
# not bias.
TARGET_ACCEPT = {"horseshoe": 0.99, "regularized-horseshoe": 0.99}

# The posterior's hyperparameters and the PyMC variables holding them
# (mapreg.posterior.pymc_model; "coef_tau" is the global scale a horseshoe's to_pymc("coef")
# creates when tau is sampled).
_PYMC_NAMES = {"noise_sigma": "noise_sigma", "prior_scale": "prior_scale", "tau": "coef_tau"}


def _with_target_accept(prior, kwargs: dict) -> dict:
    """The prior's :data:`TARGET_ACCEPT` unless the caller set ``target_accept`` (in any form)."""
    default = TARGET_ACCEPT.get(prior.name)
    given = ("target_accept" in kwargs
             or "target_accept" in (kwargs.get("nuts") or {})
             or "target_accept" in (kwargs.get("nuts_sampler_kwargs") or {}))
    return kwargs if given or default is None else {**kwargs, "target_accept": default}


def sample_nuts(model, sampler: str, draws: int, tune: int, chains: int, seed: int,
                progressbar: bool = False, **kwargs) -> Draws:
    """Draw from ``model``'s posterior with PyMC's ``pm.sample(nuts_sampler=sampler)``.

    ``kwargs`` go to ``pymc.sample``. The sampled hyperparameters are those the PyMC
    model has (:data:`mapreg.posterior.draws.HYPER_NAMES`); the sampler's statistics
    (object-typed ones, which do not serialise, dropped) are ``Draws.stats``.
    """
    import pymc as pm
    from threadpoolctl import threadpool_limits

    pm_model = pymc_model(model)
    cores = min(chains, n_cores())
    kwargs = _with_target_accept(model.prior, kwargs)
    hyper = {name: pm_name for name, pm_name in _PYMC_NAMES.items()
             if pm_name in pm_model.named_vars}
    var_names = ["coef", *(["intercept"] if model.fit_intercept else []), *hyper.values()]
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
    intercept = (np.asarray(post["intercept"].values, dtype=float)
                 if model.fit_intercept else np.zeros(coef.shape[:2]))
    stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata.children else None
    if stats is not None:
        stats = stats[[v for v in stats.data_vars if stats[v].dtype != object]]
    return Draws(coef, intercept,
                 {name: np.asarray(post[pm_name].values, dtype=float)
                  for name, pm_name in hyper.items()},
                 stats)
