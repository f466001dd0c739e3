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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mapreg._validation import check_scale
from mapreg.priors import make_prior

if TYPE_CHECKING:
    from mapreg.priors import Gaussian, Laplace, Prior


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
    return make_prior("laplace", s**2 / (_n(n_samples) * check_scale(alpha, "alpha")))


def ridge_alpha(prior: Gaussian, noise_sigma: float) -> float:
    """scikit-learn ``Ridge(alpha)`` equal to the MAP under ``prior``: ``alpha = s^2 / sigma^2``."""
    s = check_scale(noise_sigma, "noise_sigma")
    return (s / prior.sigma) ** 2  # the ratio first: sigma**2 alone overflows for sigma > 1e154


def gaussian_from_ridge_alpha(alpha: float, noise_sigma: float) -> Gaussian:
    """Inverse of :func:`ridge_alpha`: ``sigma = s / sqrt(alpha)``."""
    s = check_scale(noise_sigma, "noise_sigma")
    return make_prior("gaussian", s / math.sqrt(check_scale(alpha, "alpha")))


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
        make_prior("laplace", s2_n / (alpha * l1_ratio)),
        make_prior("gaussian", math.sqrt(s2_n / (alpha * (1.0 - l1_ratio)))),
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

def _require(prior: Prior, names: tuple[str, ...], message: str) -> None:
    if prior.name not in names:
        raise ValueError(f"{message}, got {prior!r}")


def logistic_C(prior: Laplace | Gaussian) -> float:
    """scikit-learn ``LogisticRegression(C)``: ``C = b`` (Laplace, L1) or ``sigma^2`` (L2).

    With ``l1_ratio=1`` sklearn minimises ``C sum loss + |w|_1``, i.e. ``sum loss +
    |w|_1 / C``; with ``l1_ratio=0`` it minimises ``sum loss + |w|^2 / (2C)``.
    """
    _require(prior, ("laplace", "gaussian"), "no LogisticRegression equivalent")
    return prior.b if prior.name == "laplace" else prior.sigma**2


def prior_from_logistic_C(C: float, l1_ratio: float) -> Laplace | Gaussian:
    """Inverse of :func:`logistic_C` for ``l1_ratio`` 1 (Laplace) or 0 (Gaussian)."""
    C = check_scale(C, "C")
    if l1_ratio == 1:
        return make_prior("laplace", C)
    if l1_ratio == 0:
        return make_prior("gaussian", math.sqrt(C))
    raise ValueError(f"l1_ratio must be 0 or 1 for a single prior, got {l1_ratio!r}")


def poisson_alpha(prior: Gaussian, n_samples: int) -> float:
    """scikit-learn ``PoissonRegressor(alpha)``: ``alpha = 1 / (n sigma^2)``.

    sklearn minimises ``(1/2n) sum deviance + (alpha/2)|w|^2``; the deviance is twice
    the Poisson negative log-likelihood up to constants, so this is
    ``(1/n) (L + (n alpha / 2) |w|^2)`` and ``n alpha / 2 = 1 / (2 sigma^2)``.
    """
    _require(prior, ("gaussian",), "PoissonRegressor has only an L2 penalty (a Gaussian prior)")
    return 1.0 / (_n(n_samples) * prior.sigma**2)


def gaussian_from_poisson_alpha(alpha: float, n_samples: int) -> Gaussian:
    """Inverse of :func:`poisson_alpha`: ``sigma = 1 / sqrt(n alpha)``."""
    return make_prior("gaussian", 1.0 / math.sqrt(_n(n_samples) * check_scale(alpha, "alpha")))


# --- which scikit-learn estimator is which prior -------------------------------------
# This table is the one place in mapreg that pairs named priors with scikit-learn
# estimators: the pairing (Laplace <-> Lasso, Gaussian <-> Ridge, ...) is inherently about
# those priors, so it keys on ``prior.name`` and the family name. A prior or family not in
# it has no scikit-learn peer: sklearn_estimator returns None. (A bridge with p = 1 or
# p = 2 *is* the Laplace or Gaussian prior and is renamed first, by _as_named.)

def _lasso(lm, prior, family, n, common):
    return lm.Lasso(alpha=lasso_alpha(prior, family.noise_sigma, n), **common)


def _ridge(lm, prior, family, n, common):
    return lm.Ridge(alpha=ridge_alpha(prior, family.noise_sigma),
                    fit_intercept=common["fit_intercept"], solver="cholesky")


def _elasticnet(lm, prior, family, n, common):
    alpha, l1_ratio = elasticnet_params(make_prior("laplace", prior.b),
                                        make_prior("gaussian", prior.sigma),
                                        family.noise_sigma, n)
    return lm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, **common)


def _logistic_l1(lm, prior, family, n, common):
    # saga is the only sklearn solver for L1 with an unpenalised intercept;
    # it converges slowly, so cap its epochs (verify reports non-convergence).
    return lm.LogisticRegression(C=logistic_C(prior), l1_ratio=1.0, solver="saga",
                                 **{**common, "max_iter": min(common["max_iter"], 5_000)})


def _logistic_l2(lm, prior, family, n, common):
    return lm.LogisticRegression(C=logistic_C(prior), l1_ratio=0.0, solver="newton-cholesky",
                                 **common)


