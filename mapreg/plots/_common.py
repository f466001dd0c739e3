"""Figure plumbing and prior-scale helpers shared by the plot modules."""

from __future__ import annotations

import math

import numpy as np

from mapreg.model import Model
from mapreg.priors import Laplace, Prior

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
    kinds = {"laplace": "laplace", "gaussian": "gaussian", "bridge": "gn", "elasticnet": "en",
             "student-t": "t", "cauchy": "t"}
    if prior.name in kinds:
        return kinds[prior.name]
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
    return prior.with_scale(float(scale))


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


def _feature_colors(p):
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10" if p <= 10 else "tab20"]
    return [cmap(j % cmap.N) for j in range(p)]


def _proxy(**kwargs):
    from matplotlib.lines import Line2D

    return Line2D([], [], **kwargs)


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
