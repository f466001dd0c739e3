"""Priors on the regression weights, each knowing its penalty dual.

Every prior here is i.i.d. and zero-centred over the coefficients (the
intercept always has a flat prior and is never penalised). Writing
``-log p(w) = lam * pen(w) + log_normalizer`` makes the duality explicit:

==========  ===========================================  ==================  ===================
prior       density                                      penalty ``pen(w)``  ``lam``
==========  ===========================================  ==================  ===================
Laplace(b)  ``exp(-|w| / b) / (2 b)``                    ``|w|``             ``1 / b``
Gaussian(s) ``exp(-w**2 / (2 s**2)) / sqrt(2 pi s**2)``  ``w**2``            ``1 / (2 s**2)``
==========  ===========================================  ==================  ===================

The penalty on ``p`` coefficients is the sum over them; the L2 penalty is the
*squared* norm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mapreg._validation import check_scale
from mapreg.penalties._arith import l1_subdiff_distance, l2_subdiff_distance, soft_threshold
from mapreg.priors.base import Prior


@dataclass(frozen=True)
class Laplace(Prior):
    r"""Laplace (double-exponential) prior ``p(w) = exp(-|w| / b) / (2 b)``.

    Its negative log-density is ``|w| / b + log(2 b)``: the L1 penalty with
    ``lam = 1 / b``. The MAP under this prior is the lasso.

    Parameters
    ----------
    b : float
        Scale, ``> 0``. Variance is ``2 b**2``.
    """

    b: float
    penalty_name: ClassVar[str] = "l1"

    def __post_init__(self):
        object.__setattr__(self, "b", check_scale(self.b, "Laplace scale b"))

    @property
    def lam(self) -> float:
        return 1.0 / self.b

    @classmethod
    def from_lam(cls, lam: float) -> Laplace:
        return cls(b=1.0 / check_scale(lam, "lam"))

    @property
    def log_normalizer(self) -> float:
        return math.log(2.0 * self.b)

    def logpdf(self, w) -> np.ndarray:
        return -np.abs(np.asarray(w, dtype=float)) / self.b - math.log(2.0 * self.b)

    def penalty(self, w) -> float:
        return float(np.sum(np.abs(w)))

    def prox(self, v, step: float) -> np.ndarray:
        # -step * log p(w) = (step / b) |w| + const: soft-threshold at step / b.
        return soft_threshold(v, step / self.b)

    def subdiff_distance(self, w, grad) -> np.ndarray:
        return l1_subdiff_distance(w, grad, 1.0 / self.b)

    def cd_weights(self) -> tuple[float, float]:
        return 1.0 / self.b, 0.0

    def to_pymc(self, name: str, **kwargs):
        import pymc as pm

        return pm.Laplace(name, mu=0.0, b=self.b, **kwargs)


@dataclass(frozen=True)
class Gaussian(Prior):
    r"""Gaussian prior ``p(w) = exp(-w**2 / (2 sigma**2)) / sqrt(2 pi sigma**2)``.

    Its negative log-density is ``w**2 / (2 sigma**2) + log(2 pi sigma**2) / 2``:
    the squared L2 penalty with ``lam = 1 / (2 sigma**2)``, i.e. ``2 lam = 1/sigma**2``.
    The MAP under this prior is ridge regression.

    Parameters
    ----------
    sigma : float
        Standard deviation, ``> 0``.
    """

    sigma: float
    penalty_name: ClassVar[str] = "l2"

    def __post_init__(self):
        object.__setattr__(self, "sigma", check_scale(self.sigma, "Gaussian scale sigma"))

    @property
    def lam(self) -> float:
        return 1.0 / (2.0 * self.sigma**2)

    @classmethod
    def from_lam(cls, lam: float) -> Gaussian:
        return cls(sigma=math.sqrt(1.0 / (2.0 * check_scale(lam, "lam"))))

    @property
    def log_normalizer(self) -> float:
        return 0.5 * math.log(2.0 * math.pi * self.sigma**2)

    def logpdf(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        return -0.5 * (w / self.sigma) ** 2 - 0.5 * math.log(2.0 * math.pi * self.sigma**2)

    def penalty(self, w) -> float:
        return float(np.sum(np.square(w)))

    def prox(self, v, step: float) -> np.ndarray:
        # argmin (w - v)^2 / 2 + step w^2 / (2 sigma^2)  =>  w = v / (1 + step / sigma^2).
        return np.asarray(v, dtype=float) / (1.0 + step / self.sigma**2)

    def subdiff_distance(self, w, grad) -> np.ndarray:
        # d/dw [w^2 / (2 sigma^2)] = w / sigma^2, written through the weight 1/(2 sigma^2).
        return l2_subdiff_distance(w, grad, 0.5 / self.sigma**2)

    def cd_weights(self) -> tuple[float, float]:
        return 0.0, 0.5 / self.sigma**2

    def to_pymc(self, name: str, **kwargs):
        import pymc as pm

        return pm.Normal(name, mu=0.0, sigma=self.sigma, **kwargs)
