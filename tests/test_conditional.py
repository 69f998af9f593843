"""Class-aware models: labels reach G and D, sampling a class takes that class's path."""

import re

import pytest
import torch

from dcgan_tutorial.checkpoint import load_checkpoint, save_checkpoint
from dcgan_tutorial.cli import main
from dcgan_tutorial.config import ConfigError, TrainConfig, with_overrides
from dcgan_tutorial.models import (
    ClassGenerator,
    ConditionalDiscriminator,
    ConditionalGenerator,
    Generator,
    build_models,
)
from dcgan_tutorial.presets import PRESETS
from dcgan_tutorial.sample import (
    generate,
    sample_images,
    sample_labels,
    sample_noise,
)
from dcgan_tutorial.state import make_state


def test_conditional_generator_output_depends_on_the_class():
    torch.manual_seed(0)
    G = ConditionalGenerator(
        nz=8, ngf=4, nc=1, image_size=28, n_classes=10
    ).eval()
    z = torch.randn(1, 8, 1, 1).repeat(2, 1, 1, 1)
    images = G(z, torch.tensor([3, 7]))
    assert images.shape == (2, 1, 28, 28)
    assert not torch.allclose(
        images[0], images[1]
    )  # same z, other class: another image
    # the same row alone gives the same image (up to the rounding of another batch size's kernels)
    assert torch.allclose(
        G(z[:1], torch.tensor([3])), images[:1], rtol=1e-4, atol=1e-10
    )


def test_conditional_discriminator_reads_one_hot_planes():
    D = ConditionalDiscriminator(ndf=4, nc=1, image_size=28, n_classes=10).eval()
    assert D.net.blocks.from_image[0].in_channels == 1 + 10
    images = torch.rand(2, 1, 28, 28) * 2 - 1
    same = images[:1].repeat(2, 1, 1, 1)
    logits = D(same, torch.tensor([1, 2]))
    assert (
        logits.shape == (2,) and logits[0] != logits[1]
    )  # the class changes D's verdict


def test_class_generator_routes_each_row_to_its_class_generator():
    torch.manual_seed(0)
    G = ClassGenerator(nz=8, ngf=4, nc=3, image_size=32, n_classes=10).eval()
    z = torch.randn(5, 8, 1, 1)
    labels = torch.tensor([4, 0, 4, 9, 2])
    out = G(z, labels)
    for i, k in enumerate(labels.tolist()):
        assert torch.allclose(
            out[i : i + 1], G.per_class[k](z[i : i + 1]), rtol=1e-4, atol=1e-10
        )


def test_sample_labels_blocks_a_class_or_refuses():
    G, _ = build_models(
        with_overrides(PRESETS["cond-mnist"].model, ngf=4, ndf=4, nz=8)
    )
    assert sample_labels(G, 20).tolist() == [
        k for k in range(10) for _ in range(2)
    ]
    assert sample_labels(G, 3, class_index=7).tolist() == [7, 7, 7]
    with pytest.raises(
        ConfigError,
        match="class=10 is not allowed: use a class number from 0 to 9",
    ):
        sample_labels(G, 3, class_index=10)
    plain = Generator(nz=8, ngf=4, nc=1, image_size=28)
    assert sample_labels(plain, 4) is None
    with pytest.raises(ConfigError, match="not conditional"):
        sample_labels(plain, 4, class_index=1)


def test_sampling_a_class_runs_that_class_path():
    torch.manual_seed(0)
    G, _ = build_models(
        with_overrides(PRESETS["class"].model, ngf=4, ndf=4, nz=8)
    )
    images = sample_images(G, 6, seed=5, class_index=3)
    z = sample_noise(6, 8, seed=5)
    # untrained outputs are tiny (weights ~ N(0, 0.02)): compare relative to their size
    assert torch.allclose(
        images, generate(G.per_class[3], z), rtol=1e-4, atol=1e-10
    )
    assert not torch.allclose(
        images, generate(G.per_class[4], z), rtol=1e-2, atol=0
    )

    C, _ = build_models(
        with_overrides(PRESETS["cond-mnist"].model, ngf=4, ndf=4, nz=8)
    )
    drawn = sample_images(C, 6, seed=5, class_index=3)
    assert torch.allclose(
        drawn, generate(C, z, torch.full((6,), 3)), rtol=1e-4, atol=1e-10
    )
    assert not torch.allclose(
        drawn, generate(C, z, torch.full((6,), 4)), rtol=1e-2, atol=0
    )


def test_fixed_grid_has_a_row_per_class_and_survives_a_checkpoint(tmp_path):
    cfg = with_overrides(PRESETS["cond-mnist"].model, ngf=4, ndf=4, nz=8)
    train = TrainConfig(batch_size=8, steps=2, epochs=None, n_fixed=100)
    state = make_state(cfg, train)
    assert state.fixed_labels.tolist() == [
        k for k in range(10) for _ in range(10)
    ]
    save_checkpoint(state, tmp_path / "c.pt")
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert torch.equal(loaded.fixed_labels, state.fixed_labels)
    assert (
        make_state(
            with_overrides(cfg, arch="dcgan", n_classes=0), train
        ).fixed_labels
        is None
    )


def test_cli_trains_a_conditional_model_and_samples_one_class(
    data_root, tmp_path, capsys
):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--preset",
                "cond-mnist",
                "--out",
                str(run),
                "--data-root",
                str(data_root),
                "--steps",
                "3",
                "--limit",
                "256",
                "--batch-size",
                "16",
                "--ngf",
                "4",
                "--ndf",
                "4",
                "--no-progress",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                str(run),
                "--class",
                "3",
                "--n",
                "5",
                "--out",
                str(tmp_path / "s"),
                "--seed",
                "1",
            ]
        )
        == 0
    )
    assert "wrote 5 images of class 3" in capsys.readouterr().out
    assert len(list((tmp_path / "s" / "images").glob("*.png"))) == 5
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                str(run),
                "--class",
                "11",
                "--n",
                "5",
                "--out",
                str(tmp_path / "t"),
            ]
        )
        == 2
    )
    assert (
        "--class 11 is not allowed: use a class number from 0 to 9"
        in capsys.readouterr().err
    )


def test_train_help_names_every_preset(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = re.sub(
        r"-\s+", "-", " ".join(capsys.readouterr().out.split())
    )  # argparse wraps at hyphens
    for name in PRESETS:
        assert f"{name}:" in help_text


def test_shipped_conditional_generator_draws_the_digit_asked_for(
    tmp_path, capsys
):
    from dcgan_tutorial.classifier import load_classifier
    from dcgan_tutorial.metrics import predict_classes
    from dcgan_tutorial.pretrained import load_pretrained

    G, cfg, meta = load_pretrained("mnist-cond")
    assert cfg.arch == "cond" and G.n_classes == 10 and meta["dataset"] == "mnist"
    classifier = load_classifier("mnist")
    for k in (0, 7):
        read = predict_classes(
            sample_images(G, 50, seed=3, class_index=k), classifier
        )
        assert (
            read == k
        ).float().mean() >= 0.9  # 94.9% or more per class when it was measured
    assert (
        main(
            [
                "sample",
                "--pretrained",
                "mnist-cond",
                "--class",
                "7",
                "--n",
                "4",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert (
        "wrote 4 images of class 7 from shipped generator 'mnist-cond'"
        in capsys.readouterr().out
    )
