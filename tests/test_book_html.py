"""The built book's HTML: what a reader sees is rendered text, and every figure has a caption.

``jupyter-book build -W`` passes when a cell's Markdown output is left as raw text (a table shown
as ``| a | b |`` lines), so these tests read the built pages themselves.

Raw markdown: a page's visible text (the article, without code, math and permalink anchors) must
not contain a table's rule row (``| --- |``), ``**bold**`` markers, a ``:::`` or a backtick fence
at the start of a line, a ``[text](link)`` link, a ``# heading`` at the start of a line, or a role
such as ``{doc}`...```.

The caption rule, which every finished page follows. An image (``<img>``) in a page has a caption
when one of these holds:

1. it is inside a ``<figure>`` whose ``<figcaption>`` has text (a MyST ``{figure}`` directive);
2. it is in a cell's output, and after it comes a line of text starting with "Figure" or an
   element whose class contains "caption": later in the same cell's output, or in the first
   element after that cell (in a notebook: a markdown cell right after the code cell, starting
   ``Figure 2: what to see`` or ``**Figure 2.** What to see``);
3. it is a markdown image, and the rest of its paragraph or the next paragraph starts with "Figure".

One caption after a cell covers all the images of that cell's output.

Chapters are rewritten one at a time, so the raw-markdown and caption checks run over the pages
listed in ``FINISHED_PAGES``: a page that meets the rules is added there (its name, as in
``_toc.yml`` without ``book/``). The table check runs over every page of the book.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from book_browser import REPO, build_book, toc_pages
from bs4 import BeautifulSoup

FINISHED_PAGES = [
    "intro",
    "dcgan_in_80_lines",
    "whats_next",
    "01_what_are_gans",
    "02_loading_the_data",
    "03_the_generator",
    "04_the_discriminator",
    "05_the_losses",
    "06_training_on_a_gpu",
    "07_results",
    "08_experiments_with_widgets",
    "09_architectures_and_datasets",
    "10_conditional_generation",
    "11_troubleshooting",
    "12_what_actually_helps",
    "13_colour_emoji",
]

RAW_MARKDOWN = {
    # Sphinx's smart quotes turn "--" into an en dash, so a rendered rule row reads |:–|–:|
    "a table rule row": re.compile(r"\|\s*:?[-\u2013\u2014]+:?\s*\|"),
    "**bold** markers": re.compile(r"\*\*[^\s*][^*\n]*\*\*"),
    "a ::: fence": re.compile(r"^\s*:::", re.M),
    "a ``` fence": re.compile(r"^\s*```", re.M),
    "a [text](link) link": re.compile(
        r"\[[^\]\n]+\]\((?:https?://|[\w./#-]+)[^)\s]*\)"
    ),
    "a # heading": re.compile(r"^#{1,6} \S", re.M),
    "a {role}`...`": re.compile(r"\{[a-z][\w:-]*\}`"),
}
NOT_TEXT = "pre, code, script, style, math, .math, .MathJax, mjx-container, .cell_input, a.headerlink, .highlight"
TABLE_RULE = re.compile(
    r"^\s*\|?\s*:?-+:?\s*\|", re.M
)  # in a notebook's stored markdown


def article(html: str) -> BeautifulSoup:
    """The page's main content (the article; the whole page when there is none)."""
    soup = BeautifulSoup(html, "html.parser")
    return (
        soup.select_one("article.bd-article")
        or soup.select_one("article")
        or soup
    )


def visible_text(node) -> str:
    """The text a reader reads: without code, math and permalink anchors; one line per element."""
    node = BeautifulSoup(
        str(node), "html.parser"
    )  # a copy: removing parts must not change the page
    for hidden in node.select(NOT_TEXT):
        hidden.decompose()
    return node.get_text("\n")


def raw_markdown(node) -> list[str]:
    """What looks like markdown left unrendered in ``node``'s visible text: 'kind: the line'."""
    text = visible_text(node)
    found = []
    for kind, pattern in RAW_MARKDOWN.items():
        for match in pattern.finditer(text):
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.end())
            line = f"{kind}: {text[start : end if end >= 0 else None].strip()[:120]!r}"
            if line not in found:  # one report per line
                found.append(line)
    return found


