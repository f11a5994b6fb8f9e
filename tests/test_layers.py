"""The import contract: layers import only downward, the faces are imported by none of them,
no module imports itself round a circle, and the bottom layers stay free of MLflow, Spark and
pyarrow datasets (checked in a fresh interpreter per module; lazy imports included throughout)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mlflow_decay"
#: What each layer's modules may import from the package (themselves included).
ALLOWED = {"stats": {"stats", "errors"}, "core": {"core", "stats", "errors"},
           "engines": {"engines", "core", "stats", "errors"},
           "registry": {"registry", "core", "stats", "errors"}}
#: The same for the package root's modules below the faces: plots (PNG) and render (the HTML
#: report, its plots inlined) sit on the core, the use cases on every layer and on those two,
#: and among the use cases only downward (monitoring records each window through recording;
#: comparison and labels may use both; recording uses none of them; the exporter only reads
#: the registry).
UNDER_USE_CASES = {"stats", "core", "engines", "registry", "plots", "render", "errors"}
ROOT_ALLOWED = {"errors": {"errors"}, "plots": {"plots", "core", "stats", "errors"},
                "render": {"render", "plots", "core", "stats", "errors"},
                "recording": {"recording", *UNDER_USE_CASES},
                "monitoring": {"monitoring", "recording", *UNDER_USE_CASES},
                "comparison": {"comparison", "monitoring", "recording", *UNDER_USE_CASES},
                "labels": {"labels", "monitoring", "recording", *UNDER_USE_CASES},
                "exporter": {"exporter", *UNDER_USE_CASES}}
#: The faces: the package itself (``md.<name>``), api, cli, demo and the MLflow evaluator
#: plugin. They may import anything; nothing else imports them.
FACES = ("mlflow_decay", "mlflow_decay.api", "mlflow_decay.cli", "mlflow_decay.demo",
         "mlflow_decay.registry.plugin")
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


def _name(path: Path, root: Path = PACKAGE.parent) -> str:
    """A module's dotted name (a package's for its ``__init__``)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = PACKAGE.parent) -> set[str]:
    """The package's modules a module under ``root`` imports, anywhere in it (lazy imports
    too), by dotted name: ``from X import y`` imports ``X.y`` when that is a module, else
    ``X`` (the packages above a module are left out: every module imports those)."""
    here = path.relative_to(root).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else ()
            target = [*base, *(node.module.split(".") if node.module else [])]
            if target[:1] != ["mlflow_decay"]:
                continue
            for alias in node.names:
                where = root.joinpath(*target, alias.name)
                is_module = where.with_suffix(".py").exists() or (where / "__init__.py").exists()
                found.add(".".join([*target, alias.name] if is_module else target))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "mlflow_decay")
    return found


def _graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Every module of the package, with the package's modules it imports."""
    return {_name(p, package.parent): _imports(p, package.parent)
            for p in sorted(package.rglob("*.py"))}


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    """A chain of imports that comes back to where it started, or ``None``."""
    done: set[str] = set()
    chain: list[str] = []

    def visit(module: str) -> list[str] | None:
        chain.append(module)
        for imported in sorted(graph.get(module, ())):
            if imported in chain:
                return [*chain[chain.index(imported):], imported]
            if imported not in done and (found := visit(imported)):
                return found
        done.add(chain.pop())
        return None

    return next((found for m in sorted(graph) if m not in done and (found := visit(m))), None)


def _is_face(module: str) -> bool:
    return module == FACES[0] or any(module == f or module.startswith(f + ".") for f in FACES[1:])


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_import_only_downward(layer: str) -> None:
    modules = _modules(layer)
    assert modules, f"no modules in mlflow_decay/{layer}"
    for path in modules:
        upward = _imported(path) - ALLOWED[layer]
        assert not upward, f"{path.relative_to(PACKAGE.parent)} imports {sorted(upward)}"


@pytest.mark.parametrize("module", sorted(ROOT_ALLOWED))
def test_render_and_the_use_cases_import_only_downward(module: str) -> None:
    upward = _imported(PACKAGE / f"{module}.py") - ROOT_ALLOWED[module]
    assert not upward, f"mlflow_decay/{module}.py imports {sorted(upward)}"


def test_every_module_has_a_place_in_the_contract() -> None:
    placed = {*ALLOWED, *ROOT_ALLOWED}
    for path in PACKAGE.rglob("*.py"):
        top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        assert top in placed or _is_face(_name(path)), (
            f"{path.relative_to(PACKAGE.parent)}: give it a layer in tests/test_layers.py")


def test_nothing_below_the_faces_imports_one() -> None:
    for module, imported in _graph().items():
        faces = sorted(m for m in imported if _is_face(m))
        assert _is_face(module) or not faces, f"{module} imports {faces}"


