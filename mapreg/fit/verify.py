"""Check, numerically, that the MAP of a model equals the equivalent penalised fit."""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass

import numpy as np

from mapreg.fit.map import find_map
from mapreg.fit.penalized import penalized_fit
from mapreg.model import Model
from mapreg.results import MAPResult, PenalizedResult

#: scikit-learn's witness of a dask-backed model computes ``X`` into memory only up to
#: this many entries (else it is skipped, and the report says why).
SKLEARN_MAX_ENTRIES = 5_000_000


@dataclass(frozen=True)
class EquivalenceReport:
    """Outcome of :func:`verify_equivalence`.

    Attributes
    ----------
    lam : float
        Penalty weight implied by the prior (``1/b`` or ``1/(2 sigma^2)``).
    map, penalized : MAPResult, PenalizedResult
        The two fits.
    sklearn_coef, sklearn_intercept : ndarray or None, float or None
        scikit-learn's fit through :func:`mapreg.fit.conversions.sklearn_estimator`
        (``None`` when scikit-learn is missing or has no equivalent estimator).
    sklearn_name : str
        The estimator used, with its converted parameters, or why there is none.
    max_abs_diff : float
        ``max |coef_MAP - coef_pen|`` over coefficients and intercept.
    max_abs_diff_sklearn : float or None
        Same against scikit-learn.
    objective_constant : float
        ``neg_log_posterior - penalised objective`` predicted in closed form:
        ``p log Z_prior + (-sum loglik - L)`` (the priors' and likelihood's normalisers).
    objective_identity_error : float
        Largest deviation from that constant, evaluated at both solutions.
    zeros_agree : bool
        MAP and penalised fit have the same set of exact zeros.
    zeros_agree_sklearn : bool or None
    tolerance : float
        ``rtol * max(1, ||coef||_inf)``, the bound the differences are checked against.
    penalty : str
        The penalty rebuilt from the prior's numbers, e.g. ``bridge(lam=0.5, p=1.5)``.
    passed : bool
        MAP = penalised within ``tolerance``, same zeros, both certified
        (converged, and the relative certificate below holds), the objective identity
        holds to ``1e-9`` relative (or is not applicable), and scikit-learn (when it
        converged) agrees within ``sklearn_rtol``.
    relative_kkt : tuple of float
        The KKT violation of the MAP and of the penalised fit relative to the forces that
        pin the mode: the penalty's pull (``lam`` for L1, ``|pen'(w_j)|`` on the support)
        or, when that does not resolve it, the curvature ``mu * max(1, ||w||_inf)``
        (``mu`` the smallest eigenvalue of the objective's Hessian on the free
        coordinates). Each must be at most ``rtol``: an absolute certificate of 1e-10
        says nothing about a mode that ``lam = 1e-100`` pins, so it cannot pass a point
        that is not the mode. ``nan`` where the curvature was too costly to compute (the
        solver's own certificate then decides).
    identity_applicable : bool
        ``False`` when the closed-form constant (the prior's normaliser ``p log Z``) is
        not a finite double: the identity is then "not applicable", not "failed".
    """

    model_description: str
    lam: float
    map: MAPResult
    penalized: PenalizedResult
    sklearn_coef: np.ndarray | None
    sklearn_intercept: float | None
    sklearn_name: str
    sklearn_converged: bool | None
    max_abs_diff: float
    max_abs_diff_sklearn: float | None
    objective_constant: float
    objective_identity_error: float
    zeros_agree: bool
    zeros_agree_sklearn: bool | None
    tolerance: float
    sklearn_tolerance: float
    passed: bool
    feature_names: tuple[str, ...]
    penalty: str = ""
    relative_kkt: tuple[float, float] = (0.0, 0.0)
    certified: bool = True
    identity_applicable: bool = True
    rtol: float = 1e-6

    def table(self) -> str:
        """Per-coefficient table: MAP, penalised, scikit-learn."""
        names = ("intercept", *self.feature_names)
        map_v = np.append(self.map.intercept, self.map.coef)
        pen_v = np.append(self.penalized.intercept, self.penalized.coef)
        sk_v = (np.append(self.sklearn_intercept, self.sklearn_coef)
                if self.sklearn_coef is not None else None)
        width = max(12, *(len(n) for n in names))
        head = f"{'':<{width}} {'MAP':>14} {'penalised':>14} {'scikit-learn':>14}"
        lines = [head, "-" * len(head)]
        for i, name in enumerate(names):
            sk = f"{sk_v[i]:14.6g}" if sk_v is not None else f"{'-':>14}"
            lines.append(f"{name:<{width}} {map_v[i]:14.6g} {pen_v[i]:14.6g} {sk}")
        return "\n".join(lines)

    def __str__(self) -> str:
        sk_diff = (f"{self.max_abs_diff_sklearn:.3g}" if self.max_abs_diff_sklearn is not None
                   else "n/a")
        sk_conv = "" if self.sklearn_converged in (None, True) else " (scikit-learn NOT converged)"
        lines = [
            f"Equivalence check: {self.model_description}",
            f"  lambda = {self.lam:.6g}   penalty: {self.penalty}",
            f"  scikit-learn: {self.sklearn_name}",
            self.table(),
            f"  max |MAP - penalised|     = {self.max_abs_diff:.3g}  "
            f"(tolerance {self.tolerance:.3g})",
            f"  max |MAP - scikit-learn|  = {sk_diff}{sk_conv}",
            f"  zeros: MAP {self.map.n_zeros}, penalised {self.penalized.n_zeros}, "
            f"same set: {self.zeros_agree}",
            f"  KKT violation: MAP {self.map.kkt_violation:.2g}, "
            f"penalised {self.penalized.kkt_violation:.2g} "
            f"(relative: {_rel(self.relative_kkt[0])}, {_rel(self.relative_kkt[1])}; "
            f"certified at <= {self.rtol:.0e})",
            *([self.certificate_note()] if not self.certified else []),
            self._identity_line(),
            f"  PASSED: {self.passed}",
        ]
        return "\n".join(lines)

    def certificate_note(self) -> str:
        """Why the certificate does not certify the mode (empty when it does)."""
        if self.certified:
            return ""
        return (f"  NOT a certified mode: the KKT violation is not small against the "
                f"penalty's pull (lambda = {self.lam:.3g}) nor against the curvature, so the "
                "point returned need not be the mode (separable classes or a prior this "
                "weak leave the mode pinned by lambda alone)")

    def _identity_line(self) -> str:
        if not self.identity_applicable:
            return (f"  -log posterior - penalised objective: not applicable (the closed-form "
                    f"constant, the prior's normaliser p log Z, is {self.objective_constant} "
                    "in double precision)")
        return (f"  -log posterior - penalised objective = {self.objective_constant:.10g} "
                f"(closed form; error {self.objective_identity_error:.2g})")


