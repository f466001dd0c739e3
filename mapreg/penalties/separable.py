"""The separable penalties mapreg ships, parametrised by ``lam`` directly.

A penalised fit builds its objective from ``lam`` and the loss; the MAP builds its
penalty from a prior's scale (:meth:`mapreg.priors.Prior.penalty`). Comparing the
two fits — and the log-density identity ``-log p(w) = pen(w) + log Z`` — is what
tests the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

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
from mapreg.penalties._bridge import bridge_prox
from mapreg.penalties.base import Penalty


def _lam(value) -> float:
    return check_nonnegative(value, "lam")


@dataclass(frozen=True)
class L1(Penalty):
    """``lam * sum_j |w_j|`` (the lasso penalty)."""

    lam: float
    name = "l1"

    def __post_init__(self):
        object.__setattr__(self, "lam", _lam(self.lam))

    def value(self, w) -> float:
        return self.lam * float(np.sum(np.abs(w)))

    def prox_1d(self, z, step: float) -> np.ndarray:
        return soft_threshold(z, step * self.lam)

    def subdiff_distance(self, w, grad) -> np.ndarray:
        return l1_subdiff_distance(w, grad, self.lam)

    def quadratic_weights(self) -> tuple[float, float]:
        return self.lam, 0.0


@dataclass(frozen=True)
class L2(Penalty):
    """``lam * sum_j w_j**2`` (the ridge penalty; the *squared* norm)."""

    lam: float
    name = "l2"
    smooth = True

    def __post_init__(self):
        object.__setattr__(self, "lam", _lam(self.lam))

    def value(self, w) -> float:
        return self.lam * float(np.sum(np.square(w)))

    def prox_1d(self, z, step: float) -> np.ndarray:
        return np.asarray(z, dtype=float) / (1.0 + 2.0 * step * self.lam)

    def subdiff_distance(self, w, grad) -> np.ndarray:
        return l2_subdiff_distance(w, grad, self.lam)

    def grad(self, w) -> np.ndarray:
        return 2.0 * self.lam * np.asarray(w, dtype=float)

    def hess(self, w) -> np.ndarray:
        return np.full(np.shape(w), 2.0 * self.lam)

    def quadratic_weights(self) -> tuple[float, float]:
        return 0.0, self.lam


@dataclass(frozen=True)
class ElasticNetPenalty(Penalty):
    """``lam * sum_j |w_j| + lam2 * sum_j w_j**2`` (the elastic net)."""

    lam: float
    lam2: float
    name = "elasticnet"

    def __post_init__(self):
        object.__setattr__(self, "lam", _lam(self.lam))
        object.__setattr__(self, "lam2", check_nonnegative(self.lam2, "lam2"))

    def value(self, w) -> float:
        w = np.asarray(w, dtype=float)
        return self.lam * float(np.sum(np.abs(w))) + self.lam2 * float(np.sum(w**2))

    def prox_1d(self, z, step: float) -> np.ndarray:
        return elasticnet_prox(z, step, self.lam, self.lam2)

    def subdiff_distance(self, w, grad) -> np.ndarray:
        return elasticnet_subdiff_distance(w, grad, self.lam, self.lam2)

    def quadratic_weights(self) -> tuple[float, float]:
        return self.lam, self.lam2


@dataclass(frozen=True)
class Bridge(Penalty):
    """``lam * sum_j |w_j|**p`` with ``0 < p <= 2`` (the bridge penalty).

    ``p = 1`` is the lasso and ``p = 2`` ridge (then :meth:`quadratic_weights` sends it
    down the same solver path as :class:`L1`, :class:`L2`); ``1 < p < 2`` is convex and
    differentiable; ``p < 1`` is non-convex: the fit is a local minimiser with a
    second-order certificate. Off zero it is smooth (:meth:`grad`, :meth:`hess` are
    given there and are 0 at ``w = 0``, where the bridge solver never uses them).
    """

    lam: float
    p: float
    name = "bridge"

    def __post_init__(self):
        object.__setattr__(self, "lam", _lam(self.lam))
        p = check_nonnegative(self.p, "p")
        if not 0.0 < p <= 2.0:
            raise ValueError(f"bridge exponent p must lie in (0, 2], got {self.p!r}")
        object.__setattr__(self, "p", p)

    @property
    def convex(self) -> bool:  # type: ignore[override]
        return self.p >= 1.0

    def value(self, w) -> float:
        return self.lam * float(np.sum(np.abs(np.asarray(w, dtype=float)) ** self.p))

    def prox_1d(self, z, step: float) -> np.ndarray:
        return bridge_prox(z, 1.0, step * self.lam, self.p)

    def grad(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        out = np.zeros_like(w)
        nz = w != 0.0
        out[nz] = self.lam * self.p * np.abs(w[nz]) ** (self.p - 1.0) * np.sign(w[nz])
        return out

    def hess(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        out = np.zeros_like(w)
        nz = w != 0.0
        out[nz] = self.lam * self.p * (self.p - 1.0) * np.abs(w[nz]) ** (self.p - 2.0)
        return out

    def subdiff_distance(self, w, grad) -> np.ndarray:
        """``w != 0``: ``|grad + pen'(w)|``. At 0: ``max(|grad| - lam, 0)`` (``p = 1``),
        ``|grad|`` (``p > 1``: slope 0 there), ``0`` (``p < 1``: the slope is infinite on
        both sides, so 0 is always a local minimum along the coordinate)."""
        w = np.asarray(w, dtype=float)
        grad = np.asarray(grad, dtype=float)
        if self.p == 1.0:
            return l1_subdiff_distance(w, grad, self.lam)
        if self.p == 2.0:
            return l2_subdiff_distance(w, grad, self.lam)
        at_zero = np.abs(grad) if self.p > 1.0 else np.zeros_like(grad)
        return np.where(w != 0.0, np.abs(grad + self.grad(w)), at_zero)

    def quadratic_weights(self) -> tuple[float, float] | None:
        if self.p == 1.0:
            return self.lam, 0.0
        if self.p == 2.0:
            return 0.0, self.lam
        return None


@dataclass(frozen=True)
class LogPenalty(Penalty):
    """``lam * sum_j log(1 + w_j**2 / delta)`` (non-convex; a Student-t prior's dual)."""

    lam: float
    delta: float
    name = "log"
    convex = False
    smooth = True

    def __post_init__(self):
        object.__setattr__(self, "lam", _lam(self.lam))
        d = check_nonnegative(self.delta, "delta")
        if d == 0.0:
            raise ValueError("delta must be > 0")
        object.__setattr__(self, "delta", d)

    def value(self, w) -> float:
        return self.lam * float(np.sum(np.log1p(np.asarray(w, dtype=float) ** 2 / self.delta)))

    def prox_1d(self, z, step: float) -> np.ndarray:
        # The stationary points of (x - z)^2/2 + k log(1 + x^2/d) solve the cubic
        # (x - z)(d + x^2) + 2 k x = 0; the global minimiser is the real root of least value.
        z = np.asarray(z, dtype=float)
        out = np.empty_like(z)
        k, d = step * self.lam, self.delta
        for i, zi in np.ndenumerate(z):
            roots = np.roots([1.0, -zi, d + 2.0 * k, -zi * d])
            real = roots[np.abs(roots.imag) <= 1e-9 * (1.0 + np.abs(roots.real))].real
            out[i] = real[np.argmin(0.5 * (real - zi) ** 2 + k * np.log1p(real**2 / d))]
        return out

    def grad(self, w) -> np.ndarray:
        return log_penalty_grad(w, self.lam, self.delta)

    def hess(self, w) -> np.ndarray:
        return log_penalty_hess(w, self.lam, self.delta)

    def majorizer_weights(self, w) -> np.ndarray:
        return log_penalty_mm_weights(w, self.lam, self.delta)

    def subdiff_distance(self, w, grad) -> np.ndarray:
        return np.abs(np.asarray(grad, dtype=float) + self.grad(w))


#: Penalties by name, for :func:`make_penalty` (``penalized_fit(X, y, "l1", lam=...)``).
PENALTIES: dict[str, type[Penalty]] = {
    cls.name: cls for cls in (L1, L2, Bridge, ElasticNetPenalty, LogPenalty)
}


def make_penalty(penalty, lam: float | None = None, **params) -> Penalty:
    """Return the penalty object for ``penalty``.

    ``penalty`` is a name — ``"l1"``, ``"l2"`` (``lam``), ``"bridge"`` (``lam``, ``p``),
    ``"elasticnet"`` (``lam``, ``lam2``), ``"log"`` (``lam``, ``delta``) — or a
    :class:`~mapreg.penalties.base.Penalty`, returned as is (``lam`` and ``params``
    must then be left out).
    """
    if not isinstance(penalty, str):
        if lam is not None or params:
            raise ValueError("give either a penalty object or a name with lam=..., not both")
        if not isinstance(penalty, Penalty):
            raise ValueError(f"not a penalty (mapreg.penalties.Penalty): {penalty!r}")
        return penalty
    try:
        cls = PENALTIES[penalty]
    except KeyError:
        raise ValueError(f"penalty must be one of {sorted(PENALTIES)}, got {penalty!r}") from None
    if lam is None:
        raise ValueError(f"penalty {penalty!r} needs lam=...")
    try:
        return cls(lam, **params)
    except TypeError as exc:
        raise ValueError(f"penalty {penalty!r}: {exc}") from None
