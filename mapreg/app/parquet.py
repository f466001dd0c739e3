"""Reading a user's Parquet file: in memory through pyarrow, or out of core through dask.

:func:`read_parquet` checks the schema first (the target is a column, there are
features, every column is numeric) from the file's metadata alone. Then:

* **in memory** when the decoded table (rows x columns x 8 bytes) fits in ``--max-input``
  and ``--out-of-core`` is not given: every column as float64, with the CSV reader's
  one-line errors (:mod:`mapreg.app.csv`) naming the column and the row (rows counted
  from 1) of the first null, NaN, infinite or astronomically large cell, and of the first
  target outside the family's domain;
* **out of core** otherwise: a dask array with a chunk per row group, each read by pyarrow
  straight into float64 (:func:`_lazy_array`), the data of a dask-backed
  :class:`mapreg.Model` (:mod:`mapreg.backends.dask_stats`). Its checks run
  in the first pass over the row groups, which :func:`lazy_checks` makes at once and turns
  into the same one-line :class:`~mapreg.exceptions.DataError` (the first pass is the one
  every fit needs: it is cached, not repeated).
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np

from mapreg.app.csv import MAX_ABS, _fmt, _short, check_target, format_size, max_input
from mapreg.exceptions import DataError

#: File name endings read as Parquet.
SUFFIXES = (".parquet", ".parq", ".pq")


class ParquetData(NamedTuple):
    """What :func:`read_parquet` returns: numpy arrays, or dask collections out of core."""

    X: object
    y: object
    feature_names: tuple[str, ...]
    target_name: str
    path: str
    lazy: bool
    rows: int


def is_parquet(path) -> bool:
    """Whether ``path`` names a Parquet file (by its ending)."""
    return os.fspath(path).lower().endswith(SUFFIXES)


def _schema(name: str, target: str):
    """``(pyarrow ParquetFile, feature names)``, the schema checked."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not os.path.exists(name):
        raise DataError(f"{name}: no such file")
    if os.path.isdir(name):
        raise DataError(f"{name}: is a directory, not a Parquet file")
    try:
        pf = pq.ParquetFile(name)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{name}: cannot read as Parquet: {str(exc).splitlines()[0]}") from None
    schema = pf.schema_arrow
    header = list(schema.names)
    if target not in header:
        cols = ", ".join(header) if len(header) <= 20 else ", ".join(header[:20]) + ", ..."
        raise DataError(f"{name}: no column named {_short(target)!r} (columns: "
                        f"{_short(cols, 200)})")
    if len(header) < 2:
        raise DataError(f"{name}: no feature columns besides the target {target!r}")
    for field in schema:
        t = field.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
                or pa.types.is_decimal(t)):
            raise DataError(f"{name}: column {_short(field.name)!r} is {t}, not numeric")
    if pf.metadata.num_rows < 2:
        raise DataError(f"{name}: need at least 2 data rows, found {pf.metadata.num_rows}")
    return pf, tuple(h for h in header if h != target)


def read_parquet(path, target: str, *, family: str | None = None, max_bytes=None,
                 out_of_core: bool = False) -> ParquetData:
    """Read a Parquet file into ``X`` and ``y`` (module docstring: in memory or lazily).

    Raises
    ------
    DataError
        One line for: a missing or unreadable file, an unknown target, no features, a
        non-numeric column, fewer than 2 rows; in memory also a null / NaN / infinite /
        too large cell and a target outside the family's domain (out of core these come
        from :func:`lazy_checks`).
    """
    name = os.fspath(path)
    pf, features = _schema(name, target)
    rows, cols = pf.metadata.num_rows, len(features) + 1
    if out_of_core or rows * cols * 8 > max_input(max_bytes):
        both = _lazy_array(name, pf, [*features, target])
        return ParquetData(both[:, :-1], both[:, -1], features, target, name, True, rows)
    table = pf.read(columns=[*features, target])
    X = np.empty((rows, len(features)))
    for j, col in enumerate(features):
        X[:, j] = _column(table.column(col), name, col)
    y = _column(table.column(target), name, target)
    if family is not None:
        check_target(y, family, name, target)
    return ParquetData(X, y, features, target, name, False, rows)


