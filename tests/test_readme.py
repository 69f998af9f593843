"""The Python snippet in README.md runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_snippet_trains(data_root, monkeypatch, capsys):
    monkeypatch.setenv("DCGAN_TUTORIAL_DATA", str(data_root))
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks
    namespace = {}
    exec(blocks[0], namespace)
    assert namespace["state"].step == 100
    assert "100 " in capsys.readouterr().out


def test_readme_reads_in_two_minutes():
    """What this is, the commands, the book, the CLI, the package map; measurements live in
    benchmarks/README.md."""
    lines = README.read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines (at most 200)"
    assert (README.parent / "benchmarks" / "README.md").is_file()
