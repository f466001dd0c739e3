r"""Sufficient statistics chunk by chunk, and the Gaussian MAP from them alone.

Numpy only: :func:`summarize_block` and :func:`glm_block` run once per chunk of rows (on
dask workers), :func:`merge_summaries` and :func:`add` combine two results, and the rest
runs on the client from statistics of size ``O(p**2)``.

**Statistics.** With ``z = (x, y)`` per row, a chunk keeps its row count, the mean of
``z`` and the *centred* cross-product ``S = sum (z - zbar)(z - zbar)'``; two chunks merge
by the pairwise update of Chan, Golub & LeVeque (``S = S_a + S_b + d d' n_a n_b / n``,
``d = zbar_b - zbar_a``), so a large mean never cancels against a raw sum of squares.
:class:`GramStats` reads ``n, xbar, ybar, Sxx, Sxy, Syy`` from the merged result. The same
pass finds the first non-finite entry of ``X`` and ``y`` and the first label outside the
family's support, counted over all chunks: the errors are those of the in-memory checks.

**The Gaussian MAP** (:func:`solve_gaussian_stats`) is the exact path of
:func:`mapreg.solvers.quadratic.solve_quadratic` on the Gram matrix — ``h Sxx`` is what
that path builds from the centred ``X`` — with the KKT certificate from the statistics::

    X'(X w + c - y) = Sxx w - Sxy + n xbar r,   1'(X w + c - y) = n r,
    r = xbar'w + c - ybar,
    sum (y - X w - c)**2 = Syy - 2 w'Sxy + w'Sxx w + n r**2 .
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from mapreg.families import Family, GaussianFamily
from mapreg.results import FitResult
from mapreg.solvers.glm import MAX_SWEEPS
from mapreg.solvers.kernels import cd_gram
from mapreg.solvers.quadratic import _gram_block, _solve_on_support, _weights


# ------------------------------------------------------------------ one pass
@dataclass(frozen=True)
class BlockSummary:
    """What one pass over rows learns; :func:`merge_summaries` combines two in row order.

    ``x_bad``: ``(row, column, kind, count)`` of the first non-finite entry of ``X``;
    ``y_bad``: ``(row, kind, count)``; ``label_bad``: ``(row, value, count)`` of the first
    label outside the family's support (rows counted from the first row of the summary);
    ``label_error``: a family's own message when it has no :meth:`Family.invalid_y`.
    """

    n_x: int
    n_y: int
    mean: np.ndarray
    cross: np.ndarray
    x_bad: tuple | None = None
    y_bad: tuple | None = None
    label_bad: tuple | None = None
    label_error: str | None = None
    y_min: float = math.inf
    y_max: float = -math.inf
    loss_constant: float = 0.0


def _first_bad(a):
    bad = ~np.isfinite(a)
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    return (*idx, "nan" if np.isnan(a[idx]) else "inf", int(bad.sum()))


def as_block(Xb, yb) -> tuple[np.ndarray, np.ndarray]:
    """A chunk as float64 arrays (``X`` 2-D, ``y`` 1-D); pandas partitions are accepted."""
    try:
        X = np.asarray(Xb, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X must be numeric: {exc}") from None
    try:
        y = np.asarray(yb, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y must be numeric: {exc}") from None
    return X, y.reshape(-1)


def summarize_block(Xb, yb, family: Family) -> BlockSummary:
    """Statistics and checks of one chunk of rows (see the module docstring)."""
    X, y = as_block(Xb, yb)
    n, p = X.shape
    if n != y.shape[0]:  # reported with the totals once every chunk is counted
        return BlockSummary(n, y.shape[0], np.zeros(p + 1), np.zeros((p + 1, p + 1)))
    x_bad, y_bad = _first_bad(X), _first_bad(y)
    if x_bad is None and y_bad is None:
        z = np.empty((n, p + 1))
        z[:, :p], z[:, p] = X, y
        mean = z.mean(axis=0) if n else np.zeros(p + 1)
        z -= mean
        cross = z.T @ z
    else:  # the data are refused (check_summary): no statistics needed
        mean, cross = np.zeros(p + 1), np.zeros((p + 1, p + 1))
    label_bad = label_error = None
    mask = family.invalid_y(y)
    if mask is not None and mask.any():
        i = int(np.flatnonzero(mask)[0])
        label_bad = (i, float(y[i]), int(mask.sum()))
    elif mask is None and type(family).validate_y is not Family.validate_y:
        try:  # a family with its own check only: its message, rows of this chunk
            family.validate_y(y)
        except ValueError as exc:
            label_error = str(exc)
    try:
        with np.errstate(all="ignore"):  # labels outside the support are refused anyway
            constant = float(family.loss_constant(y))
    except ValueError:  # the gaussian family with unknown noise
        constant = math.nan
    return BlockSummary(
        n, n, mean, cross, x_bad=x_bad, y_bad=y_bad, label_bad=label_bad,
        label_error=label_error, y_min=float(y.min(initial=math.inf)),
        y_max=float(y.max(initial=-math.inf)), loss_constant=constant)


def _shift(found, rows):
    return None if found is None else (found[0] + rows, *found[1:-1])


def _merge_bad(a, b, rows):
    """The first of two ``(row, ..., count)`` records, ``b``'s rows offset by ``rows``."""
    if a is None and b is None:
        return None
    if a is None:
        return (*_shift(b, rows), b[-1])
    return (*a[:-1], a[-1] + (0 if b is None else b[-1]))


