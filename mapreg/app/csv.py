"""Reading a user's CSV file into a design matrix and a response, with errors that name the cell.

Only the standard library and numpy are used (no pandas). The file must have a
header row; every column other than the target becomes a feature. Cells are
parsed as floats; a cell that is empty, not a number, nan, infinite or beyond
:data:`MAX_ABS` in magnitude stops the read with a :class:`DataError` naming the
column and the row. The message counts rows of data from 1 and also gives the line
of the file (the header is line 1), so a user can jump straight to the cell.

Reading is bounded: at most ``--max-input`` bytes (``$MAPREG_MAX_INPUT``, default
1 GiB) and lines of at most :data:`MAX_LINE` characters, so a device or an endless
pipe stops with one line instead of filling memory. Files separated by ``;``, tabs
or ``|`` are read too (the separator is found on the header line).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import math
import os
import re
import stat
from array import array
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


def read_csv(path, target: str, *, family: str | None = None,
             max_bytes: int | str | None = None) -> CSVData:
    """Read a delimited text file with a header row into ``X`` and ``y``.

    Parameters
    ----------
    path : str or path-like
        The CSV file (UTF-8, optionally with a byte-order mark; fields may be quoted),
        separated by commas, or by ``;``, tabs or ``|`` (the separator is the first of
        these that makes ``target`` a column of the header).
    target : str
        Header name of the response column; all other columns are features.
    family : {"gaussian", "bernoulli", "poisson"}, optional
        When given, the target is checked against the family's domain: labels in
        {0, 1} for ``"bernoulli"``, non-negative integer counts for ``"poisson"``.
    max_bytes : int or str, optional
        Stop with a :class:`DataError` once more than this much has been read
        (``"4G"``, ``"500M"``, a number of bytes); default ``$MAPREG_MAX_INPUT`` or
        1 GiB. Devices and pipes are read the same way, so ``/dev/zero`` stops at once.

    Returns
    -------
    CSVData

    Raises
    ------
    DataError
        With a one-line message for: a missing or unreadable file, one over the size
        limit, a binary file, a file that is not UTF-8 text or not rectangular, an
        unknown target column, a duplicate column name, no feature columns, an empty /
        non-numeric / nan / infinite / astronomically large cell (column and row named),
        fewer than 2 data rows, and a target outside the family's domain.
    """
    name = os.fspath(path)
    limit = max_input(max_bytes)
    with _open_text(name, limit) as text:
        try:
            header, data, lines = _read_table(text, name, target)
        except _TooLarge:
            raise DataError(f"{name}: larger than the input limit of {format_size(limit)}; "
                            "raise it with --max-input SIZE (or MAPREG_MAX_INPUT=SIZE), "
                            "e.g. --max-input 8G") from None
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{name}: cannot read as CSV: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                f"at offset {exc.start})"
            ) from None
        except csv.Error as exc:
            raise DataError(f"{name}: cannot read as CSV: {exc}") from None
        except OSError as exc:
            raise DataError(f"{name}: cannot read: {exc.strerror or exc}") from None
    t = header.index(target)
    y = data[:, t].copy()
    X = np.delete(data, t, axis=1)
    feature_names = tuple(h for k, h in enumerate(header) if k != t)
    if family is not None:
        check_target(y, family, name, target, lines)
    return CSVData(X, y, feature_names, target, name)


#: What :func:`read_csv` reads at most by default (``$MAPREG_MAX_INPUT`` or ``--max-input``).
DEFAULT_MAX_INPUT = 1 << 30
#: The longest line read, in characters.
MAX_LINE = 64 << 20
#: The largest magnitude accepted in a cell: squares, and sums of them over any number of
#: rows, stay far from overflow, whatever the noise scale.
MAX_ABS = 1e100
#: Field separators tried, in order, on the header line.
DELIMITERS = (",", ";", "\t", "|")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text) -> int:
    """``"4G"``, ``"500M"``, ``"1.5GiB"``, ``"2048"`` (bytes) as a number of bytes."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*",
                         str(text))
        if m is None:
            raise ValueError(f"not a size: {text!r} (give e.g. 4G, 500M or a number of bytes)")
        value, unit = float(m.group(1)), m.group(2).upper()
    size = value * _UNITS[unit]
    if not math.isfinite(size) or size < 1:
        raise ValueError(f"not a size: {text!r} (give e.g. 4G, 500M or a number of bytes)")
    return int(size)


def max_input(value=None) -> int:
    """The input limit in bytes: ``value``, else ``$MAPREG_MAX_INPUT``, else 1 GiB."""
    if value is None:
        value = os.environ.get("MAPREG_MAX_INPUT") or DEFAULT_MAX_INPUT
        try:
            return parse_size(value)
        except ValueError as exc:
            raise DataError(f"MAPREG_MAX_INPUT: {exc}") from None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise DataError(f"--max-input: {exc}") from None


