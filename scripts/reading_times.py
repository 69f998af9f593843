"""The reading time of every page of the book, by the rule that book/intro.md states.

    python scripts/reading_times.py            # a table: page, words, code lines, minutes
    python scripts/reading_times.py --write    # and the minutes go into book/intro.md

The rule (book/intro.md, "How to read this book"): words at 150 a minute, printed tables and
captions included, and the code in view at 10 lines a minute (the code cells and the
package's source that a page shows, not the hidden cells or the solutions), rounded to 5
minutes. The pages are ``book/dcgan_in_80_lines.ipynb`` and ``book/NN_*.ipynb``, read from
their stored outputs (nothing is executed). What counts is what a reader sees on the page
without opening anything: a folded block is read like a hidden cell. Each part of a page:

Words. A word is a run of characters between white space that holds at least one letter or
digit, so the pipes and dashes of a table, a heading's ``#``, a bullet's ``-`` or a lone
``=`` are not words, while ``$G$``, ``28x28`` or ``(B,`` are. Before splitting, a link's
target is dropped (``[the losses](05_the_losses.ipynb)`` is two words) and so are HTML tags
and comments. Math counts like text, as its source reads. The words of markdown cells count,
the title of a folded block (a ``{dropdown}``, or an admonition of class ``dropdown``: the
book's hints, solutions and "Under the hood" notes) too, but not what it folds away; a
directive's option lines (``:language: python``) are not words.

Printed output. What a cell prints counts as words: its stream output (stdout and stderr),
and the markdown or plain text it displays where the page shows that text (the first of the
types that _config.yml's ``nb_mime_priority_overrides`` ranks highest: an output that the page
shows as HTML, a widget or a picture counts nothing; its caption is text of its own). Markdown
output is read like a markdown cell, so the tables and captions that cells display are words
and the fenced source that ``show_code(...)`` displays is code. A hidden cell's output
counts (most of the book's printed tables come from cells whose code is behind "show code");
the output of a cell tagged ``hide-output``, ``remove-output``, ``hide-cell`` or
``remove-cell`` does not.

Code in view. A line of code is a line that is not blank. It counts in a code cell whose
code the page shows (not tagged ``hide-input``, ``hide-cell``, ``remove-input`` or
``remove-cell``), in a fenced code block of a markdown cell or of displayed markdown
(```` ```python ````, ``{code}``, ``{code-block}``), and in the package's source that a
``{literalinclude}`` shows (the whole file, or the class or function its ``:pyobject:``
names, decorators included, as Sphinx cuts it). It does not count in a folded block, nor in
a solution: a block whose title starts with "Solution", folded or not.

Minutes: words / 150 + code lines / 10, rounded to the nearest multiple of 5 (halves up),
5 at least.

``--write`` puts each page's minutes into the last column ("NN min") of the intro's table row
that links the notebook, and the first page's also into "**Start here** (NN minutes)". The
test tests/test_reading_times.py fails when the intro and this computation disagree.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
INTRO = BOOK / "intro.md"
# the page of "**Start here** (NN minutes)"
START_PAGE = "dcgan_in_80_lines.ipynb"

WORDS_PER_MINUTE = 150
CODE_LINES_PER_MINUTE = 10

HIDDEN_INPUT = {"hide-input", "hide-cell", "remove-input", "remove-cell"}
HIDDEN_OUTPUT = {"hide-output", "hide-cell", "remove-output", "remove-cell"}
# _config.yml's nb_mime_priority_overrides for HTML, best first: what the page shows of an
# output. The first four are drawn, not read.
MIME_PRIORITY = [
    "application/javascript",
    "text/html",
    "application/vnd.jupyter.widget-view+json",
    "image/svg+xml",
    "image/png",
    "image/gif",
    "image/jpeg",
    "text/markdown",
    "text/latex",
    "text/plain",
]
READ_MIMES = {"text/markdown", "text/latex", "text/plain"}
CODE_DIRECTIVES = {"code", "code-block", "code-cell", "sourcecode"}
# directives whose content the page shows folded (as does an admonition of class dropdown)
COLLAPSED = {"dropdown", "toggle"}
# a literalinclude option that cuts the file otherwise than :pyobject: is not read here
UNSUPPORTED_INCLUDE = {"lines", "start-after", "start-at", "end-before", "end-at"}

FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,}|:{3,})\s*(?P<info>.*?)\s*$")
DIRECTIVE = re.compile(r"^\{(?P<name>[\w:-]+)\}\s*(?P<argument>.*)$")
OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")
WORD = re.compile(r"[^\W_]")  # a letter or a digit


@dataclass(frozen=True)
class Count:
    words: int = 0
    code: int = 0

    def __add__(self, other: Count) -> Count:
        return Count(self.words + other.words, self.code + other.code)


@dataclass(frozen=True)
class PageTime:
    page: str  # the notebook's file name
    words: int
    code: int
    minutes: int


def count_words(text: str) -> int:
    """Words of prose: link targets, HTML tags and comments dropped; a word holds a letter or
    a digit."""
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<[^>]*>", " ", text)
    return sum(1 for token in text.split() if WORD.search(token))


def count_code(lines: list[str]) -> int:
    """Lines of code that are not blank."""
    return sum(1 for line in lines if line.strip())


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (
        len(stripped) >= len(fence)
        and set(stripped) == {fence[0]}
        and stripped.startswith(fence)
    )


def pyobject_lines(source: str, name: str) -> list[str]:
    """The lines of the class or function ``name`` (dotted for a method) in ``source``,
    decorators included, as Sphinx's ``:pyobject:`` cuts them."""
    node: ast.AST = ast.parse(source)
    for part in name.split("."):
        matches = [
            child
            for child in ast.iter_child_nodes(node)
            if isinstance(
                child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
            )
            and child.name == part
        ]
        if not matches:
            raise ValueError(f"literalinclude: no {name!r} in the included file")
        node = matches[0]
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return source.splitlines()[start - 1 : node.end_lineno]


