"""Small immutable result records."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class FitResult:
    """What both sides of the equivalence return.

    Attributes
    ----------
    coef : ndarray, shape (n_features,)
        The minimiser; exact zeros where the L1 term sets them.
    intercept : float
        The unpenalised intercept (0.0 when not fitted).
    kkt_violation : float
        Largest violation of the first-order optimality conditions at the returned
        point (:func:`mapreg.solvers.kkt_violation`): the distance from ``-dL/dw_j`` to
        the subdifferential of the term at ``w_j`` — ``|dL/dw_j + lam sign(w_j)|`` for
        ``w_j != 0`` and ``max(|dL/dw_j| - lam, 0)`` for ``w_j = 0`` (L1),
        ``|dL/dw_j + 2 lam w_j|`` (L2), ``|dL/dw_j + pen'(w_j)|`` for a smooth term —
        and ``|dL/dw0|`` for the intercept.
    tol : float
        The absolute KKT tolerance the solver was asked to reach.
    n_iter : int
        Outer iterations: proximal-Newton steps (a rejected step that the solver
        retried with another model counts too), or rounds of coordinate descent plus
        the exact support solve for the Gaussian family. ``0`` with ``max_iter=0``.
    converged : bool
        ``kkt_violation <= tol``. For a non-convex objective (``convex=False``) also
        ``min_curvature > 0``: the point is then a strict local minimum. For the bridge
        with ``p < 1`` (where every zero meets the first-order conditions) also that no
        exact one-coordinate step on the local model would change a zero or a sign.
    solver : str
        Which path ran (:mod:`mapreg.solvers.dispatch`): ``"cholesky"``,
        ``"cholesky+cd"``, ``"cd-gram"``, ``"cd-gram-ws"`` (working sets of growing
        size on Gram blocks), ``"cd-residual"`` (Gaussian family; ``+support-solve``
        when the exact solve on the support finished it),
        ``"prox-newton-gram"``, ``"prox-newton-residual"``,
        ``"prox-newton-dual"`` (other families), ``"bridge-prox-newton-cd+newton"``,
        ``"mm-weighted-ridge(k)+newton"`` (``k`` majorise-minimise steps),
        ``"prox-newton-smooth"``. Along a screened path
        (:mod:`mapreg.solvers.pathwise`): ``"path-cd-gram"``, ``"path-cd-residual"``,
        ``"path-ridge-eigh"`` (``+cd``), ``"path-prox-newton"``.
    """

    coef: np.ndarray
    intercept: float
    kkt_violation: float
    tol: float
    n_iter: int
    converged: bool
    solver: str
    #: ``False`` for a non-convex objective (bridge ``p < 1``, Student-t, a non-convex
    #: smooth penalty): the result is then a *local* minimiser, reached from the start.
    convex: bool = True
    #: non-convex objectives only: smallest eigenvalue of the Hessian of the objective on
    #: the support (every coefficient for a smooth term) and the intercept. With
    #: ``kkt_violation <= tol`` a positive value certifies a strict local minimum
    #: (``converged`` requires it); ``nan`` for convex objectives.
    min_curvature: float = float("nan")

    @property
    def n_zeros(self) -> int:
        return int(np.sum(self.coef == 0.0))


@dataclass(frozen=True)
class MAPResult(FitResult):
    """Posterior mode of a :class:`mapreg.Model`.

    ``neg_log_posterior`` is ``-log p(y | w) - sum_j log p(w_j)`` at the mode,
    normalising constants included (the flat intercept prior contributes 0).
    """

    neg_log_posterior: float = np.nan
    feature_names: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class PenalizedResult(FitResult):
    """Minimiser of ``L(w) + lam * pen(w)`` (``objective`` is that value, no constants)."""

    objective: float = np.nan
    penalty: str = ""
    lam: float = np.nan
