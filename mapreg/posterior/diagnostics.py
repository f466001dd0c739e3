"""Loud convergence diagnostics after every sampling run.

Checked on every posterior variable (``coef``, a fitted ``intercept``, and the
hyperparameters ``noise_sigma`` / ``prior_scale`` / ``tau`` when sampled):

* rank-normalised split R-hat (Vehtari et al. 2021) ``<= rhat_max`` (1.01);
* bulk and tail effective sample size ``>= ess_min_per_chain * chains`` (100 per chain);
* no divergent NUTS transitions;
* no NUTS transitions stopped by the maximum tree depth (reported, less severe).

Each problem becomes a :class:`SamplingWarning` whose text says what to do.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from mapreg.exceptions import SamplingWarning

# Features per call of ArviZ's diagnostics (memory: a block's draws, copied a few times).
_DIAGNOSTIC_BLOCK = 1000


class Diagnostics(NamedTuple):
    """Worst-case summaries over all checked variables, and the warning texts."""

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_divergent: int
    n_max_treedepth: int
    warnings: tuple[str, ...]


def _worst(ds, reduce, var_names):
    """``(value, variable label)`` of the worst entry over the variables of a Dataset."""
    best_val, best_name = None, ""
    for name in var_names:
        da = ds[name]
        vals = np.asarray(da.values, dtype=float).ravel()
        if vals.size == 0 or np.all(np.isnan(vals)):
            continue
        i = int(np.nanargmax(vals) if reduce == "max" else np.nanargmin(vals))
        label = name
        if da.ndim:
            dim = da.dims[0]
            label = f"{name}[{da[dim].values.ravel()[i]}]"
        if best_val is None or (vals[i] > best_val if reduce == "max" else vals[i] < best_val):
            best_val, best_name = float(vals[i]), label
    return (np.nan if best_val is None else best_val), best_name


def check_diagnostics(idata, var_names, *, sampler: str, chains: int, tune: int,
                      rhat_max: float = 1.01, ess_min_per_chain: float = 100.0,
                      warn: bool = True, stacklevel: int = 3) -> Diagnostics:
    """Compute R-hat, bulk/tail ESS and divergences; warn loudly about each problem.

    Parameters
    ----------
    idata : xarray.DataTree
        With a ``posterior`` group (dims ``chain``, ``draw``) and, for NUTS,
        ``sample_stats`` holding ``diverging``.
    var_names : list of str
        Posterior variables to check.
    sampler, chains, tune : str, int, int
        Used to word the advice.
    rhat_max, ess_min_per_chain : float
        Thresholds: R-hat above ``rhat_max`` or an ESS below
        ``ess_min_per_chain * chains`` triggers a warning.
    warn : bool
        Emit each problem as a :class:`SamplingWarning` (it is always returned).
    """
    import arviz_stats as azs

    post = idata["posterior"].to_dataset()
    messages = []
    n_chains = post.sizes["chain"]
    worst = {"rhat": (np.nan, ""), "bulk": (np.nan, ""), "tail": (np.nan, "")}

    def update(key, value, where, reduce):
        best = worst[key][0]
        if np.isfinite(value) and (not np.isfinite(best)
                                   or (value > best if reduce == "max" else value < best)):
            worst[key] = (value, where)

    # a block of features at a time: ArviZ copies (and rank-normalises) what it is given, so
    # at p = 10,000 the whole coef would cost several times the draws' own memory
    for name in var_names:
        da = post[name]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        size = da.sizes[extra[0]] if extra else 1
        for start in range(0, size, _DIAGNOSTIC_BLOCK):
            piece = (post[[name]].isel({extra[0]: slice(start, start + _DIAGNOSTIC_BLOCK)})
                     if extra else post[[name]])
            if n_chains > 1:
                update("rhat", *_worst(azs.rhat(piece, var_names=[name]), "max", [name]),
                       "max")
            update("bulk", *_worst(azs.ess(piece, var_names=[name], method="bulk"), "min",
                                   [name]), "min")
            update("tail", *_worst(azs.ess(piece, var_names=[name], method="tail"), "min",
                                   [name]), "min")
    (max_rhat, where_rhat), (ess_bulk, where_bulk), (ess_tail, where_tail) = (
        worst["rhat"], worst["bulk"], worst["tail"])
    n_div = n_depth = 0
    if "sample_stats" in idata.children:
        stats = idata["sample_stats"]
        if "diverging" in stats:
            n_div = int(np.asarray(stats["diverging"].values).sum())
        for name in ("reached_max_treedepth", "maxdepth_reached"):
            if name in stats:
                n_depth = int(np.asarray(stats[name].values).sum())
    n_total = n_chains * post.sizes["draw"]
    ess_min = ess_min_per_chain * n_chains

    if n_div:
        messages.append(
            f"{n_div} of {n_total} {sampler} NUTS transitions diverged: the sampler met curvature "
            f"it cannot follow (typically a funnel between a scale hyperparameter and the "
            f"coefficients). Raise tune (now {tune}) and target_accept (e.g. 0.95), or use a "
            "non-centred form; do not trust these draws until divergences are gone."
        )
    if np.isfinite(max_rhat) and max_rhat > rhat_max:
        messages.append(
            f"R-hat is {max_rhat:.3f} > {rhat_max} for {where_rhat}: the {n_chains} chains "
            f"disagree. Run longer (more tune than {tune} and more draws), check for several "
            "modes, and do not use these draws yet."
        )
    if np.isfinite(ess_bulk) and ess_bulk < ess_min:
        messages.append(
            f"bulk ESS is only {ess_bulk:.0f} (< {ess_min:.0f}) for {where_bulk}: posterior "
            "means and medians carry large Monte-Carlo error. Draw more (raise draws) or "
            "use a better-mixing sampler (sampler='auto' picks the fastest valid one)."
        )
    if np.isfinite(ess_tail) and ess_tail < ess_min:
        messages.append(
            f"tail ESS is only {ess_tail:.0f} (< {ess_min:.0f}) for {where_tail}: interval "
            "ends (5%/95% quantiles) are unreliable. Raise draws."
        )
    if n_depth:
        messages.append(
            f"{n_depth} of {n_total} NUTS transitions hit the maximum tree depth: sampling is "
            "slow and mixing may be poor. Raise tune, or reparametrise (rescale X)."
        )
    if warn:
        for msg in messages:
            warnings.warn(msg, SamplingWarning, stacklevel=stacklevel)
    return Diagnostics(max_rhat, ess_bulk, ess_tail, n_div, n_depth, tuple(messages))
