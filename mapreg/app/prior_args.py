"""The priors as users name them — ``mapreg --prior`` and the estimators' ``prior=`` —
read from the prior registry.

``--prior`` (and ``prior=``) takes any registered name; each option a registered prior declares
(:class:`~mapreg.priors.Option`) becomes a flag ``--NAME``; the help's table of
priors is written from the classes' declared capabilities. A prior registered
before the parser is built (before :func:`mapreg.app.cli.main` runs) is on the
command line like the ones mapreg ships.
"""

from __future__ import annotations

import re

from mapreg.priors import Option, prior_class, prior_names


def registered_options() -> dict[str, tuple[Option, tuple[str, ...]]]:
    """Every option a registered prior declares, by name, with the priors that declare it."""
    out: dict[str, tuple[Option, tuple[str, ...]]] = {}
    for name in prior_names():
        for opt in prior_class(name).options:
            first, owners = out.get(opt.name, (opt, ()))
            out[opt.name] = (first, (*owners, name))
    return out


def dest(option_name: str) -> str:
    """The argparse attribute of ``--option-name``."""
    return option_name.replace("-", "_")


def owners_text(owners) -> str:
    """``"--prior bridge"`` or ``"--prior a or --prior b"``."""
    return " or ".join(f"--prior {o}" for o in owners)


def convexity(cls) -> bool | None:
    """``True``/``False`` as the class declares it; ``None`` when its options decide."""
    value = cls.convex
    return value if isinstance(value, bool) else None


def summary_line(cls) -> str:
    """The first line of the class docstring, without reStructuredText markup."""
    doc = (cls.__doc__ or "").strip()
    line = doc.splitlines()[0] if doc else ""
    return re.sub(r":\w+:`~?([^`]*)`", r"\1", line).replace("``", "")


def notes(cls) -> list[str]:
    """What the command line should say about a prior's mode."""
    if not cls.has_mode:
        return ["no posterior mode and no penalty: 'sample' and 'report' only "
                "(verify refuses it)"]
    convex = convexity(cls)
    if convex is False:
        return ["non-convex: verify certifies a *local* mode, reached from w = 0"]
    if convex is None:
        return ["non-convex for some option values: then verify certifies a *local* mode"]
    return []


def prior_table() -> str:
    """The help's table of priors: names, scale and options, what each is, its caveats."""
    lines = ["priors (--prior NAME, --scale its main scale, and the options it takes):"]
    width = max(map(len, prior_names()), default=0) + 2
    for name in prior_names():
        cls = prior_class(name)
        args = [f"--scale {cls.scale_param.upper()}"]
        args += [f"--{o.name} {o.field.upper()}" + ("" if o.default is None else
                                                      f" (default {o.default:g})")
                 for o in cls.options]
        lines.append(f"  {name:<{width}}{', '.join(args)}")
        lines += [f"  {'':<{width}}{text}" for text in (summary_line(cls), *notes(cls)) if text]
    return "\n".join(lines)


def option_help(opt: Option, owners) -> str:
    """The ``--NAME`` help: which priors take it, what it is, and whether it is required."""
    need = "required there" if opt.default is None else f"default {opt.default:g}"
    return f"{', '.join(owners)} only: {opt.help} ({need})".replace("%", "%%")
