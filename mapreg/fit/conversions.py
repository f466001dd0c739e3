"""Parameter conversions between prior scales and other libraries' penalties.

Conventions (``n`` rows, Gaussian noise ``s``, Laplace scale ``b``, Gaussian
prior standard deviation ``sigma``). mapreg's negative log posterior, up to
constants, is ``sum (y - Xw)^2 / (2 s^2) + |w|_1 / b + |w|_2^2 / (2 sigma^2)``;
each library's objective is a positive multiple of it, which fixes the map:

* scikit-learn ``Lasso``: ``(1/2n)|y - Xw|^2 + alpha |w|_1``, so ``alpha = s^2 / (n b)``.
* scikit-learn ``Ridge``: ``|y - Xw|^2 + alpha |w|^2``, so ``alpha = s^2 / sigma^2``.
* scikit-learn ``ElasticNet``: ``(1/2n)|y - Xw|^2 + a r |w|_1 + a (1 - r)/2 |w|^2``,
  so ``a r = s^2 / (n b)`` and ``a (1 - r) = s^2 / (n sigma^2)``.
* scikit-learn ``LogisticRegression``: ``C sum loss + |w|_1`` (``l1_ratio=1``) or
  ``C sum loss + |w|^2 / 2`` (``l1_ratio=0``), so ``C = b`` or ``C = sigma^2``.
* scikit-learn ``PoissonRegressor``: ``(1/2n) sum deviance + (alpha/2) |w|^2``,
  so ``alpha = 1 / (n sigma^2)``.
* statsmodels ``fit_regularized(alpha, L1_wt)`` (gaussian):
  ``RSS/(2n) + alpha (L1_wt |w|_1 + (1 - L1_wt)/2 |w|^2)``, the ``ElasticNet`` pair.
* glmnet (gaussian): the ``ElasticNet`` objective after scaling ``y`` by ``sd(y)``
  internally, which multiplies the L2 part by ``sd(y)``.

(For the classifiers and Poisson there is no noise scale: the loss is the
total negative log-likelihood itself.) None of these libraries penalise the
intercept, matching the flat prior — except statsmodels, which penalises
every column it is given, so pass it centred data without a constant column.
"""

from __future__ import annotations

import math

from mapreg._validation import check_scale
from mapreg.priors import Gaussian, Laplace


def _n(n_samples) -> int:
    if isinstance(n_samples, bool) or int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    return int(n_samples)


# --- scikit-learn, gaussian family -------------------------------------------------

def lasso_alpha(prior: Laplace, noise_sigma: float, n_samples: int) -> float:
    """scikit-learn ``Lasso(alpha)`` equal to the MAP under ``prior``: ``alpha = s^2 / (n b)``."""
    s = check_scale(noise_sigma, "noise_sigma")
    return s**2 / (_n(n_samples) * prior.b)


def laplace_from_lasso_alpha(alpha: float, noise_sigma: float, n_samples: int) -> Laplace:
    """Inverse of :func:`lasso_alpha`: ``b = s^2 / (n alpha)``."""
    s = check_scale(noise_sigma, "noise_sigma")
    return Laplace(b=s**2 / (_n(n_samples) * check_scale(alpha, "alpha")))


def ridge_alpha(prior: Gaussian, noise_sigma: float) -> float:
    """scikit-learn ``Ridge(alpha)`` equal to the MAP under ``prior``: ``alpha = s^2 / sigma^2``."""
    s = check_scale(noise_sigma, "noise_sigma")
    return s**2 / prior.sigma**2


def gaussian_from_ridge_alpha(alpha: float, noise_sigma: float) -> Gaussian:
    """Inverse of :func:`ridge_alpha`: ``sigma = s / sqrt(alpha)``."""
    s = check_scale(noise_sigma, "noise_sigma")
    return Gaussian(sigma=s / math.sqrt(check_scale(alpha, "alpha")))


