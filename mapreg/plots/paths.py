"""Coefficient paths over prior scales: MAP, penalised, scikit-learn, posterior medians.

These functions draw records computed elsewhere — :func:`mapreg.fit.path.compare_paths`
(or :func:`~mapreg.fit.path.path`) and
:func:`mapreg.posterior.paths.posterior_median_path` — and solve or sample nothing.
Given a :class:`~mapreg.Model` instead, they first call those functions (a shorthand
for notebooks): ``map_path(model, scales)`` is ``map_path(compare_paths(model, scales))``.
"""

from __future__ import annotations

import numpy as np

from mapreg.model import Model
from mapreg.plots._common import (
    _add_penalty_axis,
    _feature_colors,
    _panels,
    _proxy,
    _scale_label,
    _single_ax,
)


def _draw_path(ax, scales, coefs, names, *, gid, colors, **style):
    for j, name in enumerate(names):
        ax.plot(scales, coefs[:, j], color=colors[j], gid=f"{gid}:{name}", **style)


#: At most this many paths are named at their right end (the largest ones); the others
#: are drawn unlabelled, so the figure keeps its size and stays readable at any p.
MAX_LABELS = 12


def _label_ends(ax, x, coefs, names, colors, path=None, max_labels: int = MAX_LABELS):
    """Name the largest paths at their right end, nudging labels apart so they do not overlap.

    ``path`` (scales x features) ranks the paths by their largest magnitude; only the
    ``max_labels`` largest are named (all of them when there are no more), and a note
    in the corner says how many are drawn.
    """
    coefs = np.asarray(coefs, dtype=float)
    size = np.max(np.abs(np.asarray(path, dtype=float)), axis=0) if path is not None \
        else np.abs(coefs)
    keep = np.sort(np.argsort(-np.nan_to_num(size), kind="stable")[:max_labels])
    if keep.size < coefs.size:
        ax.text(0.01, 0.01, f"{coefs.size} paths; the {keep.size} largest named",
                transform=ax.transAxes, ha="left", va="bottom", fontsize="x-small",
                color="0.35")
    coefs, names, colors = coefs[keep], [names[j] for j in keep], [colors[j] for j in keep]
    if not coefs.size:
        return
    low, high = ax.get_ylim()
    gap = 0.04 * (high - low)
    order = np.argsort(coefs)
    ys = coefs[order].copy()
    for k in range(1, len(ys)):  # push up over the one below ...
        ys[k] = max(ys[k], ys[k - 1] + gap)
    ys[-1] = min(ys[-1], high)
    for k in range(len(ys) - 2, -1, -1):  # ... and down below the top of the axes
        ys[k] = min(ys[k], ys[k + 1] - gap)
    ys = np.clip(ys, low, high)  # never outside the axes: the figure keeps its size
    for k, j in enumerate(order):
        ax.annotate(_short(names[j]), (x, ys[k]), xytext=(5, 0), textcoords="offset points",
                    va="center", fontsize="small", color=colors[j], annotation_clip=False)


def _short(name: str, n: int = 18) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def _as_comparison(result, scales, sklearn):
    """A :class:`~mapreg.fit.path.PathComparison` from what :func:`map_path` was given."""
    from mapreg.fit.path import PathComparison, PathResult, compare_paths

    if isinstance(result, Model):  # the notebook shorthand: compute, then draw
        return compare_paths(result, scales, sklearn=sklearn)
    if scales is not None:
        raise ValueError("scales apply to a Model; a computed path already has its scales")
    if isinstance(result, PathResult):
        return PathComparison(map=result)
    if isinstance(result, PathComparison):
        return result
    raise ValueError("map_path draws a PathComparison or PathResult (mapreg.fit.path), "
                     f"got {type(result).__name__}")


