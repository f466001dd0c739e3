"""The one registry of priors: name <-> class, read by the CLI, the estimators and the plots.

>>> from mapreg.priors import make_prior
>>> make_prior("bridge", 2.0, p=0.5)
GeneralizedNormal(alpha=2.0, p=0.5)

A prior mapreg does not ship joins with :func:`register_prior` (a class decorator);
from then on ``mapreg --prior NAME``, ``MAPRegressor(prior=NAME)`` and every plot
know it.
"""

from __future__ import annotations

import re

from mapreg.priors.base import Option, Prior

PRIORS: dict[str, type[Prior]] = {}


def register_prior(cls: type[Prior]) -> type[Prior]:
    """Add a :class:`Prior` subclass to the registry under ``cls.name`` (a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Prior)):
        raise TypeError(f"register_prior needs a Prior subclass, got {cls!r}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__name__} needs a class attribute name = '...' to be registered")
    if PRIORS.get(name, cls) is not cls:
        raise ValueError(f"a prior named {name!r} is already registered ({PRIORS[name].__name__})")
    PRIORS[name] = cls
    return cls


def prior_names() -> tuple[str, ...]:
    """The registered names, in registration order."""
    return tuple(PRIORS)


def prior_class(name: str) -> type[Prior]:
    """The class registered as ``name``; ``ValueError`` naming the choices otherwise."""
    if not isinstance(name, str) or name not in PRIORS:
        raise ValueError(f"prior must be one of {list(PRIORS)}, got {name!r}")
    return PRIORS[name]


def make_prior(name: str, scale: float, **options) -> Prior:
    """The prior ``name`` at main scale ``scale`` with its further ``options`` (by option name)."""
    return prior_class(name).from_options(scale, **options)


def blame_option(cls, message: str, given: dict) -> Option | None:
    """The one given option whose field or name ``message`` mentions, else ``None``.

    A prior's own checks name its fields (``"... exponent p must lie in (0, 2]"``);
    this maps such a message back to the option the user set.
    """
    words = set(re.findall(r"[A-Za-z_][\w-]*", message))
    hits = [o for o in cls.options if given.get(o.name) is not None
            and (o.field in words or o.name in words)]
    return hits[0] if len(hits) == 1 else None


def named_prior(name: str, scale: float, params: dict) -> Prior:
    """The prior ``prior=name`` of the scikit-learn estimators, built by ``make_prior``.

    ``params`` maps option names to values; those the prior does not declare are
    ignored. Raises ``ValueError`` naming the estimator parameter at fault: an unknown
    name, a prior without a mode (nothing for ``fit`` to find), a required option left
    ``None``, or the prior's own range check (prefixed with ``option=value:``).
    """
    cls = prior_class(name)
    if not cls.has_mode:
        raise ValueError(
            f"prior={name!r} has no posterior mode (the mode is degenerate) and no penalty "
            "dual, so fit() has nothing to find; sample its posterior with "
            "mapreg.sample_posterior(mapreg.Model(X, y, prior=mapreg.priors.make_prior("
            f"{name!r}, scale), ...)) instead"
        )
    options = {opt.name: params.get(opt.name) for opt in cls.options}
    for opt in cls.options:
        if options[opt.name] is None and opt.default is None:
            raise ValueError(f"prior={name!r} needs {opt.name}= ({opt.help}), got None")
    try:
        return make_prior(name, scale, **options)
    except ValueError as exc:
        opt = blame_option(cls, str(exc), options)
        raise ValueError(f"{opt.name}={options[opt.name]!r}: {exc}" if opt else str(exc)) from None
