"""Writing output safely: it appears whole or not at all, and never costs a user a file.

A folder is written under a temporary name beside its destination and only renamed
into place once complete (:func:`atomic_directory`), so an interrupted run never
leaves a half report that looks finished; a single file likewise (:func:`atomic_write`).

What may be replaced (:func:`check_destination`, :func:`check_file_destination`):

* a new path, or an empty folder;
* a folder mapreg wrote itself (it holds the marker file ``.mapreg-report``, which lists
  the files mapreg wrote there) that holds nothing else: a folder with anything
  mapreg did not write is refused and the foreign files are named, so no file that
  mapreg did not create is ever deleted;
* for a single file, a previous mapreg posterior (netCDF with mapreg's attributes).

Never: an input file, or a folder holding one; a device, FIFO, socket or symbolic
link (``--out /dev/null`` is refused rather than replaced by a regular file).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from mapreg.app import interrupts

MARKER = ".mapreg-report"
_MARKER_HEAD = "written by mapreg; safe to replace with a newer report. Files it wrote:"
#: The files of a report written before the marker listed them.
_LEGACY_FILES = ("index.html", "summary.json", "posterior.nc")


class ReportError(ValueError):
    """The output cannot be written where asked (one-line message)."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISREG, "a regular file")):
        if test(mode):
            return name
    return "a special file"


def _lstat(path: Path):
    try:
        return path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ReportError(f"{path}: cannot inspect: {exc.strerror or exc}") from None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_inputs(out: Path, inputs: Iterable) -> None:
    """Refuse an ``out`` that is an input file, or a folder that holds one."""
    for item in inputs:
        src = Path(os.path.abspath(item))
        same = _inside(src, out) or _inside(src.resolve(), out.resolve())
        with contextlib.suppress(OSError):
            same = same or os.path.samefile(src, out)
        if same:
            what = "is" if src.resolve() == out.resolve() else "holds"
            raise ReportError(f"{out}: {what} the input file {src}; mapreg never writes over "
                              "its input: choose another --out")


