"""The Bayesian regression model: data, likelihood family and prior, validated once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mapreg._validation import check_X_y
from mapreg.backends import is_dask
from mapreg.families import Family, GaussianFamily, make_family
from mapreg.priors import Prior
from mapreg.priors.hyper import Hyperprior, check_noise_prior, check_scale_prior


class Model:
    r"""A generalised linear model with an i.i.d. prior on the coefficients.

    .. math::

        y_i \mid w, w_0 \sim \text{family}(\eta_i), \quad \eta = X w + w_0, \quad
        w_j \sim \text{prior}, \quad p(w_0) \propto 1 .

    The negative log posterior (up to the evidence) is
    ``-sum_i log p(y_i | eta_i) - sum_j log p(w_j)``; the flat intercept prior
    adds nothing and the intercept is never penalised.

    Parameters
    ----------
    X : array-like, dask array or dask DataFrame, shape (n_samples, n_features)
        Design matrix (used as given: standardise it yourself if you want to). A dask
        array or DataFrame stays where it is (out of core, or on a ``dask.distributed``
        cluster): see :attr:`is_dask`; a DataFrame's columns name the features.
    y : array-like, dask array or dask Series, shape (n_samples,)
        Response: real for ``"gaussian"``, {0, 1} for ``"bernoulli"``,
        non-negative integers for ``"poisson"``. With dask ``X``: in the same row
        chunks (e.g. ``df[target]`` of the DataFrame ``X`` comes from).
    prior : Prior
        Prior on each coefficient, e.g. ``Laplace(b=2.0)`` or ``Gaussian(sigma=1.0)``.
    family : {"gaussian", "bernoulli", "poisson"} or Family
        Likelihood family (canonical links: identity, logit, log).
    noise_sigma : float, optional
        Known noise standard deviation; required for (only for) ``"gaussian"``.
    fit_intercept : bool
        Whether to include the flat-prior intercept ``w0``.
    feature_names : sequence of str, optional
        Names of the columns of ``X`` (default ``x0, x1, ...``).
    noise_prior : HalfCauchy or InverseGamma, optional
        Hyperprior on the unknown noise of the ``"gaussian"`` family (on the
        sd ``s`` or on ``s**2``, see :mod:`mapreg.priors.hyper`); replaces
        ``noise_sigma``, which must then be left out.
    scale_prior : GammaLambdaSq, HalfCauchy or InverseGamma, optional
        Hyperprior on the scale of ``prior`` (Laplace ``b`` through
        ``lam**2 = 1/b**2`` or ``b`` itself; Gaussian ``sigma`` or ``sigma**2``).
        The scale given in ``prior`` is then only a reference value.

    Notes
    -----
    With a hyperprior the posterior mode over the weights alone is not
    defined by fixed scales, so :func:`mapreg.find_map` refuses such a model;
    :func:`mapreg.sample_posterior` samples the joint posterior. With a
    ``noise_prior`` the model's :attr:`family` is ``GaussianFamily(noise_sigma=None)``,
    whose likelihood methods refuse to run without a noise value.
    """

    def __init__(
        self,
        X,
        y,
        prior: Prior,
        family: str | Family = "gaussian",
        noise_sigma: float | None = None,
        fit_intercept: bool = True,
        feature_names: Sequence[str] | None = None,
        noise_prior: Hyperprior | None = None,
        scale_prior: Hyperprior | None = None,
    ):
        if not isinstance(prior, Prior):
            raise ValueError(
                f"prior must be a mapreg prior such as Laplace(b) or Gaussian(sigma), got {prior!r}"
            )
        if not isinstance(fit_intercept, bool | np.bool_):
            raise ValueError(f"fit_intercept must be True or False, got {fit_intercept!r}")
        if noise_prior is not None:
            if family != "gaussian" and getattr(family, "name", None) != "gaussian":
                raise ValueError("noise_prior applies only to the gaussian family")
            if noise_sigma is not None:
                raise ValueError("give either noise_sigma (known noise) or noise_prior, not both")
            self.family = GaussianFamily(noise_sigma=None)  # unknown: sampled, not fixed
        else:
            self.family = make_family(family, noise_sigma)
            if self.family.name == "gaussian" and self.family.noise_sigma is None:
                raise ValueError("the gaussian family needs noise_sigma (the known noise "
                                 "standard deviation), or a noise_prior")
        self.noise_prior = None if noise_prior is None else check_noise_prior(noise_prior)
        self.scale_prior = None if scale_prior is None else check_scale_prior(prior, scale_prior)
        self._input_dtypes = (_dtype(X), _dtype(y))
        self._dask = None
        if is_dask(X) or is_dask(y):
            from mapreg.backends.dask_stats import DaskData

            # shapes and dtypes now; values (nan/inf, labels) in the first pass
            self._dask = DaskData(X, y, self.family)
            X, y = self._dask.X, self._dask.y
            if feature_names is None and self._dask.columns is not None:
                feature_names = self._dask.columns
        else:
            X, y = check_X_y(X, y)
            y = self.family.validate_y(y)
            if fit_intercept:
                self.family.check_intercept_identified(y)
        self.X, self.y = X, y
        self.prior = prior
        self.fit_intercept = bool(fit_intercept)
        if feature_names is None:
            feature_names = [f"x{j}" for j in range(X.shape[1])]
        feature_names = [str(f) for f in feature_names]
        if len(feature_names) != X.shape[1]:
            raise ValueError(
                f"feature_names has {len(feature_names)} names but X has {X.shape[1]} columns"
            )
        if len(set(feature_names)) != len(feature_names):
            raise ValueError("feature_names must be unique")
        self.feature_names = tuple(feature_names)

    @property
    def n_samples(self) -> int:
        """Rows of ``X`` (for dask data whose row count dask does not know: the first pass)."""
        return self.X.shape[0] if self._dask is None else self._dask.n_samples

    @property
    def is_dask(self) -> bool:
        """Whether ``X`` and ``y`` are dask arrays (:mod:`mapreg.backends.dask_stats`).

        Such a model is validated lazily: the checks of ``X`` and ``y`` (non-finite
        entries, labels) run in the first pass over the data, at the first fit, and raise
        the in-memory errors then. Its likelihood is evaluated from the sufficient
        statistics (gaussian family) or by one map-reduce per point (other families).
        """
        return self._dask is not None

    def check_data(self) -> None:
        """Run the data checks now (for a dask-backed model: the first pass; cached)."""
        if self._dask is not None:
            self._dask.validated(self.fit_intercept)

    def data_in_memory(self, max_entries: int | None = None):
        """``(X, y)`` as numpy arrays: the model's own, or for a dask-backed model computed
        into memory — ``None`` when ``X`` has more than ``max_entries`` entries."""
        if self._dask is None:
            return self.X, self.y
        self.check_data()
        return self._dask.to_numpy(max_entries)

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def noise_sigma(self) -> float | None:
        """The known noise sd (``None`` when unknown or not applicable)."""
        return getattr(self.family, "noise_sigma", None)

    @property
    def has_hyperpriors(self) -> bool:
        """Whether the noise or the prior scale is unknown (has a hyperprior)."""
        return self.noise_prior is not None or self.scale_prior is not None

    def linear_predictor(self, coef, intercept=0.0) -> np.ndarray:
        """``eta = X @ coef + intercept`` (a lazy dask array for a dask-backed model)."""
        return self.X @ np.asarray(coef, dtype=float) + float(intercept)

    def log_likelihood(self, coef, intercept=0.0) -> float:
        """``sum_i log p(y_i | eta_i)``, normalising constants included."""
        if self._dask is not None:
            return -(self.loss(coef, intercept) + self.loss_constant())
        return float(np.sum(self.family.loglik(self.linear_predictor(coef, intercept), self.y)))

    def loss(self, coef, intercept=0.0) -> float:
        """The penalised-regression loss ``L(X w + w0)`` (:meth:`Family.loss`, a sum over rows)."""
        if self._dask is not None:
            self.check_data()
            return self._dask.loss(np.asarray(coef, dtype=float), float(intercept))
        return self.family.loss(self.linear_predictor(coef, intercept), self.y)

    def loss_constant(self) -> float:
        """``-log_likelihood - loss``: the likelihood's data-only constant."""
        if self._dask is not None:
            self.check_data()
            return self._dask.loss_constant()
        return self.family.loss_constant(self.y)

    def neg_log_posterior(self, coef, intercept=0.0) -> float:
        """``-log p(y | w, w0) - sum_j log p(w_j)`` (the flat intercept prior adds 0)."""
        return -self.log_likelihood(coef, intercept) + self.prior.neg_logpdf(coef)

    def to_pymc(self):
        """Build the equivalent PyMC model (:func:`mapreg.posterior.pymc_model.observed_model`).

        Free variables: ``coef`` (dim ``"feature"``, named by ``feature_names``)
        with the prior, ``intercept`` with a flat prior (when fitted) and the
        hyperpriors; the observed variable is ``y``. Its log density, compiled without
        Jacobian terms, equals ``-neg_log_posterior`` when the scales are fixed.
        """
        from mapreg.posterior.pymc_model import observed_model

        return observed_model(self)

    def __repr__(self) -> str:
        noise = f", noise_sigma={self.noise_sigma:g}" if self.noise_sigma is not None else ""
        if self.noise_prior is not None:
            noise = f", noise_prior={self.noise_prior!r}"
        if self.scale_prior is not None:
            noise += f", scale_prior={self.scale_prior!r}"
        n = self.n_samples if self._dask is None else self._dask.known_n_samples
        data = "" if self._dask is None else ", data=dask"
        return (
            f"Model(n_samples={'?' if n is None else n}, n_features={self.n_features}, "
            f"prior={self.prior!r}, family={self.family.name!r}{noise}, "
            f"fit_intercept={self.fit_intercept}{data})"
        )


def _dtype(a):
    """The dtype ``a`` came in (``None`` for lists and scalars): the JAX backend refuses
    float32 input rather than compute in another precision than it was given."""
    return getattr(a, "dtype", None)
