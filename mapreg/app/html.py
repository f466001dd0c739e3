"""The report page: sections and figures rendered into ``report_template.html``."""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Callable, Sequence
from importlib import resources
from string import Template

import numpy as np

#: The page around the body (CSS included), shipped as package data.
TEMPLATE = "report_template.html"


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


def num(v, digits: int = 4) -> str:
    """A table cell: ``—`` for None, ``digits`` significant digits for floats."""
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
        "<tr>" + "".join(f"<td>{html.escape(num(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _slug(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")


def _section_html(s: Section) -> list[str]:
    parts = [f'<h2 id="{_slug(s.title)}">{html.escape(s.title)}</h2>']
    if s.text:
        parts.append(f"<p>{s.text}</p>")
    if s.rows:
        parts.append(_table_html(s.columns, s.rows))
    if s.pre:
        parts.append(f"<pre>{html.escape(s.pre)}</pre>")
    return parts


def _figure_html(spec: FigureSpec, png: str | None, error: str | None) -> list[str]:
    parts = [f"<h3>{html.escape(spec.title)}</h3>"]
    if png is None:
        parts.append(f'<p class="warn">This figure could not be drawn: '
                     f"{html.escape(str(error))}</p>")
    else:
        parts.append(f'<figure><img src="{html.escape(png)}" alt="{html.escape(spec.title)}">'
                     f"<figcaption>{html.escape(spec.caption)}</figcaption></figure>")
    return parts


def render_html(title: str, subtitle: str, sections: Sequence[Section],
                figures: Sequence[tuple[FigureSpec, str | None, str | None]],
                files: Sequence[tuple[str, str]], warnings_: Sequence[str] = ()) -> str:
    """The report page. ``figures`` holds ``(spec, relative png path or None, error or None)``;
    ``files`` holds ``(relative path, description)`` of the downloadable outputs."""
    from mapreg import __version__

    nav = [(_slug(s.title), s.title) for s in sections] + [("figures", "Figures"),
                                                            ("files", "Files")]
    parts = [f"<h1>{html.escape(title)}</h1>", f'<p class="sub">{subtitle}</p>',
             "<nav>" + "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t in nav)
             + "</nav>"]
    parts += [f'<p class="warn">⚠ {html.escape(w)}</p>' for w in warnings_]
    for s in sections:
        parts += _section_html(s)
    parts.append('<h2 id="figures">Figures</h2>')
    for spec, png, error in figures:
        parts += _figure_html(spec, png, error)
    parts.append('<h2 id="files">Files</h2><ul>')
    parts += [f'<li><a href="{html.escape(path)}">{html.escape(path)}</a> — '
              f"{html.escape(what)}</li>" for path, what in files]
    parts.append("</ul>")
    page = Template(resources.files("mapreg.app").joinpath(TEMPLATE).read_text("utf-8"))
    return page.substitute(title=html.escape(title), body="\n".join(parts),
                           version=html.escape(__version__))
