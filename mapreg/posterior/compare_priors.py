"""Which prior? The ArviZ comparison of PSIS-LOO across priors on one data set.

:func:`compare_priors` samples the posterior under each prior
(:func:`mapreg.sample_posterior`, which stores the pointwise ``log_likelihood`` group),
computes PSIS-LOO (``arviz_stats.loo``) for each and ranks them with
``arviz_stats.compare`` (stacking weights by default). Pareto-k diagnostics are not left
in a log: each prior's largest ``k`` and its number of observations above the
``good_k`` threshold are columns of the table, and a :class:`mapreg.SamplingWarning`
names the priors whose LOO estimate is unreliable (high ``k``: the posterior moves a lot
when that row is left out — refit those rows, ``arviz_stats.reloo``, or use K-fold CV).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from mapreg.exceptions import SamplingWarning
from mapreg.model import Model
from mapreg.priors import Prior

__all__ = ["compare_priors"]


def _named(priors, n_given: int = 0) -> dict[str, Prior]:
    if priors is None:
        priors = {}
    if isinstance(priors, Mapping):
        named = {str(k): v for k, v in priors.items()}
    elif isinstance(priors, Sequence) and not isinstance(priors, str):
        named = {}
        for prior in priors:
            name = getattr(prior, "name", repr(prior))
            named[name if name not in named else repr(prior)] = prior
    else:
        raise ValueError("priors must be a dict {name: Prior} or a list of priors, got "
                         f"{priors!r}")
    if len(named) + n_given < 2:
        raise ValueError("compare_priors needs at least two priors (sampled here or given in "
                         f"posteriors), got {len(named) + n_given}")
    for name, prior in named.items():
        if not isinstance(prior, Prior):
            raise ValueError(f"priors[{name!r}] must be a mapreg prior, got {prior!r}")
    return named


def compare_priors(X, y, priors, family: str = "gaussian", noise_sigma: float | None = None,
                   *, fit_intercept: bool = True, noise_prior=None, feature_names=None,
                   draws: int = 1000, tune: int = 1000, chains: int = 4,
                   sampler: str | Mapping[str, str] = "auto", random_seed=None,
                   method: str = "stacking", progressbar: bool = False, return_idata: bool = False,
                   posteriors: Mapping | None = None):
    """The ``arviz.compare`` table of the posteriors of ``X, y`` under each prior.

    Parameters
    ----------
    X, y, family, noise_sigma, fit_intercept, noise_prior, feature_names :
        As for :class:`mapreg.Model` (one model per prior, all else equal).
    priors : dict of str to Prior, or list of Prior
        E.g. ``{"lasso": Laplace(2), "ridge": Gaussian(3), "enet": ElasticNet(2, 5),
        "horseshoe": Horseshoe(1)}``; a list is named by ``Prior.name``.
    draws, tune, chains, random_seed, progressbar :
        Passed to :func:`mapreg.sample_posterior` (one seed derived per prior).
    sampler : str or dict of str to str
        The sampler for every prior, or per prior name (missing names: ``"auto"``).
    method : str
        ``arviz_stats.compare``'s weighting (``"stacking"``, ``"BB-pseudo-BMA"``, ...).
    return_idata : bool
        Also return the dict of sampled DataTrees (each with its ``log_likelihood``).
    posteriors : dict of str to DataTree, optional
        Posteriors already sampled on the same ``y`` (e.g. one NUTS run you have), each with
        a ``log_likelihood`` group, compared as they are (no resampling); their names must
        not repeat those of ``priors``.

    Returns
    -------
    pandas.DataFrame (, dict of DataTree)
        ``arviz_stats.compare``'s table (rank, elpd_diff, dse, ..., elpd, se, weight)
        indexed by prior name, unrounded (``round_to="none"``: ``elpd`` is
        ``arviz_stats.loo(idata).elpd`` to the last digit), plus ``prior`` (its repr), ``sampler``,
        ``max_pareto_k``, ``n_high_pareto_k`` (observations with ``k > good_k``) and
        ``sampling_warnings`` (the number of convergence warnings). ``df.attrs``:
        ``good_k`` per prior and ``warnings`` (the messages emitted).
    """
    from arviz_stats import compare, loo

    given = _given(posteriors, len(np.atleast_1d(y)))
    named = _named(priors, len(given))
    clash = sorted(set(named) & set(given))
    if clash:
        raise ValueError(f"names in both priors and posteriors: {clash}")
    seeds = np.random.SeedSequence(random_seed).generate_state(len(named))
    results, idatas, extra, good = {}, {}, {}, {}
    runs = [(name, prior, int(seed)) for (name, prior), seed in
            zip(named.items(), seeds, strict=True)]
    for name, prior, seed in [*runs, *((name, None, None) for name in given)]:
        if prior is None:
            idata = given[name]
        else:
            model = Model(X, y, prior=prior, family=family, noise_sigma=noise_sigma,
                          fit_intercept=fit_intercept, feature_names=feature_names,
                          noise_prior=noise_prior)
            which = sampler.get(name, "auto") if isinstance(sampler, Mapping) else sampler
            idata = _sample(model, draws, tune, chains, which, seed, progressbar)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Pareto.*")  # surfaced below instead
            res = loo(idata, pointwise=True)
        k = np.asarray(res.pareto_k.values, dtype=float)
        good[name] = float(res.good_k)
        shown = repr(prior) if prior is not None else str(idata.attrs.get("prior", "given"))
        extra[name] = {"prior": shown, "sampler": str(idata.attrs.get("sampler", "")),
                       "max_pareto_k": float(np.max(k)),
                       "n_high_pareto_k": int(np.sum(k > res.good_k)),
                       "sampling_warnings": len(idata.attrs.get("warnings", []))}
        results[name] = res
        idatas[name] = idata
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Pareto.*|.*k_psis.*")
        # raw numbers: arviz's default rounds elpd to two significant digits (-2400)
        table = compare(results, method=method, round_to="none")
    for col in ("prior", "sampler", "max_pareto_k", "n_high_pareto_k", "sampling_warnings"):
        table[col] = [extra[name][col] for name in table.index]
    messages = [
        f"compare_priors: PSIS-LOO is unreliable for prior {name!r}: "
        f"{e['n_high_pareto_k']} of {len(np.atleast_1d(y))} observations have Pareto k > "
        f"{good[name]:.2f} (max {e['max_pareto_k']:.2f}); its elpd may be optimistic — "
        "refit those rows (arviz_stats.reloo) or use K-fold cross-validation"
        for name, e in extra.items() if e["n_high_pareto_k"]]
    for message in messages:
        warnings.warn(message, SamplingWarning, stacklevel=2)
    table.attrs.update({"good_k": good, "warnings": messages, "method": method})
    return (table, idatas) if return_idata else table


def _given(posteriors, n_obs: int) -> dict:
    """``posteriors`` checked: each a DataTree with a pointwise log-likelihood of ``n_obs``."""
    if posteriors is None:
        return {}
    if not isinstance(posteriors, Mapping):
        raise ValueError(f"posteriors must be a dict {{name: DataTree}}, got {posteriors!r}")
    for name, idata in posteriors.items():
        children = getattr(idata, "children", {})
        if "log_likelihood" not in children:
            raise ValueError(f"posteriors[{name!r}] has no log_likelihood group: sample it "
                             "with mapreg.sample_posterior(..., log_likelihood=True)")
        ll = children["log_likelihood"].to_dataset()
        sizes = {int(np.prod([da.sizes[d] for d in da.dims if d not in ("chain", "draw")]))
                 for da in ll.data_vars.values()}
        if sizes != {n_obs}:
            raise ValueError(f"posteriors[{name!r}] has log-likelihoods for {sorted(sizes)} "
                             f"observations, y has {n_obs}: not the same data")
    return {str(k): v for k, v in posteriors.items()}


def _sample(model, draws, tune, chains, sampler, seed, progressbar):
    from mapreg.posterior.sample import sample_posterior

    return sample_posterior(model, draws=draws, tune=tune, chains=chains, sampler=sampler,
                            random_seed=seed, progressbar=progressbar, log_likelihood=True)