def merge_summaries(a: BlockSummary, b: BlockSummary) -> BlockSummary:
    """``a`` then ``b``: the statistics of all their rows (Chan–Golub–LeVeque update)."""
    n = a.n_x + b.n_x
    if b.n_x == 0:
        mean, cross = a.mean, a.cross
    elif a.n_x == 0:
        mean, cross = b.mean, b.cross
    else:
        d = b.mean - a.mean
        mean = a.mean + d * (b.n_x / n)
        cross = a.cross + b.cross + np.outer(d, d) * (a.n_x * b.n_x / n)
    label_bad = a.label_bad
    if label_bad is None and b.label_bad is not None:
        label_bad = (b.label_bad[0] + a.n_y, *b.label_bad[1:])
    elif label_bad is not None and b.label_bad is not None:
        label_bad = (*label_bad[:2], label_bad[2] + b.label_bad[2])
    return BlockSummary(
        n, a.n_y + b.n_y, mean, cross, x_bad=_merge_bad(a.x_bad, b.x_bad, a.n_x),
        y_bad=_merge_bad(a.y_bad, b.y_bad, a.n_y), label_bad=label_bad,
        label_error=a.label_error or b.label_error, y_min=min(a.y_min, b.y_min),
        y_max=max(a.y_max, b.y_max), loss_constant=a.loss_constant + b.loss_constant)


def check_summary(s: BlockSummary, family: Family, fit_intercept: bool) -> None:
    """Raise the in-memory checks' ``ValueError`` for the data ``s`` summarises, in their order.

    Rows, non-finite ``X`` then ``y`` (:func:`mapreg._validation.check_X_y`), labels
    (:meth:`Family.validate_y`), then whether a flat intercept has a mode
    (:meth:`Family.check_intercept_identified`, which needs only ``min y`` and ``max y``
    for the built-in families).
    """
    from mapreg._validation import check_rows, nonfinite_message

    check_rows(s.n_x, s.n_y)
    if s.x_bad is not None:
        raise ValueError(nonfinite_message("X", s.x_bad[:2], s.x_bad[2], s.x_bad[3]))
    if s.y_bad is not None:
        raise ValueError(nonfinite_message("y", s.y_bad[:1], s.y_bad[1], s.y_bad[2]))
    if s.label_bad is not None:
        raise ValueError(family.invalid_y_message(*s.label_bad))
    if s.label_error is not None:
        raise ValueError(s.label_error)
    if fit_intercept:
        family.check_intercept_identified(np.array([s.y_min, s.y_max]))


