"""Which λ? The cross-validation curve with λ chosen four ways marked on it.

Draws a :class:`mapreg.fit.cv.LambdaChoices` record (given a ``Model``,
:func:`lambda_choices` computes it first with :func:`mapreg.fit.cv.lambda_choices`).
"""

from __future__ import annotations

import numpy as np

from mapreg.plots._common import _single_ax

__all__ = ["lambda_choices"]

#: colour and line style of each method's marker
_STYLE = {"cv-min": ("tab:blue", "-"), "cv-1se": ("tab:cyan", "--"),
          "empirical-bayes": ("tab:red", "-."), "hyperprior": ("tab:green", ":")}


def lambda_choices(choices, ax=None, *, figsize=(7.0, 4.2), **kwargs):
    """The CV curve (mean ± 1 se over folds) against ``lam``, with each choice marked.

    Parameters
    ----------
    choices : LambdaChoices or Model
        From :func:`mapreg.fit.cv.lambda_choices`; a ``Model`` is passed to it with
        ``kwargs``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Artists' ``gid``: ``"cv-curve"``, ``"choice:<method>"`` (a vertical line per row of
        ``choices.table``), ``"hyperprior-interval"`` (the posterior's 90% band of ``lam``).
    """
    from mapreg.fit.cv import LambdaChoices
    from mapreg.fit.cv import lambda_choices as compute

    if not isinstance(choices, LambdaChoices):
        choices = compute(choices, **kwargs)
    elif kwargs:
        raise TypeError(f"unexpected arguments with a LambdaChoices record: {sorted(kwargs)}")
    cv, table = choices.cv, choices.table
    fig, ax = _single_ax(ax, figsize)
    curve = ax.errorbar(cv.lambdas, cv.mean, yerr=cv.se, color="0.3", ecolor="0.75",
                        lw=1.5, elinewidth=0.8, capsize=0, label=f"{cv.n_folds}-fold CV")
    curve.lines[0].set_gid("cv-curve")
    ax.set_xscale("log")
    for method, row in table.iterrows():
        color, style = _STYLE.get(method, ("0.5", "-"))
        if method == "hyperprior" and np.isfinite(row["lower"]):
            span = ax.axvspan(row["lower"], row["upper"], color=color, alpha=0.12, lw=0)
            span.set_gid("hyperprior-interval")
        line = ax.axvline(row["lam"], color=color, ls=style, lw=1.6,
                          label=f"{method}: λ = {row['lam']:.3g} ({row['n_nonzero']} nonzero)")
        line.set_gid(f"choice:{method}")
    ax.set_xlabel("penalty λ of L + λ pen  (more shrinkage, smaller prior scale →)")
    ax.set_ylabel(f"held-out mean {cv.score}")
    ax.set_title(f"Which λ? {type(cv.prior).__name__} prior")
    ax.legend(fontsize="small", loc="best")
    return fig