def map_path(result, scales=None, *, sklearn: bool = True, ax=None):
    """Coefficients over a grid of prior scales: MAP path = penalised path (= scikit-learn).

    The MAP at each scale (thick coloured lines) and :func:`mapreg.penalized_fit` with
    the penalty's numbers at that scale (thin black dashes) coincide; scikit-learn's fit
    is overlaid as dots where it has an equivalent (``lasso_path`` with
    ``alpha = s**2 / (n b)`` for a Laplace prior and Gaussian noise). The bottom axis is
    the prior scale, the top axis the penalty parameter that moves with it
    (:func:`mapreg.fit.path.scale_law`).

    Parameters
    ----------
    result : PathComparison, PathResult or Model
        From :func:`mapreg.fit.path.compare_paths` (all three paths) or
        :func:`mapreg.fit.path.path` (the MAP path alone). A :class:`~mapreg.Model` is
        shorthand for ``compare_paths(model, scales, sklearn=sklearn)``.
    scales : sequence of float, optional
        With a Model only: the prior scales (default
        :func:`mapreg.fit.path.default_scales`).
    sklearn : bool
        Draw scikit-learn's path when the result has one.
    ax : Axes, optional

    Returns
    -------
    Figure
        gids ``"map-path:<feature>"``, ``"penalized-path:<feature>"``,
        ``"sklearn-path:<feature>"``, one line each per coefficient; x-data are the
        scales. The model's own prior scale is marked with a vertical line.
    """
    comparison = _as_comparison(result, scales, sklearn)
    mp = comparison.map
    prior, names, scales = mp.prior, list(mp.feature_names), mp.scales
    fig, ax = _single_ax(ax, (8, 5))
    colors = _feature_colors(len(names))
    _draw_path(ax, scales, mp.coef, names, gid="map-path", colors=colors, lw=4, alpha=0.45)
    handles = [_proxy(color="0.4", lw=4, alpha=0.45, label=f"MAP, {type(prior).__name__} prior")]
    law = _add_penalty_axis(ax, prior)
    if comparison.penalized is not None:
        _draw_path(ax, scales, comparison.penalized.coef, names, gid="penalized-path",
                   colors=["k"] * len(names), lw=1, ls="--")
        weight = "" if law is None else f" with {law.equation(prior.scale_symbol)}"
        handles.append(_proxy(color="k", lw=1, ls="--",
                              label=f"penalised fit, {mp.penalty.upper()}{weight}"))
    witness = comparison.sklearn
    if sklearn and witness is not None:
        _draw_path(ax, scales, witness.coef, names, gid="sklearn-path", colors=colors,
                   ls="none", marker="o", ms=3.5, mec="k", mew=0.4)
        handles.append(_proxy(color="0.4", ls="none", marker="o", ms=3.5, mec="k", mew=0.4,
                              label=witness.label))
    ax.axvline(prior.scale, color="0.5", lw=0.8, ls=":")
    handles.append(_proxy(color="0.5", lw=0.8, ls=":", label=f"model's prior, "
                          f"{prior.scale_symbol} = {prior.scale:.3g}"))
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel(_scale_label(prior))
    ax.set_ylabel("coefficient")
    _label_ends(ax, scales[-1], mp.coef[-1], names, colors, path=mp.coef)
    title = f"MAP path = {mp.penalty.upper()}-penalised path"
    if not prior.convex:
        title += " (non-convex: local modes from w = 0)"
    ax.set_title(title, pad=8)
    ax.legend(handles=handles, loc="upper left", fontsize="small")
    return fig


def _median_inputs(model, scales, map_scales, options):
    """The shorthand of :func:`posterior_median_path`: sample, solve, then draw."""
    from mapreg.fit.path import default_scales, path
    from mapreg.posterior.paths import posterior_median_path as medians_over

    medians = medians_over(model, scales, **options)
    if map_scales is None:
        map_scales = default_scales(model, covering=medians.scales)
    return medians, path(model, map_scales)


def posterior_median_path(medians, map_path=None, *, fig=None, map_scales=None, **options):
    """Posterior medians over prior scales beside the MAP path.

    Left: the MAP path. Right: the posterior median of each coefficient at each
    scale, with the MAP path repeated faintly. Under a Laplace prior this is Park &
    Casella's (2008) Figure 1: the Bayesian-lasso medians move smoothly, without the
    kinks and exact zeros of the lasso path.

    Parameters
    ----------
    medians : MedianPath or Model
        From :func:`mapreg.posterior.paths.posterior_median_path`. A
        :class:`~mapreg.Model` is shorthand: the medians are then computed by that
        function (``map_path`` is then its ``scales``, and ``**options`` — ``idatas``,
        ``draws``, ``tune``, ``chains``, ``sampler``, ``random_seed`` — go to it) and
        the MAP path by :func:`mapreg.fit.path.path` over ``map_scales`` (default: the
        default grid widened to include the medians' scales).
    map_path : PathResult
        From :func:`mapreg.fit.path.path`, on the same model.
    fig : Figure, optional
        An empty figure to draw the two panels into.

    Returns
    -------
    Figure
        gids: left ``"map-path:<name>"``; right ``"median-path:<name>"`` and
        ``"map-path-faint:<name>"``.
    """
    if isinstance(medians, Model):
        medians, map_path = _median_inputs(medians, map_path, map_scales, options)
    elif options or map_scales is not None:
        raise ValueError(f"{sorted(options) or ['map_scales']} apply to a Model, not to "
                         "computed medians")
    if map_path is None:
        raise ValueError("posterior_median_path needs the MAP path (mapreg.fit.path.path)")
    if tuple(map_path.feature_names) != tuple(medians.feature_names):
        raise ValueError(f"the MAP path's features {list(map_path.feature_names)} differ "
                         f"from the medians' {list(medians.feature_names)}")
    names = list(medians.feature_names)
    colors = _feature_colors(len(names))
    fig, (left, right) = _panels(fig, 2, (12, 5), sharey=True)
    _draw_path(left, map_path.scales, map_path.coef, names, gid="map-path", colors=colors, lw=2)
    _draw_path(right, map_path.scales, map_path.coef, names, gid="map-path-faint",
               colors=colors, lw=1, alpha=0.3)
    _draw_path(right, medians.scales, medians.median, names, gid="median-path", colors=colors,
               lw=2, marker="o", ms=4)
    for ax, title in ((left, "MAP (penalised) path: exact zeros, kinks"),
                      (right, "Posterior median path: no exact zeros")):
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set_xscale("log")
        ax.set_xlabel(_scale_label(medians.prior))
        _add_penalty_axis(ax, medians.prior)
        ax.set_title(title, pad=8)
    left.set_ylabel("coefficient")
    _label_ends(left, map_path.scales[-1], map_path.coef[-1], names, colors,
                path=map_path.coef)
    right.legend(handles=[
        _proxy(color="0.3", lw=2, marker="o", ms=4,
               label=f"posterior median ({len(medians.scales)} scales)"),
        _proxy(color="0.3", lw=1, alpha=0.3, label="MAP path"),
    ], loc="upper left", fontsize="small")
    return fig
