"""The report's figures: what to draw for a model, and why a figure is left out.

Which figures apply follows from the prior's capabilities (``has_mode``) and its
penalty's name, never from its class. The paths are computed here, by the fit and
posterior layers (:func:`mapreg.fit.path.compare_paths`,
:func:`mapreg.posterior.paths.posterior_median_path`), and handed to the plots, which
only draw; each figure's work runs inside :func:`mapreg.app.report.write_report`'s
guard, so one that fails is reported instead of sinking the report.
"""

from __future__ import annotations

from mapreg.app.html import FigureSpec

#: The classic pair's figures (prior_vs_penalty's two columns, shrinkage_force) draw an
#: L1 or an L2 penalty: the keyword prior_vs_penalty takes each under.
_CLASSIC = {"l1": "laplace", "l2": "gaussian"}

#: Steps of each gradient-training run in the "road to the mode" figure.
_TRAINING_STEPS = 300

#: Samplers fast enough to repeat at ten prior scales for the posterior-median path (and,
#: in :mod:`mapreg.app.report_choices`, for the "Which λ?" / "Which prior?" posteriors).
FAST_SAMPLERS = ("exact", "gibbs", "hmc")
#: Seconds the MAP-path figure spends on scikit-learn's fits (the rest are left out, and
#: the legend says so).
REPORT_SKLEARN_BUDGET_S = 15.0


def _classic(prior) -> str | None:
    """``"laplace"`` / ``"gaussian"`` when the prior's penalty is plain L1 / squared L2."""
    return _CLASSIC.get(prior.penalty().name) if prior.has_mode else None


def _prior_figures(prior) -> tuple[list[FigureSpec], dict[str, str]]:
    from mapreg import plots

    pair = _classic(prior)
    if pair is not None:
        return [
            FigureSpec("prior_vs_penalty", "The prior's negative log-density is the penalty",
                       "Top: the prior densities. Bottom: the penalty (thick) and −log p(w) "
                       "shifted by the prior's normaliser (dashed) coincide.",
                       lambda: plots.prior_vs_penalty(**{pair: prior})),
            FigureSpec("shrinkage_force", "Why L1 gives exact zeros and L2 does not",
                       "Left: the pull of each penalty towards zero (constant ±λ for L1, 2λw "
                       "for L2). Right: the resulting one-dimensional MAP: soft-thresholding "
                       "vs proportional shrinkage.",
                       lambda: plots.shrinkage_force(lam=prior.lam)),
        ], {}
    figure = FigureSpec(
        "prior_vs_penalty", "The prior's negative log-density is the penalty",
        "Top: the prior density. Bottom: the penalty (thick) and −log p(w) shifted by the "
        "prior's normaliser (dashed) coincide"
        + ("." if prior.has_mode else "; this prior has no penalty, only −log p(w), "
           "infinite at 0."),
        lambda: plots.prior_vs_penalty(priors=[prior]))
    skipped = {"shrinkage_force": "drawn for a plain L1 or squared-L2 penalty, i.e. the "
                                  "Laplace and Gaussian priors only"}
    return [figure], skipped


def _map_path_figure(model) -> FigureSpec:
    def make():
        from mapreg import plots
        from mapreg.fit.path import compare_paths

        # scikit-learn's dots are a witness, not the result: at most REPORT_SKLEARN_BUDGET_S
        # of its fits (saga on a 200 x 1,000 logistic lasso: 5 s a fit, 30 fits)
        return plots.map_path(compare_paths(model, sklearn_budget_s=REPORT_SKLEARN_BUDGET_S))

    return FigureSpec(
        "map_path", "MAP path = penalised path",
        "Coefficients over a grid of prior scales: MAP (thick), the penalised fit "
        "(dashed) and scikit-learn (dots, where it has an equivalent) coincide; the "
        "vertical line marks this report's scale.", make)


def _median_path_figure(model, sampler: str, seed: int) -> FigureSpec:
    def make():
        from mapreg import plots
        from mapreg.fit.path import default_scales, path
        from mapreg.posterior.paths import posterior_median_path

        # outside the gaussian family (HMC, or the Pólya-Gamma sweeps at ~0.5 ms each)
        # 2 x 1,000 draws per scale (bulk ESS ~1,200 on the breast-cancer lasso, median
        # MCSE ~0.04 sd) instead of the default 2 x 4,000
        kw = {} if model.family.name == "gaussian" else {"draws": 1000, "tune": 500}
        medians = posterior_median_path(model, sampler=sampler, random_seed=seed, **kw)
        return plots.posterior_median_path(
            medians, path(model, default_scales(model, covering=medians.scales)))

    return FigureSpec(
        "posterior_median_path", "Posterior medians vs the MAP path",
        "Left: the MAP path. Right: posterior medians over the same prior scales "
        "(Park & Casella 2008, Figure 1): smooth, without the penalty's kinks and zeros.",
        make)


def _training_figure(model) -> FigureSpec:
    def make():
        from mapreg import plots
        from mapreg.fit.map import find_map
        from mapreg.fit.train import train

        # the same steps for both: subgradient descent (decaying step) never reaches an
        # exact zero; FISTA's proximal step lands on the mode's zeros in finitely many
        runs = [train(model, optimizer="gd", steps=_TRAINING_STEPS, lr_decay=0.5),
                train(model, optimizer="fista", steps=_TRAINING_STEPS)]
        return plots.training_trajectories(runs, map_result=find_map(model))

    return FigureSpec(
        "training_trajectories", "The road to the mode: gradient training",
        f"Coefficients over {_TRAINING_STEPS} steps of subgradient descent (left) and of "
        "the proximal gradient method (FISTA, right), the MAP dashed. The subgradient "
        "chatters around zero at the step size; the proximal step lands on exact zeros.",
        make)


def report_figures(model, idata, *, sampler: str, seed: int,
                   geometry: bool = False) -> tuple[list[FigureSpec], dict[str, str]]:
    """The figures for ``model`` and why each left-out one is left out.

    ``geometry`` adds the two-weight constraint picture (the demo's).
    """
    from mapreg import plots

    prior = model.prior
    figures, skipped = _prior_figures(prior)
    if geometry:
        figures.append(FigureSpec(
            "constraint_geometry", "The geometry: loss contours meet the L1 diamond at a corner",
            "A two-weight problem: the MAP is where a loss contour first touches the L1 "
            "diamond or the L2 disc; the diamond's corners sit on the axes.",
            plots.constraint_geometry))
    if prior.has_mode:
        figures.append(_map_path_figure(model))
    else:
        skipped["map_path"] = "the prior has no mode, so there is no MAP path"
    if prior.has_mode and prior.convex:
        figures.append(_training_figure(model))
    else:
        skipped["training_trajectories"] = (
            "gradient training reaches the mode for a convex prior with a mode only")
    figures.append(FigureSpec(
        "posterior_vs_mode", "What the mode hides: the posterior",
        "Each coefficient's posterior (density, 50% and 90% intervals, median) "
        "with the MAP (diamond; hollow where exactly zero) and zero marked.",
        lambda: plots.posterior_vs_mode(idata)))
    if not prior.has_mode:
        skipped["posterior_median_path"] = "the prior has no mode, so there is no MAP path"
    elif sampler in FAST_SAMPLERS:
        figures.append(_median_path_figure(model, sampler, seed))
    else:
        skipped["posterior_median_path"] = (
            "posterior medians over 10 prior scales need 10 posterior runs; drawn only "
            f"with the exact, Gibbs or HMC sampler, not {sampler}")
    return figures, skipped
