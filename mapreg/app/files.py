"""Writing output atomically: a report folder or a single file appears whole or not at all.

A folder is written under a temporary name beside its destination and only renamed
into place once complete (:func:`atomic_directory`), so an interrupted run never
leaves a half report that looks finished. An existing destination is replaced only
if it is a previous mapreg report (it holds the marker file ``.mapreg-report``) or
empty.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

MARKER = ".mapreg-report"


class ReportError(ValueError):
    """The report cannot be written where asked (one-line message)."""


def check_destination(out) -> None:
    """Raise :class:`ReportError` now (before any slow work) if ``out`` cannot be a report."""
    out = Path(out).absolute()
    if out.exists():
        if not out.is_dir():
            raise ReportError(f"{out}: exists and is not a directory; choose another --out")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise ReportError(
                f"{out}: exists and is not a mapreg report; choose another --out or remove it"
            )
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise ReportError(f"{out}: cannot write to {parent}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_directory(out):
    """Yield a temporary directory that becomes ``out`` when the block finishes.

    On an exception (or Ctrl-C) the temporary directory is removed and ``out``
    is left as it was. An existing ``out`` must be an empty directory or a
    previous mapreg report (it has the ``.mapreg-report`` marker); otherwise
    :class:`ReportError` is raised before anything is written.
    """
    out = Path(out).absolute()
    check_destination(out)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as exc:
        raise ReportError(f"{out}: cannot write here: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; a report is not
        yield tmp
        (tmp / MARKER).write_text("written by mapreg; safe to replace with a newer report\n")
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.replace(out, old / "report")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write(path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and rename the result to ``path`` only if it succeeded."""
    path = Path(path).absolute()
    if path.is_dir():
        raise ReportError(f"{path}: is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.partial-", dir=path.parent)
    except OSError as exc:
        raise ReportError(f"{path}: cannot write here: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_netcdf(idata, path) -> None:
    """Save a posterior DataTree as netCDF4 (h5netcdf engine)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata.to_netcdf(path, engine="h5netcdf")
