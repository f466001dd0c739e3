"""The penalty protocol: what every solver may ask of a separable penalty.

A penalty is ``sum_j pen(w_j)`` over the coefficients (never the intercept),
parametrised by its weight ``lam`` and shape parameters, as in skglm's separable
penalties. Solvers talk to penalties only through this interface:

* ``value(w)`` — ``sum_j pen(w_j)``, the weight included;
* ``prox_1d(z, step)`` — ``argmin_x (x - z)**2 / 2 + step * pen(x)`` elementwise
  (the *global* minimiser for non-convex penalties);
* ``subdiff_distance(w, grad)`` — distance from ``-grad_j`` to the (Clarke)
  subdifferential of ``pen`` at ``w_j``: the KKT certificate;
* ``grad(w)`` / ``hess(w)`` — elementwise first and second derivatives, where the
  penalty is differentiable (``smooth = True``: everywhere; the bridge: off zero);
* ``quadratic_weights()`` — ``(a, c)`` when ``pen(w) = a |w| + c w**2`` (then the
  numba coordinate-descent kernels apply), else ``None``;
* ``majorizer_weights(w)`` — ``c_j`` of a quadratic majoriser ``c_j x**2 + const``
  tight at ``w_j``, for majorise-minimise on non-convex smooth penalties, else ``None``.

Class data ``convex`` and ``smooth`` tell the dispatcher (:func:`mapreg.solvers.solve`)
which path applies.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np


class Penalty(ABC):
    """A separable penalty ``sum_j pen(w_j)`` with its proximal operator and certificate."""

    #: short name (``"l1"``, ``"l2"``, ``"bridge"``, ``"elasticnet"``, ``"log"``, ...).
    name: ClassVar[str]
    #: whether ``pen`` is convex (then a certified stationary point is the global minimiser).
    convex: ClassVar[bool] = True
    #: whether ``pen`` is twice differentiable everywhere (``grad``/``hess`` then exist).
    smooth: ClassVar[bool] = False

    @abstractmethod
    def value(self, w) -> float:
        """``sum_j pen(w_j)``, the weight included."""

    @abstractmethod
    def prox_1d(self, z, step: float) -> np.ndarray:
        """``argmin_x (x - z)**2 / 2 + step * pen(x)``, elementwise over ``z``."""

    @abstractmethod
    def subdiff_distance(self, w, grad) -> np.ndarray:
        """Distance from ``-grad`` to the subdifferential of ``pen`` at ``w``, elementwise.

        Zero at every coordinate exactly when ``w`` is stationary for
        ``f(w) + sum_j pen(w_j)`` with ``grad = grad f(w)`` (the KKT conditions).
        """

    def grad(self, w) -> np.ndarray:
        """``pen'(w_j)`` elementwise, where ``pen`` is differentiable."""
        raise NotImplementedError(f"{type(self).__name__} has no gradient")

    def hess(self, w) -> np.ndarray:
        """``pen''(w_j)`` elementwise, where ``pen`` is twice differentiable."""
        raise NotImplementedError(f"{type(self).__name__} has no Hessian")

    def quadratic_weights(self) -> tuple[float, float] | None:
        """``(a, c)`` with ``pen(w) = a |w| + c w**2``, or ``None`` if it is not of that form."""
        return None

    def majorizer_weights(self, w) -> np.ndarray | None:
        """``c_j`` with ``pen(x) <= c_j x**2 + const_j``, equal at ``x = w_j``; ``None`` if none."""
        return None
