r"""K-fold cross-validation of the penalty weight ``lam`` (the prior scale) along the MAP path.

For each fold the MAP path (:func:`mapreg.fit.path.path`, warm-started) is fitted on the
training rows over one grid of weights ``lam`` of ``L + lam pen`` — chosen on the full data
(:func:`mapreg.fit.path.default_lambdas`) as :class:`sklearn.linear_model.LassoCV` and
glmnet do — and scored on the held-out rows by the **mean deviance per held-out row**:

==========  =============================================  ===========================
family      unit deviance ``d(y, mu)``                     i.e.
==========  =============================================  ===========================
gaussian    ``(y - mu)**2``                                squared error (the MSE)
bernoulli   ``-2 [y log mu + (1 - y) log(1 - mu)]``        ``-2 log p(y | mu)``
poisson     ``2 [y log(y / mu) - (y - mu)]``               glmnet's Poisson deviance
==========  =============================================  ===========================

(the unscaled GLM deviance: for the gaussian family not divided by ``s**2``, so the
curve is in units of ``y**2`` and does not depend on the assumed noise sd). The curve is
the plain mean of the fold scores, ``se`` their standard deviation over ``sqrt(K)``;
``lambda_min`` minimises the mean, ``lambda_1se`` is the largest ``lam`` whose mean lies
within one ``se`` of that minimum. With the same folds and grid the gaussian curve is
``LassoCV(alphas=lam * s**2 / n_train).mse_path_.mean(axis=1)``: scikit-learn's lasso
objective ``||y - Xw||**2 / (2 n) + alpha ||w||_1`` is ours,
``||y - Xw||**2 / (2 s**2) + lam ||w||_1``, times ``s**2 / n`` (``n`` the rows it is fitted
on: the same ``alpha`` for every fold needs folds of one size).

The folds run through :class:`joblib.Parallel`: ``n_jobs`` as joblib reads it (``None``: one
process, or whatever an enclosing ``joblib.parallel_config`` says), so
``with joblib.parallel_config(backend="dask"): cross_validate(...)`` runs them on a Dask
cluster unchanged.

A dask-backed gaussian model (:attr:`mapreg.Model.is_dask`) is cross-validated in one pass
over its rows (:mod:`mapreg.backends.dask_cv`): per-fold sufficient statistics, each fold's
path fitted from the others' and scored from its own; ``cv`` is then a number of folds (the
same ``KFold`` folds; with ``random_state`` a hash of the row index) or fold ids per row.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from mapreg.fit.map import find_map
from mapreg.fit.path import PathResult, at_scale, default_lambdas, lambda_scales, path
from mapreg.model import Model
from mapreg.results import MAPResult

__all__ = ["CVResult", "LambdaChoices", "cross_validate", "kfold_indices", "lambda_choices",
           "mean_deviance", "unit_deviance"]


# ------------------------------------------------------------------ scores
def _gaussian(y, eta, family):
    return (y - eta) ** 2


def _bernoulli(y, eta, family):
    return -2.0 * family.loglik(eta, y)  # the saturated model's log-likelihood is 0


def _poisson(y, eta, family):
    mu = family.mean(eta)
    return 2.0 * (xlogy(y, y) - y * eta - (y - mu))


#: unit deviance by family name; another family falls back to ``-2 log p(y | eta)``.
DEVIANCE = {"gaussian": _gaussian, "bernoulli": _bernoulli, "poisson": _poisson}


def unit_deviance(family, y, eta) -> np.ndarray:
    """``d(y_i, mu_i)`` elementwise (table in the module docstring), broadcasting ``eta``."""
    y = np.asarray(y, dtype=float)
    eta = np.asarray(eta, dtype=float)
    rule = DEVIANCE.get(family.name)
    return rule(y, eta, family) if rule else -2.0 * family.loglik(eta, y)


def mean_deviance(family, y, eta) -> np.ndarray:
    """The mean unit deviance over rows; ``eta`` of shape ``(n,)`` or ``(n, k)`` (k fits)."""
    y = np.asarray(y, dtype=float)
    eta = np.asarray(eta, dtype=float)
    yy = y if eta.ndim == 1 else y[:, None]
    return np.mean(unit_deviance(family, yy, eta), axis=0)


def score_name(family) -> str:
    """``"mse"`` for gaussian, else ``"deviance"`` (``"-2 loglik"`` without a rule)."""
    if family.name == "gaussian":
        return "mse"
    return "deviance" if family.name in DEVIANCE else "-2 loglik"


# ------------------------------------------------------------------ folds
def kfold_indices(n: int, k: int, random_state=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` contiguous folds as scikit-learn's ``KFold(k)`` makes them (the first
    ``n % k`` folds one row longer); ``random_state`` shuffles the rows first."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 2 <= k <= n:
        raise ValueError(f"cv must be an integer number of folds in [2, n_samples={n}], "
                         f"got {k!r}")
    order = np.arange(n)
    if random_state is not None:
        order = np.random.default_rng(random_state).permutation(n)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    stops = np.cumsum(sizes)
    out = []
    for start, stop in zip(stops - sizes, stops, strict=True):
        test = order[start:stop]
        out.append((np.sort(np.concatenate([order[:start], order[stop:]])), np.sort(test)))
    return out


def _folds(cv, model: Model, random_state) -> list[tuple[np.ndarray, np.ndarray]]:
    n = model.n_samples
    if isinstance(cv, int | np.integer) and not isinstance(cv, bool):
        return kfold_indices(n, int(cv), random_state)
    if isinstance(cv, str | bytes):
        pairs = []  # refused below
    elif hasattr(cv, "split"):  # a scikit-learn splitter (KFold, StratifiedKFold, ...)
        pairs = list(cv.split(model.X, model.y))
    elif isinstance(cv, np.ndarray) and cv.ndim == 1 and cv.shape == (n,):
        ids = np.unique(cv)  # fold ids per row (glmnet's foldid)
        pairs = [(np.flatnonzero(cv != f), np.flatnonzero(cv == f)) for f in ids]
    else:
        try:
            pairs = [(np.asarray(tr), np.asarray(te)) for tr, te in cv]
        except (TypeError, ValueError):
            pairs = []
    if not pairs:
        raise ValueError("cv must be a number of folds, a scikit-learn splitter, an array "
                         f"of fold ids per row, or (train, test) index pairs; got {cv!r}")
    if len(pairs) < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {len(pairs)}")
    out = []
    for tr, te in pairs:
        tr, te = np.asarray(tr, dtype=np.intp).ravel(), np.asarray(te, dtype=np.intp).ravel()
        if tr.size == 0 or te.size == 0 or min(tr.min(), te.min()) < 0 \
                or max(tr.max(), te.max()) >= n:
            raise ValueError(f"every fold needs training and test rows among 0..{n - 1}")
        out.append((tr, te))
    return out


# ------------------------------------------------------------------ the fold job
def _subset(model: Model, rows: np.ndarray) -> Model:
    return Model(model.X[rows], model.y[rows], prior=model.prior, family=model.family,
                 fit_intercept=model.fit_intercept, feature_names=model.feature_names)


def _fold_scores(model: Model, train, test, scales, tol, max_iter) -> np.ndarray:
    """The held-out mean deviance of the training rows' MAP at each scale."""
    res = path(_subset(model, train), scales, tol=tol, max_iter=max_iter)
    eta = model.X[test] @ res.coef.T + res.intercept  # (n_test, n_lambdas)
    return mean_deviance(model.family, model.y[test], eta)