def _check_parent(out: Path) -> None:
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ReportError(f"{out}: cannot write here: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportError(f"{out}: cannot write to {parent}")


def written_files(folder) -> set[str] | None:
    """The files (relative paths) mapreg wrote in ``folder``; ``None`` without the marker."""
    folder = Path(folder)
    try:
        text = (folder / MARKER).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lines = text.splitlines()
    if lines and lines[0] == _MARKER_HEAD:
        return {line for line in lines[1:] if line} | {MARKER}
    # a marker from before it listed the files: the report's own list
    names = {MARKER, *_LEGACY_FILES}
    with contextlib.suppress(OSError, ValueError, TypeError):
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        names |= {str(f) for f in summary.get("files", [])}
    return names


def foreign_files(folder) -> list[str]:
    """What ``folder`` holds that mapreg did not write (everything, without the marker)."""
    folder = Path(folder)
    ours = written_files(folder) or set()
    dirs = ({f.rstrip("/") for f in ours if f.endswith("/")}
            | {str(Path(f).parent) for f in ours} | {"."})
    foreign = []
    for root, subdirs, names in os.walk(folder):
        rel_root = Path(root).relative_to(folder)
        for name in sorted(subdirs):
            rel = rel_root / name
            if os.path.islink(Path(root) / name) or str(rel) not in dirs:
                foreign.append(f"{rel}/")
        subdirs[:] = [d for d in subdirs if str(rel_root / d) in dirs
                      and not os.path.islink(Path(root) / d)]
        foreign += [str(rel_root / n) for n in sorted(names) if str(rel_root / n) not in ours]
    return sorted(foreign)


def _listing(names: list[str], n: int = 5) -> str:
    shown = ", ".join(names[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


def check_destination(out, inputs: Iterable = ()) -> None:
    """Raise :class:`ReportError` now (before any slow work) if ``out`` cannot be a report.

    ``out`` may be new, an empty folder, or a folder mapreg wrote holding only what mapreg
    wrote. ``inputs`` are files the command reads: ``out`` must not be or hold one.
    """
    out = Path(os.path.abspath(out))
    _check_inputs(out, inputs)
    st = _lstat(out)
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            raise ReportError(f"{out}: exists and is {_kind(st.st_mode)}, not a directory; "
                              "choose another --out")
        try:
            empty = not any(out.iterdir())
        except OSError as exc:
            raise ReportError(f"{out}: cannot read: {exc.strerror or exc}") from None
        if not empty:
            if written_files(out) is None:
                raise ReportError(f"{out}: exists and is not a mapreg report; choose another "
                                  "--out or remove it")
            foreign = foreign_files(out)
            if foreign:
                raise ReportError(f"{out}: is a mapreg report but also holds files mapreg did "
                                  f"not write ({_listing(foreign)}); move them out or choose "
                                  "another --out")
    _check_parent(out)


def is_mapreg_posterior(path) -> bool:
    """Whether ``path`` is a netCDF posterior that mapreg wrote (safe to replace)."""
    try:
        with open(path, "rb") as f:
            if f.read(8) != b"\x89HDF\r\n\x1a\n":
                return False
        import h5py

        with h5py.File(path, "r") as f:
            return {"sampler", "sampler_requested", "prior"} <= set(f.attrs) and "map" in f
    except Exception:  # unreadable or not HDF5: not ours
        return False


def check_file_destination(path, inputs: Iterable = ()) -> None:
    """Raise :class:`ReportError` if ``path`` cannot receive a posterior file.

    ``path`` may be new or an earlier posterior mapreg wrote; never an input file, a
    directory, a device, FIFO, socket or link, nor any other existing file.
    """
    path = Path(os.path.abspath(path))
    _check_inputs(path, inputs)
    st = _lstat(path)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise ReportError(f"{path}: is a directory; give a file name such as "
                              "posterior.nc")
        if not stat.S_ISREG(st.st_mode):
            raise ReportError(f"{path}: exists and is {_kind(st.st_mode)}; mapreg writes "
                              "only a new file or replaces its own earlier output")
        if not is_mapreg_posterior(path):
            raise ReportError(f"{path}: exists and is not a posterior mapreg wrote; remove it "
                              "or choose another name")
    _check_parent(path)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_tree(path: Path) -> None:
    with interrupts.shielded(raise_after=False):
        shutil.rmtree(path, ignore_errors=True)


def _relative_files(folder: Path) -> list[str]:
    """Every file (and folder, with a trailing ``/``) under ``folder``, relative to it."""
    return sorted(str(p.relative_to(folder)) + ("/" if p.is_dir() else "")
                  for p in folder.rglob("*"))


@contextlib.contextmanager
def atomic_directory(out, inputs: Iterable = ()):
    """Yield a temporary directory that becomes ``out`` when the block finishes.

    On an exception (or Ctrl-C) the temporary directory is removed and ``out``
    is left as it was. ``out`` must pass :func:`check_destination` (checked before
    the block and again just before the rename, in case files appeared meanwhile);
    otherwise :class:`ReportError` is raised and nothing is written. The marker file
    lists every file written, so the next run can tell them from a user's.
    """
    out = Path(os.path.abspath(out))
    inputs = tuple(inputs)
    check_destination(out, inputs)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as exc:
        raise ReportError(f"{out}: cannot write here: {exc.strerror or exc}") from None
    with interrupts.temporary(tmp):
        try:
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; a report is not
            yield tmp
            files = _relative_files(tmp)
            (tmp / MARKER).write_text("\n".join([_MARKER_HEAD, *files]) + "\n",
                                      encoding="utf-8")
            interrupts.check()
            with interrupts.shielded():
                check_destination(out, inputs)  # nothing foreign appeared while we worked
                _commit_directory(tmp, out)
        except BaseException:
            _remove_tree(tmp)
            raise


def _commit_directory(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    try:
        os.replace(out, old / "report")
    except BaseException:
        _remove_tree(old)
        raise
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old / "report", out)  # put the earlier report back
        _remove_tree(old)
        raise
    _remove_tree(old)  # the earlier report: only files mapreg wrote (checked above)


def atomic_write(path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and rename the result to ``path`` only if it succeeded.

    ``path`` must be new or a regular file (a device, FIFO, socket or directory is
    refused, never replaced).
    """
    path = Path(os.path.abspath(path))
    st = _lstat(path)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise ReportError(f"{path}: is a directory; give a file name")
    if st is not None and not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        raise ReportError(f"{path}: exists and is {_kind(st.st_mode)}; not replacing it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.partial-", dir=path.parent)
    except OSError as exc:
        raise ReportError(f"{path}: cannot write here: {exc.strerror or exc}") from None
    os.close(fd)
    with interrupts.temporary(tmp):
        try:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private
            write(Path(tmp))
            interrupts.check()
            with interrupts.shielded():
                os.replace(tmp, path)
        except BaseException:
            with interrupts.shielded(raise_after=False), contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return path


def write_netcdf(idata, path) -> None:
    """Save a posterior DataTree as netCDF4 (h5netcdf engine)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata.to_netcdf(path, engine="h5netcdf")
