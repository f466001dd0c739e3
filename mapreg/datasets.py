"""Small real data sets shipped inside the package (``mapreg/data/``; provenance beside them)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"


class Dataset(NamedTuple):
    """A design matrix, a response and their names."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str


def load_diabetes(standardize: bool = True, center_y: bool = True) -> Dataset:
    """The diabetes data of Efron, Hastie, Johnstone & Tibshirani (2004).

    442 patients, 10 baseline variables (age, sex, bmi, bp, s1–s6) and a
    quantitative measure of disease progression one year later (``y``). The
    file is the unscaled version scikit-learn ships (see ``mapreg/data/README.md``).

    Parameters
    ----------
    standardize : bool
        Scale each column of ``X`` to mean 0 and standard deviation 1 (divisor n).
    center_y : bool
        Subtract the mean of ``y``.
    """
    path = DATA_DIR / "diabetes.csv"
    with path.open() as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    X, y = data[:, :-1], data[:, -1]
    if standardize:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    if center_y:
        y = y - y.mean()
    return Dataset(X, y, tuple(header[:-1]), header[-1])
