"""numba's on-disk cache must not outlive a change to a function's callees.

numba (0.68) keys a cached function by the content of its own source file only. A kernel
that calls jitted functions from another module carries their compiled code inside its
own cache entry, so an edit to the callee's module alone — or an upgrade of mapreg that
changes only that module, with the old ``__pycache__`` left behind — would keep running the
old callee. Each module with jitted functions therefore names, in one comment line, a hash
of every project module with jitted functions it imports: changing a callee changes that
line (this test says what it must read), which changes the caller's content and so its
cache key. Transitively too: the line is part of the caller's content, which its own
callers hash.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "mapreg"
MARK = "# numba cache key (callees): "


def _jitted(path: Path) -> bool:
    text = path.read_text()
    return "numba.njit" in text or "@njit" in text


def _module_path(name: str) -> Path | None:
    rel = Path(*name.split(".")[1:])
    for candidate in (ROOT / rel.with_suffix(".py"), ROOT / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path) -> set[str]:
    """The project modules ``path`` imports from, at any depth of its code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split(".")[0] == "mapreg":
            names.add(node.module)
            for alias in node.names:  # "from mapreg.posterior import hmc_kernel"
                names.add(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] == "mapreg")
    return names


def expected_key(path: Path) -> str | None:
    """The comment line ``path`` must carry, or ``None`` when it calls no other module's
    jitted code."""
    parts = []
    for name in sorted(_imported_modules(path)):
        callee = _module_path(name)
        if callee is None or callee == path or not _jitted(callee):
            continue
        digest = hashlib.sha256(callee.read_bytes()).hexdigest()[:8]
        parts.append(f"{name.rsplit('.', 1)[-1]}={digest}")
    return MARK + " ".join(parts) if parts else None


JITTED = sorted(p for p in ROOT.rglob("*.py") if _jitted(p))


def test_the_jitted_modules_are_found():
    names = {p.name for p in JITTED}
    assert {"gibbs_kernel.py", "horseshoe_kernel.py", "coordinate_kernel.py",
            "hmc_kernel.py", "kernels.py"} <= names


@pytest.mark.parametrize("path", JITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_jitted_module_names_its_callees_hashes(path):
    want = expected_key(path)
    lines = [line.strip() for line in path.read_text().splitlines()
             if line.strip().startswith(MARK)]
    if want is None:
        assert lines == [], f"{path}: no jitted callees in other modules; remove {lines}"
        return
    assert lines == [want], (
        f"{path.relative_to(ROOT.parent)} calls jitted code whose source changed: set its line "
        f"to\n{want}\n(numba would otherwise keep running the cached old callee)")
