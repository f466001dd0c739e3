r"""The closed-form posterior of Gaussian prior + Gaussian noise (known scales).

With ``theta = (w, w0)``, ``Z = [X, 1]`` (or ``X`` without intercept), noise sd
``s`` and prior ``w_j ~ N(0, sigma**2)``, ``p(w0) ∝ 1``::

    theta | y ~ N(m, A^{-1}),   A = Z'Z / s**2 + diag(1/sigma**2, ..., 1/sigma**2, 0),
                                m = A^{-1} Z'y / s**2 .

The flat intercept contributes a zero to the prior precision, so it is
integrated exactly (no vague-prior approximation); ``A`` stays positive
definite because its intercept entry is ``n / s**2 > 0`` and the Schur
complement is ``X_c'X_c / s**2 + I / sigma**2`` (``X_c``: column-centred ``X``).
The mean ``m`` is the ridge / MAP solution; draws are ``m + L^{-T} e`` with
``A = L L'`` and ``e ~ N(0, I)``: i.i.d., no Markov chain. Only ``Z'Z`` and ``Z'y`` enter
(:func:`mapreg.posterior.sufficient.gram`): a dask-backed model gives them from its one
pass over the data, so the posterior costs ``O(k**3)`` whatever ``n``.

Which models: the gaussian family with fixed scales (no hyperpriors) and a prior that
lists ``"exact"`` in its ``samplers`` — a prior that does so *is* ``N(0, scale**2)``
(its main scale the standard deviation), the one conjugate case.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import cho_solve, solve_triangular

from mapreg.posterior.draws import Draws
from mapreg.posterior.sufficient import gram


class GaussianPosterior(NamedTuple):
    """Mean, covariance and precision Cholesky factor of ``theta = (w, [w0])``."""

    mean: np.ndarray
    cov: np.ndarray
    chol_precision: np.ndarray
    fit_intercept: bool

    def sample(self, size: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """I.i.d. draws of shape ``size + (k,)``: ``m + L^{-T} e``."""
        k = self.mean.shape[0]
        e = rng.standard_normal((int(np.prod(size)), k))
        # rows x = m + L^{-T} e  <=>  L' x_c = e  (one triangular solve for all draws)
        x = solve_triangular(self.chol_precision, e.T, lower=True, trans="T").T
        return (x + self.mean).reshape((*size, k))


def exact_refusal(model) -> str | None:
    """Why the closed form does not give ``model``'s posterior; ``None`` when it does."""
    prior = model.prior
    if "exact" not in prior.samplers:
        return (f"the {type(prior).__name__} prior ({prior.name!r}) is not conjugate to the "
                "Gaussian likelihood: the exact posterior needs a Gaussian prior")
    if model.family.name != "gaussian":
        return f"it needs the gaussian family, not {model.family.name!r}"
    if model.has_hyperpriors:
        return "it needs fixed noise and prior scales (this model has hyperpriors)"
    return None


def gaussian_posterior(model) -> GaussianPosterior:
    """The exact posterior of a :class:`mapreg.Model` with Gaussian prior and known noise.

    Raises
    ------
    ValueError
        If the model is not Gaussian prior + Gaussian family with fixed scales.
    """
    reason = exact_refusal(model)
    if reason is not None:
        raise ValueError(f"the exact posterior does not apply to {model!r}: {reason}")
    s2 = model.noise_sigma**2
    p = model.n_features
    ZtZ, Zty, _, _ = gram(model)  # dask-backed data: from the one-pass statistics
    A = ZtZ / s2
    # (1/sigma)/sigma: sigma**2 overflows for sigma > 1e154 (then the prior is flat)
    A[np.arange(p), np.arange(p)] += (1.0 / model.prior.scale) / model.prior.scale
    L = np.linalg.cholesky(A)
    mean = cho_solve((L, True), Zty / s2)
    cov = cho_solve((L, True), np.eye(A.shape[0]))
    return GaussianPosterior(mean, cov, L, model.fit_intercept)


def sample_exact(model, draws: int, chains: int, seed: int) -> Draws:
    """``chains x draws`` i.i.d. draws from :func:`gaussian_posterior` (one generator, ``seed``)."""
    theta = gaussian_posterior(model).sample((chains, draws), np.random.default_rng(seed))
    p = model.n_features
    intercept = theta[..., p] if model.fit_intercept else np.zeros((chains, draws))
    return Draws(theta[..., :p], intercept)