def _poisson_l2(lm, prior, family, n, common):
    return lm.PoissonRegressor(alpha=poisson_alpha(prior, n), solver="newton-cholesky",
                               **common)


_SKLEARN_PEERS: dict[tuple[str, str], Callable] = {
    ("laplace", "gaussian"): _lasso,
    ("gaussian", "gaussian"): _ridge,
    ("elasticnet", "gaussian"): _elasticnet,
    ("laplace", "bernoulli"): _logistic_l1,
    ("gaussian", "bernoulli"): _logistic_l2,
    ("gaussian", "poisson"): _poisson_l2,
}


def _as_named(prior: Prior) -> Prior:
    """A bridge with ``p = 1`` or ``p = 2`` as the Laplace or Gaussian prior it is."""
    if prior.name == "bridge" and prior.p in (1.0, 2.0):
        return (make_prior("laplace", prior.alpha) if prior.p == 1.0
                else make_prior("gaussian", prior.alpha / math.sqrt(2)))
    return prior


def sklearn_estimator(model, *, tol: float = 1e-12, max_iter: int = 100_000):
    """The scikit-learn estimator whose fit equals the MAP of ``model``, or ``None``.

    ``None`` when scikit-learn has no equivalent: Poisson + Laplace (no L1 Poisson
    regression), the non-convex priors, a prior registered outside mapreg, ...
    Raises ``ImportError`` when scikit-learn is not installed.
    """
    from sklearn import linear_model as lm

    if not model.prior.has_mode:
        return None
    prior = _as_named(model.prior)
    make = _SKLEARN_PEERS.get((prior.name, model.family.name))
    if make is None:
        return None
    common = {"fit_intercept": model.fit_intercept, "tol": tol, "max_iter": max_iter}
    return make(lm, prior, model.family, model.n_samples, common)


@dataclass(frozen=True)
class SklearnPath:
    """scikit-learn's coefficients over a grid of prior scales (a witness for a MAP path)."""

    scales: np.ndarray
    coef: np.ndarray
    label: str


def sklearn_path(model, scales, *, budget_s: float | None = None) -> SklearnPath | None:
    """scikit-learn's fit of ``model`` at each prior scale, or ``None`` without a peer.

    The Laplace prior with Gaussian noise uses ``lasso_path`` (``alpha = s^2/(n b)``);
    any other prior with a peer fits :func:`sklearn_estimator` at each scale. A fit that
    stops at its iteration cap (saga on an L1 logistic model, 5,000 epochs: at p > n it
    may not converge, 1.95 off the MAP at 200 x 1,000) is no witness: its row is NaN and
    the label says how many were left out. ``budget_s``: stop fitting once this many
    seconds have gone, after at least one fit (the rows not fitted are NaN, and the label
    says so). Raises
    ``ImportError`` when scikit-learn is not installed.
    """
    import time
    import warnings

    from mapreg.fit.path import at_scale

    scales = np.asarray(scales, dtype=float)
    if sklearn_estimator(model) is None:
        return None
    if _as_named(model.prior).name == "laplace" and model.family.name == "gaussian":
        return _lasso_path(model, scales)
    coef = np.full((len(scales), model.n_features), np.nan)
    unconverged = skipped = 0
    start = time.perf_counter()
    for k, s in enumerate(scales):
        est = sklearn_estimator(at_scale(model, s))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(model.X, model.y)
        cap, done = getattr(est, "max_iter", None), getattr(est, "n_iter_", None)
        if cap is not None and done is not None and np.max(np.atleast_1d(done)) >= cap:
            unconverged += 1  # stopped by its cap (direct solvers report neither)
        else:
            coef[k] = np.ravel(est.coef_)
        if budget_s is not None and time.perf_counter() - start > budget_s:
            skipped = len(scales) - k - 1  # at least one fit, then the budget
            break
    label = f"scikit-learn {type(est).__name__}"
    notes = []
    if unconverged:
        notes.append(f"{unconverged} of {len(scales)} fits left out: not converged in "
                     f"{est.max_iter:,} iterations")
    if skipped:  # budget_s is set
        notes.append(f"{skipped} not fitted within the {budget_s:g} s budget")
    return SklearnPath(scales, coef, label + (f" ({'; '.join(notes)})" if notes else ""))


def _lasso_path(model, scales) -> SklearnPath:
    from sklearn.linear_model import lasso_path

    # lasso_path fits no intercept: centring X and y profiles the flat-prior intercept out.
    X, y = model.X, model.y
    if model.fit_intercept:
        X, y = X - X.mean(axis=0), y - y.mean()
    prior = _as_named(model.prior)
    alphas = np.array([lasso_alpha(prior.with_scale(s), model.noise_sigma, model.n_samples)
                       for s in scales])
    order = np.argsort(alphas)[::-1]  # lasso_path wants decreasing alphas
    _, coefs, _ = lasso_path(X, y, alphas=alphas[order], tol=1e-12, max_iter=100_000)
    coef = np.empty((len(scales), model.n_features))
    coef[order] = coefs.T
    return SklearnPath(scales, coef, "scikit-learn lasso_path, α = s²/(n b)")
