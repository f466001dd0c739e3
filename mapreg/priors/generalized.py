r"""The wider prior <-> penalty family: bridge, elastic net, Student-t, horseshoe.

Every prior here is i.i.d. and zero-centred over the coefficients, like
:class:`~mapreg.priors.Laplace` and :class:`~mapreg.priors.Gaussian`, and writes
its negative log-density as ``-log p(w) = (non-constant penalty) + log Z``:

* ``GeneralizedNormal(alpha, p)``: ``-log p(w) = |w/alpha|**p + log(2 alpha Gamma(1 + 1/p))``;
  penalty ``"bridge"``, ``lam sum |w|**p`` with ``lam = alpha**-p``.
* ``ElasticNet(b, sigma)``: ``-log p(w) = |w|/b + w**2/(2 sigma**2) + log Z`` with
  ``Z = sqrt(pi/c) erfcx(a / (2 sqrt c))``, ``a = 1/b``, ``c = 1/(2 sigma**2)``; penalty
  ``"elasticnet"``, ``lam sum |w| + lam2 sum w**2`` with ``lam = 1/b``, ``lam2 = 1/(2 sigma**2)``.
* ``StudentT(nu, s)``: ``-log p(w) = (nu+1)/2 log(1 + w**2/(nu s**2)) + log Z`` with
  ``Z = Gamma(nu/2) sqrt(nu pi) s / Gamma((nu+1)/2)``; penalty ``"log"``,
  ``lam sum log(1 + w**2/delta)`` with ``lam = (nu+1)/2``, ``delta = nu s**2``.
  ``Cauchy(s)`` is ``StudentT(1, s)``.
* ``Horseshoe``, ``RegularizedHorseshoe``: no closed-form penalty; the density is
  infinite at 0, so the MAP is degenerate. Posterior only.

Convexity decides what a mode means. ``GeneralizedNormal`` with ``p >= 1`` and
``ElasticNet`` give a convex negative log posterior (with a convex loss): the
certified stationary point is the unique global MAP. ``GeneralizedNormal``
with ``p < 1`` and ``StudentT`` are **not** convex: the solver returns a local
mode with a second-order certificate (``MAPResult.convex`` is ``False`` and
``MAPResult.min_curvature > 0`` is the smallest eigenvalue of the Hessian on the
support, which makes the point a strict local minimum of the negative log
posterior). Which local mode is found depends on the start (``find_map(start=...)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erfcx, gammaln

from mapreg._validation import check_scale
from mapreg.penalties import Bridge, ElasticNetPenalty, LogPenalty
from mapreg.priors.base import Option, Prior
from mapreg.priors.registry import register_prior

__all__ = ["Cauchy", "ElasticNet", "GeneralizedNormal", "StudentT", "elasticnet_log_normalizer"]


def elasticnet_log_normalizer(a: float, c: float) -> float:
    r"""``log of int exp(-a |w| - c w**2) dw`` for ``a >= 0``, ``c > 0``.

    ``2 int_0^inf exp(-a w - c w^2) dw = sqrt(pi / c) exp(a^2 / (4c)) erfc(a / (2 sqrt c))``
    ``= sqrt(pi / c) erfcx(a / (2 sqrt c))``; the scaled ``erfcx`` avoids the
    overflow of ``exp`` times the underflow of ``erfc`` for large ``a / sqrt(c)``.
    """
    return 0.5 * math.log(math.pi / c) + math.log(float(erfcx(a / (2.0 * math.sqrt(c)))))


def _check_p(p) -> float:
    p = check_scale(p, "GeneralizedNormal exponent p")
    if p > 2.0:
        raise ValueError(f"GeneralizedNormal exponent p must lie in (0, 2], got {p!r}")
    return p


# ------------------------------------------------------------------ generalized normal
@register_prior
@dataclass(frozen=True)
class GeneralizedNormal(Prior):
    r"""Generalized normal (exponential power) prior, dual to the bridge penalty.

    ``p(w) = p / (2 alpha Gamma(1/p)) * exp(-|w / alpha|**p)``, so
    ``-log p(w) = lam |w|**p + log(2 alpha Gamma(1 + 1/p))`` with ``lam = alpha**(-p)``:
    the MAP minimises ``L(w) + lam sum_j |w_j|**p`` (``scipy.stats.gennorm(p, scale=alpha)``).

    * ``p = 1`` is ``Laplace(b=alpha)`` (``lam = 1/alpha``) and ``p = 2`` is
      ``Gaussian(sigma=alpha/sqrt(2))`` (``lam = 1/alpha**2``): the same numbers and
      the same solver path.
    * ``1 < p < 2``: convex, differentiable penalty; a unique MAP, not sparse.
    * ``p < 1``: **non-convex**. The MAP returned is a *local* mode, certified by
      the first-order conditions on its support plus a positive-definite Hessian
      there (``MAPResult.min_curvature > 0``); zeros are always locally optimal
      because ``|w|**p`` has infinite slope at 0. It is reached by coordinate descent
      with the exact (global) 1-D prox from ``start`` (default 0) and ends only after
      a sweep that moves no coordinate, so it is also a coordinate-wise minimum.
      As ``p -> 0`` the penalty tends to ``lam * #{j: w_j != 0}``: best-subset selection.

    Parameters
    ----------
    alpha : float
        Scale, ``> 0``. Variance is ``alpha**2 Gamma(3/p) / Gamma(1/p)``.
    p : float
        Shape (exponent), ``0 < p <= 2``.
    """

    alpha: float
    p: float
    name = "bridge"
    scale_param = "alpha"
    scale_symbol = "α"
    options = (Option("p", "p", "the exponent, 0 < p <= 2"),)

    def __post_init__(self):
        object.__setattr__(self, "alpha",
                           check_scale(self.alpha, "GeneralizedNormal scale alpha"))
        object.__setattr__(self, "p", _check_p(self.p))
        self._check_dual_is_finite()

    def penalty(self) -> Bridge:
        return Bridge(self.alpha ** (-self.p), self.p)

    @classmethod
    def from_lam(cls, lam: float, p: float = 1.0) -> GeneralizedNormal:
        """The prior with ``-log p(w) = lam |w|**p + const``: ``alpha = lam**(-1/p)``."""
        p = _check_p(p)
        return cls(alpha=check_scale(lam, "lam") ** (-1.0 / p), p=p)

    @property
    def log_normalizer(self) -> float:
        return math.log(2.0 * self.alpha) + float(gammaln(1.0 + 1.0 / self.p))

    @property
    def convex(self) -> bool:  # type: ignore[override]
        return self.p >= 1.0

    def logpdf(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        return -np.abs(w / self.alpha) ** self.p - self.log_normalizer

    def to_pymc(self, name: str, scale=None, **kwargs):
        import pymc as pm
        import pytensor.tensor as pt

        _no_scale_variable(self, scale)
        alpha, p, log_z = self.alpha, self.p, self.log_normalizer

        def logp(value, *_):
            return -pt.abs(value / alpha) ** p - log_z

        def random(*_, rng=None, size=None):
            import scipy.stats

            return scipy.stats.gennorm(p, scale=alpha).rvs(size=size, random_state=rng)

        return pm.CustomDist(name, logp=logp, random=random, **kwargs)


# ------------------------------------------------------------------ elastic net
@register_prior
@dataclass(frozen=True)
class ElasticNet(Prior):
    r"""Elastic-net prior: the normalised product of a Laplace and a Gaussian factor.

    ``p(w) = exp(-|w| / b - w**2 / (2 sigma**2)) / Z`` with
    ``Z = int exp(-a|w| - c w^2) dw = sqrt(pi / c) erfcx(a / (2 sqrt c))``,
    ``a = 1/b``, ``c = 1/(2 sigma**2)`` (see :func:`elasticnet_log_normalizer`).
    So ``-log p(w) = lam |w| + lam2 w**2 + log Z``: the MAP is the elastic net
    ``L(w) + lam ||w||_1 + lam2 ||w||_2**2`` with ``lam = 1/b``, ``lam2 = 1/(2 sigma**2)``
    (scikit-learn ``ElasticNet`` through :func:`mapreg.fit.conversions.elasticnet_params`).
    Note ``b`` and ``sigma`` are the scales of the *factors*, not of the product.

    Parameters
    ----------
    b : float
        Scale of the Laplace factor, ``> 0``.
    sigma : float
        Scale of the Gaussian factor, ``> 0``.
    """

    b: float
    sigma: float
    name = "elasticnet"
    scale_param = "b"
    scale_symbol = "b"
    samplers = frozenset({"gibbs", "nuts"})
    options = (Option("scale2", "sigma", "sigma of the Gaussian factor, > 0"),)

    def __post_init__(self):
        object.__setattr__(self, "b", check_scale(self.b, "ElasticNet Laplace scale b"))
        object.__setattr__(self, "sigma",
                           check_scale(self.sigma, "ElasticNet Gaussian scale sigma"))
        self._check_dual_is_finite()

    def penalty(self) -> ElasticNetPenalty:
        return ElasticNetPenalty(1.0 / self.b, 0.5 / self.sigma**2)

    @property
    def lam(self) -> float:
        """The L1 weight ``1/b`` (the L2 weight is :attr:`lam2`)."""
        return 1.0 / self.b

    @property
    def lam2(self) -> float:
        """The squared-L2 weight ``1/(2 sigma**2)``."""
        return 0.5 / self.sigma**2

    @classmethod
    def from_lam(cls, lam: float, lam2: float = 1.0) -> ElasticNet:
        """The prior of ``lam |w| + lam2 w**2``: ``b = 1/lam``, ``sigma = 1/sqrt(2 lam2)``."""
        return cls(b=1.0 / check_scale(lam, "lam"),
                   sigma=1.0 / math.sqrt(2.0 * check_scale(lam2, "lam2")))

    @property
    def log_normalizer(self) -> float:
        return elasticnet_log_normalizer(self.lam, self.lam2)

    def logpdf(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        return -self.lam * np.abs(w) - self.lam2 * w**2 - self.log_normalizer

    def with_scale(self, scale: float) -> ElasticNet:
        """Move ``b`` to ``scale`` and ``sigma`` with it so that ``lam2 / lam`` stays fixed.

        That keeps scikit-learn's ``l1_ratio`` constant along the path: ``lam = 1/b``,
        ``lam2 = 1/(2 sigma**2)``, so ``sigma**2 / b`` is held.
        """
        scale = check_scale(scale, "scale")
        return ElasticNet(scale, self.sigma * math.sqrt(scale / self.b))

    def to_pymc(self, name: str, scale=None, **kwargs):
        import pymc as pm
        import pytensor.tensor as pt

        _no_scale_variable(self, scale)
        a, c, log_z = self.lam, self.lam2, self.log_normalizer

        def logp(value, *_):
            return -a * pt.abs(value) - c * value**2 - log_z

        return pm.CustomDist(name, logp=logp, **kwargs)


# ------------------------------------------------------------------ Student-t
@register_prior
@dataclass(frozen=True)
class StudentT(Prior):
    r"""Student-t prior with ``nu`` degrees of freedom and scale ``s`` (Cauchy: ``nu = 1``).

    ``p(w) = Gamma((nu+1)/2) / (Gamma(nu/2) sqrt(nu pi) s) (1 + w**2/(nu s**2))**(-(nu+1)/2)``,
    so ``-log p(w) = lam log(1 + w**2 / delta) + log Z`` with ``lam = (nu + 1)/2``,
    ``delta = nu s**2`` and ``log Z = log(Gamma(nu/2) sqrt(nu pi) s / Gamma((nu+1)/2))``:
    the log penalty. It is **non-convex** (concave for ``|w| > sqrt(delta)``); the MAP
    is computed by majorise-minimise — ``log(1 + u/delta)`` is concave in ``u = w**2``,
    so its tangent at the current ``w_k`` majorises it and each step is a weighted
    ridge with weights ``lam / (delta + w_k**2)`` — then polished by Newton steps.
    The result is a certified *local* mode (gradient below tolerance, Hessian
    positive definite: ``MAPResult.min_curvature > 0``). The default start is
    ``w = 0``, where the first majoriser is the ridge with weight ``lam/delta``.

    Parameters
    ----------
    nu : float
        Degrees of freedom, ``> 0``.
    s : float
        Scale, ``> 0``.
    """

    nu: float
    s: float
    name = "student-t"
    scale_param = "s"
    scale_symbol = "s"
    options = (Option("nu", "nu", "degrees of freedom, > 0"),)
    convex = False

    def __post_init__(self):
        object.__setattr__(self, "nu", check_scale(self.nu, "StudentT degrees of freedom nu"))
        object.__setattr__(self, "s", check_scale(self.s, "StudentT scale s"))
        self._check_dual_is_finite()

    def penalty(self) -> LogPenalty:
        return LogPenalty(0.5 * (self.nu + 1.0), self.nu * self.s**2)

    @property
    def delta(self) -> float:
        return self.nu * self.s**2

    @classmethod
    def from_lam(cls, lam: float, delta: float = 1.0) -> StudentT:
        """Inverse of ``(lam, delta)``: ``nu = 2 lam - 1`` (``lam > 1/2``), ``s**2 = delta/nu``."""
        lam = check_scale(lam, "lam")
        if lam <= 0.5:
            raise ValueError(f"a Student-t log penalty needs lam > 1/2 (nu = 2 lam - 1), "
                             f"got {lam}")
        nu = 2.0 * lam - 1.0
        return cls(nu=nu, s=math.sqrt(check_scale(delta, "delta") / nu))

    @property
    def log_normalizer(self) -> float:
        nu = self.nu
        return float(gammaln(nu / 2.0) - gammaln((nu + 1.0) / 2.0)
                     + 0.5 * math.log(nu * math.pi) + math.log(self.s))

    def logpdf(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        return -self.lam * np.log1p(w**2 / self.delta) - self.log_normalizer

    def to_pymc(self, name: str, scale=None, **kwargs):
        import pymc as pm

        return pm.StudentT(name, nu=self.nu, mu=0.0, sigma=self.s if scale is None else scale,
                           **kwargs)


@register_prior
@dataclass(frozen=True, init=False)
class Cauchy(StudentT):
    """The Cauchy prior of scale ``s``: ``StudentT(nu=1, s=s)`` (``lam = 1``, ``delta = s**2``)."""

    name = "cauchy"
    options = ()

    def __init__(self, s: float):
        super().__init__(nu=1.0, s=s)

    def with_scale(self, scale: float) -> Cauchy:
        return Cauchy(scale)


def _no_scale_variable(prior: Prior, scale) -> None:
    if scale is not None:
        raise ValueError(f"{type(prior).__name__} takes no hyperprior on its scale")
