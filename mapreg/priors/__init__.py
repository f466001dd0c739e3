"""Priors on the regression weights: each is a distribution that has a penalty.

``base`` (the :class:`Prior` interface), ``classic`` (Laplace, Gaussian),
``generalized`` (bridge, elastic net, Student-t), ``horseshoe`` (posterior only)
and ``hyper`` (hyperpriors on the noise and the prior scale).
"""

from mapreg.priors.base import Option, Prior
from mapreg.priors.classic import Gaussian, Laplace
from mapreg.priors.generalized import Cauchy, ElasticNet, GeneralizedNormal, StudentT
from mapreg.priors.horseshoe import Horseshoe, RegularizedHorseshoe
from mapreg.priors.hyper import GammaLambdaSq, HalfCauchy, InverseGamma
from mapreg.priors.registry import PRIORS, make_prior, prior_class, prior_names, register_prior

__all__ = [
    "PRIORS",
    "Cauchy",
    "ElasticNet",
    "GammaLambdaSq",
    "Gaussian",
    "GeneralizedNormal",
    "HalfCauchy",
    "Horseshoe",
    "InverseGamma",
    "Laplace",
    "Option",
    "Prior",
    "RegularizedHorseshoe",
    "StudentT",
    "make_prior",
    "prior_class",
    "prior_names",
    "register_prior",
]
