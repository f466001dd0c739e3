"""The report's "Which λ?" and "Which prior?" sections, kept fast.

* **Which λ?** — :func:`mapreg.fit.cv.lambda_choices` for the report's model (a prior
  with a mode whose ``lam`` moves with its scale): λ by the 5-fold CV minimum and
  one-SE rule, empirical Bayes where it exists, and the posterior median under a
  hyperprior on the scale when a fast sampler (exact or Gibbs) draws it: the half-Cauchy
  ``HalfCauchy(scale)`` of ``mapreg path --bayes``, else (Laplace) Park & Casella's
  conjugate ``Gamma(r = 1, delta = 1/lam**2)`` on ``lam**2`` (mean ``lam**2``, ``lam``
  the report's). The table plus :func:`mapreg.plots.lambda_choices`.
* **Which prior?** — :func:`mapreg.compare_priors` over the report's prior at its scale
  and :data:`REPORT_PRIORS` at the scales :mod:`mapreg.app.choices` gives them (CV minimum;
  ``tau0 = sigma / sqrt(n)`` for the horseshoe), those a fast sampler draws only, with
  ``COMPARE_CHAINS x COMPARE_DRAWS`` draws each. The table, its Pareto-k notes, and
  :func:`mapreg.plots.prior_comparison`.

Every step that NUTS would make slow is left out and the section says so.
"""

from __future__ import annotations

import html
import warnings

import numpy as np

from mapreg.app.html import FigureSpec, Section, num
from mapreg.app.report_figures import FAST_SAMPLERS as _FAST

#: The priors "Which prior?" compares besides the report's own (each has a fast sampler
#: for the gaussian family).
REPORT_PRIORS = ("laplace", "gaussian", "horseshoe")
#: Draws per chain, warm-up and chains of every sampling these sections do.
COMPARE_DRAWS, COMPARE_TUNE, COMPARE_CHAINS = 1000, 500, 2
FOLDS, N_LAMBDAS = 5, 50
_LAMBDA_COLUMNS = ("method", "λ", "prior scale", "90% low", "90% high", "CV mean",
                   "nonzero", "how")
_PRIOR_COLUMNS = ("prior", "rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight",
                  "max Pareto k", "k > good_k", "sampler", "scale from")


def _fast(model) -> bool:
    from mapreg.posterior.choose import auto_choice, refusal

    if all(refusal(model, s) is not None for s in _FAST):
        return False  # no fast sampler applies: do not pay for auto's independence plan
    return auto_choice(model, COMPARE_DRAWS, COMPARE_TUNE).sampler in _FAST


def _hyperprior(model):
    """A scale hyperprior that a fast sampler draws, and the words for it; or ``None``."""
    from mapreg.model import Model
    from mapreg.priors import GammaLambdaSq, HalfCauchy

    prior = model.prior
    candidates = []
    if HalfCauchy in prior.scale_hyperpriors:
        candidates.append(HalfCauchy(prior.scale))
    if GammaLambdaSq in prior.scale_hyperpriors:
        candidates.append(GammaLambdaSq(1.0, 1.0 / prior.lam**2))
    for sp in candidates:
        hier = Model(model.X, model.y, prior=prior, family=model.family,
                     noise_sigma=model.noise_sigma, fit_intercept=model.fit_intercept,
                     scale_prior=sp)
        if _fast(hier):
            return sp
    return None


