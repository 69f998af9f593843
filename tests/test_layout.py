"""The package's shape: imports run one way, down explicit layers (no cycles, type-only imports
included); every name is imported from its home; every folder says what it is for."""

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
    for node in ast.walk(
        tree
    ):  # imports under `if TYPE_CHECKING:` count too: they are part of the design
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = (
                    package.rsplit(".", node.level - 1)[0]
                    if node.level > 1
                    else package
                )
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("dcgan_tutorial"):
                for (
                    alias
                ) in node.names:  # `from . import distributed` imports a module
                    sub = f"{target}.{alias.name}"
                    found.add(
                        sub
                        if (PACKAGE.parent / sub.replace(".", "/"))
                        .with_suffix(".py")
                        .exists()
                        or (PACKAGE.parent / sub.replace(".", "/")).is_dir()
                        else target
                    )
        elif isinstance(node, ast.Import):
            found |= {
                a.name for a in node.names if a.name.startswith("dcgan_tutorial")
            }
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
                return (
                    path[path.index(dep) :] + [dep]
                    if dep in path
                    else [node, dep]
                )
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


# The layers, lowest first: a module imports only from layers below its own. A family (a folder:
# data/, models/, tricks/, notebook/) sits in one layer and may import within itself.
LAYERS = [
    {
        "config",
        "runfolder",
        "interrupt",
        "distributed",
        "losses",
        "latent",
    },  # nothing of the package
    {
        "device",
        "presets",
        "memory",
        "data",
        "tricks",
        "toy2d",
        "viz",
    },  # what a step acts with; pictures (written whole by runfolder)
    {"models", "toy2d_plots"},  # G and D (spectral norm from tricks/)
    {"sample", "state"},  # images from G; the state a step changes
    {"callbacks", "checkpoint"},  # how the loop is watched; the state on disk
    {
        "train",
        "classifier",
    },  # the step and the loop; the shipped classifiers (read from disk)
    {
        "metrics",
        "pretrained",
    },  # how good a G is; the shipped generators and generator files
    {
        "evaluate",
        "export",
        "watchers",
    },  # what uses a G; what watches a run and writes its files
    {"run"},  # a whole run, the one place it is set up
    {
        "cli",
        "",
    },  # the command line; the package's public face (dcgan_tutorial/__init__.py)
    {
        "notebook",
        "__main__",
    },  # the widgets and chapter setup; python -m dcgan_tutorial
]


def _family(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def _layer(module: str) -> int:
    found = [i for i, layer in enumerate(LAYERS) if _family(module) in layer]
    assert found, f"{module} is in no layer of tests/test_layout.py: place it"
    return found[0]


def _upward_or_sideways(graph) -> list[tuple[str, str]]:
    return [
        (m, d)
        for m, deps in graph.items()
        for d in deps
        if _family(m) != _family(d) and _layer(d) >= _layer(m)
    ]


def test_every_import_points_to_a_lower_layer():
    assert _upward_or_sideways(_graph()) == []


def test_the_layer_check_finds_an_import_back_up():
    graph = {
        "dcgan_tutorial.tricks.fid": {"dcgan_tutorial.train"},
        "dcgan_tutorial.train": set(),
        "dcgan_tutorial.state": {"dcgan_tutorial.sample"},
        "dcgan_tutorial.sample": set(),
    }
    assert _upward_or_sideways(graph) == [
        ("dcgan_tutorial.tricks.fid", "dcgan_tutorial.train"),
        ("dcgan_tutorial.state", "dcgan_tutorial.sample"),
    ]


def test_type_only_imports_count():
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .train import GANState\n"
    path = PACKAGE / "_layout_probe.py"
    try:
        path.write_text(source)
        assert "dcgan_tutorial.train" in _imports(path)
    finally:
        path.unlink()


def _defined_names(path: Path) -> set[str]:
    """The names a module defines at its top level (functions, classes, assignments)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        ):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = (
                node.targets if isinstance(node, ast.Assign) else [node.target]
            )
            names |= {
                n.id
                for t in targets
                for n in ast.walk(t)
                if isinstance(n, ast.Name)
            }
    return names


def test_every_name_is_imported_from_its_home():
    """``from .train import GANState`` would pass through a module that only re-exports it (state.py is its home).

    A family's ``__init__`` (``data``, ``models``, ``notebook``) is its face and may be imported from;
    the package's ``__init__`` is the public face, imported by no module inside the package but
    chapter setup.
    """
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    passing = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                not isinstance(node, ast.ImportFrom)
                or not node.level
                or not node.module
            ):
                continue
            base = (
                package.rsplit(".", node.level - 1)[0]
                if node.level > 1
                else package
            )
            source = f"{base}.{node.module}"
            home = modules.get(source)
            if home is None or home.name == "__init__.py":
                continue  # a family's face
            defined = _defined_names(home)
            passing += [
                f"{name}: {a.name} from {source}"
                for a in node.names
                if a.name not in defined
            ]
    assert passing == []


def test_no_module_but_a_face_re_exports():
    """A module that imports a name of the package and never uses it only passes it on."""
    unused = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text())
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        used |= {
            n.value.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
        }
        text = path.read_text()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                for alias in node.names:
                    local = alias.asname or alias.name
                    if (
                        local not in used
                        and f"'{local}'" not in text
                        and f'"{local}"' not in text
                    ):
                        unused.append(f"{_module_name(path)}: {local}")
    assert unused == []


def test_sampling_and_metrics_do_not_depend_on_training():
    graph = _graph()
    for name in (
        "dcgan_tutorial.sample",
        "dcgan_tutorial.metrics",
        "dcgan_tutorial.notebook.explorer",
    ):
        assert "dcgan_tutorial.train" not in graph[name], name


@pytest.mark.parametrize(
    "folder", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
)
def test_every_folder_says_what_it_is_for(folder):
    module = importlib.import_module(f"dcgan_tutorial.{folder}")
    doc = module.__doc__ or ""
    assert doc.startswith(f"{folder}: ") and len(doc.splitlines()) >= 3, doc


# A module is read in one sitting: about 300 lines as written at 120 columns. The formatter's
# 82 columns (the book's) add lines, not content, so the measure is its characters, indentation
# aside.
MAX_MODULE_CHARS = 16_000


def test_no_module_is_longer_than_one_sitting():
    long = {}
    for p in PACKAGE.rglob("*.py"):
        chars = sum(len(line.strip()) for line in p.read_text().splitlines())
        if chars > MAX_MODULE_CHARS:
            long[str(p.relative_to(PACKAGE))] = chars
    assert not long, long
