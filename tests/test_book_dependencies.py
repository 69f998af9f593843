"""Every module a chapter imports is installed by what the chapter's first cell installs.

A chapter's first cell installs ``dcgan_tutorial[notebook]`` where the package is missing (Colab,
a fresh machine), and the README's command installs the ``book`` and ``test`` extras: a chapter that
imports a module neither brings fails on a learner's machine and in the tests alike.
"""

import ast
import json
import re
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Import name -> the distribution that provides it, where the two differ. IPython comes with
# ipywidgets (and ipykernel), which the notebook extra installs.
PROVIDED_BY = {
    "PIL": "pillow",
    "IPython": "ipywidgets",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
}


def _distribution(requirement: str) -> str:
    """'torchvision>=0.16' -> 'torchvision'; names compared lower-case with '_' as '-'."""
    name = re.match(r"[A-Za-z0-9_.\-]+", requirement.strip()).group(0)
    return name.lower().replace("_", "-")


def _imports(source: str) -> set[str]:
    """Top-level module names imported by a cell, IPython magics and shell lines left out."""
    lines = [
        line[: len(line) - len(line.lstrip())] + "pass"
        if line.lstrip().startswith(("%", "!"))
        else line
        for line in source.splitlines()
    ]
    tree = ast.parse("\n".join(lines))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _third_party(path: Path) -> set[str]:
    notebook = json.loads(path.read_text())
    names = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            names |= _imports("".join(cell["source"]))
    return {
        n
        for n in names
        if n not in sys.stdlib_module_names and n != "dcgan_tutorial"
    }


def _extra(name: str) -> set[str]:
    return {
        _distribution(r)
        for r in PYPROJECT["project"]["optional-dependencies"][name]
    }


CORE = {_distribution(r) for r in PYPROJECT["project"]["dependencies"]}


def test_the_import_reader_sees_imports_and_skips_magics():
    cell = "%pip install x\nimport numpy as np, torch.nn\nfrom scipy.stats import t\nfrom . import y\n"
    assert _imports(cell) == {"numpy", "torch", "scipy"}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_imports_only_what_its_first_cell_installs(path):
    installed = CORE | _extra("notebook")
    missing = {
        name
        for name in _third_party(path)
        if PROVIDED_BY.get(name, name).lower() not in installed
    }
    assert not missing, (
        f"{path.name} imports {sorted(missing)}, which neither dcgan_tutorial's dependencies nor its "
        "[notebook] extra install: add them to [project.optional-dependencies] notebook in pyproject.toml"
    )


def test_the_readme_install_brings_the_notebook_extra():
    """The README installs [book,test]: everything the chapters' [notebook] extra brings must be in it,
    or the tests run the chapters with less than a learner has."""
    missing = _extra("notebook") - _extra("book") - _extra("test")
    assert not missing, (
        f"add {sorted(missing)} to the book extra in pyproject.toml"
    )
