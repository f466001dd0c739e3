"""The report's tables and text, from results: the model, the equivalence, the posterior.

Nothing here asks which prior a model has: what a section says follows from the
prior's declared capabilities (``has_mode``) and its penalty (its ``name`` and
``quadratic_weights``).
"""

from __future__ import annotations

import html
import warnings

import numpy as np

from mapreg.app.html import Section, num

#: How the report writes the two classic penalties; any other by its name.
_PENALTY_TEXT = {"l1": "L1: λ‖w‖₁", "l2": "squared L2: λ‖w‖₂²"}


def model_rows(model) -> list[tuple[str, str]]:
    """Key/value rows describing a :class:`mapreg.Model`."""
    prior = model.prior
    name = prior.penalty().name if prior.has_mode else None
    return [
        ("family", model.family.name),
        ("prior", repr(prior)),
        ("penalty", _PENALTY_TEXT.get(name, name) if prior.has_mode else "—"),
        ("λ", num(prior.lam) if prior.has_mode else "— (no penalty dual)"),
        ("noise σ", "—" if model.noise_sigma is None else num(model.noise_sigma)),
        ("intercept", "fitted (flat prior, not penalised)" if model.fit_intercept else "none"),
        ("rows × features", f"{model.n_samples} × {model.n_features}"),
    ]


def subtitle(model, data_info: dict) -> str:
    """The line under the report's title (HTML)."""
    prior = model.prior
    dual = (f"prior ⇔ penalty λ = {prior.lam:.4g}" if prior.has_mode
            else "prior: no mode and no penalty dual (posterior only)")
    return (f"{html.escape(data_info['file'])} — {data_info['rows']} rows, target "
            f"<code>{html.escape(data_info['target'])}</code>, "
            f"{len(data_info['features'])} features"
            f"{' (standardised)' if data_info['standardized'] else ''}. "
            f"{html.escape(repr(prior))} {dual}.")


# --- the equivalence ---------------------------------------------------------------------

def equivalence_section(report) -> Section:
    """The per-coefficient MAP / penalised / scikit-learn table of an EquivalenceReport."""
    names = ("intercept", *report.feature_names)
    map_v = np.append(report.map.intercept, report.map.coef)
    pen_v = np.append(report.penalized.intercept, report.penalized.coef)
    sk_v = (np.append(report.sklearn_intercept, report.sklearn_coef)
            if report.sklearn_coef is not None else [None] * len(names))
    rows = [(n, num(a, 6), num(b, 6), num(c, 6))
            for n, a, b, c in zip(names, map_v, pen_v, sk_v, strict=True)]
    sk = ("n/a" if report.max_abs_diff_sklearn is None
          else f"{report.max_abs_diff_sklearn:.2g}")
    verdict = "PASSED" if report.passed else "FAILED"
    text = (
        f"<b>{verdict}</b>. λ = {report.lam:.6g}. max |MAP − penalised| = "
        f"{report.max_abs_diff:.2g} (tolerance {report.tolerance:.2g}); "
        f"max |MAP − scikit-learn| = {sk} with {html.escape(report.sklearn_name)}. "
        f"Exact zeros: MAP {report.map.n_zeros}, penalised {report.penalized.n_zeros} "
        f"(same set: {report.zeros_agree}). KKT violation at the MAP: "
        f"{report.map.kkt_violation:.2g} (relative to the forces that pin the mode: "
        f"{report.relative_kkt[0]:.2g}). "
        + (f"<b>{html.escape(report.certificate_note().strip())}</b>. "
           if not report.certified else "")
        + (f"−log posterior − penalised objective = {report.objective_constant:.10g}, a "
           f"constant (error {report.objective_identity_error:.2g})."
           if report.identity_applicable else
           "−log posterior − penalised objective: not applicable (the prior's normaliser "
           "is not a finite double).")
    )
    return Section("Mode = penalised fit", text,
                   ("coefficient", "MAP", "penalised", "scikit-learn"), rows)


def no_mode_section(prior) -> Section:
    """What the report says instead of the equivalence for a prior without a mode."""
    return Section(
        "Mode = penalised fit",
        f"Skipped: the {html.escape(type(prior).__name__)} prior has no finite, "
        "non-degenerate posterior mode and no penalty dual to compare it with. This report "
        "shows the posterior only.")


def _coef_dict(names, coef) -> dict:
    return dict(zip(names, map(float, coef), strict=True))


def equivalence_summary(report) -> dict:
    """The JSON-ready numbers of an EquivalenceReport."""
    return {
        "passed": bool(report.passed),
        "lam": report.lam,
        "max_abs_diff_penalized": report.max_abs_diff,
        "tolerance": report.tolerance,
        "sklearn_estimator": report.sklearn_name,
        "max_abs_diff_sklearn": report.max_abs_diff_sklearn,
        "zeros_agree": bool(report.zeros_agree),
        "objective_constant": report.objective_constant,
        "objective_identity_error": report.objective_identity_error,
        "objective_identity_applicable": bool(report.identity_applicable),
        "relative_kkt": list(report.relative_kkt),
        "certified": bool(report.certified),
        "map": {
            "intercept": report.map.intercept,
            "coef": _coef_dict(report.feature_names, report.map.coef),
            "n_zeros": report.map.n_zeros,
            "kkt_violation": report.map.kkt_violation,
            "converged": bool(report.map.converged),
            "solver": report.map.solver,
            "neg_log_posterior": report.map.neg_log_posterior,
        },
        "penalized_coef": _coef_dict(report.feature_names, report.penalized.coef),
        "sklearn_coef": (None if report.sklearn_coef is None
                         else _coef_dict(report.feature_names, report.sklearn_coef)),
    }


