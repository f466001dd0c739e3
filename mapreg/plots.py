"""Pictures of the prior <-> penalty equivalence, and of what the mode hides.

Every function draws with matplotlib and returns the :class:`~matplotlib.figure.Figure`
it drew on; none calls ``plt.show()``. Single-panel functions take an optional
``ax`` to draw into; multi-panel ones take an optional empty ``fig``. Without
either, a new figure is created through ``pyplot`` (so it shows inline in a
notebook).

The drawn artists carry a ``gid`` (``line.get_gid()``) naming what they are,
e.g. ``"penalty"``, ``"map-path:bmi"`` or ``"map:bmi"``, so that tests and
users can find a curve and read its data back.

=========================  ====================================================
function                   shows
=========================  ====================================================
:func:`prior_vs_penalty`   ``-log p(w) - log Z`` of Laplace / Gaussian equals
                           ``lam |w|`` / ``lam w**2``
:func:`shrinkage_force`    the penalties' (sub)gradients and the 1-D MAP they give:
                           soft-thresholding vs proportional shrinkage
:func:`constraint_geometry`  2-D loss contours, the L1 diamond and L2 disc,
                           the two MAP points
:func:`map_path`           MAP path = penalised path (= scikit-learn's path)
                           over prior scales
:func:`posterior_vs_mode`  posterior marginals with the MAP and zero marked
:func:`posterior_median_path`  posterior medians over prior scales beside the
                           MAP path (Park & Casella 2008, Fig. 1 style)
=========================  ====================================================
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from mapreg.map_estimate import find_map
from mapreg.model import Model
from mapreg.penalized import penalized_fit
from mapreg.priors import Gaussian, Laplace, Prior

__all__ = [
    "constraint_geometry",
    "map_path",
    "posterior_median_path",
    "posterior_vs_mode",
    "prior_vs_penalty",
    "shrinkage_force",
]

_L1_COLOR = "tab:red"
_L2_COLOR = "tab:blue"


# --- figure plumbing -------------------------------------------------------------------

def _single_ax(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _panels(fig, ncols, figsize, sharey=False):
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=figsize, layout="constrained")
    elif fig.axes:
        raise ValueError("fig must be empty: the panels are added to it")
    axes = fig.subplots(1, ncols, sharey=sharey, squeeze=False)[0]
    return fig, axes


# Each prior kind: its scale's name, how to read and replace that scale, and the penalty
# weight as a function of the scale (for the top axis). The wider family moves along one
# scale: GeneralizedNormal alpha (p fixed), ElasticNet b (sigma moved so that lam2/lam
# stays fixed, i.e. scikit-learn's l1_ratio is constant), StudentT s (nu fixed).
def _kind(prior) -> str:
    from mapreg.priors_family import ElasticNet, GeneralizedNormal, StudentT

    for cls, name in ((Laplace, "laplace"), (Gaussian, "gaussian"),
                      (GeneralizedNormal, "gn"), (ElasticNet, "en"), (StudentT, "t")):
        if isinstance(prior, cls):
            return name
    raise ValueError(f"plots know Laplace, Gaussian, GeneralizedNormal, ElasticNet and "
                     f"StudentT priors (the horseshoe has no penalty), got {prior!r}")


def _scale_name(prior: Prior) -> str:
    return {"laplace": "b", "gaussian": "σ", "gn": "α", "en": "b", "t": "s"}[_kind(prior)]


def _lam_formula(prior: Prior) -> str:
    kind = _kind(prior)
    if kind == "gn":
        return f"α^(−{prior.p:g})"
    return {"laplace": "1/b", "gaussian": "1/(2σ²)", "en": "1/b", "t": "(ν+1)/2"}[kind]


_SCALE_ATTR = {"laplace": "b", "gaussian": "sigma", "gn": "alpha", "en": "b", "t": "s"}


def _scale_of(prior: Prior) -> float:
    return float(getattr(prior, _SCALE_ATTR[_kind(prior)]))


def _prior_with_scale(prior: Prior, scale: float) -> Prior:
    """The same kind of prior moved to ``scale`` along its one-parameter family."""
    from mapreg.priors_family import ElasticNet, GeneralizedNormal, StudentT

    scale = float(scale)
    kind = _kind(prior)
    if kind == "gn":
        return GeneralizedNormal(scale, prior.p)
    if kind == "en":
        return ElasticNet(scale, prior.sigma * np.sqrt(scale / prior.b))
    if kind == "t":
        return StudentT(prior.nu, scale)
    return type(prior)(scale)


def _lam_of_scale(prior, scale):
    """The penalty weight on the top axis: ``lam`` (``delta = nu s**2`` for Student-t)."""
    scale = np.asarray(scale, dtype=float)
    if isinstance(prior, type):  # a class: Laplace or Gaussian
        return 1.0 / scale if prior is Laplace else 1.0 / (2.0 * scale**2)
    kind = _kind(prior)
    if kind in ("laplace", "en"):
        return 1.0 / scale
    if kind == "gaussian":
        return 1.0 / (2.0 * scale**2)
    if kind == "gn":
        return scale ** (-prior.p)
    return prior.nu * scale**2


def _scale_of_lam(prior, lam):
    lam = np.asarray(lam, dtype=float)
    if isinstance(prior, type):
        return 1.0 / lam if prior is Laplace else 1.0 / np.sqrt(2.0 * lam)
    kind = _kind(prior)
    if kind in ("laplace", "en"):
        return 1.0 / lam
    if kind == "gaussian":
        return 1.0 / np.sqrt(2.0 * lam)
    if kind == "gn":
        return lam ** (-1.0 / prior.p)
    return np.sqrt(lam / prior.nu)


def _top_axis_label(prior) -> str:
    kind = _kind(prior)
    if kind == "t":
        return "penalty δ = νs² in (ν+1)/2·log(1 + w²/δ)"
    if kind == "en":
        return "penalty λ₁ = 1/b (λ₂/λ₁ fixed)"
    return f"penalty λ = {_lam_formula(prior)}"


def _with_scale(model: Model, scale: float) -> Model:
    """``model`` with its prior replaced by the same kind of prior at ``scale``."""
    return Model(model.X, model.y, prior=_prior_with_scale(model.prior, scale),
                 family=model.family, fit_intercept=model.fit_intercept,
                 feature_names=model.feature_names)


def _add_lam_axis(ax, prior):
    """A top x-axis in ``lam`` for a bottom axis in prior scale (both log scale)."""
    def forward(s):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _lam_of_scale(prior, s)

    def inverse(lam):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _scale_of_lam(prior, lam)

    # No set_xscale here: the secondary axis inherits the log scale through the functions
    # (setting it again would drop the reversal 1/b introduces).
    top = ax.secondary_xaxis("top", functions=(forward, inverse))
    top.set_xlabel(_top_axis_label(prior) if not isinstance(prior, type)
                   else f"penalty λ = {'1/b' if prior is Laplace else '1/(2σ²)'}")
    return top


def default_scales(model: Model, num: int = 30) -> np.ndarray:
    """A log-spaced grid of prior scales covering the interesting part of the path.

    Laplace: from ``b = 1/lam_max`` (every coefficient zero; ``lam_max`` is the
    largest ``|dL/dw_j|`` at the intercept-only fit) up to ``1000/lam_max``.
    Gaussian: ``lam`` from 100 to 0.01 times the mean curvature ``sum_i L''_i x_ij**2``
    of the loss at the null model, where the shrinkage goes from nearly total
    to nearly none.
    """
    fam, X, y = model.family, model.X, model.y
    c0 = fam.initial_intercept(y) if model.fit_intercept else 0.0
    eta0 = np.full(len(y), c0)
    kind = _kind(model.prior)
    if kind in ("laplace", "en"):
        lam_max = float(np.max(np.abs(X.T @ fam.dloss(eta0, y))))
        if lam_max <= 0.0:
            raise ValueError("the loss gradient is zero at the null model: no lasso path")
        lam = lam_max * np.geomspace(1.0, 1e-3, num)
        return np.sort(1.0 / lam)
    h = float(np.mean(fam.d2loss(eta0, y) @ X**2))
    lam = h * np.geomspace(1e2, 1e-2, num)
    sd = 1.0 / np.sqrt(2.0 * lam)  # the Gaussian prior sd of each grid point
    if kind == "gn":
        # the generalized normal of the same standard deviation
        p = model.prior.p
        return np.sort(sd / np.sqrt(math.gamma(3.0 / p) / math.gamma(1.0 / p)))
    return np.sort(sd)  # Gaussian sigma, Student-t s


# --- 1. prior vs penalty ---------------------------------------------------------------

def _penalty_curve(name: str, params: dict, w):
    """A penalty from its own formula (not from a prior's log-density), and its label."""
    lam = params["lam"]
    if name == "l1":
        return lam * np.abs(w), "λ|w|", f"λ = {lam:.3g}"
    if name == "l2":
        return lam * w**2, "λw²", f"λ = {lam:.3g}"
    if name == "bridge":
        p = params["p"]
        return lam * np.abs(w) ** p, f"λ|w|^{p:g}", f"λ = {lam:.3g}"
    if name == "elasticnet":
        lam2 = params["lam2"]
        return (lam * np.abs(w) + lam2 * w**2, "λ₁|w| + λ₂w²",
                f"λ₁ = {lam:.3g}, λ₂ = {lam2:.3g}")
    if name == "log":
        delta = params["delta"]
        return (lam * np.log1p(w**2 / delta), "λ log(1 + w²/δ)",
                f"λ = {lam:.3g}, δ = {delta:.3g}")
    raise ValueError(f"no penalty formula for {name!r}")


def _prior_sd(prior) -> float:
    """Standard deviation (for the default axis width); the scale for heavy tails."""
    kind = _kind(prior)
    if kind == "laplace":
        return math.sqrt(2.0) * prior.b
    if kind == "gaussian":
        return prior.sigma
    if kind == "gn":
        return prior.alpha * math.sqrt(math.gamma(3.0 / prior.p) / math.gamma(1.0 / prior.p))
    if kind == "en":
        return min(math.sqrt(2.0) * prior.b, prior.sigma)
    return 2.0 * prior.s


def _prior_vs_penalty_family(priors, w_max, fig):
    """One column per prior: density on top, penalty vs shifted ``-log p`` below."""
    import matplotlib.pyplot as plt

    from mapreg.priors_family import Horseshoe

    priors = list(priors)
    if not priors:
        raise ValueError("priors must name at least one prior")
    if w_max is None:
        w_max = 3.0 * max(_prior_sd(p) if not isinstance(p, Horseshoe) else 2.0 * p.scale
                          for p in priors)
    w = np.linspace(-w_max, w_max, 801)
    if fig is None:
        fig = plt.figure(figsize=(3.6 * len(priors), 6), layout="constrained")
    elif fig.axes:
        raise ValueError("fig must be empty: the panels are added to it")
    axes = fig.subplots(2, len(priors), sharex=True, squeeze=False)
    colors = [f"C{i}" for i in range(len(priors))]
    for col, prior in enumerate(priors):
        top, bottom = axes[0, col], axes[1, col]
        name = repr(prior)
        with np.errstate(divide="ignore"):
            logpdf = prior.logpdf(w)
        top.plot(w, np.exp(logpdf), color=colors[col], lw=2, gid="density", label=name)
        top.fill_between(w, np.exp(logpdf), color=colors[col], alpha=0.15)
        top.set_ylabel("prior density p(w)")
        top.set_title(name, fontsize="small")
        finite = np.isfinite(logpdf)
        neg_logpdf = -logpdf
        bottom.set_xlabel("weight w")
        bottom.set_ylabel("penalty / negative log-density")
        if not prior.has_mode:
            # no penalty dual: draw -log p itself, which dives to -inf at 0
            bottom.plot(w[finite], neg_logpdf[finite], color="0.5", ls=":", lw=1.5,
                        gid="neg-logpdf", label="−log p(w | τ): −∞ at 0")
            bottom.set_title("no penalty: −log p → −∞ at w = 0", fontsize="small")
            bottom.legend(loc="upper center", fontsize="small")
            continue
        pen_name, params = prior.penalty_spec()
        pen, pen_txt, lam_txt = _penalty_curve(pen_name, params, w)
        log_z = prior.log_normalizer
        bottom.plot(w, pen, color=colors[col], lw=5, alpha=0.35, gid="penalty",
                    label=f"penalty {pen_txt}")
        bottom.plot(w, neg_logpdf - log_z, color="k", ls="--", lw=1.5,
                    gid="neg-logpdf-shifted", label=f"−log p(w) − log Z (log Z = {log_z:.3g})")
        bottom.plot(w, neg_logpdf, color="0.5", ls=":", lw=1.5, gid="neg-logpdf",
                    label="−log p(w)")
        kind = "" if prior.convex else ", non-convex"
        bottom.set_title(f"{pen_txt}: {lam_txt}{kind}", fontsize="small")
        bottom.legend(loc="upper center", fontsize="x-small")
        bottom.set_ylim(min(0.0, float(np.min(neg_logpdf))) - 0.2,
                        float(np.max(neg_logpdf)) * 1.25)
    return fig


def prior_vs_penalty(laplace: Laplace | None = None, gaussian: Gaussian | None = None, *,
                     priors: Sequence[Prior] | None = None, w_max: float | None = None,
                     fig=None):
    """Prior densities beside their penalties: ``-log p(w) - log Z`` *is* the penalty.

    Top row: the Laplace and Gaussian densities. Bottom row: the penalty
    (``lam |w|`` and ``lam w**2``, thick) with the prior's negative log-density
    shifted by its normaliser ``log Z`` drawn over it (dashed; the curves
    coincide) and the unshifted ``-log p(w)`` (dotted) for reference.

    Parameters
    ----------
    laplace : Laplace, optional
        Default ``Laplace(b=1)``.
    gaussian : Gaussian, optional
        Default: the Gaussian with the same ``lam`` as ``laplace``
        (``sigma = sqrt(b / 2)``), so both penalties carry the same weight.
    priors : sequence of Prior, optional
        Instead of the Laplace/Gaussian pair, any priors of the family
        (``GeneralizedNormal``, ``ElasticNet``, ``StudentT``, ``Horseshoe``, ...), one
        column each. Each penalty is drawn from its own formula with the numbers of
        ``prior.penalty_spec()``; the horseshoe, which has none, shows only
        ``-log p(w | tau)`` (infinite at 0).
    w_max : float, optional
        Half-width of the ``w`` axis (default three times the larger prior sd).
    fig : Figure, optional
        An empty figure to draw the 2 x 2 (or 2 x len(priors)) panels into.

    Returns
    -------
    Figure
        Line gids per column: ``"density"``, ``"penalty"``, ``"neg-logpdf-shifted"``,
        ``"neg-logpdf"``.
    """
    import matplotlib.pyplot as plt

    if priors is not None:
        if laplace is not None or gaussian is not None:
            raise ValueError("give either laplace/gaussian or priors=[...], not both")
        return _prior_vs_penalty_family(priors, w_max, fig)
    laplace = Laplace(1.0) if laplace is None else laplace
    gaussian = Gaussian.from_lam(laplace.lam) if gaussian is None else gaussian
    if w_max is None:
        w_max = 3.0 * max(np.sqrt(2.0) * laplace.b, gaussian.sigma)
    w = np.linspace(-w_max, w_max, 801)
    if fig is None:
        fig = plt.figure(figsize=(9, 6), layout="constrained")
    elif fig.axes:
        raise ValueError("fig must be empty: the panels are added to it")
    axes = fig.subplots(2, 2, sharex=True)
    cases = [
        (laplace, _L1_COLOR, f"Laplace(b={laplace.b:.3g})", "λ|w|", "λ = 1/b"),
        (gaussian, _L2_COLOR, f"Gaussian(σ={gaussian.sigma:.3g})", "λw²",
         "λ = 1/(2σ²)"),
    ]
    for col, (prior, color, name, pen_txt, lam_txt) in enumerate(cases):
        top, bottom = axes[0, col], axes[1, col]
        top.plot(w, np.exp(prior.logpdf(w)), color=color, lw=2, gid="density", label=name)
        top.fill_between(w, np.exp(prior.logpdf(w)), color=color, alpha=0.15)
        top.set_ylabel("prior density p(w)")
        top.set_title(f"{name} prior")
        top.legend(loc="upper right")
        lam = prior.lam
        # The penalty from its own formula, not from the prior's log-density.
        pen = lam * (np.abs(w) if isinstance(prior, Laplace) else w**2)
        neg_logpdf = -prior.logpdf(w)
        bottom.plot(w, pen, color=color, lw=5, alpha=0.35, gid="penalty",
                    label=f"penalty {pen_txt}, {lam_txt} = {lam:.3g}")
        bottom.plot(w, neg_logpdf - prior.log_normalizer, color="k", ls="--", lw=1.5,
                    gid="neg-logpdf-shifted", label=f"−log p(w) − log Z  (log Z = "
                    f"{prior.log_normalizer:.3g})")
        bottom.plot(w, neg_logpdf, color="0.5", ls=":", lw=1.5, gid="neg-logpdf",
                    label="−log p(w)")
        bottom.set_xlabel("weight w")
        bottom.set_ylabel("penalty / negative log-density")
        bottom.set_title(f"−log p(w) = {pen_txt} + log Z with {lam_txt} = {lam:.3g}")
        bottom.legend(loc="upper center", fontsize="small")
        bottom.set_ylim(min(0.0, float(np.min(neg_logpdf))) - 0.2,
                        float(np.max(neg_logpdf)) * 1.25)
    return fig


# --- 2. shrinkage force ----------------------------------------------------------------

def shrinkage_force(lam: float = 1.0, *, z_max: float | None = None, fig=None):
    """Why L1 zeroes small weights and L2 only shrinks them.

    Left: the (sub)gradient of each penalty, the "force" pulling a weight to
    zero: ``lam sign(w)`` for L1, a constant-size pull that at ``w = 0`` becomes
    the whole interval ``[-lam, lam]`` (drawn as a vertical segment), versus
    ``2 lam w`` for L2, which fades as ``w`` approaches zero. Right: the MAP of
    the one-dimensional problem ``min_w (w - z)**2 / 2 + lam pen(w)`` as a
    function of the data ``z`` (the least-squares estimate): soft-thresholding,
    exactly zero for ``|z| <= lam``, versus the proportional shrinkage
    ``z / (1 + 2 lam)`` that is never zero unless ``z`` is.

    Parameters
    ----------
    lam : float
        Penalty weight of both penalties (Laplace ``b = 1/lam``, Gaussian
        ``sigma = 1/sqrt(2 lam)``).
    z_max : float, optional
        Half-width of the axes (default ``3 lam``, at least 1).
    fig : Figure, optional
        An empty figure to draw the two panels into.

    Returns
    -------
    Figure
        Left gids: ``"grad-l1"`` (two pieces), ``"subdiff-l1"``, ``"grad-l2"``;
        right: ``"map-l1"``, ``"map-l2"``, ``"identity"``.
    """
    laplace, gaussian = Laplace.from_lam(lam), Gaussian.from_lam(lam)
    z_max = max(3.0 * lam, 1.0) if z_max is None else float(z_max)
    fig, (left, right) = _panels(fig, 2, (10, 4.2))
    w_neg = np.linspace(-z_max, 0.0, 200, endpoint=False)
    w_pos = -w_neg[::-1]
    left.plot(w_neg, np.full_like(w_neg, -lam), color=_L1_COLOR, lw=2.5, gid="grad-l1",
              label=f"L1: d/dw λ|w| = λ sign(w)   (λ = {lam:g})")
    left.plot(w_pos, np.full_like(w_pos, lam), color=_L1_COLOR, lw=2.5, gid="grad-l1")
    left.plot([0.0, 0.0], [-lam, lam], color=_L1_COLOR, lw=2.5, ls=(0, (1, 1)),
              gid="subdiff-l1", label="L1 subdifferential at 0: [−λ, λ]")
    w = np.linspace(-z_max, z_max, 401)
    left.plot(w, 2.0 * lam * w, color=_L2_COLOR, lw=2.5, gid="grad-l2",
              label="L2: d/dw λw² = 2λw")
    left.axhline(0.0, color="0.6", lw=0.8)
    left.axvline(0.0, color="0.6", lw=0.8)
    left.set_ylim(-2.2 * lam, 2.2 * lam)
    left.set_xlabel("weight w")
    left.set_ylabel("pull towards zero  d pen / dw")
    left.set_title("Penalty gradient: constant pull (L1), fading pull (L2)")
    left.legend(loc="upper left", fontsize="small")

    z = np.linspace(-z_max, z_max, 801)
    # The one-dimensional MAP is the proximal operator of -log p with unit step.
    right.axvspan(-lam, lam, color=_L1_COLOR, alpha=0.08, label="|z| ≤ λ: L1 MAP is exactly 0")
    right.plot(z, z, color="0.5", ls=":", lw=1.2, gid="identity", label="no prior: w = z")
    right.plot(z, laplace.prox(z, 1.0), color=_L1_COLOR, lw=2.5, gid="map-l1",
               label=f"Laplace(b={laplace.b:.3g}): soft-threshold")
    right.plot(z, gaussian.prox(z, 1.0), color=_L2_COLOR, lw=2.5, gid="map-l2",
               label=f"Gaussian(σ={gaussian.sigma:.3g}): z / (1 + 2λ)")
    right.set_xlabel("data z (least-squares estimate)")
    right.set_ylabel("MAP of  (w − z)²/2 + λ pen(w)")
    right.set_title("1-D MAP: L1 zeroes small z, L2 only shrinks")
    right.legend(loc="upper left", fontsize="small")
    return fig


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


def constraint_geometry(X=None, y=None, *, laplace: Laplace | None = None,
                        gaussian: Gaussian | None = None, noise_sigma: float = 1.0,
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
    laplace = Laplace(0.02) if laplace is None else laplace
    gaussian = Gaussian(0.12) if gaussian is None else gaussian
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

    t1 = float(np.sum(np.abs(w_l1)))
    ax.fill([t1, 0, -t1, 0], [0, t1, 0, -t1], color=_L1_COLOR, alpha=0.12)
    ax.plot([t1, 0, -t1, 0, t1], [0, t1, 0, -t1, 0], color=_L1_COLOR, lw=2, gid="l1-ball",
            label=f"L1 ball |w1|+|w2| ≤ {t1:.3g}  (Laplace b = {laplace.b:.3g})")
    r2 = float(np.linalg.norm(w_l2))
    th = np.linspace(0, 2 * np.pi, 361)
    ax.fill(r2 * np.cos(th), r2 * np.sin(th), color=_L2_COLOR, alpha=0.12)
    ax.plot(r2 * np.cos(th), r2 * np.sin(th), color=_L2_COLOR, lw=2, gid="l2-ball",
            label=f"L2 ball w1²+w2² ≤ {r2**2:.3g}  (Gaussian σ = {gaussian.sigma:.3g})")
    ax.plot(*w_mle, "k+", ms=14, mew=2, gid="mle", label="maximum likelihood (no prior)")
    ax.plot(*w_l1, "o", color=_L1_COLOR, mec="k", ms=10, gid="map-l1",
            label=f"Laplace MAP ({w_l1[0]:.3g}, {w_l1[1]:.3g})")
    ax.plot(*w_l2, "s", color=_L2_COLOR, mec="k", ms=9, gid="map-l2",
            label=f"Gaussian MAP ({w_l2[0]:.3g}, {w_l2[1]:.3g})")
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


# --- 4. MAP path -----------------------------------------------------------------------

def _map_coefs(model: Model, scales) -> np.ndarray:
    return np.array([find_map(_with_scale(model, s)).coef for s in scales])


def _sklearn_path(model: Model, scales):
    """scikit-learn's coefficients along ``scales``, or ``(None, why)``."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return None, "scikit-learn not installed"
    from mapreg import conversions

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


def _feature_colors(p):
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10" if p <= 10 else "tab20"]
    return [cmap(j % cmap.N) for j in range(p)]


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
    coincide. scikit-learn's fit through :mod:`mapreg.conversions` is overlaid
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
    pen_name = prior_cls.penalty_name
    coefs_pen = []
    for s in scales:
        # the penalised side gets only the numbers (lam, p, lam2, delta) at this scale
        name, params = _prior_with_scale(model.prior, s).penalty_spec()
        coefs_pen.append(penalized_fit(model.X, model.y, penalty=name, **params,
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


def _proxy(**kwargs):
    from matplotlib.lines import Line2D

    return Line2D([], [], **kwargs)


# --- 5. posterior vs mode --------------------------------------------------------------

def _coef_draws(idata):
    """Posterior coefficient draws as ``(draws, features)`` and the feature names."""
    coef = idata["posterior"]["coef"]
    sample_dims = [d for d in ("chain", "draw") if d in coef.dims]
    feat_dims = [d for d in coef.dims if d not in sample_dims]
    if len(feat_dims) != 1:
        raise ValueError(f"posterior coef must have one coefficient dimension, got {coef.dims}")
    (fdim,) = feat_dims
    values = coef.transpose(*sample_dims, fdim).values.reshape(-1, coef.sizes[fdim])
    names = [str(v) for v in coef[fdim].values] if fdim in coef.coords else [
        f"x{j}" for j in range(coef.sizes[fdim])]
    return values, names


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