def _full_path(model: Model, scales, tol, max_iter) -> PathResult:
    return path(model, scales, tol=tol, max_iter=max_iter)


# ------------------------------------------------------------------ the result
@dataclass(frozen=True)
class CVResult:
    """Cross-validation of ``lam`` along the MAP path (:func:`cross_validate`).

    Attributes
    ----------
    lambdas : ndarray, shape (k,)
        Penalty weights ``lam`` of ``L + lam pen``, decreasing.
    scales : ndarray, shape (k,)
        The prior scale with each ``lam`` (ascending).
    mean, se : ndarray, shape (k,)
        Mean over folds of the held-out mean deviance, and its standard error
        ``std(ddof=1) / sqrt(n_folds)``.
    fold_scores : ndarray, shape (n_folds, k)
    index_min, index_1se : int
        Positions of ``lambda_min`` and ``lambda_1se`` in ``lambdas``.
    lambda_min, lambda_1se : float
        The ``lam`` minimising ``mean``; the largest ``lam`` with
        ``mean <= mean[index_min] + se[index_min]`` (the sparser / more shrunk choice).
    map_min, map_1se : MAPResult
        The MAP refitted on all rows at ``lambda_min`` / ``lambda_1se``.
    path : PathResult
        The MAP refitted on all rows at every ``lam`` of the grid.
    folds : tuple of (train, test) index arrays
        (dask-backed models: a :class:`mapreg.backends.dask_cv.DaskFold` of row counts each)
    score : str
        ``"mse"`` (gaussian) or ``"deviance"``.
    prior : Prior
        The model's prior (its scale moved to ``scale_min`` by :meth:`prior_at`).
    """

    lambdas: np.ndarray
    scales: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    fold_scores: np.ndarray
    index_min: int
    index_1se: int
    map_min: MAPResult
    map_1se: MAPResult
    path: PathResult
    folds: tuple
    score: str
    prior: object

    @property
    def lambda_min(self) -> float:
        return float(self.lambdas[self.index_min])

    @property
    def lambda_1se(self) -> float:
        return float(self.lambdas[self.index_1se])

    @property
    def scale_min(self) -> float:
        return float(self.scales[self.index_min])

    @property
    def scale_1se(self) -> float:
        return float(self.scales[self.index_1se])

    @property
    def n_folds(self) -> int:
        return len(self.folds)

    def prior_at(self, which: str = "min"):
        """The model's prior at ``scale_min`` (``which="min"``) or ``scale_1se`` (``"1se"``)."""
        if which not in ("min", "1se"):
            raise ValueError(f"which must be 'min' or '1se', got {which!r}")
        return self.prior.with_scale(self.scale_min if which == "min" else self.scale_1se)