def _include(argument: str, options: dict[str, str], base: Path) -> list[str]:
    """The lines a ``{literalinclude}`` shows; ``base`` is the folder of the page."""
    unsupported = UNSUPPORTED_INCLUDE & options.keys()
    if unsupported:
        raise ValueError(
            f"literalinclude {argument}: options {sorted(unsupported)}"
        )
    path = (
        REPO / argument.lstrip("/")
        if argument.startswith("/")
        else base / argument
    )
    source = path.read_text(encoding="utf-8")
    if "pyobject" in options:
        return pyobject_lines(source, options["pyobject"])
    return source.splitlines()


@dataclass(frozen=True)
class _Block:
    """An open directive whose content is markdown."""

    fence: str
    # folded, here or by a block around it: nothing inside is in view
    hidden: bool
    # a solution, here or around it: its code does not count
    solution: bool


def _options(lines: list[str], start: int) -> tuple[dict[str, str], int]:
    """A directive's options from ``lines[start]`` on, and the index after them."""
    options = {}
    while start < len(lines) and (option := OPTION.match(lines[start])):
        options[option["key"]] = option["value"]
        start += 1
    return options, start


def _fenced(lines: list[str], start: int, fence: str) -> int:
    """The index of the line that closes a fence opened just before ``start``."""
    while start < len(lines) and not _closes(lines[start], fence):
        start += 1
    return start


def count_markdown(text: str, base: Path = BOOK) -> Count:
    """Words and code lines in view of MyST markdown (a markdown cell, or markdown that a
    cell displays); ``base`` is the folder of its page."""
    lines = text.splitlines()
    words = code = 0
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        hidden = any(block.hidden for block in blocks)
        solution = any(block.solution for block in blocks)
        if blocks and _closes(line, blocks[-1].fence):
            blocks.pop()
            i += 1
            continue
        match = FENCE.match(line)
        directive = DIRECTIVE.match(match["info"]) if match else None
        if not match or (match["fence"][0] == ":" and not directive):
            words += 0 if hidden else count_words(line)
            i += 1
            continue
        fence = match["fence"]
        name = directive["name"] if directive else None
        argument = directive["argument"] if directive else ""
        if fence[0] != ":" and (directive is None or name in CODE_DIRECTIVES):
            end = _fenced(lines, i + 1, fence)
            start = _options(lines, i + 1)[1] if directive else i + 1
            if not hidden and not solution:
                code += count_code(lines[start:end])
            i = end + 1
            continue
        options, start = _options(lines, i + 1)
        if name == "literalinclude":
            if not hidden and not solution:
                code += count_code(_include(argument, options, base))
            i = _fenced(lines, start, fence) + 1
            continue
        # a directive whose content is markdown: a dropdown, a note, an admonition
        words += 0 if hidden else count_words(argument)
        collapsed = (
            name in COLLAPSED or "dropdown" in options.get("class", "").split()
        )
        blocks.append(
            _Block(
                fence,
                hidden=hidden or collapsed,
                solution=solution or argument.lower().startswith("solution"),
            )
        )
        i = start
    return Count(words, code)


