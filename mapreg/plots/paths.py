"""Coefficient paths over prior scales: MAP, penalised, scikit-learn, posterior medians."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from mapreg.fit.map import find_map
from mapreg.fit.penalized import penalized_fit
from mapreg.model import Model
from mapreg.plots._common import (
    _add_lam_axis,
    _coef_draws,
    _feature_colors,
    _lam_formula,
    _panels,
    _prior_with_scale,
    _proxy,
    _scale_name,
    _scale_of,
    _single_ax,
    _with_scale,
    default_scales,
)
from mapreg.priors import Laplace

# --- 4. MAP path -----------------------------------------------------------------------

def _map_coefs(model: Model, scales) -> np.ndarray:
    return np.array([find_map(_with_scale(model, s)).coef for s in scales])


def _sklearn_path(model: Model, scales):
    """scikit-learn's coefficients along ``scales``, or ``(None, why)``."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return None, "scikit-learn not installed"
    from mapreg.fit import conversions

    fam = model.family
    if isinstance(model.prior, Laplace) and fam.name == "gaussian":
        from sklearn.linear_model import lasso_path

        # lasso_path fits no intercept: centring X and y profiles the flat-prior intercept out.
        X, y = model.X, model.y
        if model.fit_intercept:
            X, y = X - X.mean(axis=0), y - y.mean()
        n = model.n_samples
        alphas = np.array([conversions.lasso_alpha(Laplace(s), fam.noise_sigma, n)
                           for s in scales])
        order = np.argsort(alphas)[::-1]  # lasso_path wants decreasing alphas
        _out_alphas, coefs, _ = lasso_path(X, y, alphas=alphas[order], tol=1e-12,
                                          max_iter=100_000)
        coefs_sorted = np.empty((len(scales), model.n_features))
        coefs_sorted[order] = coefs.T
        return coefs_sorted, "scikit-learn lasso_path, α = s²/(n b)"
    coefs = []
    for s in scales:
        est = conversions.sklearn_estimator(_with_scale(model, s))
        if est is None:
            return None, "no scikit-learn equivalent"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(model.X, model.y)
        coefs.append(np.ravel(est.coef_))
    return np.array(coefs), f"scikit-learn {type(est).__name__}"


def _draw_path(ax, scales, coefs, names, *, gid, colors, **style):
    for j, name in enumerate(names):
        ax.plot(scales, coefs[:, j], color=colors[j], gid=f"{gid}:{name}", **style)


def _label_ends(ax, x, coefs, names, colors):
    """Name each path at its right end, nudging labels apart so they do not overlap."""
    coefs = np.asarray(coefs, dtype=float)
    gap = 0.04 * max(np.ptp(coefs), 1e-12)
    order = np.argsort(coefs)
    ys = coefs[order].copy()
    for k in range(1, len(ys)):
        ys[k] = max(ys[k], ys[k - 1] + gap)
    ys -= (ys.mean() - coefs.mean()) * 0.5  # re-centre the pushed-up block a little
    for k, j in enumerate(order):
        ax.annotate(names[j], (x, ys[k]), xytext=(5, 0), textcoords="offset points",
                    va="center", fontsize="small", color=colors[j], annotation_clip=False)


