"""The reading times in book/intro.md are the ones scripts/reading_times.py computes.

Cheap: the notebooks' stored cells and outputs are read, nothing is executed.
"""

import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _reading_times():
    name = "reading_times"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, REPO / "scripts" / "reading_times.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


rt = _reading_times()


def test_the_intro_states_each_page_s_reading_time():
    intro = (REPO / "book" / "intro.md").read_text(encoding="utf-8")
    found = rt.differences(intro, rt.reading_times())
    assert not found, (
        "book/intro.md's reading times are out of date:\n  "
        + "\n  ".join(found)
        + "\nRun `python scripts/reading_times.py --write` to update them."
    )


def _markdown(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(text, tags=(), outputs=()):
    metadata = {"tags": list(tags)} if tags else {}
    return {
        "cell_type": "code",
        "metadata": metadata,
        "source": text,
        "outputs": list(outputs),
        "execution_count": 1,
    }


def test_what_counts_on_a_page(tmp_path):
    source = tmp_path / "package.py"
    source.write_text(
        "import os\n\n\n@staticmethod\ndef shown(a):\n\n    return a\n\n\ndef not_shown():\n"
        "    pass\n"
    )
    page = {
        "cells": [
            # 5 words: "Two words", "a", "b", "[see]"; the heading's '#', the table's pipes
            # and dashes and the link's target are none
            _markdown(
                "# Two words\n\n| a | b |\n| --- | --- |\n\n[see](x.ipynb)"
            ),
            # 3 code lines (the blank one is none); its stream output is 2 words
            _code(
                "x = 1\n\nprint(x)\ny = 2",
                outputs=[
                    {
                        "output_type": "stream",
                        "name": "stdout",
                        "text": "1 = one\n",
                    }
                ],
            ),
            # hidden code: 0 lines; its printed table is 2 words, the figure none
            _code(
                "print('| n |')\nprint('| 5 |')",
                tags=["hide-input"],
                outputs=[
                    {
                        "output_type": "stream",
                        "name": "stdout",
                        "text": "| n |\n| 5 |\n",
                    },
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            "image/png": "",
                            "text/plain": "<Figure size 100x100 with 1 Axes>",
                        },
                    },
                ],
            ),
            # show_code: 1 line of its own and 2 of the package's source it displays
            _code(
                "show_code(f)",
                outputs=[
                    {
                        "output_type": "execute_result",
                        "metadata": {},
                        "execution_count": 1,
                        "data": {
                            "text/markdown": "```python\ndef f():\n\n    pass\n```",
                            "text/plain": "<IPython.core.display.Markdown object>",
                        },
                    }
                ],
            ),
            # removed: nothing
            _code("a = 1\nb = 2", tags=["remove-cell"]),
            # 2 words, then 2 code lines in the fence; a dropdown's title is in view
            # (1 word), its content is not; a solution in view: its words count (1 + 2),
            # its code does not
            _markdown(
                "Some code:\n```python\na = 1\nb = 2\n```\n"
                ":::{dropdown} Hint\nfolded words\n```python\nfolded = 1\n```\n:::\n"
                ":::{admonition} Solution\nopen words\n```python\nanswer = 1\n```\n:::"
            ),
            # the package's source a page shows: 3 lines (decorator included)
            _markdown(
                "```{literalinclude} package.py\n:language: python\n:pyobject: shown\n```"
            ),
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "01_page.ipynb"
    path.write_text(json.dumps(page))
    assert rt.count_notebook(path) == rt.Count(
        words=5 + 2 + 2 + 2 + 1 + 3, code=3 + 1 + 2 + 2 + 3
    )


def test_minutes_round_to_5():
    assert rt.minutes(rt.Count(0, 0)) == 5  # 5 at least
    assert rt.minutes(rt.Count(1500, 0)) == 10  # 10 minutes of words
    assert rt.minutes(rt.Count(0, 174)) == 15  # 17.4
    assert rt.minutes(rt.Count(0, 175)) == 20  # 17.5: halves up
    assert rt.minutes(rt.Count(375, 100)) == 15  # 2.5 + 10 = 12.5


def test_write_changes_only_the_minutes():
    intro = (REPO / "book" / "intro.md").read_text(encoding="utf-8")
    stated = rt.stated_times(intro)
    first = rt.START_PAGE
    assert len(stated[first]) == 2  # its table row and "Start here"
    times = {
        page: rt.PageTime(page, 0, 0, said[0] + 5)
        for page, said in stated.items()
    }
    written = rt.rewrite_intro(intro, times)
    assert rt.differences(written, times) == []
    assert len(written.splitlines()) == len(intro.splitlines())
    changed = [
        (old, new)
        for old, new in zip(intro.splitlines(), written.splitlines())
        if old != new
    ]
    assert len(changed) == sum(len(said) for said in stated.values())
    assert (
        rt.rewrite_intro(
            written, {p: rt.PageTime(p, 0, 0, s[0]) for p, s in stated.items()}
        )
        == intro
    )