def lambda_part(model, seed):
    """``(section, figures, summary)`` of "Which λ?"."""
    from mapreg.fit.cv import lambda_choices
    from mapreg.fit.path import scale_law

    title = "Which λ?"
    law = scale_law(model.prior) if model.prior.has_mode else None
    if law is None or law.field != "lam" or model.has_hyperpriors:
        why = (f"Not drawn: the {html.escape(type(model.prior).__name__)} prior has no "
               "penalty weight λ that moves with its scale (no mode, or a fixed λ), so there "
               "is no path over λ to choose from.")
        return Section(title, why), [], {"skipped": why}
    sp = _hyperprior(model)
    choices = lambda_choices(model, cv=FOLDS, n_lambdas=N_LAMBDAS, empirical_bayes=True,
                             hyperprior=sp is not None, scale_prior=sp, draws=COMPARE_DRAWS,
                             tune=COMPARE_TUNE, chains=COMPARE_CHAINS, random_seed=seed)
    table = choices.table
    rows = [(m, r["lam"], r["scale"], r["lower"], r["upper"], r["cv_mean"], int(r["n_nonzero"]),
             r["note"]) for m, r in table.iterrows()]
    rows = [[None if isinstance(v, float) and np.isnan(v) else v for v in row] for row in rows]
    text = (f"The penalty weight λ of this prior, chosen by {FOLDS}-fold "
            f"cross-validation over {N_LAMBDAS} values (held-out mean {choices.cv.score}; "
            "minimum and one-standard-error rule), empirical Bayes (the λ maximising the "
            "marginal likelihood; Laplace and Gaussian priors, gaussian family) and the "
            "posterior median of λ under a hyperprior on the scale, with its central 90% "
            "interval. This report's own λ is " + num(model.prior.lam) + ".")
    if sp is None:
        text += (" The hyperprior row is left out: its posterior needs NUTS here "
                 "(<code>mapreg path --bayes</code> samples it).")
    fig = FigureSpec("lambda_choices", "Which λ? The CV curve and the choices",
                     f"Held-out mean {choices.cv.score} (± 1 se over {FOLDS} folds) against "
                     "λ, with each choice marked; the band is the hyperprior posterior's "
                     "90% interval.", lambda: _lambda_figure(choices))
    summary = {"table": [{"method": m, **{k: r[k] for k in table.columns}}
                         for m, r in table.iterrows()],
               "folds": FOLDS, "n_lambdas": N_LAMBDAS,
               "hyperprior": None if sp is None else repr(sp)}
    return Section(title, text, _LAMBDA_COLUMNS, rows), [fig], summary


def _lambda_figure(choices):
    from mapreg import plots

    return plots.lambda_choices(choices)


def _has_loglik(idata) -> bool:
    return idata is not None and "log_likelihood" in getattr(idata, "children", {})


def _candidates(model, seed, idata=None):
    """The report's prior and :data:`REPORT_PRIORS` at their scales; those left out, why.

    With the report's own posterior (``idata`` holding a ``log_likelihood`` group) the
    report's prior is compared through those draws — whatever sampler made them, NUTS
    included — instead of a fresh fast run; it is then the last of ``kept``.
    """
    from mapreg.app.choices import Chosen, choose_priors, with_prior

    own = Chosen(f"{model.prior.name} (this report)", model.prior, "this report's scale")
    others = choose_priors(model, [(n, None) for n in REPORT_PRIORS], choose="cv-min",
                           folds=FOLDS, n_lambdas=N_LAMBDAS, random_seed=seed)
    reuse = _has_loglik(idata)
    kept, left = [], {}
    for c in (*(() if reuse else (own,)), *others):
        if _fast(with_prior(model, c.prior)):
            kept.append(c)
        else:
            left[c.label] = "its posterior needs NUTS here (no exact or Gibbs sampler)"
    return ([*kept, own] if reuse else kept), left


