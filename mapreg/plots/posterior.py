"""Posterior marginals with the MAP and zero marked."""

from __future__ import annotations

import numpy as np

from mapreg.plots._common import (
    _L1_COLOR,
    _coef_draws,
    _feature_colors,
    _proxy,
    _single_ax,
)

# --- 5. posterior vs mode --------------------------------------------------------------


def _map_coef(idata, names):
    """The MAP stored with the posterior (``map`` group), ordered like ``names``, or ``None``."""
    if "map" not in idata.children:
        return None
    coef = idata["map"]["coef"]
    if coef.ndim != 1:
        raise ValueError(f"map coef must be one-dimensional, got dims {coef.dims}")
    if coef.dims[0] in coef.coords:
        coef = coef.sel({coef.dims[0]: names})
    return np.asarray(coef.values, dtype=float)


def posterior_vs_mode(idata, *, interval: float = 0.9, map_coef=None, ax=None):
    """Each coefficient's posterior marginal with the MAP and zero marked.

    One row per coefficient: a kernel density estimate of its posterior
    (shaded ridge), the central ``interval`` and 50% intervals (thin and thick
    bars), the posterior median (white dot) and the MAP (black diamond; hollow
    where the MAP is exactly zero). Under a Laplace prior the MAP sets weak
    coefficients exactly to zero while their posteriors, continuous, put no
    mass on zero itself.

    Parameters
    ----------
    idata : DataTree
        From :func:`mapreg.sample_posterior`: group ``posterior`` with ``coef``
        (dims chain, draw and one coefficient dimension) and, for the MAP, a
        group ``map`` with ``coef`` over the coefficient dimension.
    interval : float
        Probability of the outer central interval.
    map_coef : array-like, optional
        The mode to mark, overriding the ``map`` group.
    ax : Axes, optional

    Returns
    -------
    Figure
        gids: ``"posterior:<name>"`` (the density line, y offset to the row),
        ``"interval:<name>"``, ``"interval50:<name>"``, ``"median:<name>"``,
        ``"map:<name>"``, ``"zero"``.
    """
    from scipy.stats import gaussian_kde

    if not 0.5 < interval < 1.0:
        raise ValueError(f"interval must be in (0.5, 1), got {interval!r}")
    draws, names = _coef_draws(idata)
    mode = _map_coef(idata, names) if map_coef is None else np.asarray(map_coef, dtype=float)
    p = len(names)
    fig, ax = _single_ax(ax, (8, 0.55 * p + 1.8))
    colors = _feature_colors(p)
    lo_q, hi_q = (1 - interval) / 2, (1 + interval) / 2
    for j, name in enumerate(names):
        row = p - 1 - j  # first coefficient on top
        d = draws[:, j]
        lo, q25, med, q75, hi = np.quantile(d, [lo_q, 0.25, 0.5, 0.75, hi_q])
        span = max(np.ptp(d), 1e-12)
        grid = np.linspace(d.min() - 0.05 * span, d.max() + 0.05 * span, 300)
        if np.std(d) > 0:
            dens = gaussian_kde(d)(grid)
            dens = 0.8 * dens / dens.max()
        else:
            dens = np.zeros_like(grid)
        ax.fill_between(grid, row, row + dens, color=colors[j], alpha=0.35, lw=0)
        ax.plot(grid, row + dens, color=colors[j], lw=1, gid=f"posterior:{name}")
        ax.plot([lo, hi], [row, row], color="k", lw=1.2, gid=f"interval:{name}")
        ax.plot([q25, q75], [row, row], color="k", lw=3.5, gid=f"interval50:{name}")
        ax.plot([med], [row], "o", color="w", mec="k", ms=5, zorder=3, gid=f"median:{name}")
        if mode is not None:
            zero = mode[j] == 0.0
            ax.plot([mode[j]], [row], "D", ms=8, zorder=4, gid=f"map:{name}",
                    mfc="none" if zero else "k", mec=_L1_COLOR if zero else "k", mew=1.8)
    ax.axvline(0.0, color="0.3", lw=1, ls="--", gid="zero")
    ax.set_yticks(np.arange(p)[::-1], names)
    ax.set_ylim(-0.6, p - 0.1)
    ax.set_xlabel("coefficient")
    ax.set_ylabel("coefficient name")
    sampler = getattr(idata, "attrs", {}).get("sampler")
    ax.set_title("Posterior marginals vs the posterior mode"
                 + (f"  (sampler: {sampler})" if sampler else ""))
    handles = [
        _proxy(color="k", lw=1.2, label=f"central {interval:.0%} interval"),
        _proxy(color="k", lw=3.5, label="central 50% interval"),
        _proxy(ls="none", marker="o", color="w", mec="k", ms=5, label="posterior median"),
        _proxy(color="0.3", lw=1, ls="--", label="zero"),
    ]
    if mode is not None:
        handles.insert(3, _proxy(ls="none", marker="D", color="k", ms=7, label="MAP"))
        if np.any(mode == 0.0):
            handles.insert(4, _proxy(ls="none", marker="D", mfc="none", mec=_L1_COLOR, mew=1.8,
                                     ms=7, label="MAP exactly 0"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return fig
