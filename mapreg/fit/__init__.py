"""Point estimates: the MAP, the penalised fit, their equivalence check and conversions."""

from mapreg.fit.map import find_map
from mapreg.fit.penalized import penalized_fit
from mapreg.fit.verify import EquivalenceReport, verify_equivalence

__all__ = ["EquivalenceReport", "find_map", "penalized_fit", "verify_equivalence"]
