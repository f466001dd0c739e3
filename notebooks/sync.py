"""Write each walk-through notebook from its Jupytext source and execute it in place.

``notebooks/NN_*.py`` (Jupytext percent format) are the sources: edit those. Each is paired
with ``notebooks/NN_*.ipynb`` (``formats: ipynb,py:percent``), committed executed, with its
outputs, so it reads on a code host. ``tests/test_notebooks.py`` checks that every pair holds
the same cells and re-executes every notebook.

Usage (from the repository root)::

    .venv/bin/python notebooks/sync.py            # write and execute all
    .venv/bin/python notebooks/sync.py 02 03      # only those whose name has 02/03
    .venv/bin/python notebooks/sync.py --no-exec  # write without outputs

The kernel (``python3``, the interpreter running this script) imports this checkout's
``mapreg`` (``PYTHONPATH``) and runs in a temporary folder, so nothing lands in the repository.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FORMATS = "ipynb,py:percent"


def sources() -> list[Path]:
    return sorted(HERE.glob("[0-9][0-9]_*.py"))


def read(source: Path) -> nbformat.NotebookNode:
    """The notebook of a Jupytext source, ready to write as ``.ipynb``."""
    nb = jupytext.read(source)
    meta = nb.metadata.setdefault("jupytext", {})
    meta.pop("text_representation", None)  # belongs to the .py only
    meta["formats"] = FORMATS
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:02d}"  # stable ids: a rewrite changes only what changed
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 600) -> float:
    """Run ``nb`` top to bottom in a fresh ``python3`` kernel; return the seconds taken."""
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("MPLBACKEND", None)  # the inline backend must render the figures into the outputs
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mapreg-nb-") as cwd:
        client = NotebookClient(nb, kernel_name="python3", timeout=timeout, record_timing=False,
                                resources={"metadata": {"path": cwd}})
        client.execute(env=env)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    run = "--no-exec" not in argv
    wanted = [a for a in argv if not a.startswith("--")]
    for source in sources():
        if wanted and not any(w in source.name for w in wanted):
            continue
        nb = read(source)
        if run:
            print(f"{source.stem}: executed in {execute(nb):.1f} s", flush=True)
        nbformat.validate(nb)
        nbformat.write(nb, source.with_suffix(".ipynb"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
