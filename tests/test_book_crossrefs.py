"""Every "chapter N", "exercise N" and "Figure N" in the book's prose points to one that
exists: a chapter is a notebook ``book/NN_*.ipynb``, an exercise an item of a page's
"## Exercises" list, a figure a caption "Figure N:" or "**Figure N.**" on the page (typed
in a markdown cell or printed by a code cell). A reference that names a topic the book
keeps in one exercise (the saturating loss, Adam's beta1) must land on an exercise about it.
"""

import json
import re
from pathlib import Path

BOOK = Path(__file__).resolve().parents[1] / "book"

# chapter numbers come from the file names: 00_gans_in_2d.ipynb is chapter 0
CHAPTERS = {int(p.name[:2]): p for p in BOOK.glob("[0-9][0-9]_*.ipynb")}
# topics that a reference to an exercise may name, and what the exercise must say then
TOPICS = {
    "saturating loss": re.compile(r"saturating", re.I),
    "beta1": re.compile(r"beta_?1|β1|\\beta_1", re.I),
}
TOPIC_IN_SENTENCE = {
    "saturating loss": re.compile(r"(?<!non-)saturating loss", re.I),
    "beta1": re.compile(r"beta_?1|β1|\\beta_1", re.I),
}

FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")  # [chapter 8](08_...ipynb): its text
FIGURE_CAPTION = re.compile(r"^\s*(?:\*\*)?Figure (\d+)[:.]", re.M)
# "chapter 8's exercise 3", "exercise 3 of chapter 8", "exercise 3 in chapter 8"
CHAPTER_EXERCISE = re.compile(
    r"\bchapter (\d+)'s exercises? (\d+)|\bexercises? (\d+),? (?:of|in) chapter (\d+)",
    re.I,
)
CHAPTER_RANGE = re.compile(r"\bchapters (\d+) (?:to|and) (\d+)", re.I)
CHAPTER = re.compile(r"\bchapter (\d+)", re.I)
EXERCISE = re.compile(r"\bexercises? (\d+)", re.I)
FIGURE = re.compile(r"\bFigure (\d+)")
# a figure of another work: "the paper's Figure 1", "The DCGAN paper (Figure 7)"
OTHER_WORK = re.compile(r"(paper|paper's|\(\d{4}\)|al\.)\W*(\(\s*)?$", re.I)


def _source(cell):
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _prose(text):
    """Markdown without its code: fenced blocks and inline code say nothing here."""
    return LINK.sub(r"\1", INLINE_CODE.sub("`code`", FENCE.sub("", text)))


def _printed_markdown(cell):
    """What a code cell displayed as markdown or text (captions made by code)."""
    out = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        for key in ("text/markdown", "text/plain"):
            if key in data:
                value = data[key]
                out.append("".join(value) if isinstance(value, list) else value)
        if "text" in output:
            value = output["text"]
            out.append("".join(value) if isinstance(value, list) else value)
    return "\n".join(out)


class Page:
    def __init__(self, path):
        self.path = path
        self.name = path.name
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            self.markdown = [
                _source(c) for c in cells if c["cell_type"] == "markdown"
            ]
            printed = [
                _printed_markdown(c) for c in cells if c["cell_type"] == "code"
            ]
        else:
            self.markdown, printed = [path.read_text(encoding="utf-8")], []
        self.prose = [_prose(text) for text in self.markdown]
        self.figures = {
            int(n)
            for text in self.prose + printed
            for n in FIGURE_CAPTION.findall(text)
        }
        self.exercises = self._exercises()

    def _exercises(self):
        """{N: text} for the numbered items under the page's "## Exercises" heading."""
        exercises, current, inside = {}, None, False
        for text in self.markdown:
            for line in text.splitlines():
                if line.startswith("## "):
                    inside = line.strip() == "## Exercises"
                    current = None
                    continue
                if not inside:
                    continue
                item = re.match(r"(\d+)\. ", line)
                if item:
                    current = int(item.group(1))
                    exercises[current] = ""
                if current is not None:
                    exercises[current] += line + "\n"
        return exercises


PAGES = {p.name: Page(p) for p in sorted(BOOK.glob("*.ipynb"))}
for _md in ("intro.md", "whats_next.md"):
    PAGES[_md] = Page(BOOK / _md)


def _chapter_page(number):
    path = CHAPTERS.get(number)
    return PAGES[path.name] if path else None


def _sentence(text, start, end):
    """The sentence around text[start:end], on one line, for the message."""
    left = max(text.rfind(". ", 0, start), text.rfind("\n\n", 0, start))
    right = min(
        (i for i in (text.find(". ", end), text.find("\n\n", end)) if i >= 0),
        default=len(text),
    )
    return " ".join(text[left + 1 : right + 1].split())


def _check_topic(sentence, exercise_text, what):
    for topic, in_sentence in TOPIC_IN_SENTENCE.items():
        if in_sentence.search(sentence) and not TOPICS[topic].search(
            exercise_text
        ):
            return (
                f"{what} is not about the {topic} that the sentence cites it for"
            )
    return None


