"""Hyperpriors: priors on the noise scale and on the coefficient prior's scale.

A fully Bayesian model leaves the noise standard deviation ``s`` of the
Gaussian family and/or the scale of the coefficient prior unknown and gives
them a prior of their own. Three hyperpriors are offered; each says which
quantity it is a density *of* (that decides its Jacobian and its conjugacy):

=====================  ===================================  ==========================
hyperprior             density                              place it on
=====================  ===================================  ==========================
``HalfCauchy(beta)``   ``2 / (pi beta (1 + (x/beta)**2))``  a standard deviation
                       for ``x > 0``                        (``noise_prior``; the
                                                            Gaussian prior's ``sigma``,
                                                            the Laplace ``b``)
``InverseGamma(a, b)`` ``b**a / Gamma(a) v**(-a-1)          a variance ``v = x**2``
                       exp(-b / v)``                        (noise ``s**2``; Gaussian
                                                            prior ``sigma**2``)
``GammaLambdaSq(r,     ``delta**r / Gamma(r) u**(r-1)       ``u = lam**2 = 1 / b**2``
delta)``               exp(-delta u)``                      of a Laplace(b) prior
                                                            (Park & Casella 2008)
=====================  ===================================  ==========================

Which hyperpriors a prior's scale takes is that prior's ``scale_hyperpriors``.
Placed on the noise, on the Gaussian prior's scale or on the Laplace ``lam**2``, each is
conjugate to the Gibbs sampler's conditionals (the half-Cauchy through its
inverse-gamma scale mixture, Makalic & Schmidt 2016); a half-Cauchy on the Laplace
``b`` is not, and is left to NUTS, which samples any of them. :class:`mapreg.Model`
takes them as ``noise_prior=`` and ``scale_prior=``. Sampled values appear in the
posterior as ``noise_sigma`` (the noise standard deviation ``s``) and ``prior_scale``
(the Laplace ``b`` or the Gaussian ``sigma``). This module holds the distributions and
their validation; the samplers read a hyperprior's kind from :attr:`Hyperprior.on`
(their PyMC form is built in :mod:`mapreg.posterior.pymc_model`, their Gibbs updates
in :mod:`mapreg.posterior.gibbs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import gammaln

from mapreg._validation import check_scale
from mapreg.priors.base import Prior


class Hyperprior:
    """Base class: a prior on a positive scale parameter."""

    #: which quantity the density is over: "sd", "var" or "lam_sq".
    on: ClassVar[str]

    def logpdf(self, x) -> np.ndarray:
        """Log density of the quantity named by :attr:`on`, elementwise."""
        raise NotImplementedError


@dataclass(frozen=True)
class HalfCauchy(Hyperprior):
    r"""Half-Cauchy prior on a standard deviation ``x > 0``.

    ``p(x) = 2 / (pi beta (1 + (x / beta)**2))``. Gelman's (2006) default for
    scale parameters: weakly informative, heavy-tailed. Equivalent to the
    mixture ``x**2 | a ~ InvGamma(1/2, 1/a)``, ``a ~ InvGamma(1/2, 1/beta**2)``
    used by the Gibbs sampler.

    Parameters
    ----------
    beta : float
        Scale (the median of ``x``), ``> 0``.
    """

    beta: float
    on: ClassVar[str] = "sd"

    def __post_init__(self):
        object.__setattr__(self, "beta", check_scale(self.beta, "HalfCauchy beta"))

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        return math.log(2.0 / (math.pi * self.beta)) - np.log1p((x / self.beta) ** 2)


@dataclass(frozen=True)
class InverseGamma(Hyperprior):
    r"""Inverse-gamma prior on a variance ``v > 0``.

    ``p(v) = b**a / Gamma(a) * v**(-a - 1) * exp(-b / v)`` (shape ``a``, scale
    ``b``; mean ``b / (a - 1)`` for ``a > 1``). Conjugate for a Gaussian
    variance: the noise variance ``s**2`` or a Gaussian prior's ``sigma**2``.

    Parameters
    ----------
    a, b : float
        Shape and scale, both ``> 0``.
    """

    a: float
    b: float
    on: ClassVar[str] = "var"

    def __post_init__(self):
        object.__setattr__(self, "a", check_scale(self.a, "InverseGamma shape a"))
        object.__setattr__(self, "b", check_scale(self.b, "InverseGamma scale b"))

    def logpdf(self, v):
        v = np.asarray(v, dtype=float)
        return self.a * math.log(self.b) - gammaln(self.a) - (self.a + 1) * np.log(v) - self.b / v


@dataclass(frozen=True)
class GammaLambdaSq(Hyperprior):
    r"""Gamma prior on ``lam**2`` of a Laplace prior (``lam = 1 / b``).

    ``p(u) = delta**r / Gamma(r) * u**(r - 1) * exp(-delta u)`` for
    ``u = lam**2`` (shape ``r``, rate ``delta``), as in Park & Casella (2008,
    sec. 3.2). Conjugate to the Bayesian-lasso Gibbs sampler:
    ``lam**2 | tau ~ Gamma(p + r, delta + sum(tau_j**2) / 2)``.

    Parameters
    ----------
    r, delta : float
        Shape and rate, both ``> 0``.
    """

    r: float
    delta: float
    on: ClassVar[str] = "lam_sq"

    def __post_init__(self):
        object.__setattr__(self, "r", check_scale(self.r, "GammaLambdaSq shape r"))
        object.__setattr__(self, "delta", check_scale(self.delta, "GammaLambdaSq rate delta"))

    def logpdf(self, u):
        u = np.asarray(u, dtype=float)
        return self.r * math.log(self.delta) - gammaln(self.r) + (self.r - 1) * np.log(u) - (
            self.delta * u
        )


def check_noise_prior(noise_prior) -> Hyperprior:
    """Validate a hyperprior on the noise: one on a standard deviation or on a variance."""
    if not isinstance(noise_prior, Hyperprior) or noise_prior.on not in ("sd", "var"):
        raise ValueError(
            "noise_prior must be HalfCauchy(beta) (on the noise sd) or InverseGamma(a, b) "
            f"(on the noise variance), got {noise_prior!r}"
        )
    return noise_prior


def check_scale_prior(prior: Prior, scale_prior) -> Hyperprior:
    """Validate a hyperprior on the coefficient prior's scale against what the prior accepts.

    Each prior lists the hyperprior classes its main scale takes in
    ``scale_hyperpriors`` (Laplace: ``GammaLambdaSq`` on ``1/b**2`` or ``HalfCauchy`` on
    ``b``; Gaussian: ``HalfCauchy`` on ``sigma`` or ``InverseGamma`` on ``sigma**2``).
    """
    accepted = prior.scale_hyperpriors
    if not accepted:
        raise ValueError(f"no hyperprior support for the prior {prior!r}")
    if not isinstance(scale_prior, accepted):
        names = " or ".join(cls.__name__ for cls in accepted)
        raise ValueError(
            f"a {type(prior).__name__} prior's scale {prior.scale_param} takes {names}, "
            f"got {scale_prior!r}"
        )
    return scale_prior
