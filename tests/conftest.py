"""Shared fixtures: real data sets and seeded random problems."""

from __future__ import annotations

import os

import numpy as np
import pytest

# Tests run two xdist workers on two cores: one BLAS thread each.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

#: Noise standard deviation of the diabetes demo (design.md).
DIABETES_NOISE = 53.0


@pytest.fixture(scope="session")
def diabetes():
    from mapreg.datasets import load_diabetes

    return load_diabetes()


@pytest.fixture(scope="session")
def breast_cancer():
    """scikit-learn's breast-cancer data, standardised (a real, hard logistic problem)."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y.astype(float)


def make_problem(family: str, n: int, p: int, seed: int, collinear: bool = False):
    """A seeded random GLM problem with a sparse truth."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    if collinear:
        # two nearly identical columns: X'X is close to singular
        X[:, 1] = X[:, 0] + 1e-4 * rng.normal(size=n)
    w = np.zeros(p)
    k = min(p, 5)
    w[:k] = rng.normal(size=k)
    eta = X @ w * (0.5 if family != "gaussian" else 1.0) + 0.3
    if family == "gaussian":
        y = eta + rng.normal(size=n)
    elif family == "bernoulli":
        y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    else:
        y = rng.poisson(np.exp(np.clip(eta, -5, 3))).astype(float)
    return X, y