def count_output(output: dict, base: Path = BOOK) -> Count:
    """What the page shows of one output: words, or code where markdown shows a code
    block."""
    kind = output["output_type"]
    if kind == "stream":
        return Count(count_words(_text(output["text"])), 0)
    if kind == "error":
        return Count(count_words(f"{output['ename']}: {output['evalue']}"), 0)
    data = output.get("data", {})
    shown = next((mime for mime in MIME_PRIORITY if mime in data), None)
    if shown not in READ_MIMES:
        return Count()
    if shown == "text/markdown":
        return count_markdown(_text(data[shown]), base)
    return Count(count_words(_text(data[shown])), 0)


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def count_notebook(path: Path) -> Count:
    """Words and code lines in view of one stored notebook."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    total = Count()
    for cell in notebook["cells"]:
        source = _text(cell["source"])
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] == "markdown":
            total += count_markdown(source, Path(path).parent)
        elif cell["cell_type"] == "code":
            if not tags & HIDDEN_INPUT:
                total += Count(0, count_code(source.splitlines()))
            if not tags & HIDDEN_OUTPUT:
                for output in cell.get("outputs", []):
                    total += count_output(output, Path(path).parent)
    return total


def minutes(count: Count) -> int:
    """words / 150 + code lines / 10, to the nearest 5 minutes (halves up), 5 at least."""
    per = WORDS_PER_MINUTE // CODE_LINES_PER_MINUTE
    units = count.words + per * count.code  # in 1/150 of a minute
    fives = (2 * units + 5 * WORDS_PER_MINUTE) // (10 * WORDS_PER_MINUTE)
    return max(5, 5 * fives)


def pages(book: Path = BOOK) -> list[Path]:
    """The book's notebooks: the first page, then the chapters in order."""
    return [book / START_PAGE] + sorted(book.glob("[0-9][0-9]_*.ipynb"))


def reading_times(book: Path = BOOK) -> dict[str, PageTime]:
    """{notebook file name: its words, code lines and minutes}."""
    times = {}
    for path in pages(book):
        count = count_notebook(path)
        times[path.name] = PageTime(
            path.name, count.words, count.code, minutes(count)
        )
    return times


ROW = re.compile(
    r"^(?P<head>\|.*?\]\((?P<page>[\w.-]+\.ipynb)\).*\|[ \t]*)(?P<minutes>\d+)"
    r"(?P<tail> min[ \t]*\|[ \t]*)$",
    re.M,
)
START = re.compile(
    r"(?P<head>\*\*Start here\*\* \()(?P<minutes>\d+)(?P<tail> minutes\))"
)


def stated_times(intro: str) -> dict[str, list[int]]:
    """{notebook file name: the minutes the intro states for it}: its table row's, and for
    the first page also "Start here"'s."""
    stated: dict[str, list[int]] = {}
    for row in ROW.finditer(intro):
        stated.setdefault(row["page"], []).append(int(row["minutes"]))
    for start in START.finditer(intro):
        stated.setdefault(START_PAGE, []).append(int(start["minutes"]))
    return stated


def rewrite_intro(intro: str, times: dict[str, PageTime]) -> str:
    """The intro with each table row's and "Start here"'s minutes set to ``times``."""

    def row(match: re.Match) -> str:
        time = times.get(match["page"])
        if time is None:
            return match[0]
        return f"{match['head']}{time.minutes}{match['tail']}"

    text = ROW.sub(row, intro)
    if START_PAGE in times:
        first = times[START_PAGE].minutes
        text = START.sub(lambda m: f"{m['head']}{first}{m['tail']}", text)
    return text


def differences(intro: str, times: dict[str, PageTime]) -> list[str]:
    """Where the intro's stated minutes differ from ``times``, one line each; empty when
    they agree."""
    stated = stated_times(intro)
    found = []
    for page, time in times.items():
        if page not in stated:
            found.append(f"{page}: no table row in book/intro.md states its time")
        for said in stated.get(page, []):
            if said != time.minutes:
                found.append(
                    f"{page}: book/intro.md says {said} min, the rule gives {time.minutes}"
                )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help="put the minutes into book/intro.md"
    )
    args = parser.parse_args(argv)

    times = reading_times()
    intro = INTRO.read_text(encoding="utf-8")
    stated = stated_times(intro)
    print(f"{'page':40s} {'words':>6s} {'code':>5s} {'minutes':>7s}  intro")
    for time in times.values():
        said = ", ".join(str(m) for m in stated.get(time.page, [])) or "-"
        agrees = set(stated.get(time.page, [])) == {time.minutes}
        mark = "" if agrees else "  <- differs"
        print(
            f"{time.page:40s} {time.words:6d} {time.code:5d} {time.minutes:7d}  "
            f"{said}{mark}"
        )
    found = differences(intro, times)
    if args.write:
        new = rewrite_intro(intro, times)
        if new != intro:
            INTRO.write_text(new, encoding="utf-8")
        print(f"\nbook/intro.md: {len(found)} time(s) rewritten")
    elif found:
        print(
            f"\nbook/intro.md differs in {len(found)} place(s): run with --write"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
