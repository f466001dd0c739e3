"""A self-contained HTML report folder: figures, tables, ``summary.json`` and the posterior.

Layout of a report folder::

    index.html        the report (links only to files in this folder)
    figures/*.png     the figures
    summary.json      every number in the report, machine-readable
    posterior.nc      the posterior (ArviZ DataTree, netCDF4 via h5netcdf)

The folder is written under a temporary name beside its destination and only
renamed into place once complete (:func:`atomic_directory`), so an interrupted
run never leaves a half report that looks finished. An existing destination is
replaced only if it is a previous mapreg report (it holds the marker file
``.mapreg-report``) or empty.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

MARKER = ".mapreg-report"


class ReportError(ValueError):
    """The report cannot be written where asked (one-line message)."""


@dataclasses.dataclass
class FigureSpec:
    """A figure to draw into the report.

    Attributes
    ----------
    name : str
        File stem (``figures/<name>.png``).
    title : str
        Heading above the figure.
    caption : str
        What the figure shows, in words.
    make : callable
        Draws it and returns the matplotlib Figure.
    """

    name: str
    title: str
    caption: str
    make: Callable


@dataclasses.dataclass
class Section:
    """A block of the report: a heading, a paragraph and a table or preformatted text."""

    title: str
    text: str = ""
    columns: Sequence[str] = ()
    rows: Sequence[Sequence] = ()
    pre: str = ""


# --- writing atomically ----------------------------------------------------------------


@contextlib.contextmanager
def atomic_directory(out):
    """Yield a temporary directory that becomes ``out`` when the block finishes.

    On an exception (or Ctrl-C) the temporary directory is removed and ``out``
    is left as it was. An existing ``out`` must be an empty directory or a
    previous mapreg report (it has the ``.mapreg-report`` marker); otherwise
    :class:`ReportError` is raised before anything is written.
    """
    out = Path(out).absolute()
    check_destination(out)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as exc:
        raise ReportError(f"{out}: cannot write here: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; a report is not
        yield tmp
        (tmp / MARKER).write_text("written by mapreg; safe to replace with a newer report\n")
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.replace(out, old / "report")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and rename the result to ``path`` only if it succeeded."""
    path = Path(path).absolute()
    if path.is_dir():
        raise ReportError(f"{path}: is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.partial-", dir=path.parent)
    except OSError as exc:
        raise ReportError(f"{path}: cannot write here: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_netcdf(idata, path) -> None:
    """Save a posterior DataTree as netCDF4 (h5netcdf engine)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata.to_netcdf(path, engine="h5netcdf")


# --- tables from results -----------------------------------------------------------------


def model_rows(model) -> list[tuple[str, str]]:
    """Key/value rows describing a :class:`mapreg.Model`."""
    prior = model.prior
    rows = [
        ("family", model.family.name),
        ("prior", repr(prior)),
        ("penalty", {"l1": "L1: λ‖w‖₁", "l2": "squared L2: λ‖w‖₂²"}.get(
            prior.penalty().name, prior.penalty().name) if prior.has_mode else "—"),
        ("λ", _num(prior.lam) if getattr(prior, "has_mode", True) else "— (no penalty dual)"),
        ("noise σ", "—" if model.noise_sigma is None else _num(model.noise_sigma)),
        ("intercept", "fitted (flat prior, not penalised)" if model.fit_intercept else "none"),
        ("rows × features", f"{model.n_samples} × {model.n_features}"),
    ]
    return rows


def equivalence_section(report) -> Section:
    """The per-coefficient MAP / penalised / scikit-learn table of an EquivalenceReport."""
    names = ("intercept", *report.feature_names)
    map_v = np.append(report.map.intercept, report.map.coef)
    pen_v = np.append(report.penalized.intercept, report.penalized.coef)
    sk_v = (np.append(report.sklearn_intercept, report.sklearn_coef)
            if report.sklearn_coef is not None else [None] * len(names))
    rows = [(n, _num(a, 6), _num(b, 6), _num(c, 6)) for n, a, b, c in zip(names, map_v, pen_v, sk_v,
                                                                         strict=True)]
    sk = ("n/a" if report.max_abs_diff_sklearn is None
          else f"{report.max_abs_diff_sklearn:.2g}")
    verdict = "PASSED" if report.passed else "FAILED"
    text = (
        f"<b>{verdict}</b>. λ = {report.lam:.6g}. max |MAP − penalised| = "
        f"{report.max_abs_diff:.2g} (tolerance {report.tolerance:.2g}); "
        f"max |MAP − scikit-learn| = {sk} with {html.escape(report.sklearn_name)}. "
        f"Exact zeros: MAP {report.map.n_zeros}, penalised {report.penalized.n_zeros} "
        f"(same set: {report.zeros_agree}). KKT violation at the MAP: "
        f"{report.map.kkt_violation:.2g}. −log posterior − penalised objective = "
        f"{report.objective_constant:.10g}, a constant "
        f"(error {report.objective_identity_error:.2g})."
    )
    return Section("Mode = penalised fit", text,
                   ("coefficient", "MAP", "penalised", "scikit-learn"), rows)


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
        "map": {
            "intercept": report.map.intercept,
            "coef": dict(zip(report.feature_names, map(float, report.map.coef), strict=True)),
            "n_zeros": report.map.n_zeros,
            "kkt_violation": report.map.kkt_violation,
            "converged": bool(report.map.converged),
            "solver": report.map.solver,
            "neg_log_posterior": report.map.neg_log_posterior,
        },
        "penalized_coef": dict(zip(report.feature_names, map(float, report.penalized.coef),
                                   strict=True)),
        "sklearn_coef": (None if report.sklearn_coef is None else
                         dict(zip(report.feature_names, map(float, report.sklearn_coef),
                                  strict=True))),
    }


def table_records(table) -> list[dict]:
    """Rows of a table-like object as dicts (list of dicts / records, mapping of columns,
    a DataFrame, an xarray Dataset, or an object with ``rows``/``to_records``)."""
    if hasattr(table, "to_dict") and hasattr(table, "columns"):  # a DataFrame
        frame = table.reset_index() if getattr(table.index, "name", None) else table
        return frame.to_dict("records")
    if hasattr(table, "data_vars"):  # an xarray Dataset
        return table.to_dataframe().reset_index().to_dict("records")
    if hasattr(table, "rows"):
        return table_records(table.rows)
    if isinstance(table, dict):
        keys = list(table)
        n = len(table[keys[0]]) if keys else 0
        return [{k: table[k][i] for k in keys} for i in range(n)]
    out = []
    for row in table:
        if isinstance(row, dict):
            out.append(dict(row))
        elif hasattr(row, "_asdict"):
            out.append(row._asdict())
        elif dataclasses.is_dataclass(row):
            out.append(dataclasses.asdict(row))
        else:
            raise TypeError(f"cannot read a table row of type {type(row).__name__}")
    return out


# --- the HTML ------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:1.8em} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.85em}
figure{margin:1.2em 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.92em} .pass{color:#1a7f37;font-weight:bold}
.fail{color:#c62828;font-weight:bold} .warn{background:#fff4e5;border-left:4px solid #f0a030;
padding:.4em .8em} nav a{margin-right:1em} footer{color:#888;font-size:.85em;margin-top:3em}
"""


def _num(v, digits: int = 4) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        v = float(v)
        if v == 0.0:
            return "0"
        if not math.isfinite(v):
            return str(v)
        return f"{v:.{digits}g}"
    return str(v)


def _table_html(columns, rows) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_num(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _slug(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")


def render_html(title: str, subtitle: str, sections: Sequence[Section],
                figures: Sequence[tuple[FigureSpec, str | None, str | None]],
                files: Sequence[tuple[str, str]], warnings_: Sequence[str] = ()) -> str:
    """The report page. ``figures`` holds ``(spec, relative png path or None, error or None)``;
    ``files`` holds ``(relative path, description)`` of the downloadable outputs."""
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>", f'<p class="sub">{subtitle}</p>',
    ]
    nav = [(_slug(s.title), s.title) for s in sections] + [("figures", "Figures"),
                                                            ("files", "Files")]
    parts.append("<nav>" + "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t in nav)
                 + "</nav>")
    for w in warnings_:
        parts.append(f'<p class="warn">⚠ {html.escape(w)}</p>')
    for s in sections:
        parts.append(f'<h2 id="{_slug(s.title)}">{html.escape(s.title)}</h2>')
        if s.text:
            parts.append(f"<p>{s.text}</p>")
        if s.rows:
            parts.append(_table_html(s.columns, s.rows))
        if s.pre:
            parts.append(f"<pre>{html.escape(s.pre)}</pre>")
    parts.append('<h2 id="figures">Figures</h2>')
    for spec, png, error in figures:
        parts.append(f"<h3>{html.escape(spec.title)}</h3>")
        if png is None:
            parts.append(f'<p class="warn">This figure could not be drawn: '
                         f"{html.escape(str(error))}</p>")
            continue
        parts.append(f'<figure><img src="{html.escape(png)}" alt="{html.escape(spec.title)}">'
                     f"<figcaption>{html.escape(spec.caption)}</figcaption></figure>")
    parts.append('<h2 id="files">Files</h2><ul>')
    for path, what in files:
        parts.append(f'<li><a href="{html.escape(path)}">{html.escape(path)}</a> — '
                     f"{html.escape(what)}</li>")
    parts.append("</ul>")
    from mapreg import __version__

    parts.append(f"<footer>mapreg {__version__} — a penalty is a prior.</footer></body></html>")
    return "\n".join(parts)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        v = float(obj)
        return v if math.isfinite(v) else str(v)
    if obj is None or isinstance(obj, str | int):
        return obj
    return str(obj)


def write_report(out, *, title: str, subtitle: str, sections: Sequence[Section],
                 figures: Sequence[FigureSpec] = (), summary: dict | None = None, idata=None,
                 warnings_: Sequence[str] = (), log: Callable[[str], None] | None = None,
                 dpi: int = 110) -> Path:
    """Write the report folder ``out`` atomically and return its path.

    Parameters
    ----------
    out : path-like
        Destination folder (replaced if it is an earlier mapreg report).
    title, subtitle : str
        Page heading; ``subtitle`` may contain HTML.
    sections : sequence of Section
        Tables and text, in order.
    figures : sequence of FigureSpec
        Drawn to ``figures/<name>.png``. A figure that fails to draw is reported
        in the page (and in ``summary.json``) instead of stopping the report.
    summary : dict, optional
        Written to ``summary.json`` (with the list of files added).
    idata : DataTree, optional
        Written to ``posterior.nc``.
    warnings_ : sequence of str
        Shown prominently at the top of the page.
    log : callable, optional
        Called with a short progress message per step.
    dpi : int
        Resolution of the PNGs.
    """
    import matplotlib.pyplot as plt

    log = log or (lambda msg: None)
    summary = dict(summary or {})
    with atomic_directory(out) as tmp:
        (tmp / "figures").mkdir()
        drawn, failed = [], {}
        for spec in figures:
            log(f"drawing {spec.name}")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fig = spec.make()
                    fig.savefig(tmp / "figures" / f"{spec.name}.png", dpi=dpi,
                                bbox_inches="tight")
                plt.close(fig)
                drawn.append((spec, f"figures/{spec.name}.png", None))
            except Exception as exc:  # a figure must not sink the whole report
                plt.close("all")
                msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
                failed[spec.name] = msg
                drawn.append((spec, None, msg))
                log(f"warning: figure {spec.name} could not be drawn: {msg}")
        files = [("summary.json", "every number in this report, machine-readable")]
        if idata is not None:
            log("writing posterior.nc")
            write_netcdf(idata, tmp / "posterior.nc")
            files.append(("posterior.nc", "the posterior draws (ArviZ DataTree, netCDF4; "
                          "open with xarray.open_datatree or arviz)"))
        files += [(png, spec.title) for spec, png, _ in drawn if png is not None]
        summary["files"] = ["index.html", *(f for f, _ in files)]
        if failed:
            summary["figures_failed"] = failed
        (tmp / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2) + "\n")
        (tmp / "index.html").write_text(
            render_html(title, subtitle, sections, drawn, files, warnings_), encoding="utf-8")
    return Path(out).absolute()


# --- the mapreg report for a model ------------------------------------------------------------


def check_destination(out) -> None:
    """Raise :class:`ReportError` now (before any slow work) if ``out`` cannot be a report."""
    out = Path(out).absolute()
    if out.exists():
        if not out.is_dir():
            raise ReportError(f"{out}: exists and is not a directory; choose another --out")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise ReportError(
                f"{out}: exists and is not a mapreg report; choose another --out or remove it"
            )
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise ReportError(f"{out}: cannot write to {parent}")


def comparison_records(idata) -> list[dict]:
    """:func:`mapreg.compare_mode_posterior` as a list of row dicts."""
    from mapreg.posterior.compare import compare_mode_posterior

    return table_records(compare_mode_posterior(idata))


def comparison_text(idata) -> str:
    """:func:`mapreg.compare_mode_posterior` as text (its own ``str`` when it has one)."""
    from mapreg.posterior.compare import compare_mode_posterior

    table = compare_mode_posterior(idata)
    if hasattr(table, "to_string"):  # a DataFrame: never truncate or wrap
        return table.to_string(float_format=lambda v: f"{v:.4g}")
    if type(table).__str__ is not object.__str__ and not isinstance(table, list | dict):
        return str(table)
    records = table_records(table)
    if not records:
        return "(no coefficients)"
    cols = list(records[0])
    cells = [[_num(r[c]) for c in cols] for r in records]
    widths = [max(len(str(c)), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(f"{v:>{w}}" for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def diagnostics_records(idata) -> list[dict]:
    """Bulk/tail ESS and R-hat per parameter (ArviZ), as row dicts."""
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = [v for v in ("coef", "intercept") if v in idata["posterior"]]
        frame = az.summary(idata, var_names=names, kind="diagnostics")
    frame = frame.reset_index().rename(columns={"index": "parameter"})
    return frame.to_dict("records")


def _sampler_warnings(idata) -> list[str]:
    attrs = dict(getattr(idata, "attrs", {}) or {})
    out = []
    for key in ("warnings", "diagnostic_warnings", "diagnostics_warnings"):
        val = attrs.get(key)
        if isinstance(val, str) and val:
            out += [w for w in val.split("\n") if w.strip()]
        elif isinstance(val, list | tuple | np.ndarray):
            out += [str(w) for w in val if str(w).strip()]
    return out


def model_report(out, model, *, equivalence, idata, title: str, data_info: dict,
                 settings: dict, demo_text: str | None = None,
                 log: Callable[[str], None] | None = None) -> Path:
    """Assemble and write the full report for one model.

    Parameters
    ----------
    out : path-like
        Report folder.
    model : Model
    equivalence : EquivalenceReport or None
        From :func:`mapreg.fit.verify.verify_equivalence`; ``None`` for a prior without a
        mode (the horseshoe), whose report then says why that section is skipped.
    idata : DataTree
        From :func:`mapreg.sample_posterior` (with its ``map`` group).
    title : str
    data_info : dict
        ``file``, ``rows``, ``features``, ``target``, ``standardized``,
        ``noise_sigma_source``.
    settings : dict
        Sampling settings (draws, tune, chains, sampler, seed).
    demo_text : str, optional
        The demo's multi-scale equivalence table, shown as its own section.
    log : callable, optional
    """
    from mapreg import plots
    from mapreg.priors import Gaussian, Laplace

    prior = model.prior
    has_mode = getattr(prior, "has_mode", True)
    classic = isinstance(prior, Laplace | Gaussian)  # the L1 / L2 figures apply
    sampler = str(idata.attrs.get("sampler", settings.get("sampler", "?")))
    dual = (f"prior ⇔ penalty λ = {prior.lam:.4g}" if has_mode
            else "prior: no mode and no penalty dual (posterior only)")
    subtitle = (f"{html.escape(data_info['file'])} — {data_info['rows']} rows, target "
                f"<code>{html.escape(data_info['target'])}</code>, "
                f"{len(data_info['features'])} features"
                f"{' (standardised)' if data_info['standardized'] else ''}. "
                f"{html.escape(repr(prior))} {dual}.")
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
    if equivalence is not None:
        sections.append(equivalence_section(equivalence))
    else:
        sections.append(Section(
            "Mode = penalised fit",
            f"Skipped: the {html.escape(type(prior).__name__)} prior's density is infinite at "
            "w = 0, so the posterior mode is degenerate (every coefficient 0) and there is no "
            "penalty dual to compare it with. This report shows the posterior only."))

    comparison = comparison_records(idata)
    if not has_mode:
        note = "There is no MAP under this prior (the map column is empty)."
    elif isinstance(prior, Laplace):
        note = ("Under the Laplace prior the MAP has exact zeros, but the posterior of a "
                "continuous prior puts no mass on exactly zero: the posterior mean and median "
                "are not sparse.")
    elif isinstance(prior, Gaussian):
        note = ("Under a Gaussian prior and Gaussian noise the posterior is Gaussian and its "
                "mean, median and mode coincide.")
    else:
        note = "The mode and the posterior summaries need not agree under this prior."
    ctext = "Per coefficient: the MAP beside the posterior summaries. " + note
    if comparison:
        cols = list(comparison[0])
        sections.append(Section("Mode vs posterior", ctext, cols,
                                [[r[c] for c in cols] for r in comparison]))
    diag = diagnostics_records(idata)
    warns = _sampler_warnings(idata)
    diag_text = (f"Sampler: <b>{html.escape(sampler)}</b>; " + ", ".join(
        f"{k} = {html.escape(str(v))}" for k, v in settings.items()) + ". "
        + ("No diagnostic warnings." if not warns else f"{len(warns)} warning(s), shown at top."))
    if diag:
        cols = list(diag[0])
        sections.append(Section("Sampling diagnostics", diag_text, cols,
                                [[r[c] for c in cols] for r in diag]))

    skipped = {}
    if classic:
        figures = [
            FigureSpec("prior_vs_penalty", "The prior's negative log-density is the penalty",
                       "Top: the prior densities. Bottom: the penalty (thick) and −log p(w) "
                       "shifted by the prior's normaliser (dashed) coincide.",
                       lambda: plots.prior_vs_penalty(**({"laplace": prior} if isinstance(
                           prior, Laplace) else {"gaussian": prior}))),
            FigureSpec("shrinkage_force", "Why L1 gives exact zeros and L2 does not",
                       "Left: the pull of each penalty towards zero (constant ±λ for L1, 2λw "
                       "for L2). Right: the resulting one-dimensional MAP: soft-thresholding "
                       "vs proportional shrinkage.",
                       lambda: plots.shrinkage_force(lam=prior.lam)),
        ]
    else:
        figures = [FigureSpec(
            "prior_vs_penalty", "The prior's negative log-density is the penalty",
            "Top: the prior density. Bottom: the penalty (thick) and −log p(w) shifted by the "
            "prior's normaliser (dashed) coincide"
            + ("." if has_mode else "; the horseshoe has no penalty, only −log p(w | τ), "
               "infinite at 0."),
            lambda: plots.prior_vs_penalty(priors=[prior]))]
        skipped["shrinkage_force"] = "drawn for the Laplace and Gaussian priors only"
    if demo_text:
        figures.append(FigureSpec(
            "constraint_geometry", "The geometry: loss contours meet the L1 diamond at a corner",
            "A two-weight problem: the MAP is where a loss contour first touches the L1 "
            "diamond or the L2 disc; the diamond's corners sit on the axes.",
            plots.constraint_geometry))
    if has_mode:
        figures.append(FigureSpec(
            "map_path", "MAP path = penalised path",
            "Coefficients over a grid of prior scales: MAP (thick), the penalised fit "
            "(dashed) and scikit-learn (dots, where it has an equivalent) coincide; the "
            "vertical line marks this report's scale.", lambda: plots.map_path(model)))
    else:
        skipped["map_path"] = "the prior has no mode, so there is no MAP path"
    figures.append(FigureSpec(
        "posterior_vs_mode", "What the mode hides: the posterior",
        "Each coefficient's posterior (density, 50% and 90% intervals, median) "
        "with the MAP (diamond; hollow where exactly zero) and zero marked.",
        lambda: plots.posterior_vs_mode(idata)))
    if not classic:
        skipped["posterior_median_path"] = "drawn for the Laplace and Gaussian priors only"
    elif sampler in ("exact", "gibbs"):
        seed = settings.get("seed") or 0
        figures.append(FigureSpec(
            "posterior_median_path", "Posterior medians vs the MAP path",
            "Left: the MAP path. Right: posterior medians over the same prior scales "
            "(Park & Casella 2008, Figure 1): smooth, without the lasso's kinks and zeros.",
            lambda: plots.posterior_median_path(model, sampler=sampler, random_seed=seed)))
    else:
        skipped["posterior_median_path"] = (
            "posterior medians over 10 prior scales need 10 posterior runs; drawn only "
            f"with the exact or Gibbs sampler, not {sampler}")

    summary = {
        "mapreg_report": 1,
        "title": title,
        "data": data_info,
        "model": {"family": model.family.name, "prior": type(prior).__name__.lower(),
                  "scale": float(next((getattr(prior, a) for a in
                                       ("b", "sigma", "alpha", "s", "scale")
                                       if hasattr(prior, a)), np.nan)),
                  "lam": prior.lam if has_mode else None, "noise_sigma": model.noise_sigma,
                  "fit_intercept": model.fit_intercept},
        "equivalence": (equivalence_summary(equivalence) if equivalence is not None else
                        {"skipped": "the prior has no posterior mode and no penalty dual"}),
        "posterior": {"sampler": sampler, "settings": settings, "warnings": warns,
                      "mode_vs_posterior": comparison, "diagnostics": diag},
    }
    if skipped:
        summary["figures_skipped"] = skipped
    return write_report(out, title=title, subtitle=subtitle, sections=sections,
                        figures=figures, summary=summary, idata=idata, warnings_=warns,
                        log=log)
