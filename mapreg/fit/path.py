"""Fits over a grid of prior scales: the MAP path, the penalised path and their comparison.

Every prior with a mode moves along its one-parameter family with
:meth:`~mapreg.priors.Prior.with_scale` (Laplace ``b``, Gaussian ``sigma``, bridge
``alpha`` with ``p`` fixed, elastic net ``b`` with ``lam2 / lam`` fixed, Student-t
``s`` with ``nu`` fixed, ...); nothing here asks which prior it is. The plots draw
these records (:func:`mapreg.plots.map_path`); they compute nothing themselves.

* :func:`path` — the MAP at each penalty weight ``lam`` (decreasing) or prior scale
  (:class:`PathResult`), warm-started along the grid for convex priors;
* :func:`default_lambdas` / :func:`lambda_scales` — the ``lam`` grid and its scales;
* :func:`penalized_path` — the same grid on the penalised side, from the penalty's
  numbers alone;
* :func:`compare_paths` — both, with scikit-learn's path as a third witness where it
  has an equivalent (:func:`mapreg.fit.conversions.sklearn_path`);
* :func:`default_scales` — a grid covering the interesting part of the path;
* :class:`ScaleLaw` / :func:`scale_law` — how the penalty's weight moves with the
  scale (the plots' top axis).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mapreg.backends import check_backend
from mapreg.fit.map import find_map
from mapreg.fit.penalized import penalized_fit
from mapreg.model import Model
from mapreg.priors import Prior

__all__ = ["PathComparison", "PathResult", "ScaleLaw", "at_scale", "compare_paths",
           "default_lambdas", "default_scales", "lambda_scales", "path", "penalized_path",
           "penalty_numbers", "prior_spread", "scale_law"]


@dataclass(frozen=True)
class PathResult:
    """Fits of one model over a grid of prior scales (ascending) = of weights ``lam`` (decreasing).

    Attributes
    ----------
    scales : ndarray, shape (n,)
        The prior scales, ascending (strong to weak shrinkage).
    lambdas : ndarray, shape (n,)
        The penalty weight ``lam`` at each scale (``prior.with_scale(s).penalty().lam``),
        decreasing for every prior whose weight falls as its scale grows (all shipped).
    coef : ndarray, shape (n, p)
    intercept, kkt_violation : ndarray, shape (n,)
    n_nonzero : ndarray of int, shape (n,)
    converged : ndarray of bool, shape (n,)
    prior : Prior
        The model's own prior (the grid moves it along its family; plots mark its scale).
    feature_names : tuple of str
    penalty : str
        The penalty's name (``"l1"``, ``"bridge"``, ...).
    kind : str
        ``"map"`` (from the log densities) or ``"penalized"`` (from the penalty's numbers).
    """

    scales: np.ndarray
    lambdas: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    kkt_violation: np.ndarray
    n_nonzero: np.ndarray
    converged: np.ndarray
    prior: Prior
    feature_names: tuple[str, ...]
    penalty: str
    kind: str = "map"
    #: What strong-rule screening did (:class:`mapreg.solvers.pathwise.PathStats`), when
    #: the path took the screened solver (:func:`path` on ``a|w| + c w**2`` penalties).
    screening: object | None = None


@dataclass(frozen=True)
class PathComparison:
    """The MAP path beside the penalised path and scikit-learn's (:func:`compare_paths`).

    ``sklearn`` is a :class:`mapreg.fit.conversions.SklearnPath` or ``None``;
    ``sklearn_note`` says why there is none.
    """

    map: PathResult
    penalized: PathResult | None = None
    sklearn: object | None = None
    sklearn_note: str = ""


# ------------------------------------------------------------------ the grid
def at_scale(model: Model, scale: float) -> Model:
    """``model`` with its prior moved to ``scale`` along its family (data, family kept)."""
    return Model(model.X, model.y, prior=model.prior.with_scale(float(scale)),
                 family=model.family, fit_intercept=model.fit_intercept,
                 feature_names=model.feature_names)


def _check_scales(scales) -> np.ndarray:
    scales = np.sort(np.asarray(scales, dtype=float).ravel())
    if scales.size == 0 or not np.all(np.isfinite(scales)) or scales[0] <= 0.0:
        raise ValueError(f"scales must be positive finite numbers, got {scales!r}")
    return scales


def _check_has_mode(prior: Prior) -> None:
    if not prior.has_mode:
        raise ValueError(f"the {prior.name} prior has no posterior mode, so there is no MAP "
                         "path; sample its posterior with mapreg.sample_posterior")


def _check_model(model: Model) -> None:
    _check_has_mode(model.prior)
    if model.has_hyperpriors:
        raise ValueError("a path moves the prior's fixed scale: build the Model with a fixed "
                         "noise_sigma and prior scale (no noise_prior / scale_prior)")


def _fit_along(model, scales, fit_one) -> PathResult:
    """Call ``fit_one(scale, start)`` along ``scales``, warm-starting convex priors."""
    # A convex prior has one mode: starting at the previous scale's answer only saves
    # work (the quadratic solvers ignore it). A non-convex one has local modes that
    # depend on the start: each is taken from w = 0, as find_map does.
    warm = bool(model.prior.convex)
    rows, start = [], None
    for s in scales:
        res = fit_one(s, start)
        rows.append(res)
        if warm:
            start = res.coef
    terms = [model.prior.with_scale(s).penalty() for s in scales]
    return _result(model, scales, terms, rows)


def _result(model, scales, terms, rows, screening=None) -> PathResult:
    """The :class:`PathResult` of the fits ``rows`` (one per scale, ``terms`` their penalties)."""
    coef = np.array([r.coef for r in rows])
    return PathResult(
        scales=scales,
        lambdas=np.array([getattr(t, "lam", np.nan) for t in terms], dtype=float),
        coef=coef,
        intercept=np.array([r.intercept for r in rows], dtype=float),
        kkt_violation=np.array([r.kkt_violation for r in rows], dtype=float),
        n_nonzero=np.count_nonzero(coef, axis=1),
        converged=np.array([bool(r.converged) for r in rows]),
        prior=model.prior, feature_names=tuple(model.feature_names),
        penalty=model.prior.penalty().name, kind="map", screening=screening)


def path(model: Model, scales: Sequence[float] | None = None, *,
         lambdas: Sequence[float] | None = None, n_lambdas: int = 100,
         lambda_min_ratio: float | None = None, tol: float = 1e-11,
         max_iter: int = 200, backend: str = "numpy", screen: bool = True) -> PathResult:
    """The MAP of ``model`` along a grid of penalty weights ``lambdas`` or of prior ``scales``.

    The grid is given one of three ways:

    * ``lambdas``: the weights ``lam`` of the penalised objective ``L + lam pen`` (``L``
      the total negative log-likelihood), each turned into the prior scale with that
      ``lam`` (:func:`lambda_scales`: Laplace ``b = 1/lam``, Gaussian
      ``sigma = 1/sqrt(2 lam)``, elastic net and bridge with their shape fixed);
    * ``scales``: prior scales directly;
    * neither: :func:`default_lambdas` (``n_lambdas`` weights, log-spaced from ``lam_max``
      down to ``lambda_min_ratio * lam_max``).

    The result runs in decreasing ``lam`` (= ascending scale), from strong to weak
    shrinkage. For a convex prior each fit starts from the previous one (same answer, less
    work); for a non-convex prior each local mode is reached from ``w = 0`` (as
    :func:`mapreg.find_map` does by default).

    ``backend="jax"`` moves ``X`` to JAX's device (a GPU when there is one) once and runs
    every fit there (:func:`mapreg.backends.jax_solver.jax_path`: Laplace, Gaussian and
    elastic-net priors, in float64), each certified by the same KKT tolerance.

    On the numpy backend with ``screen`` (default), a prior whose penalty is
    ``a |w| + c w**2`` (Laplace, elastic net, Gaussian) on in-memory data takes
    :func:`mapreg.solvers.pathwise.solve_path`: the data summaries (Gram matrix or
    centred columns) are made once, the sequential strong rule discards coefficients that
    will stay zero and a KKT check over all coefficients puts back any it got wrong, so
    every fit is the unscreened minimiser with its certificate over every coefficient
    (``screening`` in the result says what the rule did). ``screen=False``:
    :func:`mapreg.find_map` at each scale. ``tol`` is relative, as for
    :func:`mapreg.find_map`.

    Raises
    ------
    ValueError
        The prior has no mode (the horseshoe), ``scales`` or ``lambdas`` are not positive,
        both are given, or ``lambdas`` is given for a prior whose weight ``lam`` does not
        move with its scale (Student-t: pass ``scales``).
    """
    _check_model(model)
    if scales is not None and lambdas is not None:
        raise ValueError("give scales or lambdas, not both")
    if scales is not None:
        scales = _check_scales(scales)
    elif lambdas is not None:
        scales = lambda_scales(model.prior, lambdas)
    else:
        scales = lambda_scales(model.prior, default_lambdas(model, n_lambdas, lambda_min_ratio))
    if check_backend(backend) == "jax":
        return _jax_path(model, scales, tol, max_iter)
    terms = _screenable(model, scales) if screen else None
    if terms is not None:
        return _screened_path(model, scales, terms, tol, max_iter)
    return _fit_along(model, scales, lambda s, start: find_map(
        at_scale(model, s), tol=tol, max_iter=max_iter, start=start))


def _jax_path(model: Model, scales: np.ndarray, tol: float, max_iter: int) -> PathResult:
    """:func:`path` on JAX's device: the data moved once, the fits warm-started there."""
    if model.is_dask:
        raise NotImplementedError("path(backend='jax') needs the data in one device's "
                                  "memory; fit a dask-backed model with backend='numpy'")
    from mapreg.backends.jax_solver import jax_path

    terms = [model.prior.with_scale(float(s)).penalty() for s in scales]
    fits = jax_path(model.X, model.y, model.family, terms, fit_intercept=model.fit_intercept,
                    tol=tol, max_iter=max_iter, input_dtypes=model._input_dtypes,
                    warm=bool(model.prior.convex))
    return _result(model, scales, terms, fits)


def _screenable(model: Model, scales) -> list | None:
    """The penalties along ``scales`` if each is ``a|w| + c w**2`` with ``a`` not
    increasing and the data in memory (the screened path applies), else ``None``."""
    if model.is_dask or not model.prior.convex:
        return None
    terms = [model.prior.with_scale(s).penalty() for s in scales]
    weights = [t.quadratic_weights() for t in terms]
    if any(w is None for w in weights) or np.any(np.diff([w[0] for w in weights]) > 0.0):
        return None
    return terms


def _screened_path(model: Model, scales, terms, tol: float, max_iter: int) -> PathResult:
    """The path through :func:`mapreg.solvers.pathwise.solve_path` (same minimisers)."""
    from mapreg.exceptions import ConvergenceWarning
    from mapreg.solvers.pathwise import solve_path

    fits, stats = solve_path(model.X, model.y, model.family, terms,
                             fit_intercept=model.fit_intercept, tol=tol, max_iter=max_iter)
    bad = np.flatnonzero([not f.converged for f in fits])
    if bad.size:  # find_map warns at each point; here once for the path
        warnings.warn(f"path: {bad.size} of {len(fits)} fits did not reach the KKT tolerance "
                      f"(scales {scales[bad]!r}); raise max_iter", ConvergenceWarning,
                      stacklevel=3)
    return _result(model, scales, terms, fits, screening=stats)


def _lam_law(prior: Prior) -> ScaleLaw:
    law = scale_law(prior)
    if law is None or law.field != "lam":
        raise ValueError(f"the penalty weight lam of {prior!r} does not move with its scale "
                         "(or not as a power law), so a grid of lambdas does not place it: "
                         "pass scales")
    return law


def lambda_scales(prior: Prior, lambdas: Sequence[float]) -> np.ndarray:
    """The prior scales (ascending) whose penalty weight ``lam`` takes the values ``lambdas``.

    ``prior.with_scale(s).penalty().lam`` equals each ``lam`` (to rounding); the other
    shape numbers (bridge ``p``, elastic net ``lam2 / lam``) stay as in ``prior``.
    """
    lambdas = np.asarray(lambdas, dtype=float).ravel()
    if lambdas.size == 0 or not np.all(np.isfinite(lambdas)) or np.any(lambdas <= 0.0):
        raise ValueError(f"lambdas must be positive finite numbers, got {lambdas!r}")
    return _check_scales(_lam_law(prior).inverse(lambdas))


def default_lambdas(model: Model, n_lambdas: int = 100,
                    lambda_min_ratio: float | None = None) -> np.ndarray:
    """``n_lambdas`` log-spaced penalty weights, decreasing from ``lam_max``.

    With an L1 part, ``lam_max`` is the smallest ``lam`` at which every coefficient is 0
    (the largest ``|dL/dw_j|`` at the intercept-only fit, over the L1 weight per unit
    ``lam``) and ``lambda_min_ratio`` defaults to ``1e-3`` (scikit-learn's ``eps``);
    otherwise the grid of :func:`default_scales`: ``lam`` from 100 to 0.01 times the
    mean curvature of the loss (``lambda_min_ratio`` default ``1e-4``).
    """
    if isinstance(n_lambdas, bool) or not isinstance(n_lambdas, int | np.integer) \
            or n_lambdas < 1:
        raise ValueError(f"n_lambdas must be an integer >= 1, got {n_lambdas!r}")
    law = _lam_law(model.prior)
    ends = law(default_scales(model, num=2))  # lam at the two ends of the default grid
    lam_max, ratio = float(np.max(ends)), float(np.min(ends) / np.max(ends))
    if lambda_min_ratio is not None:
        ratio = float(lambda_min_ratio)
        if not 0.0 < ratio < 1.0:
            raise ValueError(f"lambda_min_ratio must lie in (0, 1), got {lambda_min_ratio!r}")
    if n_lambdas == 1:
        return np.array([lam_max])
    return lam_max * np.geomspace(1.0, ratio, int(n_lambdas))


def _penalty_from_numbers(penalty):
    """The penalty rebuilt from its fields alone (as :func:`verify_equivalence` does)."""
    if dataclasses.is_dataclass(penalty):
        return type(penalty)(**dataclasses.asdict(penalty))
    return penalty


def penalized_path(model: Model, scales: Sequence[float] | None = None, *,
                   tol: float = 1e-11, max_iter: int = 200) -> PathResult:
    """:func:`mapreg.penalized_fit` at each scale, with the numbers of ``prior.penalty()``.

    The penalised side sees only the penalty (its weight and shape numbers at that
    scale), the loss and the data — never the prior's log density.
    """
    _check_model(model)
    scales = default_scales(model) if scales is None else _check_scales(scales)

    def fit_one(s, start):
        penalty = _penalty_from_numbers(model.prior.with_scale(s).penalty())
        return penalized_fit(model.X, model.y, penalty=penalty, family=model.family.name,
                             noise_sigma=model.noise_sigma, fit_intercept=model.fit_intercept,
                             tol=tol, max_iter=max_iter, start=start)

    return dataclasses.replace(_fit_along(model, scales, fit_one), kind="penalized")


def compare_paths(model: Model, scales: Sequence[float] | None = None, *,
                  sklearn: bool = True, sklearn_budget_s: float | None = None) -> PathComparison:
    """The MAP path, the penalised path and (``sklearn``) scikit-learn's, on one grid;
    ``sklearn_budget_s`` bounds the seconds spent on scikit-learn's fits
    (:func:`mapreg.fit.conversions.sklearn_path`)."""
    from mapreg.fit.conversions import sklearn_path

    _check_model(model)
    scales = default_scales(model) if scales is None else _check_scales(scales)
    witness, note = None, "not requested"
    if sklearn:
        try:
            witness = sklearn_path(model, scales, budget_s=sklearn_budget_s)
            note = "" if witness is not None else "no scikit-learn equivalent"
        except ImportError:
            note = "scikit-learn not installed"
    return PathComparison(map=path(model, scales), penalized=penalized_path(model, scales),
                          sklearn=witness, sklearn_note=note)


# ------------------------------------------------------------------ scale laws
def _power_law(f: Callable[[float], float], s0: float) -> tuple[float, float] | None:
    """``(c, k)`` with ``f(s) = c s**k`` near ``s0`` (checked at three points), or ``None``."""
    try:
        v = np.array([f(s0 * m) for m in (0.5, 1.0, 2.0)], dtype=float)
    except (ValueError, ArithmeticError):
        return None
    if not (np.all(np.isfinite(v)) and np.all(v > 0.0)) or v[1] == v[2]:
        return None
    k = math.log(v[2] / v[1]) / math.log(2.0)
    if abs(k - round(k)) < 1e-9:
        k = float(round(k))
    c = v[1] / s0**k
    if not math.isclose(c * (0.5 * s0) ** k, v[0], rel_tol=1e-9):
        return None
    return c, k


#: How plots write a penalty's fields.
_SYMBOLS = {"lam": "λ", "lam2": "λ₂", "delta": "δ"}


@dataclass(frozen=True)
class ScaleLaw:
    """The penalty parameter ``field`` as a power of the prior scale: ``coef * scale**power``.

    ``moving`` names the other penalty fields that change with the scale, and
    ``same_power`` says whether they change in proportion (their ratio to ``field``
    then stays fixed along the path).
    """

    field: str
    coef: float
    power: float
    moving: tuple[str, ...] = ()
    same_power: bool = True

    def __call__(self, scale):
        return self.coef * np.asarray(scale, dtype=float) ** self.power

    def inverse(self, value):
        return (np.asarray(value, dtype=float) / self.coef) ** (1.0 / self.power)

    def formula(self, symbol: str) -> str:
        """E.g. ``"1/b"``, ``"1/(2σ²)"``, ``"3s²"``, ``"1/α^0.5"``, ``"1.571/s"``."""
        def mono(k):
            k = int(k) if float(k).is_integer() else k
            return symbol if k == 1 else symbol + {2: "²", 3: "³"}.get(k, f"^{k:g}")

        if self.power > 0:
            return mono(self.power) if self.coef == 1.0 else f"{self.coef:.4g}{mono(self.power)}"
        inv, den = 1.0 / self.coef, mono(-self.power)
        if math.isclose(inv, 1.0):
            return f"1/{den}"
        if math.isclose(inv, round(inv), rel_tol=1e-12):  # 1/(2σ²)
            return f"1/({round(inv)}{den})"
        return f"{self.coef:.4g}/{den}"

    def equation(self, symbol: str) -> str:
        """E.g. ``"λ = 1/b"`` or ``"δ = 3s²"``."""
        return f"{_SYMBOLS.get(self.field, self.field)} = {self.formula(symbol)}"

    def label(self, symbol: str) -> str:
        """The axis label: ``"penalty λ = 1/b"``, with a note on the fields moving with it."""
        name = _SYMBOLS.get(self.field, self.field)
        text = f"penalty {self.equation(symbol)}"
        if self.moving:
            others = ", ".join(_SYMBOLS.get(m, m) for m in self.moving)
            text += (f" ({others}/{name} fixed)" if self.same_power
                     else f" ({others} moving too)")
        return text


def penalty_numbers(penalty) -> dict[str, float]:
    """The numeric fields of a penalty by name (``{"lam": 0.5}``, ``{"lam": 2, "delta": 12}``)."""
    items = (((f.name, getattr(penalty, f.name)) for f in dataclasses.fields(penalty))
             if dataclasses.is_dataclass(penalty) else vars(penalty).items())
    return {k: float(v) for k, v in items
            if isinstance(v, int | float | np.floating) and not isinstance(v, bool)}


def scale_law(prior: Prior) -> ScaleLaw | None:
    """The penalty parameter that moves with the prior's scale, as a power law, or ``None``.

    ``lam`` when it moves (Laplace ``1/b``, Gaussian ``1/(2 sigma**2)``, bridge
    ``alpha**-p``, elastic net ``1/b``), else the first field that does (Student-t:
    ``delta = nu s**2``, its ``lam = (nu + 1)/2`` being fixed). ``None`` for a prior
    without a penalty, or whose parameters move in no power law of the scale.
    """
    if not prior.has_mode:
        return None
    s0 = prior.scale
    fields = penalty_numbers(prior.penalty())
    laws = {}
    for name in fields:
        law = _power_law(lambda s, name=name: penalty_numbers(
            prior.with_scale(s).penalty())[name], s0)
        if law is not None and law[1] != 0.0:
            laws[name] = law
    if not laws:
        return None
    field = "lam" if "lam" in laws else next(iter(laws))
    coef, power = laws[field]
    moving = tuple(n for n in laws if n != field)
    return ScaleLaw(field, coef, power, moving,
                    all(math.isclose(laws[n][1], power) for n in moving))


# ------------------------------------------------------------------ default grid
def prior_spread(prior: Prior, mass: float = 0.682689492137086) -> float:
    """Half-width of the prior's central ``mass`` interval (a Gaussian's sd by default).

    Computed from :meth:`~mapreg.priors.Prior.logpdf` by quadrature; the scale itself
    when that fails (a prior without a closed-form density).
    """
    from scipy.integrate import quad
    from scipy.optimize import brentq

    def mass_within(x):
        val, _ = quad(lambda w: math.exp(float(prior.logpdf(np.array([w]))[0])), 0.0, x,
                      limit=200)
        return 2.0 * val - mass

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            hi = prior.scale
            for _ in range(60):
                if mass_within(hi) > 0.0:
                    break
                hi *= 2.0
            width = brentq(mass_within, 0.0, hi, xtol=1e-12 * hi, rtol=1e-12)
    except (ValueError, ArithmeticError, RuntimeError):
        return prior.scale
    return float(width) if math.isfinite(width) and width > 0 else prior.scale


def _null_model_derivatives(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """``X' dL/deta`` and ``sum_i L''_i x_ij**2`` at the intercept-only fit (``w = 0``);
    for dask-backed data from one map-reduce (:meth:`DaskData.evaluate`, cached)."""
    fam = model.family
    if model.is_dask:
        model.check_data()
        data = model._dask
        c0 = fam.initial_intercept(np.array([data.stats().y_mean])) if model.fit_intercept \
            else 0.0
        p = model.n_features
        if fam.is_quadratic:  # gaussian: from the statistics, no further pass
            from mapreg.backends.gram import gaussian_curvature

            st, h = data.stats(), gaussian_curvature(fam)
            xtx = np.diag(st.Sxx) + st.n * st.x_mean**2
            return h * st.residual_gradient(np.zeros(p), c0)[0], h * xtx
        _, grad, hess = data.evaluate(np.zeros(p), c0)
        return grad[:p], np.diag(hess)[:p]
    X, y = model.X, model.y
    c0 = fam.initial_intercept(y) if model.fit_intercept else 0.0
    eta0 = np.full(len(y), c0)
    return X.T @ fam.dloss(eta0, y), fam.d2loss(eta0, y) @ X**2


def default_scales(model: Model, num: int = 30, *,
                   covering: Sequence[float] | None = None) -> np.ndarray:
    """A log-spaced grid of prior scales covering the interesting part of the path.

    A penalty with a kink at zero (an L1 part, ``quadratic_weights()[0] > 0``): from
    the scale where every coefficient is zero (its L1 weight equals ``lam_max``, the
    largest ``|dL/dw_j|`` at the intercept-only fit) up to ``lam_max / 1000``.
    Otherwise the scales of a Gaussian prior whose ``lam = 1/(2 sigma**2)`` runs from
    100 to 0.01 times the mean curvature ``sum_i L''_i x_ij**2`` of the loss at the
    null model (nearly total to nearly no shrinkage): a pure squared-L2 penalty at that
    weight, any other prior at the same spread (:func:`prior_spread` equal to ``sigma``).
    ``covering`` widens the grid (same number of points) to include those scales.
    """
    prior = model.prior
    _check_model(model)
    grad0, curv0 = _null_model_derivatives(model)
    weights = prior.penalty().quadratic_weights()
    if weights is not None and weights[0] > 0.0:
        lam_max = float(np.max(np.abs(grad0)))
        if lam_max <= 0.0:
            raise ValueError("the loss gradient is zero at the null model: no lasso path")
        target, which = lam_max * np.geomspace(1.0, 1e-3, num), 0
    else:
        h = float(np.mean(curv0))
        target, which = h * np.geomspace(1e2, 1e-2, num), 1
    if weights is not None:  # a |w| + c w**2: move the weight that is there
        law = _power_law(lambda s: prior.with_scale(s).penalty().quadratic_weights()[which],
                         prior.scale)
    else:  # match the spread of the Gaussian prior with that lam
        target = 1.0 / np.sqrt(2.0 * target)
        law = _power_law(lambda s: prior_spread(prior.with_scale(s)), prior.scale)
    if law is None:
        raise ValueError(f"cannot place a default grid of scales for {prior!r}: pass scales")
    c, k = law
    grid = np.sort((target / c) ** (1.0 / k))
    if covering is not None:
        covering = _check_scales(covering)
        grid = np.geomspace(min(grid[0], covering[0]), max(grid[-1], covering[-1]), len(grid))
    return grid
