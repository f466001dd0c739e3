"""Solvers: one module per concept.

* :mod:`~mapreg.solvers.dispatch` — :func:`solve` picks a path from the penalty protocol;
* :mod:`~mapreg.solvers.kkt` — the certificates (KKT violation, smallest curvature);
* :mod:`~mapreg.solvers.quadratic` — the Gaussian family, solved exactly (Cholesky, or
  coordinate descent plus the exact solve on the support);
* :mod:`~mapreg.solvers.prox_newton` — the one proximal-Newton method and line search;
* :mod:`~mapreg.solvers.glm` — the GLM problem it solves (coordinate-descent model step);
* :mod:`~mapreg.solvers.bridge` — the bridge ``|w|**p`` (bridge CD, then support Newton);
* :mod:`~mapreg.solvers.mm` — smooth penalties: Newton, and majorise-minimise;
* :mod:`~mapreg.solvers.pathwise` — a whole path of ``a|w| + c w**2`` penalties (warm
  starts, sequential strong rules with a KKT check on the discarded set);
* :mod:`~mapreg.solvers.kernels` — the numba coordinate-descent kernels.
"""

from mapreg.solvers.dispatch import select_path, solve
from mapreg.solvers.kkt import absolute_tolerance, kkt_violation

__all__ = ["absolute_tolerance", "kkt_violation", "select_path", "solve"]
