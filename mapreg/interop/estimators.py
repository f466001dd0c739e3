"""scikit-learn estimators: the posterior mode as ``fit``, the posterior as ``sample_posterior``.

:class:`MAPRegressor` and :class:`MAPClassifier` wrap :class:`mapreg.Model` and
:func:`mapreg.find_map` in the scikit-learn estimator API, so a prior can be
cross-validated, put in a :class:`~sklearn.pipeline.Pipeline` and searched with
:class:`~sklearn.model_selection.GridSearchCV` like any penalised model — and
then, unlike one, asked for its posterior and posterior-predictive intervals.

scikit-learn is needed only here (it is a test extra, not a runtime dependency
of mapreg); ``import mapreg`` loads this module only when one of the estimators
is first accessed.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from mapreg._validation import check_scale
from mapreg.fit.map import find_map
from mapreg.model import Model
from mapreg.preprocessing import estimate_noise_sigma
from mapreg.priors.registry import named_prior


def _make_prior(prior, scale, p=None, scale2=None, nu=None, prior_options=None):
    """The prior an estimator's parameters describe (:func:`mapreg.priors.registry.named_prior`).

    ``p``, ``scale2``, ``nu`` and ``prior_options`` are read only by the priors that
    declare those options (a grid over ``prior`` may keep them fixed).
    """
    return named_prior(prior, check_scale(scale, "scale"),
                       {"p": p, "scale2": scale2, "nu": nu, **(prior_options or {})})


class _MAPBase(BaseEstimator):
    """Shared fit / posterior machinery; subclasses fix the family and the output."""

    _family: str = "gaussian"

    def _fit_model(self, X, y, family, noise_sigma):
        prior = _make_prior(self.prior, self.scale, p=self.p, scale2=self.scale2, nu=self.nu,
                            prior_options=self.prior_options)
        names = getattr(self, "feature_names_in_", None)
        names = [str(n) for n in names] if names is not None else None
        self.model_ = Model(X, y, prior=prior, family=family, noise_sigma=noise_sigma,
                            fit_intercept=self.fit_intercept, feature_names=names)
        with warnings.catch_warnings():
            # Propagate mapreg's ConvergenceWarning, but keep numerical chatter out.
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            self.map_ = find_map(self.model_)
        self.coef_ = np.array(self.map_.coef, dtype=float)
        self.intercept_ = float(self.map_.intercept)
        self.n_iter_ = int(self.map_.n_iter)
        return self

    def _decision(self, X):
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False)
        return X @ self.coef_ + self.intercept_, X

    # -- the posterior beyond the mode ------------------------------------------------------

    def sample_posterior(self, draws=1000, tune=1000, chains=4, sampler="auto",
                         random_seed=None, progressbar=False, **kwargs):
        """Sample the posterior of the fitted model with :func:`mapreg.sample_posterior`.

        Parameters
        ----------
        draws, tune, chains : int
            Kept draws per chain, tuning steps per chain, number of chains.
        sampler : str
            ``"auto"`` (the fastest valid sampler), ``"exact"``, ``"gibbs"``,
            ``"nutpie"``, ``"pymc"`` or ``"numpyro"``.
        random_seed : int, optional
        progressbar : bool
        **kwargs
            Passed on to :func:`mapreg.sample_posterior`.

        Returns
        -------
        DataTree
            The posterior (also stored as ``posterior_``), with the MAP alongside.
        """
        check_is_fitted(self, "coef_")
        from mapreg.posterior.sample import sample_posterior

        self.posterior_ = sample_posterior(
            self.model_, draws=draws, tune=tune, chains=chains, sampler=sampler,
            random_seed=random_seed, progressbar=progressbar, **kwargs)
        return self.posterior_

    def _posterior_draws(self):
        """Flattened posterior draws: ``coef`` (S, p), ``intercept`` (S,), noise (S,) or None."""
        check_is_fitted(self, "coef_")
        idata = getattr(self, "posterior_", None)
        if idata is None:
            raise ValueError(
                f"{type(self).__name__} has no posterior yet: call sample_posterior() after fit()"
            )
        post = idata["posterior"]
        coef = np.asarray(post["coef"].values, dtype=float)
        coef = coef.reshape(-1, coef.shape[-1])
        if "intercept" in post:
            intercept = np.asarray(post["intercept"].values, dtype=float).reshape(-1)
        else:
            intercept = np.zeros(coef.shape[0])
        noise = (np.asarray(post["noise_sigma"].values, dtype=float).reshape(-1)
                 if "noise_sigma" in post else None)
        return coef, intercept, noise

    def posterior_predictive(self, X, kind="observation", random_state=None):
        """Draws of the prediction at ``X`` from the posterior.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        kind : {"observation", "mean"}
            ``"mean"``: draws of ``E[y | x, w]`` (the inverse link of ``x w + w0``);
            ``"observation"``: draws of a new ``y`` (the mean plus the family's noise:
            Gaussian with the model's noise level, Bernoulli, Poisson).
        random_state : int or Generator, optional
            For the observation noise.

        Returns
        -------
        ndarray, shape (n_draws, n_samples)
        """
        if kind not in ("observation", "mean"):
            raise ValueError(f"kind must be 'observation' or 'mean', got {kind!r}")
        _, X = self._decision(X)
        coef, intercept, noise = self._posterior_draws()
        family = self.model_.family
        mean = family.mean(coef @ X.T + intercept[:, None])
        if kind == "mean":
            return mean
        rng = np.random.default_rng(random_state)
        if family.name == "gaussian":
            s = noise[:, None] if noise is not None else family.noise_sigma
            return mean + s * rng.standard_normal(mean.shape)
        if family.name == "bernoulli":
            return (rng.random(mean.shape) < mean).astype(float)
        return rng.poisson(mean).astype(float)

    def predict_interval(self, X, prob=0.9, kind="observation", random_state=None):
        """Central posterior-predictive interval at each row of ``X``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        prob : float
            Probability mass of the interval, in (0, 1).
        kind : {"observation", "mean"}
            See :meth:`posterior_predictive`: an interval for a new observation,
            or a credible interval for the mean response.
        random_state : int or Generator, optional

        Returns
        -------
        ndarray, shape (n_samples, 2)
            Lower and upper ends (the ``(1 - prob)/2`` and ``(1 + prob)/2`` quantiles).
        """
        if not 0.0 < prob < 1.0:
            raise ValueError(f"prob must lie in (0, 1), got {prob!r}")
        draws = self.posterior_predictive(X, kind=kind, random_state=random_state)
        q = np.quantile(draws, [(1.0 - prob) / 2.0, (1.0 + prob) / 2.0], axis=0)
        return q.T


class MAPRegressor(RegressorMixin, _MAPBase):
    """Posterior-mode regression: a prior on the coefficients is a penalty.

    ``fit`` finds the mode of the posterior ``p(w, w0 | X, y)`` of the GLM
    ``y ~ family(X w + w0)``, ``w_j ~ prior(scale)``, flat prior on ``w0`` —
    identical to the penalised fit of the *summed* negative log-likelihood:
    the lasso (Laplace, ``lambda = 1/b``, exact zeros), squared-L2 ridge
    (Gaussian, ``lambda = 1/(2 sigma^2)``), the elastic net, the bridge
    ``lambda sum |w|**p`` or the Student-t log penalty. ``sample_posterior`` then
    gives the whole posterior and ``predict_interval`` posterior-predictive intervals.

    Parameters
    ----------
    prior : str
        A registered prior name (:func:`mapreg.priors.prior_names`): ``"laplace"``
        (``Laplace(scale)``), ``"gaussian"`` (``Gaussian(scale)``), ``"elasticnet"``
        (``ElasticNet(scale, scale2)``), ``"bridge"`` (``GeneralizedNormal(scale, p)``),
        ``"student-t"`` (``StudentT(nu, scale)``), ``"cauchy"`` (``Cauchy(scale)``), or
        any prior added with :func:`mapreg.priors.register_prior`. The bridge with ``p < 1``,
        Student-t and Cauchy are non-convex: ``fit`` returns a certified *local*
        mode reached from ``w = 0`` (``map_.min_curvature > 0``). ``"horseshoe"``
        has no mode: ``fit`` raises ``ValueError`` (sample it with
        :func:`mapreg.sample_posterior` on a :class:`mapreg.Model` instead).
    scale : float
        The main scale (> 0): Laplace ``b``, Gaussian ``sigma``, elastic net ``b``
        (of its Laplace factor), bridge ``alpha``, Student-t / Cauchy ``s``.
        Larger is weaker.
    family : {"gaussian", "poisson"}
        Likelihood (identity or log link).
    noise_sigma : float, optional
        Known noise standard deviation for ``family="gaussian"``. If None (the
        default) it is estimated once from the data, as the residual standard
        deviation ``sqrt(RSS / (n - rank))`` of an ordinary least-squares fit
        (falling back to ``std(y)``, then ``1.0``, when that is zero); the value
        used is stored in ``noise_sigma_``. Must be None for ``"poisson"``.
    fit_intercept : bool
        Fit an unpenalised (flat-prior) intercept.
    p : float, optional
        ``prior="bridge"`` only (required there): the exponent, ``0 < p <= 2``.
    scale2 : float, optional
        ``prior="elasticnet"`` only (required there): ``sigma`` (> 0) of the Gaussian
        factor, the squared-L2 weight being ``1/(2 sigma^2)``.
    nu : float, optional
        ``prior="student-t"`` only (required there): degrees of freedom (> 0).
    prior_options : dict, optional
        Options of any other registered prior, by name (:attr:`mapreg.priors.Prior.options`).

    Notes
    -----
    As usual in scikit-learn, the parameters are stored as given and checked in
    ``fit``; ``p``, ``scale2`` and ``nu`` are ignored by the priors that do not use
    them (so a grid over ``prior`` can keep them fixed).

    Attributes
    ----------
    coef_ : ndarray, shape (n_features,)
        The posterior mode of the weights.
    intercept_ : float
        The mode of the intercept (0.0 when not fitted).
    noise_sigma_ : float or None
        The noise level used (gaussian family).
    map_ : MAPResult
        The full result, including ``kkt_violation``.
    model_ : Model
        The fitted :class:`mapreg.Model` (holds the training data).
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Present when ``X`` had string column names.
    posterior_ : DataTree
        After :meth:`sample_posterior`.

    Examples
    --------
    >>> from mapreg import MAPRegressor
    >>> from mapreg.datasets import load_diabetes
    >>> d = load_diabetes()
    >>> reg = MAPRegressor(prior="laplace", scale=2.0, noise_sigma=53.0).fit(d.X, d.y)
    >>> int((reg.coef_ == 0).sum())
    3
    """

    def __init__(self, prior="laplace", scale=1.0, family="gaussian", noise_sigma=None,
                 fit_intercept=True, p=None, scale2=None, nu=None, prior_options=None):
        self.prior = prior
        self.scale = scale
        self.family = family
        self.noise_sigma = noise_sigma
        self.fit_intercept = fit_intercept
        self.p = p
        self.scale2 = scale2
        self.nu = nu
        self.prior_options = prior_options

    def fit(self, X, y):
        """Find the posterior mode.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=2)
        if self.family not in ("gaussian", "poisson"):
            raise ValueError(
                f"MAPRegressor family must be 'gaussian' or 'poisson', got {self.family!r} "
                "(use MAPClassifier for 0/1 labels)"
            )
        noise = self.noise_sigma
        if self.family == "gaussian" and noise is None:
            noise = estimate_noise_sigma(X, y, bool(self.fit_intercept))
        self.noise_sigma_ = noise
        return self._fit_model(X, y, self.family, noise)

    def predict(self, X):
        """Prediction at the mode: ``X w + w0`` (gaussian) or ``exp(X w + w0)`` (poisson)."""
        eta, _ = self._decision(X)
        return self.model_.family.mean(eta)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.family == "poisson":
            tags.target_tags.positive_only = True
        return tags