def _lazy_array(name: str, pf, columns: list[str]):
    """The file as one float64 dask array, a chunk per row group (sizes from the metadata).

    One array for ``X`` and ``y`` keeps their row chunks equal; reading a row group
    straight into a float64 block (no pandas frame in between) holds two copies of it at
    most.
    """
    import dask
    import dask.array as da

    read = dask.delayed(_read_row_group, pure=True)
    blocks = [da.from_delayed(read(name, i, columns),
                              shape=(pf.metadata.row_group(i).num_rows, len(columns)),
                              dtype=np.float64)
              for i in range(pf.num_row_groups)]
    return da.concatenate(blocks, axis=0)


def _read_row_group(name: str, i: int, columns: list[str]) -> np.ndarray:
    """Row group ``i`` of the file as a float64 block (nulls as NaN: checked in the pass)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.ParquetFile(name).read_row_group(i, columns=columns)
    out = np.empty((table.num_rows, len(columns)))
    for j, col in enumerate(columns):
        out[:, j] = pc.cast(table.column(col), pa.float64()).to_numpy(zero_copy_only=False)
    return out


def _column(chunked, file: str, column: str) -> np.ndarray:
    """One column as float64, or the one-line error for its first bad cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if chunked.null_count:
        first = int(np.flatnonzero(chunked.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"{file}: column {_short(column)!r}, row {first + 1} is empty (null); "
                        "remove the row or fill in the value")
    values = pc.cast(chunked, pa.float64()).to_numpy(zero_copy_only=False)
    bad = ~np.isfinite(values) | (np.abs(values) > MAX_ABS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        _bad_cell(file, column, i, float(values[i]), int(bad.sum()))
    return values


def _bad_cell(file: str, column: str, i: int, value: float, count: int,
              lazy: bool = False) -> None:
    where = f"{file}: column {_short(column)!r}, row {i + 1}"
    also = f" ({count} such cells{'' if lazy else ' in the column'})" if count > 1 else ""
    if math.isnan(value):  # dask reads a null float as NaN: out of core the two look alike
        what = "NaN or empty (null)" if lazy else "NaN"
        raise DataError(f"{where} is {what}; remove the row or fill in the value{also}")
    if math.isinf(value):
        raise DataError(f"{where} is infinite{also}")
    raise DataError(f"{where} is {value:.6g}, too large to fit stably (the limit is "
                    f"{MAX_ABS:.0e} in magnitude); rescale the column{also}")


def lazy_checks(data: ParquetData, family: str, fit_intercept: bool, dask_data) -> None:
    """Make the first pass over an out-of-core file now and raise its errors in file terms.

    ``dask_data`` is the :class:`mapreg.backends.dask_stats.DaskData` of ``data``; its
    :meth:`~mapreg.backends.dask_stats.DaskData.summary` (cached: the fits reuse it) holds
    the first non-finite cell of ``X`` and ``y`` and the first label outside the family's
    support, with rows counted over all row groups.
    """
    from mapreg.backends.gram import check_summary

    s = dask_data.summary()
    if s.x_bad is not None:
        row, col, kind, count = s.x_bad
        _bad_cell(data.path, data.feature_names[col], row,
                  math.nan if kind == "nan" else math.inf, count, lazy=True)
    if s.y_bad is not None:
        row, kind, count = s.y_bad
        _bad_cell(data.path, data.target_name, row, math.nan if kind == "nan" else math.inf,
                  count, lazy=True)
    if s.label_bad is not None:
        row, value, count = s.label_bad
        need = "labels 0 or 1" if family == "bernoulli" else "non-negative integer counts"
        raise DataError(f"{data.path}: --family {family} needs {need} in target "
                        f"{data.target_name!r}, but row {row + 1} is {_fmt(value)} ({count} "
                        f"such row{'s' if count > 1 else ''})")
    big = max(abs(float(v)) for v in (*s.mean, math.sqrt(max(float(s.cross.max()), 0.0))))
    if big > MAX_ABS:
        raise DataError(f"{data.path}: values too large to fit stably (the limit is "
                        f"{MAX_ABS:.0e} in magnitude); rescale the columns")
    try:
        check_summary(s, dask_data.family, fit_intercept)
    except ValueError as exc:
        raise DataError(f"{data.path}: {str(exc).replace('fit_intercept=False', '--no-intercept')}"
                        ) from None


def describe_size(data: ParquetData) -> str:
    """``"in memory"`` or ``"out of core (N row groups, ~SIZE)"``."""
    if not data.lazy:
        return "in memory"
    size = data.rows * (len(data.feature_names) + 1) * 8
    return f"out of core ({data.X.numblocks[0]} partitions, ~{format_size(size)} decoded)"


__all__ = ["SUFFIXES", "ParquetData", "describe_size", "is_parquet", "lazy_checks",
           "read_parquet"]