def _rel(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2g}"


def verify_equivalence(
    model: Model,
    rtol: float = 1e-6,
    *,
    sklearn: bool = True,
    sklearn_rtol: float = 1e-4,
    tol: float = 1e-11,
    start=None,
) -> EquivalenceReport:
    """Fit the MAP and the equivalent penalised problem and compare them.

    The MAP is computed from the model's log densities and prior scale, the
    penalised fit from the loss and ``lam = prior.lam``; scikit-learn is a third,
    independent witness through the conversions of :mod:`mapreg.fit.conversions`.

    Parameters
    ----------
    model : Model
    rtol : float
        The coefficients must agree within ``rtol * max(1, ||coef||_inf)``.
    sklearn : bool
        Also fit the scikit-learn equivalent when scikit-learn is installed.
    sklearn_rtol : float
        Relative agreement required of scikit-learn (its solvers stop earlier
        than mapreg's: ``LogisticRegression`` typically near 1e-6 relative).
    tol : float
        Relative KKT tolerance passed to both solvers.
    start : array-like, optional
        Common starting point of both sides for a non-convex prior (StudentT,
        GeneralizedNormal with ``p < 1``): both then return a *local* mode.

    Notes
    -----
    The penalty's numbers come from ``model.prior.penalty()`` — ``L1(lam=1/b)``,
    ``Bridge(lam=alpha**-p, p=p)``, ``ElasticNetPenalty(lam=1/b, lam2=1/(2 sigma**2))``,
    ``LogPenalty(lam=(nu+1)/2, delta=nu s**2)`` — and the penalised side rebuilds its
    penalty from those numbers alone (its fields), then its objective from the loss.
    """
    map_res = find_map(model, tol=tol, start=start)
    # The penalised side gets only numbers (lam, and p / lam2 / delta for the wider
    # family) and builds its own objective from them.
    pen_params = dataclasses.asdict(model.prior.penalty())
    penalty = type(model.prior.penalty())(**pen_params)
    pen_res = penalized_fit(
        model.X, model.y, penalty=penalty,
        family=model.family.name, noise_sigma=model.noise_sigma,
        fit_intercept=model.fit_intercept, tol=tol, start=start,
    )
    scale = max(1.0, float(np.max(np.abs(map_res.coef), initial=0.0)))
    tolerance = rtol * scale
    map_v = np.append(map_res.intercept, map_res.coef)
    pen_v = np.append(pen_res.intercept, pen_res.coef)
    max_abs_diff = float(np.max(np.abs(map_v - pen_v)))
    zeros_agree = bool(np.array_equal(map_res.coef == 0.0, pen_res.coef == 0.0))

    constant, identity_error = _objective_identity(model, penalty, (map_res, pen_res))
    applicable = math.isfinite(constant)
    identity_ok = (not applicable
                   or identity_error <= 1e-9 * max(1.0, abs(map_res.neg_log_posterior)))
    certs = [relative_certificate(model, penalty, res, rtol) for res in (map_res, pen_res)]
    certified = all(ok is not False for _, ok in certs)
    sk = _sklearn_witness(model, map_res) if sklearn else _Witness(name="not requested")
    sklearn_tolerance = sklearn_rtol * scale
    sk_ok = sk.diff is None or not sk.converged or sk.diff <= sklearn_tolerance
    passed = bool(
        max_abs_diff <= tolerance and zeros_agree and identity_ok and certified
        and map_res.converged and pen_res.converged and sk_ok
    )
    return EquivalenceReport(
        model_description=repr(model), lam=model.prior.lam, map=map_res, penalized=pen_res,
        sklearn_coef=sk.coef, sklearn_intercept=sk.intercept, sklearn_name=sk.name,
        sklearn_converged=sk.converged, max_abs_diff=max_abs_diff, max_abs_diff_sklearn=sk.diff,
        objective_constant=constant, objective_identity_error=identity_error,
        zeros_agree=zeros_agree, zeros_agree_sklearn=sk.zeros_agree, tolerance=tolerance,
        sklearn_tolerance=sklearn_tolerance, passed=passed, feature_names=model.feature_names,
        penalty=f"{penalty.name}(" + ", ".join(f"{k}={v:.6g}" for k, v in pen_params.items()) + ")"
        + ("" if penalty.convex else " [non-convex: local modes]"),
        relative_kkt=(certs[0][0], certs[1][0]), certified=certified,
        identity_applicable=applicable, rtol=rtol,
    )