def prior_part(model, seed, idata=None):
    """``(section, figures, summary)`` of "Which prior?" (Pareto-k notes in its text).

    ``idata``: the report's own posterior; with a ``log_likelihood`` group it stands for
    the report's prior (its draws, its sampler) instead of a fresh fast run.
    """
    from mapreg.posterior.compare_priors import compare_priors

    title = "Which prior?"
    kept, left = _candidates(model, seed, idata)
    own = kept[-1] if _has_loglik(idata) else None
    sampled = [c for c in kept if c is not own]
    left_text = "".join(f" Left out: {html.escape(k)} ({html.escape(v)})."
                        for k, v in left.items())
    if len(kept) < 2:
        why = "Not compared: fewer than two priors have a fast sampler here." + left_text
        return Section(title, why), [], {"skipped": why, "left_out": left}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the Pareto-k messages come back in table.attrs
        table = compare_priors(model.X, model.y, {c.label: c.prior for c in sampled},
                               family=model.family.name, noise_sigma=model.noise_sigma,
                               fit_intercept=model.fit_intercept,
                               feature_names=model.feature_names, draws=COMPARE_DRAWS,
                               tune=COMPARE_TUNE, chains=COMPARE_CHAINS, random_seed=seed,
                               posteriors={own.label: idata} if own is not None else None)
    how = {c.label: (c, c.how) for c in kept}
    # fixed decimals: elpd in the thousands keeps its hundredths (num() keeps 4 digits)
    rows = [(f"{name}: {how[name][0].text}", r["rank"], *(f"{r[k]:.2f}" for k in
             ("elpd", "se", "p", "elpd_diff", "dse")), f"{r['weight']:.3f}",
             f"{r['max_pareto_k']:.2f}", r["n_high_pareto_k"], r["sampler"], how[name][1])
            for name, r in table.iterrows()]
    pareto = [m.removeprefix("compare_priors: ") for m in table.attrs["warnings"]]
    text = (f"Leave-one-out (PSIS-LOO) expected log predictive density of the posterior "
            f"under each prior ({COMPARE_CHAINS} chains × {COMPARE_DRAWS} draws each; "
            f"{table.attrs['method']} weights; higher elpd_loo is better, dse is the "
            "standard error of the difference from the best). Priors without a scale of "
            "their own sit at the 5-fold CV minimum of λ, the horseshoe at Piironen & "
            "Vehtari's τ₀ = σ/√n." + left_text
            + (" The report's own prior is scored on the report's posterior draws (its "
               "sampler, its chains)." if own is not None else "") + " ")
    text += ("".join(f"<br><b>⚠ Pareto k: {html.escape(m)}</b>" for m in pareto) if pareto
             else "Pareto k: every observation below good_k under every prior (PSIS-LOO is "
                  "reliable here).")
    fig = FigureSpec("prior_comparison", "Which prior? elpd_loo per prior",
                     "PSIS-LOO elpd ± se of each prior (circles) and the best's elpd plus "
                     "each difference ± dse (triangles); red: unreliable (high Pareto k).",
                     lambda: _prior_figure(table))
    summary = {"table": [{"name": n, **{k: r[k] for k in table.columns}}
                         for n, r in table.iterrows()],
               "priors": {c.label: repr(c.prior) for c in kept},  # in sampling order
               "good_k": table.attrs["good_k"], "pareto_warnings": pareto, "left_out": left,
               "draws": COMPARE_DRAWS, "tune": COMPARE_TUNE, "chains": COMPARE_CHAINS}
    return Section(title, text, _PRIOR_COLUMNS, rows), [fig], summary


def _prior_figure(table):
    from mapreg import plots

    return plots.prior_comparison(table)


def _guarded(title, part, *args):
    """``part(*args)``; an error becomes a section saying so (it must not sink the report)."""
    try:
        return part(*args)
    except Exception as exc:  # reported in the page instead
        msg = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        return Section(title, f"Could not be computed: {html.escape(msg)}"), [], {"failed": msg}


def choice_parts(model, seed, log=None, idata=None):
    """Both sections: ``(sections, figures, summary)`` for the report (``idata``: its
    posterior, reused for its own prior in "Which prior?")."""
    log = log or (lambda msg: None)
    log(f"which lambda? {FOLDS}-fold cross-validation, empirical Bayes, a hyperprior")
    lam_section, lam_figs, lam_summary = _guarded("Which λ?", lambda_part, model, seed)
    log(f"which prior? PSIS-LOO across {', '.join(REPORT_PRIORS)} and this report's prior")
    prior_section, prior_figs, prior_summary = _guarded("Which prior?", prior_part, model, seed,
                                                        idata)
    return ([lam_section, prior_section], [*lam_figs, *prior_figs],
            {"which_lambda": lam_summary, "which_prior": prior_summary})
