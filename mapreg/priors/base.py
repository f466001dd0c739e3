"""The prior interface: a distribution that *has* a penalty, and declares what it can do.

Every prior is i.i.d. and zero-centred over the coefficients (the intercept always
has a flat prior and is never penalised). Its negative log-density splits as
``-log p(w) = pen(w) + log_normalizer`` where ``pen`` is its dual
:class:`~mapreg.penalties.Penalty` (:meth:`Prior.penalty`), so the MAP minimises
``L(w) + sum_j pen(w_j)``.

What a prior can do is class data, read through :mod:`mapreg.priors.registry` by
the CLI, the estimators, the plots, the report, sampling and conversions — none of
them asks "which class is this?":

=====================  ==================================================================
``name``               registry / ``--prior`` / ``prior=`` name (``"laplace"``)
``scale_param``        the dataclass field holding the main scale (``"b"``)
``scale_symbol``       how plots and tables write that scale (``"b"``, ``"σ"``)
``options``            the further constructor parameters (:class:`Option`), e.g. ``p``
``has_mode``           whether the posterior has a finite, non-degenerate mode
``convex``             whether ``-log p`` is convex (a certified stationary point is global)
``samplers``           which samplers target it: ``"exact"``, ``"gibbs"``, ``"nuts"``
``scale_hyperpriors``  hyperprior classes its scale accepts (``Model(scale_prior=...)``)
=====================  ==================================================================
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import ClassVar, NamedTuple

import numpy as np

from mapreg._validation import check_scale


class Option(NamedTuple):
    """A constructor parameter beyond the main scale (the CLI's ``--NAME``, ``prior=`` kwarg).

    Attributes
    ----------
    name : str
        The option's name on the command line and in the estimators (``"scale2"``, ``"p"``).
    field : str
        The dataclass field it sets (``"sigma"``, ``"p"``).
    help : str
        What it is, with its range (``"the exponent, 0 < p <= 2"``).
    default : float or None
        The value used when the option is not given; ``None``: the option is required.
    """

    name: str
    field: str
    help: str
    default: float | None = None


class Prior(ABC):
    """An i.i.d. zero-centred prior on each coefficient, dual to a penalty.

    Subclasses are frozen dataclasses; they state their log-density, their penalty
    dual, their normaliser, their PyMC distribution and, as class data, what they
    can do (see the module docstring). Register a new prior with
    :func:`mapreg.priors.register_prior` and every part of mapreg can use it.
    """

    name: ClassVar[str]
    scale_param: ClassVar[str]
    scale_symbol: ClassVar[str] = "scale"
    options: ClassVar[tuple[Option, ...]] = ()
    has_mode: ClassVar[bool] = True
    convex: ClassVar[bool] = True
    samplers: ClassVar[frozenset[str]] = frozenset({"nuts"})
    scale_hyperpriors: ClassVar[tuple[type, ...]] = ()

    # ------------------------------------------------------------------ the density
    @abstractmethod
    def logpdf(self, w) -> np.ndarray:
        """Elementwise log-density ``log p(w_j)``."""

    @property
    @abstractmethod
    def log_normalizer(self) -> float:
        """``log Z`` of one coefficient: ``-log p(w) = pen(w) + log Z``."""

    @abstractmethod
    def penalty(self):
        """The dual :class:`~mapreg.penalties.Penalty`: ``-log p(w) = pen(w) + log Z``."""

    @abstractmethod
    def to_pymc(self, name: str, scale=None, **kwargs):
        """Create the matching PyMC random variable inside the current model context.

        ``scale`` replaces the main scale by a PyMC variable (a hyperprior); ``None``
        uses the fixed value.
        """

    def _check_dual_is_finite(self) -> None:
        """Refuse scales whose penalty weights or normaliser overflow double precision.

        Called at the end of construction: ``Gaussian(sigma=1e-200)`` would otherwise give
        ``lam = 1/(2 sigma**2) = inf`` and fail deep inside a solver.
        """
        if not self.has_mode:
            return
        try:
            with np.errstate(over="raise", divide="raise"):
                pen = self.penalty()
                values = {f.name: getattr(pen, f.name) for f in dataclasses.fields(pen)}
                values["log normaliser"] = self.log_normalizer
            bad = next((f"{k} = {v}" for k, v in values.items() if not np.isfinite(v)), None)
        except (ValueError, ArithmeticError, FloatingPointError) as exc:
            bad = str(exc)
        if bad:
            raise ValueError(
                f"{self!r} is out of range: its penalty or normaliser is not a finite double "
                f"({bad}); choose a less extreme {self.scale_param}"
            )

    def neg_logpdf(self, w) -> float:
        """``-sum_j log p(w_j)``: the prior's contribution to the negative log posterior."""
        return float(-np.sum(self.logpdf(w)))

    @property
    def lam(self) -> float:
        """The weight ``lam`` of the dual penalty (``1/b`` for Laplace, ``1/(2 sigma**2)``, ...)."""
        return self.penalty().lam

    # ------------------------------------------------------------------ the scale
    @property
    def scale(self) -> float:
        """The main scale (the field named by ``scale_param``)."""
        return float(getattr(self, self.scale_param))

    def with_scale(self, scale: float) -> Prior:
        """The same prior moved to ``scale`` along its one-parameter family (other options kept)."""
        return dataclasses.replace(self, **{self.scale_param: check_scale(scale, "scale")})

    @classmethod
    def from_options(cls, scale: float, **options) -> Prior:
        """Build from the main scale and :attr:`options` by name (as the CLI and estimators do).

        Raises
        ------
        ValueError
            An option missing, or one this prior does not take.
        """
        known = {opt.name: opt for opt in cls.options}
        unknown = sorted(k for k, v in options.items() if v is not None and k not in known)
        if unknown:
            raise ValueError(f"{unknown[0]} does not apply to prior {cls.name!r}")
        kwargs = {cls.scale_param: scale}
        for opt in cls.options:
            value = options.get(opt.name)
            if value is None and opt.default is None:
                raise ValueError(f"prior {cls.name!r} needs {opt.name} ({opt.help})")
            kwargs[opt.field] = opt.default if value is None else value
        return cls(**kwargs)
