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

from book_browser import build_book, serve, start_browser
from dcgan_tutorial.viz import show_code

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = ["00_gans_in_2d", "01_what_are_gans", "02_loading_the_data", "03_the_generator",
            "04_the_discriminator", "05_the_losses", "06_training_on_a_gpu", "07_results", "08_experiments_with_widgets",
            "09_architectures_and_datasets", "10_conditional_generation", "11_troubleshooting"]


def _notebook(name):
    return json.loads((REPO / "book" / f"{name}.ipynb").read_text())


def _code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _source(cell):
    return "".join(cell["source"])


def test_toc_lists_the_chapters_in_order():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    assert toc["root"] == "book/intro"
    assert [c["file"] for c in toc["chapters"]] == [f"book/{c}" for c in CHAPTERS]
    for name in CHAPTERS:
        assert (REPO / "book" / f"{name}.ipynb").is_file()


def test_config_renders_stored_outputs_with_colab_buttons_and_widgets():
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert config["repository"]["url"].startswith("https://github.com/")
    priorities = config["sphinx"]["config"]["nb_mime_priority_overrides"]
    assert ["html", "application/vnd.jupyter.widget-view+json", 10] in priorities


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_is_executed_with_figures_and_no_errors(name):
    nb = _notebook(name)
    cells = _code_cells(nb)
    assert all(c.get("execution_count") for c in cells), "every code cell has been run"
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert not [o for o in outputs if o.get("name") == "stderr" and "Traceback" in "".join(o["text"])]
    images = [o for o in outputs if "image/png" in o.get("data", {}) or "image/gif" in o.get("data", {})
              or "<img" in "".join(o.get("data", {}).get("text/html", ""))]
    assert images, "at least one stored figure"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_opens_with_goals_and_closes_with_summary_and_exercises(name):
    nb = _notebook(name)
    markdown = [_source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert markdown[0].lstrip().startswith("# ")
    assert "learn" in markdown[0].lower()
    text = "\n".join(markdown)
    assert re.search(r"^#+ .*Summary", text, re.M) and re.search(r"^#+ .*Exercises", text, re.M)


@pytest.mark.parametrize("name", CHAPTERS)
def test_first_code_cell_installs_seeds_and_picks_device(name):
    url = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]
    first = _source(_code_cells(_notebook(name))[0])
    assert 'find_spec("dcgan_tutorial") is None' in first
    assert f'%pip install --quiet "dcgan_tutorial @ git+{url}"' in first
    assert "torch.manual_seed(" in first and 'pick_device("auto")' in first
    assert "import *" not in "".join(_source(c) for c in _code_cells(_notebook(name)))


def _package_imports(nb) -> str:
    """The chapter's ``import dcgan_tutorial...`` / ``from dcgan_tutorial... import ...`` statements."""
    lines = []
    for cell in _code_cells(nb):
        source = "\n".join(l for l in _source(cell).splitlines() if not l.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dcgan_tutorial"):
                lines.append(ast.unparse(node))
            elif isinstance(node, ast.Import) and any(a.name.startswith("dcgan_tutorial") for a in node.names):
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
    assert {"03_the_generator", "04_the_discriminator", "05_the_losses", "06_training_on_a_gpu"} <= shown


@pytest.mark.parametrize("name, imports, expr, cell", list(_shown_code_cells()),
                         ids=lambda v: v if isinstance(v, str) and len(v) < 60 else "")
def test_shown_code_is_the_package_code(name, imports, expr, cell):
    namespace = {}
    exec("import dcgan_tutorial\nimport dcgan_tutorial.models, dcgan_tutorial.losses, dcgan_tutorial.train, "
         "dcgan_tutorial.data, dcgan_tutorial.viz, dcgan_tutorial.sample, dcgan_tutorial.checkpoint\n" + imports,
         namespace)
    expected = show_code(eval(expr, namespace)).data
    stored = ["".join(o["data"]["text/markdown"]) for o in cell["outputs"] if "text/markdown" in o.get("data", {})]
    assert stored == [expected], f"{name}: the shown code of {expr} differs from the package: re-run the chapter"


# --- the rendered book, in a real browser ------------------------------------------------

@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    return build_book(tmp_path_factory)  # one build per session, shared with test_live_page.py


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


def test_book_builds_and_every_chapter_renders_in_a_browser(served_book, browser, tmp_path):
    titles = {}
    for name in ["intro", *CHAPTERS]:
        nb_title = None if name == "intro" else _source(_notebook(name)["cells"][0]).splitlines()[0][2:].strip()
        url = urljoin(served_book, f"book/{name}.html")
        browser.get(url)
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight);")
        h1 = browser.execute_script("var h = document.querySelector('main h1, article h1'); "
                                    "return h ? h.textContent : null;")
        assert h1, f"{name}: no title"
        titles[name] = h1.replace("#", "").strip()
        if nb_title:
            assert titles[name] == nb_title
        # every image in the page has loaded with a real size
        images = browser.execute_script(
            "return Array.from(document.querySelectorAll('main img, article img')).map(i => "
            "[i.currentSrc || i.src, i.complete, i.naturalWidth, i.naturalHeight]);")
        if name != "intro":
            assert images, f"{name}: no figures"
        for src, complete, width, height in images:
            assert complete and width > 0 and height > 0, f"{name}: image {src} did not load"
        # every internal link resolves (the page, and the anchor when there is one)
        links = browser.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);")
        for link in links:
            parsed = urlparse(link)
            if parsed.netloc != urlparse(served_book).netloc:
                continue
            target = link.split("#")[0]
            with urlopen(target) as response:
                assert response.status == 200, f"{name}: broken link {link}"
            if parsed.fragment and target.rstrip("/") == url.rstrip("/"):
                found = browser.execute_script("return document.getElementById(arguments[0]) !== null;",
                                               parsed.fragment)
                assert found, f"{name}: broken anchor {link}"
        colab = browser.execute_script(
            "return Array.from(document.querySelectorAll('a[href*=\"colab.research.google.com\"]')).map(a => a.href);")
        if name != "intro":
            assert any(f"book/{name}.ipynb" in c for c in colab), f"{name}: no Colab launch button"
        shots = Path(os.environ.get("DCGAN_TUTORIAL_SCREENSHOTS", tmp_path))  # set it to keep them
        shots.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(shots / f"{name}.png"))
    assert len(titles) == len(CHAPTERS) + 1
