"""Reading a user's CSV file into a design matrix and a response, with errors that name the cell.

Only the standard library and numpy are used (no pandas). The file must have a
header row; every column other than the target becomes a feature. Cells are
parsed as floats; a cell that is empty, not a number, nan or infinite stops the
read with a :class:`DataError` naming the column and the row. The message
counts rows of data from 1 and also gives the line of the file (the header is
line 1), so a user can jump straight to the cell.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mapreg.exceptions import DataError

#: Families whose response domain is checked here (the same check the model makes,
#: phrased for a file instead of an array).
FAMILIES = ("gaussian", "bernoulli", "poisson")


class CSVData(NamedTuple):
    """What :func:`read_csv` returns.

    Attributes
    ----------
    X : ndarray, shape (n_rows, n_features)
        Feature columns, float64, in file order.
    y : ndarray, shape (n_rows,)
        The target column, float64.
    feature_names : tuple of str
        Header names of the feature columns.
    target_name : str
        Header name of the target column.
    path : str
        The file that was read.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    path: str


def read_csv(path, target: str, *, family: str | None = None) -> CSVData:
    """Read a comma-separated file with a header row into ``X`` and ``y``.

    Parameters
    ----------
    path : str or path-like
        The CSV file (UTF-8, optionally with a byte-order mark; fields may be quoted).
    target : str
        Header name of the response column; all other columns are features.
    family : {"gaussian", "bernoulli", "poisson"}, optional
        When given, the target is checked against the family's domain: labels in
        {0, 1} for ``"bernoulli"``, non-negative integer counts for ``"poisson"``.

    Returns
    -------
    CSVData

    Raises
    ------
    DataError
        With a one-line message for: a missing or unreadable file, a file that is
        not UTF-8 text or not rectangular, an unknown target column, a duplicate
        column name, no feature columns, an empty / non-numeric / nan / infinite
        cell (column and row named), fewer than 2 data rows, and a target outside
        the family's domain.
    """
    name = os.fspath(path)
    numbered = _read_rows(name)
    header = _check_header(numbered[0][1], name, target)
    body = numbered[1:]
    if len(body) < 2:
        raise DataError(f"{name}: need at least 2 data rows, found {len(body)}")
    data = np.empty((len(body), len(header)), dtype=np.float64)
    for i, (line, row) in enumerate(body):
        if len(row) != len(header):
            raise DataError(
                f"{name}: cannot read as CSV: line {line} has {len(row)} fields but the header "
                f"has {len(header)}"
            )
        for j, cell in enumerate(row):
            data[i, j] = _parse_cell(cell, name, header[j], i + 1, line)

    t = header.index(target)
    y = data[:, t].copy()
    X = np.delete(data, t, axis=1)
    feature_names = tuple(h for k, h in enumerate(header) if k != t)
    if family is not None:
        check_target(y, family, name, target, [line for line, _ in body])
    return CSVData(X, y, feature_names, target, name)


def _read_rows(name: str) -> list[tuple[int, list[str]]]:
    """The non-blank rows of the file with their line numbers (1-based, header = line 1)."""
    p = Path(name)
    if not p.exists():
        raise DataError(f"{name}: no such file")
    if p.is_dir():
        raise DataError(f"{name}: is a directory, not a CSV file")
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except PermissionError:
        raise DataError(f"{name}: permission denied") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name}: cannot read as CSV: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
            f"at offset {exc.start})"
        ) from None
    except csv.Error as exc:
        raise DataError(f"{name}: cannot read as CSV: {exc}") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read: {exc.strerror or exc}") from None
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not numbered:
        raise DataError(f"{name}: cannot read as CSV: the file is empty")
    return numbered


def _check_header(header: list[str], name: str, target: str) -> list[str]:
    """The stripped column names, checked: named, unique, with the target and a feature."""
    header = [h.strip() for h in header]
    if "\x00" in "".join(header):
        raise DataError(f"{name}: cannot read as CSV: the file contains NUL bytes (binary?)")
    if any(h == "" for h in header):
        j = header.index("")
        raise DataError(f"{name}: cannot read as CSV: column {j + 1} of the header has no name")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise DataError(f"{name}: duplicate column name {dupes[0]!r} in the header")
    if target not in header:
        cols = ", ".join(header) if len(header) <= 20 else ", ".join(header[:20]) + ", ..."
        raise DataError(f"{name}: no column named {target!r} (columns: {cols})")
    if len(header) < 2:
        raise DataError(f"{name}: no feature columns besides the target {target!r}")
    return header


def _parse_cell(cell: str, file: str, column: str, row: int, line: int) -> float:
    where = f"{file}: column {column!r}, row {row} (line {line})"
    text = cell.strip()
    if text == "":
        raise DataError(f"{where} is empty; remove the row or fill in the value")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: {_short(text)!r} is not a number") from None
    if math.isnan(value):
        raise DataError(f"{where} is NaN; remove the row or fill in the value")
    if math.isinf(value):
        raise DataError(f"{where} is infinite ({text})")
    return value


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def check_target(y: np.ndarray, family: str, file: str, target: str, lines=None) -> None:
    """Check the response against the family's domain; raise :class:`DataError` if outside.

    Parameters
    ----------
    y : ndarray
        The response.
    family : {"gaussian", "bernoulli", "poisson"}
    file, target : str
        Used in the message.
    lines : sequence of int, optional
        The file line of each row, for the message.
    """
    if family not in FAMILIES:
        raise DataError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")
    if family == "gaussian":
        return
    if family == "bernoulli":
        bad = (y != 0.0) & (y != 1.0)
        need = "labels 0 or 1"
    else:
        bad = (y < 0.0) | (y != np.floor(y))
        need = "non-negative integer counts"
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        line = f" (line {lines[i]})" if lines is not None else ""
        raise DataError(
            f"{file}: --family {family} needs {need} in target {target!r}, but row {i + 1}{line} "
            f"is {_fmt(y[i])} ({int(bad.sum())} such row{'s' if bad.sum() > 1 else ''})"
        )


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"