def _is_caption(element) -> bool:
    if element is None or not hasattr(element, "get"):
        return False
    classes = " ".join(element.get("class") or [])
    return "caption" in classes or element.get_text(" ", strip=True).startswith(
        "Figure"
    )


def _text_after(img, container) -> str:
    """The text after ``img`` inside ``container``."""
    parts = []
    for element in img.next_elements:
        if container not in element.parents:
            break
        if isinstance(element, str):
            parts.append(element)
        elif "caption" in " ".join(element.get("class") or []):
            parts.append(
                "\nFigure"
            )  # an element marked as a caption counts as one
    return "".join(parts)


def has_caption(img) -> bool:
    """Whether ``img`` has a caption by the rule in this module's docstring."""
    figure = img.find_parent("figure")
    if (
        figure is not None
        and figure.find("figcaption")
        and figure.find("figcaption").get_text(strip=True)
    ):
        return True  # rule 1
    output = img.find_parent(class_="cell_output")
    if output is not None:  # rule 2
        if any(
            line.strip().startswith("Figure")
            for line in _text_after(img, output).splitlines()
        ):
            return True
        cell = output.find_parent(class_="cell")
        return _is_caption(cell.find_next_sibling() if cell is not None else None)
    block = img.find_parent(["p", "div"])  # rule 3
    if block is None:
        return False
    return _text_after(img, block).strip().startswith("Figure") or _is_caption(
        block.find_next_sibling()
    )


def uncaptioned_images(node) -> list[str]:
    """The ``src`` (shortened) of every image in ``node`` without a caption."""
    return [
        str(img.get("src", ""))[:80]
        for img in node.find_all("img")
        if not has_caption(img)
    ]


# --- the checks themselves, on small pages --------------------------------------------------

CELL = (
    '<div class="cell docutils container"><div class="cell_input docutils container"><pre>plt.show()</pre>'
    '</div><div class="cell_output docutils container">{output}</div></div>{after}'
)


def _page(body: str) -> BeautifulSoup:
    return article(
        f'<html><body><article class="bd-article"><section>{body}</section></article></body></html>'
    )


@pytest.mark.parametrize(
    "text, kind",
    [
        (
            "<p>| step | loss |\n| --- | --- |\n| 1 | 0.7 |</p>",
            "a table rule row",
        ),
        ("<p>| step | loss |\n|:–|–:|\n| 1 | 0.7 |</p>", "a table rule row"),
        ("<p>the **generator** draws</p>", "**bold** markers"),
        ("<p>:::{dropdown} Solution</p>", "a ::: fence"),
        ("<p>```python</p>", "a ``` fence"),
        (
            "<p>see [the paper](https://arxiv.org/abs/1511.06434)</p>",
            "a [text](link) link",
        ),
        ("<p>## Summary</p>", "a # heading"),
        ("<p>{doc}`intro`</p>", "a {role}`...`"),
    ],
)
def test_raw_markdown_is_found(text, kind):
    found = raw_markdown(_page(text))
    assert found and found[0].startswith(kind), found


def test_rendered_markdown_and_code_are_not_raw():
    page = _page(
        '<h1>Title<a class="headerlink" href="#t">#</a></h1><p>the <strong>generator</strong>, '
        '<a href="https://arxiv.org">the paper</a>, $|x|$ is <span class="math">\\(|x|\\)</span></p>'
        "<table><tr><td>1</td></tr></table><pre>x = a ** 2  # | --- |\n```</pre><p>a - b | c</p>"
    )
    assert raw_markdown(page) == []


