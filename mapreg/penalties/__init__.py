"""Penalties of the frequentist side, parametrised by ``lam`` directly (skglm-style)."""

from mapreg.penalties.base import Penalty
from mapreg.penalties.separable import (
    L1,
    L2,
    PENALTIES,
    Bridge,
    ElasticNetPenalty,
    LogPenalty,
    make_penalty,
)

__all__ = [
    "L1",
    "L2",
    "PENALTIES",
    "Bridge",
    "ElasticNetPenalty",
    "LogPenalty",
    "Penalty",
    "make_penalty",
]