# ------------------------------------------------------------------ statistics
@dataclass(frozen=True)
class GramStats:
    """``n``, the means and the centred cross-products of ``X`` and ``y``."""

    n: int
    x_mean: np.ndarray
    y_mean: float
    Sxx: np.ndarray
    Sxy: np.ndarray
    Syy: float

    @classmethod
    def from_summary(cls, s: BlockSummary) -> GramStats:
        p = s.mean.shape[0] - 1
        return cls(s.n_x, s.mean[:p].copy(), float(s.mean[p]), s.cross[:p, :p].copy(),
                   s.cross[:p, p].copy(), float(s.cross[p, p]))

    @classmethod
    def from_arrays(cls, X, y) -> GramStats:
        X, y = as_block(X, y)
        return cls.from_summary(summarize_block(X, y, GaussianFamily(1.0)))

    @property
    def p(self) -> int:
        return self.x_mean.shape[0]

    def normal_equations(self, fit_intercept: bool):
        """``(G, b, xbar, ybar)``: the Gram matrix and ``X'y`` after centring (with an
        intercept), or raw (``G = X'X``, ``b = X'y`` and zero means, without)."""
        if fit_intercept:
            return self.Sxx, self.Sxy, self.x_mean, self.y_mean
        n, xm = self.n, self.x_mean
        return (self.Sxx + n * np.outer(xm, xm), self.Sxy + n * self.y_mean * xm,
                np.zeros(self.p), 0.0)

    def augmented(self, fit_intercept: bool):
        """``(Z'Z, Z'y, y'y, n)`` of ``Z = [X, 1]`` (or ``X``), rebuilt from the centred
        statistics: ``X'X = Sxx + n xbar xbar'``, ``X'1 = n xbar``, ``X'y = Sxy + n ybar xbar``,
        ``y'y = Syy + n ybar**2``."""
        n, xm, ym = self.n, self.x_mean, self.y_mean
        xtx, xty = self.Sxx + n * np.outer(xm, xm), self.Sxy + (n * ym) * xm
        yty = self.Syy + n * ym * ym
        if not fit_intercept:
            return xtx, xty, yty, n
        k = self.p + 1
        ztz = np.empty((k, k))
        ztz[:-1, :-1], ztz[:-1, -1], ztz[-1, :-1], ztz[-1, -1] = xtx, n * xm, n * xm, n
        return ztz, np.append(xty, n * ym), yty, n

    def mean_residual(self, coef, intercept) -> float:
        """``r = mean(X w + c - y)``."""
        return float(self.x_mean @ coef) + float(intercept) - self.y_mean

    def rss(self, coef, intercept) -> float:
        """``sum (y - X w - c)**2`` (clipped at 0)."""
        r = self.mean_residual(coef, intercept)
        value = (self.Syy - 2.0 * float(coef @ self.Sxy) + float(coef @ self.Sxx @ coef)
                 + self.n * r * r)
        return max(value, 0.0)

    def residual_gradient(self, coef, intercept) -> tuple[np.ndarray, float]:
        """``(X'(X w + c - y), 1'(X w + c - y))``."""
        r = self.mean_residual(coef, intercept)
        return self.Sxx @ coef - self.Sxy + (self.n * r) * self.x_mean, self.n * r



def gaussian_curvature(family: Family) -> float:
    """``h = d2L/deta2 = 1 / noise_sigma**2`` of the gaussian family."""
    return float(family.d2loss(np.zeros(1), np.zeros(1))[0])


def kkt_violation_stats(st: GramStats, family: Family, term, coef, intercept,
                        fit_intercept: bool) -> float:
    """:func:`mapreg.solvers.kkt.kkt_violation` of the gaussian family, from ``st``."""
    h = gaussian_curvature(family)
    gw, gc = st.residual_gradient(coef, intercept)
    worst = float(np.max(term.subdiff_distance(coef, h * gw), initial=0.0))
    if fit_intercept:
        worst = max(worst, abs(h * gc))
    return worst


