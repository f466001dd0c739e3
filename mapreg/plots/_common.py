"""Figure plumbing shared by the plot modules: panels, colours, the penalty axis."""

from __future__ import annotations

import numpy as np

from mapreg.posterior.paths import coef_draws as _coef_draws  # noqa: F401 (plot modules)

_L1_COLOR = "tab:red"
_L2_COLOR = "tab:blue"


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


def _scale_label(prior) -> str:
    """``"prior scale b (Laplace)"``: the bottom axis of a path over prior scales."""
    return f"prior scale {prior.scale_symbol} ({type(prior).__name__})"


def _add_penalty_axis(ax, prior):
    """A top x-axis in the penalty parameter that moves with the scale (log scale).

    That is ``lam`` for most priors (``1/b``, ``1/(2 sigma**2)``, ``alpha**-p``) and
    ``delta = nu s**2`` for the Student-t, whose ``lam`` stays fixed
    (:func:`mapreg.fit.path.scale_law`, returned). No axis, and ``None``, when nothing
    moves as a power of the scale.
    """
    from mapreg.fit.path import scale_law

    law = scale_law(prior)
    if law is None:
        return None

    def forward(s):
        with np.errstate(divide="ignore", invalid="ignore"):
            return law(s)

    def inverse(v):
        with np.errstate(divide="ignore", invalid="ignore"):
            return law.inverse(v)

    # No set_xscale here: the secondary axis inherits the log scale through the functions
    # (setting it again would drop the reversal a negative power introduces).
    top = ax.secondary_xaxis("top", functions=(forward, inverse))
    top.set_xlabel(law.label(prior.scale_symbol))
    return law


def _feature_colors(p):
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10" if p <= 10 else "tab20"]
    return [cmap(j % cmap.N) for j in range(p)]


def _proxy(**kwargs):
    from matplotlib.lines import Line2D

    return Line2D([], [], **kwargs)
