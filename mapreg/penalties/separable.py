"""Penalties of the frequentist side, parametrised by ``lam`` directly.

These are deliberately separate from :mod:`mapreg.priors`: a penalised fit
builds its objective from ``lam`` and the loss, the MAP builds it from prior
scales and log densities. Comparing the two is what tests the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mapreg._validation import check_nonnegative
from mapreg.penalties._arith import (
    elasticnet_prox,
    elasticnet_subdiff_distance,
    l1_subdiff_distance,
    l2_subdiff_distance,
    log_penalty_grad,
    log_penalty_hess,
    log_penalty_mm_weights,
    soft_threshold,
)


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


@dataclass(frozen=True)
class Bridge:
    """``lam * sum_j |w_j|**p`` with ``0 < p <= 2`` (the bridge penalty).

    ``p = 1`` is the lasso and ``p = 2`` ridge (same solver path as :class:`L1`,
    :class:`L2`); ``1 < p < 2`` is convex and smooth; ``p < 1`` is non-convex: the
    fit is a local minimiser with a second-order certificate.
    """

    lam: float
    p: float
    name: ClassVar[str] = "bridge"

    def __post_init__(self):
        object.__setattr__(self, "lam", check_nonnegative(self.lam, "lam"))
        p = check_nonnegative(self.p, "p")
        if not 0.0 < p <= 2.0:
            raise ValueError(f"bridge exponent p must lie in (0, 2], got {self.p!r}")
        object.__setattr__(self, "p", p)

    @property
    def convex(self) -> bool:
        return self.p >= 1.0

    @property
    def solver_kind(self) -> str:
        return "cd" if self.p in (1.0, 2.0) else "bridge"

    def value(self, w) -> float:
        return self.lam * float(np.sum(np.abs(np.asarray(w, dtype=float)) ** self.p))

    def bridge_params(self) -> tuple[float, float]:
        return self.lam, self.p

    def subdiff_distance(self, w, grad) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        grad = np.asarray(grad, dtype=float)
        if self.p == 1.0:
            return l1_subdiff_distance(w, grad, self.lam)
        if self.p == 2.0:
            return l2_subdiff_distance(w, grad, self.lam)
        absw = np.abs(w)
        nz = absw > 0
        slope = np.zeros_like(w)
        slope[nz] = self.lam * self.p * absw[nz] ** (self.p - 1.0) * np.sign(w[nz])
        # at 0 the slope of |w|^p is 0 (p > 1) or infinite on both sides (p < 1)
        at_zero = np.abs(grad) if self.p > 1.0 else np.zeros_like(grad)
        return np.where(nz, np.abs(grad + slope), at_zero)

    def cd_weights(self) -> tuple[float, float]:
        if self.p == 1.0:
            return self.lam, 0.0
        if self.p == 2.0:
            return 0.0, self.lam
        raise NotImplementedError(f"|w|**{self.p:g} is solved by the bridge path")


@dataclass(frozen=True)
class ElasticNetPenalty:
    """``lam * sum_j |w_j| + lam2 * sum_j w_j**2`` (the elastic net)."""

    lam: float
    lam2: float
    name: ClassVar[str] = "elasticnet"
    solver_kind: ClassVar[str] = "cd"
    convex: ClassVar[bool] = True

    def __post_init__(self):
        object.__setattr__(self, "lam", check_nonnegative(self.lam, "lam"))
        object.__setattr__(self, "lam2", check_nonnegative(self.lam2, "lam2"))

    def value(self, w) -> float:
        w = np.asarray(w, dtype=float)
        return self.lam * float(np.sum(np.abs(w))) + self.lam2 * float(np.sum(w**2))

    def prox(self, v, step: float) -> np.ndarray:
        return elasticnet_prox(v, step, self.lam, self.lam2)

    def subdiff_distance(self, w, grad) -> np.ndarray:
        return elasticnet_subdiff_distance(w, grad, self.lam, self.lam2)

    def cd_weights(self) -> tuple[float, float]:
        return self.lam, self.lam2


@dataclass(frozen=True)
class LogPenalty:
    """``lam * sum_j log(1 + w_j**2 / delta)`` (non-convex; a Student-t prior's dual)."""

    lam: float
    delta: float
    name: ClassVar[str] = "log"
    solver_kind: ClassVar[str] = "mm"
    convex: ClassVar[bool] = False

    def __post_init__(self):
        object.__setattr__(self, "lam", check_nonnegative(self.lam, "lam"))
        d = check_nonnegative(self.delta, "delta")
        if d == 0.0:
            raise ValueError("delta must be > 0")
        object.__setattr__(self, "delta", d)

    def value(self, w) -> float:
        return self.lam * float(np.sum(np.log1p(np.asarray(w, dtype=float) ** 2 / self.delta)))

    def grad(self, w) -> np.ndarray:
        return log_penalty_grad(w, self.lam, self.delta)

    def hess(self, w) -> np.ndarray:
        return log_penalty_hess(w, self.lam, self.delta)

    def mm_weights(self, w) -> np.ndarray:
        return log_penalty_mm_weights(w, self.lam, self.delta)

    def subdiff_distance(self, w, grad) -> np.ndarray:
        return np.abs(np.asarray(grad, dtype=float) + self.grad(w))


PENALTIES = {"l1": L1, "l2": L2, "bridge": Bridge, "elasticnet": ElasticNetPenalty,
             "log": LogPenalty}


def make_penalty(penalty, lam: float | None = None, **params):
    """Return the penalty object for ``penalty``.

    ``penalty`` is a name — ``"l1"``, ``"l2"`` (``lam``), ``"bridge"`` (``lam``, ``p``),
    ``"elasticnet"`` (``lam``, ``lam2``), ``"log"`` (``lam``, ``delta``) — or a penalty
    object, returned as is (``lam`` and ``params`` must then be left out).
    """
    if not isinstance(penalty, str):
        if lam is not None or params:
            raise ValueError("give either a penalty object or a name with lam=..., not both")
        if not hasattr(penalty, "value") or not hasattr(penalty, "subdiff_distance"):
            raise ValueError(f"not a penalty: {penalty!r}")
        return penalty
    try:
        cls = PENALTIES[penalty]
    except KeyError:
        raise ValueError(f"penalty must be one of ['l1', 'l2'] or, beyond them, "
                         f"['bridge', 'elasticnet', 'log']; got {penalty!r}") from None
    if lam is None:
        raise ValueError(f"penalty {penalty!r} needs lam=...")
    try:
        return cls(lam, **params)
    except TypeError as exc:
        raise ValueError(f"penalty {penalty!r}: {exc}") from None
