"""The book: chapters executed with real outputs, code shown equal to the package, and the
rendered HTML opened in a real (headless) browser."""

import ast
import json
import os
import re
from pathlib import Path
from urllib.parse import urljoin, urlparse
from urllib.request import urlopen

import pytest
import yaml
from book_browser import build_book, open_page, serve, start_browser

from dcgan_tutorial.viz import show_code

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = [
    "00_gans_in_2d",
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
# the table of contents around the chapters: the whole method on one page first, the closing page last
BEFORE_CHAPTERS, AFTER_CHAPTERS = ["dcgan_in_80_lines"], ["whats_next"]
NOTEBOOKS = [
    *BEFORE_CHAPTERS,
    *CHAPTERS,
]  # every page that is a notebook (whats_next.md is not)


def _notebook(name):
    return json.loads((REPO / "book" / f"{name}.ipynb").read_text())


def _code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _source(cell):
    return "".join(cell["source"])


def test_toc_lists_the_chapters_in_order():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    assert toc["root"] == "book/intro"
    assert [c["file"] for c in toc["chapters"]] == [
        f"book/{c}" for c in [*BEFORE_CHAPTERS, *CHAPTERS, *AFTER_CHAPTERS]
    ]
    for name in CHAPTERS:
        assert (REPO / "book" / f"{name}.ipynb").is_file()


def test_config_renders_stored_outputs_with_colab_buttons_and_widgets():
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert (
        config["launch_buttons"]["colab_url"]
        == "https://colab.research.google.com"
    )
    assert config["repository"]["url"].startswith("https://github.com/")
    priorities = config["sphinx"]["config"]["nb_mime_priority_overrides"]
    rank = {
        mime: priority for _, mime, priority in priorities
    }  # lower: preferred
    # the package's widgets store a picture (text/html) too: the page shows it, not inert controls
    assert (
        rank["text/html"]
        < rank["application/vnd.jupyter.widget-view+json"]
        < rank["text/plain"]
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_chapter_is_executed_with_figures_and_no_errors(name):
    nb = _notebook(name)
    cells = _code_cells(nb)
    assert all(c.get("execution_count") for c in cells), (
        "every code cell has been run"
    )
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert not [
        o
        for o in outputs
        if o.get("name") == "stderr" and "Traceback" in "".join(o["text"])
    ]
    images = [
        o
        for o in outputs
        if "image/png" in o.get("data", {})
        or "image/gif" in o.get("data", {})
        or "<img" in "".join(o.get("data", {}).get("text/html", ""))
    ]
    assert images, "at least one stored figure"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_chapter_opens_with_goals_and_closes_with_summary_and_exercises(name):
    nb = _notebook(name)
    markdown = [_source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert markdown[0].lstrip().startswith("# ")
    assert "learn" in markdown[0].lower()
    text = "\n".join(markdown)
    assert re.search(r"^#+ .*Summary", text, re.M) and re.search(
        r"^#+ .*Exercises", text, re.M
    )


@pytest.mark.parametrize("name", CHAPTERS)
def test_first_code_cell_installs_seeds_and_picks_device(name):
    url = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]
    first = _source(_code_cells(_notebook(name))[0])
    assert first == _source(_code_cells(_notebook("01_what_are_gans"))[0]), (
        "every chapter starts with the same cell"
    )
    assert 'find_spec("dcgan_tutorial") is None' in first
    # lower bounds only (pyproject.toml): nothing Colab has already imported is replaced
    assert f'%pip install --quiet "dcgan_tutorial[notebook] @ git+{url}"' in first
    assert (
        "chapter = start_chapter(seed=0)" in first
        and "device, QUICK = chapter.device, chapter.quick" in first
    )
    assert "import *" not in "".join(
        _source(c) for c in _code_cells(_notebook(name))
    )


def test_chapters_read_nothing_outside_their_folder():
    """Colab opens a chapter alone: what it reads comes with the package (or it makes it)."""
    for name in CHAPTERS:
        for cell in _code_cells(_notebook(name)):
            assert "../" not in _source(cell), (
                f"{name} reads outside its folder: {_source(cell)[:200]}"
            )


def test_the_dependencies_pin_nothing_colab_has_imported():
    project = __import__("tomllib").loads((REPO / "pyproject.toml").read_text())[
        "project"
    ]
    for requirement in [
        *project["dependencies"],
        *project["optional-dependencies"]["notebook"],
    ]:
        assert (
            "==" not in requirement
            and "<" not in requirement
            and "~=" not in requirement
        ), requirement


def _package_imports(nb) -> str:
    """The chapter's ``import dcgan_tutorial...`` / ``from dcgan_tutorial... import ...`` statements."""
    lines = []
    for cell in _code_cells(nb):
        source = "\n".join(
            line
            for line in _source(cell).splitlines()
            if not line.lstrip().startswith(("%", "!"))
        )
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (
                node.module or ""
            ).startswith("dcgan_tutorial"):
                lines.append(ast.unparse(node))
            elif isinstance(node, ast.Import) and any(
                a.name.startswith("dcgan_tutorial") for a in node.names
            ):
                lines.append(ast.unparse(node))
    return "\n".join(lines)


def _shown_code_cells():
    for name in CHAPTERS:
        nb = _notebook(name)
        imports = _package_imports(nb)
        for cell in _code_cells(nb):
            match = re.fullmatch(r"show_code\((.+)\)", _source(cell).strip())
            if match:
                yield name, imports, match.group(1), cell


def test_every_chapter_from_three_on_shows_package_code():
    shown = {name for name, *_ in _shown_code_cells()}
    assert {
        "03_the_generator",
        "04_the_discriminator",
        "05_the_losses",
        "06_training_on_a_gpu",
    } <= shown


@pytest.mark.parametrize(
    "name, imports, expr, cell",
    list(_shown_code_cells()),
    ids=lambda v: v if isinstance(v, str) and len(v) < 60 else "",
)
def test_shown_code_is_the_package_code(name, imports, expr, cell):
    namespace = {}
    exec(
        "import dcgan_tutorial\nimport dcgan_tutorial.models, dcgan_tutorial.losses, dcgan_tutorial.train, "
        "dcgan_tutorial.data, dcgan_tutorial.viz, dcgan_tutorial.sample, dcgan_tutorial.checkpoint\n"
        + imports,
        namespace,
    )
    expected = show_code(eval(expr, namespace)).data
    stored = [
        "".join(o["data"]["text/markdown"])
        for o in cell["outputs"]
        if "text/markdown" in o.get("data", {})
    ]
    assert stored == [expected], (
        f"{name}: the shown code of {expr} differs from the package: re-run the chapter"
    )


# --- the rendered book, in a real browser ------------------------------------------------


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    return build_book(
        tmp_path_factory
    )  # one build per session, shared with test_live_page.py


@pytest.fixture(scope="module")
def served_book(built_book):
    url, server = serve(built_book)
    yield url
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chrome-profile"))
    yield driver
    driver.quit()


def test_book_builds_and_every_chapter_renders_in_a_browser(
    built_book, served_book, browser, tmp_path
):
    titles = {}
    for name in ["intro", *NOTEBOOKS, *AFTER_CHAPTERS]:
        is_notebook = (REPO / "book" / f"{name}.ipynb").is_file()
        nb_title = (
            _source(_notebook(name)["cells"][0]).splitlines()[0][2:].strip()
            if is_notebook
            else None
        )
        url = urljoin(served_book, f"book/{name}.html")
        open_page(browser, url, built_book)
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight);")
        h1 = browser.execute_script(
            "var h = document.querySelector('main h1, article h1'); "
            "return h ? h.textContent : null;"
        )
        assert h1, f"{name}: no title"
        titles[name] = h1.replace("#", "").strip()
        if nb_title:
            assert titles[name] == nb_title
        # every image in the page has loaded with a real size
        images = browser.execute_script(
            "return Array.from(document.querySelectorAll('main img, article img')).map(i => "
            "[i.currentSrc || i.src, i.complete, i.naturalWidth, i.naturalHeight]);"
        )
        if is_notebook:
            assert images, f"{name}: no figures"
        for src, complete, width, height in images:
            assert complete and width > 0 and height > 0, (
                f"{name}: image {src} did not load"
            )
        # every internal link resolves (the page, and the anchor when there is one)
        links = browser.execute_script(
            "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);"
        )
        for link in links:
            parsed = urlparse(link)
            if parsed.netloc != urlparse(served_book).netloc:
                continue
            target = link.split("#")[0]
            with urlopen(target) as response:
                assert response.status == 200, f"{name}: broken link {link}"
            if parsed.fragment and target.rstrip("/") == url.rstrip("/"):
                found = browser.execute_script(
                    "return document.getElementById(arguments[0]) !== null;",
                    parsed.fragment,
                )
                assert found, f"{name}: broken anchor {link}"
        colab = browser.execute_script(
            "return Array.from(document.querySelectorAll('a[href*=\"colab.research.google.com\"]')).map(a => a.href);"
        )
        if is_notebook:
            assert any(f"book/{name}.ipynb" in c for c in colab), (
                f"{name}: no Colab launch button"
            )
        shots = Path(
            os.environ.get("DCGAN_TUTORIAL_SCREENSHOTS", tmp_path)
        )  # set it to keep them
        shots.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(shots / f"{name}.png"))
    assert len(titles) == len(NOTEBOOKS) + len(AFTER_CHAPTERS) + 1


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _is_progress_bar(output):
    """tqdm's notebook progress bar (train_gan's, via tqdm.auto): no controls, nothing to use on the page."""
    return "".join(output["data"].get("text/plain", "")).startswith(
        ("training:", "  0%", "100%")
    )