def format_size(n: float) -> str:
    """``1073741824`` as ``"1 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.4g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


class _TooLarge(Exception):
    pass


class _Limited(io.RawIOBase):
    """A binary stream that stops (raises :class:`_TooLarge`) after ``limit`` bytes."""

    def __init__(self, f, head: bytes, limit: int):
        self._f, self._head, self._limit, self._read = f, head, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n], self._head = self._head[:n], self._head[n:]
        else:
            n = self._f.readinto(b)
        self._read += n or 0
        if self._read > self._limit:
            raise _TooLarge
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


def _open_text(name: str, limit: int) -> io.TextIOWrapper:
    """The file as text, read through the limit; binary files stopped at the first chunk."""
    p = Path(name)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise DataError(f"{name}: no such file") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{name}: is a directory, not a CSV file")
    if stat.S_ISREG(st.st_mode) and st.st_size > limit:
        raise DataError(f"{name}: {format_size(st.st_size)}, larger than the input limit of "
                        f"{format_size(limit)}; raise it with --max-input SIZE (or "
                        "MAPREG_MAX_INPUT=SIZE), e.g. --max-input 8G")
    try:
        f = p.open("rb")
        head = f.read(1 << 16)
    except PermissionError:
        raise DataError(f"{name}: permission denied") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        f.close()
        raise DataError(f"{name}: cannot read as CSV: not UTF-8 text (byte "
                        f"0x{head[exc.start]:02x} at offset {exc.start})") from None
    if b"\x00" in head:
        f.close()
        raise DataError(f"{name}: cannot read as CSV: the file contains NUL bytes (binary?)")
    raw = io.BufferedReader(_Limited(f, head, limit))
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _lines(text, name: str):
    """The lines of ``text``, none longer than :data:`MAX_LINE`."""
    n = 0
    while True:
        line = text.readline(MAX_LINE)
        if not line:
            return
        n += 1
        if len(line) >= MAX_LINE and not line.endswith(("\n", "\r")):
            raise DataError(f"{name}: cannot read as CSV: line {n} is longer than "
                            f"{MAX_LINE:,} characters")
        yield line


def _blank(row) -> bool:
    return not any(c.strip() for c in row)


def _delimiter(header_line: str, target: str) -> str:
    """The first of :data:`DELIMITERS` that makes ``target`` a column of the header."""
    for d in DELIMITERS:
        fields = [h.strip() for h in next(csv.reader([header_line], delimiter=d), [])]
        if target in fields and len(fields) > 1:
            return d
    return ","


def _read_table(text, name: str, target: str):
    """``(header, data, lines)``: the checked header, the values and each row's line."""
    lines = _lines(text, name)
    header_line = ""
    for line in lines:
        if line.strip():
            header_line = line
            break
    if not header_line:
        raise DataError(f"{name}: cannot read as CSV: the file is empty")
    reader = csv.reader(itertools.chain([header_line], lines),
                        delimiter=_delimiter(header_line, target))
    header = _check_header(next(reader), name, target)
    values, row_lines = array("d"), []
    for row in reader:
        if _blank(row):
            continue
        line = reader.line_num
        if len(row) != len(header):
            raise DataError(
                f"{name}: cannot read as CSV: line {line} has {len(row)} fields but the header "
                f"has {len(header)}"
            )
        row_lines.append(line)
        i = len(row_lines)
        values.extend(_parse_cell(cell, name, header[j], i, line) for j, cell in enumerate(row))
    if len(row_lines) < 2:
        raise DataError(f"{name}: need at least 2 data rows, found {len(row_lines)}")
    data = np.frombuffer(values, dtype=np.float64).reshape(len(row_lines), len(header))
    return header, data, row_lines


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
        hint = ""
        if len(header) == 1:
            hint = ("; the header has a single column: mapreg reads files separated by "
                    "',', ';', tabs or '|'")
        raise DataError(f"{name}: no column named {_short(target)!r} (columns: "
                        f"{_short(cols, 200)}){hint}")
    if len(header) < 2:
        raise DataError(f"{name}: no feature columns besides the target {target!r}")
    return header


def _parse_cell(cell: str, file: str, column: str, row: int, line: int) -> float:
    where = f"{file}: column {_short(column)!r}, row {row} (line {line})"
    text = cell.strip()
    if text == "":
        raise DataError(f"{where} is empty; remove the row or fill in the value")
    try:
        value = float(text)
    except ValueError:
        hint = ""
        with contextlib.suppress(ValueError):
            float(text.replace(",", ".", 1))
            hint = " (a decimal comma? mapreg needs a decimal point)"
        raise DataError(f"{where}: {_short(text)!r} is not a number{hint}") from None
    if math.isnan(value):
        raise DataError(f"{where} is NaN; remove the row or fill in the value")
    if math.isinf(value):
        raise DataError(f"{where} is infinite ({_short(text)})")
    if abs(value) > MAX_ABS:
        raise DataError(f"{where} is {value:.6g}, too large to fit stably (the limit is "
                        f"{MAX_ABS:.0e} in magnitude); rescale the column")
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