def elasticnet_params(
    laplace: Laplace, gaussian: Gaussian, noise_sigma: float, n_samples: int
) -> tuple[float, float]:
    """scikit-learn ``ElasticNet(alpha, l1_ratio)`` for a Laplace x Gaussian prior product.

    ``alpha * l1_ratio = s^2 / (n b)`` and ``alpha * (1 - l1_ratio) = s^2 / (n sigma^2)``.
    The same pair is statsmodels' ``fit_regularized(alpha=..., L1_wt=...)``.
    """
    s2_n = check_scale(noise_sigma, "noise_sigma") ** 2 / _n(n_samples)
    l1, l2 = s2_n / laplace.b, s2_n / gaussian.sigma**2
    return l1 + l2, l1 / (l1 + l2)


def priors_from_elasticnet(
    alpha: float, l1_ratio: float, noise_sigma: float, n_samples: int
) -> tuple[Laplace, Gaussian]:
    """Inverse of :func:`elasticnet_params` (needs ``0 < l1_ratio < 1``)."""
    alpha = check_scale(alpha, "alpha")
    if not 0.0 < l1_ratio < 1.0:
        raise ValueError(f"l1_ratio must be strictly between 0 and 1, got {l1_ratio!r}")
    s2_n = check_scale(noise_sigma, "noise_sigma") ** 2 / _n(n_samples)
    return (
        Laplace(b=s2_n / (alpha * l1_ratio)),
        Gaussian(sigma=math.sqrt(s2_n / (alpha * (1.0 - l1_ratio)))),
    )


def statsmodels_params(
    laplace: Laplace, gaussian: Gaussian, noise_sigma: float, n_samples: int
) -> dict:
    """statsmodels ``OLS.fit_regularized(method="elastic_net", alpha, L1_wt)`` arguments."""
    alpha, l1_wt = elasticnet_params(laplace, gaussian, noise_sigma, n_samples)
    return {"alpha": alpha, "L1_wt": l1_wt}


def glmnet_params(
    laplace: Laplace, gaussian: Gaussian, noise_sigma: float, n_samples: int, y_sd: float
) -> dict:
    """glmnet (``family="gaussian"``) ``lambda`` and ``alpha`` for a Laplace x Gaussian prior.

    glmnet minimises ``(1/2n)|y* - X w*|^2 + lambda* ((1-a)/2 |w*|^2 + a |w*|_1)`` on
    ``y* = y / sd(y)`` with ``lambda* = lambda / sd(y)`` and reports ``w = sd(y) w*``.
    In ``w`` that is ``(1/2n)|y - Xw|^2 + lambda (a |w|_1 + (1-a)/(2 sd(y)) |w|^2)``, so
    ``lambda a = s^2/(n b)`` and ``lambda (1-a) = sd(y) s^2 / (n sigma^2)``, where
    ``sd(y)`` is the standard deviation with divisor ``n``. (Derived from glmnet's
    documented standardisation; not checked against R here.)
    """
    s2_n = check_scale(noise_sigma, "noise_sigma") ** 2 / _n(n_samples)
    l1 = s2_n / laplace.b
    l2 = check_scale(y_sd, "y_sd") * s2_n / gaussian.sigma**2
    return {"lambda": l1 + l2, "alpha": l1 / (l1 + l2)}


# --- scikit-learn, GLMs --------------------------------------------------------------

def logistic_C(prior: Laplace | Gaussian) -> float:
    """scikit-learn ``LogisticRegression(C)``: ``C = b`` (Laplace, L1) or ``sigma^2`` (L2).

    With ``l1_ratio=1`` sklearn minimises ``C sum loss + |w|_1``, i.e. ``sum loss +
    |w|_1 / C``; with ``l1_ratio=0`` it minimises ``sum loss + |w|^2 / (2C)``.
    """
    if isinstance(prior, Laplace):
        return prior.b
    if isinstance(prior, Gaussian):
        return prior.sigma**2
    raise ValueError(f"no LogisticRegression equivalent for {prior!r}")


