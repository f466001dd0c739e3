"""Horseshoe priors: posterior only (the density is infinite at 0, so there is no mode)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import exp1

from mapreg._validation import check_scale
from mapreg.priors.base import Option, Prior
from mapreg.priors.registry import register_prior


# ------------------------------------------------------------------ horseshoe
class _PosteriorOnlyPrior(Prior):
    """A prior whose density is infinite at 0: no penalty dual, no finite mode."""

    has_mode = False
    convex = False

    def penalty(self):
        raise ValueError(
            f"{type(self).__name__} has no penalty dual: its density is infinite at w = 0, so "
            "the posterior mode is degenerate (every coefficient 0). Sample the posterior with "
            "mapreg.sample_posterior instead of find_map / penalized_fit."
        )

    @property
    def log_normalizer(self) -> float:
        return self.penalty()


@register_prior
@dataclass(frozen=True)
class Horseshoe(_PosteriorOnlyPrior):
    r"""Horseshoe prior (Carvalho, Polson & Scott 2010), for the posterior only.

    ``w_j | lam_j, tau ~ N(0, lam_j**2 tau**2)``, ``lam_j ~ HalfCauchy(1)`` and
    ``tau ~ HalfCauchy(scale)`` (or ``tau = scale`` when ``fixed_tau``). Given
    ``tau`` the marginal density has the closed form
    ``p(w | tau) = exp(u) E1(u) / (tau sqrt(2 pi**3))``, ``u = w**2 / (2 tau**2)``,
    which is infinite at ``w = 0``: there is no penalty dual and the MAP is
    degenerate, so :func:`mapreg.find_map` refuses it. In PyMC it is written
    non-centred, ``w = z * lam * tau`` with ``z ~ N(0, 1)``, which removes the funnel
    between ``w`` and its scales that makes the centred form diverge.

    Parameters
    ----------
    scale : float
        The global scale ``tau0`` (in units of the coefficients), ``> 0``.
    fixed_tau : bool
        Fix ``tau = scale`` instead of giving it a half-Cauchy prior.
    """

    scale: float = 1.0
    fixed_tau: bool = False
    name = "horseshoe"
    scale_param = "scale"
    scale_symbol = "τ₀"
    samplers = frozenset({"gibbs", "nuts"})

    def __post_init__(self):
        object.__setattr__(self, "scale", check_scale(self.scale, "Horseshoe scale"))
        object.__setattr__(self, "fixed_tau", bool(self.fixed_tau))

    def logpdf(self, w) -> np.ndarray:
        """``log p(w | tau = scale)`` (the closed-form marginal over the local scale)."""
        w = np.asarray(w, dtype=float)
        tau = self.scale
        u = w**2 / (2.0 * tau**2)
        # log(e^u E1(u)); beyond u = 700 e^u overflows, and the asymptotic series
        # e^u E1(u) = (1/u)(1 - 1/u + 2/u^2 - 6/u^3 + ...) is exact to ~1e-12 there.
        big = np.maximum(u, 700.0)
        with np.errstate(divide="ignore"):
            log_e1 = np.where(u < 700.0, np.log(np.exp(np.minimum(u, 700.0)) * exp1(u)),
                              -np.log(big) + np.log1p(-1.0 / big + 2.0 / big**2 - 6.0 / big**3))
        return log_e1 - math.log(tau) - 0.5 * math.log(2.0 * math.pi**3)

    def _global_scale(self, name):
        import pymc as pm

        if self.fixed_tau:
            return self.scale
        return pm.HalfCauchy(f"{name}_tau", beta=self.scale)

    def to_pymc(self, name: str, scale=None, **kwargs):
        import pymc as pm

        if scale is not None:
            raise ValueError("the horseshoe's global scale has its own half-Cauchy prior")
        dims = kwargs.pop("dims", None)
        tau = self._global_scale(name)
        lam = pm.HalfCauchy(f"{name}_lam", beta=1.0, dims=dims, **kwargs)
        z = pm.Normal(f"{name}_z", 0.0, 1.0, dims=dims, **kwargs)
        return pm.Deterministic(name, z * lam * tau, dims=dims)


@register_prior
@dataclass(frozen=True)
class RegularizedHorseshoe(_PosteriorOnlyPrior):
    r"""Regularised ("Finnish") horseshoe (Piironen & Vehtari 2017), for the posterior only.

    As :class:`Horseshoe`, with the local scales softly truncated by a slab of
    width ``c``: ``w_j = z_j tau lt_j``, ``lt_j**2 = c**2 lam_j**2 / (c**2 + tau**2 lam_j**2)``,
    ``c**2 ~ InvGamma(slab_df/2, slab_df slab_scale**2 / 2)``, ``z_j ~ N(0, 1)``,
    ``lam_j ~ HalfCauchy(1)``, ``tau ~ HalfCauchy(scale)``. Large coefficients are
    shrunk like a ``N(0, c**2)`` (a Student-t slab after integrating ``c``), which
    keeps the posterior proper and NUTS well behaved when the data identify them
    weakly. No closed-form marginal; :meth:`logpdf` is not available.

    Parameters
    ----------
    scale : float
        Global scale ``tau0``, ``> 0``.
    slab_scale : float
        Slab scale ``s``, ``> 0`` (in units of the coefficients).
    slab_df : float
        Slab degrees of freedom, ``> 0``.
    """

    scale: float = 1.0
    slab_scale: float = 2.0
    slab_df: float = 4.0
    name = "regularized-horseshoe"
    scale_param = "scale"
    scale_symbol = "τ₀"
    options = (Option("slab-scale", "slab_scale", "the slab scale, > 0", 2.0),
               Option("slab-df", "slab_df", "the slab degrees of freedom, > 0", 4.0))
    samplers = frozenset({"gibbs", "nuts"})

    def __post_init__(self):
        object.__setattr__(self, "scale", check_scale(self.scale, "RegularizedHorseshoe scale"))
        object.__setattr__(self, "slab_scale",
                           check_scale(self.slab_scale, "RegularizedHorseshoe slab_scale"))
        object.__setattr__(self, "slab_df",
                           check_scale(self.slab_df, "RegularizedHorseshoe slab_df"))

    def logpdf(self, w):
        raise ValueError("the regularised horseshoe has no closed-form marginal density")

    def to_pymc(self, name: str, scale=None, **kwargs):
        import pymc as pm

        if scale is not None:
            raise ValueError("the horseshoe's global scale has its own half-Cauchy prior")
        dims = kwargs.pop("dims", None)
        tau = pm.HalfCauchy(f"{name}_tau", beta=self.scale)
        lam = pm.HalfCauchy(f"{name}_lam", beta=1.0, dims=dims, **kwargs)
        c2 = pm.InverseGamma(f"{name}_c2", alpha=self.slab_df / 2.0,
                             beta=self.slab_df * self.slab_scale**2 / 2.0)
        lam_t = pm.math.sqrt(c2 * lam**2 / (c2 + tau**2 * lam**2))
        z = pm.Normal(f"{name}_z", 0.0, 1.0, dims=dims, **kwargs)
        return pm.Deterministic(name, z * tau * lam_t, dims=dims)
