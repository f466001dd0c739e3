"""The two classic priors: Laplace (dual to the lasso) and Gaussian (dual to ridge).

Writing ``-log p(w) = lam * pen(w) + log_normalizer`` makes the duality explicit:

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

import numpy as np

from mapreg._validation import check_scale
from mapreg.penalties import L1, L2
from mapreg.priors.base import Prior
from mapreg.priors.hyper import GammaLambdaSq, HalfCauchy, InverseGamma
from mapreg.priors.registry import register_prior


@register_prior
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
    name = "laplace"
    scale_param = "b"
    scale_symbol = "b"
    samplers = frozenset({"gibbs", "nuts"})
    scale_hyperpriors = (GammaLambdaSq, HalfCauchy)

    def __post_init__(self):
        object.__setattr__(self, "b", check_scale(self.b, "Laplace scale b"))
        self._check_dual_is_finite()

    def penalty(self) -> L1:
        return L1(1.0 / self.b)

    @classmethod
    def from_lam(cls, lam: float) -> Laplace:
        return cls(b=1.0 / check_scale(lam, "lam"))

    @property
    def log_normalizer(self) -> float:
        return math.log(2.0 * self.b)

    def logpdf(self, w) -> np.ndarray:
        return -np.abs(np.asarray(w, dtype=float)) / self.b - math.log(2.0 * self.b)

    def to_pymc(self, name: str, scale=None, **kwargs):
        import pymc as pm

        return pm.Laplace(name, mu=0.0, b=self.b if scale is None else scale, **kwargs)


@register_prior
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
    name = "gaussian"
    scale_param = "sigma"
    scale_symbol = "σ"
    samplers = frozenset({"exact", "gibbs", "nuts"})
    scale_hyperpriors = (HalfCauchy, InverseGamma)

    def __post_init__(self):
        object.__setattr__(self, "sigma", check_scale(self.sigma, "Gaussian scale sigma"))
        self._check_dual_is_finite()

    def penalty(self) -> L2:
        # 0.5 / sigma / sigma: sigma**2 alone underflows to 0 for sigma < 1e-162
        return L2(0.5 / self.sigma / self.sigma)

    @classmethod
    def from_lam(cls, lam: float) -> Gaussian:
        return cls(sigma=math.sqrt(1.0 / (2.0 * check_scale(lam, "lam"))))

    @property
    def log_normalizer(self) -> float:
        # log(sigma) + log(2 pi)/2: sigma**2 alone overflows for sigma > 1e154
        return math.log(self.sigma) + 0.5 * math.log(2.0 * math.pi)

    def logpdf(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        return -0.5 * (w / self.sigma) ** 2 - self.log_normalizer

    def to_pymc(self, name: str, scale=None, **kwargs):
        import pymc as pm

        return pm.Normal(name, mu=0.0, sigma=self.sigma if scale is None else scale, **kwargs)
