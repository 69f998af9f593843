"""The emoji dataset: on a small colour font made for the test, and on Noto Color Emoji when installed."""

from pathlib import Path

import pytest
import torch
from fake_emoji import ANIMALS, MISSING, PALETTE, SMILEYS, write_emoji_files

from dcgan_tutorial.cli import main
from dcgan_tutorial.config import ModelConfig
from dcgan_tutorial.data import (
    DatasetNotFoundError,
    class_names,
    emoji,
    load_images,
    make_loader,
    unscale_images,
)
from dcgan_tutorial.sample import generate, sample_noise

NOTO_INSTALLED = all(
    path.is_file()
    for path in (
        Path(emoji.FONT_DIRS[0], emoji.FONT_FILE),
        Path(emoji.EMOJI_TEST_DIRS[0], emoji.EMOJI_TEST_FILE),
    )
)


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    """Each test renders into its own cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def fixture_root(tmp_path):
    return write_emoji_files(tmp_path / "emoji")


@pytest.fixture
def no_system_font(monkeypatch, tmp_path):
    """As on a machine without fonts-noto-color-emoji and unicode-data."""
    monkeypatch.setattr(emoji, "FONT_DIRS", (str(tmp_path / "no-fonts"),))
    monkeypatch.setattr(emoji, "EMOJI_TEST_DIRS", (str(tmp_path / "no-unicode"),))


def test_parse_keeps_fully_qualified_single_code_points_with_their_groups(
    fixture_root,
):
    emojis = emoji.parse_emoji_test(fixture_root / "emoji-test.txt")
    chars = [e.char for e in emojis]
    assert chars == [chr(cp) for cp in SMILEYS] + [
        "\U0001f400",
        "\U0001f401",
        "\u263a",
        chr(MISSING),
    ]
    assert [e.group for e in emojis] == [0] * 12 + [
        2
    ] * 4  # Smileys & Emotion, Animals & Nature
    assert [e.char for e in emojis if e.held_out] == [
        "\U0001f609"
    ]  # the 10th of its group
    assert emojis[0].name == "fixture 1F600"


def test_fixture_font_draws_each_emoji_in_its_colours(fixture_root):
    chars = ["\U0001f600", "\U0001f400", chr(MISSING)]
    images, drawn = emoji.render_emoji(
        fixture_root / "NotoColorEmoji.ttf", chars, 32
    )
    assert images.shape == (3, 3, 32, 32) and images.dtype == torch.uint8
    assert drawn == [True, True, False]
    colours = [{tuple(p) for p in img.flatten(1).T.tolist()} for img in images]
    outer, inner = SMILEYS[0x1F600]
    assert (
        tuple(PALETTE[outer]) in colours[0]
        and tuple(PALETTE[inner]) in colours[0]
    )
    outer, inner = ANIMALS[0x1F400]
    assert {tuple(PALETTE[outer]), tuple(PALETTE[inner])} <= colours[1]
    assert (
        not {tuple(c) for k, c in enumerate(PALETTE) if k not in (outer, inner)}
        & colours[1]
    )
    assert colours[2] == {emoji.BACKGROUND}  # nothing drawn: the background alone
    assert (
        tuple(images[0, :, 0, 0].tolist()) == emoji.BACKGROUND
    )  # the corners stay background


@pytest.mark.parametrize("size", [32, 64])
def test_load_emoji_splits_train_and_held_out_and_drops_what_the_font_lacks(
    fixture_root, size
):
    train, train_labels = load_images("emoji", fixture_root, image_size=size)
    held, held_labels = load_images(
        "emoji", fixture_root, train=False, image_size=size
    )
    assert train.shape == (14, 3, size, size) and held.shape == (1, 3, size, size)
    assert train_labels.tolist() == [0] * 11 + [
        2
    ] * 3 and held_labels.tolist() == [0]
    data = emoji.emoji_dataset(fixture_root, size)
    assert [c for c, out in zip(data["chars"], data["held_out"]) if out] == [
        "\U0001f609"
    ]
    assert torch.equal(
        held[0],
        emoji.render_emoji(
            fixture_root / "NotoColorEmoji.ttf", ["\U0001f609"], size
        )[0][0],
    )
    assert (
        class_names("emoji") == emoji.CLASS_NAMES and len(emoji.CLASS_NAMES) == 9
    )


def test_rendered_emoji_are_cached_in_the_user_cache_not_beside_the_data(
    fixture_root, cache_home, monkeypatch
):
    first, _ = load_images("emoji", fixture_root, image_size=32)
    cached = list((cache_home / "dcgan_tutorial").glob("emoji-32-*.pt"))
    assert len(cached) == 1 and sorted(
        p.name for p in fixture_root.iterdir()
    ) == ["NotoColorEmoji.ttf", "emoji-test.txt"]

    def no_rendering(*args):
        raise AssertionError("rendered again instead of reading the cache")

    monkeypatch.setattr(emoji, "render_emoji", no_rendering)
    again, _ = load_images("emoji", fixture_root, image_size=32)
    assert torch.equal(first, again)
    with pytest.raises(
        AssertionError, match="rendered again"
    ):  # another size is another cache file
        load_images("emoji", fixture_root, image_size=64)


def test_unwritable_cache_still_gives_the_images(fixture_root, cache_home):
    cache_home.mkdir()
    (cache_home / "dcgan_tutorial").write_text(
        "a file where the folder should be"
    )
    images, _ = load_images("emoji", fixture_root, image_size=32)
    assert images.shape == (14, 3, 32, 32)


def test_make_loader_gives_colour_batches_with_group_labels(fixture_root):
    loader = make_loader("emoji", 32, batch_size=4, data_root=fixture_root, nc=3)
    real, labels = next(iter(loader))
    assert real.shape == (4, 3, 32, 32) and -1 <= real.min() and real.max() <= 1
    assert set(labels.tolist()) <= {0, 2}


def test_without_the_font_one_line_says_how_to_install_it(
    tmp_path, no_system_font
):
    with pytest.raises(DatasetNotFoundError) as err:
        load_images("emoji", tmp_path / "empty")
    message = str(err.value)
    assert (
        "\n" not in message
        and "apt-get install fonts-noto-color-emoji unicode-data" in message
    )
    assert "NotoColorEmoji.ttf" in message and "--data-root" in message


def test_cli_without_the_font_exits_2_with_one_line(
    tmp_path, no_system_font, capsys
):
    code = main(
        [
            "train",
            "--dataset",
            "emoji",
            "--data-root",
            str(tmp_path / "empty"),
            "--steps",
            "3",
            "--out",
            str(tmp_path / "run"),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert (
        code == 2
        and err.count("\n") == 1
        and "apt-get install fonts-noto-color-emoji unicode-data" in err
    )


def test_cli_trains_a_colour_model_on_the_fixture_font(
    fixture_root, tmp_path, capsys, one_thread
):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--dataset",
            "emoji",
            "--data-root",
            str(fixture_root),
            "--image-size",
            "32",
            "--ngf",
            "4",
            "--ndf",
            "4",
            "--batch-size",
            "4",
            "--steps",
            "3",
            "--out",
            str(out),
            "--no-progress",
            "--device",
            "cpu",
        ]
    )
    assert code == 0 and (out / "checkpoint.pt").is_file()
    assert "on emoji (14 images" in capsys.readouterr().out


@pytest.mark.skipif(
    not NOTO_INSTALLED,
    reason="needs fonts-noto-color-emoji and unicode-data (apt-get)",
)
def test_noto_gives_about_1400_colour_emoji_in_nine_groups():
    train, train_labels = load_images("emoji", "/nonexistent", image_size=32)
    held, held_labels = load_images(
        "emoji", "/nonexistent", train=False, image_size=32
    )
    assert 1300 <= len(train) + len(held) <= 1500 and 100 <= len(held) <= 160
    assert set(train_labels.tolist()) == set(range(9))
    grinning = train[0].float()  # 😀, the first emoji: a yellow face on white
    r, g, b = grinning[:, 16, 8]  # left of the face's centre, on the yellow skin
    assert r > 200 and g > 150 and b < 100
    colourful = (
        (train.float().std(dim=1) > 30).flatten(1).float().mean(1)
    )  # share of strongly coloured pixels
    assert (
        colourful > 0.05
    ).float().mean() > 0.8  # 87% with Noto 2.042: some are black, white or grey


@pytest.mark.skipif(
    not NOTO_INSTALLED,
    reason="needs fonts-noto-color-emoji and unicode-data (apt-get)",
)
def test_cli_trains_on_noto_emoji(tmp_path, one_thread):
    assert (
        main(
            [
                "train",
                "--dataset",
                "emoji",
                "--steps",
                "3",
                "--ngf",
                "4",
                "--ndf",
                "4",
                "--batch-size",
                "8",
                "--out",
                str(tmp_path / "run"),
                "--no-progress",
                "--device",
                "cpu",
            ]
        )
        == 0
    )


# --- evaluation: the colour classifier, the memorisation check ---------------------------------


def test_memorisation_check_flags_copies_and_not_noise(fixture_root):
    from dcgan_tutorial.metrics import memorisation_check

    train, _ = load_images("emoji", fixture_root, image_size=32)
    held, _ = load_images("emoji", fixture_root, train=False, image_size=32)
    copies = memorisation_check(train[[0, 5, 13]], train, held)
    assert copies.sample_distances.tolist() == [0, 0, 0]
    assert copies.nearest.tolist() == [0, 5, 13]
    assert (
        copies.closer_than_any_held_out == 1.0
        and "100.0% of samples closer" in str(copies)
    )
    noise = torch.randint(
        0,
        256,
        (8, 3, 32, 32),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(0),
    )
    assert memorisation_check(noise, train, held).closer_than_any_held_out == 0.0


def test_shipped_emoji_classifier_reads_colour_into_nine_groups():
    from dcgan_tutorial.classifier import load_classifier

    classifier = load_classifier("emoji")
    assert classifier.nc == 3 and classifier.head[-1].out_features == 9
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    assert classifier.features(images).shape == (2, 128) and classifier(
        images
    ).shape == (2, 9)
    swapped = images[
        :, [2, 1, 0]
    ]  # colour matters: red and blue swapped give other features
    assert not torch.allclose(
        classifier.features(images), classifier.features(swapped)
    )


def test_conditional_samples_follow_the_labels_asked_for():
    from dcgan_tutorial.metrics import generator_samples
    from dcgan_tutorial.models import build_generator

    G = build_generator(
        ModelConfig(arch="cond", image_size=32, nc=3, nz=8, ngf=4, n_classes=9)
    ).eval()
    labels = torch.tensor([8, 8, 0])
    made = generator_samples(G, 3, seed=0, labels=labels)
    assert made.shape == (3, 3, 32, 32)
    z = sample_noise(3, 8, 0)
    assert torch.equal(made, unscale_images(generate(G, z, labels)))


def test_cli_evaluates_an_emoji_run_with_the_memorisation_check(
    fixture_root, tmp_path, capsys, one_thread
):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--dataset",
                "emoji",
                "--data-root",
                str(fixture_root),
                "--image-size",
                "32",
                "--ngf",
                "4",
                "--ndf",
                "4",
                "--batch-size",
                "4",
                "--steps",
                "2",
                "--out",
                str(out),
                "--no-progress",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                str(out),
                "--data-root",
                str(fixture_root),
                "--n",
                "20",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "20 generated vs 14 training images" in printed
    assert (
        "memorisation: median distance to the nearest training image" in printed
    )
    assert "Smileys & Emotion" in printed


def test_emoji32_preset_is_a_colour_model_conditioned_on_the_nine_groups():
    from dcgan_tutorial.models import build_models
    from dcgan_tutorial.presets import get_preset
    from dcgan_tutorial.run import plan_run

    plan = plan_run("emoji32")
    assert (
        plan.train_cfg.dataset == "emoji"
        and plan.model_cfg.nc == 3
        and plan.model_cfg.n_classes == 9
    )
    G, D = build_models(get_preset("emoji32").model)
    images = G(torch.randn(2, 100, 1, 1), torch.tensor([0, 8]))
    assert images.shape == (2, 3, 32, 32) and D(
        images, torch.tensor([0, 8])
    ).shape == (2,)


def test_shipped_emoji_generator_draws_colour_emoji_of_a_chosen_group(
    tmp_path, capsys
):
    from dcgan_tutorial.pretrained import load_pretrained

    G, cfg, meta = load_pretrained("emoji")
    assert (
        meta["dataset"] == "emoji"
        and cfg.n_classes == 9
        and "emoji32" in meta["provenance"]["command"]
    )
    assert (
        meta["run"]["samples"].dtype == torch.uint8
        and len(meta["run"]["sample_steps"]) >= 2
    )
    assert (
        meta["run"]["samples"][-1].float().mean() < 240
    )  # the grids as drawn, not washed out to white
    assert (
        main(
            [
                "sample",
                "--pretrained",
                "emoji",
                "--class",
                "2",
                "--n",
                "9",
                "--out",
                str(tmp_path / "s"),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert len(list((tmp_path / "s" / "images").glob("*.png"))) == 9
