"""Write the walk-through notebooks from the cell lists below and execute them in place.

Usage (from the repository root)::

    .venv/bin/python notebooks/build_notebooks.py            # build and execute all
    .venv/bin/python notebooks/build_notebooks.py 02 03      # only those whose name has 02/03
    .venv/bin/python notebooks/build_notebooks.py --no-exec  # write without outputs

Notebooks are committed with their outputs so they read well on a code host;
``tests/test_notebooks.py`` re-executes each one in a fresh kernel.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _cells import NOTEBOOKS  # noqa: E402


def build(name: str, cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for kind, text in cells:
        text = text.strip("\n")
        nb.cells.append(nbformat.v4.new_markdown_cell(text) if kind == "md"
                        else nbformat.v4.new_code_cell(text))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 600) -> float:
    """Run ``nb`` top to bottom in a fresh ``python3`` kernel; return the seconds taken."""
    start = time.perf_counter()
    NotebookClient(nb, kernel_name="python3", timeout=timeout,
                   resources={"metadata": {"path": str(HERE)}}).execute()
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    run = "--no-exec" not in argv
    wanted = [a for a in argv if not a.startswith("--")]
    # The inline backend must render the figures into the saved outputs.
    os.environ.pop("MPLBACKEND", None)
    for name, cells in NOTEBOOKS.items():
        if wanted and not any(w in name for w in wanted):
            continue
        nb = build(name, cells)
        if run:
            seconds = execute(nb)
            print(f"{name}: executed in {seconds:.1f} s")
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
