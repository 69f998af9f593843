"""Every file a page of the book loads comes with the book: no CDN, so a page read offline is whole.

- ``_vendor/`` (MathJax, the Jupyter widget manager; see ``_vendor/README.md``) is served under
  ``_static/``. It is added here, after Jupyter Book has read the configuration, because Jupyter
  Book adds every ``.js`` file of a static folder to every page, and these must load only where
  they are used: MathJax where a page has math (Sphinx's ``mathjax_path``), the widget manager
  where a page shows a widget (myst-nb's ``nb_ipywidgets_js``).
- myst-nb adds the widget manager and the widgets' stored state to every page whose notebook
  holds widget state, also when no cell output displays a widget (the package's widgets store an
  HTML picture that the page shows instead). Such a page gets neither.
- matplotlib's animations (``to_jshtml``) link Font Awesome 4.4.0 from a CDN for their buttons'
  icons. The theme's own Font Awesome draws those icons already, so the link is dropped.
"""
from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
FONT_AWESOME_CDN = re.compile(
    r'<link\s+rel="stylesheet"\s+href="https://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*"\s*/?>\s*')


def add_vendored_files(app) -> None:
    folder = Path(app.confdir) / "_vendor"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is missing: the book's MathJax and widget manager live there "
                                "(see _vendor/README.md)")
    app.config.html_static_path.append(str(folder))


def drop_unused_widget_manager(app, pagename, templatename, context, doctree) -> None:
    if doctree is None or WIDGET_VIEW in context.get("body", ""):
        return
    manager = {name if "://" in name else f"_static/{name}" for name in app.config.nb_ipywidgets_js}
    context["script_files"][:] = [
        js for js in context["script_files"]
        if getattr(js, "filename", None) not in manager
        and getattr(js, "attributes", {}).get("type") != WIDGET_STATE
    ]


class DropFontAwesomeCdn(SphinxPostTransform):
    default_priority = 300  # after myst-nb has chosen what each output shows (its priority 4)

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(nodes.raw)):
            text = node.astext()
            if "html" in node.get("format", "").split() and FONT_AWESOME_CDN.search(text):
                node.clear()
                node += nodes.Text(FONT_AWESOME_CDN.sub("", text))


def setup(app):
    app.add_post_transform(DropFontAwesomeCdn)
    app.connect("builder-inited", add_vendored_files)
    app.connect("html-page-context", drop_unused_widget_manager, priority=900)  # after myst-nb adds them
    return {"parallel_read_safe": True, "parallel_write_safe": True}