class MAPClassifier(ClassifierMixin, _MAPBase):
    """Posterior-mode (penalised) logistic regression.

    Binary only: the two classes (sorted, ``classes_``) are coded 0 and 1 and
    ``P(y = classes_[1] | x) = 1 / (1 + exp(-(x w + w0)))``. The mode equals
    scikit-learn's ``LogisticRegression(C=b)`` (L1) or ``C=sigma**2`` (L2).

    Parameters
    ----------
    prior : str
        As in :class:`MAPRegressor` (``"horseshoe"``: ``fit`` raises ``ValueError``).
    scale : float
        The main scale (> 0), as in :class:`MAPRegressor`.
    fit_intercept : bool
    p, scale2, nu, prior_options : optional
        The bridge exponent, the elastic net's Gaussian ``sigma``, the Student-t
        degrees of freedom and other registered priors' options, as in
        :class:`MAPRegressor`.

    Attributes
    ----------
    classes_ : ndarray, shape (2,)
    coef_ : ndarray, shape (n_features,)
    intercept_ : float
    map_, model_, n_iter_, n_features_in_, posterior_
        As in :class:`MAPRegressor`.
    """

    def __init__(self, prior="laplace", scale=1.0, fit_intercept=True, p=None, scale2=None,
                 nu=None, prior_options=None):
        self.prior = prior
        self.scale = scale
        self.fit_intercept = fit_intercept
        self.p = p
        self.scale2 = scale2
        self.nu = nu
        self.prior_options = prior_options

    def fit(self, X, y):
        """Find the posterior mode.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
            Two distinct labels of any type.

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, ensure_min_samples=2)
        check_classification_targets(y)
        if type_of_target(y, input_name="y", raise_unknown=True) != "binary":
            raise ValueError(
                "Only binary classification is supported: MAPClassifier needs exactly 2 "
                f"classes in y, got {len(np.unique(y))}"
            )
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(
                "MAPClassifier needs 2 classes in y to train, got 1 class: "
                f"{self.classes_[0]!r}"
            )
        y01 = (y == self.classes_[1]).astype(float)
        self.noise_sigma_ = None
        return self._fit_model(X, y01, "bernoulli", None)

    def decision_function(self, X):
        """The log-odds ``x w + w0`` of ``classes_[1]``."""
        eta, _ = self._decision(X)
        return eta

    def predict_proba(self, X):
        """Class probabilities at the mode, columns in the order of ``classes_``."""
        eta = self.decision_function(X)
        p = self.model_.family.mean(eta)
        return np.column_stack([1.0 - p, p])

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably."""
        eta = self.decision_function(X)
        return np.column_stack([-np.logaddexp(0.0, eta), -np.logaddexp(0.0, -eta)])

    def predict(self, X):
        """The more probable class at the mode."""
        eta = self.decision_function(X)
        return self.classes_[(eta > 0.0).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
