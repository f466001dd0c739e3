"""The walk-through notebooks: each ``.ipynb`` holds the cells of its Jupytext source
(``notebooks/NN_*.py``), is committed executed, and runs top to bottom in a fresh kernel.

Edit the ``.py``; ``notebooks/sync.py`` rewrites and re-executes the ``.ipynb``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupytext = pytest.importorskip("jupytext")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
SOURCES = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
STEMS = sorted({p.stem for p in SOURCES} | {p.stem for p in NOTEBOOKS})

# Runs first in the kernel: the notebooks must execute with this interpreter (the project's
# virtual environment), not whatever "python" a kernelspec happens to find, and must import
# this checkout's mapreg, not another copy installed in that environment.
_CHECK_KERNEL = (
    "import sys\n"
    f"assert sys.executable == {sys.executable!r}, sys.executable\n"
    "import mapreg\n"
    f"assert mapreg.__file__.startswith({str(ROOT / 'mapreg') + os.sep!r}), mapreg.__file__"
)


def _cells(nb) -> list[tuple[str, str]]:
    """What a reader sees: the kind and text of every cell (no outputs, ids or metadata)."""
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def test_the_walk_throughs_are_all_here():
    stems = [p.stem for p in SOURCES]
    for prefix in ("00_regularisation_during_training", "01_map_is_penalized_fit",
                   "02_laplace_and_l1", "03_gaussian_and_l2",
                   "04_beyond_the_mode", "05_the_prior_penalty_family",
                   "06_which_lambda_which_prior"):
        assert prefix in stems


@pytest.mark.parametrize("stem", STEMS)
def test_notebook_matches_its_jupytext_source(stem):
    source, notebook = NOTEBOOK_DIR / f"{stem}.py", NOTEBOOK_DIR / f"{stem}.ipynb"
    assert source.exists(), f"{notebook.name} has no Jupytext source {source.name}"
    assert notebook.exists(), f"{source.name} has no notebook: run notebooks/sync.py {stem[:2]}"
    text = jupytext.read(source)
    nb = nbformat.read(notebook, as_version=4)
    assert text.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    assert _cells(nb) == _cells(text), (
        f"{notebook.name} is out of sync with {source.name}: run notebooks/sync.py {stem[:2]}")
    # committed executed, so it reads on a code host
    unrun = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and cell.execution_count is None]
    assert not unrun, f"{notebook.name}: cells {unrun} have not been executed"


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.stem, marks=pytest.mark.xdist_group(f"notebook-{i % 2}"))
     for i, p in enumerate(NOTEBOOKS)],
)
def test_notebook_executes(path, tmp_path, monkeypatch):
    # Figures need no display here; one BLAS thread keeps two workers off each other's cores.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    # The kernel imports this checkout's mapreg and runs in a scratch folder: whatever a
    # notebook writes lands there, not in the repository.
    monkeypatch.setenv("PYTHONPATH",
                       os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(_CHECK_KERNEL))
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(tmp_path)}})
    # A cell error raises CellExecutionError naming the cell and the traceback.
    client.execute()
    errors = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
