"""The posterior beyond the mode: NUTS, exact draws and Gibbs, in one ArviZ DataTree.

:func:`sample_posterior` checks its arguments, picks the sampler
(:mod:`~mapreg.posterior.choose`), runs it (:mod:`~mapreg.posterior.nuts`,
:mod:`~mapreg.posterior.exact`, :mod:`~mapreg.posterior.gibbs`), builds the result
(:mod:`~mapreg.posterior.datatree`, which lists its groups and attributes) and checks
the convergence diagnostics (:mod:`~mapreg.posterior.diagnostics`).
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

from mapreg.exceptions import SamplingWarning
from mapreg.model import Model
from mapreg.posterior.choose import SAMPLERS, Choice, auto_choice, refusal, valid_samplers
from mapreg.posterior.datatree import build_tree, result_attrs
from mapreg.posterior.diagnostics import Diagnostics, check_diagnostics
from mapreg.posterior.draws import Draws
from mapreg.posterior.exact import sample_exact
from mapreg.posterior.gibbs import sample_gibbs
from mapreg.posterior.hmc import divergence_message, sample_hmc
from mapreg.posterior.independence import sample_independence
from mapreg.posterior.loglik import add_log_likelihood, wants_log_likelihood
from mapreg.posterior.nuts import NUTS_SAMPLERS, sample_nuts

__all__ = ["SAMPLERS", "SamplingWarning", "sample_posterior", "valid_samplers"]


def _check_arguments(model, sampler, draws, tune, chains, sampler_kwargs) -> None:
    if not isinstance(model, Model):
        raise ValueError(f"sample_posterior needs a mapreg.Model, got {type(model).__name__}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if getattr(model, "is_dask", False) and sampler in NUTS_SAMPLERS:
        from mapreg.backends.dask_stats import mcmc_refusal

        raise ValueError(f"sample_posterior: no MCMC on this model: {mcmc_refusal(model)}")
    for name, val, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {val!r}")
    if sampler_kwargs and sampler not in NUTS_SAMPLERS and sampler != "auto":
        raise TypeError(f"unexpected arguments for sampler {sampler!r}: {sorted(sampler_kwargs)}")


#: What a result on dask-backed data leaves out, and why (its ``attrs["row_groups"]``).
DASK_ROW_GROUPS_NOTE = (
    "omitted: observed_data and log_likelihood (one value per row, and per row and draw) "
    "are not stored for dask-backed data; the draws come from the one-pass statistics "
    "X'X, X'y. For arviz.loo, sample Model(X.compute(), y.compute(), ...) in memory")


def _check_dask_log_likelihood(option) -> None:
    """``log_likelihood=True`` cannot be honoured on dask data (``"auto"``/False: skipped)."""
    if option is None or (isinstance(option, str) and option == "auto") or option is False:
        return
    if option is True:
        raise ValueError("log_likelihood=True needs the rows (n values per draw): the model's "
                         "data are dask-backed; use log_likelihood='auto' (skipped, noted in "
                         "attrs['row_groups']) or sample Model(X.compute(), y.compute(), ...)")
    wants_log_likelihood(option, 1, 1, 1)  # the bad-value message


def _resolve(model: Model, sampler: str, draws: int, tune: int, chains: int,
             sampler_kwargs: dict) -> Choice:
    """The sampler to run and why; refuses one that does not target this posterior."""
    if sampler == "auto":
        choice = auto_choice(model, draws, tune, chains)
        if choice.sampler not in NUTS_SAMPLERS and sampler_kwargs:
            raise TypeError(f"arguments {sorted(sampler_kwargs)} apply to NUTS only, but "
                            f"sampler='auto' chose {choice.sampler!r}")
        return choice
    reason = refusal(model, sampler)
    if reason is not None:
        raise ValueError(f"sampler={sampler!r} does not apply to this model: {reason}. "
                         f"Samplers that do: {', '.join(valid_samplers(model))}")
    return Choice(sampler, "requested")


def _run(model, choice: Choice, draws, tune, chains, seed, progressbar,
         sampler_kwargs) -> Draws:
    sampler = choice.sampler
    if sampler in NUTS_SAMPLERS:
        return sample_nuts(model, sampler, draws, tune, chains, seed, progressbar,
                           **sampler_kwargs)
    if sampler == "exact":
        return sample_exact(model, draws, chains, seed)
    if sampler == "independence":
        return sample_independence(model, draws, tune, chains, seed, progressbar,
                                   plan=choice.plan)
    if sampler == "hmc":
        return sample_hmc(model, draws, tune, chains, seed, progressbar, approx=choice.plan)
    return sample_gibbs(model, draws, tune, chains, seed, progressbar, plan=choice.plan)


def sample_posterior(model: Model, draws: int = 1000, tune: int = 1000, chains: int = 4,
                     sampler: str = "auto", random_seed=None, progressbar: bool = True,
                     log_likelihood: bool | str = "auto", **sampler_kwargs) -> xr.DataTree:
    """Draw from the posterior of ``model`` and return an ArviZ ``DataTree``.

    Parameters
    ----------
    model : Model
        The model; hyperpriors (``noise_prior``, ``scale_prior``) are sampled jointly.
    draws, tune, chains : int
        Kept draws per chain, warm-up iterations per chain (NUTS adaptation /
        Gibbs burn-in; unused by ``"exact"``), and number of chains.
    sampler : {"auto", "nutpie", "pymc", "numpyro", "exact", "gibbs", "independence", "hmc"}
        ``"nutpie"``, ``"pymc"``, ``"numpyro"``: NUTS through PyMC on
        :func:`mapreg.posterior.pymc_model.pymc_model` (any family, any hyperprior).
        ``"exact"``: i.i.d. draws from the closed-form Gaussian posterior
        (Gaussian prior, gaussian family, fixed scales; :mod:`mapreg.posterior.exact`).
        ``"gibbs"``: the Bayesian-lasso / Bayesian-ridge / horseshoe Gibbs
        sampler (gaussian family, bernoulli by Pólya-Gamma augmentation;
        :mod:`mapreg.posterior.gibbs`; O(min(p**3, n**2 p)) per sweep). Its Laplace prior is
        mapreg's ``Laplace(b)``, *not* Park & Casella's noise-scaled version,
        and its horseshoe is ``Horseshoe``'s ``w_j ~ N(0, lam_j**2 tau**2)``, not
        Makalic & Schmidt's noise-scaled one, so each targets exactly this
        model's posterior; ``RegularizedHorseshoe`` adds exact Metropolis and slice steps.
        For the gaussian family the Laplace, Gaussian and elastic-net priors also have a
        coordinate-wise sampler (:mod:`mapreg.posterior.coordinate`; ``attrs
        ["gibbs_method"]`` says which ran), and for the bernoulli family at fixed prior
        scales its Pólya-Gamma version (:mod:`mapreg.posterior.pg_coordinate`; nothing
        ``p x p``: the logistic sampler at ``p > n``).
        ``"independence"``: independence Metropolis-Hastings from a Student-t on a Gaussian
        approximation of the posterior (any family, fixed scales, a prior with a mode,
        ``k <= n``; :mod:`mapreg.posterior.independence`), gated by Pareto k-hat: an
        unreliable plan warns.
        ``"hmc"``: Hamiltonian Monte Carlo in compiled code with a dense metric from the same
        Gaussian approximation, re-estimated in warm-up, and the Laplace prior's kink
        integrated exactly (bernoulli, poisson or known-noise gaussian; Laplace, Gaussian
        or elastic-net prior at fixed scales; ``k <= n``; :mod:`mapreg.posterior.hmc`).
        ``"auto"``: :func:`mapreg.posterior.choose.auto_choice` (exact, else Gibbs where a
        cost model finds it faster than NUTS for the gaussian family, else the cheapest by
        the cost model of Gibbs, HMC, the independence sampler where its plan is reliable,
        and nutpie); the reason, with the estimated costs, is kept in
        ``attrs["sampler_reason"]``.
        :func:`mapreg.posterior.choose.valid_samplers` lists those that apply.
    random_seed : int, optional
        Seed for reproducible draws.
    progressbar : bool
        Show a progress bar: PyMC's for NUTS, tqdm's on stderr for Gibbs runs longer than
        half a second (exact draws take milliseconds). Ctrl-C stops a Gibbs run within a
        fraction of a second and raises ``KeyboardInterrupt``.
    log_likelihood : bool or "auto"
        Store the pointwise ``log_likelihood`` group (``y``, dims chain x draw x obs) that
        ``arviz.loo`` / ``arviz.compare`` read: ``"auto"`` when it holds at most
        :data:`mapreg.posterior.loglik.MAX_LOG_LIKELIHOOD_VALUES` values (10**7).
        A dask-backed model (:attr:`mapreg.Model.is_dask`) samples with ``"exact"`` or
        ``"gibbs"`` from its one-pass statistics ``X'X``, ``X'y`` (gaussian family; NUTS is
        refused) and stores neither ``observed_data`` nor ``log_likelihood``, which hold a
        value per row: ``attrs["row_groups"]`` says so (``log_likelihood=True`` is refused).
    **sampler_kwargs
        Passed to ``pymc.sample`` for the NUTS samplers (e.g. ``target_accept``).
        For a ``Horseshoe`` / ``RegularizedHorseshoe`` prior ``target_accept``
        defaults to 0.99 instead of PyMC's 0.8 (fewer divergences in the spike;
        :data:`mapreg.posterior.nuts.TARGET_ACCEPT`).

    Returns
    -------
    xarray.DataTree
        Groups ``posterior``, ``sample_stats``, ``observed_data``, ``map`` and (see
        ``log_likelihood``) ``log_likelihood``;
        see :mod:`mapreg.posterior.datatree` for variables and attributes. Diagnostics
        (R-hat, bulk/tail ESS, divergences) are checked after every run and
        each problem is emitted as a :class:`SamplingWarning` and listed in
        ``attrs["warnings"]``.
    """
    _check_arguments(model, sampler, draws, tune, chains, sampler_kwargs)
    choice = _resolve(model, sampler, draws, tune, chains, sampler_kwargs)
    dask = getattr(model, "is_dask", False)
    if dask:
        _check_dask_log_likelihood(log_likelihood)
    else:
        wants_log_likelihood(log_likelihood, chains, draws, model.n_samples)  # bad value: now
    seed = None if random_seed is None else int(random_seed)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])

    t_start = time.perf_counter()
    d = _run(model, choice, draws, tune, chains, seed, progressbar, sampler_kwargs)
    sampling_time = time.perf_counter() - t_start
    tree = build_tree(model, d, choice.sampler)
    if dask:
        tree.attrs["row_groups"] = DASK_ROW_GROUPS_NOTE
    else:
        tree = add_log_likelihood(tree, model, log_likelihood)
    if choice.sampler == "exact":
        # i.i.d. draws by construction: the effective sample size is the number of draws,
        # there is no chain to converge (R-hat undefined), nothing to warn about
        total = float(chains * draws)
        diag = Diagnostics(np.nan, total, total, 0, 0, ())
    else:
        check_vars = ["coef", *(["intercept"] if model.fit_intercept else []), *d.hyper]
        diag = check_diagnostics(tree, check_vars, sampler=choice.sampler, chains=chains,
                                 tune=tune, stacklevel=3)
        if d.attrs.get("independence_reliable", 1) == 0:
            # warned by the sampler already; kept with the result's other warnings
            gate = f"independence sampler: {d.attrs['independence_plan']}"
            diag = diag._replace(warnings=(*diag.warnings, gate))
        divergent = int(d.attrs.get("hmc_divergences", 0))
        if divergent:  # warned by the sampler; counted and kept with the others
            diag = diag._replace(n_divergent=diag.n_divergent + divergent, warnings=(
                *diag.warnings, divergence_message(divergent, d.attrs["hmc_step_size"])))
    tree.attrs.update(result_attrs(
        model, d, sampler=choice.sampler, requested=sampler, reason=choice.reason,
        draws=draws, tune=tune, chains=chains, seed=seed, diag=diag,
        sampling_time_s=sampling_time, wall_time_s=time.perf_counter() - t_start))
    return tree
