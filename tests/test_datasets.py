"""The shipped diabetes data is scikit-learn's, unchanged."""

from __future__ import annotations

import hashlib

import numpy as np
from sklearn.datasets import load_diabetes as sklearn_diabetes

from mapreg.datasets import DATA_DIR, load_diabetes


def test_csv_is_sklearn_raw_diabetes():
    raw = load_diabetes(standardize=False, center_y=False)
    ref = sklearn_diabetes(scaled=False)
    np.testing.assert_array_equal(raw.X, ref.data)
    np.testing.assert_array_equal(raw.y, ref.target)
    assert list(raw.feature_names) == list(ref.feature_names)


def test_checksum_matches_data_readme():
    digest = hashlib.sha256((DATA_DIR / "diabetes.csv").read_bytes()).hexdigest()
    assert digest in (DATA_DIR / "README.md").read_text()


def test_standardisation():
    d = load_diabetes()
    np.testing.assert_allclose(d.X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(d.X.std(axis=0), 1.0, rtol=1e-12)
    assert abs(d.y.mean()) < 1e-12
    assert d.X.shape == (442, 10)