#: Above this many flops (``n k**2 + k**3`` for ``k`` free coordinates) the curvature is
#: not computed for the certificate.
_CURVATURE_FLOPS = 2e9


def relative_certificate(model: Model, penalty, res, rtol: float) -> tuple[float, bool | None]:
    """``(relative KKT violation, certified)`` of a fit ``res`` of ``model``.

    The absolute KKT violation is compared first with the penalty's pull at the point
    (``lam`` for an L1 term, ``|pen'(w_j)|`` on the support), then, if that does not
    resolve it, with ``mu * max(1, ||w||_inf)``, ``mu`` the smallest eigenvalue of the
    objective's Hessian on the free coordinates (the support, all of them for a smooth
    penalty, and the intercept): ``kkt / mu`` bounds the distance to the mode. The
    point is certified when the ratio is at most ``rtol``; ``certified`` is ``None``
    (not decided here) when the curvature is too costly to compute.
    """
    kkt = float(res.kkt_violation)
    if kkt == 0.0:
        return 0.0, True
    if not math.isfinite(kkt):
        return math.inf, False
    w = np.asarray(res.coef, dtype=float)
    with np.errstate(all="ignore"):
        force = float(np.max(penalty.subdiff_distance(w, np.zeros_like(w)), initial=0.0))
        weights = penalty.quadratic_weights()
        if weights is not None:
            force = max(force, float(weights[0]))
        if not math.isfinite(force):
            force = 0.0
        if kkt <= rtol * force:
            return kkt / force, True
        mu = _min_curvature(model, penalty, w, float(res.intercept))
    if mu is None:
        return math.nan, None
    reference = max(force, mu * max(1.0, float(np.max(np.abs(w), initial=0.0))))
    relative = kkt / reference if reference > 0 else math.inf
    return relative, bool(relative <= rtol)