def absolute_tolerance_stats(st: GramStats, family: Family, fit_intercept: bool,
                             tol: float) -> float:
    """:func:`mapreg.solvers.kkt.absolute_tolerance` of the gaussian family, from ``st``."""
    c0 = st.y_mean if fit_intercept else 0.0
    gw, _ = st.residual_gradient(np.zeros(st.p), c0)
    return tol * max(1.0, float(np.max(np.abs(gaussian_curvature(family) * gw))))


def solve_gaussian_stats(st: GramStats, family: Family, term, *, fit_intercept: bool,
                         tol: float, max_iter: int) -> FitResult:
    """The gaussian MAP / penalised fit ``L + a|w| + c w**2`` from the statistics alone.

    The steps of :func:`mapreg.solvers.quadratic.solve_quadratic` with ``n >= p``: one
    Cholesky solve for a pure L2 term; otherwise coordinate descent on the Gram matrix
    to a moderate tolerance, the exact solve on its support and signs, and tighter rounds
    until the certificate (:func:`kkt_violation_stats`) is below ``tol`` (absolute).
    """
    p = st.p
    h = gaussian_curvature(family)
    G0, b0, x_mean, y_mean = st.normal_equations(fit_intercept)
    l1, l2 = _weights(term, p)
    coef = np.zeros(p)
    direct = not l1.any() and l2[0] > 0

    def kkt(w):
        return kkt_violation_stats(st, family, term, w, y_mean - float(x_mean @ w),
                                   fit_intercept)

    if max_iter <= 0:
        value = kkt(coef)
        return FitResult(coef, y_mean, value, tol, 0, value <= tol,
                         "cholesky" if direct else "cd-gram")
    gram, xty = h * G0, h * b0
    if direct:
        method, stage_tol = "cholesky", tol
        A = gram.copy()
        A[np.diag_indices_from(A)] += 2.0 * l2[0]
        try:
            coef = scipy.linalg.solve(A, xty, assume_a="pos")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            coef = np.zeros(p)  # the CD polish takes over
    else:
        method = "cd-gram"
        stage_tol = max(tol, 1e-3 * max(1.0, float(np.max(np.abs(xty)))))
    n_iter, converged, value = 0, False, math.inf
    for _ in range(max_iter):
        value = kkt(coef)
        if value <= tol:
            converged = True
            break
        n_iter += 1
        if method == "cholesky":
            method = "cholesky+cd"
        G = gram @ coef - xty
        cd_gram(gram, G, coef, l1, l2, 0.1 * stage_tol, MAX_SWEEPS)
        if l1.any():
            polished = _solve_on_support(
                coef, l1, l2, lambda A: _gram_block(A, gram=gram, xty=xty), st.n)
            if polished is not None and kkt(polished) <= tol:
                coef = polished
                method += "+support-solve"
        stage_tol = max(0.1 * tol, 0.1 * stage_tol)
    return FitResult(coef, y_mean - float(x_mean @ coef), value, tol, n_iter, converged,
                     method)


# ------------------------------------------------------------------ GLM passes
def glm_block(Xb, yb, family: Family, coef, intercept):
    """``(L, [X, 1]' dL/deta, [X, 1]' H [X, 1])`` of one chunk at ``(coef, intercept)``."""
    X, y = as_block(Xb, yb)
    eta = X @ coef + intercept
    d = family.dloss(eta, y)
    h = family.d2loss(eta, y)
    grad = np.append(X.T @ d, d.sum())
    Xa = np.empty((X.shape[0], X.shape[1] + 1))
    Xa[:, :-1], Xa[:, -1] = X, 1.0
    return float(family.loss(eta, y)), grad, Xa.T @ (h[:, None] * Xa)


def add(a, b):
    """Elementwise sum of two tuples of numbers / arrays (the reduce of :func:`glm_block`)."""
    return tuple(u + v for u, v in zip(a, b, strict=True))


__all__ = ["BlockSummary", "GramStats", "absolute_tolerance_stats", "add", "check_summary",
           "glm_block", "kkt_violation_stats", "merge_summaries", "solve_gaussian_stats",
           "summarize_block"]