def map_path(model: Model, scales: Sequence[float] | None = None, *, sklearn: bool = True,
             ax=None):
    """Coefficients over a grid of prior scales: MAP path = penalised path (= scikit-learn).

    For each prior scale the MAP of ``model`` with that scale (thick coloured
    lines) and :func:`mapreg.penalized_fit` with ``lam = 1/b`` (Laplace) or
    ``lam = 1/(2 sigma**2)`` (Gaussian) (thin black dashes) are drawn; they
    coincide. scikit-learn's fit through :mod:`mapreg.fit.conversions` is overlaid
    as dots where it has an equivalent estimator: ``lasso_path`` with
    ``alpha = s**2 / (n b)`` for a Laplace prior and Gaussian noise. The bottom
    axis is the prior scale, the top axis the penalty ``lam``.

    Parameters
    ----------
    model : Model
        Data, family and prior kind; its prior's own scale is marked with a
        vertical line.
    scales : sequence of float, optional
        Prior scales (``b`` or ``sigma``); default :func:`default_scales`.
    sklearn : bool
        Overlay scikit-learn when it is installed and has an equivalent.
    ax : Axes, optional

    Returns
    -------
    Figure
        gids ``"map-path:<feature>"``, ``"penalized-path:<feature>"``,
        ``"sklearn-path:<feature>"``, one line each per coefficient; x-data are
        the scales.
    """
    prior_cls = type(model.prior)
    _scale_of(model.prior)
    scales = default_scales(model) if scales is None else np.sort(np.asarray(scales, float))
    names = model.feature_names
    fig, ax = _single_ax(ax, (8, 5))
    colors = _feature_colors(len(names))
    coefs_map = _map_coefs(model, scales)
    pen_name = model.prior.penalty().name
    coefs_pen = []
    for s in scales:
        # the penalised side gets only the numbers (lam, p, lam2, delta) at this scale
        penalty = _prior_with_scale(model.prior, s).penalty()
        coefs_pen.append(penalized_fit(model.X, model.y, penalty=penalty.name, **vars(penalty),
                                       family=model.family.name, noise_sigma=model.noise_sigma,
                                       fit_intercept=model.fit_intercept).coef)
    coefs_pen = np.array(coefs_pen)
    _draw_path(ax, scales, coefs_map, names, gid="map-path", colors=colors, lw=4, alpha=0.45)
    _draw_path(ax, scales, coefs_pen, names, gid="penalized-path", colors=["k"] * len(names),
               lw=1, ls="--")
    handles = [
        _proxy(color="0.4", lw=4, alpha=0.45, label=f"MAP, {prior_cls.__name__} prior"),
        _proxy(color="k", lw=1, ls="--",
               label=f"penalised fit, {pen_name.upper()} with λ = {_lam_formula(model.prior)}"),
    ]
    if sklearn:
        coefs_sk, what = _sklearn_path(model, scales)
        if coefs_sk is not None:
            _draw_path(ax, scales, coefs_sk, names, gid="sklearn-path", colors=colors, ls="none",
                       marker="o", ms=3.5, mec="k", mew=0.4)
            handles.append(_proxy(color="0.4", ls="none", marker="o", ms=3.5, mec="k", mew=0.4,
                                  label=what))
    ax.axvline(_scale_of(model.prior), color="0.5", lw=0.8, ls=":")
    handles.append(_proxy(color="0.5", lw=0.8, ls=":",
                          label=f"model's prior, {_scale_name(model.prior)} = "
                                f"{_scale_of(model.prior):.3g}"))
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel(f"prior scale {_scale_name(model.prior)} ({prior_cls.__name__})")
    ax.set_ylabel("coefficient")
    _add_lam_axis(ax, model.prior)
    _label_ends(ax, scales[-1], coefs_map[-1], names, colors)
    title = f"MAP path = {pen_name.upper()}-penalised path"
    if not model.prior.convex:
        title += " (non-convex: local modes from w = 0)"
    ax.set_title(title, pad=8)
    ax.legend(handles=handles, loc="upper left", fontsize="small")
    return fig


# --- 6. posterior median path ----------------------------------------------------------

