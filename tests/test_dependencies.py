"""Every third-party package that ``mapreg`` imports is declared in ``pyproject.toml``.

A package only the tests import belongs in the ``test`` extra, not here. One exception is
allowed: an *optional* package (declared in an extra other than ``test``) that ``mapreg``
imports lazily, so that ``import mapreg`` and everything without it keep working — today
scikit-learn (extra ``sklearn``): imported inside functions that fall back when it is missing,
and at the top of ``mapreg.interop.estimators``, which ``mapreg`` loads only when
``MAPRegressor``/``MAPClassifier`` is first asked for; dask and JAX (extras ``dask``, ``jax``),
imported inside the functions of ``mapreg.backends``.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mapreg"

#: Optional distribution -> modules that may import it at module level (loaded lazily).
OPTIONAL = {"scikit-learn": {"mapreg.interop.estimators"},
            # mapreg.backends imports them inside functions only
            "dask": set(), "distributed": set(), "jax": set()}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(requirements: list[str]) -> set[str]:
    return {_canonical(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", r.strip()).group())
            for r in requirements}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module):
    """``(top-level module name, lineno, at module level?)`` of every absolute import."""
    def visit(node, top_level):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name.partition(".")[0], child.lineno, top_level
            elif isinstance(child, ast.ImportFrom):
                if child.level == 0 and child.module:
                    yield child.module.partition(".")[0], child.lineno, top_level
            else:
                inner = top_level and not isinstance(
                    child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                yield from visit(child, inner)

    yield from visit(tree, True)


def _third_party_imports() -> dict[str, list[tuple[str, int, bool]]]:
    """Top-level import name -> where ``mapreg`` imports it (module, line, at module level)."""
    found: dict[str, list[tuple[str, int, bool]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, lineno, top_level in _imports(tree):
            if name in sys.stdlib_module_names or name in ("mapreg", "__future__"):
                continue
            found.setdefault(name, []).append((_module_name(path), lineno, top_level))
    return found


def test_every_imported_package_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    required = _requirement_names(project["dependencies"])
    extras = {name: _requirement_names(reqs)
              for name, reqs in project.get("optional-dependencies", {}).items()
              if name != "test"}
    distributions = importlib.metadata.packages_distributions()

    imports = _third_party_imports()
    assert {"numpy", "scipy", "pymc"} <= set(imports)  # the walk found the package
    problems = []
    for name, sites in sorted(imports.items()):
        dists = {_canonical(d) for d in distributions.get(name, [])}
        where = ", ".join(f"{mod}:{line}" for mod, line, _ in sites)
        if not dists:
            problems.append(f"{name} (imported at {where}) is not installed: which distribution?")
        elif dists & required:
            continue
        elif optional := dists & set(OPTIONAL):
            dist = optional.pop()
            if not any(dist in names for names in extras.values()):
                problems.append(f"{dist} (import {name}) is optional but in no extra")
            eager = [f"{mod}:{line}" for mod, line, top in sites
                     if top and mod not in OPTIONAL[dist]]
            if eager:
                problems.append(f"{dist} is optional but imported at module level in "
                                f"{', '.join(eager)}: import it lazily or declare it")
        else:
            problems.append(f"{'/'.join(sorted(dists))} (import {name} at {where}) is not in "
                            "[project] dependencies")
    assert not problems, "\n".join(problems)


def test_lazily_loaded_modules_stay_lazy():
    """The modules allowed an optional import at module level are loaded only on demand."""
    lazy = set().union(*OPTIONAL.values())
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            hits = lazy.intersection(names)
            assert not hits, f"{_module_name(path)}:{node.lineno} imports {hits} eagerly"
