"""Every walk-through notebook runs top to bottom in a fresh kernel without a cell error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))

# Runs first in the kernel: the notebooks must execute with this interpreter (the project's
# virtual environment), not whatever "python" a kernelspec happens to find.
_CHECK_KERNEL = f"import sys\nassert sys.executable == {sys.executable!r}, sys.executable"


def test_the_walk_throughs_are_all_here():
    names = [nb.name for nb in NOTEBOOKS]
    for prefix in ("01_map_is_penalized_fit", "02_laplace_and_l1", "03_gaussian_and_l2",
                   "04_beyond_the_mode"):
        assert f"{prefix}.ipynb" in names


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.stem, marks=pytest.mark.xdist_group(f"notebook-{i % 2}"))
     for i, p in enumerate(NOTEBOOKS)],
)
def test_notebook_executes(path, monkeypatch):
    # Figures need no display here; one BLAS thread keeps two workers off each other's cores.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(_CHECK_KERNEL))
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    # A cell error raises CellExecutionError naming the cell and the traceback.
    client.execute()
    errors = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