def _problems(page):
    problems = []
    for text in page.prose:
        taken = []  # spans already read as "chapter M's exercise N"

        def report(match, what):
            sentence = _sentence(text, match.start(), match.end())
            problems.append(f'{page.name}: "{sentence}": {what}')

        for match in CHAPTER_EXERCISE.finditer(text):
            taken.append(match.span())
            chapter, number = (
                (match.group(1), match.group(2))
                if match.group(1)
                else (match.group(4), match.group(3))
            )
            chapter, number = int(chapter), int(number)
            target = _chapter_page(chapter)
            if target is None:
                report(match, f"there is no chapter {chapter}")
            elif number not in target.exercises:
                report(
                    match,
                    f"chapter {chapter} ({target.name}) has no exercise {number} "
                    f"(it has {sorted(target.exercises)})",
                )
            else:
                sentence = _sentence(text, match.start(), match.end())
                wrong = _check_topic(
                    sentence,
                    target.exercises[number],
                    f"exercise {number} of chapter {chapter}",
                )
                if wrong:
                    report(match, wrong)

        def inside_taken(match):
            return any(a <= match.start() < b for a, b in taken)

        for match in CHAPTER_RANGE.finditer(text):
            taken.append(match.span())
            for number in match.groups():
                if int(number) not in CHAPTERS:
                    report(match, f"there is no chapter {number}")
        for match in CHAPTER.finditer(text):
            if not inside_taken(match) and int(match.group(1)) not in CHAPTERS:
                report(match, f"there is no chapter {match.group(1)}")
        for match in EXERCISE.finditer(text):
            if inside_taken(match):
                continue
            number = int(match.group(1))
            if number not in page.exercises:
                report(
                    match,
                    f"this page has no exercise {number} "
                    f"(it has {sorted(page.exercises) or 'none'})",
                )
                continue
            wrong = _check_topic(
                _sentence(text, match.start(), match.end()),
                page.exercises[number],
                f"exercise {number}",
            )
            if wrong:
                report(match, wrong)
        for match in FIGURE.finditer(text):
            if OTHER_WORK.search(
                text[max(0, match.start() - 30) : match.start()]
            ):
                continue  # a figure of the paper or of another work
            line_start = text.rfind("\n", 0, match.start()) + 1
            if text[line_start : match.start()].strip() in ("", "**"):
                continue  # the caption itself
            if int(match.group(1)) not in page.figures:
                report(
                    match,
                    f"this page has no Figure {match.group(1)} "
                    f"(it has {sorted(page.figures) or 'none'})",
                )
    return problems


def test_chapters_have_exercises_and_captions_to_find():
    """The parser finds what the book has: without this the test below proves nothing."""
    assert len(CHAPTERS) >= 14
    for number, path in CHAPTERS.items():
        assert PAGES[path.name].exercises, f"no exercises found in {path.name}"
    assert PAGES["05_the_losses.ipynb"].figures >= {1, 2, 3}
    assert PAGES["13_colour_emoji.ipynb"].figures >= {
        1,
        2,
        3,
    }  # captions made by code


def test_every_reference_points_to_something_that_exists():
    problems = [problem for page in PAGES.values() for problem in _problems(page)]
    assert not problems, "references to nothing:\n" + "\n".join(problems)


def test_the_intro_caption_describes_the_shipped_generator():
    """The first picture's caption quotes the shipped generator's steps and CPU hours: they
    must be the shipped file's (``provenance``), not a generator shipped before it."""
    from dcgan_tutorial.pretrained import load_pretrained

    _, _, meta = load_pretrained("mnist")
    caption = (BOOK / "intro.md").read_text().split("```")[1]
    quoted = re.search(
        r"([\d.]+) hours? on one thread of a CPU \(([\d,]+) steps", caption
    )
    assert quoted, "the intro caption no longer says how long and how many steps"
    hours, steps = float(quoted[1]), int(quoted[2].replace(",", ""))
    assert steps == meta["step"], (steps, meta["step"])
    assert hours == round(meta["provenance"]["seconds"] / 3600, 1)


def test_the_intro_quotes_the_measured_three_minute_run():
    """The intro's three-minute command is the README's, and its numbers are those of
    ``benchmarks/readme_3min.py``'s run of that command with the default preset."""
    from dcgan_tutorial.presets import DEFAULT_PRESET

    record = json.loads(
        (BOOK.parent / "benchmarks" / "results" / "readme_3min.json").read_text()
    )
    run = next(r for r in record["results"] if r["preset"] == DEFAULT_PRESET)
    intro = " ".join((BOOK / "intro.md").read_text().split())
    assert f"--checkpoint runs/mnist/{run['generator']}" in intro
    quoted = re.search(
        r"made ([\d,]+) steps in 180 s; its averaged generator scored FID (\d+) on the "
        r"test set, with every digit between ([\d.]+)% and ([\d.]+)%",
        intro,
    )
    assert quoted, "the intro no longer quotes the three-minute run"
    assert int(quoted[1].replace(",", "")) == run["steps"]
    assert int(quoted[2]) == round(run["fid"])
    assert float(quoted[3]) == round(100 * min(run["shares"]), 1)
    assert float(quoted[4]) == round(100 * max(run["shares"]), 1)
