"""Emoji rendered from the installed colour font: a small colour dataset that needs no download.

Debian's and Ubuntu's ``fonts-noto-color-emoji`` (Colab: ``apt-get install``) holds the emoji
as colour bitmaps of 136x128 pixels, and ``unicode-data`` installs Unicode's ``emoji-test.txt``,
which lists every emoji with its group. The emoji of a single code point (about 1,400: 😀, 🐶,
🍕, 🚗, ...; sequences such as skin tones and flags of countries are left out) are drawn by
Pillow at the font's one size, centred on a white square, and shrunk to ``image_size``. The
label of each image is its Unicode group (``CLASS_NAMES``, 9 of them).

Every ``HELD_OUT_EVERY``-th emoji of each group is held out (``train=False``): no generator sees
it, so its distance to the training emoji is what "new but alike" looks like (the memorisation
check in ``metrics.py``). Each single code point is its own base emoji, so no variant of a
held-out emoji is in training.

The rendered tensor is cached in the user's cache folder (``$XDG_CACHE_HOME/dcgan_tutorial``,
else ``~/.cache/dcgan_tutorial``), never beside the font, which is usually read-only.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..runfolder import DiskFullError, write_atomically
from .errors import DatasetCorruptError, DatasetNotFoundError

FONT_FILE = "NotoColorEmoji.ttf"
EMOJI_TEST_FILE = "emoji-test.txt"
# where Debian/Ubuntu (fonts-noto-color-emoji, unicode-data), Fedora and Arch put them
FONT_DIRS = (
    "/usr/share/fonts/truetype/noto",
    "/usr/share/fonts/google-noto-emoji",
    "/usr/share/fonts/noto",
)
EMOJI_TEST_DIRS = (
    "/usr/share/unicode/emoji",
    "/usr/share/unicode-data/emoji",
    "/usr/share/unicode",
)
INSTALL = "apt-get install fonts-noto-color-emoji unicode-data"
# emoji-test.txt's groups in its order, without "Component" (skin-tone and hair parts, not emoji)
CLASS_NAMES = [
    "Smileys & Emotion",
    "People & Body",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
]
FONT_SIZE = 109  # Noto Color Emoji's one bitmap size: Pillow refuses others for a bitmap font
CANVAS = 136  # a glyph is 136x128: drawn centred on a 136x136 square, then shrunk
BACKGROUND = (255, 255, 255)  # white, as emoji are usually seen
HELD_OUT_EVERY = (
    10  # every 10th emoji of a group (the 10th, 20th, ...) is held out: about 135
)
DEFAULT_SIZE = 64
CACHE_VERSION = (
    1  # bump when the rendering changes, so old cache files are not used
)


@dataclass(frozen=True)
class Emoji:
    """One emoji of ``emoji-test.txt``: its character, name, group index and whether it is held out."""

    char: str
    name: str
    group: int
    held_out: bool


def _find(
    name: str, root: Optional[Path], system_dirs: tuple[str, ...], what: str
) -> Path:
    for folder in ([root] if root is not None else []) + [
        Path(d) for d in system_dirs
    ]:
        if (folder / name).is_file():
            return folder / name
    where = f"{root} or " if root is not None else ""
    raise DatasetNotFoundError(
        f"dataset 'emoji' needs {what} {name}, not found in {where}{system_dirs[0]}: install it with "
        f"'{INSTALL}' (Colab: '!apt-get install -y fonts-noto-color-emoji unicode-data'), or put {FONT_FILE} "
        f"and {EMOJI_TEST_FILE} in a folder and pass --data-root DIR"
    )


def find_emoji_files(root: Optional[Path] = None) -> tuple[Path, Path]:
    """(the colour emoji font, ``emoji-test.txt``): in ``root`` if there, else where the system installs them."""
    return (
        _find(FONT_FILE, root, FONT_DIRS, "the colour emoji font"),
        _find(EMOJI_TEST_FILE, root, EMOJI_TEST_DIRS, "Unicode's emoji list"),
    )


def parse_emoji_test(path: Path) -> list[Emoji]:
    """The fully-qualified single-code-point emoji of ``emoji-test.txt``, in its order, with their groups.

    A lone code point, or one followed by U+FE0F (the "draw me as emoji" selector: ☺️ is
    ``263A FE0F``), counts as one code point; the selector is dropped before drawing.
    """
    emojis, group, seen = [], None, {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            name = line.split(":", 1)[1].strip()
            group = CLASS_NAMES.index(name) if name in CLASS_NAMES else None
            continue
        if line.startswith("#") or ";" not in line or group is None:
            continue
        codes, rest = line.split(";", 1)
        codes = codes.split()
        if rest.split("#")[0].strip() != "fully-qualified" or not (
            len(codes) == 1 or (len(codes) == 2 and codes[1] == "FE0F")
        ):
            continue
        name = (
            rest.split("#", 1)[1].strip().split(" ", 2)[-1]
            if "#" in rest
            else codes[0]
        )
        n = seen[group] = seen.get(group, 0) + 1
        emojis.append(
            Emoji(chr(int(codes[0], 16)), name, group, n % HELD_OUT_EVERY == 0)
        )
    if not emojis:
        raise DatasetCorruptError(
            f"{path} lists no fully-qualified emoji in the groups {', '.join(CLASS_NAMES)}: "
            f"it is not Unicode's emoji-test.txt; reinstall it with '{INSTALL}'"
        )
    return emojis


def render_emoji(
    font_path: Path, chars: list[str], image_size: int
) -> tuple[torch.Tensor, list[bool]]:
    """Each character drawn in colour on ``BACKGROUND``: images (N, 3, S, S) uint8, and whether the font had it.

    A character the font lacks draws nothing (a blank square); the caller drops those.
    """
    try:
        font = ImageFont.truetype(str(font_path), FONT_SIZE)
    except OSError as err:
        raise DatasetCorruptError(
            f"{font_path} could not be read as a font ({err}): reinstall it with "
            f"'{INSTALL}'"
        ) from err
    images, drawn = (
        np.empty((len(chars), image_size, image_size, 3), np.uint8),
        [],
    )
    for i, char in enumerate(chars):
        glyph = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text(
            (CANVAS / 2, CANVAS / 2),
            char,
            font=font,
            embedded_color=True,
            anchor="mm",
        )
        drawn.append(glyph.getbbox() is not None)
        square = Image.new("RGB", (CANVAS, CANVAS), BACKGROUND)
        square.paste(glyph, mask=glyph.getchannel("A"))
        images[i] = np.asarray(
            square.resize((image_size, image_size), Image.Resampling.LANCZOS)
        )
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), drawn


def cache_folder() -> Path:
    """Where rendered emoji are kept: ``$XDG_CACHE_HOME/dcgan_tutorial``, else ``~/.cache/dcgan_tutorial``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "dcgan_tutorial"