def cross_validate(model: Model, cv=5, lambdas: Sequence[float] | None = None,
                   n_lambdas: int = 100, n_jobs: int | None = None, *,
                   lambda_min_ratio: float | None = None, random_state=None,
                   tol: float = 1e-11, max_iter: int = 200) -> CVResult:
    """K-fold cross-validation of the penalty weight ``lam`` of ``model``'s prior.

    Parameters
    ----------
    model : Model
        Fixed noise and prior scale (no hyperpriors); a prior with a mode whose weight
        ``lam`` moves with its scale (Laplace, Gaussian, elastic net, bridge).
    cv : int, splitter, array or iterable
        Number of folds (contiguous, as ``KFold(cv)``; ``random_state`` shuffles first), a
        scikit-learn splitter (``KFold(5, shuffle=True)``, ``StratifiedKFold``), an array of
        fold ids per row, or ``(train, test)`` index pairs.
    lambdas : sequence of float, optional
        The grid of ``lam``; default :func:`~mapreg.fit.path.default_lambdas` on all rows
        (``n_lambdas`` points down to ``lambda_min_ratio * lam_max``).
    n_jobs : int, optional
        Folds (and the full-data path) run in parallel through joblib; ``None`` defers to
        ``joblib.parallel_config`` (``backend="dask"`` scales out unchanged).
    tol, max_iter :
        Passed to every MAP fit.

    Returns
    -------
    CVResult
    """
    from joblib import Parallel, delayed

    if not isinstance(model, Model):
        raise ValueError(f"cross_validate needs a mapreg.Model, got {type(model).__name__}")
    folds = None if model.is_dask else _folds(cv, model, random_state)
    if lambdas is None:
        lambdas = default_lambdas(model, n_lambdas, lambda_min_ratio)
    scales = lambda_scales(model.prior, lambdas)  # ascending scale = decreasing lam
    if model.is_dask:  # one pass: per-fold statistics (mapreg.backends.dask_cv)
        from mapreg.backends.dask_cv import fold_scores

        scores, folds = fold_scores(model, cv, scales, random_state, tol, max_iter)
        full = _full_path(model, scales, tol, max_iter)
    else:
        jobs = [delayed(_fold_scores)(model, tr, te, scales, tol, max_iter)
                for tr, te in folds]
        jobs.append(delayed(_full_path)(model, scales, tol, max_iter))
        *scores, full = Parallel(n_jobs=n_jobs)(jobs)
        scores = np.asarray(scores)
    k = len(folds)
    mean = scores.mean(axis=0)
    se = scores.std(axis=0, ddof=1) / np.sqrt(k)
    if not np.all(np.isfinite(mean)):
        raise ValueError("a held-out deviance is not finite (a fitted mean of 0 or 1 for a "
                         "Bernoulli label it excludes?): use a larger prior scale range")
    i_min = int(np.argmin(mean))  # the first minimum: the largest lam among ties
    i_1se = int(np.flatnonzero(mean <= mean[i_min] + se[i_min])[0])
    return CVResult(
        lambdas=full.lambdas, scales=scales, mean=mean, se=se, fold_scores=scores,
        index_min=i_min, index_1se=i_1se,
        map_min=find_map(at_scale(model, scales[i_min]), tol=tol, max_iter=max_iter),
        map_1se=find_map(at_scale(model, scales[i_1se]), tol=tol, max_iter=max_iter),
        path=full, folds=tuple(folds), score=score_name(model.family), prior=model.prior)


