"""The import contract: layers import only downward, and the bottom layers stay free of MLflow,
Spark and pyarrow datasets (checked in a fresh interpreter per module, lazy imports included)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mlflow_decay"
#: What each layer's modules may import from the package (themselves included). Layers not
#: listed here are the ones above, still flat in the package.
ALLOWED = {"stats": {"stats", "errors"}, "core": {"core", "stats", "errors"},
           "engines": {"engines", "core", "stats", "errors"},
           "registry": {"registry", "core", "stats", "errors"}}
#: Kept out of the bottom layers: they never talk to MLflow, Spark or files of datasets.
FORBIDDEN = ("mlflow", "pyspark", "pyarrow.dataset")
BOTTOM = ("stats", "core")


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).glob("*.py"))


def _imported(path: Path, root: Path = PACKAGE.parent) -> set[str]:
    """The package's top-level names (``stats``, ``errors``, ``profile``…) a module under
    ``root`` imports, anywhere in it (lazy imports inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = path.relative_to(root).with_suffix("").parts[:-1]  # its package
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
            else:
                target = (node.module or "").split(".")
            if target[:1] == ["mlflow_decay"]:
                where = root.joinpath(*target)
                if not (where.with_suffix(".py").exists() or (where / "__init__.py").exists()):
                    found.add("<missing " + ".".join(target) + ">")  # a lazy import gone stale
                names = target[1:2] or [alias.name for alias in node.names]
                found.update(names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("mlflow_decay."))
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_import_only_downward(layer: str) -> None:
    modules = _modules(layer)
    assert modules, f"no modules in mlflow_decay/{layer}"
    for path in modules:
        upward = _imported(path) - ALLOWED[layer]
        assert not upward, f"{path.relative_to(PACKAGE.parent)} imports {sorted(upward)}"


@pytest.mark.parametrize("module", [f"mlflow_decay.{layer}.{p.stem}" for layer in BOTTOM
                                    for p in _modules(layer) if p.stem != "__init__"])
def test_bottom_layers_import_no_mlflow_spark_or_datasets(module: str) -> None:
    code = ("import importlib, sys; importlib.import_module(sys.argv[1]); "
            f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"importing {module} loads {out}"


def test_the_contract_sees_a_violation(tmp_path: Path) -> None:
    """The checker itself: an upward import, even a lazy one, is found."""
    fake = tmp_path / "mlflow_decay" / "stats" / "probe.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("import numpy\nfrom . import sketch\n\n\ndef f():\n"
                    "    from ..profile import Profile\n    import mlflow_decay.api\n"
                    "    from .streaming import x\n")
    for present in ("profile.py", "stats/__init__.py"):
        (tmp_path / "mlflow_decay" / present).write_text("")
    assert _imported(fake, tmp_path) == {"stats", "profile", "api",
                                         "<missing mlflow_decay.stats.streaming>"}
