"""Model input validation: every bad input gets an error that names the problem."""

from __future__ import annotations

import numpy as np
import pytest

import mapreg
from mapreg import Gaussian, HalfCauchy, Laplace, Model, find_map, penalized_fit
from mapreg.families import GaussianFamily

X = np.arange(12.0).reshape(6, 2)
Y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X": X[:, 0]}, r"X must be a 2-D array"),
        ({"y": Y[:5]}, r"different numbers of rows: X has 6, y has 5"),
        ({"y": np.ones((6, 2))}, r"y must be a 1-D array"),
        ({"X": np.where(X == 5.0, np.nan, X)}, r"X contains nan at row 2, column 1"),
        ({"X": np.where(X == 3.0, np.inf, X)}, r"X contains inf at row 1, column 1"),
        ({"y": np.where(Y == Y[4], Y, Y) + np.array([0, 0, 0, np.nan, 0, 0])},
         r"y contains nan at row 3"),
        ({"X": X[:1], "y": Y[:1]}, r"need at least 2 rows, got 1"),
        ({"X": np.empty((6, 0))}, r"X has no columns"),
        ({"X": [["a", "b"]] * 6}, r"X must be numeric"),
        ({"family": "gaussian", "noise_sigma": None}, r"gaussian family needs noise_sigma"),
        ({"family": "gaussian", "noise_sigma": -1.0}, r"noise_sigma must be a positive"),
        ({"family": "gaussian", "noise_sigma": np.nan}, r"noise_sigma must be a positive"),
        ({"family": "bernoulli", "y": Y * 2}, r"labels in \{0, 1\}"),
        ({"family": "poisson", "y": Y - 0.5}, r"non-negative integer counts"),
        ({"family": "poisson", "y": Y + 0.5}, r"is non-integer"),
        ({"family": "bernoulli", "noise_sigma": 1.0}, r"only to the gaussian family"),
        ({"family": "bernoulli", "y": np.ones(6)}, r"every bernoulli label is 1: .* improper"),
        ({"family": "poisson", "y": np.zeros(6)}, r"every poisson count is 0: .* improper"),
        ({"family": "student"}, r"family must be one of"),
        ({"prior": 2.0}, r"prior must be a mapreg prior"),
        ({"fit_intercept": "yes"}, r"fit_intercept must be True or False"),
        ({"feature_names": ["a"]}, r"feature_names has 1 names but X has 2 columns"),
        ({"feature_names": ["a", "a"]}, r"feature_names must be unique"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    args = {"X": X, "y": Y, "prior": Laplace(1.0), "family": "bernoulli"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Model(**args)


def test_constant_labels_are_fine_without_an_intercept():
    # without the flat intercept the Gaussian/Laplace prior keeps the posterior proper
    for family, y in (("bernoulli", np.ones(6)), ("poisson", np.zeros(6))):
        res = find_map(Model(X, y, prior=Gaussian(1.0), family=family, fit_intercept=False))
        # stationarity written out here: X'(mean - y) + w / sigma^2 = 0
        mean = 1 / (1 + np.exp(-X @ res.coef)) if family == "bernoulli" else np.exp(X @ res.coef)
        np.testing.assert_allclose(X.T @ (mean - y) + res.coef, 0.0, atol=1e-8)


def test_inputs_are_copied_not_aliased():
    Xc = X.copy()
    model = Model(Xc, Y, prior=Gaussian(1.0), family="bernoulli")
    Xc[0, 0] = 99.0
    assert model.X[0, 0] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"penalty": "l3"}, r"penalty must be one of \[.*'l1', 'l2'"),
        ({"lam": -1.0}, r"lam must be a non-negative"),
        ({"lam": np.nan}, r"lam must be a non-negative"),
        ({"family": "poisson", "noise_sigma": None}, r"non-integer"),
    ],
)
def test_penalized_fit_bad_input(kwargs, message):
    args = {"X": X, "y": Y + 0.5, "penalty": "l1", "lam": 1.0, "family": "gaussian",
            "noise_sigma": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        penalized_fit(**args)


def test_feature_names_reach_the_pymc_model():
    model = Model(X, Y, prior=Laplace(1.0), family="bernoulli", feature_names=["u", "v"])
    pm_model = model.to_pymc()
    assert list(pm_model.coords["feature"]) == ["u", "v"]
    assert {v.name for v in pm_model.free_RVs} == {"coef", "intercept"}
    assert [v.name for v in pm_model.observed_RVs] == ["y"]


def test_a_noise_hyperprior_leaves_the_family_without_a_noise_value():
    y = Y + 0.3 * np.arange(6)
    model = Model(X, y, prior=Laplace(1.0), noise_prior=HalfCauchy(2.0))
    assert model.family == GaussianFamily(None) and model.noise_sigma is None
    assert model.has_hyperpriors
    with pytest.raises(ValueError, match="needs fixed scales, but this model has hyperpriors"):
        find_map(model)
    with pytest.raises(ValueError, match=r"has a hyperprior \(noise_prior\)"):
        model.log_likelihood(np.zeros(2))
    # the hyperprior's PyMC model still has every piece, the noise sd included
    names = {v.name for v in model.to_pymc().free_RVs}
    assert names == {"coef", "intercept", "noise_sigma"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"family": GaussianFamily(None)}, r"gaussian family needs noise_sigma .* noise_prior"),
        ({"noise_prior": HalfCauchy(1.0), "noise_sigma": 1.0}, r"either noise_sigma .* not both"),
        ({"noise_prior": HalfCauchy(1.0), "family": "poisson"}, r"only to the gaussian family"),
        ({"noise_prior": 2.0}, r"noise_prior must be HalfCauchy\(beta\)"),
        ({"noise_prior": mapreg.GammaLambdaSq(1.0, 1.0)}, r"noise_prior must be HalfCauchy"),
    ],
)
def test_noise_settings_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Model(X, Y + 0.5, prior=Laplace(1.0), **kwargs)
