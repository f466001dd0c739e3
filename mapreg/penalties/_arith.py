"""Elementwise building blocks shared by priors and penalties.

Each takes the *weight* of its term explicitly, so that a prior (weight
derived from its scale) and a penalty (weight given as lambda) reuse the same
arithmetic but not the same parameters.
"""

from __future__ import annotations

import numpy as np


def soft_threshold(v, threshold):
    """``sign(v) * max(|v| - threshold, 0)``: the prox of ``threshold * |w|``."""
    v = np.asarray(v, dtype=float)
    return np.sign(v) * np.maximum(np.abs(v) - threshold, 0.0)


def l1_subdiff_distance(w, grad, weight):
    """Distance from ``-grad`` to the subdifferential of ``weight * |w|``.

    For ``w != 0`` the subdifferential is ``{weight * sign(w)}``; at ``w == 0`` it
    is the interval ``[-weight, weight]``, so the distance is
    ``max(|grad| - weight, 0)``.
    """
    w = np.asarray(w, dtype=float)
    grad = np.asarray(grad, dtype=float)
    return np.where(
        w != 0.0,
        np.abs(grad + weight * np.sign(w)),
        np.maximum(np.abs(grad) - weight, 0.0),
    )


def l2_subdiff_distance(w, grad, weight):
    """``|grad + 2 * weight * w|``: the gradient of ``weight * w**2`` is ``2 weight w``."""
    return np.abs(np.asarray(grad, dtype=float) + 2.0 * weight * np.asarray(w, dtype=float))


def log_penalty_grad(w, lam, delta):
    """``d/dw [lam log(1 + w**2/delta)] = 2 lam w / (delta + w**2)``."""
    w = np.asarray(w, dtype=float)
    return 2.0 * (lam / (delta + w**2)) * w


def log_penalty_hess(w, lam, delta):
    """``d2/dw2 [lam log(1 + w**2/delta)] = 2 lam (delta - w**2) / (delta + w**2)**2``."""
    w = np.asarray(w, dtype=float)
    # ratios first: (delta + w**2)**2, or lam * delta, overflow for a huge nu (delta = nu s**2)
    d = delta + w**2
    return 2.0 * (lam / d) * ((delta - w**2) / d)


def log_penalty_mm_weights(w, lam, delta):
    """Weights ``c`` of the majoriser ``c w**2 + const`` of ``lam log(1 + w**2/delta)``.

    ``log(1 + u/delta)`` is concave in ``u = w**2``, so its tangent in ``u`` at the
    current point lies above it and touches it there.
    """
    return lam / (delta + np.asarray(w, dtype=float) ** 2)


def elasticnet_prox(v, step, l1, l2):
    """argmin ``(w - v)**2 / 2 + step (l1 |w| + l2 w**2)``: soft-threshold, then shrink."""
    return soft_threshold(v, step * l1) / (1.0 + 2.0 * step * l2)


def elasticnet_subdiff_distance(w, grad, l1, l2):
    """Distance from ``-grad`` to the subdifferential of ``l1 |w| + l2 w**2``."""
    g = np.asarray(grad, dtype=float) + 2.0 * l2 * np.asarray(w, dtype=float)
    return l1_subdiff_distance(w, g, l1)
