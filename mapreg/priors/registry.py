"""The one registry of priors: name <-> class, read by the CLI, the estimators and the plots.

>>> from mapreg.priors import make_prior
>>> make_prior("bridge", 2.0, p=0.5)
GeneralizedNormal(alpha=2.0, p=0.5)

A prior mapreg does not ship joins with :func:`register_prior` (a class decorator);
from then on ``mapreg --prior NAME``, ``MAPRegressor(prior=NAME)`` and every plot
know it.
"""

from __future__ import annotations

from mapreg.priors.base import Prior

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
