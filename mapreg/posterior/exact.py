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
``A = L L'`` and ``e ~ N(0, I)``: i.i.d., no Markov chain.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import cho_solve, solve_triangular

from mapreg.priors import Gaussian


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


def gaussian_posterior(model) -> GaussianPosterior:
    """The exact posterior of a :class:`mapreg.Model` with Gaussian prior and known noise.

    Raises
    ------
    ValueError
        If the model is not Gaussian prior + Gaussian family with fixed scales.
    """
    if (not isinstance(model.prior, Gaussian) or model.family.name != "gaussian"
            or getattr(model, "has_hyperpriors", False)):
        raise ValueError(
            "the exact posterior needs a Gaussian prior, the gaussian family and fixed "
            f"scales (no hyperpriors); got {model!r}"
        )
    s2 = model.noise_sigma**2
    X, y = model.X, model.y
    n, p = X.shape
    Z = np.column_stack([X, np.ones(n)]) if model.fit_intercept else X
    A = Z.T @ Z / s2
    A[np.arange(p), np.arange(p)] += 1.0 / model.prior.sigma**2
    L = np.linalg.cholesky(A)
    mean = cho_solve((L, True), Z.T @ y / s2)
    cov = cho_solve((L, True), np.eye(A.shape[0]))
    return GaussianPosterior(mean, cov, L, model.fit_intercept)
