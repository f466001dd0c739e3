"""Input checks shared by every entry point; each error names the problem."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np


def check_scale(value, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite number > 0.

    Raises
    ------
    ValueError
        If ``value`` is not a real number, or is nan, infinite, zero or negative.
    """
    if isinstance(value, bool) or not isinstance(value, Real | np.floating | np.integer):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def check_nonnegative(value, name: str) -> float:
    """Return ``value`` as a float after checking it is finite and >= 0."""
    if isinstance(value, bool) or not isinstance(value, Real | np.floating | np.integer):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return value


def check_X_y(X, y, copy: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Validate a design matrix and a response and return them as float64 arrays.

    With ``copy=True`` the arrays are always copies (a :class:`~mapreg.Model` keeps
    them, so later changes to the caller's arrays must not reach it); with
    ``copy=False`` float64 input is used as is (a one-off fit only reads it).

    ``X`` must be 2-D with at least one column, ``y`` 1-D (or a single column)
    with one entry per row of ``X``, at least two rows, and no nan or inf.
    """
    X = _as_float_array(X, "X", copy)
    y = _as_float_array(y, "y", copy)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (n_samples, n_features), got shape {X.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array (n_samples,), got shape {y.shape}")
    check_rows(X.shape[0], y.shape[0])
    if X.shape[1] < 1:
        raise ValueError("X has no columns")
    _check_finite(X, "X")
    _check_finite(y, "y")
    return X, y


def check_rows(n_x: int, n_y: int) -> None:
    """Same number of rows in ``X`` and ``y``, and at least two."""
    if n_x != n_y:
        raise ValueError(f"X and y have different numbers of rows: X has {n_x}, y has {n_y}")
    if n_x < 2:
        raise ValueError(f"need at least 2 rows, got {n_x}")


def _as_float_array(a, name: str, copy: bool) -> np.ndarray:
    try:
        arr = np.array(a, dtype=np.float64, copy=True if copy else None)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    return arr


def _check_finite(a: np.ndarray, name: str) -> None:
    found = first_nonfinite(a)
    if found is not None:
        raise ValueError(nonfinite_message(name, *found))


def first_nonfinite(a: np.ndarray) -> tuple[tuple[int, ...], str, int] | None:
    """``(index, "nan" or "inf", count)`` of the first non-finite entry of ``a``, or ``None``."""
    bad = ~np.isfinite(a)
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    return idx, ("nan" if np.isnan(a[idx]) else "inf"), int(bad.sum())


def nonfinite_message(name: str, idx: tuple[int, ...], kind: str, count: int) -> str:
    """The one-line error for a non-finite entry (shared by the chunked checks of dask data)."""
    where = f"row {idx[0]}" + (f", column {idx[1]}" if len(idx) > 1 else "")
    return f"{name} contains {kind} at {where} ({count} non-finite in all)"
