"""mapreg: a penalty is a prior.

MAP estimation with exact zeros and KKT certificates, verified against the
equivalent penalised fit and scikit-learn, and the posterior beyond the mode.
"""

from mapreg.exceptions import ConvergenceWarning, DataError, SamplingWarning
from mapreg.families import BernoulliFamily, GaussianFamily, PoissonFamily
from mapreg.fit import EquivalenceReport, find_map, penalized_fit, verify_equivalence
from mapreg.model import Model
from mapreg.priors import (
    Cauchy,
    ElasticNet,
    GammaLambdaSq,
    Gaussian,
    GeneralizedNormal,
    HalfCauchy,
    Horseshoe,
    InverseGamma,
    Laplace,
    Prior,
    RegularizedHorseshoe,
    StudentT,
)
from mapreg.results import FitResult, MAPResult, PenalizedResult

__all__ = [
    "BernoulliFamily",
    "Cauchy",
    "ConvergenceWarning",
    "DataError",
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
    "bootstrap",
    "compare_mode_posterior",
    "compare_priors",
    "cross_validate",
    "empirical_bayes_gaussian",
    "empirical_bayes_laplace",
    "find_map",
    "laplace_approximation",
    "log_evidence_gaussian",
    "path",
    "penalized_fit",
    "sample_posterior",
    "sample_posterior_predictive",
    "sample_prior_predictive",
    "train",
    "verify_equivalence",
]
__version__ = "0.1.0"


# Loaded on first access: scikit-learn is not a runtime dependency (estimators), and
# xarray/ArviZ (sampling) and scipy.optimize (empirical Bayes) take ~2 s to import,
# which every fit and every CLI error message would otherwise pay.
_LAZY = {
    "MAPRegressor": "mapreg.interop.estimators",
    "MAPClassifier": "mapreg.interop.estimators",
    "sample_posterior": "mapreg.posterior.sample",
    "compare_mode_posterior": "mapreg.posterior.compare",
    "empirical_bayes_gaussian": "mapreg.posterior.empirical_bayes",
    "empirical_bayes_laplace": "mapreg.posterior.empirical_bayes",
    "log_evidence_gaussian": "mapreg.posterior.empirical_bayes",
    "train": "mapreg.fit.train",
    "path": "mapreg.fit.path",
    "cross_validate": "mapreg.fit.cv",
    "bootstrap": "mapreg.fit.bootstrap",
    "laplace_approximation": "mapreg.posterior.laplace",
    "sample_posterior_predictive": "mapreg.posterior.predictive",
    "sample_prior_predictive": "mapreg.posterior.predictive",
    "compare_priors": "mapreg.posterior.compare_priors",
}


# Modules reachable as attributes (``mapreg.conversions.lasso_alpha``), loaded on first use.
_LAZY_MODULES = {"conversions": "mapreg.fit.conversions", "plots": "mapreg.plots"}


def __getattr__(name):
    if name in _LAZY or name in _LAZY_MODULES:
        import importlib

        if name in _LAZY_MODULES:
            value = importlib.import_module(_LAZY_MODULES[name])
        else:
            value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module 'mapreg' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_MODULES))