# ------------------------------------------------------------------ lambda, four ways
#: Empirical Bayes for ``lam`` by prior name (:mod:`mapreg.posterior.empirical_bayes`):
#: the closed-form evidence (Gaussian) and Park & Casella's Monte-Carlo EM (Laplace).
EMPIRICAL_BAYES = {"gaussian": "empirical_bayes_gaussian", "laplace": "empirical_bayes_laplace"}


@dataclass(frozen=True)
class LambdaChoices:
    """``lam`` chosen four ways (:func:`lambda_choices`), with what each rests on.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per method (``"cv-min"``, ``"cv-1se"``, ``"empirical-bayes"``,
        ``"hyperprior"``): ``lam``, ``scale``, ``lower`` / ``upper`` (the hyperprior
        posterior's central 90% interval of ``lam``; NaN otherwise), ``cv_mean`` (the CV
        curve there, interpolated in ``log lam``), ``n_nonzero`` (of the MAP at that ``lam``
        on all rows) and ``note``.
    cv : CVResult
    hyper_lam : ndarray or None
        Posterior draws of ``lam`` under the hyperprior.
    """

    table: object
    cv: CVResult
    hyper_lam: np.ndarray | None = None


def _curve_at(cv: CVResult, lam: float) -> float:
    x = np.log(cv.lambdas[::-1])
    if not x[0] <= np.log(lam) <= x[-1]:
        return float("nan")
    return float(np.interp(np.log(lam), x, cv.mean[::-1]))


