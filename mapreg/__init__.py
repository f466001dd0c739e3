"""mapreg: a penalty is a prior.

MAP estimation with exact zeros and KKT certificates, verified against the
equivalent penalised fit and scikit-learn, and the posterior beyond the mode.
"""

from mapreg.diagnostics import SamplingWarning
from mapreg.families import BernoulliFamily, GaussianFamily, PoissonFamily
from mapreg.hyperpriors import GammaLambdaSq, HalfCauchy, InverseGamma
from mapreg.map_estimate import ConvergenceWarning, find_map
from mapreg.model import Model
from mapreg.penalized import penalized_fit
from mapreg.priors import Gaussian, Laplace, Prior
from mapreg.priors_family import (
    Cauchy,
    ElasticNet,
    GeneralizedNormal,
    Horseshoe,
    RegularizedHorseshoe,
    StudentT,
)
from mapreg.results import FitResult, MAPResult, PenalizedResult
from mapreg.verify import EquivalenceReport, verify_equivalence

__all__ = [
    "BernoulliFamily",
    "Cauchy",
    "ConvergenceWarning",
    "ElasticNet",
    "EquivalenceReport",
    "FitResult",
    "GammaLambdaSq",
    "Gaussian",
    "GaussianFamily",
    "GeneralizedNormal",
    "HalfCauchy",
    "Horseshoe",
    "InverseGamma",
    "Laplace",
    "MAPResult",
    "Model",
    "PenalizedResult",
    "PoissonFamily",
    "Prior",
    "RegularizedHorseshoe",
    "SamplingWarning",
    "StudentT",
    "compare_mode_posterior",
    "empirical_bayes_gaussian",
    "empirical_bayes_laplace",
    "find_map",
    "log_evidence_gaussian",
    "penalized_fit",
    "sample_posterior",
    "verify_equivalence",
]
__version__ = "0.1.0"


# Loaded on first access: scikit-learn is not a runtime dependency (estimators), and
# xarray/ArviZ (sampling) and scipy.optimize (empirical Bayes) take ~2 s to import,
# which every fit and every CLI error message would otherwise pay.
_LAZY = {
    "MAPRegressor": "mapreg.estimators",
    "MAPClassifier": "mapreg.estimators",
    "sample_posterior": "mapreg.sampling",
    "compare_mode_posterior": "mapreg.compare",
    "empirical_bayes_gaussian": "mapreg.empirical_bayes",
    "empirical_bayes_laplace": "mapreg.empirical_bayes",
    "log_evidence_gaussian": "mapreg.empirical_bayes",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module 'mapreg' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