# --- the posterior -----------------------------------------------------------------------

def table_records(frame) -> list[dict]:
    """The rows of a DataFrame as dicts, a named index becoming the first column."""
    if frame.index.name:
        frame = frame.reset_index()
    return frame.to_dict("records")


def comparison_records(idata) -> list[dict]:
    """:func:`mapreg.compare_mode_posterior` as a list of row dicts."""
    from mapreg.posterior.compare import compare_mode_posterior

    return table_records(compare_mode_posterior(idata))


def comparison_text(idata) -> str:
    """:func:`mapreg.compare_mode_posterior` as text, never truncated or wrapped."""
    from mapreg.posterior.compare import compare_mode_posterior

    return compare_mode_posterior(idata).to_string(float_format=lambda v: f"{v:.4g}")


def diagnostics_records(idata) -> list[dict]:
    """Bulk/tail ESS and R-hat per parameter (ArviZ), as row dicts."""
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = [v for v in ("coef", "intercept") if v in idata["posterior"]]
        frame = az.summary(idata, var_names=names, kind="diagnostics")
    frame = frame.reset_index().rename(columns={"index": "parameter"})
    return frame.to_dict("records")


def sampler_warnings(idata) -> list[str]:
    """The sampler's diagnostic warnings (``attrs["warnings"]`` of the posterior)."""
    val = dict(getattr(idata, "attrs", {}) or {}).get("warnings")
    if isinstance(val, str):  # one string after a netCDF round trip
        return [w for w in val.split("\n") if w.strip()]
    if isinstance(val, list | tuple | np.ndarray):
        return [str(w) for w in val if str(w).strip()]
    return []


def mode_note(model) -> str:
    """What the mode-vs-posterior table shows under this model's prior."""
    prior = model.prior
    if not prior.has_mode:
        return "There is no MAP under this prior (the map column is empty)."
    weights = prior.penalty().quadratic_weights()
    if weights is not None and weights[0] > 0.0:
        return ("Its penalty has a kink at zero, so the MAP has exact zeros; but the posterior "
                "of a continuous prior puts no mass on exactly zero: the posterior mean and "
                "median are not sparse.")
    if weights is not None and model.family.name == "gaussian" and not model.has_hyperpriors:
        return ("Under a Gaussian prior and Gaussian noise the posterior is Gaussian and its "
                "mean, median and mode coincide.")
    return "The mode and the posterior summaries need not agree under this prior."


def _records_section(title: str, text: str, records: list[dict]) -> list[Section]:
    if not records:
        return []
    cols = list(records[0])
    return [Section(title, text, cols, [[r[c] for c in cols] for r in records])]


def report_sections(model, *, equivalence, comparison, diagnostics, data_info, settings,
                    sampler, warns, demo_text=None) -> list[Section]:
    """The report's sections, in order."""
    sections = [Section("Model", "The posterior mode under this prior is the penalised fit "
                        "below; the posterior is sampled with the same likelihood and prior.",
                        ("setting", "value"),
                        [*model_rows(model),
                         ("noise σ from", data_info.get("noise_sigma_source") or "—")])]
    if demo_text:
        sections.append(Section(
            "Over several prior scales",
            "The equivalence on the diabetes data for several Laplace and Gaussian scales, "
            "and how far <code>pymc.find_MAP</code> (L-BFGS on the kinked Laplace log-density) "
            "lands from the exact mode.", pre=demo_text))
    sections.append(no_mode_section(model.prior) if equivalence is None
                    else equivalence_section(equivalence))
    sections += _records_section(
        "Mode vs posterior",
        "Per coefficient: the MAP beside the posterior summaries. " + mode_note(model),
        comparison)
    diag_text = (f"Sampler: <b>{html.escape(sampler)}</b>; " + ", ".join(
        f"{k} = {html.escape(str(v))}" for k, v in settings.items()) + ". "
        + ("No diagnostic warnings." if not warns else f"{len(warns)} warning(s), shown at top."))
    sections += _records_section("Sampling diagnostics", diag_text, diagnostics)
    return sections


def report_summary(model, *, title, data_info, equivalence, sampler, settings, warns,
                   comparison, diagnostics, skipped) -> dict:
    """Every number of the report, for ``summary.json``."""
    prior = model.prior
    summary = {
        "mapreg_report": 1,
        "title": title,
        "data": data_info,
        "model": {"family": model.family.name, "prior": prior.name, "scale": prior.scale,
                  "lam": prior.lam if prior.has_mode else None,
                  "noise_sigma": model.noise_sigma, "fit_intercept": model.fit_intercept},
        "equivalence": (equivalence_summary(equivalence) if equivalence is not None else
                        {"skipped": "the prior has no posterior mode and no penalty dual"}),
        "posterior": {"sampler": sampler, "settings": settings, "warnings": warns,
                      "mode_vs_posterior": comparison, "diagnostics": diagnostics},
    }
    if skipped:
        summary["figures_skipped"] = skipped
    return summary