@pytest.mark.parametrize(
    "body",
    [
        CELL.format(
            output='<img src="a.png"/>', after="<p>Figure 1: D's loss falls.</p>"
        ),
        CELL.format(
            output='<img src="a.png"/><img src="b.png"/>',
            after="<p><strong>Figure 2.</strong> Left, right.</p>",
        ),
        CELL.format(
            output='<img src="a.png"/><pre>Figure 3: printed by the cell</pre>',
            after="",
        ),
        CELL.format(
            output='<img src="a.png"/><p class="caption">what to see</p>',
            after="",
        ),
        '<figure><img src="a.png"/><figcaption><p>Figure 4: digits</p></figcaption></figure>',
        '<p><img src="a.png"/></p><p>Figure 5: a markdown image</p>',
    ],
)
def test_captioned_images_pass(body):
    assert uncaptioned_images(_page(body)) == []


@pytest.mark.parametrize(
    "body",
    [
        CELL.format(output='<img src="a.png"/>', after="<p>The loss falls.</p>"),
        CELL.format(output='<img src="a.png"/>', after=""),
        CELL.format(
            output='<pre>Figure 1 comes next</pre><img src="a.png"/>',
            after="<h2>Next section</h2>",
        ),
        '<figure><img src="a.png"/><figcaption></figcaption></figure>',
        '<p><img src="a.png"/></p><p>Some text.</p>',
    ],
)
def test_images_without_a_caption_fail(body):
    assert uncaptioned_images(_page(body)) == ["a.png"]


def test_intro_picture_is_the_shipped_generator():
    """book/images/intro_digits.png is what scripts/intro_grid.py draws today (re-run it when the generator changes)."""
    import runpy

    import numpy as np
    from PIL import Image

    intro_grid = runpy.run_path(str(REPO / "scripts" / "intro_grid.py"))[
        "intro_grid"
    ]
    stored = np.asarray(
        Image.open(REPO / "book" / "images" / "intro_digits.png").convert("L"),
        dtype=np.int16,
    )
    drawn = (
        intro_grid(n=64, seed=0, scale=3)[0].numpy().astype(np.int16)
    )  # the script's defaults
    assert stored.shape == drawn.shape
    assert np.abs(stored - drawn).max() <= 1, (
        "the intro's picture is not today's shipped generator: run scripts/intro_grid.py"
    )


# --- the built book ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    return build_book(
        tmp_path_factory
    )  # one build per test session, shared with test_book.py


def _html(built: Path, name: str) -> BeautifulSoup:
    return article((built / "book" / f"{name}.html").read_text())


def _markdown_tables(name: str) -> int:
    """How many code-cell outputs of a notebook display a markdown table."""
    path = REPO / "book" / f"{name}.ipynb"
    if not path.is_file():
        return 0
    outputs = [
        o
        for c in json.loads(path.read_text())["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    ]
    return sum(
        len(
            TABLE_RULE.findall(
                "".join(o.get("data", {}).get("text/markdown", ""))
            )
        )
        for o in outputs
    )


def test_finished_pages_are_in_the_book():
    pages = [p.removeprefix("book/") for p in toc_pages()]
    assert [p for p in FINISHED_PAGES if p not in pages] == []


@pytest.mark.parametrize("name", [p.removeprefix("book/") for p in toc_pages()])
def test_computed_tables_render_as_tables(built_book, name):
    page = _html(built_book, name)
    raw = [f for f in raw_markdown(page) if f.startswith("a table rule row")]
    assert raw == [], (
        f"{name}: tables shown as raw text (is nb_render_markdown_format: myst set?): {raw}"
    )
    in_outputs = sum(
        len(o.find_all("table")) for o in page.select(".cell_output")
    )
    assert in_outputs >= _markdown_tables(name), (
        f"{name}: a cell's markdown table is not rendered as <table>"
    )


@pytest.mark.parametrize("name", FINISHED_PAGES)
def test_finished_page_shows_no_raw_markdown(built_book, name):
    assert raw_markdown(_html(built_book, name)) == []


@pytest.mark.parametrize("name", FINISHED_PAGES)
def test_finished_page_captions_every_figure(built_book, name):
    page = _html(built_book, name)
    assert uncaptioned_images(page) == [], (
        f"{name}: images without a caption (see the rule in "
        f"tests/test_book_html.py)"
    )