def test_no_module_imports_itself_round_a_circle() -> None:
    circle = _circle(_graph())
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_bottom_layers_import_no_mlflow_spark_or_datasets() -> None:
    """A fresh interpreter imports every module of the bottom layers in turn and checks
    ``sys.modules`` after each: the first module to load a forbidden one is named (it imports
    it, or imports a module of these layers that does)."""
    modules = [f"mlflow_decay.{layer}" + ("" if p.stem == "__init__" else f".{p.stem}")
               for layer in BOTTOM for p in _modules(layer)]
    code = ("import importlib, sys\n"
            "for name in sys.argv[1:]:\n"
            "    importlib.import_module(name)\n"
            f"    loaded = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
            "    if loaded:\n"
            "        print(name, 'loads', ','.join(loaded))\n"
            "        break\n"
            "else:\n"
            "    print(len(sys.argv) - 1, 'clean')\n")
    out = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == f"{len(modules)} clean", out


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


def test_the_circle_check_sees_a_lazy_circle(tmp_path: Path) -> None:
    """The checker itself: a circle closed by a lazy import, through a package, is found."""
    package = tmp_path / "mlflow_decay"
    (package / "core").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core" / "__init__.py").write_text("from .a import x\n")
    (package / "core" / "a.py").write_text("from ..render import y\n")
    (package / "render.py").write_text("def f():\n    from . import core\n")
    graph = _graph(package)
    assert graph["mlflow_decay.render"] == {"mlflow_decay.core"}
    assert _circle(graph) == ["mlflow_decay.core", "mlflow_decay.core.a", "mlflow_decay.render",
                              "mlflow_decay.core"]
    (package / "render.py").write_text("from .errors import z\n")
    assert _circle(_graph(package)) is None


def _picture_bands() -> dict[str, set[str]]:
    """The names ARCHITECTURE.md's picture puts in each layer: the text between ``·`` on the
    lines of a layer (up to the next ``│`` line), remarks in parentheses left out; the band of
    engines, registry and render is cut into its three columns where ``registry/`` and
    ``render`` start."""
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    picture = text.split("```")[1].strip("\n").splitlines()
    bands: dict[str, list[str]] = {}
    label = ""
    for line in picture:
        if line[:1] not in (" ", ""):
            label = line[:13].strip()
            bands[label] = []
        if not any(ch in line for ch in "│┌└"):
            bands[label].append(line[13:])
    middle = bands.pop("engines/")
    at_registry = next(line.index("registry/") for line in middle if "registry/" in line)
    at_render = next(line.index("render") for line in middle if "render" in line)
    bands["engines/"] = [line[:at_registry] for line in middle]
    bands["registry/"] = [line[at_registry:at_render].replace("registry/", "") for line in middle]
    bands["render"] = [line[at_render:] for line in middle]

    def names(lines: list[str]) -> set[str]:
        flat = " ".join(" ".join(lines).split())
        while "(" in flat:  # innermost remarks first
            start = flat.rindex("(")
            flat = flat[:start] + flat[flat.index(")", start) + 1:]
        return {n.strip() for n in flat.split("·") if n.strip()}

    return {layer: names(lines) for layer, lines in bands.items()}


def _modules_by_layer() -> dict[str, set[str]]:
    """The package's modules as the picture names them, by layer."""
    found: dict[str, set[str]] = {layer + "/": set() for layer in ALLOWED}
    found.update({"use cases": set(), "render": set(), "faces": {"mlflow_decay"}})
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts in (("__init__",), ("errors",)):
            continue
        name = _name(path)
        if name.startswith("mlflow_decay.cli"):
            found["faces"].add("cli/")
        elif name == "mlflow_decay.registry.plugin":
            found["faces"].add("registry/plugin")
        elif len(parts) == 2 and parts[-1] != "__init__":
            found[parts[0] + "/"].add(parts[1])
        elif len(parts) == 1:
            layer = ("render" if parts[0] in ("render", "plots")
                     else "use cases" if parts[0] in ROOT_ALLOWED else "faces")
            found[layer].add(parts[0])
    return found


def test_the_architecture_picture_names_every_module_in_its_layer() -> None:
    assert _picture_bands() == _modules_by_layer()


def test_no_module_over_500_lines_nor_function_body_over_60() -> None:
    """Issue 12's size rules: a module over 500 lines holds more than one noun; a function
    whose code (its docstring aside) is over 60 lines does more than one thing."""
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 500:
            too_long.append(f"{_name(path)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = node.body[1:] if ast.get_docstring(node) is not None else node.body
                if body and (lines := (body[-1].end_lineno or 0) - body[0].lineno + 1) > 60:
                    too_long.append(f"{_name(path)}.{node.name}: {lines} lines of code")
    assert not too_long