def lambda_choices(model: Model, cv=5, *, n_lambdas: int = 100, cv_result: CVResult | None = None,
                   empirical_bayes: bool = True, hyperprior: bool = True, scale_prior=None,
                   draws: int = 1000,
                   tune: int = 1000, chains: int = 2, random_seed=None, n_jobs=None,
                   **eb_kwargs) -> LambdaChoices:
    """``lam`` by CV (min and 1-SE), empirical Bayes and a hyperprior posterior, side by side.

    * **CV** — :func:`cross_validate` (or ``cv_result``): ``lambda_min``, ``lambda_1se``;
    * **empirical Bayes** — the ``lam`` maximising the marginal likelihood ``p(y | lam)``
      (:data:`EMPIRICAL_BAYES`: Gaussian prior in closed form, Laplace by Monte-Carlo EM;
      ``eb_kwargs`` go there, with ``random_seed`` unless they say otherwise), for the
      gaussian family; skipped otherwise;
    * **hyperprior** — ``lam`` is given a prior (``scale_prior``, default ``HalfCauchy``
      on the scale with median the model's scale, when the prior accepts one) and the
      joint posterior is sampled: its median and central 90% interval of ``lam``
      (``hyperprior=False`` leaves this row out, and the sampling with it).

    Returns
    -------
    LambdaChoices
    """
    import pandas as pd

    from mapreg.fit.path import _lam_law

    law = _lam_law(model.prior)
    if cv_result is None:
        cv_result = cross_validate(model, cv=cv, n_lambdas=n_lambdas, n_jobs=n_jobs,
                                   random_state=random_seed)
    rows = [("cv-min", cv_result.lambda_min, np.nan, np.nan,
             f"minimises the {cv_result.n_folds}-fold {cv_result.score}"),
            ("cv-1se", cv_result.lambda_1se, np.nan, np.nan,
             "largest lam within one standard error of the minimum")]
    if empirical_bayes and model.prior.name in EMPIRICAL_BAYES \
            and model.family.name == "gaussian":
        from mapreg.posterior import empirical_bayes as eb

        estimate = getattr(eb, EMPIRICAL_BAYES[model.prior.name])
        if "random_seed" in inspect.signature(estimate).parameters:  # Monte-Carlo EM
            eb_kwargs.setdefault("random_seed", random_seed)  # the same seed, the same lam
        res = estimate(model, **eb_kwargs)
        rows.append(("empirical-bayes", float(res.lam), np.nan, np.nan,
                     "maximises the marginal likelihood p(y | lam)"))
    hyper_lam = None
    if not hyperprior:
        scale_prior = None
    elif scale_prior is None:
        from mapreg.priors import HalfCauchy

        if HalfCauchy in model.prior.scale_hyperpriors:
            scale_prior = HalfCauchy(model.prior.scale)
    if scale_prior is not None:
        from mapreg.posterior.sample import sample_posterior

        hier = Model(model.X, model.y, prior=model.prior, family=model.family,
                     fit_intercept=model.fit_intercept, feature_names=model.feature_names,
                     scale_prior=scale_prior)
        idata = sample_posterior(hier, draws=draws, tune=tune, chains=chains,
                                 random_seed=random_seed, progressbar=False,
                                 log_likelihood=False)
        hyper_lam = law(idata["posterior"]["prior_scale"].values.ravel())
        lo, med, hi = np.quantile(hyper_lam, [0.05, 0.5, 0.95])
        rows.append(("hyperprior", float(med), float(lo), float(hi),
                     f"posterior median under {scale_prior!r} on the scale"))
    table = pd.DataFrame(rows, columns=["method", "lam", "lower", "upper", "note"])
    table["scale"] = law.inverse(table["lam"].to_numpy())
    table["cv_mean"] = [_curve_at(cv_result, lam) for lam in table["lam"]]
    table["n_nonzero"] = [int(np.count_nonzero(find_map(at_scale(model, s)).coef))
                          for s in table["scale"]]
    table = table.set_index("method")[["lam", "scale", "lower", "upper", "cv_mean",
                                       "n_nonzero", "note"]]
    return LambdaChoices(table=table, cv=cv_result, hyper_lam=hyper_lam)