def prior_from_logistic_C(C: float, l1_ratio: float) -> Laplace | Gaussian:
    """Inverse of :func:`logistic_C` for ``l1_ratio`` 1 (Laplace) or 0 (Gaussian)."""
    C = check_scale(C, "C")
    if l1_ratio == 1:
        return Laplace(b=C)
    if l1_ratio == 0:
        return Gaussian(sigma=math.sqrt(C))
    raise ValueError(f"l1_ratio must be 0 or 1 for a single prior, got {l1_ratio!r}")


def poisson_alpha(prior: Gaussian, n_samples: int) -> float:
    """scikit-learn ``PoissonRegressor(alpha)``: ``alpha = 1 / (n sigma^2)``.

    sklearn minimises ``(1/2n) sum deviance + (alpha/2)|w|^2``; the deviance is twice
    the Poisson negative log-likelihood up to constants, so this is
    ``(1/n) (L + (n alpha / 2) |w|^2)`` and ``n alpha / 2 = 1 / (2 sigma^2)``.
    """
    if not isinstance(prior, Gaussian):
        raise ValueError("PoissonRegressor has only an L2 penalty (a Gaussian prior)")
    return 1.0 / (_n(n_samples) * prior.sigma**2)


def gaussian_from_poisson_alpha(alpha: float, n_samples: int) -> Gaussian:
    """Inverse of :func:`poisson_alpha`: ``sigma = 1 / sqrt(n alpha)``."""
    return Gaussian(sigma=1.0 / math.sqrt(_n(n_samples) * check_scale(alpha, "alpha")))


def sklearn_estimator(model, *, tol: float = 1e-12, max_iter: int = 100_000):
    """The scikit-learn estimator whose fit equals the MAP of ``model``, or ``None``.

    ``None`` for Poisson + Laplace (scikit-learn has no L1 Poisson regression).
    Raises ``ImportError`` when scikit-learn is not installed.
    """
    from sklearn import linear_model as lm

    from mapreg.priors import ElasticNet, GeneralizedNormal

    prior, family, n = model.prior, model.family, model.n_samples
    common = {"fit_intercept": model.fit_intercept, "tol": tol, "max_iter": max_iter}
    # p = 1 and p = 2 bridges are the Laplace and Gaussian priors themselves.
    if isinstance(prior, GeneralizedNormal) and prior.p in (1.0, 2.0):
        prior = Laplace(prior.alpha) if prior.p == 1.0 else Gaussian(prior.alpha / math.sqrt(2))
    if isinstance(prior, ElasticNet):
        if family.name != "gaussian":
            return None
        alpha, l1_ratio = elasticnet_params(Laplace(prior.b), Gaussian(prior.sigma),
                                            family.noise_sigma, n)
        return lm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, **common)
    if family.name == "gaussian":
        if isinstance(prior, Laplace):
            return lm.Lasso(alpha=lasso_alpha(prior, family.noise_sigma, n), **common)
        if isinstance(prior, Gaussian):
            return lm.Ridge(alpha=ridge_alpha(prior, family.noise_sigma),
                            fit_intercept=model.fit_intercept, solver="cholesky")
    elif family.name == "bernoulli":
        if isinstance(prior, Laplace):
            # saga is the only sklearn solver for L1 with an unpenalised intercept;
            # it converges slowly, so cap its epochs (verify reports non-convergence).
            return lm.LogisticRegression(C=logistic_C(prior), l1_ratio=1.0, solver="saga",
                                         **{**common, "max_iter": min(max_iter, 5_000)})
        if isinstance(prior, Gaussian):
            return lm.LogisticRegression(C=logistic_C(prior), l1_ratio=0.0,
                                         solver="newton-cholesky", **common)
    elif family.name == "poisson" and isinstance(prior, Gaussian):
        return lm.PoissonRegressor(alpha=poisson_alpha(prior, n), solver="newton-cholesky",
                                   **common)
    return None
