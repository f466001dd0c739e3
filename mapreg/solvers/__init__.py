"""Solvers: KKT certificate, quadratic coordinate descent, proximal Newton, non-convex paths."""

from mapreg.solvers.quadratic import absolute_tolerance, kkt_violation, solve

__all__ = ["absolute_tolerance", "kkt_violation", "solve"]