def _widget_outputs(name):
    return [
        o
        for c in _code_cells(_notebook(name))
        for o in c.get("outputs", [])
        if WIDGET_VIEW in o.get("data", {}) and not _is_progress_bar(o)
    ]


def test_every_stored_widget_has_a_picture_for_the_page():
    """Where a chapter shows a widget, its output also holds a picture of what it drew (text/html)."""
    shown = {name: _widget_outputs(name) for name in CHAPTERS}
    assert (
        len(shown["08_experiments_with_widgets"]) >= 3
    )  # the panel twice, the explorer
    for name, outputs in shown.items():
        for output in outputs:
            figure = "".join(output["data"].get("text/html", ""))
            assert (
                'class="dcgan-widget-picture"' in figure
                and "data:image/png;base64," in figure
            ), (
                f"{name}: a widget without its picture, inert on the page "
                f"({''.join(output['data']['text/plain'])[:60]!r}): "
                "show it as the package's view (ShowsWidget), or show no widget (a text progress bar), then re-run"
            )


def test_the_page_shows_each_widget_as_a_picture_of_its_run_and_says_how_to_use_it(
    built_book, tmp_path_factory
):
    """Offline, as a reader without a kernel sees it: pictures that load, a sentence, no inert controls."""
    url, server = serve(built_book)
    browser = start_browser(
        tmp_path_factory.mktemp("chrome-offline"), offline=True
    )
    try:
        for name in CHAPTERS:
            expected = len(_widget_outputs(name))
            if not expected:
                continue
            open_page(browser, urljoin(url, f"book/{name}.html"), built_book)
            figures = browser.execute_script(
                "return Array.from(document.querySelectorAll('.dcgan-widget-picture')).map(f => {"
                "const i = f.querySelector('img'); return [i !== null && i.complete, i ? i.naturalWidth : 0, "
                "i ? i.naturalHeight : 0, f.textContent];});"
            )
            assert len(figures) == expected, (
                f"{name}: {len(figures)} widget pictures on the page, {expected} stored"
            )
            for complete, width, height, text in figures:
                assert complete and width >= 100 and height >= 100, (
                    f"{name}: a widget's picture did not load"
                )
                assert (
                    "controls work when the notebook runs" in text
                    and "Colab" in text
                )
            inert = browser.execute_script(
                "return document.querySelectorAll('.jupyter-widgets, .widget-button, .widget-slider, "
                'script[type="application/vnd.jupyter.widget-view+json"]\').length;'
            )
            assert inert == 0, (
                f"{name}: the page holds {inert} widget controls that cannot work without a kernel"
            )
    finally:
        browser.quit()
        server.shutdown()