def _min_curvature(model: Model, penalty, w, intercept) -> float | None:
    """Smallest eigenvalue of the Hessian on the free coordinates (a lower bound, or None)."""
    X, y, family = model.X, model.y, model.family
    free = np.arange(w.size) if penalty.smooth else np.flatnonzero(w)
    k = free.size + (1 if model.fit_intercept else 0)
    if k == 0:
        return math.inf
    weights = penalty.quadratic_weights()
    try:
        pen_curv = (np.full(free.size, 2.0 * float(weights[1])) if weights is not None
                    else np.asarray(penalty.hess(w), dtype=float)[free])
    except NotImplementedError:
        pen_curv = np.zeros(free.size)
    n = X.shape[0]
    if n * k * k + k**3 > _CURVATURE_FLOPS:
        if k <= n:
            return None
        # X'DX is singular: the penalty's curvature (0 for the intercept) bounds mu below
        return float(min(np.min(pen_curv, initial=np.inf), 0.0 if model.fit_intercept
                         else np.inf))
    h = family.d2loss(X @ w + intercept, y)
    Xa = X[:, free]
    if model.fit_intercept:
        Xa = np.hstack([Xa, np.ones((n, 1))])
        pen_curv = np.append(pen_curv, 0.0)
    H = Xa.T @ (h[:, None] * Xa)
    H[np.diag_indices_from(H)] += pen_curv
    if not np.all(np.isfinite(H)):
        return None
    try:
        return float(np.linalg.eigvalsh(0.5 * (H + H.T))[0])
    except np.linalg.LinAlgError:
        return None


def _objective_identity(model: Model, penalty, results) -> tuple[float, float]:
    """``(p log Z + loss constant, worst error of the identity at the given solutions)``.

    ``-log posterior - (L + pen) = p log Z + (likelihood constants)`` must hold at
    every point; it is checked at both the MAP and the penalised solution.
    """
    constant = model.n_features * model.prior.log_normalizer + model.loss_constant()
    gaps = []
    for res in results:
        nlp = model.neg_log_posterior(res.coef, res.intercept)
        gaps.append(abs(nlp - (model.loss(res.coef, res.intercept) + penalty.value(res.coef))
                        - constant))
    return constant, max(gaps)


class _Refused(Exception):
    """scikit-learn cannot fit this model (one class, overflowing parameters)."""


@dataclass(frozen=True)
class _Witness:
    """scikit-learn's fit of the same model, or why there is none."""

    name: str
    coef: np.ndarray | None = None
    intercept: float | None = None
    converged: bool | None = None
    diff: float | None = None
    zeros_agree: bool | None = None


def _sklearn_witness(model: Model, map_res: MAPResult) -> _Witness:
    try:
        coef, intercept, name, converged = _fit_sklearn(model)
    except _Refused as exc:
        return _Witness(name=str(exc))
    if coef is None:
        return _Witness(name=name)
    diff = float(np.max(np.abs(np.append(intercept, coef)
                               - np.append(map_res.intercept, map_res.coef))))
    return _Witness(name, coef, intercept, converged, diff,
                    bool(np.array_equal(coef == 0.0, map_res.coef == 0.0)))


def _fit_sklearn(model: Model):
    try:
        from sklearn.exceptions import ConvergenceWarning
    except ImportError:
        return None, None, "scikit-learn is not installed", None
    from mapreg.fit.conversions import sklearn_estimator

    try:
        est = sklearn_estimator(model)
    except (ArithmeticError, ValueError) as exc:
        why = ("they overflow double precision" if isinstance(exc, ArithmeticError)
               else str(exc).strip().splitlines()[0])
        raise _Refused(f"skipped: no scikit-learn parameters for this prior ({why}); the MAP "
                       "and the penalised fit are compared without it") from None
    if est is None:
        return None, None, f"none ({model.family.name} + {type(model.prior).__name__})", None
    params = {k: v for k, v in est.get_params().items()
              if k in ("alpha", "C", "l1_ratio", "solver")}
    args = ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in params.items())
    name = f"{type(est).__name__}({args})"
    data = model.data_in_memory(SKLEARN_MAX_ENTRIES)
    if data is None:  # dask-backed and large: scikit-learn would need it all in memory
        return None, None, (f"{name} skipped: the dask-backed X has {model.n_samples} x "
                            f"{model.n_features} entries, more than {SKLEARN_MAX_ENTRIES} to "
                            "bring into memory"), None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            est.fit(*data)
        except (ArithmeticError, ValueError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise _Refused(f"skipped: {name} refuses this data ({msg}); the MAP and the "
                           "penalised fit are compared without it") from None
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    coef = np.ravel(est.coef_).astype(float)
    intercept = float(np.ravel(est.intercept_)[0]) if model.fit_intercept else 0.0
    return coef, intercept, name, converged
