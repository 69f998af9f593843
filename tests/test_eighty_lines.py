"""The page "DCGAN in 80 lines" (book/dcgan_in_80_lines.ipynb) is the package's method in plain PyTorch.

The page's code cells up to the one that defines ``train_step`` are run here (its data, models,
optimisers, noise and step); the package's ``make_state``/``train_step`` on the ``mnist28`` preset,
plain fp32 (``TrainConfig(fast=False)``), must then agree with them: same initial weights, same
noise, same batches, and the same losses and weights after a few steps on the same batch.
"""

import itertools
import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from dcgan_tutorial import get_preset, load_images, make_state, train_step
from dcgan_tutorial.data import InMemoryLoader

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "book" / "dcgan_in_80_lines.ipynb"
MAX_LINES = (
    80  # the page's promise: the whole method in about 80 lines of code in view
)


def _code_cells() -> list[dict]:
    return [
        c
        for c in json.loads(PAGE.read_text())["cells"]
        if c["cell_type"] == "code"
    ]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.fixture
def page(data_root, monkeypatch) -> dict:
    """The page's namespace after its definitions: every code cell up to the one defining ``train_step``."""
    monkeypatch.setenv("DCGAN_TUTORIAL_DATA", str(data_root))
    monkeypatch.setenv("DCGAN_TUTORIAL_QUICK", "1")
    namespace: dict = {}
    for cell in _code_cells():
        exec(compile(_source(cell), str(PAGE), "exec"), namespace)
        if "def train_step(" in _source(cell):
            return namespace
    raise AssertionError(f"{PAGE.name} defines no train_step")


def _package_state(page: dict):
    preset = get_preset("mnist28")
    return make_state(
        preset.model, replace(preset.train, fast=False, seed=page["SEED"]), "cpu"
    )


def _weights(*models) -> list[torch.Tensor]:
    """Parameters and buffers (batchnorm's running statistics) in construction order."""
    return [
        t for m in models for t in itertools.chain(m.parameters(), m.buffers())
    ]


def test_page_is_plain_pytorch_in_at_most_80_lines():
    cells = _code_cells()
    assert not [c for c in cells if "dcgan_tutorial" in _source(c)], (
        "the page must not import the package"
    )
    shown = [
        c
        for c in cells
        if "hide-input" not in c.get("metadata", {}).get("tags", [])
    ]
    lines = [
        line for c in shown for line in _source(c).splitlines() if line.strip()
    ]
    assert len(lines) <= MAX_LINES, (
        f"{len(lines)} lines of code in view: the page promises about {MAX_LINES}"
    )


def test_page_uses_the_mnist28_recipe(page):
    preset = get_preset("mnist28")
    assert (page["NZ"], page["NGF"], page["NDF"], page["BATCH"]) == (
        preset.model.nz,
        preset.model.ngf,
        preset.model.ndf,
        preset.train.batch_size,
    )
    for opt, lr in (
        (page["opt_g"], preset.train.lr_g),
        (page["opt_d"], preset.train.lr_d),
    ):
        group = opt.param_groups[0]
        assert group["lr"] == lr and group["betas"] == (
            preset.train.beta1,
            preset.train.beta2,
        )
    assert page["fixed_z"].shape == (preset.train.n_fixed, preset.model.nz, 1, 1)


def test_page_models_are_the_package_models_on_the_same_seed(page):
    state = _package_state(page)
    mine, theirs = _weights(page["G"], page["D"]), _weights(state.G, state.D)
    assert [t.shape for t in mine] == [t.shape for t in theirs]
    assert all(torch.equal(a, b) for a, b in zip(mine, theirs)), (
        "same seed, different initial weights"
    )
    assert torch.equal(page["fixed_z"], state.fixed_z)
    z = state.fixed_z[:8]
    page["G"].eval(), state.G.eval()
    assert torch.equal(page["G"](z), state.G(z))
    assert torch.equal(page["D"](page["G"](z)), state.D(state.G(z)))


def test_page_batches_are_the_package_loader_batches(page):
    images, labels = load_images(
        "mnist", page["mnist"].root
    )  # the files the page read
    loader = InMemoryLoader(images, labels, page["BATCH"], seed=page["SEED"])
    per_epoch = len(loader)
    mine = list(itertools.islice(page["batches"](), per_epoch + 1))
    assert torch.equal(mine[0], next(loader.batches(0))[0])
    assert torch.equal(
        mine[per_epoch - 1], list(loader.batches(0, per_epoch - 1))[0][0]
    )
    assert torch.equal(mine[per_epoch], next(loader.batches(1))[0]), (
        "the second epoch starts a new order"
    )


def test_page_step_gives_the_package_losses(page):
    state = _package_state(page)
    real = next(page["batches"]())  # (64, 1, 28, 28) in [-1, 1], one fixed batch
    for step in range(5):
        z = torch.randn(
            page["BATCH"], page["NZ"], 1, 1, generator=page["noise"]
        )  # as the page's loop draws it
        ahead = torch.Generator().set_state(
            state.noise_gen.get_state()
        )  # the z train_step draws next
        expected_z = torch.randn(page["BATCH"], page["NZ"], 1, 1, generator=ahead)
        assert torch.equal(z, expected_z), (
            f"step {step}: the page's noise differs from the package's"
        )
        d_loss, g_loss = page["train_step"](real, z)
        stats = train_step(state, real)
        assert d_loss == pytest.approx(
            stats["d_loss"].item(), rel=1e-5, abs=1e-6
        ), f"step {step}: D's loss"
        assert g_loss == pytest.approx(
            stats["g_loss"].item(), rel=1e-5, abs=1e-6
        ), f"step {step}: G's loss"
    for a, b in zip(_weights(page["G"], page["D"]), _weights(state.G, state.D)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