def _cache_file(font: Path, emoji_test: Path, image_size: int) -> Path:
    stamp = [str(CACHE_VERSION), str(image_size)]
    for path in (font, emoji_test):
        info = path.stat()
        stamp += [str(path.resolve()), str(info.st_size), str(info.st_mtime_ns)]
    return (
        cache_folder()
        / f"emoji-{image_size}-{hashlib.sha1('|'.join(stamp).encode()).hexdigest()[:16]}.pt"
    )


def _load_cache(path: Path) -> Optional[dict]:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        if data["images"].dtype == torch.uint8 and len(data["images"]) == len(
            data["labels"]
        ) == len(data["chars"]):
            return data
    except (
        Exception
    ):  # missing, or damaged by an interrupted write elsewhere: render again
        pass
    return None


def _save_cache(data: dict, path: Path) -> None:
    """Write the cache whole (``runfolder.write_atomically``); an unwritable cache folder
    or a full disk only costs rendering again next time."""
    buffer = io.BytesIO()
    torch.save(data, buffer)
    try:
        write_atomically(path, buffer.getbuffer(), fsync=False)
    except (OSError, DiskFullError):
        pass


def emoji_dataset(
    root: Optional[Path] = None, image_size: int = DEFAULT_SIZE
) -> dict:
    """Every emoji drawn at ``image_size``, from the cache when it is there.

    Returns {"images": (N, 3, S, S) uint8, "labels": (N,) int64 group, "held_out": (N,) bool,
    "chars": list of N characters, "names": list of N names}.
    """
    font, emoji_test = find_emoji_files(root)
    path = _cache_file(font, emoji_test, image_size)
    data = _load_cache(path)
    if data is None:
        emojis = parse_emoji_test(emoji_test)
        images, drawn = render_emoji(font, [e.char for e in emojis], image_size)
        if not any(drawn):
            raise DatasetCorruptError(
                f"{font} draws none of the emoji of {emoji_test}: it is not a colour emoji "
                f"font; reinstall it with '{INSTALL}'"
            )
        keep = [
            i for i, ok in enumerate(drawn) if ok
        ]  # emoji newer than the font are dropped
        data = {
            "images": images[keep],
            "labels": torch.tensor([emojis[i].group for i in keep]),
            "held_out": torch.tensor([emojis[i].held_out for i in keep]),
            "chars": [emojis[i].char for i in keep],
            "names": [emojis[i].name for i in keep],
        }
        _save_cache(data, path)
    return data


def load_emoji(
    root: Optional[Path] = None,
    train: bool = True,
    image_size: Optional[int] = None,
    limit: Optional[int] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The training emoji (or, with ``train=False``, the held-out ones): images (N, 3, S, S) uint8, groups (N,)."""
    data = emoji_dataset(root, image_size or DEFAULT_SIZE)
    pick = data["held_out"] != train
    return data["images"][pick][:limit], data["labels"][pick][:limit]
