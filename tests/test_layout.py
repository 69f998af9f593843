"""The package's shape: imports run one way (no cycles), and every folder says what it is for."""
import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dcgan_tutorial"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The package modules ``path`` imports (module level and inside functions), resolved to names."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: not an import at run time
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("dcgan_tutorial"):
                for alias in node.names:  # `from . import distributed` imports a module
                    sub = f"{target}.{alias.name}"
                    found.add(sub if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                              or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("dcgan_tutorial")}
    return found - {name}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for target in _imports(path):
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


def _cycle(graph):
    """One import cycle as a list of modules, or None. A package's __init__ re-exporting its own
    modules is not a cycle of the design, so edges from a package to its own submodules are skipped."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for dep in graph[node]:
            if dep.startswith(node + "."):
                continue
            if state.get(dep) == "open":
                return path[path.index(dep):] + [dep] if dep in path else [node, dep]
            if dep not in state:
                found = visit(dep, path + [dep])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in graph:
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycles():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("low, high", [
    ("dcgan_tutorial.config", "dcgan_tutorial.models"), ("dcgan_tutorial.models", "dcgan_tutorial.train"),
    ("dcgan_tutorial.sample", "dcgan_tutorial.train"), ("dcgan_tutorial.device", "dcgan_tutorial.train"),
    ("dcgan_tutorial.train", "dcgan_tutorial.run"), ("dcgan_tutorial.run", "dcgan_tutorial.cli"),
    ("dcgan_tutorial.metrics", "dcgan_tutorial.cli"), ("dcgan_tutorial.data", "dcgan_tutorial.train"),
])
def test_lower_layers_never_import_higher_ones(low, high):
    graph = _graph()
    below = {m for m in graph if m == low or m.startswith(low + ".")}
    assert not any(high == d or d.startswith(high + ".") for m in below for d in graph[m]), (low, high)


def test_sampling_and_metrics_do_not_depend_on_training():
    graph = _graph()
    for name in ("dcgan_tutorial.sample", "dcgan_tutorial.metrics", "dcgan_tutorial.notebook.explorer"):
        assert "dcgan_tutorial.train" not in graph[name], name


@pytest.mark.parametrize("folder", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")))
def test_every_folder_says_what_it_is_for(folder):
    module = importlib.import_module(f"dcgan_tutorial.{folder}")
    doc = module.__doc__ or ""
    assert doc.startswith(f"{folder}: ") and len(doc.splitlines()) >= 3, doc


def test_no_module_is_longer_than_300_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 300}
    assert not long, long
