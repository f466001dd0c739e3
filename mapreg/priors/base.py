"""The prior base class: an i.i.d. zero-centred prior on each coefficient, dual to a penalty."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np


class Prior(ABC):
    """An i.i.d. zero-centred prior on each coefficient, dual to a penalty.

    Subclasses are frozen dataclasses holding one scale parameter; they state
    their log-density, their penalty dual and their proximal operator.
    """

    #: name of the dual penalty ("l1", "l2", "bridge", "elasticnet", "log").
    penalty_name: ClassVar[str]
    #: which solver path handles the prior's term: "cd" (``a|w| + c w**2``, coordinate
    #: descent), "bridge" (``lam |w|**p``) or "mm" (majorise-minimise); see ``solvers.solve``.
    solver_kind: ClassVar[str] = "cd"
    #: whether ``-log p`` is convex (then a certified stationary point is the global MAP).
    convex: ClassVar[bool] = True
    #: whether the posterior has a finite, non-degenerate mode (``False``: the horseshoe).
    has_mode: ClassVar[bool] = True

    @property
    @abstractmethod
    def lam(self) -> float:
        """Penalty weight ``lam`` such that ``-log p(w) = lam * pen(w) + log_normalizer``."""

    @classmethod
    @abstractmethod
    def from_lam(cls, lam: float) -> Prior:
        """The prior whose negative log-density is ``lam * pen(w)`` plus a constant."""

    @property
    @abstractmethod
    def log_normalizer(self) -> float:
        """``log Z`` of one coefficient: ``-log p(w) = lam * pen(w) + log Z``."""

    @abstractmethod
    def logpdf(self, w) -> np.ndarray:
        """Elementwise log-density ``log p(w_j)``."""

    @abstractmethod
    def penalty(self, w) -> float:
        """The un-weighted penalty ``pen(w)`` summed over ``w`` (``sum |w|`` or ``sum w**2``)."""

    @abstractmethod
    def prox(self, v, step: float) -> np.ndarray:
        """``argmin_w  (w - v)**2 / 2 - step * log p(w)``, elementwise."""

    @abstractmethod
    def subdiff_distance(self, w, grad) -> np.ndarray:
        """Distance from ``-grad`` to the subdifferential of ``-log p`` at ``w``, elementwise.

        Zero at every coordinate exactly when ``w`` is stationary for
        ``f(w) - sum log p(w_j)`` with ``grad = grad f(w)`` (the KKT conditions).
        """

    @abstractmethod
    def cd_weights(self) -> tuple[float, float]:
        """``(a, c)`` with ``-log p(w) = a |w| + c w**2 + log Z``, derived from the scale."""

    @abstractmethod
    def to_pymc(self, name: str, **kwargs):
        """Create the matching PyMC random variable inside the current model context."""

    def penalty_spec(self) -> tuple[str, dict]:
        """``(name, params)`` of the dual penalty for :func:`mapreg.penalties.make_penalty`.

        The parameters are numbers derived from the prior's scale (``lam`` and, for
        the wider family, ``p``, ``lam2`` or ``delta``).
        """
        return self.penalty_name, {"lam": self.lam}

    def neg_logpdf(self, w) -> float:
        """``-sum_j log p(w_j)``: the prior's contribution to the negative log posterior."""
        return float(-np.sum(self.logpdf(w)))
