"""The road to the MAP: coefficient trajectories of :func:`mapreg.fit.train.train` runs.

Both functions only draw: they take :class:`~mapreg.fit.train.TrainingRun` records (and,
for the dashed reference lines, a :class:`~mapreg.MAPResult`) and return the Figure. Artists
carry a ``gid`` naming what they show, so their data can be read back:

=========================  ==========================================================
``"coef:<feature>"``       ``coef[:, j]`` against the step (``training_trajectories``)
``"map:<feature>"``        the MAP coefficient, a dashed horizontal line
``"zero:<feature>"``       a marker at ``(t, 0)``: the step from which ``w_j`` stays exactly 0
``"abs:<i>:<feature>"``    ``|coef[:, j]|`` of run ``i`` on a log axis (``zero_chatter``);
                           exact zeros cannot sit on a log axis and are left out (NaN)
``"lands:<i>:<feature>"``  a marker at ``(t, floor)``: run ``i`` lands on exact 0 at step ``t``
``"step-scale:<i>"``       ``lr_t * lam``: one subgradient step of the L1 pull, run ``i``
=========================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mapreg.plots._common import _feature_colors, _panels, _single_ax


def _as_runs(runs) -> list:
    runs = [runs] if hasattr(runs, "coef") else list(runs)
    if not runs:
        raise ValueError("give at least one TrainingRun")
    for run in runs:
        if not hasattr(run, "coef") or not hasattr(run, "n_exact_zeros"):
            raise ValueError(f"expected TrainingRun records (mapreg.fit.train.train), got {run!r}")
    return runs


def _feature_index(run, features) -> list[int]:
    names = list(run.feature_names) or [f"x{j}" for j in range(run.coef.shape[1])]
    if features is None:
        return list(range(len(names)))
    out = []
    for f in features:
        if f not in names:
            raise ValueError(f"unknown feature {f!r}; the runs have {names}")
        out.append(names.index(f))
    return out


def _name(run, j) -> str:
    return run.feature_names[j] if run.feature_names else f"x{j}"


def landing_step(path) -> int | None:
    """The first step from which ``path`` stays exactly 0 to the end, or ``None``."""
    path = np.asarray(path)
    nonzero = np.flatnonzero(path != 0.0)
    if len(nonzero) == 0:
        return 0
    last = int(nonzero[-1])
    return None if last == len(path) - 1 else last + 1


def training_trajectories(runs, map_result=None, *, features: Sequence[str] | None = None,
                          xscale: str = "symlog", fig=None):
    """Coefficients against the step, one panel per run, the MAP as dashed lines.

    Parameters
    ----------
    runs : TrainingRun or sequence of TrainingRun
        E.g. subgradient descent, the proximal method and weight decay on the same model.
    map_result : MAPResult, optional
        Its coefficients are drawn as dashed horizontal lines in every panel.
    features : sequence of str, optional
        Which coefficients (default all).
    xscale : str
        The step axis: ``"symlog"`` (default: step 0 shows, and the early steps where the
        loss dominates get room), ``"linear"`` or ``"log"``.
    fig : Figure, optional
        An empty figure to draw into.

    Returns
    -------
    Figure
        One panel per run, titled with its label and final count of exact zeros; a marker
        ``"zero:<feature>"`` at ``(t, 0)`` where a coefficient lands on 0 for good.
    """
    runs = _as_runs(runs)
    idx = _feature_index(runs[0], features)
    colors = _feature_colors(len(runs[0].feature_names) or runs[0].coef.shape[1])
    fig, axes = _panels(fig, len(runs), (4.2 * len(runs) + 0.6, 4.0), sharey=True)
    for ax, run in zip(axes, runs, strict=True):
        steps = np.arange(run.coef.shape[0])
        for j in idx:
            name = _name(run, j)
            ax.plot(steps, run.coef[:, j], color=colors[j], lw=1.2, gid=f"coef:{name}",
                    label=name)
            if map_result is not None:
                ax.axhline(float(map_result.coef[j]), color=colors[j], ls="--", lw=0.9,
                           alpha=0.8, gid=f"map:{name}")
            t = landing_step(run.coef[:, j])
            if t is not None and t > 0:
                ax.plot([t], [0.0], marker="o", ms=6, mfc="white", mec=colors[j], ls="none",
                        gid=f"zero:{name}")
        ax.set_xscale(xscale, **({"linthresh": 1.0} if xscale == "symlog" else {}))
        ax.set_xlim(1 if xscale == "log" else 0, max(run.steps, 1))
        ax.set_xlabel("step")
        ax.set_title(f"{run.label}\n{int(run.n_exact_zeros[-1])} exact zeros at the end",
                     fontsize="medium")
        ax.axhline(0.0, color="0.6", lw=0.6, zorder=0)
    axes[0].set_ylabel("coefficient")
    if map_result is not None:
        axes[0].plot([], [], color="0.3", ls="--", label="MAP (find_map)")
    axes[-1].legend(fontsize="x-small", ncols=2, loc="best")
    return fig


def zero_chatter(runs, *, features: Sequence[str] | None = None, floor: float | None = None,
                 ax=None):
    """``|w_j|`` against the step on a log axis, for coefficients whose MAP value is 0.

    Subgradient descent (``sign(0) = 0``) overshoots 0 every step and hovers at the scale of
    one step ``lr_t * lam`` (drawn dotted for runs with an L1-type penalty and ``lr_t``);
    the proximal step lands on exact 0 in finitely many steps (a triangle on the floor of
    the axis) and stays there.

    Parameters
    ----------
    runs : TrainingRun or sequence of TrainingRun
    features : sequence of str, optional
        Default: the coefficients exactly zero at the end of some run; if there are none,
        the one with the smallest final ``|w|`` in the first run.
    floor : float, optional
        The bottom of the log axis, where the landings are marked (default: a tenth of the
        smallest non-zero ``|w|`` drawn).
    ax : Axes, optional
    """
    runs = _as_runs(runs)
    if features is None:
        zero = np.zeros(runs[0].coef.shape[1], dtype=bool)
        for run in runs:
            zero |= run.coef[-1] == 0.0
        idx = list(np.flatnonzero(zero)) or [int(np.argmin(np.abs(runs[0].coef[-1])))]
    else:
        idx = _feature_index(runs[0], features)
    drawn = np.concatenate([np.abs(run.coef[:, idx]).ravel() for run in runs])
    positive = drawn[drawn > 0]
    if floor is None:
        floor = 0.1 * float(positive.min()) if len(positive) else 1e-12
    fig, ax = _single_ax(ax, (7.0, 4.2))
    styles = ["-", "--", ":", "-."]
    for i, run in enumerate(runs):
        color = f"C{i}"
        steps = np.arange(run.coef.shape[0])
        for k, j in enumerate(idx):
            name = _name(run, j)
            a = np.abs(run.coef[:, j])
            ax.plot(steps, np.where(a > 0, a, np.nan), color=color, ls=styles[k % 4], lw=1.0,
                    alpha=0.9, gid=f"abs:{i}:{name}", label=f"{run.label}: |{name}|")
            t = landing_step(run.coef[:, j])
            if t is not None and t > 0:
                ax.plot([t], [floor], marker="v", ms=8, color=color, ls="none",
                        gid=f"lands:{i}:{name}")
        if run.optimizer in ("gd", "sgd") and run.penalty is not None and \
                np.isfinite(run.lam) and run.lam > 0 and run.steps > 0:
            ax.plot(steps[1:], run.learning_rates * run.lam, color=color, lw=0.8, ls=":",
                    gid=f"step-scale:{i}", label=f"{run.label}: one step, lr·λ")
    ax.set_yscale("log")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0, max(max(run.steps for run in runs), 1))
    ax.set_ylim(bottom=floor * 0.7)
    ax.set_xlabel("step")
    ax.set_ylabel("|w| (exact zeros: ▼ on the floor)")
    ax.legend(fontsize="x-small", loc="lower left")
    return fig
