"""A tiny colour emoji font and emoji list, for testing the emoji dataset where Noto is not installed.

The font is a real COLR/CPAL colour font (the format of Windows' and many Linux emoji fonts;
Noto's own is CBDT bitmaps): each emoji is a square of one colour with a smaller square of
another in it, drawn by FreeType through Pillow's ``embedded_color`` like Noto's. It covers the
pipeline (finding the files, parsing groups, drawing in colour, dropping what the font lacks,
the split, the cache); only the real-font tests check Noto's own glyphs.
"""

import itertools
from pathlib import Path

from fontTools.colorLib.builder import buildCOLR, buildCPAL
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

# the colours of the squares, as 0-255 RGB
PALETTE = [(255, 0, 0), (0, 0, 255), (0, 160, 0), (255, 200, 0), (128, 0, 128)]
PAIRS = list(
    itertools.permutations(range(len(PALETTE)), 2)
)  # (outer, inner): every emoji its own pair
# code point -> (outer colour index, inner colour index) in PALETTE
SMILEYS = {
    0x1F600 + k: PAIRS[k] for k in range(12)
}  # 12 faces: the 10th is held out
ANIMALS = {
    0x1F400: PAIRS[12],
    0x1F401: PAIRS[13],
    0x263A: PAIRS[14],
}  # ☺ is listed as "263A FE0F"
MISSING = 0x1F402  # listed in emoji-test.txt, absent from the font: dropped

EMOJI_TEST = """# emoji-test.txt (a small fixture in Unicode's format)
# group: Smileys & Emotion
# subgroup: face-smiling
{smileys}
263A                                                   ; unqualified         # ☺ E0.6 smiling face
1F600 1F3FB                                            ; fully-qualified     # 😀🏻 E1.0 a sequence: left out
# group: Animals & Nature
{animals}
263A FE0F                                              ; fully-qualified     # ☺️ E0.6 smiling face
1F402                                                  ; fully-qualified     # 🐂 E0.6 ox
# group: Component
1F3FB                                                  ; component           # 🏻 E1.0 light skin tone
"""


def _square(x0: int, y0: int, x1: int, y1: int):
    pen = TTGlyphPen(None)
    pen.moveTo((x0, y0))
    pen.lineTo((x0, y1))
    pen.lineTo((x1, y1))
    pen.lineTo((x1, y0))
    pen.closePath()
    return pen.glyph()


def write_emoji_font(path: Path, code_points: dict[int, tuple[int, int]]) -> Path:
    """A COLR/CPAL font drawing each code point as an outer square with an inner one of another colour."""
    order, glyphs, layers, cmap = (
        [".notdef"],
        {".notdef": TTGlyphPen(None).glyph()},
        {},
        {},
    )
    for cp, (outer, inner) in code_points.items():
        name = f"u{cp:X}"
        order += [name, f"{name}.outer", f"{name}.inner"]
        glyphs[name] = _square(50, -150, 950, 750)
        glyphs[f"{name}.outer"] = _square(50, -150, 950, 750)
        glyphs[f"{name}.inner"] = _square(300, 100, 700, 500)
        layers[name] = [(f"{name}.outer", outer), (f"{name}.inner", inner)]
        cmap[cp] = name
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(cmap)
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({g: (1000, 0) for g in order})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "Fixture Emoji", "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    fb.font["CPAL"] = buildCPAL(
        [[(r / 255, g / 255, b / 255, 1.0) for r, g, b in PALETTE]]
    )
    fb.font["COLR"] = buildCOLR(layers)
    fb.save(str(path))
    return path


def write_emoji_files(folder: Path) -> Path:
    """``NotoColorEmoji.ttf`` (the fixture font) and ``emoji-test.txt`` in ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    write_emoji_font(folder / "NotoColorEmoji.ttf", {**SMILEYS, **ANIMALS})

    def lines(cps):
        return "\n".join(
            f"{cp:X} ; fully-qualified # {chr(cp)} E1.0 fixture {cp:X}"
            for cp in cps
        )

    text = EMOJI_TEST.format(
        smileys=lines(SMILEYS), animals=lines(list(ANIMALS)[:2])
    )
    (folder / "emoji-test.txt").write_text(text, encoding="utf-8")
    return folder