def posterior_median_path(model: Model, scales: Sequence[float] | None = None, *,
                          idatas: Sequence | None = None, map_scales: Sequence[float] | None = None,
                          draws: int = 4000, tune: int = 1000, chains: int = 2,
                          sampler: str = "auto", random_seed: int = 0, fig=None):
    """Posterior medians over prior scales beside the MAP (lasso) path.

    Left: the MAP path (:func:`map_path`'s thick lines, without the overlays).
    Right: the posterior median of each coefficient at each scale, with the
    MAP path repeated faintly. Under a Laplace prior this is Park & Casella's
    (2008) Figure 1: the Bayesian-lasso medians move smoothly, without the
    kinks and exact zeros of the lasso path.

    Parameters
    ----------
    model : Model
        Data, family and prior kind (Laplace or Gaussian).
    scales : sequence of float, optional
        Prior scales to sample at (default: 10 points of :func:`default_scales`).
    idatas : sequence of DataTree, optional
        Posterior samples already drawn, one per scale (same order as
        ``scales``, which is then required); otherwise
        :func:`mapreg.sample_posterior` draws them.
    map_scales : sequence of float, optional
        A finer grid for the MAP path (default :func:`default_scales`, widened
        to include ``scales``).
    draws, tune, chains, sampler, random_seed
        Passed to :func:`mapreg.sample_posterior` (seed ``random_seed + i`` at
        the i-th scale). The Gibbs sampler mixes slowest under strong shrinkage
        (small scales), hence the generous default ``draws``; it still takes
        well under a second per scale on data the size of diabetes.
    fig : Figure, optional
        An empty figure to draw the two panels into.

    Returns
    -------
    Figure
        gids: left ``"map-path:<name>"``; right ``"median-path:<name>"`` and
        ``"map-path-faint:<name>"``.
    """
    prior_cls = type(model.prior)
    _scale_of(model.prior)
    if idatas is not None:
        if scales is None or len(scales) != len(idatas):
            raise ValueError("with idatas, pass scales of the same length (one scale per idata)")
    elif scales is None:
        scales = default_scales(model, num=10)
    scales = np.asarray(scales, dtype=float)
    if idatas is None:
        import mapreg

        idatas = [
            mapreg.sample_posterior(_with_scale(model, s), draws=draws, tune=tune, chains=chains,
                                    sampler=sampler, random_seed=random_seed + i,
                                    progressbar=False)
            for i, s in enumerate(scales)
        ]
    medians = []
    names = model.feature_names
    for idata in idatas:
        d, idata_names = _coef_draws(idata)
        if list(idata_names) != list(names):
            raise ValueError(f"posterior coefficients {idata_names} differ from the model's "
                             f"features {list(names)}")
        medians.append(np.median(d, axis=0))
    order = np.argsort(scales)
    scales, medians = scales[order], np.array(medians)[order]
    if map_scales is None:
        fine = default_scales(model)
        map_scales = np.geomspace(min(fine[0], scales[0]), max(fine[-1], scales[-1]), len(fine))
    map_scales = np.sort(np.asarray(map_scales, dtype=float))
    coefs_map = _map_coefs(model, map_scales)
    colors = _feature_colors(len(names))
    fig, (left, right) = _panels(fig, 2, (12, 5), sharey=True)
    _draw_path(left, map_scales, coefs_map, names, gid="map-path", colors=colors, lw=2)
    _draw_path(right, map_scales, coefs_map, names, gid="map-path-faint", colors=colors, lw=1,
               alpha=0.3)
    _draw_path(right, scales, medians, names, gid="median-path", colors=colors, lw=2,
               marker="o", ms=4)
    label = f"prior scale {_scale_name(model.prior)} ({prior_cls.__name__})"
    for ax, title in ((left, "MAP (penalised) path: exact zeros, kinks"),
                      (right, "Posterior median path: no exact zeros")):
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        _add_lam_axis(ax, model.prior)
        ax.set_title(title, pad=8)
    left.set_ylabel("coefficient")
    _label_ends(left, map_scales[-1], coefs_map[-1], names, colors)
    right.legend(handles=[
        _proxy(color="0.3", lw=2, marker="o", ms=4, label=f"posterior median ({len(scales)} "
               "scales)"),
        _proxy(color="0.3", lw=1, alpha=0.3, label="MAP path"),
    ], loc="upper left", fontsize="small")
    return fig
