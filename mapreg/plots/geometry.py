"""Two-dimensional loss contours with the L1 diamond and the L2 disc."""

from __future__ import annotations

import numpy as np

from mapreg.fit.map import find_map
from mapreg.model import Model
from mapreg.plots._common import _L1_COLOR, _L2_COLOR, _single_ax
from mapreg.priors import Prior, make_prior

# --- 3. constraint geometry ------------------------------------------------------------

def _geometry_data(seed: int = 3):
    """A small 2-D regression with correlated features and one weak effect."""
    rng = np.random.default_rng(seed)
    n = 40
    cov = np.array([[1.0, 0.6], [0.6, 1.0]])
    X = rng.multivariate_normal(np.zeros(2), cov, size=n)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = X @ np.array([2.0, 0.5]) + rng.normal(scale=1.0, size=n)
    return X, y - y.mean()


def _draw_balls_and_maps(ax, w_l1, w_l2, w_mle, laplace, gaussian):
    """The L1 diamond and L2 disc through the two MAPs, and the three points."""
    t1 = float(np.sum(np.abs(w_l1)))
    ax.fill([t1, 0, -t1, 0], [0, t1, 0, -t1], color=_L1_COLOR, alpha=0.12)
    ax.plot([t1, 0, -t1, 0, t1], [0, t1, 0, -t1, 0], color=_L1_COLOR, lw=2, gid="l1-ball",
            label=f"L1 ball |w1|+|w2| ≤ {t1:.3g}  (Laplace b = {laplace.scale:.3g})")
    r2 = float(np.linalg.norm(w_l2))
    th = np.linspace(0, 2 * np.pi, 361)
    ax.fill(r2 * np.cos(th), r2 * np.sin(th), color=_L2_COLOR, alpha=0.12)
    ax.plot(r2 * np.cos(th), r2 * np.sin(th), color=_L2_COLOR, lw=2, gid="l2-ball",
            label=f"L2 ball w1²+w2² ≤ {r2**2:.3g}  (Gaussian σ = {gaussian.scale:.3g})")
    ax.plot(*w_mle, "k+", ms=14, mew=2, gid="mle", label="maximum likelihood (no prior)")
    ax.plot(*w_l1, "o", color=_L1_COLOR, mec="k", ms=10, gid="map-l1",
            label=f"Laplace MAP ({w_l1[0]:.3g}, {w_l1[1]:.3g})")
    ax.plot(*w_l2, "s", color=_L2_COLOR, mec="k", ms=9, gid="map-l2",
            label=f"Gaussian MAP ({w_l2[0]:.3g}, {w_l2[1]:.3g})")


def constraint_geometry(X=None, y=None, *, laplace: Prior | None = None,
                        gaussian: Prior | None = None, noise_sigma: float = 1.0,
                        ax=None):
    """A two-weight problem: loss contours, the L1 diamond, the L2 disc and both MAPs.

    The MAP under a prior solves ``min L(w) + lam pen(w)``, which is also the
    constrained problem ``min L(w)`` subject to ``pen(w) <= t`` with ``t`` the
    penalty at the MAP. So the MAP is where a loss contour first touches the
    diamond ``|w1| + |w2| <= t`` (L1) or the disc ``w1**2 + w2**2 <= t`` (L2).
    The diamond's corners sit on the axes, so the touching point is often a
    corner: a weight exactly zero.

    Parameters
    ----------
    X : ndarray, shape (n, 2), optional
        Design (no intercept is fitted; centre it yourself). Default: a seeded
        synthetic problem with correlated features whose L1 MAP has a zero.
    y : ndarray, shape (n,), optional
    laplace, gaussian : Laplace, Gaussian, optional
        The priors (defaults chosen for the default data: ``Laplace(b=0.02)``,
        i.e. ``lam = 50``, and ``Gaussian(sigma=0.12)``).
    noise_sigma : float
        Known Gaussian noise sd of the likelihood.
    ax : Axes, optional

    Returns
    -------
    Figure
        gids: ``"map-l1"``, ``"map-l2"``, ``"mle"`` (markers), ``"l1-ball"``,
        ``"l2-ball"`` (lines), ``"contour-map-l1"``/``"contour-map-l2"`` (the loss
        contours through each MAP, as contour sets).
    """
    if X is None and y is None:
        X, y = _geometry_data()
    elif X is None or y is None:
        raise ValueError("pass both X and y, or neither for the built-in example")
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"constraint_geometry needs exactly 2 features, got X of shape {X.shape}")
    laplace = make_prior("laplace", 0.02) if laplace is None else laplace
    gaussian = make_prior("gaussian", 0.12) if gaussian is None else gaussian
    fig, ax = _single_ax(ax, (6.2, 6))

    def model(prior):
        return Model(X, y, prior=prior, noise_sigma=noise_sigma, fit_intercept=False,
                     feature_names=["w1", "w2"])

    m1, m2 = model(laplace), model(gaussian)
    w_l1, w_l2 = find_map(m1).coef, find_map(m2).coef
    w_mle = np.linalg.lstsq(X, y, rcond=None)[0]

    half = 1.25 * max(np.max(np.abs(w_mle)), 0.5)
    g = np.linspace(-half, half, 301)
    W1, W2 = np.meshgrid(g, g)
    eta = X @ np.vstack([W1.ravel(), W2.ravel()])  # (n, grid)
    nll = -np.sum(m1.family.loglik(eta, y[:, None]), axis=0).reshape(W1.shape)
    nll_min = -m1.log_likelihood(w_mle)
    levels = nll_min + (np.geomspace(0.05, 1.0, 9) * (nll.max() - nll_min) * 0.6)
    ax.contour(W1, W2, nll, levels=levels, colors="0.6", linewidths=0.8)
    for w_hat, color, gid in ((w_l1, _L1_COLOR, "contour-map-l1"),
                              (w_l2, _L2_COLOR, "contour-map-l2")):
        cs = ax.contour(W1, W2, nll, levels=[-m1.log_likelihood(w_hat)], colors=color,
                        linewidths=1.2, linestyles="--")
        cs.set_gid(gid)

    _draw_balls_and_maps(ax, w_l1, w_l2, w_mle, laplace, gaussian)
    ax.axhline(0.0, color="k", lw=0.6)
    ax.axvline(0.0, color="k", lw=0.6)
    ax.set_xlim(-half, half)
    ax.set_ylim(-half, half)
    ax.set_aspect("equal")
    ax.set_xlabel("w1")
    ax.set_ylabel("w2")
    ax.set_title("Loss contours meet the L1 diamond at a corner, the L2 disc anywhere")
    ax.legend(loc="lower left", fontsize="small", framealpha=0.9)
    return fig
