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
        Largest violation of the optimality conditions at the returned point:
        ``|dL/dw_j + lam sign(w_j)|`` for ``w_j != 0`` (L1), ``max(|dL/dw_j| - lam, 0)``
        for ``w_j = 0``, ``|dL/dw_j + 2 lam w_j|`` (L2), and ``|dL/dw0|``.
    tol : float
        The absolute KKT tolerance the solver was asked to reach.
    n_iter : int
        Outer iterations (Newton steps or coordinate-descent rounds).
    converged : bool
        ``kkt_violation <= tol``.
    solver : str
        Which path ran (``"cholesky"``, ``"cd-gram"``, ``"prox-newton-gram"``, ...).
    """

    coef: np.ndarray
    intercept: float
    kkt_violation: float
    tol: float
    n_iter: int
    converged: bool
    solver: str
    #: ``False`` for a non-convex objective (bridge ``p < 1``, Student-t): the result is
    #: then a *local* minimiser.
    convex: bool = True
    #: non-convex objectives only: smallest eigenvalue of the Hessian on the support and
    #: intercept. With ``kkt_violation <= tol`` a positive value certifies a strict local
    #: minimum (``converged`` requires it); ``nan`` for convex objectives.
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
