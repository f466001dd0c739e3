"""Which solver path a penalty takes, decided by the penalty protocol alone.

* ``quadratic_weights()`` is ``(a, c)`` (``a |w| + c w**2``: L1, L2, elastic net, the
  bridge at ``p = 1, 2``):

  - Gaussian family: :func:`~mapreg.solvers.quadratic.solve_quadratic`, an exact
    solve (``FitResult.solver``: ``"cholesky"``, ``"cd-gram"``, ``"cd-residual"``,
    ``"cd-gram-ws"`` when Gram blocks of working sets sufficed (``p >= 64``, an L1
    part, a sparse answer), ``+support-solve`` when the exact support solve finished it);
  - Bernoulli, Poisson: :func:`~mapreg.solvers.glm.solve_prox_newton`
    (``"prox-newton-gram"``, ``"prox-newton-residual"``, ``"prox-newton-dual"``);

* :class:`~mapreg.penalties.Bridge` with another ``p``: :func:`~mapreg.solvers.bridge.
  solve_bridge` (``"bridge-prox-newton-cd+newton"``);
* ``smooth`` with ``majorizer_weights()`` (the log penalty of the Student-t prior):
  :func:`~mapreg.solvers.mm.solve_mm` (``"mm-weighted-ridge(k)+newton"``);
* ``smooth`` otherwise (a user's log cosh, say): :func:`~mapreg.solvers.mm.solve_smooth`
  (``"prox-newton-smooth"``);
* anything else: ``ValueError`` saying what to implement.

Every path but the Gaussian quadratic one runs :func:`mapreg.solvers.prox_newton.prox_newton`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mapreg.families import Family
from mapreg.penalties import Bridge
from mapreg.results import FitResult


def select_path(term, family: Family) -> Callable[..., FitResult]:
    """The solver function for ``term`` (a penalty) and ``family``; see the module table."""
    from mapreg.solvers import bridge, glm, mm, quadratic

    if term.quadratic_weights() is not None:
        return quadratic.solve_quadratic if family.is_quadratic else glm.solve_prox_newton
    # The bridge CD kernel needs the bridge's own (lam, p), which the protocol does not
    # expose: the one isinstance in the dispatch.
    if isinstance(term, Bridge):
        return bridge.solve_bridge
    if term.smooth:
        if term.majorizer_weights(np.zeros(1)) is not None:
            return mm.solve_mm
        return mm.solve_smooth
    raise ValueError(
        f"no solver path for the penalty {term!r}: implement quadratic_weights() returning "
        "(a, c) when pen(w) = a |w| + c w**2, or set smooth = True and implement grad() and "
        "hess() (plus majorizer_weights() if it is non-convex) — see "
        "mapreg.penalties.base.Penalty"
    )


def solve(
    X: np.ndarray,
    y: np.ndarray,
    family: Family,
    term,
    objective: Callable[[np.ndarray, float], float],
    *,
    fit_intercept: bool,
    tol: float,
    max_iter: int,
    start: np.ndarray | None = None,
) -> FitResult:
    """Minimise ``L(X w + c) + term(w)`` to a KKT violation below ``tol`` (absolute).

    Parameters
    ----------
    term
        A penalty (:class:`mapreg.penalties.base.Penalty`): the path is chosen from its
        protocol (see the module table), the certificate from ``subdiff_distance``.
    objective
        ``objective(coef, intercept)``: the quantity being minimised, as the caller
        defines it (the line searches and the reported value use it).
    max_iter
        Outer iterations (``0``: the start is returned, certified as it stands).
    start
        Starting coefficients for the non-convex paths (default zeros); the convex
        paths have one answer and ignore it.
    """
    path = select_path(term, family)
    return path(X, y, family, term, objective, fit_intercept=fit_intercept, tol=tol,
                max_iter=max_iter, start=start)
