"""Every image of the book gets alt text that says what it shows: its caption, not its file name.

An image a cell draws has no alt text of its own (the HTML writer then falls back to the file's
path). The book captions every figure (tests/test_book_html.py's caption rule): a line starting
"Figure" later in the cell's output, or the paragraph right after the cell ("Figure 2: what to
see" or "**Figure 2.** What to see"). That caption becomes the alt text of each image of the cell,
"Figure 2 (image 1 of 3): what to see" where one caption covers several. Without such a caption,
the paragraph after the cell describes the picture; an image with neither is a build warning.

Images a cell draws as HTML (a matplotlib animation's frames) are given the same alt text; a
markdown image or a figure keeps the alt text its author wrote, and gets its caption where it has
none.
"""
from __future__ import annotations

import html
import re

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

CAPTION = re.compile(r"^\s*(Figure\s+\d+[a-z]?)\s*[.:]?\s*")
HTML_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt\s*=)", re.IGNORECASE)
MAX_ALT = 400  # characters; a longer caption is cut at the end of a sentence


def _text(node: nodes.Node) -> str:
    """``node``'s text on one line, math as plain words (``\\log D(x)`` reads "log D(x)")."""
    parts = []
    for part in node.findall(lambda n: isinstance(n, (nodes.Text, nodes.math))):
        if isinstance(part, nodes.math):
            parts.append(re.sub(r"[{}]", "", re.sub(r"\\([A-Za-z]+)", r"\1", part.astext())))
        elif not any(isinstance(p, nodes.math) for p in _parents(part)):
            parts.append(part.astext())
    return " ".join("".join(parts).split())


def _parents(node: nodes.Node):
    while node.parent is not None:
        node = node.parent
        yield node


def _shorten(text: str) -> str:
    if len(text) <= MAX_ALT:
        return text
    cut = max(text.rfind(". ", 0, MAX_ALT), text.rfind("; ", 0, MAX_ALT))
    return text[:cut + 1] if cut > MAX_ALT // 3 else text[:MAX_ALT - 1].rstrip() + "…"


def _alt(caption: str, index: int, count: int) -> str:
    """The alt text of image ``index`` (from 0) of ``count`` that one caption covers."""
    part = f" (image {index + 1} of {count})" if count > 1 else ""
    match = CAPTION.match(caption)
    if match:
        return _shorten(f"{match.group(1)}{part}: {caption[match.end():]}")
    return _shorten(f"Image {index + 1} of {count}: {caption}" if count > 1 else caption)


def _is_cell(node: nodes.Node) -> bool:
    return isinstance(node, nodes.container) and "cell" in node.get("classes", [])


def _is_output(node: nodes.Node) -> bool:
    return isinstance(node, nodes.container) and "cell_output" in node.get("classes", [])


def _needs_alt(node: nodes.Node) -> bool:
    if isinstance(node, nodes.image):
        return not node.get("alt")
    return isinstance(node, nodes.raw) and "html" in node.get("format", "").split() and bool(
        HTML_IMG_WITHOUT_ALT.search(node.astext()))


def _cell_caption(cell: nodes.Element, last_image: nodes.Node) -> str | None:
    """The caption of a cell's images: a "Figure" line after them in its output, else the paragraph
    after the cell (a caption when it starts with "Figure", else the text that describes them)."""
    seen = False
    for node in cell.findall(lambda n: n is last_image or isinstance(n, (nodes.paragraph, nodes.literal_block))):
        if node is last_image:
            seen = True
        elif seen and any(_is_output(p) for p in _parents(node)):
            for line in node.astext().splitlines():
                if CAPTION.match(line):
                    return " ".join(line.split())
    after = cell.next_node(descend=False, siblings=True, ascend=False)
    if isinstance(after, nodes.paragraph):
        return _text(after)
    return None


def _own_caption(image: nodes.image) -> str | None:
    """A markdown image's caption: its figure's, or the rest of its paragraph, or the next paragraph."""
    figure = next((p for p in _parents(image) if isinstance(p, nodes.figure)), None)
    if figure is not None:
        caption = next(iter(figure.findall(nodes.caption)), None)
        return _text(caption) if caption is not None else None
    paragraph = next((p for p in _parents(image) if isinstance(p, nodes.paragraph)), None)
    if paragraph is not None and _text(paragraph):
        return _text(paragraph)
    block = paragraph if paragraph is not None else image
    after = block.next_node(descend=False, siblings=True, ascend=False)
    return _text(after) if isinstance(after, nodes.paragraph) else None


class FigureAltText(SphinxPostTransform):
    default_priority = 300  # after myst-nb has chosen what each output shows (its priority 4)

    def run(self, **kwargs) -> None:
        done = set()
        for cell in list(self.document.findall(_is_cell)):
            images = [n for output in cell.findall(_is_output) for n in output.findall(_needs_alt)]
            if not images:
                continue
            caption = _cell_caption(cell, images[-1])
            count = sum(len(HTML_IMG_WITHOUT_ALT.findall(n.astext())) if isinstance(n, nodes.raw) else 1
                        for n in images)
            index = 0
            for node in images:
                done.add(node)
                if caption is None:
                    logger.warning("an image in a cell's output has no caption: give it one (a paragraph "
                                   "after the cell starting 'Figure N:')", location=node)
                elif isinstance(node, nodes.image):
                    node["alt"] = _alt(caption, index, count)
                    index += 1
                else:
                    text = node.astext()
                    node.clear()
                    node += nodes.Text(self._alt_raw(text, caption, index, count))
                    index += len(HTML_IMG_WITHOUT_ALT.findall(text))
        for image in list(self.document.findall(nodes.image)):
            if image in done or image.get("alt"):
                continue
            caption = _own_caption(image)
            if caption:
                image["alt"] = _alt(caption, 0, 1)
            else:
                logger.warning("an image has no alt text and no caption: write ![what it shows](path)",
                               location=image)

    @staticmethod
    def _alt_raw(text: str, caption: str, index: int, count: int) -> str:
        counter = iter(range(index, index + count))
        return HTML_IMG_WITHOUT_ALT.sub(
            lambda m: f'{m.group(0)} alt="{html.escape(_alt(caption, next(counter), count), quote=True)}"', text)


def setup(app):
    app.add_post_transform(FigureAltText)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
