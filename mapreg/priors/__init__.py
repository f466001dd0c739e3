"""Priors on the regression weights: each is a distribution that has a penalty.

``base`` (the :class:`Prior` interface), ``classic`` (Laplace, Gaussian),
``generalized`` (bridge, elastic net, Student-t), ``horseshoe`` (posterior only)
and ``hyper`` (hyperpriors on the noise and the prior scale).
"""

from mapreg.priors.base import Prior
from mapreg.priors.classic import Gaussian, Laplace
from mapreg.priors.generalized import Cauchy, ElasticNet, GeneralizedNormal, StudentT
from mapreg.priors.horseshoe import Horseshoe, RegularizedHorseshoe
from mapreg.priors.hyper import GammaLambdaSq, HalfCauchy, InverseGamma

__all__ = [
    "Cauchy",
    "ElasticNet",
    "GammaLambdaSq",
    "Gaussian",
    "GeneralizedNormal",
    "HalfCauchy",
    "Horseshoe",
    "InverseGamma",
    "Laplace",
    "Prior",
    "RegularizedHorseshoe",
    "StudentT",
]
