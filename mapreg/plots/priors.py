"""Prior densities beside their penalties, and the penalties' shrinkage forces."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mapreg.plots._common import _L1_COLOR, _L2_COLOR, _panels
from mapreg.priors import Prior, prior_class

# --- 1. prior vs penalty ---------------------------------------------------------------

# The penalties mapreg ships, each drawn from its own formula (not from a prior's
# log-density), keyed by the penalty's name; any other penalty is drawn from its own
# ``value``, point by point.
_FORMULAS = {
    "l1": lambda w, q: (q["lam"] * np.abs(w), "λ|w|", f"λ = {q['lam']:.3g}"),
    "l2": lambda w, q: (q["lam"] * w**2, "λw²", f"λ = {q['lam']:.3g}"),
    "bridge": lambda w, q: (q["lam"] * np.abs(w) ** q["p"], f"λ|w|^{q['p']:g}",
                            f"λ = {q['lam']:.3g}"),
    "elasticnet": lambda w, q: (q["lam"] * np.abs(w) + q["lam2"] * w**2, "λ₁|w| + λ₂w²",
                                f"λ₁ = {q['lam']:.3g}, λ₂ = {q['lam2']:.3g}"),
    "log": lambda w, q: (q["lam"] * np.log1p(w**2 / q["delta"]), "λ log(1 + w²/δ)",
                         f"λ = {q['lam']:.3g}, δ = {q['delta']:.3g}"),
}


def _penalty_curve(penalty, w):
    """``pen(w)`` over the grid ``w``, how to write it, and its numbers."""
    from mapreg.fit.path import penalty_numbers

    numbers = penalty_numbers(penalty)
    if penalty.name in _FORMULAS:
        return _FORMULAS[penalty.name](w, numbers)
    values = np.array([penalty.value(np.array([x])) for x in w])
    return (values, f"pen(w) [{penalty.name}]",
            ", ".join(f"{k} = {v:.3g}" for k, v in numbers.items()))


def _draw_column(top, bottom, prior, w, color):
    """Density on top; below, the penalty, ``-log p - log Z`` over it and ``-log p``."""
    name = repr(prior)
    with np.errstate(divide="ignore"):
        logpdf = prior.logpdf(w)
    top.plot(w, np.exp(logpdf), color=color, lw=2, gid="density", label=name)
    top.fill_between(w, np.exp(logpdf), color=color, alpha=0.15)
    top.set_ylabel("prior density p(w)")
    top.set_title(name, fontsize="small")
    finite = np.isfinite(logpdf)
    neg_logpdf = -logpdf
    bottom.set_xlabel("weight w")
    bottom.set_ylabel("penalty / negative log-density")
    if not prior.has_mode:
        # no penalty dual: draw -log p itself, which dives to -inf at 0
        bottom.plot(w[finite], neg_logpdf[finite], color="0.5", ls=":", lw=1.5,
                    gid="neg-logpdf", label="−log p(w): −∞ at 0")
        bottom.set_title("no penalty: −log p → −∞ at w = 0", fontsize="small")
        bottom.legend(loc="upper center", fontsize="small")
        return
    pen, pen_txt, numbers = _penalty_curve(prior.penalty(), w)
    log_z = prior.log_normalizer
    bottom.plot(w, pen, color=color, lw=5, alpha=0.35, gid="penalty",
                label=f"penalty {pen_txt}")
    bottom.plot(w, neg_logpdf - log_z, color="k", ls="--", lw=1.5,
                gid="neg-logpdf-shifted", label=f"−log p(w) − log Z (log Z = {log_z:.3g})")
    bottom.plot(w, neg_logpdf, color="0.5", ls=":", lw=1.5, gid="neg-logpdf",
                label="−log p(w)")
    kind = "" if prior.convex else ", non-convex"
    bottom.set_title(f"−log p(w) = {pen_txt} + log Z: {numbers}{kind}", fontsize="small")
    bottom.legend(loc="upper center", fontsize="x-small")
    bottom.set_ylim(min(0.0, float(np.min(neg_logpdf[finite]))) - 0.2,
                    float(np.max(neg_logpdf[finite])) * 1.25)


def prior_vs_penalty(laplace: Prior | None = None, gaussian: Prior | None = None, *,
                     priors: Sequence[Prior] | None = None, w_max: float | None = None,
                     fig=None):
    """Prior densities beside their penalties: ``-log p(w) - log Z`` *is* the penalty.

    One column per prior. Top: the density. Bottom: the penalty from its own formula
    (``lam |w|``, ``lam w**2``, ``lam |w|**p``, ...; any other penalty from its
    ``value``; thick) with the prior's negative log-density shifted by its normaliser
    ``log Z`` drawn over it (dashed; the curves coincide) and the unshifted
    ``-log p(w)`` (dotted) for reference. A prior without a mode (the horseshoe) has no
    penalty: its column shows only ``-log p(w)``, infinite at 0.

    Parameters
    ----------
    laplace : Prior, optional
        The classic pair's L1 column; default ``Laplace(b=1)``.
    gaussian : Prior, optional
        The pair's L2 column; default the Gaussian with the same ``lam`` as ``laplace``
        (``sigma = sqrt(b / 2)``), so both penalties carry the same weight.
    priors : sequence of Prior, optional
        Instead of the pair, any registered priors, one column each.
    w_max : float, optional
        Half-width of the ``w`` axis (default three times the widest prior's
        :func:`~mapreg.fit.path.prior_spread`, a Gaussian's sd).
    fig : Figure, optional
        An empty figure to draw the 2 x len(priors) panels into.

    Returns
    -------
    Figure
        Line gids per column: ``"density"``, ``"penalty"``, ``"neg-logpdf-shifted"``,
        ``"neg-logpdf"``.
    """
    import matplotlib.pyplot as plt

    from mapreg.fit.path import prior_spread

    if priors is not None:
        if laplace is not None or gaussian is not None:
            raise ValueError("give either laplace/gaussian or priors=[...], not both")
        priors, colors = list(priors), None
    else:
        laplace = prior_class("laplace")(1.0) if laplace is None else laplace
        gaussian = prior_class("gaussian").from_lam(laplace.lam) if gaussian is None else gaussian
        priors, colors = [laplace, gaussian], [_L1_COLOR, _L2_COLOR]
    if not priors:
        raise ValueError("priors must name at least one prior")
    colors = colors or [f"C{i}" for i in range(len(priors))]
    if w_max is None:
        w_max = 3.0 * max(prior_spread(p) for p in priors)
    w = np.linspace(-w_max, w_max, 801)
    if fig is None:
        fig = plt.figure(figsize=(max(3.6 * len(priors), 9.0), 6), layout="constrained")
    elif fig.axes:
        raise ValueError("fig must be empty: the panels are added to it")
    axes = fig.subplots(2, len(priors), sharex=True, squeeze=False)
    for col, prior in enumerate(priors):
        _draw_column(axes[0, col], axes[1, col], prior, w, colors[col])
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
    laplace, gaussian = prior_class("laplace").from_lam(lam), prior_class("gaussian").from_lam(lam)
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
    right.plot(z, laplace.penalty().prox_1d(z, 1.0), color=_L1_COLOR, lw=2.5, gid="map-l1",
               label=f"Laplace(b={laplace.b:.3g}): soft-threshold")
    right.plot(z, gaussian.penalty().prox_1d(z, 1.0), color=_L2_COLOR, lw=2.5, gid="map-l2",
               label=f"Gaussian(σ={gaussian.sigma:.3g}): z / (1 + 2λ)")
    right.set_xlabel("data z (least-squares estimate)")
    right.set_ylabel("MAP of  (w − z)²/2 + λ pen(w)")
    right.set_title("1-D MAP: L1 zeroes small z, L2 only shrinks")
    right.legend(loc="upper left", fontsize="small")
    return fig
