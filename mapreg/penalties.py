"""Penalties of the frequentist side, parametrised by ``lam`` directly.

These are deliberately separate from :mod:`mapreg.priors`: a penalised fit
builds its objective from ``lam`` and the loss, the MAP builds it from prior
scales and log densities. Comparing the two is what tests the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mapreg._prox import l1_subdiff_distance, l2_subdiff_distance, soft_threshold
from mapreg._validation import check_nonnegative


@dataclass(frozen=True)
class L1:
    """``lam * sum_j |w_j|`` (the lasso penalty)."""

    lam: float
    name: ClassVar[str] = "l1"

    def __post_init__(self):
        object.__setattr__(self, "lam", check_nonnegative(self.lam, "lam"))

    def value(self, w) -> float:
        return self.lam * float(np.sum(np.abs(w)))

    def prox(self, v, step: float) -> np.ndarray:
        return soft_threshold(v, step * self.lam)

    def subdiff_distance(self, w, grad) -> np.ndarray:
        return l1_subdiff_distance(w, grad, self.lam)

    def cd_weights(self) -> tuple[float, float]:
        return self.lam, 0.0


@dataclass(frozen=True)
class L2:
    """``lam * sum_j w_j**2`` (the ridge penalty; the *squared* norm)."""

    lam: float
    name: ClassVar[str] = "l2"

    def __post_init__(self):
        object.__setattr__(self, "lam", check_nonnegative(self.lam, "lam"))

    def value(self, w) -> float:
        return self.lam * float(np.sum(np.square(w)))

    def prox(self, v, step: float) -> np.ndarray:
        return np.asarray(v, dtype=float) / (1.0 + 2.0 * step * self.lam)

    def subdiff_distance(self, w, grad) -> np.ndarray:
        return l2_subdiff_distance(w, grad, self.lam)

    def cd_weights(self) -> tuple[float, float]:
        return 0.0, self.lam


PENALTIES = {"l1": L1, "l2": L2}


def make_penalty(penalty: str, lam: float):
    """Return the penalty object for ``penalty`` in {"l1", "l2"}."""
    try:
        cls = PENALTIES[penalty]
    except KeyError:
        raise ValueError(f"penalty must be one of {sorted(PENALTIES)}, got {penalty!r}") from None
    return cls(lam)
