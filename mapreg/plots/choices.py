"""Which λ? The cross-validation curve with λ chosen four ways marked on it. Which prior?
The leave-one-out elpd of each prior with its standard error.

:func:`lambda_choices` draws a :class:`mapreg.fit.cv.LambdaChoices` record (given a
``Model``, it computes it first with :func:`mapreg.fit.cv.lambda_choices`);
:func:`prior_comparison` draws the table of :func:`mapreg.compare_priors`.
"""

from __future__ import annotations

import numpy as np

from mapreg.plots._common import _single_ax

__all__ = ["lambda_choices", "prior_comparison"]

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


def prior_comparison(table, ax=None, *, figsize=None):
    """Each prior's PSIS-LOO ``elpd`` ± ``se`` and its difference from the best ± ``dse``.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`mapreg.compare_priors` (columns ``rank``, ``elpd``, ``se``,
        ``elpd_diff``, ``dse``, ``weight``, ``max_pareto_k``, ``n_high_pareto_k``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Artists' ``gid``: ``"elpd:<prior>"`` (the point at ``elpd``, its bar ``± se``),
        ``"elpd-diff:<prior>"`` (at ``best elpd + elpd_diff``, bar ``± dse``; not for the
        best), ``"best"`` (the best prior's elpd, a vertical line). A prior with Pareto
        ``k`` above ``good_k`` is drawn in red and says so in its label.
    """
    table = table.sort_values("rank")
    fig, ax = _single_ax(ax, figsize or (7.0, 1.4 + 0.55 * len(table)))
    best = float(table["elpd"].iloc[0])
    good = table.attrs.get("good_k", {})
    labels = []
    for i, (name, row) in enumerate(table.iterrows()):
        y = -i
        bad = int(row.get("n_high_pareto_k", 0)) > 0
        color = "tab:red" if bad else "black"
        pt = ax.errorbar(row["elpd"], y, xerr=row["se"], fmt="o", color=color, mfc="white",
                         capsize=3, lw=1.4)
        pt.lines[0].set_gid(f"elpd:{name}")
        if i:
            d = ax.errorbar(best + row["elpd_diff"], y - 0.28, xerr=row["dse"], fmt="^",
                            color="0.55", capsize=3, lw=1.2, ms=5)
            d.lines[0].set_gid(f"elpd-diff:{name}")
        text = f"{name}  (weight {row['weight']:.2f})"
        if bad:
            k = good.get(name, 0.7)
            text += f"\n{int(row['n_high_pareto_k'])} obs. with Pareto k > {k:.2f}!"
        labels.append(text)
    ax.axvline(best, color="0.6", ls="--", lw=1).set_gid("best")
    ax.set_yticks(-np.arange(len(table)), labels)
    for tick, (_, row) in zip(ax.get_yticklabels(), table.iterrows(), strict=True):
        if int(row.get("n_high_pareto_k", 0)) > 0:
            tick.set_color("tab:red")
    ax.set_ylim(-len(table) + 0.4, 0.6)
    ax.set_xlabel("elpd_loo (higher is better): ○ ± se;  △ best + elpd_diff ± dse")
    ax.set_title("Which prior? PSIS-LOO expected log predictive density")
    return fig
