"""A self-contained HTML report folder: figures, tables, ``summary.json`` and the posterior.

Layout of a report folder::

    index.html        the report (links only to files in this folder)
    figures/*.png     the figures
    summary.json      every number in the report, machine-readable
    posterior.nc      the posterior (ArviZ DataTree, netCDF4 via h5netcdf)

The folder appears whole or not at all (:mod:`mapreg.app.files`). The page is
rendered by :mod:`mapreg.app.html`, its sections come from
:mod:`mapreg.app.report_sections` and its figures from :mod:`mapreg.app.report_figures`.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mapreg.app import interrupts
from mapreg.app.files import (
    MARKER,
    ReportError,
    atomic_directory,
    atomic_write,
    check_destination,
    write_netcdf,
)
from mapreg.app.html import FigureSpec, Section, render_html
from mapreg.app.report_figures import report_figures
from mapreg.app.report_sections import (
    comparison_records,
    comparison_text,
    diagnostics_records,
    report_sections,
    report_summary,
    sampler_warnings,
    subtitle,
    table_records,
)

__all__ = ["MARKER", "FigureSpec", "ReportError", "Section", "atomic_directory",
           "atomic_write", "check_destination", "comparison_text", "model_report",
           "table_records", "write_netcdf", "write_report"]


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


def _draw_figures(folder: Path, figures: Sequence[FigureSpec], log, dpi: int):
    """Draw each figure to ``folder/<name>.png``; a failure is recorded, not raised."""
    import matplotlib.pyplot as plt

    drawn, failed = [], {}
    for spec in figures:
        interrupts.check()
        log(f"drawing {spec.name}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fig = spec.make()
                fig.savefig(folder / f"{spec.name}.png", dpi=dpi, bbox_inches="tight")
            plt.close(fig)
            drawn.append((spec, f"figures/{spec.name}.png", None))
        except Exception as exc:  # a figure must not sink the whole report
            plt.close("all")
            msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
            failed[spec.name] = msg
            drawn.append((spec, None, msg))
            log(f"warning: figure {spec.name} could not be drawn: {msg}")
    return drawn, failed


def write_report(out, *, title: str, subtitle: str, sections: Sequence[Section],
                 figures: Sequence[FigureSpec] = (), summary: dict | None = None, idata=None,
                 warnings_: Sequence[str] = (), log: Callable[[str], None] | None = None,
                 dpi: int = 110, inputs: Sequence = ()) -> Path:
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
    inputs : sequence of path-like
        Files the report was made from: ``out`` must not be or hold one.
    """
    log = log or (lambda msg: None)
    out = Path(out).absolute()  # now: writing may replace the current folder
    summary = dict(summary or {})
    with atomic_directory(out, inputs) as tmp:
        (tmp / "figures").mkdir()
        drawn, failed = _draw_figures(tmp / "figures", figures, log, dpi)
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
    return out


def model_report(out, model, *, equivalence, idata, title: str, data_info: dict,
                 settings: dict, demo_text: str | None = None,
                 log: Callable[[str], None] | None = None, inputs: Sequence = (),
                 choices: bool = False) -> Path:
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
        The demo's multi-scale equivalence table, shown as its own section (the demo's
        report also draws the two-weight constraint geometry).
    log : callable, optional
    inputs : sequence of path-like
        The data files read: ``out`` must not be or hold one.
    choices : bool
        Add the "Which λ?" and "Which prior?" sections and figures
        (:mod:`mapreg.app.report_choices`: cross-validation, empirical Bayes and a few
        fast posterior runs, seconds on the diabetes data).
    """
    sampler = str(idata.attrs.get("sampler", settings.get("sampler", "?")))
    comparison, diagnostics = comparison_records(idata), diagnostics_records(idata)
    warns = sampler_warnings(idata)
    sections = report_sections(model, equivalence=equivalence, comparison=comparison,
                               diagnostics=diagnostics, data_info=data_info,
                               settings=settings, sampler=sampler, warns=warns,
                               demo_text=demo_text)
    figures, skipped = report_figures(model, idata, sampler=sampler,
                                      seed=settings.get("seed") or 0, geometry=bool(demo_text))
    summary = report_summary(model, title=title, data_info=data_info, equivalence=equivalence,
                             sampler=sampler, settings=settings, warns=warns,
                             comparison=comparison, diagnostics=diagnostics, skipped=skipped)
    if choices:
        from mapreg.app.report_choices import choice_parts

        more, more_figures, summary["choices"] = choice_parts(
            model, settings.get("seed") or 0, log, idata=idata)
        sections, figures = [*sections, *more], [*figures, *more_figures]
    return write_report(out, title=title, subtitle=subtitle(model, data_info),
                        sections=sections, figures=figures, summary=summary, idata=idata,
                        warnings_=warns, log=log, inputs=inputs)
